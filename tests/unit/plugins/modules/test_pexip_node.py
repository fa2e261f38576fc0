# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pexip_node / pexip_node_info: validation, payloads, call counting, draining and the module flows (fake client)."""

import json
import os
import stat
import threading

import pytest

from fakes import FakeApi, response

from ansible_collections.pexip.infinity.plugins.module_utils import nodes, waiter
from ansible_collections.pexip.infinity.plugins.module_utils.api import TransportError
from ansible_collections.pexip.infinity.plugins.module_utils.catalog import NODE
from ansible_collections.pexip.infinity.plugins.modules import pexip_node, pexip_node_info

LOC = "/api/admin/configuration/v1/system_location/1/"
EDGE = "/api/admin/configuration/v1/system_location/2/"
GOOD = dict(name="cn-1", hostname="cn-1", domain="example.com", address="10.0.1.10", netmask="255.255.255.0",
            gateway="10.0.1.1", system_location="London", ssh_password="secret")


# -- pure helpers -------------------------------------------------------------------------------
@pytest.mark.parametrize("value,expected", [("10.0.1.1", True), ("255.255.255.255", True), ("10.0.1", False), ("10.0.1.256", False),
                                            ("10.0.01.1", False), ("a.b.c.d", False), ("", False), (None, False)])
def test_is_ipv4(value, expected):
    assert nodes.is_ipv4(value) is expected


@pytest.mark.parametrize("mask,prefix", [("255.255.255.0", 24), ("255.255.255.255", 32), ("255.0.0.0", 8), ("255.255.255.252", 30),
                                         ("255.255.0.255", None), ("0.0.0.0", None), ("255.255.255.1", None), ("24", None)])
def test_netmask_prefix(mask, prefix):
    assert nodes.netmask_prefix(mask) == prefix


@pytest.mark.parametrize("value,expected", [("24", "255.255.255.0"), ("/20", "255.255.240.0"), ("32", "255.255.255.255"),
                                            ("255.255.0.0", "255.255.0.0"), ("40", "40")])
def test_normalize_netmask(value, expected):
    assert nodes.normalize_netmask(value) == expected


def test_validate_good():
    assert nodes.validate_node(dict(GOOD)) == []


@pytest.mark.parametrize("change,fragment", [
    (dict(name="x" * 33), "name is 33 characters long; at most 32"),
    (dict(hostname="h" * 64), "hostname is 64 characters long; at most 63"),
    (dict(hostname="cn-1.example.com"), "hostname 'cn-1.example.com' is not a valid host name"),
    (dict(domain="bad domain"), "domain 'bad domain' is not a valid DNS domain"),
    (dict(address="10.0.1"), "address '10.0.1' is not an IPv4 address"),
    (dict(gateway="gw"), "gateway 'gw' is not an IPv4 address"),
    (dict(netmask="255.0.255.0"), "netmask '255.0.255.0' is not a valid IPv4 netmask"),
    (dict(gateway="10.0.2.1"), "gateway 10.0.2.1 is not inside the node's subnet 10.0.1.10/255.255.255.0"),
    (dict(gateway="10.0.1.10"), "must not be the node's own address"),
    (dict(static_nat_address="nat"), "static_nat_address 'nat' is not an IPv4 address"),
    (dict(maintenance_mode_reason="r" * 251), "maintenance_mode_reason is 251 characters long"),
    (dict(address="10.0.1.0"), "address 10.0.1.0 is the network address of the subnet 10.0.1.0/24"),
    (dict(address="10.0.1.255"), "address 10.0.1.255 is the broadcast address of the subnet 10.0.1.0/24"),
    (dict(address="10.0.1.1"), "gateway 10.0.1.1 must not be the node's own address"),
])
def test_validate_errors(change, fragment):
    params = dict(GOOD, **change)
    errors = nodes.validate_node(params)
    assert any(fragment in e for e in errors), errors


@pytest.mark.parametrize("change,fragment", [
    (dict(gateway="10.0.1.0"), "gateway 10.0.1.0 is the network address of the subnet 10.0.1.0/24"),
    (dict(gateway="10.0.1.255"), "gateway 10.0.1.255 is the broadcast address of the subnet 10.0.1.0/24"),
    (dict(address="0.0.0.10", gateway="0.0.0.1"), "address 0.0.0.10 is in 0.0.0.0/8 ('this network'), not a host address"),
    (dict(address="224.0.1.10", gateway="224.0.1.1"), "address 224.0.1.10 is a multicast address"),
    (dict(address="169.254.1.10", gateway="169.254.1.1"), "address 169.254.1.10 is a link-local address"),
    (dict(static_nat_address="0.0.0.0"), "static_nat_address 0.0.0.0 is in 0.0.0.0/8"),
    (dict(static_nat_address="255.255.255.255"), "static_nat_address 255.255.255.255 is a reserved (class E) or the broadcast address"),
    (dict(static_nat_address="10.1.2.3"), "static_nat_address 10.1.2.3 is a private address"),
    (dict(static_nat_address="192.168.7.7"), "static_nat_address 192.168.7.7 is a private address"),
    (dict(domain="a" * 64 + ".example.com"), "domain '%s.example.com': its label '%s' is 64 characters long; a DNS label has at most 63"
     % ("a" * 64, "a" * 64)),
])
def test_validation_gaps_of_issue_27(change, fragment, fake):
    errors = nodes.validate_node(dict(GOOD, **change))
    assert any(fragment in e for e in errors), errors
    result = run(pexip_node, api=fake, args=dict(GOOD, **change))  # refused before any request
    assert result["failed"] and fragment in result["msg"] and fake.log == []


