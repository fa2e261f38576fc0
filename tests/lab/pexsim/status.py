# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""status/v1 documents, computed from configuration, node records, the EC2 snapshot and live calls.

Each public function is named after its status resource and takes (simulator, now); callers hold the lock.
"""

import datetime
import uuid

# Capacity of one c5.2xlarge Transcoding Conferencing Node (AWS deployment guide); Proxying nodes host no media.
CAPACITY = {'CONFERENCING': {'hd': 17, 'sd': 39, 'audio': 324, 'full_hd': 8}, 'PROXYING': {'hd': 0, 'sd': 0, 'audio': 0, 'full_hd': 0}}
CPU_COUNT = 8
TOTAL_RAM_MIB = 16384
_SHARD_NS = uuid.UUID('6f1c2b4e-4d2a-4c55-9a43-1f0e5b7d9c21')


def iso(timestamp):
    """UTC time as Tastypie renders a naive datetime (no offset)."""
    if timestamp is None:
        return None
    return datetime.datetime.fromtimestamp(timestamp, datetime.timezone.utc).replace(tzinfo=None).isoformat(timespec='microseconds')


def _load(calls, max_hd):
    if max_hd <= 0:
        return 100 if calls else 0
    return min(100, int(round(100.0 * calls / max_hd)))


def _calls_by_address(sim, now):
    counts = {}
    for call in sim.live_calls(now):
        counts[call['address']] = counts.get(call['address'], 0) + 1
    return counts


def node_view(sim, worker, now):
    """Runtime facts about one worker_vm's node: (reporting, boot_time, last_updated, record)."""
    record = sim.record_for_worker(worker['id'])
    if sim.reporting(record, now):
        return True, record['running_since'] + sim.timing['boot_delay'], now, record
    if record:
        return False, record.get('boot_time'), record.get('last_updated'), record
    return False, None, None, None


def worker_vm(sim, now):
    calls = _calls_by_address(sim, now)
    rows = []
    for worker in sim.store.sorted_objects('worker_vm'):
        reporting, boot_time, last_updated, record = node_view(sim, worker, now)
        capacity = sim.node_capacity(worker)
        meta = sim.store.worker_meta(worker['id'])
        if reporting:
            since = max(boot_time, meta.get('changed_at') or 0)
            sync_status = 'SYNCED' if now - since >= sim.timing['sync_delay'] else 'SYNCING'
        else:
            sync_status = 'UNKNOWN'
        live = calls.get(worker['address'], 0) if reporting else 0
        rows.append({
            'id': worker['id'],
            'configuration_id': worker['id'],
            'name': worker['name'],
            'node_type': worker['node_type'],
            'system_location': sim.location_name(worker['system_location']),
            'boot_time': iso(boot_time),
            'last_attempted_contact': iso(now) if record else None,
            'last_updated': iso(last_updated),
            'deploy_status': 'DEPLOYED' if record else 'NOT_DEPLOYED',
            'sync_status': sync_status,
            'upgrade_status': sim.upgrade.node_status(worker['id']),
            'version': sim.upgrade.node_version(worker['id']) if record and (reporting or last_updated) else None,
            'maintenance_mode': worker['maintenance_mode'],
            'maintenance_mode_reason': worker['maintenance_mode_reason'],
            'media_load': _load(live, capacity['hd']) if reporting else 0,
            'media_tokens_used': live,
            'signaling_count': live,
            'max_hd_calls': capacity['hd'],
            'max_sd_calls': capacity['sd'],
            'max_audio_calls': capacity['audio'],
            'max_full_hd_calls': capacity['full_hd'],
            'cpu_count': CPU_COUNT,
            'total_ram': TOTAL_RAM_MIB,
            'hypervisor': 'Amazon EC2',
        })
    return rows


def participant(sim, now):
    rows = []
    for call in sim.live_calls(now):
        worker = sim.worker_by_address(call['address'])
        rows.append({
            'id': call['id'],
            'call_uuid': call['call_uuid'],
            'media_node': call['address'],
            'signalling_node': call['address'],
            'proxy_node': None,
            'conference': call['conference'],
            'system_location': sim.location_name(worker['system_location']) if worker else None,
            'protocol': call['protocol'],
            'role': 'guest',
            'connect_time': iso(call['connect_time']),
        })
    return rows


def conference_shard(sim, now):
    shards = {}
    for call in sim.live_calls(now):
        key = (call['address'], call['conference'])
        shard = shards.get(key)
        if shard is None:
            worker = sim.worker_by_address(call['address'])
            shards[key] = shard = {
                'id': str(uuid.uuid5(_SHARD_NS, '%s|%s' % key)),
                'node': call['address'],
                'conference': call['conference'],
                'system_location': sim.location_name(worker['system_location']) if worker else None,
                'is_started': True,
                'start_time': call['connect_time'],
            }
        shard['start_time'] = min(shard['start_time'], call['connect_time'])
    rows = list(shards.values())
    for row in rows:
        row['start_time'] = iso(row['start_time'])
    return rows


def cloud_nodes(sim):
    """Bursting nodes: EC2 instances tagged pexip-cloud=<tag value> whose private IP is a worker_vm's address."""
    found = []
    for iid in sorted(sim.instances):
        inst = sim.instances[iid]
        if not sim.is_bursting_instance(inst):
            continue
        worker = sim.worker_by_address(inst['private_ip'])
        if worker is not None:
            found.append((inst, worker))
    return found


