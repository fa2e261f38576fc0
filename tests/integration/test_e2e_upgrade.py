# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""End to end: playbooks/upgrade.yml on the lab - an upgrade of a small platform (safety net, upload, the Management
Node's reboot, the rolling upgrade) that waits for a node's live call, and a second run that writes nothing; an upgrade
with a node that never finishes (the play fails naming it, the platform stays consistent)."""

import os
import threading
import time
import uuid

import pytest
import requests
import yaml

import e2e  # pylint: disable=wrong-import-order
import labenv  # pylint: disable=wrong-import-order
from pexsim import upgrade  # pylint: disable=wrong-import-order

# The tests of this file share module-scoped fixtures (and upgrade the platform in turn: 35, then 36).
pytestmark = pytest.mark.xdist_group("test_e2e_upgrade")

PLAYBOOK = "playbooks/upgrade.yml"
PEXIP_AMI = "ami-0e1a34c0788000001"  # "Pexip Infinity Conferencing Node 34 build 78800" in the lab's moto
TIMING = {"upgrade_reboot_delay": 1.0, "upgrade_node_delay": 1.0, "upgrade_call_wait": 30.0}


class Platform:
    """Three nodes deployed straight through moto and the APIs (no playbook: seconds), a Management Node instance in moto
    (tag pexip:manager) whose volume the playbook snapshots, and the playbook's runs."""

    def __init__(self, env, tmp):
        self.env, self.dir = env, str(tmp)
        self.ec2 = labenv.ec2_client(env)
        self.api = e2e.Api(env)
        self.control = e2e.lab_control(env)
        tag = uuid.uuid4().hex[:6]
        self.names = ["upg%s-%d" % (tag, i + 1) for i in range(3)]
        self.manager = "mgr-upgrade-%s" % tag
        self.backups = os.path.join(self.dir, "backups")
        os.makedirs(self.backups, mode=0o700)
        self.instance_ids, self.addresses = [], {}

    def launch(self, tags):
        return self.ec2.run_instances(ImageId=PEXIP_AMI, MinCount=1, MaxCount=1, SubnetId=self.env["LAB_SUBNET_A"], InstanceType="c5.2xlarge",
                                      TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}]
                                      )["Instances"][0]

    def deploy(self):
        self.instance_ids.append(self.launch({"pexip:manager": self.manager})["InstanceId"])
        response = self.api.session.post(self.api.url("configuration/v1/system_location/"), json={"name": "Upgrade " + self.names[0]}, timeout=30)
        location = response.headers["Location"].split(self.env["PEXIP_HOST"], 1)[1]
        node_ca = os.path.join(self.env["LAB_DIR"], "tls", "node-ca.pem")
        for name in self.names:
            inst = self.launch({"pexip:node": name, "Name": name})
            self.instance_ids.append(inst["InstanceId"])
            address = self.addresses[name] = inst["PrivateIpAddress"]
            body = {"name": name, "hostname": name, "domain": "lab.example.com", "address": address, "netmask": "255.255.255.0",
                    "gateway": address.rsplit(".", 1)[0] + ".1", "system_location": location, "password": "$6$rounds=5000$salt$hash",
                    "deployment_type": "MANUAL-PROVISION-ONLY"}
            document = self.api.session.post(self.api.url("configuration/v1/worker_vm/"), json=body, timeout=30).content
            self.control.poll()
            url = "https://%s:%s/configuration/bootstrap" % (address, self.env["LAB_NODE_PORT"])
            deadline = time.time() + 30
            while True:  # the node's page is up once the lab has seen the instance run
                try:
                    answer = requests.post(url, data=document, headers={"Content-Type": "text/xml"}, verify=node_ca, timeout=5)
                    break
                except requests.ConnectionError:
                    assert time.time() < deadline, "node %s never listened" % name
                    time.sleep(0.2)
            assert answer.status_code == 200, answer.text
        deadline = time.time() + 60
        while not all((self.api.status(n) or {}).get("sync_status") == "SYNCED" for n in self.names):
            assert time.time() < deadline, "the nodes did not sync"
            time.sleep(0.2)

    def run(self, version, *extra, check=True):
        package = os.path.join(self.dir, "pexip-%s.tar" % version)
        with open(package, "wb") as handle:
            handle.write(upgrade.make_package(version, size=4096))
        inventory = os.path.join(self.dir, "inventory.yml")
        with open(inventory, "w", encoding="utf-8") as handle:
            localhost = {"ansible_connection": "local", "ansible_python_interpreter": "{{ ansible_playbook_python }}"}
            yaml.safe_dump({"all": {"hosts": {"localhost": localhost}}}, handle)
        args = ["pexip_upgrade_package=%s" % package, "pexip_upgrade_version=%s" % version, "pexip_upgrade_backup_passphrase=upgrade-pp",
                "pexip_upgrade_backup_dir=%s" % self.backups, "pexip_manager_name=%s" % self.manager, "pexip_region=%s" % self.env["AWS_REGION"],
                "upgrade_poll_interval=1", "upgrade_timeout=120"] + list(extra)
        return e2e.run_extra_vars(self.env, inventory, args, check=check, playbook=PLAYBOOK, tmp=self.dir)

    def versions(self):
        return {name: self.api.status(name)["version"] for name in self.names}

    def manager_version(self):
        return self.api.get("status/v1/management_vm/")[0]["version"]

    def cleanup(self):
        self.control.set_upgrade(reset=True)  # the other test files find the lab on its first version
        self.control.end_calls()
        self.ec2.terminate_instances(InstanceIds=self.instance_ids)
        for name in self.names:
            worker = self.api.node(name)
            if worker:
                self.api.delete(worker["resource_uri"])


