# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Management Node's HTTPS app: the admin API (Basic auth) and the lab-only control API under /_lab/."""

import base64
import binascii
import hmac
import logging
import time

from .httpbase import Response
from . import backup, documents, status, upgrade
from .resources import COMMAND_BASE, RESOURCES
from .sim import ApiError, apply_fault, fault_kind
from .tastypie import RESERVED_PARAMS, ListError, apply_list

LOG = logging.getLogger('pexsim.mgmt')
COMMANDS = {'platform': ('start_cloudnode', 'backup_create', 'backup_restore')}


def _allow(methods):
    return {'Allow': ', '.join(m.upper() for m in methods)}


def _json_body(request):
    """The request body as a JSON object, as Tastypie deserializes it; ApiError 400 otherwise."""
    content_type = request.headers.get('Content-Type', 'application/json').split(';')[0].strip()
    if content_type and 'json' not in content_type:
        raise ApiError(400, {'error': "The format indicated '%s' had no available deserialization method. "
                                      "Please check your ``formats`` and ``content_types`` on your Serializer." % content_type})
    try:
        data = request.json()
    except ValueError as exc:
        raise ApiError(400, {'error': 'Malformed JSON in request body: %s' % exc}) from None
    if not isinstance(data, dict):
        raise ApiError(400, {'error': 'The request body must be a JSON object.'})
    return data


def _fields_named(request):
    """The API fields a request reads (filters, ordering) or writes (JSON body keys): the schema conformance test checks them."""
    names = set()
    for key, value in request.query.items():
        if key == 'order_by':
            names.add(value.lstrip('-'))
        elif key not in RESERVED_PARAMS:
            names.add(key.partition('__')[0])
    if request.method in ('POST', 'PUT', 'PATCH'):
        try:
            data = request.json()
        except ValueError:
            data = None
        items = data if isinstance(data, list) else [data]
        names.update(key for item in items if isinstance(item, dict) for key in item)
    return sorted(names)


# A multipart form or JSON: pexsim/upgrade.py routes it (before the JSON body of the other commands is read).
COMMANDS['platform'] += ('upgrade',)


