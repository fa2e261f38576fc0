# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Conferencing Nodes driven through moto: the :8443 bootstrap page, boot/stop/start, status, cloud bursting."""

import ipaddress
import socket
import time

import pytest
import requests
from labctl import LabError

STATUS = '/api/admin/status/v1/'
pytestmark = pytest.mark.ec2


def _port_closed(address, port):
    try:
        with socket.create_connection((address, port), timeout=0.5):
            return False
    except OSError:
        return True


def test_boot_stop_start_cycle(api, helpers, ec2, node_port):
    loc = helpers.location('Oslo')
    iid, address = helpers.launch()
    assert ipaddress.ip_address(address) in ipaddress.ip_network('127.20.0.0/16')
    wid, document = helpers.worker('conf-1', address, loc)
    status = helpers.status(wid)
    assert status['last_updated'] is None and status['boot_time'] is None and status['deploy_status'] == 'NOT_DEPLOYED'
    assert status['name'] == 'conf-1' and status['system_location'] == 'Oslo' and status['configuration_id'] == wid
    assert status['hypervisor'] == 'Amazon EC2' and status['max_hd_calls'] == 17 and status['max_sd_calls'] == 39
    assert status['max_audio_calls'] == 324

    helpers.wait_listening(address)
    page = requests.get(helpers.node_url(address), verify=helpers.node_ca, timeout=5)
    assert page.status_code == 200 and 'name="file"' in page.text and 'action="/configuration/bootstrap"' in page.text

    uploaded = time.time()
    response = helpers.upload(address, document)
    assert response.status_code == 200, response.text
    assert helpers.status(wid)['last_updated'] is None, 'the node reports only after its boot delay'
    helpers.wait_for(lambda: helpers.status(wid)['last_updated'])
    assert time.time() - uploaded >= 0.5
    status = helpers.wait_status(wid, lambda s: s['sync_status'] == 'SYNCED')
    first_boot = status['boot_time']
    assert status['deploy_status'] == 'DEPLOYED' and status['version']
    assert 'is configured' in requests.get(helpers.node_url(address), verify=helpers.node_ca, timeout=5).text

    ec2.stop_instances(InstanceIds=[iid])
    helpers.wait_for(lambda: _port_closed(address, node_port))
    helpers.wait_for(lambda: helpers.status(wid)['sync_status'] == 'UNKNOWN')
    stale = helpers.status(wid)['last_updated']
    time.sleep(0.3)
    assert helpers.status(wid)['last_updated'] == stale, 'last_updated stays frozen while the instance is stopped'
    assert helpers.status(wid)['boot_time'] == first_boot

    ec2.start_instances(InstanceIds=[iid])
    helpers.wait_listening(address)
    status = helpers.wait_status(wid, lambda s: s['last_updated'] != stale)
    assert status['boot_time'] > first_boot
    assert status['last_updated'] > stale


def test_multipart_upload_and_second_upload_refused(helpers):
    loc = helpers.location('Oslo')
    _iid, address = helpers.launch()
    wid, document = helpers.worker('conf-1', address, loc)
    helpers.wait_listening(address)
    response = requests.post(helpers.node_url(address, '/configuration/bootstrap'), files={'file': ('pexip-conf-1.xml', document, 'text/xml')},
                             verify=helpers.node_ca, timeout=5)
    assert response.status_code == 200, response.text
    again = helpers.upload(address, document)
    assert again.status_code == 409 and 'already configured' in again.text
    helpers.wait_for(lambda: helpers.status(wid)['last_updated'])


def test_bad_uploads_get_400(api, helpers):
    loc = helpers.location('Oslo')
    _iid, address = helpers.launch()
    _iid2, other = helpers.launch()
    wid, document = helpers.worker('conf-1', address, loc)
    _wid2, other_document = helpers.worker('conf-2', other, loc, hostname='conf-2')
    helpers.wait_listening(address)

    wrong = helpers.upload(address, other_document)
    assert wrong.status_code == 400 and other in wrong.text
    garbage = helpers.upload(address, b'this is not xml')
    assert garbage.status_code == 400 and 'Invalid configuration document' in garbage.text
    forged = helpers.upload(address, document.replace(document.split(b'<secret>')[1].split(b'</secret>')[0], b'0' * 48))
    assert forged.status_code == 400 and 'not issued' in forged.text
    empty_form = requests.post(helpers.node_url(address, '/configuration/bootstrap'), files={'other': ('x.xml', document)},
                               verify=helpers.node_ca, timeout=5)
    assert empty_form.status_code == 400
    assert api.delete('worker_vm/%d/' % wid).status_code == 204
    deleted = helpers.upload(address, document)
    assert deleted.status_code == 400 and 'deleted' in deleted.text
    assert requests.get(helpers.node_url(address, '/nowhere'), verify=helpers.node_ca, timeout=5).status_code == 404
    assert requests.get(helpers.node_url(address, '/configuration/bootstrap'), verify=helpers.node_ca, timeout=5).status_code == 405


