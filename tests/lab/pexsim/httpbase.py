# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A small threaded HTTPS server shared by the Management Node and the Conferencing Node pages."""

import http.server
import json
import logging
import socket
import socketserver
import ssl
import struct
import threading
from urllib.parse import parse_qsl, urlsplit

LOG = logging.getLogger('pexsim.http')


class Request:
    """What an app sees of one HTTP request."""

    def __init__(self, method, target, headers, body, client):
        parts = urlsplit(target)
        self.method = method
        self.path = parts.path
        self.query_string = parts.query
        self.full_path = target
        # Django's QueryDict.get returns the last value of a repeated parameter.
        self.query = dict(parse_qsl(parts.query, keep_blank_values=True))
        self.headers = headers
        self.body = body
        self.client = client

    def json(self):
        """The body as JSON; raises ValueError with a readable message."""
        if not self.body:
            raise ValueError('empty request body')
        try:
            return json.loads(self.body.decode('utf-8'))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValueError(str(exc)) from None


class Response:
    """A complete response, or ``reset=True`` to drop the TCP connection without answering."""

    def __init__(self, status=200, body=b'', content_type=None, headers=None, reset=False):
        self.status = status
        self.body = body.encode('utf-8') if isinstance(body, str) else body
        self.headers = dict(headers or {})
        if content_type:
            self.headers['Content-Type'] = content_type
        self.reset = reset

    @classmethod
    def json(cls, status, obj, headers=None):
        return cls(status, json.dumps(obj), 'application/json', headers)


class _Handler(http.server.BaseHTTPRequestHandler):
    server_version = 'pexsim'
    sys_version = ''
    timeout = 30

    def _run(self):
        length = int(self.headers.get('Content-Length') or 0)
        body = self.rfile.read(length) if length else b''
        request = Request(self.command, self.path, self.headers, body, self.client_address[0])
        try:
            response = self.server.app.dispatch(request)
        except Exception as exc:  # pylint: disable=broad-except
            LOG.exception('unhandled error for %s %s', self.command, self.path)
            response = Response.json(500, {'error': 'simulator error: %s' % exc})
        if response.reset:
            # SO_LINGER 0 makes close() send RST: the client sees a connection reset, not a clean EOF.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
            self.close_connection = True
            raise _ResetConnection()
        self.send_response(response.status)
        for key, value in response.headers.items():
            self.send_header(key, value)
        self.send_header('Content-Length', str(len(response.body)))
        if self.server.close_after_response:
            self.send_header('Connection', 'close')
            self.close_connection = True
        self.end_headers()
        if self.command != 'HEAD':
            self.wfile.write(response.body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _run

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        LOG.debug('%s %s', self.address_string(), format % args)


class _ResetConnection(Exception):
    pass


class TlsServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    """Threaded HTTPS server; the TLS handshake runs in the connection's thread so a slow client blocks nobody."""

    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(self, address, app, ssl_context, close_after_response=False):
        self.app = app
        self.ssl_context = ssl_context
        self.close_after_response = close_after_response
        self._thread = None
        handler = type('Handler', (_Handler,), {'protocol_version': 'HTTP/1.0' if close_after_response else 'HTTP/1.1'})
        super().__init__(address, handler)

    def finish_request(self, request, client_address):
        request.settimeout(30)
        # Headers and body go out as separate writes: without NODELAY, Nagle plus delayed ACK adds 40 ms per request.
        request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            conn = self.ssl_context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError) as exc:
            # Clients that reject our certificate end up here: that is expected, not an error.
            LOG.debug('TLS handshake with %s failed: %s', client_address, exc)
            return
        try:
            self.RequestHandlerClass(conn, client_address, self)
        except _ResetConnection:
            pass
        except (OSError, ssl.SSLError) as exc:
            LOG.debug('connection from %s ended: %s', client_address, exc)
        finally:
            try:
                conn.close()
            except OSError:
                pass

    def handle_error(self, request, client_address):
        LOG.debug('error on connection from %s', client_address, exc_info=True)

    def start(self, name):
        self._thread = threading.Thread(target=self.serve_forever, kwargs={'poll_interval': 0.05}, name=name, daemon=True)
        self._thread.start()

    def stop(self):
        self.shutdown()
        self.server_close()
        if self._thread:
            self._thread.join(timeout=5)
