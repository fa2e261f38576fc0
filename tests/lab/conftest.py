# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures for the simulator's own tests: moto and the simulator in-process, on free loopback ports."""

import logging
import os
import socket
import sys
import time

import boto3
import pytest
import requests

LAB_DIR = os.path.dirname(os.path.abspath(__file__))
if LAB_DIR not in sys.path:
    sys.path.insert(0, LAB_DIR)

from labctl import LabControl  # noqa: E402  pylint: disable=wrong-import-position
from pexsim import PexSim  # noqa: E402  pylint: disable=wrong-import-position

REGION = 'us-east-1'
logging.getLogger('werkzeug').setLevel(logging.WARNING)  # moto's per-request lines drown the simulator's own log
FAST = {'boot_delay': 0.5, 'sync_delay': 0.2, 'poll_interval': 0.2, 'call_duration': 0}


def free_port(host='127.0.0.1'):
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def wait_for(predicate, timeout=5.0, interval=0.05):
    """Poll ``predicate`` until it returns something truthy; return that value or fail."""
    deadline = time.time() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.time() > deadline:
            raise AssertionError('condition not met within %.1fs' % timeout)
        time.sleep(interval)


class Api:
    """requests against one simulator, with its CA and credentials."""

    def __init__(self, url, ca_path, auth=('admin', 'pexsim')):
        self.url = url
        self.ca_path = ca_path
        self.session = requests.Session()
        self.session.trust_env = False
        self.session.auth = auth

    def request(self, method, path, **kwargs):
        kwargs.setdefault('verify', self.ca_path)
        kwargs.setdefault('timeout', 10)
        if not path.startswith('http'):
            path = self.url + (path if path.startswith('/') else '/api/admin/configuration/v1/' + path)
        return self.session.request(method, path, **kwargs)

    def get(self, path, **kwargs):
        return self.request('GET', path, **kwargs)

    def post(self, path, **kwargs):
        return self.request('POST', path, **kwargs)

    def put(self, path, **kwargs):
        return self.request('PUT', path, **kwargs)

    def patch(self, path, **kwargs):
        return self.request('PATCH', path, **kwargs)

    def delete(self, path, **kwargs):
        return self.request('DELETE', path, **kwargs)


def pytest_configure(config):
    config.addinivalue_line('markers', 'ec2: wire the simulator to the session moto server')