def test_config_changes_resync_and_maintenance_mode(api, helpers, lab):
    loc = helpers.location('Oslo')
    _iid, address, wid = helpers.deploy('conf-1', loc)
    helpers.wait_for(lambda: helpers.status(wid)['sync_status'] == 'SYNCED')
    lab.set_timing(sync_delay=1.0)
    assert api.patch('worker_vm/%d/' % wid, json={'maintenance_mode': True, 'maintenance_mode_reason': 'draining'}).status_code == 202
    status = helpers.status(wid)
    assert status['maintenance_mode'] is True and status['maintenance_mode_reason'] == 'draining'
    assert status['sync_status'] == 'SYNCING'
    lab.set_timing(sync_delay=0.2)
    helpers.wait_for(lambda: helpers.status(wid)['sync_status'] == 'SYNCED')
    # Maintenance mode: the node takes no new calls.
    with pytest.raises(LabError) as refused:
        lab.place_calls(address)
    assert refused.value.status == 409
    # Moving the node to another location restarts it: a new boot time, its calls dropped.
    api.patch('worker_vm/%d/' % wid, json={'maintenance_mode': False})
    lab.place_calls(address, count=2)
    boot = helpers.status(wid)['boot_time']
    other = helpers.location('Bergen')
    api.patch('worker_vm/%d/' % wid, json={'system_location': other})
    assert lab.calls() == []
    status = helpers.wait_status(wid, lambda s: s['boot_time'] != boot and s['last_updated'])
    assert status['system_location'] == 'Bergen'


def test_deleted_worker_disappears_from_status(api, helpers):
    loc = helpers.location('Oslo')
    _iid, _address, wid = helpers.deploy('conf-1', loc)
    assert helpers.status(wid) is not None
    api.delete('worker_vm/%d/' % wid)
    assert api.get(STATUS + 'worker_vm/').json()['meta']['total_count'] == 0


def test_calls_show_in_status(api, helpers, lab):
    loc = helpers.location('Oslo')
    _iid, address, wid = helpers.deploy('conf-1', loc)
    ids = lab.place_calls(address, count=3, conference='weekly')
    lab.place_calls(address, count=1, duration=0.3, conference='short')
    participants = api.get(STATUS + 'participant/?conference=weekly').json()
    assert participants['meta']['total_count'] == 3
    row = participants['objects'][0]
    assert row['media_node'] == address and row['signalling_node'] == address and row['system_location'] == 'Oslo'
    assert {o['id'] for o in participants['objects']} == set(ids)
    shards = api.get(STATUS + 'conference_shard/').json()['objects']
    assert sorted((s['node'], s['conference'], s['is_started']) for s in shards) == [(address, 'short', True), (address, 'weekly', True)]
    assert helpers.status(wid)['media_load'] == round(100 * 4 / 17)
    helpers.wait_for(lambda: api.get(STATUS + 'participant/').json()['meta']['total_count'] == 3, timeout=3)
    assert api.get(STATUS + 'conference_shard/?node=%s' % address).json()['meta']['total_count'] == 1
    assert lab.end_calls(address=address) == 3
    assert api.get(STATUS + 'conference_shard/').json()['objects'] == []


def test_stopping_a_node_drops_its_calls(helpers, lab, ec2):
    loc = helpers.location('Oslo')
    iid, address, _wid = helpers.deploy('conf-1', loc)
    lab.place_calls(address, count=2)
    ec2.stop_instances(InstanceIds=[iid])
    helpers.wait_for(lambda: lab.calls() == [])
    with pytest.raises(LabError) as refused:
        lab.place_calls(address)
    assert refused.value.status == 409
    assert lab.place_calls(address, force=True)


