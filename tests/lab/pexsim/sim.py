# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The simulator's model: configuration writes and their side effects, nodes, calls, faults and the request log."""

import collections
import datetime
import hmac
import ipaddress
import logging
import re
import secrets
import threading
import time
import uuid

from . import certs, documents, status
from .httpbase import Response
from .resources import CONFIG_RESOURCES, MANUAL_PROVISION, STATUS_RESOURCES
from .store import Store

LOG = logging.getLogger('pexsim')

BURSTING_TAG_KEY = 'pexip-cloud'
# The entitlement ids the lab's licence server knows, and what each grants (status/v1/licensing totals).
LAB_ENTITLEMENTS = {
    'LAB-PORT-0010-7F3A': {'product_id': 'pexip-port', 'features': 'port', 'concurrent': 10},
    'LAB-PORT-0050-1C8E': {'product_id': 'pexip-port', 'features': 'port', 'concurrent': 50},
    'LAB-SYSTEM-0004-9C21': {'product_id': 'pexip-system', 'features': 'system', 'concurrent': 4},
    'LAB-VMR-0100-2B7D': {'product_id': 'pexip-vmr', 'features': 'vmr', 'concurrent': 100},
    'LAB-AUDIO-0020-E5C0': {'product_id': 'pexip-audio', 'features': 'audio', 'concurrent': 20},
}
# UNCONFIRMED (docs/lab.md): the answer to activating an entitlement that is already active on this system.
ALREADY_ACTIVATED = "Entitlement '%s' is already activated on this system (fulfillment %s)."
DEFAULT_CERTIFICATE_ID = 1
#: UNCONFIRMED: what writing a signed certificate back to a certificate_signing_request does (docs/lab.md): the
#: certificate, with the key the request was made with, replaces the tls_certificate the request renews in place
#: (every node keeps it), or becomes a new tls_certificate when the request renews none; the request stays.
SIGNED_CERTIFICATE_REPLACES_IN_PLACE = True
DEFAULT_TIMING = {
    'boot_delay': 2.0,       # seconds from instance start (or bootstrap upload) until the node reports
    'sync_delay': 1.0,       # seconds from boot or a config change until sync_status is SYNCED
    'call_duration': 0.0,    # default call length in seconds; 0 = until ended
    'poll_interval': 0.5,    # EC2 watcher period
    'minute_seconds': 60.0,  # length of a "minute" for bursting_min_lifetime
    'strict_fields': False,  # reject unknown fields in writes (real Tastypie ignores them)
    'backup_delay': 2.0,     # seconds a backup request takes (pexsim/backup.py)
    'restore_delay': 2.0,    # seconds the Management Node restarts for after a restore (pexsim/backup.py)
    'upgrade_reboot_delay': 2.0,  # seconds the Management Node is away rebooting into a new version (pexsim/upgrade.py)
    'upgrade_node_delay': 1.0,    # seconds a node installs a new version before it reboots (then boot_delay)
    'upgrade_call_wait': 10.0,    # Pexip's hour: a node whose calls have not cleared leaves maintenance and is re-queued
}


class ApiError(Exception):
    """An error answer: HTTP status plus JSON body."""

    def __init__(self, status, body):
        super().__init__(status, body)
        self.status = status
        self.body = body


def is_loopback(address):
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def apply_fault(fault):
    """Turn an injected fault into a response (None when it only adds latency)."""
    if fault['latency']:
        threading.Event().wait(fault['latency'])
    if fault['reset']:
        return Response(reset=True)
    if fault['status']:
        headers = {}
        if fault['retry_after'] is not None:
            headers['Retry-After'] = str(fault['retry_after'])
        body = fault['body'] if fault['body'] is not None else {'error': 'Injected fault: HTTP %d' % fault['status']}
        return Response.json(fault['status'], body, headers)
    return None


def fault_kind(fault):
    if not fault:
        return None
    if fault['reset']:
        return 'reset'
    return 'status' if fault['status'] else 'latency'


