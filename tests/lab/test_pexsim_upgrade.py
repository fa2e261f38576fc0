# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The software upgrade in the simulator: the package, the validate-only step, the Management Node's reboot and
Pexip's rolling upgrade of the Conferencing Nodes (waves of at most 10, live calls, bursting nodes, faults)."""

import time

import pytest
import requests

from conftest import wait_for
from pexsim import upgrade

CMD = '/api/admin/command/v1/platform/upgrade/'
REQ = '/api/admin/configuration/v1/upgrade_request/'
STATUS = '/api/admin/status/v1/'
FAST = {'upgrade_reboot_delay': 0.3, 'upgrade_node_delay': 0.2, 'boot_delay': 0.2, 'sync_delay': 0.1, 'upgrade_call_wait': 1.0}


def _nodes(pexsim, api, count, prefix='cn', bursting=()):
    """``count`` configured, running nodes without EC2: worker_vms with node records (bursting: tagged instances, stopped)."""
    location = api.post('system_location/', json={'name': 'Lab %s' % prefix})
    assert location.status_code == 201, location.text
    uri = location.headers['Location'].split(api.url, 1)[1]
    sim = pexsim.sim
    wids = []
    for index in range(count):
        name = '%s-%02d' % (prefix, index + 1)
        address = '127.30.%d.%d' % (len(prefix), index + 10)
        response = api.post('worker_vm/', json={'name': name, 'hostname': name, 'domain': 'lab.example', 'address': address,
                                                'netmask': '255.255.255.0', 'gateway': '127.30.0.1', 'system_location': uri,
                                                'password': '$6$rounds=5000$salt$hash'})
        assert response.status_code == 201, response.text
        wid = int(response.headers['Location'].rstrip('/').rsplit('/', 1)[1])
        iid = 'i-%s%02d' % (prefix, index)
        stopped = name in bursting
        with sim.lock:
            sim.store.nodes[iid] = {'instance_id': iid, 'private_ip': address, 'state': 'stopped' if stopped else 'running',
                                    'running_since': None if stopped else time.time() - 100, 'last_seen_running': None, 'configured': True,
                                    'worker_vm_id': wid, 'configured_at': 0, 'boot_time': None, 'last_updated': time.time() - 100}
            if stopped:
                sim.instances[iid] = {'id': iid, 'private_ip': address, 'state': 'stopped', 'launch_time': None,
                                      'tags': {'pexip-cloud': sim.bursting_tag_value, 'Name': name}}
        wids.append(wid)
    return wids


def _start(pexsim, iid):
    """What the EC2 watcher does when an instance starts (no moto here)."""
    with pexsim.sim.lock:
        pexsim.sim.instances[iid]['state'] = 'running'
        pexsim.sim.store.nodes[iid].update(state='running', running_since=time.time())


def _fleet(api):
    return {row['name']: row for row in api.get(STATUS + 'worker_vm/?limit=0').json()['objects']}


def _mgmt_version(api):
    return api.get(STATUS + 'management_vm/').json()['objects'][0]['version']


def _upload(api, blob, chunk=10):
    """The lab's chunked upload: follow next_url from the command's answer to finish/."""
    answer = api.post(CMD, json={'request': True, 'total_size': len(blob)})
    assert answer.status_code == 202, answer.text
    body = answer.json()
    assert set(body) == {'ok', 'upload_id', 'timestamp', 'current', 'upgrade', 'next_url'}
    offset = 0
    while body['next_url'].endswith('/upload/'):
        body = api.post(body['next_url'], data=blob[offset:offset + chunk], headers={'Content-Type': 'application/octet-stream'}).json()
        offset += chunk
    return body['next_url']


def _down(pexsim):
    try:
        requests.get(pexsim.url + STATUS + 'management_vm/', auth=('admin', 'pexsim'), verify=pexsim.ca_path, timeout=2)
    except requests.ConnectionError:
        return True
    return False


def test_a_package_the_platform_rejects_is_400_and_nothing_starts(api, pexsim):
    assert 'upgrade' in api.get('/api/admin/command/v1/').json()
    for blob in (b'not a package', upgrade.make_package('34.0.0'), upgrade.make_package('33.1.0')):
        refused = api.post(CMD, files={'package': ('p.tar', blob)})
        assert refused.status_code == 400 and 'package' in refused.json()['upgrade'], refused.text
        finish = _upload(api, blob)
        assert api.post(finish, json={'validate_only': True}).status_code == 400
    assert api.post(CMD, files={'other': ('p.tar', b'x')}).status_code == 400
    assert api.post(CMD, json={'request': True}).status_code == 400
    assert api.get(CMD).status_code == 405
    assert pexsim.sim.upgrade.phase == 'idle' and _mgmt_version(api) == '34.0.0'


def test_validate_only_then_finish_reboots_the_management_node_into_the_new_version(api, pexsim, lab):
    lab.set_timing(**FAST)
    lab.set_upgrade(mgmt_extra_delay=0.5)  # a Management Node that comes back slowly
    blob = upgrade.make_package('35.1.0', size=45)
    finish = _upload(api, blob)
    listed = api.get(REQ).json()['objects']
    assert [(r['state'], r['offset']) for r in listed] == [('UPLOADING', 45)]
    assert set(listed[0]) == {'id', 'uuid', 'state', 'offset', 'current', 'upgrade', 'resource_uri'}
    checked = api.post(finish, json={'validate_only': True})
    assert checked.status_code == 200 and checked.json()['upgrade']['version'] == '35.1.0'
    assert pexsim.sim.upgrade.phase == 'idle' and _mgmt_version(api) == '34.0.0'
    started = time.time()
    assert api.post(finish, json={'validate_only': False}).status_code == 202
    assert _down(pexsim)
    assert lab.upgrade()['phase'] == 'mgmt'  # the lab control API answers throughout
    wait_for(lambda: not _down(pexsim), timeout=5, interval=0.05)
    assert time.time() - started >= 0.8
    assert _mgmt_version(api) == '35.1.0'
    assert None in [e['status'] for e in lab.requests_log(target='mgmt') if e['path'].startswith(STATUS + 'management_vm')]
    # a second upgrade to the same version is refused
    assert api.post(CMD, files={'package': ('p.tar', blob)}).status_code == 400