def test_public_static_nat_addresses_are_accepted():
    for nat in ("198.51.100.10", "203.0.113.10", "52.18.1.1"):
        assert nodes.validate_node(dict(GOOD, static_nat_address=nat)) == []


def test_wait_options_are_checked():
    assert any("wait_timeout must be at least 1 second" in e for e in waiter.wait_errors(dict(wait_timeout=0)))
    assert any("poll_interval must be a positive number" in e for e in waiter.wait_errors(dict(wait_timeout=5, poll_interval=0)))
    assert waiter.wait_errors(dict(wait_timeout=1, poll_interval=0.5)) == []


def test_point_to_point_subnets_have_no_network_address():
    assert nodes.validate_node(dict(GOOD, address="10.0.1.0", gateway="10.0.1.1", netmask="255.255.255.254")) == []


def test_static_nat_clear_is_valid():
    assert nodes.validate_node(dict(GOOD, static_nat_address="")) == []


def test_missing_on_create():
    assert nodes.missing_on_create(dict(name="x", hostname="h", ssh_password="")) == [
        "domain", "address", "netmask", "gateway", "system_location", "ssh_password"]


def test_node_declaration_maps_role_and_ssh_and_keeps_the_password_out():
    api = FakeApi()
    from fakes import FakeModule  # pylint: disable=import-outside-toplevel
    from ansible_collections.pexip.infinity.plugins.module_utils.resource import Engine  # pylint: disable=import-outside-toplevel
    params = dict((f.option, None) for f in NODE.fields)
    params.update(GOOD, role="proxying", enable_ssh="off", tls_certificate="", description=None)
    data = Engine(FakeModule(api.client(), params), NODE).wanted(params)
    assert data["node_type"] == "PROXYING"
    assert data["enable_ssh"] == "OFF"
    assert data["system_location"] == "London"  # a name, sent as its URI
    assert data["tls_certificate"] is None
    assert "description" not in data and "ssh_password" not in data and "password" not in data


def test_changes_compare_related_objects_and_empty_values():
    from fakes import FakeModule  # pylint: disable=import-outside-toplevel
    from ansible_collections.pexip.infinity.plugins.module_utils.resource import Engine  # pylint: disable=import-outside-toplevel
    api = node_api()
    engine = Engine(FakeModule(api.client(), {}), NODE)
    current = {"address": "10.0.1.10", "hostname": "cn-1", "static_nat_address": None, "system_location": {"resource_uri": LOC}}
    wanted = {"address": "10.0.1.11", "hostname": "cn-1", "static_nat_address": None, "system_location": "London"}
    assert engine.changes(current, wanted) == ["address"]


def test_role_conflicts():
    others = [{"name": "a", "node_type": "CONFERENCING"}, {"name": "b", "node_type": "PROXYING"}, {"name": "me", "node_type": "CONFERENCING"}]
    assert nodes.role_conflicts(others, "PROXYING", own_name="me") == ["a"]
    assert nodes.role_conflicts(others, "CONFERENCING", own_name="me") == ["b"]


class Resp(object):
    def __init__(self, text, status_code=201):
        self.text = text
        self.status_code = status_code


def test_bootstrap_document():
    assert nodes.bootstrap_document(Resp("<?xml version='1.0'?><a/>")) == "<?xml version='1.0'?><a/>"
    assert nodes.bootstrap_document(Resp(json.dumps({"config": "<a/>"}))) == "<a/>"
    assert nodes.bootstrap_document(Resp(json.dumps({"id": 3}))) is None
    assert nodes.bootstrap_document(None) is None


def test_write_private(tmp_path):
    dest = tmp_path / "node.xml"
    dest.write_text("old")
    os.chmod(str(dest), 0o644)
    nodes.write_private(str(dest), "<doc/>")
    assert dest.read_text() == "<doc/>"
    assert stat.S_IMODE(os.stat(str(dest)).st_mode) == 0o600
    assert sorted(os.listdir(str(tmp_path))) == ["node.xml"]


# -- fake Management Node ----------------------------------------------------------------------
def node_api():
    api = FakeApi({"system_location": [{"id": 1, "name": "London", "resource_uri": LOC}, {"id": 2, "name": "Edge", "resource_uri": EDGE}],
                   "worker_vm": []},
                  status={"participant": [], "conference_shard": [], "worker_vm": []})
    api.next_id = 9
    return api


def add_node(api, **kw):
    obj = dict(name="cn-1", hostname="cn-1", domain="example.com", address="10.0.1.10", netmask="255.255.255.0",
               gateway="10.0.1.1", system_location=LOC, node_type="CONFERENCING", maintenance_mode=False,
               maintenance_mode_reason="", enable_ssh="GLOBAL", enable_distributed_database=True,
               static_nat_address=None, description="", tls_certificate=None, snmp_community="public-secret")
    obj.update(kw)
    return api.add("worker_vm", **obj)


