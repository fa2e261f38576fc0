# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lab control API (faults, request log, timing, reset), TLS trust, and the simulator as a process."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import requests
from labctl import LabControl, LabError
from pexsim import PexSim

LAB_DIR = os.path.dirname(os.path.abspath(__file__))
CFG = '/api/admin/configuration/v1/'


# ----- faults ------------------------------------------------------------------------------------------------

def test_503_for_the_next_two_requests(api, lab):
    lab.inject_fault(path='system_location', method='GET', count=2, status=503)
    assert [api.get('system_location/').status_code for attempt in range(3)] == [503, 503, 200]
    assert lab.faults() == []


def test_fault_matches_method_and_path_only(api, lab):
    lab.inject_fault(path=r'worker_vm/$', method='POST', count=1, status=500, body={'error': 'boom'})
    assert api.get('worker_vm/').status_code == 200
    assert api.post('system_location/', json={'name': 'Oslo'}).status_code == 201
    response = api.post('worker_vm/', json={})
    assert response.status_code == 500 and response.json() == {'error': 'boom'}
    assert api.post('worker_vm/', json={}).status_code == 400


def test_429_with_retry_after(api, lab):
    lab.inject_fault(status=429, retry_after=1)
    response = api.get('global/1/')
    assert response.status_code == 429 and response.headers['Retry-After'] == '1'
    assert api.get('global/1/').status_code == 200


def test_faults_come_before_authentication(lab, pexsim):
    lab.inject_fault(status=503)
    assert requests.get(pexsim.url + CFG, verify=pexsim.ca_path, timeout=5).status_code == 503


def test_latency(api, lab):
    lab.inject_fault(latency=0.5)
    started = time.time()
    assert api.get('global/1/').status_code == 200
    assert time.time() - started >= 0.5


def test_reset_drops_the_connection(api, lab):
    lab.inject_fault(reset=True, path='dns_server')
    with pytest.raises(requests.ConnectionError):
        api.get('dns_server/')
    assert api.get('dns_server/').status_code == 200


def test_unlimited_fault_until_cleared(api, lab):
    lab.inject_fault(status=502, count=0)
    assert [api.get('global/1/').status_code for attempt in range(3)] == [502, 502, 502]
    assert lab.clear_faults() == 1
    assert api.get('global/1/').status_code == 200


@pytest.mark.parametrize('spec', [{'path': '('}, {'status': 99}, {'count': -1}, {'latency': -1}, {'target': 'moon', 'status': 500}, {}])
def test_bad_fault_specs_are_refused(lab, spec):
    body = {'status': 500}
    body.update(spec)
    if not spec:
        body = {}
    with pytest.raises(LabError) as error:
        lab._call('POST', '/_lab/faults', body)  # pylint: disable=protected-access
    assert error.value.status == 400


@pytest.mark.ec2
def test_node_faults(helpers, lab):
    _iid, address = helpers.launch()
    helpers.wait_listening(address)
    lab.inject_fault(target='node', status=503)
    assert requests.get(helpers.node_url(address), verify=helpers.node_ca, timeout=5).status_code == 503
    assert requests.get(helpers.node_url(address), verify=helpers.node_ca, timeout=5).status_code == 200
    log = lab.requests_log(target='node:%s' % address)
    assert [entry['status'] for entry in log] == [503, 200] and log[0]['fault'] == 'status'


# ----- request log -------------------------------------------------------------------------------------------

def test_request_log(api, lab):
    lab.clear_log()
    api.get('system_location/?name=x')
    api.post('system_location/', json={'name': 'Oslo'})
    requests.get(api.url + CFG, verify=api.ca_path, timeout=5)  # unauthenticated
    log = lab.requests_log()
    assert [(e['method'], e['path'], e['status'], e['target']) for e in log] == [
        ('GET', CFG + 'system_location/?name=x', 200, 'mgmt'),
        ('POST', CFG + 'system_location/', 201, 'mgmt'),
        ('GET', CFG, 401, 'mgmt'),
    ]
    assert all(isinstance(entry['ts'], float) for entry in log)
    since = log[1]['ts']
    assert [e['status'] for e in lab.requests_log(since=since)] == [401]
    mark = lab.last_ts()  # GET /_lab/requests/mark: the last request's ts, without reading the log
    assert mark == log[-1]['ts'] and lab.requests_log(since=mark) == []
    api.get('system_location/?name=y')
    assert [e['path'] for e in lab.requests_log(since=mark)] == [CFG + 'system_location/?name=y']
    assert [e['method'] for e in lab.writes()] == ['POST']
    lab.timing()  # control API calls are not logged
    assert len(lab.requests_log()) == 4
    assert lab.clear_log() == 4
    assert lab.requests_log() == []


