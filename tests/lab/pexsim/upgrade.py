# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Software upgrade: command/v1/platform/upgrade/, configuration/v1/upgrade_request/ and Pexip's rolling upgrade.

The published process (docs.pexip.com admin/upgrading.htm): the Management Node upgrades first and reboots; then at
most 10 Conferencing Nodes at a time go into maintenance mode; a node upgrades and reboots once its calls have cleared;
a node whose calls have not cleared after an hour leaves maintenance mode and goes to the back of the queue; bursting
nodes are started and upgraded after the always-on ones. Here the reboot, a node's upgrade and the hour are timing
knobs (``upgrade_reboot_delay``, ``upgrade_node_delay`` then ``boot_delay``, ``upgrade_call_wait``).

Lab conventions for what the published API leaves open (docs/lab.md, UNCONFIRMED):

- the package is opaque to the collection; the lab reads its target version from its first line,
  ``PEXSIM-UPGRADE <version>`` (``make_package``); anything else, or a version not above the running one, is rejected
  with 400 (the "rejected package" fault);
- the one-shot form: a multipart POST of command/v1/platform/upgrade/ with the file in the form field ``package``;
- the chunked form: ``{"request": true, "total_size": N}`` to the same command answers the ok body with ``upload_id``
  and ``next_url``; each POST of raw bytes to ``upgrade_request/<id>/upload/`` appends them at ``offset`` and answers
  the ok body whose ``next_url`` is the next call (``upload/`` again, or ``finish/`` once every byte is in);
  ``finish/`` with ``{"validate_only": true}`` checks the package (ok body, ``upgrade`` = its version_info) and the
  request stays; ``finish/`` with ``{"validate_only": false}`` starts the upgrade (202);
- status/v1/worker_vm's ``upgrade_status`` values are the lab's own (``UPGRADE_STATUS``); the collection reads
  ``version``, ``maintenance_mode`` and the call counts, never ``upgrade_status``.

