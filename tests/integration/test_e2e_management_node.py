# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Management Node from nothing, against the lab (moto + the simulator's SSH first boot, pexsim/sshboot.py).

- site.yml from nothing, through the NEW node's API with the credentials its wizard set, and its second and --check
  runs: test_e2e_platform.py (`make demo`'s inventory installs its Management Node, mgr-lab, from nothing).
- management_node.yml --check on nothing says what it would launch, and launches nothing.
- The first-boot module alone, each on its own instance: wrong key, NTP unreachable, an unexpected prompt, a
  wizard timeout and a wizard that goes round in circles fail with a clear message, and the run after fixing the
  cause converges.
- The full -vvv output of a first-boot run holds neither password.
- known_hosts is only appended to (comments, hashed and marker lines kept byte for byte) and an unreadable line fails
  before connecting; answers with control characters, bad network answers and incident reporting without a contact
  e-mail address are refused before connecting; the role gives the module an encrypted key's passphrase.
"""

import contextlib
import json
import os
import random
import re
import uuid

import paramiko
import pytest
import yaml

# The tests of this file share module-scoped fixtures: pytest-xdist keeps them on one worker.
pytestmark = pytest.mark.xdist_group("test_e2e_management_node")

import labcerts  # noqa: E402  pylint: disable=wrong-import-position
import labenv  # noqa: E402  pylint: disable=wrong-import-position
from e2e import Api, lab_control, output, platform_inventory, run_module, run_playbook, writable  # noqa: E402  pylint: disable=wrong-import-position

SUFFIX = uuid.uuid4().hex[:6]
# Addresses for this module's Management Nodes: subnet B, above what moto hands out in order.
ADDRESSES = iter(random.sample(range(100, 250), 150))
OS_PASSWORD = "os-" + uuid.uuid4().hex[:12]
WEB_USER = "web-" + SUFFIX
WEB_PASSWORD = "web-" + uuid.uuid4().hex[:12]


def next_address(env):
    """A free address: the lab is shared and long-lived, and moto answers 500 for an address in use."""
    used = {i.get("PrivateIpAddress") for r in labenv.ec2_client(env).describe_instances()["Reservations"] for i in r["Instances"]}
    return next(address for address in ("127.20.2.%d" % n for n in ADDRESSES) if address not in used)


control = lab_control


def launch(env, address, key_name=None):
    """A Management Node instance, launched as the AWS console would (boto3), at ``address``."""
    ec2 = labenv.ec2_client(env)
    images = ec2.describe_images(Owners=["686087431763"], Filters=[{"Name": "name", "Values": ["Pexip Infinity Management Node * build *"]}])["Images"]
    image_id = max(images, key=lambda i: i["CreationDate"])["ImageId"]
    instance = ec2.run_instances(
        ImageId=image_id, InstanceType="m5.xlarge", MinCount=1, MaxCount=1, KeyName=key_name or env["LAB_KEY_NAME"],
        Placement={"Tenancy": "dedicated"},
        NetworkInterfaces=[{"DeviceIndex": 0, "SubnetId": env["LAB_SUBNET_B"], "PrivateIpAddress": address}],
        TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": "e2e-mgr-%s" % SUFFIX}]}])["Instances"][0]
    return instance["InstanceId"]


def terminate(env, instance_ids):
    if instance_ids:
        labenv.ec2_client(env).terminate_instances(InstanceIds=list(instance_ids))


def wait_ssh(env, address):
    lab = lab_control(env)
    lab.poll()
    for dummy in range(100):
        node = lab.management_node(address)
        if node and node["ssh_listening"]:
            return node
        lab.poll()
    raise AssertionError("the lab never listened on SSH for %s" % address)


def first_boot(env, address, tmp_path, verbose=False, **overrides):
    """pexip_management_node_first_boot ad hoc (``overrides``: module arguments); returns (proc, all output)."""
    args = {
        "host": "%s:%s" % (address, env["LAB_MGMT_PORT"]), "username": WEB_USER, "password": WEB_PASSWORD, "ssh_port": int(env["LAB_SSH_PORT"]),
        "private_key_file": env["LAB_KEY_FILE"], "os_password": OS_PASSWORD, "known_hosts_file": str(tmp_path / "known_hosts"),
        "hostname": "mgr-" + SUFFIX, "domain": "e2e.example.com", "dns_servers": ["127.0.0.53"],
        "ntp_servers": ["127.0.0.123", "127.0.0.124", "127.0.0.125"], "connect_timeout": 20, "prompt_timeout": 10,
        "wait_timeout": 60,
        # A new Management Node serves a self-signed certificate (the lab as a real one); its address is private.
        "trust_on_first_use": True,
    }
    args.update(overrides)
    proc = run_module(env, "pexip.infinity.pexip_management_node_first_boot", args, *(["-vvv"] if verbose else []), timeout=240)
    return proc, unfolded(proc)


def unfolded(proc):
    """All output of a run: the YAML callback folds long messages and doubles quotes, compare with those undone."""
    return " ".join((proc.stdout + proc.stderr).split()).replace("''", "'")


def changed(text):
    """The ``changed`` of an ad hoc module run (None if the output has none)."""
    match = re.search(r'"?changed"?: (true|false)', text)
    return None if match is None else match.group(1) == "true"


@pytest.fixture(scope="module", autouse=True)
def lab_management_node_kept(lab_env):
    """Put the lab's primary Management Node back after this module.

    The wizard of every Management Node installed here rewrites the lab's primary management_vm (hostname, domain,
    address, DNS/NTP). The other test files of this worker read that hostname as the bursting tag value.
    """
    api = Api(lab_env)
    before = api.primary()
    yield
    api.session.patch(api.base + "configuration/v1/management_vm/%d/" % before["id"], json=writable(before), timeout=30).raise_for_status()
    assert api.primary()["hostname"] == before["hostname"]


@pytest.fixture
def firstboot_knobs(lab_env):
    """Lab first-boot settings for one test, always put back."""
    lab = control(lab_env)
    yield lab
    lab.set_firstboot(ntp_reachable=True, extra_prompt=None, stall_at=None, cycle_after=None, console_host_keys=False)


@pytest.fixture
def instance(lab_env):
    """One fresh Management Node instance; terminated afterwards."""
    address = next_address(lab_env)
    instance_id = launch(lab_env, address)
    wait_ssh(lab_env, address)
    yield address
    terminate(lab_env, [instance_id])


# ---- site.yml from nothing ------------------------------------------------------------------------------------------

def site_inventory(env, manager_address, tmp, manager_name=None):
    location = "E2E mgr %s" % SUFFIX
    # The new node's real certificate, from the operator CA, naming the address the API is reached by.
    labcerts.issue(labcerts.load_or_make_ca(env["LAB_CERT_DIR"]), "mgr-%s.e2e.example.com" % SUFFIX, [manager_address]).write(str(tmp), "mgr")
    children = {
        "management_node": {"hosts": {manager_name or "e2e-mgr-%s" % SUFFIX: {
            "pexip_manager_hostname": "mgr-" + SUFFIX,
            "pexip_manager_domain": "e2e.example.com",
            "pexip_manager_subnet_id": env["LAB_SUBNET_B"],
            "pexip_manager_private_ip": manager_address,
            "pexip_manager_os_password": OS_PASSWORD,
            "pexip_manager_ssh_port": int(env["LAB_SSH_PORT"]),
            "pexip_manager_private_key_file": env["LAB_KEY_FILE"],
            "pexip_manager_known_hosts_file": str(tmp / "known_hosts"),
            "pexip_manager_ssh_timeout": 60,
            "pexip_manager_prompt_timeout": 20,
            "pexip_manager_api_timeout": 60,
        }}},
        "conferencing_nodes": {"hosts": {"e2e-mgr-cn-%s" % SUFFIX: {
            "pexip_node_name": "e2e-mgr-cn-%s" % SUFFIX, "pexip_node_role": "transcoding", "pexip_node_location": location,
            "pexip_node_subnet_id": env["LAB_SUBNET_A"], "pexip_node_public_ip": "none", "pexip_node_bursting": False,
        }}},
    }
    return platform_inventory(
        env, "e2e-mgr-sg-%s" % SUFFIX, children,
        # Everything Pexip goes to the NEW Management Node, with the credentials its wizard sets.
        pexip_manager_host="%s:%s" % (manager_address, env["LAB_MGMT_PORT"]),
        pexip_manager_username=WEB_USER,
        pexip_manager_password=WEB_PASSWORD,
        pexip_manager_ca_path=os.path.join(env["LAB_CERT_DIR"], "ca.pem"),
        pexip_manager_validate_certs=True,
        pexip_manager_tls_trust_on_first_use=True,
        pexip_manager_tls_certificate={"certificate_file": str(tmp / "mgr.pem"), "private_key_file": str(tmp / "mgr.key")},
        pexip_dns_servers=["127.0.0.53"],
        pexip_ntp_servers=["127.0.0.123", "127.0.0.124", "127.0.0.125"],
        pexip_node_domain="e2e.example.com",
        pexip_node_ssh_password="e2e-" + uuid.uuid4().hex,
        pexip_node_sync_poll=2,
        pexip_locations=[{"name": location, "dns_servers": ["127.0.0.53"], "ntp_servers": ["127.0.0.123"]}])


def test_check_mode_on_nothing_says_what_it_would_do(lab_env, tmp_path):
    env = dict(lab_env)
    address, manager = next_address(env), "e2e-mgr-check-%s" % SUFFIX
    inventory_file = str(tmp_path / "inventory.yml")
    with open(inventory_file, "w", encoding="utf-8") as handle:
        yaml.safe_dump(site_inventory(env, address, tmp_path, manager_name=manager), handle, sort_keys=False)
    proc, recap = run_playbook(env, inventory_file, "--check", playbook="playbooks/management_node.yml")
    assert proc.returncode == 0, output(proc)
    assert recap[manager]["changed"] > 0 and recap[manager]["failed"] == 0, recap
    assert "would launch m5.xlarge (dedicated)" in proc.stdout, output(proc)
    assert labenv.instance_summary(env, name=manager) is None
    assert lab_control(env).management_node(address) is None


# ---- failures, each fixed and converged -------------------------------------------------------------------------------

def assert_converges(env, address, tmp_path, **kwargs):
    proc, text = first_boot(env, address, tmp_path, **kwargs)
    assert proc.returncode == 0 and changed(text) is True, text[-3000:]
    assert lab_control(env).management_node(address)["state"] == "installed"
    proc, text = first_boot(env, address, tmp_path, **kwargs)
    assert proc.returncode == 0 and changed(text) is False, text[-3000:]


def test_wrong_key_fails_then_the_right_key_converges(lab_env, instance, tmp_path):
    other = tmp_path / "other.pem"
    paramiko.RSAKey.generate(2048).write_private_key_file(str(other))
    proc, text = first_boot(lab_env, instance, tmp_path, private_key_file=str(other))
    assert proc.returncode != 0
    assert "refused the private key for user admin" in text and "key pair the instance was launched with" in text, text[-2000:]
    assert control(lab_env).management_node(instance)["state"] == "new"
    assert_converges(lab_env, instance, tmp_path)


def test_ntp_unreachable_fails_then_converges(lab_env, instance, tmp_path, firstboot_knobs):
    firstboot_knobs.set_firstboot(ntp_reachable=False)
    proc, text = first_boot(lab_env, instance, tmp_path)
    assert proc.returncode != 0
    assert "the installation wizard failed" in text and "Unable to reach NTP server(s)" in text, text[-2000:]
    assert "ntp_servers that the instance can reach" in text
    assert control(lab_env).management_node(instance)["state"] == "password_set"
    firstboot_knobs.set_firstboot(ntp_reachable=True)
    assert_converges(lab_env, instance, tmp_path)


def test_unexpected_prompt_fails_then_converges(lab_env, instance, tmp_path, firstboot_knobs):
    firstboot_knobs.set_firstboot(extra_prompt={"before": "dns_servers", "text": "Enable SSH root login (yes/no):"})
    proc, text = first_boot(lab_env, instance, tmp_path)
    assert proc.returncode != 0
    assert "Enable SSH root login (yes/no):" in text and "which this module does not know" in text, text[-2000:]
    firstboot_knobs.set_firstboot(extra_prompt=None)
    assert_converges(lab_env, instance, tmp_path)


def test_wizard_timeout_fails_then_converges(lab_env, instance, tmp_path, firstboot_knobs):
    firstboot_knobs.set_firstboot(stall_at="ntp_servers")
    proc, text = first_boot(lab_env, instance, tmp_path, prompt_timeout=3)
    assert proc.returncode != 0
    assert "no prompt came from the Management Node within 3 seconds after the answer to the DNS servers prompt" in text, text[-2000:]
    firstboot_knobs.set_firstboot(stall_at=None)
    assert_converges(lab_env, instance, tmp_path)


def test_a_wizard_going_round_in_circles_fails_then_converges(lab_env, instance, tmp_path, firstboot_knobs):
    firstboot_knobs.set_firstboot(cycle_after="gateway")
    proc, text = first_boot(lab_env, instance, tmp_path)
    assert proc.returncode != 0
    assert "the installation wizard asked for the IP address again, after the gateway" in text, text[-2000:]
    assert control(lab_env).management_node(instance)["state"] == "password_set"
    firstboot_knobs.set_firstboot(cycle_after=None)
    assert_converges(lab_env, instance, tmp_path)


def test_accept_new_records_the_host_key(lab_env, instance, tmp_path):
    node = control(lab_env).management_node(instance)
    proc, text = first_boot(lab_env, instance, tmp_path)
    assert proc.returncode == 0, text[-2000:]
    assert node["host_key_fingerprint"] in text
    with open(tmp_path / "known_hosts", encoding="utf-8") as handle:
        assert "[%s]:%s %s" % (instance, lab_env["LAB_SSH_PORT"], node["host_key"]) in handle.read()


def test_strict_policy_refuses_an_unknown_host_key(lab_env, instance, tmp_path):
    proc, text = first_boot(lab_env, instance, tmp_path, host_key_policy="strict")
    assert proc.returncode != 0 and "is not in %s and host_key_policy is strict" % (tmp_path / "known_hosts") in text, text[-2000:]
    assert control(lab_env).management_node(instance)["state"] == "new"


def test_pinned_fingerprint(lab_env, instance, tmp_path):
    node = control(lab_env).management_node(instance)
    proc, text = first_boot(lab_env, instance, tmp_path, host_key_fingerprint="SHA256:" + "A" * 43)
    assert proc.returncode != 0 and "host key mismatch" in text and node["host_key_fingerprint"] in text, text[-2000:]
    assert control(lab_env).management_node(instance)["state"] == "new"
    proc, text = first_boot(lab_env, instance, tmp_path, host_key_fingerprint=node["host_key_fingerprint"])
    assert proc.returncode == 0 and changed(text) is True, text[-2000:]
    # A pinned key is neither read from nor written to known_hosts.
    assert not os.path.exists(tmp_path / "known_hosts")


def console_host_keys(env, address, **overrides):
    """ec2_console_host_keys ad hoc for the instance at ``address``: (proc, result)."""
    args = dict(instance_id=lab_control(env).management_node(address)["instance_id"], wait_timeout=20, poll_interval=1)
    args.update(overrides)
    proc = run_module(env, "pexip.infinity.ec2_console_host_keys", args, "-o", timeout=120)
    match = re.search(r"=> (\{.*\})\s*$", proc.stdout.strip(), re.S)
    return proc, json.loads(match.group(1)) if match else {}


def test_the_host_key_pinned_from_the_console_output(lab_env, instance, tmp_path, firstboot_knobs):
    node = control(lab_env).management_node(instance)
    # moto's console output is a fixed kernel log: nothing to pin, and waiting for it fails saying so.
    proc, result = console_host_keys(lab_env, instance, wait_timeout=2)
    assert proc.returncode != 0 and "showed no SSH host key fingerprints within 2 seconds" in proc.stdout, output(proc)
    firstboot_knobs.set_firstboot(console_host_keys=True)  # the instance prints its keys as cloud-init does
    proc, result = console_host_keys(lab_env, instance)
    assert proc.returncode == 0, output(proc)
    assert result["fingerprints"] == [{"type": "ecdsa-sha2-nistp256", "fingerprint": node["host_key_fingerprint"]}], result
    assert result["host_keys"] == [node["host_key"]] and result["changed"] is False
    pin = ",".join(item["fingerprint"] for item in result["fingerprints"])
    proc, text = first_boot(lab_env, instance, tmp_path, host_key_fingerprint=pin)
    assert proc.returncode == 0 and changed(text) is True, text[-2000:]
    assert not os.path.exists(tmp_path / "known_hosts")


def test_passwords_never_in_the_vvv_output(lab_env, instance, tmp_path):
    proc, text = first_boot(lab_env, instance, tmp_path, verbose=True)
    assert proc.returncode == 0, text[-3000:]
    assert "installation_wizard" in text and "ESTABLISH LOCAL CONNECTION" in text, text[-3000:]
    raw = proc.stdout + proc.stderr
    joined = "".join(raw.split())  # a secret folded over two lines would still show here
    for secret in (OS_PASSWORD, WEB_PASSWORD):
        assert secret not in raw and secret not in joined
    # The output is the one of a real first boot: the key file and the wizard's answers are in it.
    assert lab_env["LAB_KEY_FILE"] in text and "mgr-" + SUFFIX in text


# ---- SSH robustness: known_hosts, answers, the contact e-mail address, the role's key passphrase -------------------------

def untouched(env, address):
    """The lab's node saw no SSH session: the module stopped before connecting."""
    node = lab_control(env).management_node(address)
    return node["state"] == "new" and node["sessions"] == 0