def test_request_log_records_faults(api, lab):
    lab.clear_log()
    lab.inject_fault(reset=True)
    with pytest.raises(requests.ConnectionError):
        api.get('global/1/')
    entry = lab.requests_log()[-1]
    assert entry['status'] is None and entry['fault'] == 'reset'


# ----- timing, reset, calls ------------------------------------------------------------------------------------

def test_timing_knobs(lab):
    timing = lab.set_timing(boot_delay=3, sync_delay=0.5, call_duration=10)
    assert (timing['boot_delay'], timing['sync_delay'], timing['call_duration']) == (3, 0.5, 10)
    assert lab.timing()['boot_delay'] == 3
    for bad in ({'boot_delay': -1}, {'warp': 1}, {'poll_interval': 0}, {'strict_fields': 'yes'}):
        with pytest.raises(LabError):
            lab.set_timing(**bad)


def test_reset_wipes_configuration(api, lab):
    api.post('system_location/', json={'name': 'Oslo'})
    api.patch('global/1/', json={'bursting_enabled': True})
    lab.reset()
    assert api.get('system_location/').json()['meta']['total_count'] == 0
    assert api.get('global/1/').json()['bursting_enabled'] is False
    assert api.post('system_location/', json={'name': 'Oslo'}).headers['Location'].endswith('/system_location/1/')


def test_calls_need_a_known_node(api, lab):
    with pytest.raises(LabError) as error:
        lab.place_calls('127.99.0.1')
    assert error.value.status == 400
    api.post('system_location/', json={'name': 'Oslo'})
    api.post('worker_vm/', json={'name': 'n', 'hostname': 'n', 'domain': 'd', 'address': '127.99.0.2', 'netmask': '255.0.0.0',
                                 'gateway': '127.0.0.1', 'system_location': CFG + 'system_location/1/', 'password': 'x'})
    with pytest.raises(LabError) as error:
        lab.place_calls('127.99.0.2')
    assert error.value.status == 409, 'a node that never booted takes no calls'
    ids = lab.place_calls('127.99.0.2', count=2, duration=0.2, force=True)
    assert len(ids) == 2 and len(lab.calls()) == 2
    time.sleep(0.3)
    assert lab.calls() == []
    with pytest.raises(LabError):
        lab.place_calls('127.99.0.2', count=0, force=True)


def test_unknown_lab_endpoints(lab):
    with pytest.raises(LabError) as error:
        lab._call('GET', '/_lab/nothing')  # pylint: disable=protected-access
    assert error.value.status == 404
    with pytest.raises(LabError) as error:
        lab._call('PUT', '/_lab/calls')  # pylint: disable=protected-access
    assert error.value.status == 405
    with pytest.raises(LabError) as error:
        lab.poll()
    assert error.value.status == 400, 'no EC2 endpoint in this simulator'


# ----- TLS -------------------------------------------------------------------------------------------------------

def test_certificate_trust(pexsim):
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(pexsim.url + '/_lab/', verify=True, timeout=5)
    assert requests.get(pexsim.url + '/_lab/', verify=pexsim.ca_path, timeout=5).status_code == 200
    assert requests.get(pexsim.url.replace('127.0.0.1', 'localhost') + '/_lab/', verify=pexsim.ca_path, timeout=5).status_code == 200


