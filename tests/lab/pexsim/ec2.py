# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The EC2 side: a watcher that polls moto, keeps the node servers in step, and runs the bursting rules."""

import json
import logging
import os
import threading
import time
import urllib.error
import urllib.request
from urllib.parse import urlencode, urlsplit

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from . import status
from .sim import is_loopback

LOG = logging.getLogger('pexsim.ec2')


def lab_regions():
    """The regions whose instances the simulator plays: the platform's (AWS_REGION) first, then those of
    LAB_EC2_REGIONS (comma-separated), for a fleet over several regions under one Management Node."""
    regions = [os.environ.get('AWS_REGION') or os.environ.get('AWS_DEFAULT_REGION') or 'us-east-1']
    for region in (os.environ.get('LAB_EC2_REGIONS') or '').split(','):
        if region.strip() and region.strip() not in regions:
            regions.append(region.strip())
    return regions


def make_client(aws_url, region=None):
    host = urlsplit(aws_url).hostname or ''
    if host != 'localhost' and not is_loopback(host):
        # The lab must never talk to a real AWS endpoint (or anything off this machine).
        raise ValueError('--aws-url must point at a loopback address, got %r' % aws_url)
    # Explicit keys: without them boto3 would go looking for instance metadata off-host.
    return boto3.client(
        'ec2', endpoint_url=aws_url,
        region_name=region or lab_regions()[0],
        aws_access_key_id=os.environ.get('AWS_ACCESS_KEY_ID') or 'testing',
        aws_secret_access_key=os.environ.get('AWS_SECRET_ACCESS_KEY') or 'testing',
        config=Config(retries={'max_attempts': 2, 'mode': 'standard'}, connect_timeout=2, read_timeout=10))


# Terminated instances are left out, as AWS soon does: an instance missing from a snapshot is gone (apply_snapshot), and
# moto keeps every terminated instance, so listing them made each poll of a long test session slower than the last.
LIVE_STATES = ['pending', 'running', 'shutting-down', 'stopping', 'stopped']


def describe(client):
    """The live instances by id. moto_lab answers ``/_lab/instances`` from its memory (a DescribeInstances per poll
    cost an idle lab with 30 instances about 13 % of a core); any other EC2 endpoint is asked DescribeInstances."""
    query = urlencode({'region': client.meta.region_name, 'state': LIVE_STATES}, doseq=True)
    url = '%s/_lab/instances?%s' % (client.meta.endpoint_url.rstrip('/'), query)
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:  # noqa: S310 (loopback only: make_client checked it)
            found = json.loads(answer.read().decode('utf-8'))
    except (urllib.error.URLError, ValueError, OSError):
        return describe_instances(client)
    return {inst['id']: dict(inst, launch_time=status.iso(inst['launch_time']) if inst['launch_time'] is not None else None)
            for inst in found}


def describe_instances(client):
    snapshot = {}
    pages = client.get_paginator('describe_instances').paginate(Filters=[{'Name': 'instance-state-name', 'Values': LIVE_STATES}])
    for page in pages:
        for reservation in page.get('Reservations', []):
            for inst in reservation.get('Instances', []):
                launch = inst.get('LaunchTime')
                snapshot[inst['InstanceId']] = {
                    'id': inst['InstanceId'],
                    'state': inst.get('State', {}).get('Name'),
                    'private_ip': inst.get('PrivateIpAddress'),
                    'tags': {tag['Key']: tag['Value'] for tag in inst.get('Tags', [])},
                    'image_id': inst.get('ImageId'),
                    'key_name': inst.get('KeyName'),
                    'public_ip': inst.get('PublicIpAddress'),
                    'launch_time': status.iso(launch.timestamp()) if launch else None,
                }
    return snapshot


