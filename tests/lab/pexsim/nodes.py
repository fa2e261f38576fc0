# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Conferencing Node bootstrap pages: one HTTPS server on <private-ip>:<node-port> per running EC2 instance."""

import email.parser
import email.policy
import html
import logging
import threading

from .httpbase import Response, TlsServer
from .sim import apply_fault, fault_kind

LOG = logging.getLogger('pexsim.nodes')
# UNCONFIRMED (docs/lab.md): the scripted upload path of the bootstrap page (the community client's).
UPLOAD_PATH = '/configuration/bootstrap'
FORM_FIELD = 'file'

_FORM = """<!DOCTYPE html>
<html><head><title>Pexip Infinity Conferencing Node - {ip}</title></head>
<body>
<h1>Pexip Infinity Conferencing Node</h1>
<p>This node ({ip}) is not configured. Upload the configuration file downloaded from the Management Node.</p>
<form method="post" action="{action}" enctype="multipart/form-data">
<input type="file" name="{field}" accept=".xml,text/xml"> <input type="submit" value="Upload">
</form>
</body></html>
"""

_CONFIGURED = """<!DOCTYPE html>
<html><head><title>Pexip Infinity Conferencing Node - {ip}</title></head>
<body><h1>Pexip Infinity Conferencing Node</h1><p>This node ({ip}) is configured.</p></body></html>
"""


def _multipart_file(content_type, body):
    """The bytes of the ``file`` part of a multipart/form-data body, or None."""
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b'Content-Type: ' + content_type.encode('latin-1') + b'\r\nMIME-Version: 1.0\r\n\r\n' + body)
    if not message.is_multipart():
        return None
    for part in message.iter_parts():
        if part.get_param('name', header='content-disposition') == FORM_FIELD:
            return part.get_payload(decode=True) or b''
    return None


class NodeApp:
    """The pages of one node; upload checks live in Simulator.configure_node."""

    def __init__(self, sim, address):
        self.sim = sim
        self.address = address
        self.target = 'node:%s' % address

    def dispatch(self, request):
        fault = self.sim.take_fault(self.target, request.method, request.full_path)
        response = apply_fault(fault) if fault else None
        if response is None:
            response = self._route(request)
        self.sim.log_request(self.target, request.method, request.full_path, None if response.reset else response.status,
                             fault=fault_kind(fault))
        return response

    def _route(self, request):
        if request.path == '/':
            if request.method not in ('GET', 'HEAD'):
                return Response(405, 'Method not allowed.\n', 'text/plain', {'Allow': 'GET'})
            with self.sim.lock:
                record = self.sim.record_by_ip(self.address)
                configured = bool(record and record.get('configured'))
            page = _CONFIGURED if configured else _FORM
            return Response(200, page.format(ip=html.escape(self.address), action=UPLOAD_PATH, field=FORM_FIELD), 'text/html; charset=utf-8')
        if request.path == UPLOAD_PATH:
            if request.method != 'POST':
                return Response(405, 'Method not allowed.\n', 'text/plain', {'Allow': 'POST'})
            content_type = request.headers.get('Content-Type', '')
            if content_type.startswith('multipart/form-data'):
                document = _multipart_file(content_type, request.body)
                if document is None:
                    return Response(400, "Missing form field '%s'.\n" % FORM_FIELD, 'text/plain')
            elif content_type.split(';')[0].strip() in ('', 'text/xml', 'application/xml', 'application/octet-stream'):
                document = request.body
            else:
                return Response(400, 'Unsupported Content-Type %r: send text/xml or a multipart form.\n' % content_type, 'text/plain')
            with self.sim.lock:
                record = self.sim.record_by_ip(self.address)
                stale = bool(record and record.get('configured'))
            if stale and self.sim.refresh:
                # Configured, as far as the last poll knows: that instance may have been terminated and a new one, with
                # a fresh page, taken its address since.
                self.sim.refresh()
            status, message = self.sim.configure_node(self.address, document)
            return Response(status, message + '\n', 'text/plain; charset=utf-8')
        return Response(404, 'Not found.\n', 'text/plain')


class NodeServers:
    """Starts and stops the per-node servers to match the set of running instances."""

    def __init__(self, sim, tls, port):
        self.sim = sim
        self.tls = tls
        self.port = port
        self.servers = {}
        self._lock = threading.Lock()

    def sync(self, wanted):
        with self._lock:
            for address in sorted(set(self.servers) - set(wanted)):
                LOG.info('node %s: closing :%d', address, self.port)
                self.servers.pop(address).stop()
            for address in sorted(set(wanted) - set(self.servers)):
                try:
                    server = TlsServer((address, self.port), NodeApp(self.sim, address), self.tls.node_context(address), close_after_response=True)
                except OSError as exc:
                    # Retried on the next poll; a stale socket of a previous run may still be closing.
                    LOG.warning('node %s: cannot listen on :%d: %s', address, self.port, exc)
                    continue
                server.start('node-%s' % address)
                self.servers[address] = server
                LOG.info('node %s: listening on :%d', address, self.port)

    def stop_all(self):
        self.sync(set())