def test_accept_new_appends_to_an_existing_known_hosts_byte_for_byte(lab_env, instance, tmp_path):
    node = control(lab_env).management_node(instance)
    other = paramiko.ECDSAKey.generate()
    path = tmp_path / "known_hosts"
    before = "\n".join([
        "# kept by hand: this comment stays",
        "",
        "%s %s %s" % (paramiko.HostKeys.hash_host("10.9.9.9"), other.get_name(), other.get_base64()),
        "@cert-authority *.example.com %s %s" % (other.get_name(), other.get_base64()),
        "@revoked 10.9.9.8 %s %s" % (other.get_name(), other.get_base64()),
        "10.9.9.4 %s %s" % (other.get_name(), other.get_base64()),  # no newline at the end of the file
    ]).encode("utf-8")
    path.write_bytes(before)
    proc, text = first_boot(lab_env, instance, tmp_path)
    assert proc.returncode == 0 and changed(text) is True, text[-3000:]
    after = path.read_bytes()
    assert after[:len(before)] == before
    # Two logins (the password, then the wizard): one line, appended once.
    assert after[len(before):] == ("\n[%s]:%s %s\n" % (instance, lab_env["LAB_SSH_PORT"], node["host_key"])).encode("ascii")


def test_unreadable_known_hosts_line_fails_before_connecting_then_converges(lab_env, instance, tmp_path):
    path = tmp_path / "known_hosts"
    path.write_text("# ok\n10.9.9.9 ssh-ed25519\n", encoding="utf-8")
    proc, text = first_boot(lab_env, instance, tmp_path)
    assert proc.returncode != 0
    assert "%s line 2 cannot be read: it needs host names, a key type and a base64 key" % path in text, text[-2000:]
    assert "Correct or delete that line" in text and "Traceback" not in text
    assert untouched(lab_env, instance)
    path.write_text("# ok\n", encoding="utf-8")
    assert_converges(lab_env, instance, tmp_path)