@pytest.fixture
def fake(module_run, monkeypatch):
    api = node_api()
    monkeypatch.setattr(waiter.time, "sleep", lambda s: None)
    api.run = module_run
    return api


def writes(api):
    return [(m, p, d) if m != "DELETE" else (m, p) for m, p, d in api.writes()]


def run(mod, check_mode=False, diff=False, args=None, api=None, **kwargs):
    return api.run(mod, api, check_mode=check_mode, diff=diff, **dict(args or {}, **kwargs))


def test_create_returns_document_and_is_idempotent(fake):
    result = run(pexip_node, api=fake, check_mode=True, diff=True, return_content=True, args=GOOD)
    assert result["changed"] and result["created"] and writes(fake) == []
    assert "bootstrap_config" not in result
    assert result["diff"]["after"]["password"] == "********"

    result = run(pexip_node, api=fake, return_content=True, args=GOOD)
    assert result["changed"] and result["bootstrap_config"].startswith("<?xml")
    post = writes(fake)[0][2]
    assert post["deployment_type"] == "MANUAL-PROVISION-ONLY" and post["password"].startswith("$6$") and post["node_type"] == "CONFERENCING"
    assert result["node"]["role"] == "transcoding"

    fake.log[:] = []
    result = run(pexip_node, api=fake, return_content=True, args=GOOD)
    assert not result["changed"] and writes(fake) == [] and "bootstrap_config" not in result


