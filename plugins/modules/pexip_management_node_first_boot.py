#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: pexip_management_node_first_boot
short_description: Set the admin password and run the installation wizard of a new Pexip Infinity Management Node
version_added: 0.2.0
author: pexip.infinity contributors (@pexip)
description:
  - Does over SSH what the AWS deployment guide has you type after launching a Management Node instance
    ("Deploying a Management Node in AWS", steps 12 to 14) - log in as C(admin) with the instance's key pair, answer
    C(Enter new UNIX password) twice (the node then drops the session), log in again, answer
    C([sudo] password for admin), and answer the installation wizard - IP address, network mask and gateway
    (defaults accepted unless given), hostname, domain suffix, DNS servers, NTP servers, web administration
    username and password, incident reporting, usage statistics. The node then reboots.
  - Then, with O(wait), waits until the Management Node API accepts the web administration credentials.
  - Idempotent. When the API at O(host) already accepts O(username) and O(password), nothing is done and SSH is
    not used. A node whose password was set by an earlier, interrupted run continues at the sudo prompt; a wizard that
    failed (for example because NTP could not be reached) starts over on the next run.
  - Uses paramiko, not C(expect). Every prompt is recognised by its text and waited for at most O(prompt_timeout)
    seconds. A prompt the module does not know, a refused answer or a wizard error fails the task with the prompt
    or the node's message and what to fix.
  - The passwords are never written to the output, even at C(-vvv) (they are C(no_log), the node does not echo them,
    and messages mask them).
  - Answers are checked before anything is connected to. An answer with a control character (a newline would answer
    the next prompt) is refused, naming the option but not a secret's value.
extends_documentation_fragment:
  - pexip.infinity.api
  - pexip.infinity.attributes
  - pexip.infinity.wait
attributes:
  check_mode:
    description: In check mode only the API is asked; SSH is not used. C(changed) says whether the first boot would run.
  diff_mode:
    description: No diff is returned.
    support: none
  platform:
    description: Talks to the new Management Node over SSH and to its REST API; runs on the controller.