class MgmtApp:
    """Routes one request; every API request is checked for faults and logged, /_lab/ requests are not."""

    def __init__(self, sim, username, password, watcher=None):
        self.sim = sim
        self.username = username
        self.password = password
        self.watcher = watcher

    def dispatch(self, request):
        upgrade.tick(self.sim, time.time())
        if request.path == '/_lab' or request.path.startswith('/_lab/'):
            try:
                return self._lab(request)
            except ApiError as exc:
                return Response.json(exc.status, exc.body)
        fault = self.sim.take_fault('mgmt', request.method, request.full_path)
        response = apply_fault(fault) if fault else None
        if response is None and backup.restarting(self.sim, time.time()):
            response = Response(reset=True)  # restarting after a restore: nothing answers
        if response is None and self.sim.upgrade.mgmt_down(time.time()):
            response = Response(reset=True)  # rebooting into the new version
        if response is None:
            try:
                response = self._api(request)
            except ApiError as exc:
                response = Response(exc.status) if exc.body is None else Response.json(exc.status, exc.body)
        self.sim.log_request('mgmt', request.method, request.full_path, None if response.reset else response.status, fault=fault_kind(fault),
                             fields=_fields_named(request))
        return response

    # ----- admin API ----------------------------------------------------------------------------------------
    def _authorized(self, request):
        header = request.headers.get('Authorization', '')
        if not header.startswith('Basic '):
            return False
        try:
            user, _sep, password = base64.b64decode(header[6:].strip(), validate=True).decode('utf-8').partition(':')
        except (binascii.Error, UnicodeDecodeError):
            return False
        return hmac.compare_digest(user, self.username) & hmac.compare_digest(password, self.password)

    def _api(self, request):
        if not self._authorized(request):
            return Response(401, 'Authorization Required', 'text/plain', {'WWW-Authenticate': 'Basic realm="Pexip Infinity"'})
        parts = request.path.split('/')
        # '/api/admin/<api>/v1/...' splits into ['', 'api', 'admin', api, 'v1', ..., ''].
        if len(parts) < 6 or parts[:3] != ['', 'api', 'admin'] or parts[4] != 'v1' or parts[-1] != '':
            raise ApiError(404, None)
        api, rest = parts[3], parts[5:-1]
        if api == 'command':
            return self._command(request, rest)
        resources = RESOURCES.get(api)
        if resources is None:
            raise ApiError(404, None)
        if not rest:
            if request.method != 'GET':
                return Response(405, headers=_allow(['get']))
            return Response.json(200, {name: {'list_endpoint': r.base, 'schema': r.base + 'schema/'} for name, r in sorted(resources.items())})
        resource = resources.get(rest[0])
        if api == 'configuration' and len(rest) == 3 and rest[0] == 'system_backup' and rest[2] == backup.DOWNLOAD:
            return self._backup_file(request, rest[1])
        if api == 'configuration' and rest[0] == 'upgrade_request':
            return upgrade.route_request(self.sim, request, rest[1:])
        if resource is None or len(rest) > 2:
            raise ApiError(404, None)
        if len(rest) == 1:
            return self._list(request, resource)
        if rest[1] == 'schema':
            if request.method != 'GET':
                return Response(405, headers=_allow(['get']))
            return Response.json(200, resource.schema())
        return self._detail(request, resource, rest[1])

    def _list(self, request, resource):
        method = request.method.lower()
        if method not in resource.list_methods:
            return Response(405, headers=_allow(resource.list_methods))
        if method == 'get':
            if resource.api == 'configuration':
                objects = self.sim.render_config(resource.name)
            else:
                objects = self.sim.status_objects(resource.name)
            try:
                return Response.json(200, apply_list(resource, objects, request.query, resource.base))
            except ListError as exc:
                raise ApiError(400, {'error': str(exc)}) from None
        oid, document = self.sim.create(resource.name, _json_body(request))
        headers = {'Location': 'https://%s%s' % (request.headers.get('Host', 'localhost'), resource.uri(oid))}
        if document is None:
            return Response(201, headers=headers)
        worker = self.sim.store.get('worker_vm', oid)
        headers['Content-Disposition'] = 'attachment; filename=pexip-%s.%s.xml' % (worker['hostname'], worker['domain'])
        return Response(201, document, documents.CONTENT_TYPE, headers)

    def _detail(self, request, resource, key):
        method = request.method.lower()
        if method not in resource.detail_methods:
            return Response(405, headers=_allow(resource.detail_methods))
        if resource.id_type == 'integer':
            if not key.isdigit():
                raise ApiError(404, None)
            oid = int(key)
        else:
            oid = key
        if method == 'get':
            if resource.api == 'configuration':
                obj = self.sim.render_config(resource.name, oid)
            else:
                obj = next((row for row in self.sim.status_objects(resource.name) if row['id'] == oid), None)
            if obj is None:
                raise ApiError(404, None)
            return Response.json(200, obj)
        if method in ('put', 'patch'):
            self.sim.update(resource.name, oid, _json_body(request))
            return Response(204 if method == 'put' else 202)
        self.sim.delete(resource.name, oid)
        return Response(204)

    def _backup_file(self, request, filename):
        """A backup's file, at its request's download_uri (a lab convention: docs/lab.md)."""
        if request.method != 'GET':
            return Response(405, headers=_allow(['get']))
        with self.sim.lock:
            blob = backup.file_of(self.sim, filename)
        return Response(200, blob, 'application/octet-stream', {'Content-Disposition': 'attachment; filename=%s' % filename})

    def _command(self, request, rest):
        if not rest:
            if request.method != 'GET':
                return Response(405, headers=_allow(['get']))
            return Response.json(200, {action: {'list_endpoint': '%s%s/%s/' % (COMMAND_BASE, scope, action)}
                                       for scope, actions in COMMANDS.items() for action in actions})
        if rest == ['platform', 'upgrade']:
            return upgrade.route_command(self.sim, request)
        if len(rest) != 2 or rest[1] not in COMMANDS.get(rest[0], ()):
            raise ApiError(404, None)
        if request.method != 'POST':
            return Response(405, headers=_allow(['post']))
        if rest[1] == 'backup_restore':
            fields = backup.form(request)
            with self.sim.lock:
                backup.restore(self.sim, fields, time.time())
            return Response.json(202, {'status': 'success'})
        data = _json_body(request)
        if rest[1] == 'backup_create':
            with self.sim.lock:
                backup.create(self.sim, data, time.time())
            return Response.json(202, {'status': 'success'})
        iid = data.get('instance_id')
        if not isinstance(iid, str) or not iid:
            raise ApiError(400, {'start_cloudnode': {'instance_id': ['This field is required.']}})
        with self.sim.lock:
            known = any(inst['id'] == iid for inst, _worker in status.cloud_nodes(self.sim))
        if not known:
            raise ApiError(400, {'error': "No cloud bursting node with instance id '%s'." % iid})
        if self.watcher is None:
            raise ApiError(400, {'error': 'The simulator has no EC2 endpoint (--aws-url) to start instances with.'})
        try:
            self.watcher.start_instance(iid)
        except Exception as exc:  # pylint: disable=broad-except
            raise ApiError(502, {'error': 'Starting %s failed: %s' % (iid, exc)}) from None
        self.sim.record_event('start', iid, 'manual start (start_cloudnode)')
        return Response.json(202, {'status': 'success'})

    # ----- lab control API ----------------------------------------------------------------------------------
    def _lab(self, request):
        route = request.path.rstrip('/')
        method = request.method
        handlers = {
            ('/_lab', 'GET'): self._lab_index,
            ('/_lab/calls', 'GET'): lambda r: Response.json(200, self._calls()),
            ('/_lab/calls', 'POST'): self._lab_place_calls,
            ('/_lab/calls', 'DELETE'): lambda r: Response.json(200, {'ended': self.sim.end_calls(r.query.get('address'), r.query.get('conference'))}),
            ('/_lab/faults', 'GET'): lambda r: Response.json(200, list(self.sim.faults)),
            ('/_lab/faults', 'POST'): self._lab_add_faults,
            ('/_lab/faults', 'DELETE'): self._lab_clear_faults,
            ('/_lab/requests', 'GET'): self._lab_requests,
            ('/_lab/requests', 'DELETE'): self._lab_clear_requests,
            # The ts of the last request so far: GET /_lab/requests?since=<it> then lists the requests made after it.
            ('/_lab/requests/mark', 'GET'): lambda r: Response.json(200, {'since': self.sim.request_mark()}),
            ('/_lab/fields', 'GET'): lambda r: Response.json(200, list(self.sim.fields_named)),
            ('/_lab/timing', 'GET'): lambda r: Response.json(200, dict(self.sim.timing)),
            ('/_lab/timing', 'POST'): self._lab_timing,
            ('/_lab/reset', 'POST'): self._lab_reset,
            ('/_lab/nodes', 'GET'): self._lab_nodes,
            ('/_lab/events', 'GET'): lambda r: Response.json(200, list(self.sim.events)),
            ('/_lab/poll', 'POST'): self._lab_poll,
            ('/_lab/firstboot', 'GET'): lambda r: Response.json(200, self._firstboot().view()),
            ('/_lab/firstboot', 'POST'): lambda r: Response.json(200, self._firstboot().configure(_json_body(r))),
            ('/_lab/upgrade', 'GET'): lambda r: Response.json(200, self.sim.upgrade.view()),
            ('/_lab/upgrade', 'POST'): lambda r: Response.json(200, self.sim.upgrade.configure(_json_body(r))),
        }
        handler = handlers.get((route, method))
        if handler is None:
            known = sorted({m for (path, m) in handlers if path == route})
            if known:
                return Response.json(405, {'error': 'Allowed: %s' % ', '.join(known)}, _allow(known))
            return Response.json(404, {'error': 'Unknown lab endpoint %s' % request.path})
        return handler(request)

    def _firstboot(self):
        firstboot = getattr(self.watcher, 'firstboot', None)
        if firstboot is None:
            raise ApiError(400, {'error': 'No Management Node first boot in this simulator (--ssh-port and --aws-url).'})
        return firstboot

    def _lab_index(self, _request):
        return Response.json(200, {
            'endpoints': ['/_lab/calls', '/_lab/faults', '/_lab/requests', '/_lab/requests/mark', '/_lab/fields', '/_lab/timing',
                          '/_lab/reset', '/_lab/nodes', '/_lab/events', '/_lab/poll', '/_lab/firstboot', '/_lab/upgrade'],
            'timing': dict(self.sim.timing),
            'mgmt_hostname': self.sim.mgmt_hostname,
            'ec2': self.watcher is not None,
        })

    def _calls(self):
        return [dict(call) for call in self.sim.live_calls()]

    def _lab_place_calls(self, request):
        data = _json_body(request)
        address = data.get('address')
        count = data.get('count', 1)
        duration = data.get('duration')
        if not isinstance(address, str):
            raise ApiError(400, {'error': 'address (a node IPv4 address) is required.'})
        if not isinstance(count, int) or isinstance(count, bool) or count < 1:
            raise ApiError(400, {'error': 'count must be an integer >= 1.'})
        if duration is not None and (not isinstance(duration, (int, float)) or duration < 0):
            raise ApiError(400, {'error': 'duration must be a number of seconds >= 0 or null.'})
        created = self.sim.place_calls(address, count, duration, data.get('conference'), data.get('protocol', 'WebRTC'),
                                       bool(data.get('force', False)))
        return Response.json(201, {'participants': [call['id'] for call in created], 'calls': created})

    def _lab_add_faults(self, request):
        try:
            data = request.json()
        except ValueError as exc:
            raise ApiError(400, {'error': 'Malformed JSON in request body: %s' % exc}) from None
        specs = data if isinstance(data, list) else [data]
        return Response.json(201, [self.sim.add_fault(spec) for spec in specs])

    def _lab_clear_faults(self, _request):
        with self.sim.lock:
            count = len(self.sim.faults)
            self.sim.faults = []
        return Response.json(200, {'cleared': count})

    def _lab_requests(self, request):
        since = request.query.get('since')
        try:
            since = float(since) if since not in (None, '') else None
        except ValueError:
            raise ApiError(400, {'error': 'since must be a timestamp (seconds since the epoch).'}) from None
        return Response.json(200, self.sim.request_log(since))

    def _lab_clear_requests(self, _request):
        with self.sim.lock:
            count = len(self.sim.requests)
            self.sim.requests.clear()
        return Response.json(200, {'cleared': count})

    def _lab_timing(self, request):
        data = _json_body(request)
        unknown = sorted(set(data) - set(self.sim.timing))
        if unknown:
            raise ApiError(400, {'error': 'Unknown timing knob(s): %s' % ', '.join(unknown)})
        for key, value in data.items():
            if key == 'strict_fields':
                if not isinstance(value, bool):
                    raise ApiError(400, {'error': 'strict_fields must be true or false.'})
            elif isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0 or (key == 'poll_interval' and value <= 0):
                raise ApiError(400, {'error': '%s must be a number of seconds >= 0.' % key})
        with self.sim.lock:
            self.sim.timing.update(data)
        return Response.json(200, dict(self.sim.timing))

    def _lab_reset(self, _request):
        self.sim.reset()
        return Response.json(200, {'status': 'reset'})

    def _lab_nodes(self, _request):
        now = time.time()
        with self.sim.lock:
            rows = []
            for iid in sorted(self.sim.store.nodes):
                record = dict(self.sim.store.nodes[iid])
                record['reporting'] = self.sim.reporting(self.sim.store.nodes[iid], now)
                record['listening'] = bool(self.watcher and record['private_ip'] in self.watcher.nodes.servers)
                rows.append(record)
        return Response.json(200, rows)

    def _lab_poll(self, _request):
        if self.watcher is None:
            raise ApiError(400, {'error': 'No EC2 endpoint configured (--aws-url).'})
        return Response.json(200, {'polled': self.watcher.poll(), 'error': self.watcher.last_error})