@pytest.fixture(scope='session')
def moto_url():
    from moto.moto_server.threaded_moto_server import ThreadedMotoServer  # pylint: disable=import-outside-toplevel
    server = ThreadedMotoServer(ip_address='127.0.0.1', port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = 'http://%s:%d' % (host, port)
    # The first EC2 call initialises moto's backend (seconds); pay for it here, not inside a timed test. The tests
    # need no public AMIs, so skip loading them; the variable is only read while the backend is built.
    saved = os.environ.get('MOTO_EC2_LOAD_DEFAULT_AMIS')
    os.environ['MOTO_EC2_LOAD_DEFAULT_AMIS'] = 'false'
    try:
        boto3.client('ec2', endpoint_url=url, region_name=REGION, aws_access_key_id='testing', aws_secret_access_key='testing').describe_instances()
    finally:
        if saved is None:
            del os.environ['MOTO_EC2_LOAD_DEFAULT_AMIS']
        else:
            os.environ['MOTO_EC2_LOAD_DEFAULT_AMIS'] = saved
    yield url
    server.stop()


@pytest.fixture(scope='session')
def ec2_client(moto_url):  # pylint: disable=redefined-outer-name
    return boto3.client('ec2', endpoint_url=moto_url, region_name=REGION, aws_access_key_id='testing', aws_secret_access_key='testing')


@pytest.fixture(scope='session')
def lab_vpc(ec2_client):  # pylint: disable=redefined-outer-name
    return ec2_client.create_vpc(CidrBlock='127.20.0.0/16')['Vpc']['VpcId']


_SUBNETS = iter(range(1, 255))


@pytest.fixture
def ec2(ec2_client):  # pylint: disable=redefined-outer-name
    """The moto EC2 client; every instance still alive at the end of the test is terminated."""
    yield ec2_client
    alive = [inst['InstanceId'] for page in ec2_client.get_paginator('describe_instances').paginate()
             for res in page['Reservations'] for inst in res['Instances'] if inst['State']['Name'] != 'terminated']
    if alive:
        ec2_client.terminate_instances(InstanceIds=alive)


@pytest.fixture
def subnet(ec2, lab_vpc):  # pylint: disable=redefined-outer-name
    """A fresh /24 per test (127.20.1.0/24 first), so addresses of earlier tests are never reused."""
    return ec2.create_subnet(VpcId=lab_vpc, CidrBlock='127.20.%d.0/24' % next(_SUBNETS))['Subnet']['SubnetId']


@pytest.fixture(scope='session')
def tls_dir(tmp_path_factory):
    return str(tmp_path_factory.mktemp('pexsim-tls'))


@pytest.fixture(scope='session')
def node_port():
    return free_port()


@pytest.fixture
def pexsim(request, tls_dir, node_port, tmp_path):  # pylint: disable=redefined-outer-name
    """A running simulator with an empty state; tests marked ``ec2`` get it wired to moto."""
    aws_url = request.getfixturevalue('moto_url') if request.node.get_closest_marker('ec2') else None
    if aws_url:
        request.getfixturevalue('ec2')
    server = PexSim(listen='127.0.0.1:0', state_file=str(tmp_path / 'state.json'), tls_dir=tls_dir, aws_url=aws_url,
                    node_port=node_port, timing=dict(FAST)).start()
    yield server
    server.stop()


@pytest.fixture
def api(pexsim):  # pylint: disable=redefined-outer-name
    return Api(pexsim.url, pexsim.ca_path)


@pytest.fixture
def lab(pexsim):  # pylint: disable=redefined-outer-name
    return LabControl(pexsim.url, pexsim.ca_path)


class Helpers:
    """Building blocks shared by the tests: locations, instances, worker_vms, uploads, waiting."""

    def __init__(self, request, api, node_port):  # pylint: disable=redefined-outer-name
        self.request = request
        self.api = api
        self.node_port = node_port
        self.node_ca = os.path.join(os.path.dirname(api.ca_path), 'node-ca.pem')
        self.wait_for = wait_for

    def location(self, name, **fields):
        response = self.api.post('system_location/', json=dict(fields, name=name))
        assert response.status_code == 201, response.text
        return response.headers['Location'].split(self.api.url, 1)[1]

    def launch(self, tags=None):
        """run_instances in the lab subnet; returns (instance id, private IP)."""
        kwargs = {}
        if tags:
            kwargs['TagSpecifications'] = [{'ResourceType': 'instance', 'Tags': [{'Key': k, 'Value': v} for k, v in tags.items()]}]
        ec2, subnet = self.request.getfixturevalue('ec2'), self.request.getfixturevalue('subnet')
        inst = ec2.run_instances(ImageId='ami-12c6146b', MinCount=1, MaxCount=1, SubnetId=subnet, InstanceType='c5.2xlarge',
                                 **kwargs)['Instances'][0]
        return inst['InstanceId'], inst['PrivateIpAddress']

    @staticmethod
    def worker_body(name, address, location_uri, **fields):
        body = {'name': name, 'hostname': name, 'domain': 'lab.example', 'address': address, 'netmask': '255.255.255.0',
                'gateway': '127.20.1.1', 'system_location': location_uri, 'password': '$6$rounds=5000$salt$hash',
                'deployment_type': 'MANUAL-PROVISION-ONLY'}
        body.update(fields)
        return body

    def worker(self, name, address, location_uri, **fields):
        """Create a worker_vm; returns (id, bootstrap document bytes)."""
        response = self.api.post('worker_vm/', json=self.worker_body(name, address, location_uri, **fields))
        assert response.status_code == 201, response.text
        return int(response.headers['Location'].rstrip('/').rsplit('/', 1)[1]), response.content

    def node_url(self, address, path='/'):
        return 'https://%s:%d%s' % (address, self.node_port, path)

    def wait_listening(self, address, timeout=5.0):
        def probe():
            try:
                with socket.create_connection((address, self.node_port), timeout=0.5):
                    return True
            except OSError:
                return False
        return wait_for(probe, timeout)

    def upload(self, address, document, **kwargs):
        kwargs.setdefault('headers', {'Content-Type': 'text/xml'})
        return requests.post(self.node_url(address, '/configuration/bootstrap'), data=document, verify=self.node_ca, timeout=10, **kwargs)

    def status(self, wid):
        response = self.api.get('/api/admin/status/v1/worker_vm/%d/' % wid)
        return response.json() if response.status_code == 200 else None

    def deploy(self, name, location_uri, tags=None, wait=True, **fields):
        """Launch an instance, create its worker_vm, upload the document and (by default) wait until the node reports."""
        iid, address = self.launch(tags)
        wid, document = self.worker(name, address, location_uri, **fields)
        self.wait_listening(address)
        response = self.upload(address, document)
        assert response.status_code == 200, response.text
        if wait:
            self.wait_reporting(wid)
        return iid, address, wid

    def wait_status(self, wid, predicate, timeout=5.0):
        """Wait until the status worker_vm of ``wid`` satisfies ``predicate``; return that status."""
        found = {}

        def check():
            found['status'] = self.status(wid)
            return found['status'] is not None and predicate(found['status'])
        wait_for(check, timeout)
        return found['status']

    def wait_reporting(self, *wids):
        for wid in wids:
            wait_for(lambda wid=wid: (self.status(wid) or {}).get('last_updated'), 5)


@pytest.fixture
def helpers(request, api, node_port):  # pylint: disable=redefined-outer-name
    return Helpers(request, api, node_port)
