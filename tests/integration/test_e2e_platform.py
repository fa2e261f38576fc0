# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""End to end: `make demo` (site.yml with the lab's own inventory) leaves a platform that can take calls.

The Management Node starts from nothing: site.yml launches ``mgr-lab`` (m5.xlarge, dedicated, no public address),
runs its installation wizard over SSH (the simulator's first boot, pexsim/sshboot.py) and configures the platform
through the NEW node's API, with the web administration password its wizard set (LAB_MANAGER_PASSWORD, not the lab's
PEXIP_PASSWORD). Checked through the API: an active licence, the Management Node and every Conferencing Node on a
certificate signed by the lab's operator CA, the Management Node's own DNS/NTP servers, one VMR with its alias, the
bursting nodes tagged with the Management Node's hostname; then a second run changes nothing and a --check run writes
nothing. The lab is as unkind as the real thing at first boot: the new Management Node and the nodes start on
self-signed certificates, the one run trusts the first contact on first use over the private address, uploads the real
certificate and verifies from then on. Separately, no private key, passphrase, entitlement ID or SNMP password appears in -vvv output.

The tests run in file order and share the demo run (module-scoped fixture).
"""

import os
import ssl
import uuid

import pytest
import requests
import yaml
from cryptography import x509

import labcerts
import labenv
from e2e import WRITES, Api, changed, lab_control, output, run_module, run_playbook

# The tests of this file share module-scoped fixtures: they stay on one worker (make integration: --dist loadfile).
pytestmark = pytest.mark.xdist_group("test_e2e_platform")

CA_NAME = "Pexip lab operator CA"
DOMAIN = "lab.example.com"
MANAGER = "mgr-lab"  # the inventory's management_node host


@pytest.fixture(scope="module")
def demo(lab_env):
    """site.yml with the lab's inventory, twice; the second run's recap and the request-log mark before a --check run."""
    inventory = os.path.join(lab_env["LAB_DIR"], "inventory.yml")
    first, first_recap = run_playbook(lab_env, inventory, timeout=1200)
    assert first.returncode == 0, output(first)
    second, recap = run_playbook(lab_env, inventory, timeout=1200)
    with open(inventory, encoding="utf-8") as handle:
        manager = yaml.safe_load(handle)["all"]["children"]["pexip_platform"]["children"]["management_node"]["hosts"][MANAGER]
    return dict(env=lab_env, api=Api(lab_env), inventory=inventory, first=first, first_recap=changed(first_recap), second=second,
                recap=changed(recap), manager_address=manager["pexip_manager_private_ip"])


def new_node_get(demo, path, username, password):
    """GET on the API of the Management Node site.yml installed (not the lab's own, PEXIP_HOST)."""
    session = requests.Session()
    session.trust_env = False
    return session.get("https://%s:%s/api/admin/%s" % (demo["manager_address"], demo["env"]["LAB_MGMT_PORT"], path),
                       auth=(username, password), verify=os.path.join(demo["env"]["LAB_CERT_DIR"], "ca.pem"), timeout=10)


def inventory_nodes(api):
    return [w for w in api.get("configuration/v1/worker_vm/") if w["name"].startswith("cn-") and w["domain"] == DOMAIN]


def test_site_installs_the_management_node_from_nothing(demo):
    assert demo["first_recap"][MANAGER] > 0, demo["first_recap"]
    assert "SSH into the Management Node, set the administrator password and complete the installation wizard" in demo["first"].stdout
    env, address = demo["env"], demo["manager_address"]
    summary = labenv.instance_summary(env, name=MANAGER)
    assert (summary["private_ip"], summary["instance_type"], summary["tenancy"], summary["public_ip"]) == (address, "m5.xlarge", "dedicated", None)
    node = lab_control(env).management_node(address)
    assert node["state"] == "installed" and node["web_username"] == "admin", node
    answers = node["answers"]
    assert (answers["hostname"], answers["domain"], answers["ip_address"], answers["gateway"]) == (MANAGER, DOMAIN, address, "127.20.1.1")
    assert answers["ntp_servers"] == ["127.0.0.123", "127.0.0.124", "127.0.0.125"] and answers["dns_servers"] == ["127.0.0.53"]


# ---- trust: the lab's Management Node and nodes start self-signed, as real ones do (docs/lab.md) ------------------

def test_first_contact_trusted_on_first_use_then_verified(demo):
    """The one run trusted the new Management Node's self-signed certificate on first use over its private address,
    uploaded the real one, and verified from then on: a later module run with the CA (and the host name) succeeds."""
    env = demo["env"]
    host = "%s:%s" % (demo["manager_address"], env["LAB_MGMT_PORT"])
    ca_path = os.path.join(env["LAB_CERT_DIR"], "ca.pem")
    served = x509.load_pem_x509_certificate(ssl.get_server_certificate((demo["manager_address"], int(env["LAB_MGMT_PORT"]))).encode())
    assert served.issuer.rfc4514_string() == "CN=" + CA_NAME
    args = dict(host=host, username="admin", password=env["LAB_MANAGER_PASSWORD"], validate_certs=True, ca_path=ca_path)
    proc = run_module(env, "pexip.infinity.pexip_alarm_info", args)
    assert proc.returncode == 0 and "SUCCESS" in proc.stdout, output(proc)


def test_a_self_signed_peer_is_refused_with_verification_on(demo):
    """A node's bootstrap page serves its own self-signed certificate: with verification on and no pin, nothing is sent."""
    env = demo["env"]
    address = labenv.instance_summary(env, name="cn-lon-1")["private_ip"]
    args = dict(address=address, port=int(env["LAB_NODE_PORT"]), content="<x/>", validate_certs=True, wait_timeout=10)
    proc = run_module(env, "pexip.infinity.pexip_config_upload", args)
    assert proc.returncode != 0 and "could not be verified" in proc.stdout and "nothing was sent" in proc.stdout, output(proc)


def test_unverifiable_first_contact_refused_before_any_launch(demo, tmp_path):
    """Verification on, and neither trust on first use nor a pin for a new Management Node: refused before anything is
    created, saying what to set."""
    with open(demo["inventory"], encoding="utf-8") as handle:
        inventory = yaml.safe_load(handle)
    platform = inventory["all"]["children"]["pexip_platform"]
    del platform["vars"]["pexip_manager_tls_trust_on_first_use"]
    platform["children"]["management_node"]["hosts"] = {"mgr-untrusted": dict(
        platform["children"]["management_node"]["hosts"][MANAGER], pexip_manager_name="mgr-untrusted", pexip_manager_private_ip="127.20.1.249")}
    inventory_file = str(tmp_path / "inventory.yml")
    with open(inventory_file, "w", encoding="utf-8") as handle:
        yaml.safe_dump(inventory, handle)
    proc, dummy = run_playbook(demo["env"], inventory_file, "--limit", "mgr-untrusted", timeout=300)
    assert proc.returncode != 0 and "pexip_manager_tls_trust_on_first_use: true" in proc.stdout, output(proc)
    assert "Nothing was created" in proc.stdout and labenv.instance_summary(demo["env"], name="mgr-untrusted") is None


def test_new_management_node_takes_only_its_wizards_credentials(demo):
    env = demo["env"]
    assert new_node_get(demo, "configuration/v1/ntp_server/", "admin", env["LAB_MANAGER_PASSWORD"]).status_code == 200
    assert new_node_get(demo, "configuration/v1/ntp_server/", env["PEXIP_USERNAME"], env["PEXIP_PASSWORD"]).status_code == 401


def test_platform_configured_and_nodes_synced_through_the_new_management_node(demo):
    password = demo["env"]["LAB_MANAGER_PASSWORD"]
    ntp = {o["address"] for o in new_node_get(demo, "configuration/v1/ntp_server/?limit=0", "admin", password).json()["objects"]}
    dns = {o["address"] for o in new_node_get(demo, "configuration/v1/dns_server/?limit=0", "admin", password).json()["objects"]}
    assert {"127.0.0.123", "127.0.0.124", "127.0.0.125"} <= ntp and "127.0.0.53" in dns
    status = new_node_get(demo, "status/v1/worker_vm/?name=cn-lon-1", "admin", password).json()["objects"]
    assert status and status[0]["sync_status"] == "SYNCED" and status[0]["system_location"] == "London"


def test_licence_active(demo):
    licences = demo["api"].get("configuration/v1/licence/")
    assert any(lic["status"] == "ACTIVE" and lic["product_id"] == "pexip-port" and lic["concurrent"] == 50 for lic in licences), licences
    assert demo["api"].get("status/v1/licensing/")[0]["port_total"] >= 50


def test_management_node_dns_ntp_and_ca_signed_certificate(demo):
    api = demo["api"]
    primary = api.primary()
    assert [s["address"] for s in primary["dns_servers"]] == ["127.0.0.53"]
    assert sorted(s["address"] for s in primary["ntp_servers"]) == ["127.0.0.123", "127.0.0.124", "127.0.0.125"]
    cert = api.get(primary["tls_certificate"])
    assert cert["subject_name"] == "%s.%s" % (primary["hostname"], primary["domain"]) and cert["issuer_name"] == CA_NAME
    assert any(ca["subject_name"] == CA_NAME for ca in api.get("configuration/v1/ca_certificate/"))


def test_every_conferencing_node_on_its_ca_signed_certificate(demo):
    api = demo["api"]
    nodes = inventory_nodes(api)
    assert sorted(n["name"] for n in nodes) == ["cn-burst-1", "cn-burst-2", "cn-edge-1", "cn-lon-1", "cn-lon-2"]
    for node in nodes:
        assert node["tls_certificate"], node["name"]
        cert = api.get(node["tls_certificate"])
        assert (cert["subject_name"], cert["issuer_name"]) == ("%s.%s" % (node["hostname"], DOMAIN), CA_NAME), node["name"]


def test_one_vmr_with_its_alias(demo):
    rooms = [c for c in demo["api"].get("configuration/v1/conference/") if c["name"] == "Lab meeting room"]
    assert len(rooms) == 1 and rooms[0]["pin"] == "1234" and rooms[0]["guest_pin"] == "5678"
    assert [a["alias"] for a in rooms[0]["aliases"]] == ["meet@lab.example.com"]


def test_bursting_nodes_tagged_with_the_management_nodes_hostname(demo):
    hostname = demo["api"].primary()["hostname"]
    ec2 = labenv.ec2_client(demo["env"])
    found = {}
    for page in ec2.get_paginator("describe_instances").paginate(Filters=[{"Name": "tag:pexip:node", "Values": ["cn-burst-1", "cn-burst-2"]}]):
        for res in page["Reservations"]:
            for inst in res["Instances"]:
                if inst["State"]["Name"] != "terminated":
                    tags = {t["Key"]: t["Value"] for t in inst.get("Tags", [])}
                    found[tags["pexip:node"]] = tags.get("pexip-cloud")
    assert found == {"cn-burst-1": hostname, "cn-burst-2": hostname}


def test_second_run_changes_nothing(demo):
    assert demo["second"].returncode == 0, output(demo["second"])
    assert demo["recap"] and all(changed == 0 for changed in demo["recap"].values()), demo["recap"]


def test_check_run_writes_nothing(demo):
    env = demo["env"]
    control = lab_control(env)
    since = control.last_ts()
    proc, recap = run_playbook(env, demo["inventory"], "--check", timeout=1200)
    recap = changed(recap)
    assert proc.returncode == 0, output(proc)
    # Nothing is predicted as a change, the licence neither: its activation is decided from the licence list, which
    # check mode reads as a run does (pexip_licence).
    changed_tasks = [block.split("]", 1)[0] for block in proc.stdout.split("TASK [")[1:] if "\nchanged: " in block]
    assert {host: n for host, n in recap.items() if n} == {}, recap
    assert changed_tasks == [], changed_tasks
    writes = [e for e in control.requests_log(since=since, target="mgmt") if e["method"] in WRITES]
    assert writes == []


def test_no_secret_in_verbose_output(lab_env, tmp_path):
    """Licence, certificate with an encrypted key given as text, SNMP secrets: -vvv shows none of them."""
    run = uuid.uuid4().hex[:8]
    passphrase = "pp-" + uuid.uuid4().hex
    snmp_password = "snmp-" + uuid.uuid4().hex
    ca = labcerts.load_or_make_ca(lab_env["LAB_CERT_DIR"])
    pair = labcerts.issue(ca, "it-secret-%s.%s" % (run, DOMAIN), passphrase=passphrase)
    key_body = pair.key_pem.splitlines()[1]  # a line of the encrypted key's base64
    playbook = tmp_path / "secrets.yml"
    playbook.write_text("""---
- hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - pexip.infinity.pexip_licence:
        entitlement_id: "{{ lookup('ansible.builtin.env', 'PEXIP_LICENCE_ENTITLEMENT') }}"
    - pexip.infinity.pexip_licence:
        entitlement_id: UNKNOWN-%(run)s-SECRET
      ignore_errors: true
    - ansible.builtin.include_role:
        name: pexip.infinity.platform_config
      vars:
        platform_config_licences:
          - entitlement_id: "{{ lookup('ansible.builtin.env', 'PEXIP_LICENCE_ENTITLEMENT') }}"
    - pexip.infinity.pexip_tls_certificate:
        certificate: "{{ cert }}"
        private_key: "{{ key }}"
        private_key_passphrase: "{{ passphrase }}"
      register: uploaded
    - pexip.infinity.pexip_tls_certificate:
        certificate: "{{ cert }}"
        private_key: "{{ key }}"
        private_key_passphrase: wrong-%(run)s
      ignore_errors: true
    - pexip.infinity.pexip_management_node:
        snmp_authentication_password: "{{ snmp }}"
        snmp_privacy_password: "{{ snmp }}"
    - pexip.infinity.pexip_management_node:
        snmp_authentication_password: ""
        snmp_privacy_password: ""
    - pexip.infinity.pexip_tls_certificate:
        certificate: "{{ cert }}"
        state: absent
""" % {"run": run})
    extra = tmp_path / "vars.yml"
    import yaml  # pylint: disable=import-outside-toplevel
    extra.write_text(yaml.safe_dump({"cert": pair.cert_pem, "key": pair.key_pem, "passphrase": passphrase, "snmp": snmp_password}))
    proc, _recap = run_playbook(lab_env, None, "-vvv", "-e", "@%s" % extra, playbook=str(playbook))
    text = proc.stdout + proc.stderr
    assert proc.returncode == 0, output(proc)
    assert "changed=" in text and "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER" in text  # the arguments were shown, masked
    for secret in (lab_env["PEXIP_LICENCE_ENTITLEMENT"], "UNKNOWN-%s-SECRET" % run, passphrase, "wrong-%s" % run, snmp_password, key_body):
        assert secret not in text, secret


# The controller's IAM policy (docs/iam.md): the AWS calls of this file's runs, recorded by the lab from the file's
# start (aws_calls_mark is an autouse module fixture). Imported here, next to its test.
from aws_policy import assert_calls_allowed, aws_calls_mark  # noqa: E402,F401  pylint: disable=unused-import,wrong-import-position


def test_every_aws_call_is_in_the_controller_iam_policy(demo, aws_calls_mark):  # noqa: F811  pylint: disable=redefined-outer-name
    """site.yml's AWS calls (EC2, IAM for bursting) are all allowed by docs/examples/controller-iam-policy.json."""
    assert_calls_allowed(demo["env"], aws_calls_mark)