def test_control_characters_in_answers_are_refused_before_connecting(lab_env, instance, tmp_path):
    proc, text = first_boot(lab_env, instance, tmp_path, hostname="mgr\n01", os_password=OS_PASSWORD + "\r")
    assert proc.returncode != 0
    assert "contains the control character U+000A at position 4" in text and "hostname (" in text, text[-2000:]
    assert "os_password contains the control character U+000D at position %d" % (len(OS_PASSWORD) + 1) in text, text[-2000:]
    assert OS_PASSWORD not in proc.stdout + proc.stderr
    assert untouched(lab_env, instance)


def test_bad_network_answers_are_refused_before_connecting(lab_env, instance, tmp_path):
    proc, text = first_boot(lab_env, instance, tmp_path, ip_address=instance, netmask="255.255.255.0", gateway="127.20.3.1",
                            dns_servers=["dns.example.com"], domain="e2e..example.com")
    assert proc.returncode != 0
    network = instance.rsplit(".", 1)[0] + ".0/24"
    assert "gateway 127.20.3.1 is not inside the network %s of ip_address %s" % (network, instance) in text, text[-2000:]
    assert "dns_servers[0] 'dns.example.com' is not an IPv4 address" in text
    assert "domain 'e2e..example.com' has an empty label" in text
    assert untouched(lab_env, instance)