@pytest.mark.ec2
def test_node_certificate_is_not_signed_by_the_lab_ca(helpers, pexsim):
    _iid, address = helpers.launch()
    helpers.wait_listening(address)
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(helpers.node_url(address), verify=pexsim.ca_path, timeout=5)
    assert requests.get(helpers.node_url(address), verify=helpers.node_ca, timeout=5).status_code == 200
    assert requests.get(helpers.node_url(address), verify=os.path.join(pexsim.tls_dir, 'bundle.pem'), timeout=5).status_code == 200


# ----- the process -----------------------------------------------------------------------------------------------

def _start_process(tmp_path, port, extra=()):
    env = dict(os.environ, PYTHONPATH=LAB_DIR, PEXSIM_PASSWORD='s3cret')
    proc = subprocess.Popen(  # pylint: disable=consider-using-with
        [sys.executable, '-m', 'pexsim', '--listen', '127.0.0.1:%d' % port, '--state-file', str(tmp_path / 'state.json'),
         '--tls-dir', str(tmp_path / 'tls'), '--pid-file', str(tmp_path / 'pexsim.pid'), '--log-file', str(tmp_path / 'pexsim.log')] + list(extra),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
    line = proc.stdout.readline()
    assert line.strip() == 'ready', (line, proc.stderr.read() if proc.poll() is not None else '')
    return proc


def _stop_process(proc):
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_state_survives_a_restart(tmp_path):
    from conftest import Api, free_port  # pylint: disable=import-outside-toplevel
    port = free_port()
    proc = _start_process(tmp_path, port, ['--mgmt-hostname', 'mgr-test'])
    try:
        assert (tmp_path / 'pexsim.pid').read_text().strip() == str(proc.pid)
        api = Api('https://127.0.0.1:%d' % port, str(tmp_path / 'tls' / 'ca.pem'), auth=('admin', 's3cret'))
        assert api.post('system_location/', json={'name': 'Oslo'}).status_code == 201
        api.patch('global/1/', json={'bursting_threshold': 7, 'aws_secret_key': 'hidden'})
        api.post('worker_vm/', json={'name': 'n', 'hostname': 'n', 'domain': 'd', 'address': '127.99.0.2', 'netmask': '255.0.0.0',
                                     'gateway': '127.0.0.1', 'system_location': CFG + 'system_location/1/', 'password': 'x',
                                     'deployment_type': 'MANUAL-PROVISION-ONLY'})
    finally:
        assert _stop_process(proc) == 0
    assert not (tmp_path / 'pexsim.pid').exists()
    saved = json.loads((tmp_path / 'state.json').read_text())
    assert saved['objects']['system_location']['1']['name'] == 'Oslo'
    assert 'ready' in (tmp_path / 'pexsim.log').read_text()

    proc = _start_process(tmp_path, port, ['--mgmt-hostname', 'mgr-test'])
    try:
        assert api.get('system_location/1/').json()['name'] == 'Oslo'
        assert api.get('global/1/').json()['bursting_threshold'] == 7
        assert api.get('management_vm/?primary=true').json()['objects'][0]['hostname'] == 'mgr-test'  # the bursting tag value
        assert api.get('worker_vm/1/').json()['address'] == '127.99.0.2'
        assert api.post('system_location/', json={'name': 'Bergen'}).headers['Location'].endswith('/system_location/2/')
        control = LabControl('https://127.0.0.1:%d' % port, str(tmp_path / 'tls' / 'ca.pem'))
        assert control.timing()['boot_delay'] == 2
    finally:
        assert _stop_process(proc) == 0


def test_refuses_non_loopback_addresses(tmp_path):
    for kwargs in ({'listen': '0.0.0.0:9443'}, {'listen': '192.0.2.1:9443'}, {'listen': '127.0.0.1:0', 'aws_url': 'http://198.51.100.7:5000'}):
        with pytest.raises(ValueError, match='loopback'):
            PexSim(tls_dir=str(tmp_path / 'tls'), **kwargs)
    result = subprocess.run([sys.executable, '-m', 'pexsim', '--tls-dir', str(tmp_path / 'tls'), '--listen', '0.0.0.0:9443'],
                            env=dict(os.environ, PYTHONPATH=LAB_DIR), capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode == 2 and 'loopback' in result.stderr