@pytest.fixture(scope="module")
def platform(lab_env, tmp_path_factory):
    made = Platform(dict(lab_env), tmp_path_factory.mktemp("upgrade"))
    made.control.set_upgrade(reset=True)
    made.control.set_timing(**TIMING)
    try:
        made.deploy()
        yield made
    finally:
        made.cleanup()


def test_upgrade_waits_for_a_live_call_and_a_second_run_writes_nothing(platform):
    busy, stopped = platform.names[0], platform.names[2]
    # the operator's node in maintenance mode, its instance stopped: reported as not upgraded, not waited for
    platform.api.session.patch(platform.api.url(platform.api.node(stopped)["resource_uri"]), json={"maintenance_mode": True}, timeout=30)
    platform.ec2.stop_instances(InstanceIds=[platform.instance_ids[3]])
    platform.control.poll()
    platform.control.place_calls(platform.addresses[busy], count=1)

    def hang_up():
        """The call ends once a watch step (5 s) saw the node waiting in maintenance mode: then Pexip upgrades it."""
        deadline = time.time() + 120
        while time.time() < deadline:
            try:
                if (platform.api.node(busy) or {}).get("maintenance_mode"):
                    break
            except requests.RequestException:
                pass  # the Management Node is rebooting
            time.sleep(0.5)
        mark = platform.control.last_ts()
        # the fleet watch's polls (one request each): more than a 5-second step of them, so that a line showed it waiting
        while time.time() < deadline and len([e for e in platform.control.requests_log(since=mark)
                                              if e["path"].startswith("/api/admin/status/v1/worker_vm/?limit=")]) < 8:
            time.sleep(0.5)
        platform.control.end_calls(address=platform.addresses[busy])
    # three older upgrade snapshots of the Management Node's volume: with the new one, one of them goes (retention 3)
    volume = platform.ec2.describe_instances(InstanceIds=[platform.instance_ids[0]])["Reservations"][0]["Instances"][0][
        "BlockDeviceMappings"][0]["Ebs"]["VolumeId"]
    old = [platform.ec2.create_snapshot(VolumeId=volume, TagSpecifications=[{"ResourceType": "snapshot", "Tags": [
        {"Key": "pexip:deployment", "Value": platform.manager}, {"Key": "pexip:upgrade-to", "Value": "34.0.%d" % i}]}])["SnapshotId"]
        for i in range(3)]
    caller = threading.Thread(target=hang_up, daemon=True)
    caller.start()
    started = time.time()
    _rc, output, counts = platform.run("35.0.0")
    caller.join()
    print("upgrade of %d nodes (one with a live call, one stopped): %.1f s" % (len(platform.names), time.time() - started))
    assert platform.manager_version() == "35.0.0" and platform.versions() == {busy: "35.0.0", platform.names[1]: "35.0.0", stopped: "34.0.0"}
    assert [platform.api.node(name)["maintenance_mode"] for name in platform.names] == [False, False, True]
    # The per-node report names the stopped node as not upgraded. (The progress line, "N not upgraded (stopped) (names)",
    # counts every stopped node of the worker's lab, other files' too, and names ten at most: the unit tests pin it.)
    assert "%s: 34.0.0 -> 34.0.0, not upgraded" % stopped in output, [line for line in output.splitlines() if stopped in line or "upgraded" in line]
    assert counts["localhost"]["failed"] == 0 and counts["localhost"]["changed"] == 4  # backup, snapshot, pruning, upgrade
    assert "waiting on live calls (%s)" % busy in output
    assert "%s: 34.0.0 -> 35.0.0, upgraded" % busy in output
    backups = os.listdir(platform.backups)
    assert len(backups) == 1 and backups[0].startswith("pexip-before-35.0.0-")
    snaps = platform.ec2.describe_snapshots(Filters=[{"Name": "tag:pexip:deployment", "Values": [platform.manager]}])["Snapshots"]
    tags = [{t["Key"]: t["Value"] for t in snap["Tags"]} for snap in snaps]
    # moto's start times have whole seconds: the three old ones tie, and one of them goes
    assert len(snaps) == 3 and len(set(old) - set(snap["SnapshotId"] for snap in snaps)) == 1
    assert {"pexip:upgrade-from": "34.0.0", "pexip:upgrade-to": "35.0.0"}.items() <= next(t for t in tags if t["pexip:upgrade-to"] == "35.0.0").items()

    mark = platform.control.last_ts()
    _rc, output, counts = platform.run("35.0.0")
    assert counts["localhost"]["changed"] == 0 and "nothing was upgraded" in output
    assert platform.control.writes(since=mark) == []