def test_incident_reporting_answers_the_contact_email_address(lab_env, instance, tmp_path):
    proc, text = first_boot(lab_env, instance, tmp_path, incident_reporting=True)
    assert proc.returncode != 0 and "incident_reporting is enabled" in text and "give contact_email_address" in text, text[-2000:]
    assert untouched(lab_env, instance)
    assert_converges(lab_env, instance, tmp_path, incident_reporting=True, contact_email_address="ops@e2e.example.com")
    answers = control(lab_env).management_node(instance)["answers"]
    assert answers["incident_reporting"] is True and answers["contact_email_address"] == "ops@e2e.example.com", answers


@contextlib.contextmanager
def management_node_yml(env, address, manager, tmp_path, **host_vars):
    """playbooks/management_node.yml for a new Management Node ``manager`` at ``address`` (no locations) with
    ``host_vars``, asserted to succeed: its output; the instance is terminated afterwards."""
    inventory = site_inventory(env, address, tmp_path, manager_name=manager)
    platform = inventory["all"]["children"]["pexip_platform"]
    platform["vars"]["pexip_locations"] = []
    platform["children"]["management_node"]["hosts"][manager].update(host_vars)
    inventory_file = str(tmp_path / "inventory.yml")
    with open(inventory_file, "w", encoding="utf-8") as handle:
        yaml.safe_dump(inventory, handle, sort_keys=False)
    try:
        proc, recap = run_playbook(env, inventory_file, playbook="playbooks/management_node.yml")
        assert proc.returncode == 0 and recap[manager]["failed"] == 0, output(proc)
        yield proc
    finally:
        ec2 = labenv.ec2_client(env)
        terminate(env, [i["InstanceId"] for r in ec2.describe_instances(Filters=[
            {"Name": "tag:Name", "Values": [manager]},
            {"Name": "instance-state-name", "Values": ["pending", "running", "stopping", "stopped"]}])["Reservations"] for i in r["Instances"]])


