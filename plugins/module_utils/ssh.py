# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""SSH logins to a new Management Node for its first boot: the private key, the host key (known_hosts, append-only,
or a pinned fingerprint) and a bounded login that returns a first_boot ``Session``."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

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

from ansible_collections.pexip.infinity.plugins.module_utils.first_boot import FirstBootError, Session, call
from ansible_collections.pexip.infinity.plugins.module_utils.waiter import Waiter

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


def bare(text):
    """A SHA256 fingerprint without its prefix and padding, to compare however it was copied."""
    text = text.strip()
    return (text[7:] if text.upper().startswith("SHA256:") else text).rstrip("=")


class PinnedKey(paramiko.MissingHostKeyPolicy if HAS_PARAMIKO else object):
    """Accept exactly the host key with the given fingerprint (or one of several, separated by commas or spaces: an
    instance has a key of each type and prints them all)."""

    def __init__(self, wanted):
        self.wanted = wanted.strip()
        self.seen = None

    def missing_host_key(self, client, hostname, key):
        self.seen = fingerprint(key)
        if bare(self.seen) not in [bare(one) for one in re.split(r"[,\s]+", self.wanted) if one]:
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
            # Read here, not given as a no_log option: keep it (and each line of it) out of any output.
            self.module.no_log_values.update([text, text.strip()] + [line.strip() for line in text.splitlines() if len(line.strip()) >= 16])
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