Lab faults (POST /_lab/upgrade): ``stall_nodes`` (node names that never finish upgrading), ``mgmt_extra_delay``
(seconds more before the Management Node answers again after its reboot: a slow one); ``{"reset": true}`` puts the
platform back on the version the lab started with.
"""

import email.parser
import email.policy
import logging
import time
import uuid

from . import status
from .httpbase import Response
from .sim import ApiError

LOG = logging.getLogger('pexsim.upgrade')
MAGIC = b'PEXSIM-UPGRADE '
FORM_FIELD = 'package'
WAVE = 10
MAINTENANCE_REASON = 'Software upgrade'
REQUEST_BASE = '/api/admin/configuration/v1/upgrade_request/'
# UNCONFIRMED: the lab's upgrade_status values.
UPGRADE_STATUS = {'idle': 'IDLE', 'queued': 'QUEUED', 'waiting': 'WAITING_FOR_CALLS', 'upgrading': 'UPGRADING', 'rebooting': 'REBOOTING'}


def make_package(version, size=0):
    """A lab package for ``version`` (padded to ``size`` bytes): the lab convention, never read by the collection."""
    head = MAGIC + version.encode('ascii') + b'\n'
    return head + b'\0' * max(0, size - len(head))


def version_key(version):
    try:
        return tuple(int(part) for part in str(version).split('.'))
    except ValueError:
        return None


def version_info(version):
    return {'version': version, 'pseudo_version': version, 'major': str(version).split('.', maxsplit=1)[0], 'build_date': None}


def package_version(blob, current):
    """The target version a package carries; ApiError 400 when the lab rejects it."""
    head = bytes(blob[:64]).split(b'\n', 1)[0]
    version = head[len(MAGIC):].decode('ascii', 'replace').strip() if head.startswith(MAGIC) else None
    if not version or version_key(version) is None:
        raise ApiError(400, {'upgrade': {'package': ['This is not a valid Pexip Infinity upgrade package.']}})
    if version_key(version) <= version_key(current):
        raise ApiError(400, {'upgrade': {'package': ['The package holds version %s; this platform runs %s: only a newer version can be '
                                                     'installed.' % (version, current)]}})
    return version


def _multipart_package(content_type, body):
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b'Content-Type: ' + content_type.encode('latin-1') + b'\r\nMIME-Version: 1.0\r\n\r\n' + body)
    if message.is_multipart():
        for part in message.iter_parts():
            if part.get_param('name', header='content-disposition') == FORM_FIELD:
                return part.get_payload(decode=True) or b''
    return None


class Rollout:
    """The runtime state of uploads and of the one upgrade the platform runs (Simulator.upgrade)."""

    def __init__(self, sim):
        self.sim = sim
        self.initial_version = sim.version
        self.settings = {'stall_nodes': [], 'mgmt_extra_delay': 0.0}
        self.starter = None        # start_instance(iid) of the EC2 watcher: bursting nodes
        self.reset()

    def reset(self):
        self.sim.version = self.initial_version
        self.uploads = {}          # request id -> {'uuid', 'total', 'data', 'state'}
        self.target = None
        self.from_version = None
        self.phase = 'idle'        # idle, mgmt, nodes
        self.mgmt_back_at = None
        self.versions = {}         # worker id -> installed version (unset: the Management Node's)
        self.queue = []            # worker ids, in order
        self.active = {}           # worker id -> {'state', 'since', 'entered', 'prior'}
        self.skipped = set()       # not reporting when their turn came: upgraded when they report again
        self.bursting = None       # worker ids of bursting nodes, once the always-on ones are done
        self.started = set()       # bursting instances this upgrade started
        self.not_before = {}       # worker id -> when a re-queued node may enter maintenance again

    # ----- what the API shows -----------------------------------------------------------------------------
    def node_version(self, wid):
        return self.versions.get(wid, self.sim.version)

    def node_status(self, wid):
        state = self.active.get(wid, {}).get('state')
        if state:
            return UPGRADE_STATUS[state]
        return UPGRADE_STATUS['queued'] if wid in self.queue else UPGRADE_STATUS['idle']

    def mgmt_down(self, now):
        return self.phase == 'mgmt' and now < self.mgmt_back_at

    def view(self):
        return {'phase': self.phase, 'from_version': self.from_version, 'target': self.target, 'version': self.sim.version,
                'settings': dict(self.settings), 'queue': [self._name(w) for w in self.queue],
                'active': {self._name(w): dict(a) for w, a in self.active.items()}, 'skipped': sorted(self._name(w) for w in self.skipped),
                'versions': {self._name(w): v for w, v in self.versions.items()}}

    def _name(self, wid):
        worker = self.sim.store.get('worker_vm', wid)
        return worker['name'] if worker else str(wid)

    def configure(self, data):
        if data.get('reset') is True:  # back to the version the lab started with (a test that upgraded puts the lab back)
            self.reset()
            self.settings = {'stall_nodes': [], 'mgmt_extra_delay': 0.0}
            return self.view()
        unknown = sorted(set(data) - set(self.settings))
        if unknown:
            raise ApiError(400, {'error': 'Unknown upgrade setting(s): %s' % ', '.join(unknown)})
        if 'stall_nodes' in data and not (isinstance(data['stall_nodes'], list) and all(isinstance(n, str) for n in data['stall_nodes'])):
            raise ApiError(400, {'error': 'stall_nodes must be a list of node names.'})
        if 'mgmt_extra_delay' in data and (isinstance(data['mgmt_extra_delay'], bool) or not isinstance(data['mgmt_extra_delay'], (int, float))
                                           or data['mgmt_extra_delay'] < 0):
            raise ApiError(400, {'error': 'mgmt_extra_delay must be a number of seconds >= 0.'})
        self.settings.update(data)
        return self.view()

    # ----- the API ----------------------------------------------------------------------------------------
    def _ok(self, rid, now, next_url, upgrade=None):
        return {'ok': True, 'upload_id': rid, 'timestamp': status.iso(now), 'current': version_info(self.sim.version),
                'upgrade': version_info(upgrade) if upgrade else None, 'next_url': next_url}

    def command(self, request, now):
        """POST command/v1/platform/upgrade/: the one-shot multipart form, or ``request: true`` for a chunked upload."""
        content_type = request.headers.get('Content-Type', '')
        if content_type.startswith('multipart/form-data'):
            blob = _multipart_package(content_type, request.body)
            if blob is None:
                raise ApiError(400, {'upgrade': {'package': ['This field is required.']}})
            self.start(package_version(blob, self.sim.version), now)
            return 202, {'status': 'success'}
        try:
            data = request.json()
        except ValueError as exc:
            raise ApiError(400, {'error': 'Malformed JSON in request body: %s' % exc}) from None
        total = data.get('total_size') if isinstance(data, dict) else None
        if not isinstance(data, dict) or data.get('request') is not True or isinstance(total, bool) or not isinstance(total, int) or total < 1:
            raise ApiError(400, {'upgrade': {'package': ['Send the package as a form field, or "request": true with "total_size".']}})
        rid = max(self.uploads, default=0) + 1
        self.uploads[rid] = {'uuid': str(uuid.uuid4()), 'total': total, 'data': bytearray(), 'state': 'UPLOADING'}
        return 202, self._ok(rid, now, '%s%d/upload/' % (REQUEST_BASE, rid))

    def requests(self):
        """configuration/v1/upgrade_request rows."""
        return [{'id': rid, 'uuid': up['uuid'], 'state': up['state'], 'offset': len(up['data']), 'current': version_info(self.sim.version),
                 'upgrade': version_info(up['version']) if up.get('version') else None, 'resource_uri': '%s%d/' % (REQUEST_BASE, rid)}
                for rid, up in sorted(self.uploads.items())]

    def delete(self, rid):
        if self.uploads.pop(rid, None) is None:
            raise ApiError(404, None)

    def action(self, request, rid, name, now):
        """POST upgrade_request/<id>/upload|finish|cancel/."""
        up = self.uploads.get(rid)
        if up is None:
            raise ApiError(404, None)
        if name == 'cancel':
            del self.uploads[rid]
            return 200, {'ok': True}
        if name == 'upload':
            if up['state'] != 'UPLOADING':
                raise ApiError(400, {'error': 'This upgrade request is %s: no more data is accepted.' % up['state']})
            if len(up['data']) + len(request.body) > up['total']:
                raise ApiError(400, {'error': 'More data than total_size (%d bytes).' % up['total']})
            up['data'] += request.body
            done = len(up['data']) == up['total']
            return 200, self._ok(rid, now, '%s%d/%s/' % (REQUEST_BASE, rid, 'finish' if done else 'upload'))
        try:
            data = request.json()
        except ValueError:
            data = {}
        if len(up['data']) != up['total']:
            raise ApiError(400, {'error': 'The upload is incomplete: %d of %d bytes.' % (len(up['data']), up['total'])})
        up['version'] = package_version(up['data'], self.sim.version)
        if data.get('validate_only'):
            up['state'] = 'VALIDATED'
            return 200, self._ok(rid, now, '%s%d/finish/' % (REQUEST_BASE, rid), up['version'])
        self.start(up['version'], now)
        up['state'] = 'FINISHED'
        up['data'] = bytearray()
        return 202, self._ok(rid, now, None, up['version'])

    # ----- the rolling upgrade ----------------------------------------------------------------------------
    def busy(self):
        return self.phase == 'mgmt' or bool(self.queue or self.active)

    def start(self, target, now):
        if self.busy():
            raise ApiError(400, {'error': 'An upgrade to %s is already in progress.' % self.target})
        self.target, self.from_version = target, self.sim.version
        self.bursting, self.started = None, set()
        for wid in self.sim.store.objects('worker_vm'):
            self.versions.setdefault(wid, self.sim.version)
        self.phase = 'mgmt'
        self.mgmt_back_at = now + self.sim.timing['upgrade_reboot_delay'] + self.settings['mgmt_extra_delay']
        LOG.info('upgrade: the Management Node installs %s and reboots', target)

    def _reporting(self, wid, now):
        return self.sim.reporting(self.sim.record_for_worker(wid), now)

    def _busy(self, worker, now):
        return any(call['address'] == worker['address'] for call in self.sim.live_calls(now))

    def _bursting(self, worker):
        return self.sim.computed('worker_vm', 'cloud_bursting', worker)

    def _release(self, worker, entry):
        worker['maintenance_mode'], worker['maintenance_mode_reason'] = entry['prior']

    def tick(self, now):
        """Advance the upgrade to ``now``; the caller holds the lock."""
        if self.phase == 'idle':
            return
        if self.phase == 'mgmt':
            if now < self.mgmt_back_at:
                return
            self.sim.version = self.target
            self.phase = 'nodes'
            workers = self.sim.store.sorted_objects('worker_vm')
            self.queue = [w['id'] for w in workers if not self._bursting(w) and self.node_version(w['id']) != self.target]
        objects = self.sim.store.objects('worker_vm')
        for wid, entry in list(self.active.items()):
            worker = objects.get(wid)
            if worker is None:
                del self.active[wid]
                continue
            if entry['state'] == 'waiting':
                if not self._busy(worker, now):
                    entry.update(state='upgrading', since=now)
                elif now - entry['entered'] >= self.sim.timing['upgrade_call_wait']:
                    # Pexip's rule for a node whose calls have not cleared within the hour.
                    self._release(worker, entry)
                    del self.active[wid]
                    self.queue.append(wid)
                    # out of maintenance for a while at least: it takes calls again before its next turn
                    self.not_before[wid] = now + self.sim.timing['upgrade_node_delay']
                    continue
            if entry['state'] == 'upgrading' and worker['name'] not in self.settings['stall_nodes'] \
                    and now - entry['since'] >= self.sim.timing['upgrade_node_delay']:
                self.versions[wid] = self.target
                self.sim._restart_node_of(wid, now)  # pylint: disable=protected-access
                entry.update(state='rebooting', since=now)
            elif entry['state'] == 'rebooting' and self._reporting(wid, now):
                self._release(worker, entry)
                del self.active[wid]
        for wid in sorted(self.skipped):
            if wid not in objects:
                self.skipped.discard(wid)
            elif self._reporting(wid, now):
                self.skipped.discard(wid)
                self.queue.append(wid)
        for wid in [w for w in self.queue if self.not_before.get(w, 0) <= now]:
            if len(self.active) >= WAVE:
                break
            self.queue.remove(wid)
            worker = objects.get(wid)
            if worker is None or wid in self.active or self.node_version(wid) == self.target:
                continue
            if not self._reporting(wid, now):
                self.skipped.add(wid)  # a stopped node: it upgrades when it is started again
                continue
            self.active[wid] = {'state': 'waiting' if self._busy(worker, now) else 'upgrading', 'since': now, 'entered': now,
                                'prior': (worker['maintenance_mode'], worker['maintenance_mode_reason'])}
            worker['maintenance_mode'], worker['maintenance_mode_reason'] = True, MAINTENANCE_REASON
        if not self.queue and not any(not self._bursting(objects[w]) for w in self.active if w in objects):
            self._bursting_nodes(now)

    def _bursting_nodes(self, now):
        """After the always-on nodes: start the stopped bursting nodes of the upgrade and queue them as they report."""
        if self.bursting is None:  # once per upgrade: the bursting nodes on the old version then
            self.bursting = [w['id'] for _i, w in status.cloud_nodes(self.sim) if self.node_version(w['id']) != self.target]
        for inst, worker in status.cloud_nodes(self.sim):
            wid = worker['id']
            if wid not in self.bursting or self.node_version(wid) == self.target or wid in self.active or wid in self.queue:
                continue
            if self._reporting(wid, now):
                self.skipped.discard(wid)
                self.queue.append(wid)
            elif inst['state'] == 'stopped' and inst['id'] not in self.started and self.starter is not None:
                self.started.add(inst['id'])
                try:
                    self.starter(inst['id'])
                except Exception:  # pylint: disable=broad-except
                    continue
                self.sim.record_event('start', inst['id'], 'software upgrade to %s' % self.target)


def tick(sim, now):
    with sim.lock:
        sim.upgrade.tick(now)


def _allow(methods):
    return {'Allow': ', '.join(m.upper() for m in methods)}


def route_command(sim, request):
    """POST command/v1/platform/upgrade/."""
    if request.method != 'POST':
        return Response(405, headers=_allow(['post']))
    with sim.lock:
        code, body = sim.upgrade.command(request, time.time())
    return Response.json(code, body)


def route_request(sim, request, rest):
    """configuration/v1/upgrade_request/: list, detail, and the upload/finish/cancel sub-paths."""
    rollout = sim.upgrade
    if rest and not rest[0].isdigit():
        raise ApiError(404, None)
    with sim.lock:
        if len(rest) == 2 and rest[1] in ('upload', 'finish', 'cancel'):
            if request.method != 'POST':
                return Response(405, headers=_allow(['post']))
            code, body = rollout.action(request, int(rest[0]), rest[1], time.time())
            return Response.json(code, body)
        if len(rest) > 1:
            raise ApiError(404, None)
        if request.method == 'DELETE' and rest:
            rollout.delete(int(rest[0]))
            return Response(204)
        if request.method != 'GET':
            return Response(405, headers=_allow(['get', 'delete'] if rest else ['get']))
        rows = rollout.requests()
    if rest:
        row = next((r for r in rows if r['id'] == int(rest[0])), None)
        if row is None:
            raise ApiError(404, None)
        return Response.json(200, row)
    return Response.json(200, {'meta': {'limit': 20, 'next': None, 'offset': 0, 'previous': None, 'total_count': len(rows)}, 'objects': rows})