def test_cloud_bursting_status_and_start_cloudnode(api, helpers, lab, ec2):
    primary = helpers.location('Oslo')
    burst = helpers.location('AWS burst')
    api.patch(primary, json={'overflow_location1': burst})
    _iid, always_on, first = helpers.deploy('always-on', primary, wait=False)
    burst_iid, burst_ip, burst_wid = helpers.deploy('burst-1', burst, tags={'pexip-cloud': 'mgr-lab', 'Name': 'burst-1'},
                                                    enable_distributed_database=False, wait=False)
    _other_iid, _other_ip, other = helpers.deploy('untagged', burst, tags={'pexip-cloud': 'some-other-manager'}, wait=False)
    helpers.wait_reporting(first, burst_wid, other)
    assert api.get('worker_vm/%d/' % burst_wid).json()['cloud_bursting'] is True
    ec2.stop_instances(InstanceIds=[burst_iid])
    helpers.wait_for(lambda: api.get(STATUS + 'cloud_node/').json()['objects'][0]['cloud_instance_state'] == 'stopped')
    node = api.get(STATUS + 'cloud_node/').json()
    assert node['meta']['total_count'] == 1
    row = node['objects'][0]
    assert row['cloud_instance_id'] == burst_iid and row['cloud_instance_ip'] == burst_ip and row['cloud_instance_name'] == 'burst-1'
    assert row['workervm_configuration_name'] == 'burst-1' and row['workervm_configuration_location_name'] == 'AWS burst'
    lab.place_calls(always_on, count=5)
    monitored = api.get(STATUS + 'cloud_monitored_location/').json()['objects']
    assert monitored == [{'id': 1, 'name': 'Oslo', 'free_hd_calls': 12, 'max_hd_calls': 17, 'media_load': 29, 'overflow_location': 'AWS burst',
                          'resource_uri': STATUS + 'cloud_monitored_location/1/'}]
    overflow = api.get(STATUS + 'cloud_overflow_location/').json()['objects']
    # Only the untagged node (always running) counts until the bursting node is up.
    assert [(o['name'], o['systemlocation_id'], o['max_hd_calls']) for o in overflow] == [('AWS burst', 2, 17)]

    assert api.post('/api/admin/command/v1/platform/start_cloudnode/', json={'instance_id': 'i-00000000'}).status_code == 400
    assert api.post('/api/admin/command/v1/platform/start_cloudnode/', json={}).status_code == 400
    response = api.post('/api/admin/command/v1/platform/start_cloudnode/', json={'instance_id': burst_iid})
    assert response.status_code == 202 and response.json()['status'] == 'success'
    helpers.wait_for(lambda: helpers.status(burst_wid)['sync_status'] == 'SYNCED')
    assert api.get(STATUS + 'cloud_overflow_location/').json()['objects'][0]['max_hd_calls'] == 34


def test_automatic_bursting_starts_and_stops_overflow_nodes(api, helpers, lab, ec2):
    primary = helpers.location('Oslo')
    burst = helpers.location('AWS burst')
    api.patch(primary, json={'overflow_location1': burst})
    _iid, always_on, first = helpers.deploy('always-on', primary, wait=False)
    burst_iid, _burst_ip, burst_wid = helpers.deploy('burst-1', burst, tags={'pexip-cloud': 'mgr-lab'}, wait=False)
    helpers.wait_reporting(first, burst_wid)
    ec2.stop_instances(InstanceIds=[burst_iid])
    lab.set_timing(minute_seconds=0.1)
    assert api.patch('global/1/', json={'bursting_enabled': True, 'bursting_threshold': 5, 'bursting_min_lifetime': 5}).status_code == 202
    helpers.wait_for(lambda: helpers.status(burst_wid)['sync_status'] == 'UNKNOWN')
    time.sleep(0.5)
    assert not [e for e in lab.events() if e['event'] == 'start'], 'plenty of capacity: nothing starts'
    lab.place_calls(always_on, count=12)  # 17 - 12 = 5 free HD calls: at the threshold
    helpers.wait_for(lambda: [e for e in lab.events() if e['event'] == 'start' and e['instance_id'] == burst_iid])
    helpers.wait_for(lambda: helpers.status(burst_wid)['sync_status'] == 'SYNCED')
    # Demand goes away; once idle for the minimum lifetime (5 x 0.1 s) the node is stopped again.
    lab.end_calls()
    helpers.wait_for(lambda: [e for e in lab.events() if e['event'] == 'stop' and e['instance_id'] == burst_iid], timeout=5)
    state = ec2.describe_instances(InstanceIds=[burst_iid])['Reservations'][0]['Instances'][0]['State']['Name']
    assert state in ('stopping', 'stopped')


def test_a_new_instance_at_a_terminated_nodes_address_takes_an_upload_before_the_next_poll():
    """EC2 may give a terminated instance's private address to the next one (replace_node relies on it). Until the
    watcher's next poll the simulator still holds the old, configured, node at that address: the upload must read EC2
    first instead of refusing as that node would ("already configured")."""
    from pexsim.httpbase import Request  # pylint: disable=import-outside-toplevel
    from pexsim.nodes import NodeApp  # pylint: disable=import-outside-toplevel
    from pexsim.sim import Simulator  # pylint: disable=import-outside-toplevel

    sim = Simulator()
    address = '127.20.1.4'

    def instance(state):
        return {'private_ip': address, 'state': state, 'tags': {}}

    sim.apply_snapshot({'i-old': instance('running')})
    sim.record_by_ip(address)['configured'] = True
    polls = []
    sim.refresh = lambda: polls.append(sim.apply_snapshot({'i-new': instance('running')}))
    request = Request('POST', '/configuration/bootstrap', {'Content-Type': 'text/xml'}, b'not a document', '127.0.0.1')
    response = NodeApp(sim, address).dispatch(request)
    # The new instance's page: the document itself is looked at (and refused as no document), not the old node's state.
    assert len(polls) == 1 and response.status == 400 and b'Invalid configuration document' in response.body, response.body