class Simulator:
    """Everything but the sockets: the HTTP apps and the EC2 watcher call into this object."""

    def __init__(self, state_file=None, mgmt_hostname='mgr-lab', mgmt_address='127.0.0.1', timing=None, version='34.0.0',
                 mgmt_domain='lab.example.com'):
        self.mgmt_hostname = mgmt_hostname
        self.mgmt_address = mgmt_address
        self.mgmt_domain = mgmt_domain
        self.store = Store(state_file, seed=self._seed)
        self.lock = self.store.lock
        self.version = version
        self.timing = dict(DEFAULT_TIMING)
        self.timing.update(timing or {})
        self.instances = {}       # last EC2 snapshot: instance id -> facts
        self.calls = []           # live participants (runtime only)
        self.faults = []
        self.requests = collections.deque(maxlen=50000)
        self.fields_named = collections.deque(maxlen=50000)  # requests that named fields (GET /_lab/fields)
        self.events = collections.deque(maxlen=5000)
        self.backup_requests = []  # status/v1/backup_request (runtime only; the backups persist as system_backup)
        self.restarting_until = None  # the Management Node restarts after a restore until then (pexsim/backup.py)
        self._last_ts = 0.0
        self.ec2 = None           # set by the EC2 watcher when --aws-url is given
        from .upgrade import Rollout  # pylint: disable=import-outside-toplevel  # upgrade imports this module
        self.upgrade = Rollout(self)
        # Reads EC2 now (the watcher's poll), so that a node page answers for the instance at its address now, not
        # for one terminated since the last poll: a new instance may take a terminated one's address.
        self.refresh = None

    @staticmethod
    def _default_certificate(hostname, domain):
        """The self-signed default certificate of a newly installed Management Node (a new one at each install)."""
        fqdn = '%s.%s' % (hostname, domain)
        cert_pem, key_pem = certs.self_signed(fqdn, [fqdn, hostname])
        cert = {'id': DEFAULT_CERTIFICATE_ID, 'certificate': cert_pem, 'private_key': key_pem, 'private_key_passphrase': '',
                'parameters': '', 'nodes': []}
        cert.update(certs.describe(certs.load_chain(cert_pem)[0]))
        return cert

    def _seed(self, data):
        """A freshly installed Management Node: its own management_vm (primary) on a self-signed default certificate."""
        data['objects']['tls_certificate'][DEFAULT_CERTIFICATE_ID] = self._default_certificate(self.mgmt_hostname, self.mgmt_domain)
        data['next_id']['tls_certificate'] = DEFAULT_CERTIFICATE_ID + 1
        resource = CONFIG_RESOURCES['management_vm']
        mgmt = {name: field.initial() for name, field in resource.fields.items() if not field.readonly or name in ('initializing', 'primary')}
        network = ipaddress.IPv4Network('%s/24' % self.mgmt_address, strict=False)
        mgmt.update(id=1, name=self.mgmt_hostname, hostname=self.mgmt_hostname, domain=self.mgmt_domain, address=self.mgmt_address,
                    netmask=str(network.netmask), gateway=str(next(network.hosts())), tls_certificate=DEFAULT_CERTIFICATE_ID,
                    primary=True, initializing=False)
        data['objects']['management_vm'][1] = mgmt
        data['next_id']['management_vm'] = 2

    def primary_management_vm(self):
        return next((vm for vm in self.store.objects('management_vm').values() if vm.get('primary')), None)

    @property
    def bursting_tag_value(self):
        """The pexip-cloud tag value: the primary Management Node's hostname."""
        primary = self.primary_management_vm()
        return primary['hostname'] if primary else None

    def install_management_node(self, answers):
        """The installation wizard's answers become the primary management_vm (called by sshboot after the wizard)."""
        with self.lock:
            primary = self.primary_management_vm()
            server_ids = {}
            for resource, key in (('dns_server', 'dns_servers'), ('ntp_server', 'ntp_servers')):
                by_address = {obj['address']: oid for oid, obj in self.store.objects(resource).items()}
                server_ids[key] = [by_address[a] for a in answers[key] if a in by_address]
            primary.update(hostname=answers['hostname'], name=answers['hostname'][:32], domain=answers['domain'],
                           address=answers['ip_address'], netmask=answers['netmask'], gateway=answers['gateway'], **server_ids)
            # A new install is on its own self-signed default certificate until a real one is assigned to it.
            cid = self.store.new_id('tls_certificate')
            self.store.objects('tls_certificate')[cid] = dict(self._default_certificate(answers['hostname'], answers['domain']), id=cid)
            primary['tls_certificate'] = cid
            self.store.save()

    def management_certificate(self):
        """``(id, certificate PEM, key PEM, passphrase)`` of the certificate the primary Management Node is on."""
        with self.lock:
            primary = self.primary_management_vm() or {}
            cert = self.store.get('tls_certificate', primary.get('tls_certificate')) if primary.get('tls_certificate') else None
            cert = cert or self.store.get('tls_certificate', DEFAULT_CERTIFICATE_ID)
            return cert['id'], cert['certificate'], cert['private_key'], cert.get('private_key_passphrase') or None

    # ----- context used by resources.py ------------------------------------------------------------------
    def exists(self, resource, oid):
        return self.store.exists(resource, oid)

    def is_taken(self, resource, field, value, exclude_id):
        return self.store.is_taken(resource, field, value, exclude_id)

    def render_related(self, resource, oid):
        obj = self.store.get(resource, oid)
        return CONFIG_RESOURCES[resource].render(obj, self) if obj else None

    def computed(self, resource, field, obj):
        if resource == 'conference' and field == 'aliases':
            return [self.render_related('conference_alias', a['id']) for a in self.store.sorted_objects('conference_alias')
                    if a['conference'] == obj['id']]
        if resource == 'worker_vm' and field == 'cloud_bursting':
            return any(inst['private_ip'] == obj['address'] and self.is_bursting_instance(inst) for inst in self.instances.values())
        raise KeyError(field)

    def is_bursting_instance(self, inst):
        tag = self.bursting_tag_value
        return tag is not None and inst['tags'].get(BURSTING_TAG_KEY) == tag and inst['state'] not in ('terminated', 'shutting-down')

    # ----- configuration ----------------------------------------------------------------------------------
    def render_config(self, name, oid=None):
        resource = CONFIG_RESOURCES[name]
        with self.lock:
            if name == 'system_backup':
                # backup imports this module: imported here, once both are loaded
                from . import backup  # pylint: disable=import-outside-toplevel
                backup.advance(self, time.time())
            if oid is not None:
                obj = self.store.get(name, oid)
                return resource.render(obj, self) if obj else None
            return [resource.render(obj, self) for obj in self.store.sorted_objects(name)]

    def create(self, name, data):
        """Create an object; return (id, bootstrap document or None)."""
        resource = CONFIG_RESOURCES[name]
        now = time.time()
        with self.lock:
            data, aliases = self._split_aliases(name, data)
            values, errors = resource.validate(data, self, strict=self.timing['strict_fields'])
            self._check_aliases(aliases, None, errors)
            if errors:
                raise ApiError(400, {name: errors})
            if name == 'licence':
                return self._activate(values), None
            oid = self.store.new_id(name)
            values['id'] = oid
            if 'creation_time' in resource.fields:
                values['creation_time'] = status.iso(now)
            document = None
            if name == 'worker_vm':
                meta = self.store.worker_meta(oid)
                meta.update(changed_at=now, created_at=now)
                if values.get('deployment_type') == MANUAL_PROVISION:
                    meta['secret'] = secrets.token_hex(24)
                    location = self.store.get('system_location', values['system_location'])
                    document = documents.build(values, location['name'], meta['secret'], self.mgmt_address, self.bursting_tag_value)
            self.store.objects(name)[oid] = values
            self._replace_aliases(oid, aliases, now)
            self.store.save()
        return oid, document

    # Conferences take their aliases nested ({alias, description}); a written list replaces them all.
    @staticmethod
    def _split_aliases(name, data):
        if name != 'conference' or 'aliases' not in data:
            return data, None
        data = dict(data)
        return data, data.pop('aliases')

    def _check_aliases(self, aliases, conference_id, errors):
        if aliases is None:
            return
        if not isinstance(aliases, list) or not all(isinstance(a, dict) and isinstance(a.get('alias'), str) and a['alias'] for a in aliases):
            errors.setdefault('aliases', []).append('Expected a list of {"alias": ..., "description": ...} objects.')
            return
        names = [a['alias'] for a in aliases]
        for alias in sorted(set(names)):
            owner = next((a for a in self.store.objects('conference_alias').values() if a['alias'] == alias), None)
            if names.count(alias) > 1 or (owner and owner['conference'] != conference_id):
                errors.setdefault('aliases', []).append('Conference alias with this Alias already exists: %s' % alias)

    def _replace_aliases(self, conference_id, aliases, now):
        if aliases is None:
            return
        objs = self.store.objects('conference_alias')
        for aid in [aid for aid, a in objs.items() if a['conference'] == conference_id]:
            del objs[aid]
        for alias in aliases:
            aid = self.store.new_id('conference_alias')
            objs[aid] = {'id': aid, 'alias': alias['alias'], 'description': alias.get('description') or '', 'conference': conference_id,
                         'creation_time': status.iso(now)}

    def _activate(self, values):
        """licence POST: the entitlement id must be one the lab's licence server knows; returns the fulfillment id."""
        entitlement = values['entitlement_id']
        grant = LAB_ENTITLEMENTS.get(entitlement)
        if grant is None:
            raise ApiError(400, {'licence': {'entitlement_id': ["Entitlement '%s' is not valid: check the entitlement ID from Pexip." % entitlement]}})
        for fid, active in self.store.objects('licence').items():
            if active['entitlement_id'] == entitlement:
                raise ApiError(400, {'licence': {'entitlement_id': [ALREADY_ACTIVATED % (entitlement, fid)]}})
        fid = 'FID-%s' % uuid.uuid4().hex[:12].upper()
        start = datetime.date.today()
        self.store.objects('licence')[fid] = dict(
            values, fulfillment_id=fid, fulfillment_type='offline' if values['offline_mode'] else 'online', product_id=grant['product_id'],
            license_type='perpetual', features=grant['features'], concurrent=grant['concurrent'], concurrent_overdraft=0,
            activatable=grant['concurrent'], activatable_overdraft=0, hybrid=0, hybrid_overdraft=0, start_date=start.isoformat(),
            expiration_date=(start + datetime.timedelta(days=365)).isoformat(), status='ACTIVE', trust_flags='FULLY_TRUSTED', repair='',
            server_chain='', vendor_dictionary='')
        self.store.save()
        return fid

    def update(self, name, oid, data):
        resource = CONFIG_RESOURCES[name]
        now = time.time()
        with self.lock:
            existing = self.store.get(name, oid)
            if existing is None:
                raise ApiError(404, None)
            data, aliases = self._split_aliases(name, data)
            values, errors = resource.validate(data, self, existing=existing, strict=self.timing['strict_fields'])
            self._check_aliases(aliases, oid, errors)
            if errors:
                raise ApiError(400, {name: errors})
            changed = {key for key in values if values[key] != existing.get(key)}
            self.store.objects(name)[oid] = values
            if name == 'certificate_signing_request' and 'certificate' in changed and values['certificate']:
                self._install_signed(values)
            self._replace_aliases(oid, aliases, now)
            if name == 'worker_vm' and changed - {'password', 'deployment_type'}:
                self.store.worker_meta(oid)['changed_at'] = now
                if changed & {'node_type', 'system_location'}:
                    # Pexip restarts the node for these changes and its calls drop.
                    self._restart_node_of(oid, now)
            elif name == 'system_location' and changed:
                for worker in self.store.objects('worker_vm').values():
                    if worker['system_location'] == oid:
                        self.store.worker_meta(worker['id'])['changed_at'] = now
            self.store.save()

    def _install_signed(self, request):
        """The signed certificate of a signing request, with the request's key, as a server certificate (UNCONFIRMED:
        SIGNED_CERTIFICATE_REPLACES_IN_PLACE)."""
        fields = {'certificate': request['certificate'], 'private_key': request['private_key'], 'private_key_passphrase': ''}
        fields.update(certs.describe(certs.load_chain(request['certificate'])[0]))
        renewed = self.store.get('tls_certificate', request['tls_certificate']) if request.get('tls_certificate') else None
        if renewed is not None and SIGNED_CERTIFICATE_REPLACES_IN_PLACE:
            renewed.update(fields)
            return
        cid = self.store.new_id('tls_certificate')
        self.store.objects('tls_certificate')[cid] = dict(fields, id=cid, parameters='', nodes=[])

    def delete(self, name, oid):
        with self.lock:
            obj = self.store.get(name, oid)
            if obj is None:
                raise ApiError(404, None)
            if name == 'system_location':
                users = sorted(w['name'] for w in self.store.objects('worker_vm').values() if w['system_location'] == oid)
                if users:
                    raise ApiError(400, {'error': "Cannot delete system location '%s': it is used by Conferencing Node(s) %s."
                                                  % (obj['name'], ', '.join(users))})
                for other in self.store.objects('system_location').values():
                    for key in ('overflow_location1', 'overflow_location2', 'transcoding_location'):
                        if other.get(key) == oid:
                            other[key] = None
            elif name == 'tls_certificate':
                users = sorted(vm['name'] for kind in ('worker_vm', 'management_vm') for vm in self.store.objects(kind).values()
                               if oid in (vm.get('tls_certificate'), vm.get('tls_client_certificate')))
                if users:
                    raise ApiError(400, {'error': "Cannot delete TLS certificate '%s': it is in use by %s." % (obj['subject_name'], ', '.join(users))})
                for request in self.store.objects('certificate_signing_request').values():
                    if request.get('tls_certificate') == oid:
                        request['tls_certificate'] = None
            elif name == 'management_vm' and obj.get('primary'):
                raise ApiError(400, {'error': 'The primary Management Node cannot be deleted.'})
            elif name == 'conference':
                aliases = self.store.objects('conference_alias')
                for aid in [aid for aid, a in aliases.items() if a['conference'] == oid]:
                    del aliases[aid]
            elif name == 'worker_vm':
                # The secret is kept (marked deleted) so that an upload of its document can be told apart from a forgery.
                self.store.worker_meta(oid)['deleted_at'] = time.time()
                self._end_calls_at(obj['address'])
            # As Django does for a many-to-many relation: the deleted object leaves every list that named it
            # (a DNS or NTP server leaves the locations and the Management Node alike).
            for resource in CONFIG_RESOURCES.values():
                for field in resource.fields.values():
                    if field.to_many and field.related == name and not field.readonly and not field.computed:
                        for other in self.store.data['objects'].get(resource.name, {}).values():
                            if oid in (other.get(field.name) or []):
                                other[field.name] = [rid for rid in other[field.name] if rid != oid]
            del self.store.objects(name)[oid]
            self.store.save()

    def fresh_install(self):
        """A new Management Node in place of a lost one: no configuration at all (seeded as a fresh install, self-signed);
        the Conferencing Nodes are other machines and keep theirs, unknown to it until a restore."""
        with self.lock:
            nodes = self.store.data['nodes']
            self.store.data = self.store.empty()
            self.store.data['nodes'] = nodes
            self.backup_requests = []
            self.store.save()

    def reset(self):
        with self.lock:
            self.store.reset()
            self.calls = []
            self.faults = []
            self.backup_requests = []
            self.restarting_until = None
            self.upgrade.reset()

    # ----- nodes --------------------------------------------------------------------------------------------
    def worker_by_address(self, address):
        for worker in self.store.objects('worker_vm').values():
            if worker['address'] == address:
                return worker
        return None

    def record_for_worker(self, wid):
        for record in self.store.nodes.values():
            if record.get('configured') and record.get('worker_vm_id') == wid:
                return record
        return None

    def record_by_ip(self, address, state='running'):
        for record in self.store.nodes.values():
            if record['private_ip'] == address and (state is None or record['state'] == state):
                return record
        return None

    def reporting(self, record, now):
        """A node reports when its instance runs, it was configured, its worker_vm still matches, and it has booted."""
        if not record or not record.get('configured') or record['state'] != 'running' or record.get('running_since') is None:
            return False
        worker = self.store.get('worker_vm', record.get('worker_vm_id'))
        if not worker or worker['address'] != record['private_ip']:
            return False
        return now - record['running_since'] >= self.timing['boot_delay']

    def _freeze(self, record, now):
        """The node stops (or reboots): keep its last boot and report times for the status page, drop its calls."""
        if self.reporting(record, now):
            record['boot_time'] = record['running_since'] + self.timing['boot_delay']
            record['last_updated'] = max(record.get('last_seen_running') or now, record['boot_time'])
        self._end_calls_at(record['private_ip'])

    def _restart_node_of(self, wid, now):
        record = self.record_for_worker(wid)
        if record and record['state'] == 'running':
            self._freeze(record, now)
            record['running_since'] = now

    def apply_snapshot(self, snapshot, now=None):
        """Take one describe_instances result; return the set of addresses whose :8443 server must be up."""
        now = time.time() if now is None else now
        with self.lock:
            self.instances = snapshot
            changed = False
            for iid, inst in snapshot.items():
                if not inst['private_ip'] or not is_loopback(inst['private_ip']):
                    continue
                record = self.store.nodes.get(iid)
                if record is None:
                    record = {'instance_id': iid, 'private_ip': inst['private_ip'], 'state': None, 'running_since': None,
                              'last_seen_running': None, 'configured': False, 'worker_vm_id': None, 'configured_at': None,
                              'boot_time': None, 'last_updated': None}
                    self.store.nodes[iid] = record
                    changed = True
                if inst['state'] != record['state']:
                    changed = True
                    if inst['state'] == 'running':
                        record['running_since'] = now
                    elif record['state'] == 'running':
                        self._freeze(record, now)
                    record['state'] = inst['state']
                if inst['state'] == 'running':
                    record['last_seen_running'] = now
            for iid, record in self.store.nodes.items():
                if iid not in snapshot and record['state'] not in ('terminated', None):
                    if record['state'] == 'running':
                        self._freeze(record, now)
                    record['state'] = 'terminated'
                    changed = True
            if changed:
                self.store.save()
            return {r['private_ip'] for r in self.store.nodes.values() if r['state'] == 'running'}

    def configure_node(self, address, body):
        """A bootstrap upload on the node at ``address``; return (status, message)."""
        now = time.time()
        with self.lock:
            record = self.record_by_ip(address)
            if record is None:
                return 503, 'This node is not running.'
            if record.get('configured'):
                return 409, 'This node is already configured; the bootstrap page no longer accepts a configuration upload.'
            try:
                doc = documents.parse(body)
            except documents.DocumentError as exc:
                return 400, 'Invalid configuration document: %s' % exc
            wid = None
            for oid, meta in self.store.data['worker_meta'].items():
                if meta.get('secret') and hmac.compare_digest(meta['secret'], doc['secret']):
                    wid = oid
            if wid is None:
                return 400, 'This configuration document was not issued by this Management Node (unknown secret).'
            worker = self.store.get('worker_vm', wid)
            if worker is None:
                return 400, 'The Conferencing Node this document describes has been deleted from the Management Node.'
            if doc['address'] != address or worker['address'] != address:
                return 400, ("This configuration document is for address %s, but this node's address is %s."
                             % (doc['address'] if doc['address'] != address else worker['address'], address))
            record.update(configured=True, worker_vm_id=wid, configured_at=now, running_since=now)
            self.store.worker_meta(wid)['changed_at'] = now
            self.store.save()
            return 200, 'Configuration applied to %s (%s.%s); the node is rebooting and will join the Management Node.' % (
                worker['name'], worker['hostname'], worker['domain'])

    # ----- calls --------------------------------------------------------------------------------------------
    def live_calls(self, now=None):
        now = time.time() if now is None else now
        with self.lock:
            self.calls = [call for call in self.calls if call['end_at'] is None or call['end_at'] > now]
            return list(self.calls)

    def place_calls(self, address, count=1, duration=None, conference=None, protocol='WebRTC', force=False):
        now = time.time()
        with self.lock:
            worker = self.worker_by_address(address)
            if worker is None:
                raise ApiError(400, {'error': 'No Conferencing Node has address %s.' % address})
            if not force:
                if not self.reporting(self.record_for_worker(worker['id']), now):
                    raise ApiError(409, {'error': 'Node %s is not running or has not booted yet.' % address})
                if worker['maintenance_mode']:
                    raise ApiError(409, {'error': 'Node %s is in maintenance mode and accepts no new conferences.' % address})
            if duration is None:
                duration = self.timing['call_duration']
            conference = conference or 'lab-conference'
            created = []
            for index in range(len(self.calls), len(self.calls) + count):
                call = {'id': str(uuid.uuid4()), 'call_uuid': str(uuid.uuid4()), 'address': address, 'conference': conference,
                        'connect_time': now, 'end_at': now + duration if duration else None, 'protocol': protocol,
                        'display_name': 'Lab caller %d' % (index + 1)}
                self.calls.append(call)
                created.append(call)
            return created

    def _end_calls_at(self, address):
        self.calls = [call for call in self.calls if call['address'] != address]

    def end_calls(self, address=None, conference=None):
        with self.lock:
            before = len(self.calls)
            self.calls = [c for c in self.calls if not ((address is None or c['address'] == address)
                                                        and (conference is None or c['conference'] == conference))]
            return before - len(self.calls)

    # ----- faults and the request log ---------------------------------------------------------------------
    def add_fault(self, spec):
        if not isinstance(spec, dict):
            raise ApiError(400, {'error': 'A fault is a JSON object.'})
        fault = {
            'id': str(uuid.uuid4()),
            'target': spec.get('target', 'mgmt'),
            'method': str(spec.get('method', '*')).upper(),
            'path': spec.get('path', '.*'),
            'count': spec.get('count', 1),
            'status': spec.get('status'),
            'retry_after': spec.get('retry_after'),
            'latency': spec.get('latency', 0) or 0,
            'reset': bool(spec.get('reset', False)),
            'body': spec.get('body'),
        }
        try:
            re.compile(fault['path'])
        except (re.error, TypeError) as exc:
            raise ApiError(400, {'error': 'Invalid path regex: %s' % exc}) from None
        if not (fault['target'] in ('mgmt', 'node') or str(fault['target']).startswith('node:')):
            raise ApiError(400, {'error': "target must be 'mgmt', 'node' or 'node:<address>'."})
        if not isinstance(fault['count'], int) or fault['count'] < 0:
            raise ApiError(400, {'error': 'count must be an integer >= 0 (0 = every matching request).'})
        if fault['status'] is not None and (not isinstance(fault['status'], int) or not 100 <= fault['status'] <= 599):
            raise ApiError(400, {'error': 'status must be an HTTP status code.'})
        if not isinstance(fault['latency'], (int, float)) or fault['latency'] < 0:
            raise ApiError(400, {'error': 'latency must be a number of seconds >= 0.'})
        if not (fault['status'] or fault['reset'] or fault['latency']):
            raise ApiError(400, {'error': 'A fault needs a status, reset or latency.'})
        fault['remaining'] = fault['count']
        with self.lock:
            self.faults.append(fault)
        return fault

    def take_fault(self, target, method, full_path):
        """The first fault matching this request, consuming one of its uses."""
        with self.lock:
            for fault in self.faults:
                if not (fault['target'] == target or (fault['target'] == 'node' and target.startswith('node:'))):
                    continue
                if fault['method'] not in ('*', method) or not re.search(fault['path'], full_path):
                    continue
                if fault['count']:
                    fault['remaining'] -= 1
                    if fault['remaining'] <= 0:
                        self.faults.remove(fault)
                return dict(fault)
        return None

    def log_request(self, target, method, full_path, status, fault=None, fields=()):
        with self.lock:
            # Strictly increasing timestamps keep ?since=<ts of the last entry> exact.
            stamp = max(time.time(), self._last_ts + 1e-6)
            self._last_ts = stamp
            entry = {'ts': stamp, 'method': method, 'path': full_path, 'status': status, 'target': target, 'fault': fault,
                     'fields': list(fields)}
            self.requests.append(entry)
            if fields:
                # Kept apart from the request log, which tests clear: the schema conformance check reads every field named.
                self.fields_named.append(entry)

    def request_mark(self):
        with self.lock:
            return self._last_ts

    def request_log(self, since=None):
        with self.lock:
            return [entry for entry in self.requests if since is None or entry['ts'] > since]

    def record_event(self, event, instance_id, reason):
        with self.lock:
            self.events.append({'ts': time.time(), 'event': event, 'instance_id': instance_id, 'reason': reason})
            LOG.info('cloud node %s: %s (%s)', instance_id, event, reason)

    # ----- status -----------------------------------------------------------------------------------------
    def status_objects(self, name, now=None):
        now = time.time() if now is None else now
        with self.lock:
            rows = getattr(status, name)(self, now)
        resource = STATUS_RESOURCES[name]
        for row in rows:
            row['resource_uri'] = resource.uri(row['id'])
        return rows

    @staticmethod
    def node_capacity(worker):
        return status.CAPACITY[worker.get('node_type') or 'CONFERENCING']

    def location_name(self, oid):
        location = self.store.get('system_location', oid)
        return location['name'] if location else None

    def workers_in(self, location_id):
        return [w for w in self.store.sorted_objects('worker_vm') if w['system_location'] == location_id]
