# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pexip_management_node_first_boot around the wizard: known_hosts (append-only, unreadable lines), the SSH login
(retries through the one Waiter, a bound on every channel operation) and the checks made before connecting.

paramiko's SSHClient is replaced by ``FakeClient``, which checks host keys the way paramiko's ``connect`` does (the
known key, else the policy) and can hang in any operation until it is closed.
"""

import io
import os
import socket
import stat
import threading

import pytest

from ansible_collections.pexip.infinity.plugins.module_utils.first_boot import FirstBootError
from ansible_collections.pexip.infinity.plugins.module_utils import ssh as ssh_utils
from ansible_collections.pexip.infinity.plugins.modules import pexip_management_node_first_boot as mod

from fakes import Clock, FakeApi, FakeModule, Failed, response

paramiko = pytest.importorskip("paramiko")

HOST_KEY = paramiko.ECDSAKey.generate()
USER_KEY = paramiko.ECDSAKey.generate()
ADDRESS = "10.0.0.10"
NAME = "[10.0.0.10]:2222"   # how paramiko and OpenSSH name a host on a port other than 22
OS_PW = "os-Secret-123"
WEB_PW = "web-Secret-456"


def key_line(host, key, marker=None):
    return "%s%s %s %s" % (marker + " " if marker else "", host, key.get_name(), key.get_base64())


class FakeClient(object):
    """paramiko.SSHClient as the module uses it. ``plan``: one item per connect (an exception to raise, or None);
    ``hang``: operations (connect, open_session, get_pty, invoke_shell) that block until the client is closed."""

    plan = []
    hang = ()
    made = []

    def __init__(self):
        self.host_keys = paramiko.HostKeys()
        self.policy = None
        self.released = threading.Event()
        self.closed = False
        self.connect_kwargs = None
        FakeClient.made.append(self)

    def set_missing_host_key_policy(self, policy):
        self.policy = policy

    def get_host_keys(self):
        return self.host_keys

    def save_host_keys(self, filename):
        raise AssertionError("save_host_keys rewrites known_hosts")

    def wait(self, operation):
        if operation in self.hang:
            self.released.wait(30)
            raise EOFError("closed")

    def connect(self, hostname, port=22, **kwargs):
        self.connect_kwargs = kwargs
        outcome = FakeClient.plan.pop(0) if FakeClient.plan else None
        if outcome is not None:
            raise outcome
        self.wait("connect")
        name = hostname if port == 22 else "[%s]:%d" % (hostname, port)
        known = self.host_keys.lookup(name)
        if known is None:
            self.policy.missing_host_key(self, name, HOST_KEY)
        elif known.get(HOST_KEY.get_name()) != HOST_KEY:
            raise paramiko.BadHostKeyException(hostname, HOST_KEY, list(known.values())[0])

    def get_transport(self):
        return self

    def get_remote_server_key(self):
        return HOST_KEY

    def open_session(self, window_size=None, max_packet_size=None, timeout=None):
        self.wait("open_session")
        return self

    def get_pty(self, term="vt100", width=80, height=24):
        self.wait("get_pty")

    def invoke_shell(self):
        self.wait("invoke_shell")

    def settimeout(self, value):
        pass

    def _log(self, level, message):
        pass

    def close(self):
        self.closed = True
        self.released.set()


@pytest.fixture
def ssh(monkeypatch):
    monkeypatch.setattr(paramiko, "SSHClient", FakeClient)
    monkeypatch.setattr(FakeClient, "plan", [])
    monkeypatch.setattr(FakeClient, "hang", ())
    monkeypatch.setattr(FakeClient, "made", [])
    return FakeClient


def params(tmp_path, **overrides):
    result = dict(host=ADDRESS, username="admin", password=WEB_PW, address=None, ssh_port=2222, ssh_username="admin",
                  private_key_file=None, private_key=private_key_text(), private_key_passphrase=None, os_password=OS_PW,
                  host_key_policy="accept_new", host_key_fingerprint=None, known_hosts_file=str(tmp_path / "known_hosts"),
                  hostname="mgr01", domain="example.com", dns_servers=None, ntp_servers=None, ip_address=None, netmask=None,
                  gateway=None, incident_reporting=False, contact_email_address=None, usage_statistics=False,
                  connect_timeout=300, prompt_timeout=60)
    result.update(overrides)
    return result


def private_key_text():
    out = io.StringIO()
    USER_KEY.write_private_key(out)
    return out.getvalue()


def login(tmp_path, **overrides):
    return ssh_utils.SshLogin(FakeModule(None, params(tmp_path, **overrides), label="first boot"))


# ---- known_hosts: append-only ------------------------------------------------------------------------------------------

def existing_known_hosts(final_newline):
    other = paramiko.ECDSAKey.generate()
    hashed = paramiko.HostKeys.hash_host("10.9.9.9")
    text = "\n".join([
        "# managed by hand: keep this comment",
        "",
        key_line(hashed, other),
        key_line("*.example.com", other, marker="@cert-authority"),
        key_line("10.9.9.8", paramiko.ECDSAKey.generate(), marker="@revoked"),
        "   " + key_line("10.9.9.7,10.9.9.6", other) + "\t# trailing comment",
        "10.9.9.5 ssh-unknown-type AAAAB3NzaC1yc2EAAAADAQABAAABAQ==",
        key_line("10.9.9.4", other),
    ])
    return (text + ("\n" if final_newline else "")).encode("utf-8")


@pytest.mark.parametrize("final_newline", [True, False])
def test_accept_new_appends_one_line_and_keeps_the_file_byte_for_byte(ssh, tmp_path, final_newline):
    path = tmp_path / "known_hosts"
    before = existing_known_hosts(final_newline)
    path.write_bytes(before)
    session = login(tmp_path)()
    assert session is not None
    after = path.read_bytes()
    assert after[:len(before)] == before
    added = after[len(before):].decode("ascii")
    assert added == ("" if final_newline else "\n") + key_line(NAME, HOST_KEY) + "\n"
    # The second login of a first boot finds the key it recorded: nothing more is written.
    login(tmp_path)()
    assert path.read_bytes() == after


def test_a_hashed_entry_of_the_node_is_read(ssh, tmp_path):
    path = tmp_path / "known_hosts"
    path.write_text(key_line(paramiko.HostKeys.hash_host(NAME), HOST_KEY) + "\n")
    before = path.read_bytes()
    login(tmp_path)()
    assert path.read_bytes() == before


def test_a_changed_key_is_refused_and_the_file_left_alone(ssh, tmp_path):
    path = tmp_path / "known_hosts"
    path.write_text(key_line(paramiko.HostKeys.hash_host(NAME), paramiko.ECDSAKey.generate()) + "\n")
    before = path.read_bytes()
    with pytest.raises(Failed, match=r"is not the one recorded in .*known_hosts.*ssh-keygen -R"):
        login(tmp_path)()
    assert path.read_bytes() == before


def test_a_revoked_key_is_refused(ssh, tmp_path):
    path = tmp_path / "known_hosts"
    path.write_text(key_line("*", HOST_KEY, marker="@revoked") + "\n")
    with pytest.raises(FirstBootError, match=r"is marked @revoked in .*known_hosts: refusing to connect"):
        login(tmp_path)()
    assert path.read_text().count("\n") == 1


def test_a_new_known_hosts_file_and_its_directory_are_private(ssh, tmp_path):
    path = tmp_path / "new" / "ssh" / "known_hosts"
    login(tmp_path, known_hosts_file=str(path))()
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert path.read_text() == key_line(NAME, HOST_KEY) + "\n"


def test_strict_policy_writes_nothing(ssh, tmp_path):
    with pytest.raises(Failed, match="is not in .* and host_key_policy is strict"):
        login(tmp_path, host_key_policy="strict")()
    assert not (tmp_path / "known_hosts").exists()


# ---- known_hosts: unreadable lines ----------------------------------------------------------------------------------

@pytest.mark.parametrize("line,problem", [
    ("10.9.9.9 ecdsa-sha2-nistp256", "it needs host names, a key type and a base64 key"),
    ("10.9.9.9 ecdsa-sha2-nistp256 not*base64", "the key is not valid base64"),
    ("@trusted 10.9.9.9 " + HOST_KEY.get_name() + " " + HOST_KEY.get_base64(), "unknown marker @trusted"),
    ("|1|c2FsdA==|aGFzaA== " + HOST_KEY.get_name() + " " + HOST_KEY.get_base64(), "the hashed host name |1|c2FsdA==|aGFzaA== is not"),
    ("10.9.9.9 ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAAAFc2hvcnQ=",
     "the ecdsa-sha2-nistp256 key cannot be read"),
])
def test_an_unreadable_line_fails_with_the_file_and_its_number(ssh, tmp_path, line, problem):
    path = tmp_path / "known_hosts"
    path.write_text("# first\n%s\n%s\n" % (key_line("10.9.9.1", HOST_KEY), line))
    with pytest.raises(FirstBootError) as err:
        login(tmp_path)()
    assert "%s line 3 cannot be read: %s" % (path, problem) in err.value.msg
    assert "Correct or delete that line" in err.value.msg
    assert ssh.made[-1].connect_kwargs is None  # never connected


def test_non_utf8_line(ssh, tmp_path):
    path = tmp_path / "known_hosts"
    path.write_bytes(b"# ok\n\xff\xfe 10.9.9.9\n")
    with pytest.raises(FirstBootError, match="line 2 cannot be read: it is not UTF-8 text"):
        login(tmp_path)()


# ---- the login: retries through the Waiter, every operation bounded -----------------------------------------------------

def test_connect_retries_through_the_waiter_until_connect_timeout(ssh, tmp_path):
    ssh.plan = [socket.error("Connection refused")] * 100
    clock = Clock()
    ssh_login = login(tmp_path, connect_timeout=9)
    ssh_login.clock, ssh_login.sleep = clock, clock.sleep
    with pytest.raises(Failed) as err:
        ssh_login()
    assert ("cannot reach SSH on 10.0.0.10 port 2222 within 9 seconds (Connection refused). Check that the instance runs, that "
            "the security group allows TCP 2222 from this controller") in str(err.value)
    assert clock.sleeps == [2, 2, 2, 2, 1]   # every 2 s, the last one cut to the deadline
    assert len(ssh.made) == 6 and all(client.closed for client in ssh.made)


def test_connect_succeeds_after_refusals(ssh, tmp_path):
    ssh.plan = [socket.error("Connection refused"), EOFError("banner")]
    clock = Clock()
    ssh_login = login(tmp_path)
    ssh_login.clock, ssh_login.sleep = clock, clock.sleep
    assert ssh_login() is not None
    assert clock.sleeps == [2, 2] and ssh_login.fingerprint == ssh_utils.fingerprint(HOST_KEY)
    kwargs = ssh.made[-1].connect_kwargs
    assert kwargs["timeout"] == 10 and kwargs["banner_timeout"] == 30 and kwargs["auth_timeout"] == 30 and kwargs["channel_timeout"] == 60


@pytest.mark.parametrize("operation,text", [
    ("open_session", "opening an SSH session on 10.0.0.10 port 2222 did not complete within 1 seconds"),
    ("get_pty", "requesting a terminal (get_pty) on 10.0.0.10 port 2222 did not complete within 1 seconds"),
    ("invoke_shell", "starting the shell (invoke_shell) on 10.0.0.10 port 2222 did not complete within 1 seconds"),
])
def test_a_channel_operation_that_hangs_fails_naming_it(ssh, tmp_path, operation, text):
    ssh.hang = (operation,)
    ssh_login = login(tmp_path, prompt_timeout=1)
    with pytest.raises(FirstBootError) as err:
        ssh_login()
    assert text in err.value.msg and "the SSH connection to the Management Node stalled" in err.value.msg
    assert err.value.msg.endswith("or raise prompt_timeout if the node is only slow.")
    ssh_login.close()
    assert ssh.made[-1].closed


def test_a_login_that_hangs_fails_naming_it(ssh, tmp_path, monkeypatch):
    monkeypatch.setattr(ssh_utils, "CONNECT_BOUND", 0.5)
    ssh.hang = ("connect",)
    with pytest.raises(FirstBootError) as err:
        login(tmp_path)()
    assert "connecting to SSH on 10.0.0.10 port 2222 did not complete within 0.5 seconds" in err.value.msg
    assert err.value.msg.endswith("or check the address and that the security group allows TCP 2222 from this controller.")
    assert ssh.made[-1].closed


# ---- the module: a hang and bad answers end the task with a message --------------------------------------------------------

def run(module_run, monkeypatch, tmp_path, **args):
    monkeypatch.setattr(mod, "api_state", lambda module: "down")
    base = dict(host=ADDRESS, password=WEB_PW, ssh_port=2222, private_key=private_key_text(), os_password=OS_PW,
                known_hosts_file=str(tmp_path / "known_hosts"), hostname="mgr01", domain="example.com", wait=False)
    base.update(args)
    return module_run(mod, FakeApi(), **base)


def test_module_fails_when_the_shell_hangs(module_run, monkeypatch, tmp_path, ssh):
    ssh.hang = ("get_pty",)
    result = run(module_run, monkeypatch, tmp_path, prompt_timeout=1)
    assert result["failed"]
    assert "requesting a terminal (get_pty) on 10.0.0.10 port 2222 did not complete within 1 seconds" in result["msg"]
    assert ssh.made[-1].closed


def test_module_fails_when_reading_hangs(module_run, monkeypatch, tmp_path, ssh):
    release = threading.Event()
    monkeypatch.setattr(FakeClient, "recv", lambda self, size: release.wait(30) and b"", raising=False)
    try:
        result = run(module_run, monkeypatch, tmp_path, prompt_timeout=1)
    finally:
        release.set()
    assert result["failed"] and "reading from the SSH session did not complete within 1 seconds" in result["msg"]


@pytest.mark.parametrize("args,expected", [
    (dict(hostname="mgr\n01"), "hostname ('mgr\\n01') contains the control character U+000A at position 4"),
    (dict(ntp_servers=["10.0.0.1", "10.0.0.2\r"]), "ntp_servers[1] ('10.0.0.2\\r') contains the control character U+000D"),
    (dict(domain="example\x7f.com"), "domain ('example\\x7f.com') contains the control character U+007F"),
    (dict(os_password="os-Secret\n123"), "os_password contains the control character U+000A at position 10"),
    (dict(password="web\tSecret"), "password contains the control character U+0009 at position 4"),
    (dict(incident_reporting=True), "incident_reporting is enabled"),
    (dict(incident_reporting=True, contact_email_address="ops at example.com"), "contact_email_address 'ops at example.com' is not an e-mail"),
    (dict(ip_address="10.0.1.10", netmask="255.255.255.0", gateway="10.0.2.1"), "gateway 10.0.2.1 is not inside the network 10.0.1.0/24"),
    (dict(dns_servers=["dns.example.com"]), "dns_servers[0] 'dns.example.com' is not an IPv4 address"),
    (dict(hostname="mgr_01"), "hostname 'mgr_01' is not a host name"),
])
def test_bad_answers_are_refused_before_connecting(module_run, monkeypatch, tmp_path, ssh, args, expected):
    api_calls = []
    monkeypatch.setattr(mod, "api_state", lambda module: api_calls.append(1) or "down")
    result = module_run(mod, FakeApi(), **dict(dict(host=ADDRESS, password=WEB_PW, private_key=private_key_text(), os_password=OS_PW,
                                                    known_hosts_file=str(tmp_path / "known_hosts"), hostname="mgr01",
                                                    domain="example.com"), **args))
    assert result["failed"] and expected in result["msg"], result["msg"]
    assert "os-Secret" not in result["msg"] and "web\tSecret" not in result["msg"]
    assert ssh.made == [] and api_calls == []


# ---- "installed" means the API's JSON, not any 2xx ------------------------------------------------------------------------

def html_page(method, path):
    return response(text="<html><body>Welcome to nginx!</body></html>", headers={"Content-Type": "text/html"})


@pytest.mark.parametrize("fault,installed", [(None, True), (html_page, False), (lambda m, p: response(body={"detail": "ok"}), False)])
def test_only_the_apis_json_counts_as_installed(module_run, tmp_path, ssh, fault, installed):
    api = FakeApi()
    if fault:
        api.faults.append(fault)
    result = module_run(mod, api, check_mode=True, address=ADDRESS, password=WEB_PW, private_key=private_key_text(), os_password=OS_PW,
                        known_hosts_file=str(tmp_path / "known_hosts"), hostname="mgr01", domain="example.com")
    assert not result.get("failed"), result
    assert result["changed"] is not installed and result["api_ready"] is installed
    assert ssh.made == []


def test_something_else_answering_after_the_wizard_is_named(tmp_path, monkeypatch):
    fake = FakeModule(None, dict(host=ADDRESS, username="admin", wait_timeout=0, poll_interval=1, timeout=10))
    api = FakeApi()
    api.faults.append(html_page)
    monkeypatch.setattr(fake, "new_client", lambda **kwargs: api.client(), raising=False)
    with pytest.raises(Failed) as err:
        mod.wait_for_api(fake)
    assert "something else answers there" in str(err.value) and "text/html" in str(err.value)


def test_the_key_read_from_private_key_file_is_a_no_log_value(ssh, tmp_path):
    key_file = tmp_path / "id_ecdsa"
    key_file.write_text(private_key_text())
    fake = FakeModule(None, params(tmp_path, private_key=None, private_key_file=str(key_file)), label="first boot")
    fake.no_log_values = set()
    ssh_utils.SshLogin(fake)
    text = private_key_text()
    assert text in fake.no_log_values
    body = [line for line in text.splitlines() if not line.startswith("-----")]
    assert body and all(line in fake.no_log_values for line in body if len(line) >= 16)


# ---- the first contact with a new Management Node's self-signed certificate ----------------------------------------------

def test_trust_on_first_use_is_refused_for_a_public_address_before_connecting(module_run, monkeypatch, tmp_path, ssh):
    api_calls = []
    monkeypatch.setattr(mod, "api_state", lambda module: api_calls.append(1) or "down")
    result = module_run(mod, FakeApi(), host="203.0.113.10", trust_on_first_use=True, password=WEB_PW, private_key=private_key_text(),
                        os_password=OS_PW, known_hosts_file=str(tmp_path / "known_hosts"), hostname="mgr01", domain="example.com")
    assert result["failed"] and "trust_on_first_use trusts only a private address" in result["msg"], result["msg"]
    assert "fingerprint" in result["msg"] and ssh.made == [] and api_calls == []


def test_a_certificate_that_does_not_verify_is_pinned_on_first_use_over_a_private_address(monkeypatch):
    fake = FakeModule(None, dict(host=ADDRESS, trust_on_first_use=True, fingerprint=None, timeout=10))
    client = type("Client", (), {"base": "https://%s:443" % ADDRESS})()
    monkeypatch.setattr(mod, "served_fingerprint", lambda base, timeout: "ab" * 32)
    mod.trust_on_first_use(fake, client, mod.PexipTLSError("The TLS certificate of https://10.0.0.10 could not be verified."))
    assert fake.params["fingerprint"] == "ab" * 32 and fake.tls_trust == "trust_on_first_use"


def test_without_trust_on_first_use_a_certificate_that_does_not_verify_fails_saying_what_to_set():
    fake = FakeModule(None, dict(host=ADDRESS, trust_on_first_use=False, fingerprint=None, timeout=10))
    with pytest.raises(Failed) as err:
        mod.trust_on_first_use(fake, None, mod.PexipTLSError("The TLS certificate of https://10.0.0.10 could not be verified."))
    assert "trust_on_first_use: true" in str(err.value) and "fingerprint" in str(err.value)
