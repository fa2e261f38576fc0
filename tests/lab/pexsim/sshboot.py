# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A NEW Management Node's first boot over SSH (paramiko), for every instance launched from a Management Node image.

The AWS guide, "Deploying a Management Node in AWS", steps 12-15: SSH as ``admin`` with the instance's key pair →
"Enter new UNIX password:" twice → the session is dropped → SSH again → "[sudo] password for admin:" → the
installation wizard (IP address, network mask, gateway, hostname, domain suffix, DNS servers, NTP servers, web
administration username and password, incident reporting (and, when it is enabled, a contact e-mail address),
usage statistics) → the node reboots; after
``reboot_delay`` seconds the Management Node API answers on ``https://<private-ip>:<mgmt-port>/`` with the chosen
web credentials (a second front door on the simulator's one platform model), and SSH offers a plain shell.

Lab knobs (``GET/POST /_lab/firstboot``): ``ntp_reachable`` (false: the wizard fails as the guide says when NTP cannot
be reached), ``extra_prompt`` (``{"before": <step>, "text": "..."}``: a prompt the guide does not list),
``stall_at`` (a step whose prompt never comes), ``cycle_after`` (a misbehaving wizard: after the answer to this step
it starts over at the IP address, for ever), ``console_host_keys`` (true: a new instance prints its SSH host keys to
its EC2 console output as cloud-init images do, through moto_lab's ``/_lab/console_output``; whether Pexip's image
does is UNCONFIRMED, hence off by default), ``wizard_delay`` and ``reboot_delay`` (seconds).
"""

import base64
import hashlib
import ipaddress
import json
import logging
import re
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

import paramiko

from .sim import ApiError, is_loopback

LOG = logging.getLogger('pexsim.sshboot')
MGMT_IMAGE_PREFIX = 'Pexip Infinity Management Node'
DEFAULT_DNS = '8.8.8.8 8.8.4.4'
DEFAULT_NTP = '0.pexip.pool.ntp.org 1.pexip.pool.ntp.org'
STEPS = ('ip_address', 'netmask', 'gateway', 'hostname', 'domain', 'dns_servers', 'ntp_servers', 'web_username', 'web_password',
         'web_password_again', 'incident_reporting', 'contact_email_address', 'usage_statistics')
# UNCONFIRMED (docs/lab.md): Pexip's Terraform provider lists contact_email_address among the wizard's answers, but the
# guide does not print the prompt; asked only after "yes" to incident reporting.
CONTACT_EMAIL_PROMPT = 'Contact email address: '

DEFAULT_SETTINGS = {'ntp_reachable': True, 'extra_prompt': None, 'stall_at': None, 'cycle_after': None, 'console_host_keys': False,
                    'wizard_delay': 0.3, 'reboot_delay': 2.0}
_LABEL = re.compile(r'^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$')
_EMAIL = re.compile(r'^[^@\s]+@[^@\s]+\.[^@\s]+$')


class SessionEnd(Exception):
    """The client went away (or the node stops): end the session."""


def fingerprint(key):
    """OpenSSH's SHA256 fingerprint of a paramiko key: ``SHA256:<base64 without padding>``."""
    return 'SHA256:' + base64.b64encode(hashlib.sha256(key.asbytes()).digest()).decode('ascii').rstrip('=')


# ---- answer checks: (value or None, error message) ---------------------------------------------------------------

def _ipv4(text):
    try:
        return str(ipaddress.IPv4Address(text)), None
    except ValueError:
        return None, "Invalid IPv4 address '%s'." % text


def _netmask(text):
    try:
        ipaddress.IPv4Network('0.0.0.0/%s' % text)
        ipaddress.IPv4Address(text)
        return text, None
    except ValueError:
        return None, "Invalid network mask '%s'." % text


def _hostname(text):
    if _LABEL.match(text):
        return text, None
    return None, "Invalid hostname '%s': use letters, digits and hyphens (no dots)." % text


def _domain(text):
    if text and all(_LABEL.match(label) for label in text.rstrip('.').split('.')):
        return text, None
    return None, "Invalid domain suffix '%s'." % text


def _dns(text):
    servers = [s for s in re.split(r'[\s,]+', text) if s]
    for server in servers:
        if _ipv4(server)[0] is None:
            return None, "Invalid DNS server address '%s': give IPv4 addresses separated by spaces." % server
    return (servers, None) if servers else (None, 'At least one DNS server is required.')


def _ntp(text):
    servers = [s for s in re.split(r'[\s,]+', text) if s]
    for server in servers:
        if _ipv4(server)[0] is None and _domain(server)[0] is None:
            return None, "Invalid NTP server '%s'." % server
    return (servers, None) if servers else (None, 'At least one NTP server is required.')


def _text(text):
    return (text, None) if text else (None, 'A value is required.')


def _email(text):
    if _EMAIL.match(text):
        return text, None
    return None, "Invalid email address '%s'." % text


def _yes_no(text):
    if text.lower() in ('y', 'yes'):
        return True, None
    if text.lower() in ('n', 'no'):
        return False, None
    return None, "Please answer 'yes' or 'no'."


class ManagementInstance:
    """What the lab knows of one Management Node instance; never holds a password in what it reports."""

    def __init__(self, iid, ip, key_name):
        self.iid = iid
        self.ip = ip
        self.key_name = key_name
        self.public_ip = None
        self.running = False
        self.state = 'new'            # new -> password_set -> rebooting -> installed
        self.os_password = None
        self.web = None               # (username, password) once installed
        self.answers = {}
        self.reboot_at = None
        self.host_key = paramiko.ECDSAKey.generate()
        self.ssh = None
        self.api = None
        self.sessions = 0
        self.last_error = None
        self.console_printed = False

    def view(self):
        return {'instance_id': self.iid, 'private_ip': self.ip, 'state': self.state, 'running': self.running,
                'host_key_fingerprint': fingerprint(self.host_key), 'host_key': '%s %s' % (self.host_key.get_name(), self.host_key.get_base64()),
                'ssh_listening': self.ssh is not None, 'api_listening': self.api is not None, 'sessions': self.sessions,
                'web_username': self.web[0] if self.web else None, 'last_error': self.last_error,
                'answers': {k: v for k, v in self.answers.items() if 'password' not in k}}


class SshListener:
    """Accepts SSH connections on (ip, port) and runs each in its own thread."""

    def __init__(self, boot, node, port):
        self.boot = boot
        self.node = node
        self.stopping = threading.Event()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((node.ip, port))
        self.sock.listen(16)
        self.sock.settimeout(0.3)
        self.thread = threading.Thread(target=self._accept, name='ssh-%s' % node.ip, daemon=True)
        self.thread.start()

    def _accept(self):
        while not self.stopping.is_set():
            try:
                conn, peer = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            threading.Thread(target=self.boot.serve_connection, args=(self.node, conn, peer, self.stopping), daemon=True).start()

    def stop(self):
        self.stopping.set()
        try:
            self.sock.close()
        except OSError:
            pass
        self.thread.join(timeout=2)


class _Auth(paramiko.ServerInterface):
    def __init__(self, boot, node):
        self.boot = boot
        self.node = node
        self.shell = threading.Event()

    def get_allowed_auths(self, username):
        return 'publickey'

    def check_auth_publickey(self, username, key):
        if username == 'admin' and self.boot.accepts(self.node, key):
            return paramiko.AUTH_SUCCESSFUL
        return paramiko.AUTH_FAILED

    def check_auth_password(self, username, password):
        return paramiko.AUTH_FAILED

    def check_channel_request(self, kind, chanid):
        return paramiko.OPEN_SUCCEEDED if kind == 'session' else paramiko.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED

    def check_channel_pty_request(self, channel, term, width, height, pixelwidth, pixelheight, modes):
        return True

    def check_channel_shell_request(self, channel):
        self.shell.set()
        return True

    def check_channel_exec_request(self, channel, command):
        return False


class Terminal:
    """Line I/O on a session channel, as a terminal with a pty shows it (passwords are not echoed)."""

    def __init__(self, chan, stopping):
        self.chan = chan
        self.stopping = stopping
        self.pending = b''
        chan.settimeout(0.3)

    def write(self, text):
        try:
            self.chan.sendall(text.replace('\n', '\r\n').encode('utf-8'))
        except (OSError, EOFError, paramiko.SSHException) as exc:
            raise SessionEnd() from exc

    def readline(self, echo=True):
        while True:
            match = re.search(rb'\r\n|\r|\n', self.pending)
            if match:
                line, self.pending = self.pending[:match.start()], self.pending[match.end():]
                self.write((line.decode('utf-8', 'replace') if echo else '') + '\n')
                return line.decode('utf-8', 'replace').strip()
            if self.stopping.is_set() or self.chan.closed:
                raise SessionEnd()
            try:
                data = self.chan.recv(1024)
            except socket.timeout:
                continue
            except (OSError, EOFError) as exc:
                raise SessionEnd() from exc
            if not data:
                raise SessionEnd()
            self.pending += data

    def idle(self):
        """Wait, printing nothing, until the client gives up (the ``stall_at`` knob)."""
        while not (self.stopping.is_set() or self.chan.closed or self.chan.eof_received):
            time.sleep(0.2)
        raise SessionEnd()


class FirstBoot:
    """Plays every Management Node instance of the lab; driven by the EC2 watcher's polls."""

    def __init__(self, sim, tls, ssh_port, key_file, key_name, make_api, settings=None, aws_url=None):
        self.sim = sim
        self.aws_url = aws_url
        self.tls = tls
        self.ssh_port = ssh_port
        self.key_file = key_file
        self.key_name = key_name
        self.make_api = make_api          # (ip, username, password) -> started server with .stop()
        self.settings = dict(DEFAULT_SETTINGS)
        self.settings.update(settings or {})
        self.nodes = {}
        self.lost = set()                 # addresses of installed Management Nodes whose instance is gone
        self.images = {}
        self.lock = threading.RLock()
        self._public_key = None

    # ---- the watcher side ------------------------------------------------------------------------------------
    def is_management_image(self, client, image_id):
        if image_id not in self.images:
            try:
                images = client.describe_images(ImageIds=[image_id]).get('Images', [])
            except Exception:  # pylint: disable=broad-except
                return False   # asked again at the next poll
            self.images[image_id] = bool(images) and images[0].get('Name', '').startswith(MGMT_IMAGE_PREFIX)
        return self.images[image_id]

    def observe(self, snapshot, client):
        """Take the Management Node instances out of ``snapshot`` (they are no Conferencing Nodes) and play them."""
        rest = {}
        now = time.time()
        printing = []
        with self.lock:
            for iid, inst in snapshot.items():
                if not inst.get('image_id') or not self.is_management_image(client, inst['image_id']):
                    rest[iid] = inst
                    continue
                if not inst['private_ip'] or not is_loopback(inst['private_ip']):
                    continue
                node = self.nodes.get(iid)
                if node is None:
                    node = self.nodes[iid] = ManagementInstance(iid, inst['private_ip'], inst.get('key_name'))
                    LOG.info('management node %s at %s: new', iid, node.ip)
                node.public_ip = inst.get('public_ip')
                node.running = inst['state'] == 'running'
                if node.running and self.settings['console_host_keys'] and not node.console_printed:
                    node.console_printed = True
                    printing.append(node)
                if node.state == 'rebooting' and now >= node.reboot_at:
                    node.state = 'installed'
                    LOG.info('management node %s: rebooted, API up', iid)
                self._listen(node)
            for iid in [i for i in self.nodes if i not in snapshot]:
                gone = self.nodes.pop(iid)
                gone.running = False
                self._listen(gone)
                if gone.state in ('rebooting', 'installed'):
                    self.lost.add(gone.ip)
        for node in printing:
            self.print_host_keys(node)
        return rest

    def print_host_keys(self, node):
        """What cloud-init prints to the console at a first boot (the fingerprints' lines carry its "ec2:" prefix)."""
        host = urllib.parse.urlsplit(self.aws_url or '').hostname
        if not (host == 'localhost' or is_loopback(host or '')):
            LOG.warning('management node %s: the host keys are only printed to a loopback moto_lab', node.iid)
            return
        key = node.host_key
        bits = key.get_bits()
        text = ('ec2: #############################################################\n'
                'ec2: -----BEGIN SSH HOST KEY FINGERPRINTS-----\n'
                'ec2: %d %s root@%s (ECDSA)\n'
                'ec2: -----END SSH HOST KEY FINGERPRINTS-----\n'
                'ec2: #############################################################\n'
                '-----BEGIN SSH HOST KEY KEYS-----\n'
                '%s %s root@%s\n'
                '-----END SSH HOST KEY KEYS-----\n' % (bits, fingerprint(key), node.iid, key.get_name(), key.get_base64(), node.iid))
        request = urllib.request.Request(self.aws_url.rstrip('/') + '/_lab/console_output', method='POST',
                                         data=json.dumps({'instance_id': node.iid, 'text': text}).encode('utf-8'),
                                         headers={'Content-Type': 'application/json'})
        try:
            urllib.request.urlopen(request, timeout=5).close()  # nosec: the lab's own moto_lab, on loopback
        except (OSError, urllib.error.URLError) as exc:
            LOG.warning('management node %s: cannot print the host keys to the console output (moto_lab only): %s', node.iid, exc)

    def _listen(self, node):
        want_ssh = node.running and node.state != 'rebooting'
        want_api = node.running and node.state == 'installed'
        if want_ssh and node.ssh is None:
            try:
                node.ssh = SshListener(self, node, self.ssh_port)
                LOG.info('management node %s: SSH on %s:%d', node.iid, node.ip, self.ssh_port)
            except OSError as exc:
                LOG.warning('management node %s: cannot listen on %s:%d: %s', node.iid, node.ip, self.ssh_port, exc)
        elif not want_ssh and node.ssh is not None:
            node.ssh.stop()
            node.ssh = None
        if want_api and node.api is None:
            try:
                node.api = self.make_api(node.ip, node.web[0], node.web[1])
            except OSError as exc:
                LOG.warning('management node %s: cannot serve the API: %s', node.iid, exc)
        elif not want_api and node.api is not None:
            node.api.stop()
            node.api = None

    def stop(self):
        with self.lock:
            for node in self.nodes.values():
                node.running = False
                self._listen(node)

    # ---- control API -----------------------------------------------------------------------------------------
    def view(self):
        with self.lock:
            return {'settings': dict(self.settings), 'ssh_port': self.ssh_port, 'nodes': [n.view() for n in self.nodes.values()]}

    def configure(self, data):
        unknown = sorted(set(data) - set(self.settings))
        if unknown:
            raise ApiError(400, {'error': 'Unknown first boot setting(s): %s' % ', '.join(unknown)})
        for key, value in data.items():
            if key in ('ntp_reachable', 'console_host_keys') and not isinstance(value, bool):
                raise ApiError(400, {'error': '%s must be true or false.' % key})
            if key in ('wizard_delay', 'reboot_delay') and (isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0):
                raise ApiError(400, {'error': '%s must be a number of seconds >= 0.' % key})
            if key == 'stall_at' and value not in (None,) + STEPS + ('sudo', 'new_password'):
                raise ApiError(400, {'error': 'stall_at must be null or one of: %s' % ', '.join(('new_password', 'sudo') + STEPS)})
            if key == 'cycle_after' and value not in (None,) + STEPS:
                raise ApiError(400, {'error': 'cycle_after must be null or one of: %s' % ', '.join(STEPS)})
            if key == 'extra_prompt' and value is not None and not (
                    isinstance(value, dict) and value.get('before') in STEPS and isinstance(value.get('text'), str) and value['text']):
                raise ApiError(400, {'error': 'extra_prompt must be null or {"before": <wizard step>, "text": "<prompt>"}.'})
        with self.lock:
            self.settings.update(data)
            return dict(self.settings)

    # ---- SSH ---------------------------------------------------------------------------------------------------
    def public_key(self):
        if self._public_key is None:
            self._public_key = paramiko.RSAKey.from_private_key_file(self.key_file)
        return self._public_key

    def accepts(self, node, key):
        """Only the instance's key pair (the lab's one key pair, when the instance was launched with it)."""
        if node.key_name != self.key_name:
            return False
        try:
            ours = self.public_key()
        except (OSError, paramiko.SSHException):
            return False
        return key.get_name() == ours.get_name() and key.asbytes() == ours.asbytes()

    def serve_connection(self, node, conn, peer, stopping):
        transport = paramiko.Transport(conn)
        transport.add_server_key(node.host_key)
        auth = _Auth(self, node)
        try:
            transport.start_server(server=auth)
            chan = transport.accept(20)
            if chan is None or not auth.shell.wait(10):
                return
            with self.lock:
                node.sessions += 1
            term = Terminal(chan, stopping)
            try:
                self.session(node, term)
            except SessionEnd:
                pass
            chan.send_exit_status(0)
        except (paramiko.SSHException, OSError, EOFError) as exc:
            LOG.debug('SSH from %s to %s ended: %s', peer, node.ip, exc)
        finally:
            transport.close()

    def session(self, node, term):
        settings = dict(self.settings)
        if node.state == 'new':
            self.change_password(node, term, settings)
        elif node.state == 'password_set':
            self.sudo_and_wizard(node, term, settings)
        else:
            term.write('Pexip Infinity Management Node %s.%s\n\nadmin@%s:~$ ' % (
                node.answers.get('hostname', 'mgr'), node.answers.get('domain', ''), node.answers.get('hostname', 'mgr')))
            term.readline()
            term.write('This node is managed through its Administrator interface.\n')

    def change_password(self, node, term, settings):
        term.write('You are required to change your password immediately (administrator enforced)\n'
                   'WARNING: Your password has expired.\nYou must change your password now and login again!\n')
        if settings['stall_at'] == 'new_password':
            term.idle()
        term.write('Enter new UNIX password: ')
        first = term.readline(echo=False)
        term.write('Retype new UNIX password: ')
        second = term.readline(echo=False)
        if not first:
            term.write('No password supplied\npasswd: Authentication token manipulation error\npasswd: password unchanged\n')
        elif first != second:
            term.write('Sorry, passwords do not match.\npasswd: Authentication token manipulation error\npasswd: password unchanged\n')
        elif len(first) < 8:
            term.write('BAD PASSWORD: The password is shorter than 8 characters\npasswd: Authentication token manipulation error\n'
                       'passwd: password unchanged\n')
        else:
            with self.lock:
                node.os_password = first
                node.state = 'password_set'
            term.write('passwd: password updated successfully\n')
        term.write('Connection to %s closed.\n' % node.ip)

    def sudo_and_wizard(self, node, term, settings):
        for attempt in range(3):
            if settings['stall_at'] == 'sudo':
                term.idle()
            term.write('[sudo] password for admin: ')
            if term.readline(echo=False) == node.os_password:
                break
            term.write('Sorry, try again.\n' if attempt < 2 else 'sudo: 3 incorrect password attempts\n')
        else:
            return
        time.sleep(settings['wizard_delay'])
        term.write('\nWelcome to the Pexip Infinity installation wizard.\n'
                   'Press enter to accept the default value shown in brackets.\n\n')
        answers = self.wizard(node, term, settings)
        ntp = answers['ntp_servers']
        term.write('\nApplying configuration...\nChecking NTP server(s) %s ... ' % ' '.join(ntp))
        if not self.ntp_reachable(node, ntp, settings):
            with self.lock:
                node.last_error = 'NTP unreachable'
            term.write('failed\nERROR: Unable to reach NTP server(s) %s. Installation failed; the node is not configured.\n' % ' '.join(ntp))
            return
        term.write('ok\n')
        with self.lock:
            node.answers = {k: v for k, v in answers.items() if 'password' not in k}
            node.web = (answers['web_username'], answers['web_password'])
            node.state = 'rebooting'
            node.last_error = None
            node.reboot_at = time.time() + settings['reboot_delay']
            replacing = node.ip in self.lost
            self.lost.discard(node.ip)
        if replacing:
            # A new Management Node where one was lost (disaster recovery): it starts empty, as a real one does; the lab's
            # other new instances join its one platform model (a lab shortcut: docs/lab.md).
            LOG.info('management node %s: replaces a lost one at %s, empty configuration', node.iid, node.ip)
            self.sim.fresh_install()
        self.add_servers(answers)
        self.sim.install_management_node(answers)
        term.write('Configuration complete. The system will now reboot.\n')
        LOG.info('management node %s: installed as %s.%s, rebooting', node.iid, answers['hostname'], answers['domain'])

    def ntp_reachable(self, node, servers, settings):
        if not settings['ntp_reachable']:
            return False
        # "The DNS and NTP servers at the default addresses are only accessible if your instance has a public IP address."
        return not (' '.join(servers) == DEFAULT_NTP and not node.public_ip)

    def wizard(self, node, term, settings):
        network = ipaddress.IPv4Network('%s/24' % node.ip, strict=False)
        gateway = str(next(network.hosts()))
        steps = [
            ('ip_address', 'IP address [%s]: ' % node.ip, node.ip, _ipv4),
            ('netmask', 'Network mask [%s]: ' % network.netmask, str(network.netmask), _netmask),
            ('gateway', 'Gateway [%s]: ' % gateway, gateway, _ipv4),
            ('hostname', 'Hostname: ', None, _hostname),
            ('domain', 'Domain suffix: ', None, _domain),
            ('dns_servers', 'DNS servers [%s]: ' % DEFAULT_DNS, DEFAULT_DNS, _dns),
            ('ntp_servers', 'NTP servers [%s]: ' % DEFAULT_NTP, DEFAULT_NTP, _ntp),
            ('web_username', 'Web administration username [admin]: ', 'admin', _text),
            ('web_password', 'Web administration password: ', None, _text),
            ('web_password_again', 'Re-enter web administration password: ', None, _text),
            ('incident_reporting', 'Enable incident reporting (yes/no) [no]: ', 'no', _yes_no),
            ('contact_email_address', CONTACT_EMAIL_PROMPT, None, _email),
            ('usage_statistics', 'Send deployment and usage statistics to Pexip (yes/no) [no]: ', 'no', _yes_no),
        ]
        answers = {}
        index = 0
        while index < len(steps):
            key, prompt, default, check = steps[index]
            if key == 'contact_email_address' and not answers['incident_reporting']:
                index += 1
                continue
            extra = settings['extra_prompt']
            if extra and extra['before'] == key and key not in answers:
                term.write(extra['text'].rstrip() + ' ')
                term.readline()
            if settings['stall_at'] == key:
                term.idle()
            term.write(prompt)
            secret = 'password' in key
            text = term.readline(echo=not secret)
            value, error = check(text or default or '')
            if key == 'web_password_again' and value is not None and value != answers['web_password']:
                term.write('Passwords do not match.\n')
                index -= 1
                continue
            if value is None:
                term.write('%s Please try again.\n' % error)
                continue
            answers[key] = value
            index = 0 if settings['cycle_after'] == key else index + 1
        return answers

    def add_servers(self, answers):
        """The wizard's DNS and NTP servers show under System > DNS/NTP Servers."""
        for resource, key in (('dns_server', 'dns_servers'), ('ntp_server', 'ntp_servers')):
            for address in answers[key]:
                with self.sim.lock:
                    if any(obj['address'] == address for obj in self.sim.store.objects(resource).values()):
                        continue
                    try:
                        self.sim.create(resource, {'address': address, 'description': 'Installation wizard'})
                    except ApiError as exc:
                        LOG.warning('wizard %s %s: %s', resource, address, exc.body)