def test_nodes_upgrade_in_waves_of_at_most_ten_and_keep_their_own_maintenance_mode(api, pexsim, lab):
    lab.set_timing(**FAST)
    wids = _nodes(pexsim, api, 13)
    assert api.patch('worker_vm/%d/' % wids[0], json={'maintenance_mode': True, 'maintenance_mode_reason': 'operator'}).status_code == 202
    assert set(row['version'] for row in _fleet(api).values()) == {'34.0.0'}
    assert api.post(CMD, files={'package': ('p.tar', upgrade.make_package('35.0.0'))}).status_code == 202
    peak = 0

    def done():
        nonlocal peak
        if _down(pexsim):
            return False
        fleet = _fleet(api)
        # only nodes the upgrade put in maintenance count in its waves
        peak = max(peak, sum(1 for n in fleet.values() if n['maintenance_mode'] and n['maintenance_mode_reason'] == upgrade.MAINTENANCE_REASON))
        return all(n['version'] == '35.0.0' and n['upgrade_status'] == 'IDLE' for n in fleet.values())
    assert wait_for(done, timeout=15, interval=0.05)
    assert 1 <= peak <= 10
    fleet = _fleet(api)
    assert fleet['cn-01']['maintenance_mode'] is True and fleet['cn-01']['maintenance_mode_reason'] == 'operator'
    assert not any(n['maintenance_mode'] for name, n in fleet.items() if name != 'cn-01')


def test_a_node_with_a_live_call_waits_is_requeued_after_the_hour_and_upgrades_once_it_clears(api, pexsim, lab):
    lab.set_timing(**FAST)
    _nodes(pexsim, api, 2)
    busy = _fleet(api)['cn-01']
    address = api.get('worker_vm/%d/' % busy['configuration_id']).json()['address']
    lab.place_calls(address, count=1)
    assert api.post(CMD, files={'package': ('p.tar', upgrade.make_package('35.0.0'))}).status_code == 202
    wait_for(lambda: not _down(pexsim) and _fleet(api)['cn-02']['version'] == '35.0.0', timeout=5)
    waiting = _fleet(api)['cn-01']
    assert waiting['version'] == '34.0.0' and waiting['maintenance_mode'] and waiting['media_tokens_used'] == 1
    # the scaled hour: out of maintenance (it takes calls again), back of the queue, then in again
    assert wait_for(lambda: not _fleet(api)['cn-01']['maintenance_mode'], timeout=3, interval=0.02)
    assert wait_for(lambda: _fleet(api)['cn-01']['maintenance_mode'], timeout=3, interval=0.02)
    lab.end_calls(address=address)
    assert wait_for(lambda: _fleet(api)['cn-01']['version'] == '35.0.0' and not _fleet(api)['cn-01']['maintenance_mode'], timeout=5)


def test_a_node_that_never_finishes_stays_in_maintenance_on_the_old_version(api, pexsim, lab):
    lab.set_timing(**FAST)
    _nodes(pexsim, api, 3)
    lab.set_upgrade(stall_nodes=['cn-02'])
    assert api.post(CMD, files={'package': ('p.tar', upgrade.make_package('35.0.0'))}).status_code == 202
    assert wait_for(lambda: not _down(pexsim) and [_fleet(api)[n]['version'] for n in ('cn-01', 'cn-03')] == ['35.0.0'] * 2, timeout=5)
    time.sleep(0.5)
    stuck = _fleet(api)['cn-02']
    assert stuck['version'] == '34.0.0' and stuck['maintenance_mode'] and stuck['upgrade_status'] == 'UPGRADING'
    with pytest.raises(Exception):
        lab.set_upgrade(stall_nodes='cn-02')


def test_a_stopped_node_upgrades_when_started_and_bursting_nodes_after_the_always_on_ones(api, pexsim, lab):
    lab.set_timing(**FAST)
    _nodes(pexsim, api, 2)
    _nodes(pexsim, api, 1, prefix='burst', bursting=('burst-01',))
    starts = []
    pexsim.sim.upgrade.starter = starts.append
    with pexsim.sim.lock:  # cn-02's instance stopped by the operator
        pexsim.sim.store.nodes['i-cn01'].update(state='stopped')
    assert api.post(CMD, files={'package': ('p.tar', upgrade.make_package('35.0.0'))}).status_code == 202
    assert wait_for(lambda: not _down(pexsim) and _fleet(api)['cn-01']['version'] == '35.0.0', timeout=5)
    assert wait_for(lambda: lab.upgrade() and starts == ['i-burst00'], timeout=3)  # the lab API's requests advance the upgrade too
    _start(pexsim, 'i-burst00')
    assert wait_for(lambda: _fleet(api)['burst-01']['version'] == '35.0.0', timeout=5)
    assert _fleet(api)['cn-02']['version'] == '34.0.0' and lab.upgrade()['skipped'] == ['cn-02']
    _start_record = pexsim.sim.store.nodes['i-cn01']
    with pexsim.sim.lock:
        _start_record.update(state='running', running_since=time.time())
    assert wait_for(lambda: _fleet(api)['cn-02']['version'] == '35.0.0', timeout=5)