options:
  host:
    description:
      - Address of the Management Node's API once installed, as C(name), C(name:port) or C(https://name[:port])
        (normally the instance's private IP address). It is only asked, never configured, by this module.
      - If not set, the E(PEXIP_HOST) environment variable is used.
    type: str
    required: true
  username:
    description:
      - The web administration username to give the wizard, and to check against the API.
      - If not set, the E(PEXIP_USERNAME) environment variable is used.
    type: str
    default: admin
  password:
    description:
      - The web administration password to give the wizard, and to check against the API.
      - If not set, the E(PEXIP_PASSWORD) environment variable is used.
    type: str
    required: true
  address:
    description:
      - Address to SSH to; defaults to the host part of O(host).
    type: str
  ssh_port:
    description: SSH port of the node.
    type: int
    default: 22
  ssh_username:
    description: The OS account to log in with (the guide - C(admin)).
    type: str
    default: admin
  private_key_file:
    description:
      - Private key file of the key pair the instance was launched with.
      - One of O(private_key_file) and O(private_key) is needed unless the API already accepts the credentials.
    type: path
  private_key:
    description: The same private key, as text (for example from a vault).
    type: str
  private_key_passphrase:
    description: Passphrase of the private key, if it has one.
    type: str
  os_password:
    description:
      - The UNIX password of the node's C(admin) account - set at the first login, then given at the sudo prompt.
      - At least 8 characters. Keep it in a vault.
    type: str
    required: true
  host_key_policy:
    description:
      - How the node's SSH host key is trusted. A new instance's key is not known in advance.
      - V(accept_new) (like OpenSSH's C(StrictHostKeyChecking=accept-new)) trusts the key on first use, appends one
        line for it to O(known_hosts_file) (the rest of the file is never rewritten), and refuses a different key
        later (a replaced instance at the same address - remove the old line with
        C(ssh-keygen -R '[address]:port' -f known_hosts_file)).
      - V(strict) only connects when O(known_hosts_file) already holds the key.
      - O(host_key_fingerprint), when given, pins the key whatever the policy.
    type: str
    choices: [accept_new, strict]
    default: accept_new
  host_key_fingerprint:
    description:
      - The SHA256 fingerprint of the node's host key (C(SHA256:...)), as the instance prints it in its system log
        (EC2 console - Get system log, or C(aws ec2 get-console-output)). The connection is refused when the key
        does not match; O(known_hosts_file) is then neither read nor written.
    type: str
  known_hosts_file:
    description:
      - The known_hosts file read (and, with V(accept_new), appended to; created 0600, its directory 0700). Comments,
        hashed host names and C(@cert-authority) lines are kept as they are; a key marked C(@revoked) is refused. A
        line that cannot be read fails the task with its line number.
    type: path
    default: ~/.ssh/known_hosts
  ip_address:
    description: IPv4 address to give the wizard; by default the wizard's own (the instance's private address) is accepted.
    type: str
  netmask:
    description: Network mask for the wizard; by default the wizard's is accepted.
    type: str
  gateway:
    description: Gateway for the wizard; by default the wizard's is accepted.
    type: str
  hostname:
    description: Host name of the Management Node (without the domain).
    type: str
    required: true
  domain:
    description: Domain suffix of the Management Node.
    type: str
    required: true
  dns_servers:
    description:
      - DNS servers (IPv4 addresses) for the wizard. Without them the wizard's defaults are accepted, which are only
        reachable with a public IP address - override them in a private deployment.
    type: list
    elements: str
  ntp_servers:
    description:
      - NTP servers for the wizard. The wizard fails when they cannot be resolved and reached. Without them the
        wizard's defaults are accepted (reachable only with a public IP address).
    type: list
    elements: str
  incident_reporting:
    description:
      - Answer to "Enable incident reporting". When V(true), O(contact_email_address) is required.
    type: bool
    default: false
  contact_email_address:
    description:
      - The contact e-mail address the wizard asks for when incident reporting is enabled (Pexip's Terraform provider
        lists it as C(contact_email_address) among the wizard's answers). Required with O(incident_reporting); not
        asked otherwise.
    type: str
  usage_statistics:
    description: Answer to "Send deployment and usage statistics to Pexip".
    type: bool
    default: false
  connect_timeout:
    description:
      - Seconds to keep trying to reach SSH (a new instance takes a while before it answers). Each attempt is bounded
        too (TCP 10 s, banner 30 s, authentication 30 s).
    type: int
    default: 300
  prompt_timeout:
    description:
      - Seconds to wait for each prompt, and for each SSH channel operation (opening the session, the terminal and the
        shell, sending an answer, reading). An operation that does not complete in time fails the task with its name.
    type: int
    default: 60
  wait:
    description: After the wizard, wait until the API accepts O(username) and O(password) (the node reboots first).
    default: true
  wait_timeout:
    description: Seconds to wait for the API with O(wait).
    default: 900
requirements:
  - paramiko
notes:
  - Runs on the controller, which must reach the instance's SSH port (the security group's SSH rule from the
    management station) and the API.
seealso:
  - module: pexip.infinity.pexip_location
"""

EXAMPLES = r"""
- name: SSH into the Management Node, set the administrator password and complete the installation wizard
  pexip.infinity.pexip_management_node_first_boot:
    host: "{{ mgr_private_ip }}"
    username: admin
    password: "{{ vault_web_admin_password }}"
    validate_certs: false  # the new node's self-signed certificate
    private_key_file: "{{ mgr_key_file }}"  # the private key of the instance's key pair
    os_password: "{{ vault_mgr_os_password }}"
    hostname: mgr01
    domain: example.com
    dns_servers: [10.0.0.2]
    ntp_servers: [169.254.169.123]

- name: The same, pinning the host key printed in the instance's system log
  pexip.infinity.pexip_management_node_first_boot:
    host: "{{ mgr_private_ip }}"
    password: "{{ vault_web_admin_password }}"
    ca_path: "{{ mgr_ca_file }}"
    private_key: "{{ vault_pexip_key }}"
    os_password: "{{ vault_mgr_os_password }}"
    host_key_fingerprint: "{{ mgr_host_key_fingerprint }}"  # SHA256:...
    hostname: mgr01
    domain: example.com
    ntp_servers: [169.254.169.123, 0.pool.ntp.org, 1.pool.ntp.org]
"""

RETURN = r"""
steps:
  description:
    - What this run did - V(unix_password) (the first login), V(installation_wizard) and V(api_ready) (waited until
      the API accepted the credentials). Empty when the API already accepted them.
  returned: always
  type: list
  elements: str
  sample: [unix_password, installation_wizard, api_ready]
host_key_fingerprint:
  description: SHA256 fingerprint of the node's SSH host key, when SSH was used.
  returned: when SSH was used
  type: str
  sample: SHA256:Ew1ZtbUoKzo3rrSjHqx2m9XuYkyIeJbV5Mw9zyXbb5M
api_ready:
  description: Whether the API accepts the web administration credentials at the end of the run.
  returned: always
  type: bool
  sample: true
"""

import base64
import binascii
import hashlib
import io
import os
import re
import socket
import time
import traceback

try:
    import paramiko
    HAS_PARAMIKO = True
    PARAMIKO_IMPORT_ERROR = None
except ImportError:  # pragma: no cover - reported by the module
    HAS_PARAMIKO = False
    PARAMIKO_IMPORT_ERROR = traceback.format_exc()

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.pexip.infinity.plugins.module_utils.api import PexipApiError, PexipTLSError, resource_path
from ansible_collections.pexip.infinity.plugins.module_utils.first_boot import (
    FirstBootError,
    Session,
    answer_errors,
    call,
    mask,
    run_first_boot,
    wizard_answers,
)
from ansible_collections.pexip.infinity.plugins.module_utils.module import PexipModule
from ansible_collections.pexip.infinity.plugins.module_utils.waiter import Waiter, wait_argument_spec, wait_errors


QUIET = 3.0


def fingerprint(key):
    """OpenSSH's SHA256 fingerprint (``SHA256:<base64 without padding>``) of a paramiko key."""
    return "SHA256:" + base64.b64encode(hashlib.sha256(key.asbytes()).digest()).decode("ascii").rstrip("=")


def ssh_address(params):
    if params.get("address"):
        return params["address"]
    host = re.sub(r"^https?://", "", params["host"].strip()).split("/")[0]
    if host.startswith("["):
        return host[1:host.index("]")]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def api_state(module):
    """'accepted', 'refused' (401: installed with other credentials) or 'down'. A TLS failure fails the module."""
    client = module.new_client(timeout=min(module.params["timeout"], 10), retries=0)
    try:
        client.request("GET", resource_path("system_location"), params={"limit": 1})
        return "accepted"
    except PexipTLSError as exc:
        module.fail(exc.msg)
    except PexipApiError as exc:
        return "refused" if exc.status == 401 else "down"


def bare(text):
    """A SHA256 fingerprint without its prefix and padding, to compare however it was copied."""
    text = text.strip()
    return (text[7:] if text.upper().startswith("SHA256:") else text).rstrip("=")


class PinnedKey(paramiko.MissingHostKeyPolicy if HAS_PARAMIKO else object):
    """Accept exactly the host key with the given fingerprint."""

    def __init__(self, wanted):
        self.wanted = wanted.strip()
        self.seen = None

    def missing_host_key(self, client, hostname, key):
        self.seen = fingerprint(key)
        if bare(self.seen) != bare(self.wanted):
            raise paramiko.SSHException("host key mismatch: the node presented %s, host_key_fingerprint is %s" % (self.seen, self.wanted))


def known_hosts_problem(path, lineno, problem):
    return FirstBootError(
        "%s line %d cannot be read: %s. Correct or delete that line (ssh-keygen -R '[address]:port' -f %s removes the lines "
        "of one host), or give another known_hosts_file." % (path, lineno, problem, path))


def hashed_host_ok(host):
    """``|1|<base64 salt of 20 bytes>|<base64 hash>``, as OpenSSH's HashKnownHosts writes it."""
    parts = host.split("|")
    try:
        return len(parts) == 4 and len(base64.b64decode(parts[2], validate=True)) == 20 and bool(base64.b64decode(parts[3], validate=True))
    except (binascii.Error, ValueError):
        return False


def read_known_hosts(path):
    """The host keys of an OpenSSH known_hosts file as [(host patterns, key)], and the @revoked keys.

    A line that cannot be read fails with the file and the line number: a host key check that silently skips lines
    could trust a key the user meant to refuse. Well-formed lines of a key type paramiko does not know and
    @cert-authority lines (certificates are not used here) are left alone.
    """
    known, revoked = [], []
    if not os.path.exists(path):
        return known, revoked
    with open(path, "rb") as handle:
        lines = handle.read().split(b"\n")
    for lineno, raw in enumerate(lines, 1):
        try:
            text = raw.decode("utf-8").strip()
        except UnicodeDecodeError:
            raise known_hosts_problem(path, lineno, "it is not UTF-8 text")
        if not text or text.startswith("#"):
            continue
        fields = text.split()
        marker = fields.pop(0) if fields[0].startswith("@") else None
        if marker not in (None, "@cert-authority", "@revoked"):
            raise known_hosts_problem(path, lineno, "unknown marker %s (OpenSSH knows @cert-authority and @revoked)" % marker)
        if len(fields) < 3:
            raise known_hosts_problem(path, lineno, "it needs host names, a key type and a base64 key, separated by spaces")
        hosts, kind, blob = fields[:3]
        bad_hashes = [host for host in hosts.split(",") if host.startswith("|1|") and not hashed_host_ok(host)]
        if bad_hashes:
            raise known_hosts_problem(path, lineno, "the hashed host name %s is not |1|<salt>|<hash> in base64" % bad_hashes[0])
        try:
            base64.b64decode(blob, validate=True)
            entry = paramiko.hostkeys.HostKeyEntry.from_line(" ".join((hosts, kind, blob)), lineno)
        except (binascii.Error, ValueError, paramiko.hostkeys.InvalidHostKey):
            raise known_hosts_problem(path, lineno, "the key is not valid base64")
        except Exception as exc:  # pylint: disable=broad-except
            raise known_hosts_problem(path, lineno, "the %s key cannot be read (%s)" % (kind, exc))
        if entry is None:
            continue  # a key type paramiko cannot use: the node's key is never one of them
        if marker == "@revoked":
            revoked.append(entry.key)
        elif marker is None:
            known.append((entry.hostnames, entry.key))
    return known, revoked


def append_known_host(path, hostname, key):
    """Append one line for ``key``; the file is never rewritten (paramiko's save_host_keys would drop comments,
    markers and hashed lines). A new file is made 0600 in a 0700 directory."""
    directory = os.path.dirname(path)
    if directory and not os.path.isdir(directory):
        os.makedirs(directory, 0o700)
    line = "%s %s %s\n" % (hostname, key.get_name(), key.get_base64())
    handle = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        size = os.fstat(handle).st_size
        # A last line without its newline would run into ours.
        if size and os.pread(handle, 1, size - 1) != b"\n":
            line = "\n" + line
        os.write(handle, line.encode("ascii"))
    finally:
        os.close(handle)


def is_revoked(key, revoked):
    return any(key.asbytes() == other.asbytes() for other in revoked)


class AcceptNew(paramiko.MissingHostKeyPolicy if HAS_PARAMIKO else object):
    """host_key_policy accept_new: a host key seen for the first time is trusted and appended to known_hosts_file."""

    def __init__(self, path, revoked):
        self.path = path
        self.revoked = revoked

    def missing_host_key(self, client, hostname, key):
        if is_revoked(key, self.revoked):
            raise FirstBootError(revoked_message(hostname, key, self.path))
        append_known_host(self.path, hostname, key)
        client.get_host_keys().add(hostname, key.get_name(), key)


def revoked_message(hostname, key, path):
    return ("the SSH host key of %s (%s) is marked @revoked in %s: refusing to connect. If the instance was replaced, check "
            "its key in the instance's system log and pin it with host_key_fingerprint." % (hostname, fingerprint(key), path))


# paramiko's own limits for one login (seconds): TCP connect, SSH banner, authentication; the key exchange shares the
# first. CONNECT_BOUND covers the whole login should paramiko itself hang.
CONNECT_TIMEOUTS = dict(timeout=10, banner_timeout=30, auth_timeout=30)
CONNECT_BOUND = 2 * CONNECT_TIMEOUTS["timeout"] + CONNECT_TIMEOUTS["banner_timeout"] + CONNECT_TIMEOUTS["auth_timeout"]
RETRY_INTERVAL = 2


class SshLogin(object):
    """Opens interactive sessions on the node with the host key policy; each call is one login."""

    def __init__(self, module):
        self.module = module
        p = module.params
        self.address = ssh_address(p)
        self.port = p["ssh_port"]
        self.where = "%s port %s" % (self.address, self.port)
        self.secrets = [p["password"], p["os_password"], p.get("private_key_passphrase")]
        self.pkey = self.load_key()
        self.fingerprint = None
        self.clients = []
        self.revoked = []
        self.clock = time.monotonic
        self.sleep = time.sleep

    def load_key(self):
        p = self.module.params
        text = p.get("private_key")
        if not text:
            path = p.get("private_key_file")
            if not path or not os.path.exists(path):
                self.module.fail("private_key_file %s does not exist: give the private key of the key pair the instance was launched "
                                 "with (private_key_file or private_key)." % (path or "(not set)"))
            with open(path) as handle:
                text = handle.read()
        for kind in (paramiko.RSAKey, paramiko.ECDSAKey, paramiko.Ed25519Key):
            try:
                return kind.from_private_key(io.StringIO(text), password=p.get("private_key_passphrase"))
            except paramiko.PasswordRequiredException:
                self.module.fail("the private key is encrypted: give its passphrase with private_key_passphrase.")
            except (paramiko.SSHException, ValueError):
                continue
        self.module.fail("the private key could not be read as an RSA, ECDSA or Ed25519 key in OpenSSH/PEM format.")
        return None

    def client(self):
        """A client that knows the keys of known_hosts_file (read again for each login: the first one may add a key)."""
        p = self.module.params
        client = paramiko.SSHClient()
        if p.get("host_key_fingerprint"):
            client.set_missing_host_key_policy(PinnedKey(p["host_key_fingerprint"]))
            return client
        known = p["known_hosts_file"]  # type=path: already expanded
        entries, self.revoked = read_known_hosts(known)
        for hostnames, key in entries:
            for hostname in hostnames:
                client.get_host_keys().add(hostname, key.get_name(), key)
        if p["host_key_policy"] == "accept_new":
            client.set_missing_host_key_policy(AcceptNew(known, self.revoked))
        else:
            client.set_missing_host_key_policy(paramiko.RejectPolicy())
        return client

    def connect(self):
        """One login attempt: the connected client, or None when the node cannot be reached (yet)."""
        p = self.module.params
        known = p["known_hosts_file"]
        client = self.client()
        try:
            call("connecting to SSH on %s" % self.where, CONNECT_BOUND, lambda: client.connect(
                self.address, port=self.port, username=p["ssh_username"], pkey=self.pkey, look_for_keys=False, allow_agent=False,
                channel_timeout=p["prompt_timeout"], **CONNECT_TIMEOUTS), hint="check the address and that the security group allows TCP %s "
                "from this controller" % self.port)
            return client
        except FirstBootError:
            client.close()
            raise
        except paramiko.BadHostKeyException as exc:
            self.module.fail(
                "the SSH host key of %s is not the one recorded in %s (it presented %s). If the instance was replaced, remove the "
                "old entry (ssh-keygen -R '[%s]:%s' -f %s) and run again; otherwise do not connect: someone may be in the middle."
                % (self.where, known, fingerprint(exc.key), self.address, self.port, known))
        except paramiko.AuthenticationException:
            self.module.fail(
                "%s refused the private key for user %s. Give the private key of the key pair the instance was launched with "
                "(private_key_file or private_key)." % (self.where, p["ssh_username"]))
        except (socket.error, EOFError, paramiko.SSHException) as exc:
            message = str(exc)
            if "not found in known_hosts" in message:
                self.module.fail(
                    "the SSH host key of %s is not in %s and host_key_policy is strict. Pin it with host_key_fingerprint (from "
                    "the instance's system log) or add it to the file." % (self.where, known))
            if "host key mismatch" in message:
                self.module.fail("refusing %s: %s. Check the fingerprint in the instance's system log." % (self.where, message))
            client.close()
            self.last_error = message
        return None

    def step(self, operation, func, *args):
        """A channel call bounded by prompt_timeout; a failure or a stall is a FirstBootError naming it."""
        operation = "%s on %s" % (operation, self.where)
        try:
            return call(operation, self.module.params["prompt_timeout"], func, *args)
        except (socket.error, EOFError, paramiko.SSHException) as exc:
            raise FirstBootError("%s failed (%s). Run again; if it keeps failing, look at the instance's console "
                                 "(EC2 > Instance > Monitor and troubleshoot > Get system log)." % (operation, exc))

    def __call__(self):
        p = self.module.params
        self.last_error = None
        waiter = Waiter(p["connect_timeout"], RETRY_INTERVAL, first_interval=RETRY_INTERVAL, sleep=self.sleep, clock=self.clock)
        connected, client, dummy = waiter.wait(self.connect, lambda client: client is not None)
        if not connected:
            self.module.fail("cannot reach SSH on %s within %s seconds (%s). Check that the instance runs, that the security "
                             "group allows TCP %s from this controller, and the address." % (self.where, p["connect_timeout"], self.last_error, self.port))
        self.clients.append(client)
        key = client.get_transport().get_remote_server_key()
        self.fingerprint = fingerprint(key)
        if is_revoked(key, self.revoked):
            raise FirstBootError(revoked_message(self.where, key, p["known_hosts_file"]))
        channel = self.step("opening an SSH session", client.get_transport().open_session, None, None, p["prompt_timeout"])
        self.step("requesting a terminal (get_pty)", channel.get_pty, "vt100", 200, 50)
        self.step("starting the shell (invoke_shell)", channel.invoke_shell)
        # A line ending in ':' or '?' that stays unanswered for QUIET seconds is a prompt the module does not know.
        return Session(channel, p["prompt_timeout"], secrets=self.secrets, quiet=QUIET)

    def close(self):
        for client in self.clients:
            client.close()


def wait_for_api(module):
    p = module.params
    ready, state, dummy = Waiter(p["wait_timeout"], p["poll_interval"]).wait(lambda: api_state(module), lambda state: state == "accepted")
    if ready:
        return
    if state == "refused":
        module.fail("the Management Node API at %s answers but refuses user '%s' after %s seconds: the wizard was given "
                    "other credentials? Log in to the Administrator interface to check." % (p["host"], p["username"], p["wait_timeout"]))
    module.fail("the Management Node API at %s did not answer within %s seconds after the installation wizard. The node may "
                "still be rebooting (raise wait_timeout), or the controller cannot reach HTTPS on it (security group)."
                % (p["host"], p["wait_timeout"]))


def main():
    argument_spec = dict(
        address=dict(type="str"),
        ssh_port=dict(type="int", default=22),
        ssh_username=dict(type="str", default="admin"),
        private_key_file=dict(type="path", no_log=False),
        private_key=dict(type="str", no_log=True),
        private_key_passphrase=dict(type="str", no_log=True),
        os_password=dict(type="str", required=True, no_log=True),
        host_key_policy=dict(type="str", default="accept_new", choices=["accept_new", "strict"], no_log=False),
        host_key_fingerprint=dict(type="str", no_log=False),
        known_hosts_file=dict(type="path", default="~/.ssh/known_hosts", no_log=False),
        ip_address=dict(type="str"),
        netmask=dict(type="str"),
        gateway=dict(type="str"),
        hostname=dict(type="str", required=True),
        domain=dict(type="str", required=True),
        dns_servers=dict(type="list", elements="str"),
        ntp_servers=dict(type="list", elements="str"),
        incident_reporting=dict(type="bool", default=False),
        contact_email_address=dict(type="str"),
        usage_statistics=dict(type="bool", default=False),
        connect_timeout=dict(type="int", default=300),
        prompt_timeout=dict(type="int", default=60),
    )
    argument_spec.update(wait_argument_spec(wait=True, wait_timeout=900, poll_interval=10))
    module = PexipModule(argument_spec=argument_spec, mutually_exclusive=[("private_key_file", "private_key")])
    p = module.params
    module.label = "pexip_management_node_first_boot %s" % ssh_address(p)
    if not HAS_PARAMIKO:
        module.fail_json(msg=missing_required_lib("paramiko"), exception=PARAMIKO_IMPORT_ERROR)
    errors = wait_errors(p)
    if len(p["os_password"]) < 8:
        errors.append("os_password must have at least 8 characters (the node's password rules)")
    errors.extend(answer_errors(p))
    if errors:
        module.fail("; ".join(errors) + ".")

    state = api_state(module)
    if state == "accepted":
        module.exit_json(changed=False, steps=[], api_ready=True)
    if state == "refused":
        module.fail("the Management Node at %s is installed already but refuses user '%s': its web administration credentials "
                    "were set to something else. Give those (username/password); the wizard cannot be run again." % (p["host"], p["username"]))
    if module.check_mode:
        module.exit_json(changed=True, steps=[], api_ready=False, msg="would set the UNIX password and run the installation wizard over SSH")

    login = SshLogin(module)
    try:
        steps = run_first_boot(login, p["os_password"], wizard_answers(p), login.secrets)
    except FirstBootError as exc:
        login.close()
        module.fail(mask(exc.msg, login.secrets), prompt=mask(exc.prompt or "", login.secrets), host_key_fingerprint=login.fingerprint)
    login.close()
    # Only waiting for a node installed earlier (it showed a shell) changes nothing.
    changed = bool(steps)
    if p["wait"]:
        wait_for_api(module)
        steps.append("api_ready")
    module.exit_json(changed=changed, steps=steps, host_key_fingerprint=login.fingerprint, api_ready=p["wait"])


if __name__ == "__main__":
    main()
