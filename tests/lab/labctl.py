# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Client for the Pexip simulator's lab-only control API (``/_lab/`` on the Management Node listener)."""

import requests


class LabError(Exception):
    """The control API refused a request."""

    def __init__(self, status, body):
        super().__init__('lab control API answered %s: %s' % (status, body))
        self.status = status
        self.body = body


class LabControl:
    """``LabControl('https://127.0.0.1:9443', '/path/ca.pem')``; every method returns the decoded JSON answer."""

    def __init__(self, base_url, ca_path=None, timeout=10):
        self.base_url = base_url.rstrip('/')
        self.verify = ca_path if ca_path else True
        self.timeout = timeout
        self.session = requests.Session()
        # REQUESTS_CA_BUNDLE would otherwise override the CA given here, and no proxy may see lab traffic.
        self.session.trust_env = False

    def _call(self, method, path, body=None, params=None):
        response = self.session.request(method, self.base_url + path, json=body, params=params, verify=self.verify, timeout=self.timeout)
        try:
            data = response.json()
        except ValueError:
            data = response.text
        if response.status_code >= 400:
            raise LabError(response.status_code, data)
        return data

    # Calls
    def place_calls(self, address, count=1, duration=None, conference='lab-conference', force=False, protocol='WebRTC'):
        """Start ``count`` participants on the node at ``address``; returns their participant ids."""
        body = {'address': address, 'count': count, 'duration': duration, 'conference': conference, 'force': force, 'protocol': protocol}
        return self._call('POST', '/_lab/calls', body)['participants']

    def end_calls(self, address=None, conference=None):
        params = {key: value for key, value in (('address', address), ('conference', conference)) if value is not None}
        return self._call('DELETE', '/_lab/calls', params=params)['ended']

    def calls(self):
        return self._call('GET', '/_lab/calls')

    # Faults
    def inject_fault(self, path='.*', method='*', count=1, status=None, retry_after=None, latency=0, reset=False, body=None, target='mgmt'):
        """Make the next ``count`` matching requests fail (``count=0``: all of them until cleared)."""
        spec = {'path': path, 'method': method, 'count': count, 'status': status, 'retry_after': retry_after, 'latency': latency,
                'reset': reset, 'body': body, 'target': target}
        return self._call('POST', '/_lab/faults', spec)[0]

    def faults(self):
        return self._call('GET', '/_lab/faults')

    def clear_faults(self):
        return self._call('DELETE', '/_lab/faults')['cleared']

    # Request log
    def fields_named(self):
        """Every API request that named fields (filters, order_by, JSON body keys), never cleared by clear_requests."""
        return self._call('GET', '/_lab/fields')

    def requests_log(self, since=None, target=None):
        """API requests seen since ``since`` (a ``ts`` from an earlier entry); ``target`` 'mgmt' or 'node:<ip>' filters."""
        entries = self._call('GET', '/_lab/requests', params={'since': since} if since is not None else None)
        return [entry for entry in entries if target is None or entry['target'] == target]

    def last_ts(self):
        """The ``ts`` of the last request so far (0 before any): pass it as ``since`` to see only later requests."""
        return self._call('GET', '/_lab/requests/mark')['since']

    def writes(self, since=None):
        """Management API requests that could change state (anything but GET/HEAD)."""
        return [entry for entry in self.requests_log(since, target='mgmt') if entry['method'] not in ('GET', 'HEAD')]

    def clear_log(self):
        return self._call('DELETE', '/_lab/requests')['cleared']

    # Knobs and state
    def set_timing(self, **knobs):
        """boot_delay, sync_delay, call_duration, poll_interval, minute_seconds (seconds) and strict_fields (bool)."""
        return self._call('POST', '/_lab/timing', knobs)

    def timing(self):
        return self._call('GET', '/_lab/timing')

    def reset(self):
        return self._call('POST', '/_lab/reset')

    def nodes(self):
        return self._call('GET', '/_lab/nodes')

    def events(self):
        return self._call('GET', '/_lab/events')

    def poll(self):
        """Run one EC2 poll now instead of waiting for the next one."""
        return self._call('POST', '/_lab/poll')

    # Management Node first boot over SSH (pexsim/sshboot.py)
    def firstboot(self):
        """Settings, SSH port and every Management Node instance (state, host key fingerprint; never a password)."""
        return self._call('GET', '/_lab/firstboot')

    def set_firstboot(self, **settings):
        """ntp_reachable, extra_prompt ({"before": step, "text": ...} or None), stall_at, cycle_after, console_host_keys,
        wizard_delay, reboot_delay."""
        return self._call('POST', '/_lab/firstboot', settings)

    # Software upgrade (pexsim/upgrade.py)
    def upgrade(self):
        """The upgrade's phase, target, queue, nodes in progress and per-node versions."""
        return self._call('GET', '/_lab/upgrade')

    def set_upgrade(self, **settings):
        """Faults: stall_nodes (names of nodes that never finish upgrading), mgmt_extra_delay (a slow Management Node);
        reset=True: back to the lab's first version, no upgrade running."""
        return self._call('POST', '/_lab/upgrade', settings)

    def management_node(self, private_ip):
        """The lab's record of the Management Node instance at ``private_ip`` (None if there is none)."""
        return next((n for n in self.firstboot()['nodes'] if n['private_ip'] == private_ip), None)


class AwsFaults:
    """The lab's AWS errors (``/_lab/faults`` on moto's port, tests/lab/moto_lab.py): ``AwsFaults(env['AWS_URL'])``."""

    def __init__(self, aws_url, timeout=10):
        self.url = aws_url.rstrip('/') + '/_lab/faults'
        self.timeout = timeout
        self.session = requests.Session()
        self.session.trust_env = False

    def _call(self, method, body=None):
        response = self.session.request(method, self.url, json=body, timeout=self.timeout)
        if response.status_code >= 400:
            raise LabError(response.status_code, response.text)
        return response.json()

    def inject(self, action, code, status=400, count=1, message=None):
        """Make the next ``count`` EC2 requests for ``action`` (e.g. 'StopInstances'; '*' any) fail with AWS error ``code``."""
        return self._call('POST', {'action': action, 'code': code, 'status': status, 'count': count, 'message': message})[0]

    def faults(self):
        return self._call('GET')

    def clear(self):
        return self._call('DELETE')['cleared']