def bursting_actions(sim, now):
    """Decide which cloud nodes to start or stop this round: [(action, instance id, reason)]."""
    with sim.lock:
        settings = sim.store.global_settings
        if not settings['bursting_enabled'] or settings['cloud_provider'] != 'AWS':
            return []
        threshold = settings['bursting_threshold']
        lifetime = settings['bursting_min_lifetime'] * sim.timing['minute_seconds']
        nodes = {}
        for inst, worker in status.cloud_nodes(sim):
            nodes.setdefault(worker['system_location'], []).append((inst, worker))
        busy = {call['address'] for call in sim.live_calls(now)}
        actions, needed = [], set()
        for location, overflow in status.overflow_pairs(sim):
            members = nodes.get(overflow['id'], [])
            active = [(i, w) for i, w in members if i['state'] in ('pending', 'running')]
            booting = [(i, w) for i, w in active if not status.node_view(sim, w, now)[0]]
            location_free = status.location_load(sim, location['id'], now)[2]
            if location_free <= threshold:
                needed.add(overflow['id'])
            if not active:
                trigger = location_free <= threshold
                reason = 'free HD calls in %s (%d) at or below the threshold (%d)' % (location['name'], location_free, threshold)
            else:
                # Once overflow nodes run, only the overflow location's own headroom decides (AWS guide).
                overflow_free = status.location_load(sim, overflow['id'], now)[2]
                trigger = not booting and overflow_free <= threshold
                reason = 'free HD calls in %s (%d) at or below the threshold (%d)' % (overflow['name'], overflow_free, threshold)
            stopped = [i for i, _w in members if i['state'] == 'stopped']
            if trigger and stopped and not any(a[0] == 'start' and a[3] == overflow['id'] for a in actions):
                actions.append(('start', stopped[0]['id'], reason, overflow['id']))
        for location_id, members in nodes.items():
            for inst, worker in members:
                record = sim.store.nodes.get(inst['id'])
                if inst['state'] != 'running' or not record or record.get('running_since') is None or location_id in needed:
                    continue
                if worker['address'] not in busy and now - record['running_since'] >= lifetime:
                    actions.append(('stop', inst['id'], 'idle and up for at least the minimum lifetime', location_id))
        return [(action, iid, reason) for action, iid, reason, _loc in actions]


class Ec2Watcher:
    """Polls describe_instances every poll_interval; a poll can also be forced through /_lab/poll."""

    def __init__(self, sim, nodes, aws_url):
        self.sim = sim
        self.nodes = nodes
        # The platform's region first: the Management Node's instance (first boot) is there.
        self.clients = [make_client(aws_url, region) for region in lab_regions()]
        self.client = self.clients[0]
        self._client_of = {}  # instance id -> the client of its region, for the bursting starts and stops
        self._stop = threading.Event()
        self._poll_lock = threading.Lock()
        self._thread = None
        self.last_error = None
        self.firstboot = None     # sshboot.FirstBoot: plays the Management Node instances (--ssh-port)

    def start_instance(self, iid):
        self._client_of.get(iid, self.client).start_instances(InstanceIds=[iid])

    def stop_instance(self, iid):
        self._client_of.get(iid, self.client).stop_instances(InstanceIds=[iid])

    def describe_all(self):
        snapshot, client_of = {}, {}
        for client in self.clients:
            found = describe(client)
            snapshot.update(found)
            client_of.update(dict.fromkeys(found, client))
        self._client_of = client_of
        return snapshot

    def poll(self):
        with self._poll_lock:
            try:
                snapshot = self.describe_all()
            except (BotoCoreError, ClientError) as exc:
                self.last_error = str(exc)
                LOG.warning('describe_instances failed: %s', exc)
                return False
            self.last_error = None
            if self.firstboot is not None:
                # Management Node instances are no Conferencing Nodes: they get the SSH first boot instead.
                snapshot = self.firstboot.observe(snapshot, self.client)
            self.nodes.sync(self.sim.apply_snapshot(snapshot))
            for action, iid, reason in bursting_actions(self.sim, time.time()):
                try:
                    if action == 'start':
                        self.start_instance(iid)
                    else:
                        self.stop_instance(iid)
                except (BotoCoreError, ClientError) as exc:
                    LOG.warning('%s of %s failed: %s', action, iid, exc)
                    continue
                self.sim.record_event(action, iid, reason)
            return True

    def _run(self):
        while not self._stop.is_set():
            self.poll()
            self._stop.wait(self.sim.timing['poll_interval'])

    def start(self):
        self._thread = threading.Thread(target=self._run, name='ec2-watcher', daemon=True)
        self._thread.start()

    def stop(self):
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=10)
        if self.firstboot is not None:
            self.firstboot.stop()