def test_document_is_only_returned_when_asked_and_never_in_a_failure(fake, monkeypatch):
    result = run(pexip_node, api=fake, return_content=False, args=GOOD)
    assert result["created"] and "bootstrap_config" not in result and "s3" not in repr(result)
    fake.tables["worker_vm"][:] = []
    # not asked (the default): not returned either, and the user is told the document is lost
    result = run(pexip_node, api=fake, args=GOOD)
    assert result["created"] and "bootstrap_config" not in result and "s3" not in repr(result)
    assert any("neither written (config_dest) nor returned (return_content: true)" in w for w in fake.warnings)
    fake.tables["worker_vm"][:] = []
    # created, then the drain times out (a call on the new address): the failure carries no document
    fake.status["participant"] = [{"id": "p1", "media_node": "10.0.1.10"}]
    clock = [0.0]
    monkeypatch.setattr(waiter.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(waiter.time, "sleep", lambda s: clock.__setitem__(0, clock[0] + s))
    result = run(pexip_node, api=fake, maintenance_mode=True, wait_for_idle=True, idle_timeout=5, return_content=True, args=GOOD)
    assert result["failed"] and result["created"] and "still carrying" in result["msg"]
    assert "bootstrap_config" not in result and "s3" not in repr(result)


def test_create_writes_config_dest(fake, tmp_path):
    dest = str(tmp_path / "cn-1.xml")
    # written, so never returned as well (not even when asked)
    result = run(pexip_node, api=fake, config_dest=dest, return_content=True, args=GOOD)
    assert result["config_dest"] == dest and "bootstrap_config" not in result and "s3" not in repr(result)
    assert not fake.warnings
    assert stat.S_IMODE(os.stat(dest).st_mode) == 0o600
    assert "secret='s3'" in open(dest).read()


PAGE = "https://10.0.1.10:8443/configuration/bootstrap"


def bootstrap_page(fake, *answers):
    """The instance's bootstrap page behind ``fake``: answers POSTs with ``answers`` in turn; returns what it got."""
    received = []
    request = fake.request

    def page(method, url, data=None, headers=None, verify=None, **kwargs):
        if not url.startswith("https://10.0.1.10:8443/"):
            return request(method, url, data=data, headers=headers, verify=verify, **kwargs)
        received.append(dict(method=method, url=url, data=data, headers=headers, verify=verify))
        answer = answers[min(len(received), len(answers)) - 1]  # the last one again and again
        if callable(answer):
            answer = answer()
        if isinstance(answer, Exception):
            raise answer
        return response(answer[0], text=answer[1], url=url)

    fake.request = page
    return received


def test_bootstrap_upload_sends_the_new_nodes_document_to_its_instance(fake, tmp_path):
    received = bootstrap_page(fake, (200, "Configuration accepted; the node will now reboot."))
    upload = dict(address="10.0.1.10", validate_certs=False)
    result = run(pexip_node, api=fake, check_mode=True, bootstrap_upload=upload, args=GOOD)
    assert result["changed"] and result["created"] and received == [] and writes(fake) == []

    result = run(pexip_node, api=fake, bootstrap_upload=upload, args=GOOD)
    assert result["changed"] and result["created"] and not fake.warnings
    assert [(r["method"], r["url"], r["headers"], r["verify"]) for r in received] == [("POST", PAGE, {"Content-Type": "text/xml"}, False)]
    assert received[0]["data"] == b"<?xml version='1.0'?><node name='cn-1' secret='s3'/>"
    assert result["bootstrap_upload"] == dict(url=PAGE, status=200, message="Configuration accepted; the node will now reboot.", attempts=1)
    # The document never leaves the module: no file, nothing in the result.
    assert "s3" not in repr(result) and "bootstrap_config" not in result and os.listdir(str(tmp_path)) == []

    # An existing node has no document to upload.
    result = run(pexip_node, api=fake, bootstrap_upload=upload, args=GOOD)
    assert not result["changed"] and len(received) == 1 and "bootstrap_upload" not in result


@pytest.mark.parametrize("answer,fragment", [
    ((409, "This node is already configured."), "instance 10.0.1.10 says it is already configured (This node is already configured.)"),
    ((400, "Not a bootstrap document"), "the node refused the bootstrap document (HTTP 400): Not a bootstrap document"),
    (TransportError("certificate verify failed", tls=True), "could not be verified"),
])
def test_bootstrap_upload_failure_says_the_node_exists_and_what_to_do(fake, answer, fragment):
    bootstrap_page(fake, answer)
    result = run(pexip_node, api=fake, bootstrap_upload=dict(address="10.0.1.10"), args=GOOD)
    assert result["failed"] and result["created"] and fragment in result["msg"], result["msg"]
    assert result["msg"].startswith("pexip_node 'cn-1': the node was created, but its bootstrap document could not be uploaded")
    assert result["msg"].endswith("Delete the node (state: absent) and create it again for a new document.")
    assert "s3" not in repr(result) and len(fake.tables["worker_vm"]) == 1


@pytest.mark.parametrize("upload,extra,fragment", [
    (dict(address="10.0.1.10", port=70000), {}, "bootstrap_upload: port 70000 is not a TCP port"),
    (dict(address=" "), {}, "bootstrap_upload: address must not be empty"),
    (dict(address="10.0.1.10", ca_path="/no/such/ca.pem"), {}, "bootstrap_upload: ca_path /no/such/ca.pem is not a file"),
    (dict(address="10.0.1.10", wait_timeout=0), {}, "bootstrap_upload: wait_timeout must be at least 1 second, got 0"),
    (dict(address="10.0.1.10"), dict(config_dest="/tmp/x.xml"), "mutually exclusive: bootstrap_upload|config_dest"),
])
def test_bootstrap_upload_options_are_checked_before_any_request(fake, upload, extra, fragment):
    result = run(pexip_node, api=fake, bootstrap_upload=upload, args=dict(GOOD, **extra))
    assert result["failed"] and fragment in result["msg"], result["msg"]
    assert fake.log == []


def refused_slowly():
    threading.Event().wait(0.05)  # wait_timeout passes in real time (time.sleep is stubbed): a few dozen attempts
    return TransportError("refused")


def test_bootstrap_upload_whose_answer_was_lost_says_to_wait_not_to_delete(fake):
    # The POST went out, its answer was lost; the node reboots with the document and refuses connections meanwhile.
    bootstrap_page(fake, TransportError("read timed out", sent=True), refused_slowly)
    upload = dict(address="10.0.1.10", validate_certs=False, wait_timeout=1)
    result = run(pexip_node, api=fake, bootstrap_upload=upload, args=GOOD)
    assert result["failed"] and result["created"] and result["bootstrap_upload"]["maybe_sent"] is True
    assert "may have accepted the document" in result["msg"] and "pexip_node_info: synced" in result["msg"], result["msg"]
    assert "create it again for a new document" not in result["msg"]


def test_bootstrap_upload_is_pinned_and_unverified_public_uploads_are_refused(fake):
    received = bootstrap_page(fake, (200, "Configuration accepted"))
    pin = "AB:" * 31 + "AB"
    result = run(pexip_node, api=fake, bootstrap_upload=dict(address="10.0.1.10", fingerprint=pin), args=GOOD)
    assert result["changed"] and received[0]["verify"].pin == "ab" * 32
    fake.tables["worker_vm"][:] = []
    fake.log[:] = []
    result = run(pexip_node, api=fake, bootstrap_upload=dict(address="203.0.113.10", validate_certs=False), args=GOOD)
    assert result["failed"] and "bootstrap_upload: an upload to 203.0.113.10 that does not verify the instance" in result["msg"]
    assert fake.log == []


def test_lost_document_is_recreated(fake):
    def lose_answer(method, path):
        if method == "POST" and path.endswith("/worker_vm/"):
            fake.faults.remove(lose_answer)
            fake.request(method, "https://mgr.example.com" + path, json=fake.log.pop()[2])  # created...
            raise TransportError("read timed out", sent=True)  # ...but the answer is lost

    fake.faults.append(lose_answer)
    result = run(pexip_node, api=fake, return_content=True, args=GOOD)
    assert result["bootstrap_config"]
    kinds = [w[0] for w in writes(fake)]
    assert kinds == ["POST", "DELETE", "POST"]
    assert len(fake.tables["worker_vm"]) == 1


def test_a_taken_address_is_refused_by_name_before_any_write(fake):
    add_node(fake, name="cn-2", hostname="cn-2", address="10.0.1.10")
    result = run(pexip_node, api=fake, args=GOOD)
    assert result["failed"] and "address 10.0.1.10 is already the address of node cn-2" in result["msg"], result["msg"]
    assert writes(fake) == []
    # a recreate onto it is refused before the delete
    add_node(fake, name="cn-1", hostname="cn-1", address="10.0.1.11")
    result = run(pexip_node, api=fake, recreate=True, args=GOOD)
    assert result["failed"] and "address 10.0.1.10 is already the address of node cn-2" in result["msg"] and writes(fake) == []


def test_create_needs_all_fields(fake):
    result = run(pexip_node, api=fake, name="cn-1", address="10.0.1.10")
    assert result["failed"] and "to create it, also give hostname, domain, netmask, gateway, system_location, ssh_password" in result["msg"]
    assert result["msg"].startswith("pexip_node 'cn-1': ")


def test_validation_before_any_request(fake):
    result = run(pexip_node, api=fake, args=dict(GOOD, gateway="192.168.0.1"))
    assert result["failed"] and "not inside the node's subnet" in result["msg"] and fake.log == []


def test_unknown_location(fake):
    result = run(pexip_node, api=fake, args=dict(GOOD, system_location="Nowhere"))
    assert result["failed"] and "system location 'Nowhere' does not exist" in result["msg"] and writes(fake) == []


def test_role_mix_refused(fake):
    add_node(fake, name="edge-1", hostname="edge-1", address="10.0.2.10", system_location=EDGE, node_type="PROXYING")
    result = run(pexip_node, api=fake, args=dict(GOOD, system_location="Edge"))
    assert result["failed"] and "already holds proxying node(s) edge-1" in result["msg"] and writes(fake) == []


def test_replace_field_refused_without_recreate(fake):
    add_node(fake)
    result = run(pexip_node, api=fake, args=dict(GOOD, address="10.0.1.20"))
    assert result["failed"] and writes(fake) == []
    assert "changing address of an existing node needs a new bootstrap document" in result["msg"]
    assert "set recreate: true to delete and recreate the node (its instance must then be re-bootstrapped)" in result["msg"]


def test_recreate(fake):
    add_node(fake)
    result = run(pexip_node, api=fake, recreate=True, return_content=True, args=dict(GOOD, address="10.0.1.20"))
    assert result["changed"] and result["recreated"] and result["bootstrap_config"]
    assert [w[0] for w in writes(fake)] == ["DELETE", "POST"]
    assert fake.tables["worker_vm"][0]["address"] == "10.0.1.20"


def test_recreate_refused_with_calls(fake):
    add_node(fake)
    fake.status["conference_shard"] = [{"node": "10.0.1.10"}]
    result = run(pexip_node, api=fake, recreate=True, args=dict(GOOD, address="10.0.1.20"))
    assert result["failed"] and "1 live call(s)" in result["msg"] and writes(fake) == []


def test_update_patches_only_changes_and_warns_on_restart(fake):
    add_node(fake)
    result = run(pexip_node, api=fake, diff=True, name="cn-1", role="proxying", description="edge", static_nat_address="")
    assert result["changed"]
    assert writes(fake) == [("PATCH", "/api/admin/configuration/v1/worker_vm/10/", {"node_type": "PROXYING", "description": "edge"})]
    assert any("changing role of node 'cn-1' restarts the node" in w for w in fake.warnings)
    assert result["diff"]["after"] == {"node_type": "PROXYING", "description": "edge"}


@pytest.mark.parametrize("change,what", [(dict(role="proxying"), "change role of the node"),
                                         (dict(system_location="Edge"), "change system location of the node"),
                                         (dict(role="proxying", system_location="Edge"), "change role and system location of the node")])
def test_restart_refused_with_calls_unless_force(fake, change, what):
    add_node(fake)
    fake.status["participant"] = [{"id": "p1", "media_node": "10.0.1.10"}]
    fake.status["conference_shard"] = [{"node": "10.0.1.10"}]
    expected = ("pexip_node 'cn-1': refusing to %s, which restarts it: it still carries 2 live call(s): 1 participant(s) and "
                "1 conference shard(s). Drain it first (maintenance_mode: true, wait_for_idle: true) or set force: true" % what)
    for check_mode in (True, False):
        result = run(pexip_node, api=fake, check_mode=check_mode, name="cn-1", description="moved", **change)
        assert result["failed"] and result["msg"].startswith(expected), result["msg"]
        assert result["calls"]["total"] == 2 and writes(fake) == []
    assert fake.obj("worker_vm", 10)["node_type"] == "CONFERENCING" and fake.obj("worker_vm", 10)["system_location"] == LOC

    result = run(pexip_node, api=fake, check_mode=True, force=True, name="cn-1", **change)
    assert result["changed"] and writes(fake) == []
    result = run(pexip_node, api=fake, force=True, name="cn-1", **change)
    assert result["changed"] and [w[0] for w in writes(fake)] == ["PATCH"]
    assert any("restarts the node and drops the calls" in w for w in fake.warnings)


def test_calls_do_not_block_changes_that_do_not_restart(fake):
    add_node(fake)
    fake.status["participant"] = [{"id": "p1", "media_node": "10.0.1.10"}]
    result = run(pexip_node, api=fake, name="cn-1", role="transcoding", system_location="London", description="still here")
    assert result["changed"] and writes(fake) == [("PATCH", "/api/admin/configuration/v1/worker_vm/10/", {"description": "still here"})]
    assert "calls" not in result


# -- TLS certificate by subject name ----------------------------------------------------------------
def cert_api(fake):
    fake.add("tls_certificate", id=1, subject_name="mgr.example.com", serial_no="01")
    fake.add("tls_certificate", id=2, subject_name="cn-1.example.com", serial_no="02")
    return fake


def tls(oid):
    return "/api/admin/configuration/v1/tls_certificate/%d/" % oid


def test_tls_certificate_by_subject_name_is_idempotent(fake):
    add_node(fake)
    cert_api(fake)
    result = run(pexip_node, api=fake, check_mode=True, diff=True, name="cn-1", tls_certificate="cn-1.example.com")
    assert result["changed"] and writes(fake) == []
    assert result["diff"] == {"before": {"tls_certificate": None}, "after": {"tls_certificate": "cn-1.example.com"}}
    result = run(pexip_node, api=fake, name="cn-1", tls_certificate="cn-1.example.com")
    assert result["changed"] and writes(fake) == [("PATCH", "/api/admin/configuration/v1/worker_vm/10/", {"tls_certificate": tls(2)})]
    assert result["node"]["tls_certificate"] == tls(2)

    fake.log[:] = []
    for value in ("cn-1.example.com", tls(2)):  # the URI is still accepted
        result = run(pexip_node, api=fake, diff=True, name="cn-1", tls_certificate=value)
        assert not result["changed"] and writes(fake) == []

    result = run(pexip_node, api=fake, diff=True, name="cn-1", tls_certificate="mgr.example.com")
    assert result["changed"] and writes(fake)[-1][2] == {"tls_certificate": tls(1)}
    assert result["diff"] == {"before": {"tls_certificate": "cn-1.example.com"}, "after": {"tls_certificate": "mgr.example.com"}}
    result = run(pexip_node, api=fake, name="cn-1", tls_certificate="")
    assert result["changed"] and writes(fake)[-1][2] == {"tls_certificate": None}


def test_tls_certificate_unknown_or_ambiguous_is_refused_before_any_write(fake):
    add_node(fake)
    cert_api(fake)
    result = run(pexip_node, api=fake, name="cn-1", tls_certificate="cn-2.example.com")
    assert result["failed"] and writes(fake) == []
    assert result["msg"] == ("pexip_node 'cn-1': TLS certificate 'cn-2.example.com' does not exist on the Management Node (its subject "
                             "names: cn-1.example.com, mgr.example.com); create it first (pexip.infinity.pexip_tls_certificate) or "
                             "correct the subject name.")
    result = run(pexip_node, api=fake, name="cn-1", tls_certificate=tls(9))
    assert result["failed"] and "TLS certificate '%s' does not exist" % tls(9) in result["msg"] and writes(fake) == []

    fake.add("tls_certificate", id=3, subject_name="cn-1.example.com", serial_no="03")
    for check_mode in (True, False):
        result = run(pexip_node, api=fake, check_mode=check_mode, name="cn-1", tls_certificate="cn-1.example.com")
        assert result["failed"] and writes(fake) == []
        assert result["msg"] == ("pexip_node 'cn-1': 2 TLS certificates have the subject name 'cn-1.example.com' (%s, %s): give the "
                                 "resource URI of the one to use instead." % (tls(2), tls(3)))
    result = run(pexip_node, api=fake, name="cn-1", tls_certificate=tls(3))
    assert result["changed"] and writes(fake) == [("PATCH", "/api/admin/configuration/v1/worker_vm/10/", {"tls_certificate": tls(3)})]


def test_tls_certificate_of_a_new_node(fake, tmp_path):
    cert_api(fake)
    result = run(pexip_node, api=fake, config_dest=str(tmp_path / "cn-1.xml"), tls_certificate="cn-1.example.com", args=GOOD)
    assert result["created"] and writes(fake)[0][2]["tls_certificate"] == tls(2)
    fake.tables["worker_vm"][:] = []
    fake.log[:] = []
    result = run(pexip_node, api=fake, config_dest=str(tmp_path / "cn-1.xml"), tls_certificate="nope", args=GOOD)
    assert result["failed"] and "TLS certificate 'nope' does not exist" in result["msg"] and writes(fake) == []


def test_update_password_always(fake):
    add_node(fake)
    result = run(pexip_node, api=fake, name="cn-1", ssh_password="pw2")
    assert not result["changed"] and writes(fake) == []
    result = run(pexip_node, api=fake, name="cn-1", ssh_password="pw2", update_password="always")
    assert result["changed"] and writes(fake)[0][2]["password"].startswith("$6$")
    assert result["node"].get("password", "********") == "********"


HASHED = "$6$abc$K4v3HcZ8yAmpRfxML6S46NCcqy9r4/KdbQpFvqSWsBf4dgySOEOo1DHJTrmn2BsJK2aNmPN8Tfb826D2o9.z51"  # a whole hash, not just "$6$..."


def test_hashed_password_passed_through(fake):
    run(pexip_node, api=fake, args=dict(GOOD, ssh_password=HASHED))
    assert writes(fake)[0][2]["password"] == HASHED


def test_maintenance_drain(fake):
    add_node(fake)
    fake.status["participant"] = [{"id": "p1", "media_node": "10.0.1.10", "signalling_node": "10.0.1.10"},
                                  {"id": "p2", "media_node": "10.0.1.99", "proxy_node": "10.0.1.10"}]
    polls = []

    def on_count(method, path):
        if "/status/v1/participant/" in path:
            polls.append(1)
            if len(polls) > 3 * 2:  # three node fields per poll: idle from the third poll on
                fake.status["participant"] = []

    fake.faults.append(on_count)
    result = run(pexip_node, api=fake, name="cn-1", maintenance_mode=True, wait_for_idle=True, poll_interval=1)
    assert result["changed"] and result["calls"]["total"] == 0
    assert len(result["drain_log"]) == 3 and "2 participant(s)" in result["drain_log"][0]


def test_maintenance_drain_timeout_leaves_maintenance_on(fake, monkeypatch):
    add_node(fake)
    fake.status["participant"] = [{"id": "p1", "media_node": "10.0.1.10"}]
    fake.status["conference_shard"] = [{"node": "10.0.1.10"}]
    clock = [0.0]
    monkeypatch.setattr(waiter.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(waiter.time, "sleep", lambda s: clock.__setitem__(0, clock[0] + s))
    result = run(pexip_node, api=fake, name="cn-1", maintenance_mode=True, wait_for_idle=True, idle_timeout=30, poll_interval=10)
    assert result["failed"] and "still carrying 2 live call(s)" in result["msg"] and "stays in maintenance mode" in result["msg"]
    assert fake.obj("worker_vm", 10)["maintenance_mode"] is True
    # polls start short and back off to poll_interval: at 0, 1, 3, 7, 15, 25 and 30 seconds
    assert [line.split(":")[0] for line in result["drain_log"]] == ["0s", "1s", "3s", "7s", "15s", "25s", "30s"]


def test_wait_for_idle_needs_maintenance(fake):
    result = run(pexip_node, api=fake, name="cn-1", wait_for_idle=True)
    assert result["failed"] and "wait_for_idle needs maintenance_mode: true" in result["msg"]


def test_check_mode_does_not_wait(fake):
    add_node(fake)
    fake.status["participant"] = [{"id": "p1", "media_node": "10.0.1.10"}]
    result = run(pexip_node, api=fake, check_mode=True, name="cn-1", maintenance_mode=True, wait_for_idle=True)
    assert result["changed"] and "drain_log" not in result and writes(fake) == []


def test_absent(fake):
    add_node(fake)
    fake.status["participant"] = [{"id": "p1", "signalling_node": "10.0.1.10"}]
    result = run(pexip_node, api=fake, name="cn-1", state="absent")
    assert result["failed"] and "refusing to delete the node: it still carries 1 live call(s)" in result["msg"] and writes(fake) == []
    result = run(pexip_node, api=fake, name="cn-1", state="absent", check_mode=True, force=True)
    assert result["changed"] and writes(fake) == []
    result = run(pexip_node, api=fake, name="cn-1", state="absent", force=True)
    assert result["changed"] and writes(fake)[0][0] == "DELETE"
    result = run(pexip_node, api=fake, name="cn-1", state="absent")
    assert not result["changed"]


def test_api_error_names_the_node(fake):
    fake.faults.append(lambda method, path: response(500, text="oops") if method == "POST" else None)
    result = run(pexip_node, api=fake, args=GOOD)
    assert result["failed"] and result["msg"] == "pexip_node 'cn-1': POST /api/admin/configuration/v1/worker_vm/ answered HTTP 500: oops"


# -- pexip_node_info ---------------------------------------------------------------------------
def test_counts_by_address():
    participants = [{"media_node": "a", "signalling_node": "a"}, {"media_node": "a", "proxy_node": "b"}]
    shards = [{"node": "a"}, {"node": "c"}, {"node": None}]
    assert nodes.counts_by_address(participants, shards) == {
        "a": {"participants": 2, "conference_shards": 1}, "b": {"participants": 1, "conference_shards": 0},
        "c": {"participants": 0, "conference_shards": 1}}


def test_info(fake):
    add_node(fake)
    add_node(fake, name="edge-1", hostname="edge-1", address="10.0.2.10", system_location=EDGE, node_type="PROXYING")
    fake.status["worker_vm"] = [{"name": "cn-1", "configuration_id": 10, "sync_status": "SYNCED", "last_updated": "2024-01-01T00:00:00",
                                 "maintenance_mode": False, "media_load": 5, "max_hd_calls": 20}]
    fake.status["participant"] = [{"id": "p", "media_node": "10.0.1.10"}]
    result = run(pexip_node_info, api=fake)
    assert [n["name"] for n in result["nodes"]] == ["cn-1", "edge-1"]
    cn1, edge = result["nodes"]
    assert cn1["reported"] and cn1["synced"] and cn1["participants"] == 1 and cn1["system_location"] == "London"
    assert not edge["reported"] and not edge["synced"] and edge["role"] == "proxying" and edge["last_updated"] is None

    result = run(pexip_node_info, api=fake, role="proxying")
    assert [n["name"] for n in result["nodes"]] == ["edge-1"]
    result = run(pexip_node_info, api=fake, system_location="London")
    assert [n["name"] for n in result["nodes"]] == ["cn-1"]
    result = run(pexip_node_info, api=fake, name="cn-1")
    assert result["nodes"][0]["participants"] == 1 and result["nodes"][0]["max_hd_calls"] == 20
    assert run(pexip_node_info, api=fake, name="nope")["nodes"] == []
    assert run(pexip_node_info, api=fake, system_location="Nowhere")["nodes"] == []


def test_info_without_calls_skips_the_call_counts(fake):
    add_node(fake)
    add_node(fake, name="edge-1", hostname="edge-1", address="10.0.2.10", system_location=EDGE, node_type="PROXYING")
    fake.status["participant"] = [{"id": "p", "media_node": "10.0.1.10"}]
    before = len(fake.log)
    result = run(pexip_node_info, api=fake, calls=False)
    paths = [path for _method, path, _data in fake.log[before:]]
    assert [n["name"] for n in result["nodes"]] == ["cn-1", "edge-1"]
    assert all("participants" not in n and "conference_shards" not in n for n in result["nodes"])
    assert not [p for p in paths if "participant" in p or "conference_shard" in p], paths
    result = run(pexip_node_info, api=fake)
    assert result["nodes"][0]["participants"] == 1


# -- pexip_node_info wait ----------------------------------------------------------------------
class Clock(object):
    """waiter's clock and sleep: time moves only when the module sleeps; ``then`` runs after each sleep."""

    def __init__(self, monkeypatch, then=None):
        self.now, self.sleeps, self.then = 0.0, [], then
        monkeypatch.setattr(waiter.time, "monotonic", lambda: self.now)
        monkeypatch.setattr(waiter.time, "sleep", self.sleep)

    def sleep(self, seconds):
        self.now += seconds
        self.sleeps.append(seconds)
        if self.then:
            self.then(len(self.sleeps))


def joined(api, name, when="2024-01-01T00:10:00", sync="SYNCED"):
    config = [c for c in api.tables["worker_vm"] if c["name"] == name][0]
    api.status["worker_vm"] = [s for s in api.status["worker_vm"] if s["name"] != name] + [
        {"name": name, "configuration_id": config["id"], "sync_status": sync, "last_updated": when}]


def test_info_waits_until_every_named_node_has_reported_and_synced_with_one_read_per_poll(fake, monkeypatch):
    add_node(fake)
    add_node(fake, name="cn-2", hostname="cn-2", address="10.0.1.11")
    add_node(fake, name="cn-3", hostname="cn-3", address="10.0.1.12")
    clock = Clock(monkeypatch, then=lambda n: joined(fake, "cn-1") if n == 2 else joined(fake, "cn-2") if n == 3 else None)
    before = len(fake.log)
    result = run(pexip_node_info, api=fake, names=["cn-1", "cn-2"], calls=False, wait=True, wait_timeout=60, poll_interval=10)
    assert not result.get("failed"), result
    assert [n["name"] for n in result["nodes"]] == ["cn-1", "cn-2"] and all(n["synced"] for n in result["nodes"])
    # Four reads (after 0, 1, 3 and 7 seconds), two requests each: the list and the status of every node (and the
    # location's name once).
    reads = [path for _method, path, _data in fake.log[before:] if "worker_vm" in path]
    assert clock.sleeps == [1, 2, 4] and len(reads) == 8, fake.log[before:]


def test_info_wait_times_out_with_the_last_read_and_says_which_node_is_late(fake, monkeypatch):
    add_node(fake)
    joined(fake, "cn-1", when="2024-01-01T00:00:00")
    clock = Clock(monkeypatch)
    result = run(pexip_node_info, api=fake, name="cn-1", calls=False, wait=True, wait_for="reported",
                 reported_after="2024-01-01T00:05:00", wait_timeout=30, poll_interval=10)
    assert result["failed"] and result["timed_out"] and result["nodes"][0]["name"] == "cn-1"
    assert "has reported after 2024-01-01T00:05:00 within 30 seconds: cn-1 (last report: 2024-01-01T00:00:00" in result["msg"]
    assert clock.now == 30


def test_info_resumed_wait_polls_at_the_long_interval_from_the_start(fake, monkeypatch):
    add_node(fake)
    clock = Clock(monkeypatch, then=lambda n: joined(fake, "cn-1") if n == 3 else None)
    result = run(pexip_node_info, api=fake, name="cn-1", calls=False, wait=True, wait_timeout=50, poll_interval=10, resume_wait=True)
    assert result["nodes"][0]["synced"] and clock.sleeps == [10, 10, 10]


def test_info_wait_needs_the_nodes_to_wait_for(fake):
    before = len(fake.log)
    result = run(pexip_node_info, api=fake, wait=True)
    assert result["failed"] and "set name or names" in result["msg"] and len(fake.log) == before
