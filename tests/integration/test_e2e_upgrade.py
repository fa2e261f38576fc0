# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""End to end: playbooks/upgrade.yml on the lab - an upgrade of a small platform (safety net, upload, the Management
Node's reboot, the rolling upgrade) and a second run that writes nothing; an upgrade that waits for a node's live call;
an upgrade with a node that never finishes (the play fails naming it, the platform stays consistent)."""

import os
import time
import uuid

import pytest

import e2e  # pylint: disable=wrong-import-order
from pexsim import upgrade  # pylint: disable=wrong-import-order
from test_e2e_operations import PEXIP_AMI, Lab, Platform  # pylint: disable=wrong-import-order  # the same small platform

# The tests of this file share module-scoped fixtures (and upgrade the platform in turn: 35, 36, 37).
pytestmark = pytest.mark.xdist_group("test_e2e_upgrade")

PLAYBOOK = "playbooks/upgrade.yml"
TIMING = {"upgrade_reboot_delay": 1.0, "upgrade_node_delay": 1.0, "upgrade_call_wait": 30.0}


@pytest.fixture(scope="module")
def lab(lab_env):
    return Lab(lab_env)


@pytest.fixture(scope="module")
def platform(lab, tmp_path_factory):
    """Two nodes, and a Management Node instance in moto (tag pexip:manager) whose volume is snapshotted."""
    made = Platform(lab, tmp_path_factory.mktemp("upgrade"), 2, "upg")
    made.manager = "mgr-upgrade-%s" % uuid.uuid4().hex[:6]
    subnet = lab.env["LAB_SUBNET_A"]
    made.manager_id = lab.ec2.run_instances(ImageId=PEXIP_AMI, MinCount=1, MaxCount=1, SubnetId=subnet,
                                            InstanceType="m5.xlarge", TagSpecifications=[{"ResourceType": "instance", "Tags": [
                                                {"Key": "pexip:manager", "Value": made.manager}]}])["Instances"][0]["InstanceId"]
    made.backups = made.dir + "/backups"
    os.makedirs(made.backups, mode=0o700)
    lab.lab_control.set_timing(**TIMING)
    try:
        made.deploy()
        yield made
    finally:
        lab.lab_control.set_upgrade(reset=True)  # the other test files find the lab on its first version
        lab.ec2.terminate_instances(InstanceIds=[made.manager_id])
        made.cleanup()


def run(platform, version, *extra, check=True):
    package = "%s/pexip-%s.tar" % (platform.dir, version)
    with open(package, "wb") as handle:
        handle.write(upgrade.make_package(version, size=4096))
    return platform.run("upgrade.yml", "pexip_upgrade_package=%s" % package, "pexip_upgrade_version=%s" % version,
                        "pexip_upgrade_backup_passphrase=upgrade-pp", "pexip_upgrade_backup_dir=%s" % platform.backups,
                        "pexip_manager_name=%s" % platform.manager, "upgrade_poll_interval=1", "upgrade_timeout=120", *extra, check=check)


def versions(lab, platform):
    return {name: lab.pexip.status(name)["version"] for name in platform.names}


def test_upgrade_then_a_second_run_writes_nothing(lab, platform):
    started = time.time()
    _rc, output, counts = run(platform, "35.0.0")
    assert lab.pexip.primary() and versions(lab, platform) == dict.fromkeys(platform.names, "35.0.0")
    assert lab.pexip.get("status/v1/management_vm/")[0]["version"] == "35.0.0"
    assert counts["localhost"]["failed"] == 0 and counts["localhost"]["changed"] >= 3  # backup, snapshot, upgrade
    assert "Management Node: away (rebooting)" in output or "Management Node: on 35.0.0" in output
    assert "2/2 upgraded" in output or "upgraded" in output
    backups = os.listdir(platform.backups)
    assert len(backups) == 1 and backups[0].startswith("pexip-before-35.0.0-")
    snaps = lab.ec2.describe_snapshots(Filters=[{"Name": "tag:pexip:deployment", "Values": [platform.manager]}])["Snapshots"]
    assert len(snaps) == 1 and {t["Key"]: t["Value"] for t in snaps[0]["Tags"]}["pexip:upgrade-from"] == "34.0.0"
    print("upgrade of %d nodes: %.1f s" % (len(platform.names), time.time() - started))

    mark = lab.last_ts()
    _rc, output, counts = run(platform, "35.0.0")
    assert counts["localhost"]["changed"] == 0 and "nothing was upgraded" in output
    assert [e for e in lab.lab_control.writes(since=mark)] == []


def test_a_node_with_a_live_call_is_waited_for(lab, platform):
    busy = platform.names[0]
    address = lab.worker(busy)["address"]
    lab.place_calls(address, 1, 6)  # ends by itself after 6 seconds: Pexip upgrades the node then
    _rc, output, _counts = run(platform, "36.0.0")
    assert "waiting on live calls (%s)" % busy in output
    assert versions(lab, platform) == dict.fromkeys(platform.names, "36.0.0")
    assert not any(lab.worker(name)["maintenance_mode"] for name in platform.names)


def test_a_node_that_never_finishes_fails_the_play_naming_it(lab, platform):
    stuck = platform.names[1]
    lab.lab_control.set_upgrade(stall_nodes=[stuck])
    try:
        rc, output, _counts = run(platform, "37.0.0", "upgrade_stall_timeout=4", check=False)
    finally:
        lab.lab_control.set_upgrade(stall_nodes=[])
    assert rc != 0
    assert "Conferencing Node(s) %s have been upgrading for more than 4 seconds" % stuck in output
    # consistent: the Management Node and the other node on 37, the stuck one in maintenance (no calls) on 36
    assert lab.pexip.get("status/v1/management_vm/")[0]["version"] == "37.0.0"
    assert versions(lab, platform) == {platform.names[0]: "37.0.0", stuck: "36.0.0"}
    assert lab.worker(stuck)["maintenance_mode"] is True