def location_load(sim, location_id, now):
    """(max_hd_calls, live calls, free_hd_calls) over the reporting nodes of one location."""
    calls = _calls_by_address(sim, now)
    max_hd = used = 0
    for worker in sim.workers_in(location_id):
        reporting = node_view(sim, worker, now)[0]
        if reporting:
            max_hd += sim.node_capacity(worker)['hd']
            used += calls.get(worker['address'], 0)
    return max_hd, used, max(0, max_hd - used)


def overflow_pairs(sim):
    """(monitored location, its primary overflow location) where the overflow location holds bursting nodes."""
    bursting_locations = {worker['system_location'] for _inst, worker in cloud_nodes(sim)}
    return [(loc, sim.store.get('system_location', loc['overflow_location1']))
            for loc in sim.store.sorted_objects('system_location') if loc.get('overflow_location1') in bursting_locations]


def cloud_node(sim, now):
    calls = _calls_by_address(sim, now)
    rows = []
    for inst, worker in cloud_nodes(sim):
        reporting = node_view(sim, worker, now)[0]
        capacity = sim.node_capacity(worker)['hd']
        rows.append({
            'id': inst['id'],
            'cloud_instance_id': inst['id'],
            'cloud_instance_ip': inst['private_ip'],
            'cloud_instance_name': inst['tags'].get('Name', ''),
            'cloud_instance_state': inst['state'],
            'cloud_instance_launch_time': inst['launch_time'],
            'max_hd_calls': capacity if reporting else 0,
            'media_load': _load(calls.get(worker['address'], 0), capacity) if reporting else 0,
            'workervm_configuration_id': worker['id'],
            'workervm_configuration_name': worker['name'],
            'workervm_configuration_location_name': sim.location_name(worker['system_location']),
        })
    return rows


def cloud_monitored_location(sim, now):
    rows = []
    for location, overflow in overflow_pairs(sim):
        max_hd, used, free = location_load(sim, location['id'], now)
        rows.append({'id': location['id'], 'name': location['name'], 'free_hd_calls': free, 'max_hd_calls': max_hd,
                     'media_load': _load(used, max_hd), 'overflow_location': overflow['name']})
    return rows


def cloud_overflow_location(sim, now):
    rows = {}
    for _location, overflow in overflow_pairs(sim):
        if overflow['id'] not in rows:
            max_hd, used, free = location_load(sim, overflow['id'], now)
            rows[overflow['id']] = {'id': overflow['id'], 'name': overflow['name'], 'free_hd_calls': free, 'max_hd_calls': max_hd,
                                    'media_load': _load(used, max_hd), 'systemlocation_id': overflow['id']}
    return [rows[key] for key in sorted(rows)]


def management_vm(sim, now):
    return [{'id': vm['id'], 'name': vm['name'], 'primary': vm['primary'], 'configuration_id': vm['id'], 'version': sim.version,
             'sync_status': 'SYNCED', 'upgrade_status': 'IDLE', 'last_updated': iso(now), 'last_attempted_contact': iso(now)}
            for vm in sim.store.sorted_objects('management_vm')]


def licensing(sim, now):
    totals = {'port': 0, 'audio': 0, 'system': 0, 'vmr': 0}
    for licence in sim.store.objects('licence').values():
        totals[licence['features']] += licence['concurrent']
    counts = {
        'port': len(sim.live_calls(now)),
        'audio': 0,
        'system': len(sim.store.objects('worker_vm')),
        'vmr': sum(1 for c in sim.store.objects('conference').values() if c['service_type'] in ('conference', 'lecture')),
    }
    row = {'id': 1, 'customlayouts_active': False}
    for kind in totals:
        row['%s_count' % kind] = counts[kind]
        row['%s_total' % kind] = totals[kind]
    return [row]


# UNCONFIRMED (docs/lab.md): Pexip's alarm names and levels; the fields are the published ones.
ALARM_NODE_LOST = 'Connectivity lost between nodes'
ALARM_CERT_EXPIRING = 'TLS certificate is about to expire'
CERT_WARNING_DAYS = 30


def alarm(sim, now):
    rows = []
    for worker in sim.store.sorted_objects('worker_vm'):
        reporting, _boot, last_updated, record = node_view(sim, worker, now)
        # A node that reported once and stopped reporting, unless it is a bursting node that Infinity stops on purpose.
        if not reporting and last_updated and not sim.computed('worker_vm', 'cloud_bursting', worker):
            rows.append({'level': 'error', 'name': ALARM_NODE_LOST, 'details': 'No contact with %s (%s) since %s.' % (
                worker['name'], worker['address'], iso(last_updated)), 'instance': worker['name'], 'node': worker['address'],
                'acknowledged': False, 'time_raised': iso(record.get('last_updated') or last_updated)})
    horizon = datetime.datetime.fromtimestamp(now, datetime.timezone.utc).replace(tzinfo=None) + datetime.timedelta(days=CERT_WARNING_DAYS)
    for cert in sim.store.sorted_objects('tls_certificate'):
        if datetime.datetime.fromisoformat(cert['end_date']) <= horizon:
            rows.append({'level': 'warning', 'name': ALARM_CERT_EXPIRING, 'details': "TLS certificate '%s' expires on %s." % (
                cert['subject_name'], cert['end_date']), 'instance': cert['subject_name'], 'node': sim.mgmt_address,
                'acknowledged': False, 'time_raised': iso(now)})
    for index, row in enumerate(rows, 1):
        row['id'] = index
    return rows


def backup_request(sim, now):
    # backup imports this module: imported here, once both are loaded
    from . import backup  # pylint: disable=import-outside-toplevel
    return backup.requests(sim, now)