def test_a_node_that_never_finishes_fails_the_play_naming_it(platform):
    stuck = platform.names[1]
    platform.control.set_upgrade(stall_nodes=[stuck])
    try:
        rc, output, _counts = platform.run("36.0.0", "upgrade_stall_timeout=3", "upgrade_snapshot=false", check=False)
        assert rc != 0
        assert "Conferencing Node(s) %s have been upgrading for more than 3 seconds" % stuck in " ".join(output.replace("'", " ").split())
        # consistent: the Management Node and the other node on 36, the stuck one in maintenance mode (no calls) on 35
        assert platform.manager_version() == "36.0.0"
        assert platform.versions() == {platform.names[0]: "36.0.0", stuck: "35.0.0", platform.names[2]: "34.0.0"}
        assert platform.api.node(stuck)["maintenance_mode"] is True
    finally:
        platform.control.set_upgrade(stall_nodes=[])


def test_restart_takes_a_stopped_node_out_of_maintenance_only_once_upgraded(platform):
    """The node the operator stopped before the upgrade (test 1): started by restart.yml, Pexip upgrades it first."""
    stopped = platform.names[2]
    assert platform.api.status(stopped)["version"] == "34.0.0" and platform.manager_version() == "36.0.0"
    inventory = os.path.join(platform.dir, "nodes.yml")
    with open(inventory, "w", encoding="utf-8") as handle:
        yaml.safe_dump({"all": {"vars": {"ansible_connection": "local", "ansible_python_interpreter": "{{ ansible_playbook_python }}",
                                         "pexip_region": platform.env["AWS_REGION"], "pexip_vpc_id": platform.env["LAB_VPC_ID"]},
                                "hosts": {stopped: {}}}}, handle)
    proc, counts = e2e.run_playbook(platform.env, inventory, "-e", "nodes=%s" % stopped, "-e", "reinstate_poll_interval=1",
                                    "-e", "reinstate_update_nat=false", playbook="playbooks/restart.yml", tmp=platform.dir, result_format="yaml")
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-8000:]
    waited = output.split("Wait until the node runs the Management Node's version", 1)[1].split("TASK [", 1)[0]
    assert "ok: [%s]" % stopped in waited  # not skipped: it reported on 34.0.0 first
    assert platform.api.status(stopped)["version"] == "36.0.0" and platform.api.node(stopped)["maintenance_mode"] is False
    assert counts[stopped]["failed"] == 0