def test_role_pins_the_host_key_from_the_console_output(lab_env, tmp_path, firstboot_knobs):
    env = dict(lab_env)
    firstboot_knobs.set_firstboot(console_host_keys=True)
    address, manager = next_address(env), "e2e-mgr-console-%s" % SUFFIX
    known_hosts = tmp_path / "role_known_hosts"
    with management_node_yml(env, address, manager, tmp_path, pexip_manager_host_key_from_console=True,
                             pexip_manager_known_hosts_file=str(known_hosts)) as proc:
        node = lab_control(env).management_node(address)
        assert node["state"] == "installed", output(proc)
        # Pinned: known_hosts is neither read nor written (without a pin the role's fallback, strict, would have failed).
        assert not known_hosts.exists()


def test_role_passes_the_private_key_passphrase(lab_env, tmp_path):
    env = dict(lab_env)
    address, manager = next_address(env), "e2e-mgr-pass-%s" % SUFFIX
    passphrase = "pass-" + uuid.uuid4().hex[:12]
    encrypted = str(tmp_path / "encrypted.pem")
    paramiko.RSAKey.from_private_key_file(env["LAB_KEY_FILE"]).write_private_key_file(encrypted, password=passphrase)
    with management_node_yml(env, address, manager, tmp_path, pexip_manager_private_key_file=encrypted,
                             pexip_manager_private_key_passphrase=passphrase) as proc:
        assert lab_control(env).management_node(address)["state"] == "installed"
        assert passphrase not in proc.stdout + proc.stderr


