# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The disaster-recovery drill (docs/day2.md), end to end in the lab.

A small platform (a Management Node installed from nothing, one Conferencing Node) is deployed with
management_node.yml and deploy.yml (site.yml's first two steps; the rest does nothing for this platform) and backed
up with backup.yml. restore.yml on it is refused while a call is live, before any write (what confirms a restore is
pinned without a lab by tests/unit/test_restore_playbook.py). Then the Management Node's instance is terminated
behind the collection's back. management_node.yml launches a new one at the same address and runs its first boot:
like a real new Management Node it is empty (the lab models one installed where an installed one was lost as a fresh
install: pexsim/sshboot.py). restore.yml puts the backup back; the Conferencing Node syncs again without being
redeployed (same instance, never stopped). That a second run restores nothing (the marker) is pinned by
tests/unit/plugins/modules/test_pexip_backup_restore.py.

The lab has one platform model per worker: the fresh install empties it, the restore brings back all of it as it was
at the backup; the fixture puts the primary Management Node's identity back for the worker's other files.
"""

import os
import random
import uuid

import pytest
import yaml

import labcerts
import labenv
from e2e import Api, lab_control, output, platform_inventory, run_playbook, writable

pytestmark = pytest.mark.xdist_group("test_e2e_restore")

SUFFIX = uuid.uuid4().hex[:6]
MANAGER = "e2e-dr-mgr-%s" % SUFFIX
NODE = "e2e-dr-cn-%s" % SUFFIX
# An overflow node, stopped until Pexip starts it (never started here): restore.yml must not wait for it to sync.
OVERFLOW = "e2e-dr-burst-%s" % SUFFIX
PASSPHRASE = "dr-" + uuid.uuid4().hex
WEB_USER, WEB_PASSWORD = "dr-" + SUFFIX, "web-" + uuid.uuid4().hex[:12]


def free_address(env):
    """An address no instance has ever had (moto lists terminated ones too): the lab wipes its model only when a new
    Management Node takes the address of a lost one, as here on purpose."""
    used = {i.get("PrivateIpAddress") for r in labenv.ec2_client(env).describe_instances()["Reservations"] for i in r["Instances"]}
    candidates = ["127.20.2.%d" % n for n in range(100, 250)]
    random.shuffle(candidates)
    return next(a for a in candidates if a not in used)


def inventory(env, address, tmp):
    location = "E2E DR %s" % SUFFIX
    labcerts.issue(labcerts.load_or_make_ca(env["LAB_CERT_DIR"]), "mgr-dr-%s.e2e.example.com" % SUFFIX, [address]).write(str(tmp), "mgr")
    children = {
        "management_node": {"hosts": {MANAGER: {
            "pexip_manager_hostname": "mgr-dr-" + SUFFIX, "pexip_manager_domain": "e2e.example.com",
            "pexip_manager_subnet_id": env["LAB_SUBNET_B"], "pexip_manager_private_ip": address,
            "pexip_manager_os_password": "os-" + SUFFIX + "-pw", "pexip_manager_ssh_port": int(env["LAB_SSH_PORT"]),
            "pexip_manager_private_key_file": env["LAB_KEY_FILE"], "pexip_manager_known_hosts_file": str(tmp / "known_hosts"),
            "pexip_manager_ssh_timeout": 60, "pexip_manager_prompt_timeout": 20, "pexip_manager_api_timeout": 60,
        }}},
        "conferencing_nodes": {"hosts": {NODE: {
            "pexip_node_name": NODE, "pexip_node_role": "transcoding", "pexip_node_location": location,
            "pexip_node_subnet_id": env["LAB_SUBNET_A"], "pexip_node_public_ip": "none", "pexip_node_bursting": False,
        }}},
    }
    return platform_inventory(
        env, "e2e-dr-sg-%s" % SUFFIX, children,
        pexip_manager_host="%s:%s" % (address, env["LAB_MGMT_PORT"]), pexip_manager_username=WEB_USER, pexip_manager_password=WEB_PASSWORD,
        pexip_manager_ca_path=os.path.join(env["LAB_CERT_DIR"], "ca.pem"), pexip_manager_validate_certs=True,
        # A new Management Node is self-signed until its certificate (issued here by the lab CA) is uploaded.
        pexip_manager_tls_trust_on_first_use=True,
        pexip_manager_tls_certificate={"certificate_file": str(tmp / "mgr.pem"), "private_key_file": str(tmp / "mgr.key")},
        pexip_dns_servers=["127.0.0.53"], pexip_ntp_servers=["127.0.0.123"], pexip_node_domain="e2e.example.com",
        pexip_node_ssh_password="e2e-" + uuid.uuid4().hex, pexip_node_sync_poll=2,
        pexip_locations=[{"name": location, "dns_servers": ["127.0.0.53"], "ntp_servers": ["127.0.0.123"]}])


@pytest.fixture(scope="module")
def platform(lab_env, tmp_path_factory):
    """management_node.yml and deploy.yml deploy the platform, backup.yml backs it up; afterwards the lab's primary
    Management Node is put back."""
    env, tmp = dict(lab_env), tmp_path_factory.mktemp("dr")
    lab_api = Api(env)
    primary = lab_api.primary()
    address = free_address(env)
    path = str(tmp / "inventory.yml")
    with open(path, "w", encoding="utf-8") as handle:
        yaml.safe_dump(inventory(env, address, tmp), handle, sort_keys=False)
    backups = tmp / "backups"
    backups.mkdir(mode=0o700)
    state = dict(env=env, tmp=tmp, inventory=path, address=address, backups=backups)
    try:
        for playbook in ("playbooks/management_node.yml", "playbooks/deploy.yml"):
            proc, dummy = run_playbook(env, path, playbook=playbook, timeout=600)
            assert proc.returncode == 0, output(proc)
        # Everything Pexip through the new Management Node, with its wizard's credentials (as the inventory says).
        # Its certificate is the one the inventory uploaded, signed by the operator CA (not the lab Management Node's).
        operator_ca = os.path.join(env["LAB_CERT_DIR"], "ca.pem")
        state["api"] = api = Api(dict(env, PEXIP_HOST="%s:%s" % (address, env["LAB_MGMT_PORT"]), PEXIP_USERNAME=WEB_USER,
                                      PEXIP_PASSWORD=WEB_PASSWORD, PEXIP_CA_PATH=operator_ca))
        state["pexip_env"] = dict(env, PEXIP_HOST=api.base.split("/")[2], PEXIP_USERNAME=WEB_USER, PEXIP_PASSWORD=WEB_PASSWORD,
                                  PEXIP_CA_PATH=operator_ca)
        overflow = dict(name=OVERFLOW, hostname=OVERFLOW, domain="e2e.example.com", address="127.20.9.201", netmask="255.255.255.0",
                        gateway="127.20.9.1", system_location=api.node(NODE)["system_location"], password="e2e-" + SUFFIX,
                        deployment_type="MANUAL-PROVISION-ONLY", enable_distributed_database=False)
        api.session.post(api.url("configuration/v1/worker_vm/"), json=overflow, timeout=30).raise_for_status()
        proc, dummy = run_playbook(state["pexip_env"], None, "-e", "backup_local_dir=%s" % backups, "-e", "backup_passphrase=%s" % PASSPHRASE,
                                   playbook="playbooks/backup.yml")
        assert proc.returncode == 0, output(proc)
        (state["backup"],) = list(backups.iterdir())
        state["node_instance"] = labenv.describe_instance(env, name=NODE)
        state["worker"] = api.node(NODE)
        yield state
    finally:
        ec2 = labenv.ec2_client(env)
        ids = [i["InstanceId"] for r in ec2.describe_instances(Filters=[
            {"Name": "tag:Name", "Values": [MANAGER, NODE]}, {"Name": "instance-state-name", "Values": ["pending", "running", "stopped"]}])["Reservations"]
            for i in r["Instances"]]
        if ids:
            ec2.terminate_instances(InstanceIds=ids)
        for name in (NODE, OVERFLOW):
            worker = lab_api.node(name)
            if worker:
                lab_api.delete(worker["resource_uri"])
        lab_api.session.patch(lab_api.base + "configuration/v1/management_vm/%d/" % primary["id"], json=writable(primary),
                              timeout=30).raise_for_status()


def restore(state, *extra):
    backup = str(state["backup"])
    return run_playbook(state["pexip_env"], None, "-e", "restore_backup=%s" % backup, "-e", "restore_passphrase=%s" % PASSPHRASE, *extra,
                        playbook="playbooks/restore.yml", tmp=str(state["tmp"]))


def test_restore_is_refused_while_calls_are_live(platform):
    control = lab_control(platform["env"])
    since = control.last_ts()
    control.place_calls(platform["worker"]["address"], count=2)
    try:
        proc, dummy = restore(platform, "-e", "restore_confirm=%s" % platform["backup"].name)
    finally:
        control.end_calls(platform["worker"]["address"])
    assert proc.returncode != 0 and "2 participant(s) are live on %s" % NODE in " ".join(proc.stdout.split()), output(proc)
    assert [e for e in control.requests_log(since) if e["method"] != "GET"] == []
    assert not os.path.exists(str(platform["backup"]) + ".restored")


def test_a_lost_management_node_is_replaced_and_restored_and_the_nodes_sync_again(platform):
    env, api = platform["env"], platform["api"]
    control = lab_control(env)
    old = labenv.instance_summary(env, name=MANAGER)
    # The disaster, behind the collection's back.
    labenv.ec2_client(env).terminate_instances(InstanceIds=[old["id"]])
    for dummy in range(50):
        control.poll()
        if control.management_node(platform["address"]) is None:
            break
    # A new instance has a new SSH host key: the runbook removes the old one from known_hosts (ssh-keygen -R).
    os.unlink(platform["tmp"] / "known_hosts")
    proc, recap = run_playbook(env, platform["inventory"], playbook="playbooks/management_node.yml", timeout=600)
    assert proc.returncode == 0 and recap[MANAGER]["failed"] == 0, output(proc)
    new = labenv.instance_summary(env, name=MANAGER)
    assert new["id"] != old["id"] and new["private_ip"] == platform["address"]
    # A new Management Node knows nothing of the platform.
    assert api.node(NODE) is None

    # A short sync deadline: an overflow node that never starts would make the run fail rather than wait 900 s.
    proc, recap = restore(platform, "-e", "restore_confirm=%s" % platform["backup"].name, "-e", "restore_backup_version=34.0.0",
                          "-e", "restore_sync_timeout=120")
    assert proc.returncode == 0 and recap["localhost"]["failed"] == 0, output(proc)
    # The worker's lab holds the other files' nodes too: the backup has them all, and restore.yml waits for each node
    # that is not in maintenance and is always on (not only this drill's; not the overflow nodes).
    text = " ".join(proc.stdout.split())
    restored = api.get("configuration/v1/worker_vm/")
    assert OVERFLOW in [w["name"] for w in restored]
    expected = len([w for w in restored if not w["maintenance_mode"] and w.get("enable_distributed_database") is not False])
    assert "Restored %s (version 34.0.0" % platform["backup"].name in text, output(proc)
    assert "%d Conferencing Node(s) synced" % expected in text and expected >= 1, output(proc)
    assert PASSPHRASE not in proc.stdout + proc.stderr
    worker = api.node(NODE)
    assert worker["id"] == platform["worker"]["id"] and api.status(NODE)["sync_status"] == "SYNCED"
    # Not redeployed: the same instance, never stopped.
    node = labenv.describe_instance(env, name=NODE)
    assert (node["InstanceId"], node["LaunchTime"], node["State"]["Name"]) == (
        platform["node_instance"]["InstanceId"], platform["node_instance"]["LaunchTime"], "running")
    assert os.path.exists(str(platform["backup"]) + ".restored")