# ---- pexip_system_servers (on the lab's installed Management Node) ----------------------------------------------------

def system_servers(env, **args):
    proc = run_module(env, "pexip.infinity.pexip_system_servers", args, "--diff", timeout=120)
    return proc, unfolded(proc)


def test_system_servers_create_warn_and_stay(lab_env):
    names = ["ntp%d-%s.example.com" % (n, SUFFIX) for n in (1, 2)]
    api = Api(lab_env)
    before = api.get("configuration/v1/ntp_server/")
    try:
        proc, text = system_servers(lab_env, ntp_servers=names)
        assert proc.returncode == 0 and changed(text) is True, text[-2000:]
        assert "ntp_server %s" % names[0] in text and "ntp_server %s" % names[1] in text
        after = {o["address"] for o in api.get("configuration/v1/ntp_server/")}
        assert set(names) <= after
        if len(before) + 2 < 3:
            assert "strongly recommends at least 3 distinct NTP servers" in text, text[-2000:]
        proc, text = system_servers(lab_env, ntp_servers=names)
        assert proc.returncode == 0 and changed(text) is False, text[-2000:]
        proc, text = system_servers(lab_env, dns_servers=["not-an-ip"])
        assert proc.returncode != 0 and "dns_servers: 'not-an-ip' is not an IPv4 or IPv6 address" in text, text[-2000:]
    finally:
        for obj in api.get("configuration/v1/ntp_server/"):
            if obj["address"] in names:
                api.delete(obj["resource_uri"])
