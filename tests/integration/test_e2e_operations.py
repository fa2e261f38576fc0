# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""End to end: the operations playbooks (maintenance_stop, restart, terminate, resize, rolling_maintenance) on the lab.

Each test deploys its own Conferencing Nodes (unique names) on the shared lab, runs a playbook with ansible-playbook,
and checks the PLAY RECAP, moto (boto3) and the simulator (Management API, request log).
"""

import os
import re
import threading
import time
import uuid

import pytest
import requests
import yaml

import e2e  # pylint: disable=wrong-import-order
import labenv  # pylint: disable=wrong-import-order
from ansible_collections.pexip.infinity.plugins.module_utils.sha512_crypt import sha512_crypt  # pylint: disable=wrong-import-order

# The tests of this file share module-scoped fixtures: pytest-xdist keeps them on one worker.
pytestmark = pytest.mark.xdist_group("test_e2e_operations")

PEXIP_AMI = "ami-0e1a34c0788000001"  # "Pexip Infinity Conferencing Node 34 build 78800" in the lab's moto
LOCATION = "Operations Lab"

# ----- helpers ---------------------------------------------------------------------------------------------------


class Lab:
    """The lab's env plus the clients these tests need."""

    def __init__(self, env):
        self.env = env
        self.ec2 = labenv.ec2_client(env)
        # The request log is read through the lab's own client, as in every other test file.
        self.lab_control = e2e.lab_control(env)
        self.pexip = e2e.Api(env)
        # The lab's control API takes the Management Node's credentials and CA: one session for both.
        self.api = self.pexip.session
        self.mgmt = "https://%s" % env["PEXIP_HOST"]
        self.control = env["LAB_CONTROL_URL"].rstrip("/")

    # Management Node
    def worker(self, name):
        return self.pexip.node(name)

    def workers(self, names):
        return {o["name"]: o for o in self.pexip.get("configuration/v1/worker_vm/") if o["name"] in names}

    # Lab control
    def place_calls(self, address, count, duration):
        r = self.api.post(self.control + "/calls", json={"address": address, "count": count, "duration": duration}, timeout=10)
        assert r.status_code < 300, r.text

    def end_calls(self, address):
        self.api.delete(self.control + "/calls", params={"address": address}, timeout=10)

    def requests_log(self, since=None):
        return self.lab_control.requests_log(since)

    def last_ts(self):
        return self.lab_control.last_ts()

    # moto
    def instance(self, name):
        """The newest instance tagged pexip:node=name (any state)."""
        reservations = self.ec2.describe_instances(Filters=[{"Name": "tag:pexip:node", "Values": [name]}])["Reservations"]
        instances = [i for r in reservations for i in r["Instances"]]
        return max(instances, key=lambda i: i["LaunchTime"]) if instances else None

    def instance_by_id(self, instance_id):
        return self.ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]


class Platform:
    """A temporary inventory of uniquely named nodes, and ansible-playbook runs against it."""

    def __init__(self, lab, tmp_path, count, prefix):
        self.lab = lab
        self.dir = str(tmp_path)
        tag = uuid.uuid4().hex[:6]
        self.names = ["%s%s-%d" % (prefix, tag, i + 1) for i in range(count)]
        env = lab.env
        hosts = {}
        for name in self.names:
            hosts[name] = {
                "pexip_node_name": name,
                "pexip_node_hostname": name,
                "pexip_node_domain": "lab.example.com",
                "pexip_node_role": "transcoding",
                "pexip_node_location": LOCATION,
                "pexip_node_instance_type": "c5.2xlarge",
                "pexip_node_subnet_id": env["LAB_SUBNET_A"],
                "pexip_node_public_ip": "auto",
            }
        self.inventory = os.path.join(self.dir, "inventory.yml")
        data = {"all": {
            "vars": {
                "ansible_connection": "local",
                "ansible_python_interpreter": "{{ ansible_playbook_python }}",
                "pexip_region": env["AWS_REGION"],
                "pexip_vpc_id": env["LAB_VPC_ID"],
            },
            "hosts": {"localhost": {"ansible_connection": "local",
                                    "ansible_python_interpreter": "{{ ansible_playbook_python }}"}},
            "children": {"conferencing_nodes": {"hosts": hosts}},
        }}
        with open(self.inventory, "w", encoding="utf-8") as handle:
            yaml.safe_dump(data, handle)

    def run(self, playbook, *extra, check=True, timeout=300):
        """playbooks/<playbook> (or an absolute path) -e <extra>...: (rc, output, recap per host)."""
        return e2e.run_extra_vars(self.lab.env, self.inventory, extra, check=check, playbook=os.path.join("playbooks", playbook), timeout=timeout)

    def deploy(self):
        """The nodes straight through boto3 and the API (no playbook: these tests do not depend on the deploy playbook,
        and it costs the controller next to nothing): an instance with a public address tagged pexip:node=<node name>
        as the deploy role tags it, the node (configuration-only deployment) with that address as static NAT, its
        bootstrap document uploaded, synced."""
        ec2, api = self.lab.ec2, self.lab.pexip
        location = api.location(LOCATION) or api.create_location(LOCATION)
        for name in self.names:
            instance = ec2.run_instances(
                ImageId=PEXIP_AMI, InstanceType="c5.2xlarge", MinCount=1, MaxCount=1, KeyName=self.lab.env["LAB_KEY_NAME"],
                NetworkInterfaces=[{"DeviceIndex": 0, "SubnetId": self.lab.env["LAB_SUBNET_A"], "AssociatePublicIpAddress": True}],
                TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": name}, {"Key": "pexip:node", "Value": name}]}],
            )["Instances"][0]
            ec2.get_waiter("instance_running").wait(InstanceIds=[instance["InstanceId"]], WaiterConfig={"Delay": 0.5, "MaxAttempts": 120})
            instance = self.lab.instance_by_id(instance["InstanceId"])
            address = instance["PrivateIpAddress"]
            created = api.session.post(api.url("configuration/v1/worker_vm/"), timeout=30, json={
                "name": name, "hostname": name, "domain": "lab.example.com", "address": address, "netmask": "255.255.255.0",
                "gateway": address.rsplit(".", 1)[0] + ".1", "system_location": location["resource_uri"],
                "static_nat_address": instance["PublicIpAddress"], "node_type": "CONFERENCING", "deployment_type": "MANUAL-PROVISION-ONLY",
                "password": sha512_crypt("lab-ssh-password")})
            created.raise_for_status()
            e2e.upload_bootstrap(self.lab.env, address, created.text, os.path.join(self.lab.env["LAB_DIR"], "tls", "node-ca.pem"))
        e2e.wait_synced(api, self.names)

    def cleanup(self):
        """Terminate what is left of the test's instances and nodes (best effort)."""
        for name in self.names:
            instance = self.lab.instance(name)
            if instance and instance["State"]["Name"] != "terminated":
                self.lab.end_calls(instance.get("PrivateIpAddress"))
                self.lab.ec2.terminate_instances(InstanceIds=[instance["InstanceId"]])
            worker = self.lab.worker(name)
            if worker:
                self.lab.pexip.delete(worker["resource_uri"])


def platform_fixtures(count, prefix):
    """A test file's module-scoped ``lab`` and ``platform`` fixtures: ``count`` nodes named ``prefix...``, deployed once
    (in parallel) for the whole file and cleaned up after it."""

    @pytest.fixture(scope="module")
    def lab(lab_env):
        return Lab(lab_env)

    @pytest.fixture(scope="module")
    def platform(lab, tmp_path_factory):  # pylint: disable=redefined-outer-name
        made = Platform(lab, tmp_path_factory.mktemp(prefix), count, prefix)
        try:
            made.deploy()
            yield made
        finally:
            made.cleanup()

    return lab, platform


# Four nodes; each test works on its own node(s).
lab, platform = platform_fixtures(4, "ops")


def stop_node(lab, platform, name):
    if lab.instance(name)["State"]["Name"] != "stopped":
        platform.run("maintenance_stop.yml", "nodes=%s" % name, "maintenance_poll_interval=1")


# ----- tests -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("playbook", ["maintenance_stop.yml", "restart.yml", "resize.yml", "terminate.yml",
                                      "rolling_maintenance.yml", "convert_node.yml"])
def test_node_playbooks_refuse_to_run_without_named_nodes(lab, platform, playbook):
    """Without -e nodes=... these playbooks once acted on every Conferencing Node at once; now they stop first."""
    before = {name: lab.instance(name)["State"]["Name"] for name in platform.names}
    since = lab.last_ts()
    rc, output, _counts = platform.run(playbook, check=False)
    assert rc != 0
    assert "Name the nodes to" in output and "-e nodes=" in output, output[-3000:]
    assert {name: lab.instance(name)["State"]["Name"] for name in platform.names} == before
    writes = [r for r in lab.requests_log(since) if r["method"] not in ("GET", "HEAD")]
    assert writes == []


def test_maintenance_stop_waits_for_calls_then_stops(lab, platform):
    name = platform.names[0]
    address = lab.worker(name)["address"]
    lab.place_calls(address, count=2, duration=6)
    started = time.time()

    _rc, output, counts = platform.run("maintenance_stop.yml", "nodes=%s" % name, "maintenance_idle_timeout=60",
                                       "maintenance_poll_interval=1")

    assert time.time() - started >= 5, "the instance was stopped before the calls could have ended"
    assert counts[name]["changed"] >= 2 and counts[name]["failed"] == 0, output
    assert lab.instance(name)["State"]["Name"] == "stopped"
    assert lab.worker(name)["maintenance_mode"] is True

    # Already stopped and in maintenance mode: nothing to do.
    _rc, output, counts = platform.run("maintenance_stop.yml", "nodes=%s" % name)
    assert counts[name]["changed"] == 0, output


def test_restart_new_public_ip_follows_static_nat_and_is_idempotent(lab, platform):
    name = platform.names[0]
    deployed_nat = lab.worker(name)["static_nat_address"]
    stop_node(lab, platform, name)
    assert lab.instance(name)["State"]["Name"] == "stopped"

    _rc, output, counts = platform.run("restart.yml", "nodes=%s" % name, "reinstate_poll_interval=1")
    after = lab.instance(name)
    assert after["State"]["Name"] == "running"
    assert after["PublicIpAddress"] and after["PublicIpAddress"] != deployed_nat
    worker = lab.worker(name)
    assert worker["static_nat_address"] == after["PublicIpAddress"], output
    assert worker["maintenance_mode"] is False

    _rc, output, counts = platform.run("restart.yml", "nodes=%s" % name, "reinstate_poll_interval=1")
    assert counts[name]["changed"] == 0, output


def test_maintenance_stop_refuses_to_stop_a_busy_node(lab, platform):
    name = platform.names[1]
    worker = lab.worker(name)
    lab.place_calls(worker["address"], count=1, duration=120)
    try:
        rc, output, counts = platform.run("maintenance_stop.yml", "nodes=%s" % name, "maintenance_idle_timeout=3",
                                          "maintenance_poll_interval=1", check=False)
        assert rc != 0 and counts[name]["failed"] == 1, output
        assert "was NOT stopped" in output
        assert lab.instance(name)["State"]["Name"] == "running"
        assert lab.worker(name)["maintenance_mode"] is True
    finally:
        lab.end_calls(worker["address"])
        lab.api.patch(lab.mgmt + worker["resource_uri"], json={"maintenance_mode": False}, timeout=10)


def test_rolling_maintenance_keeps_at_most_two_nodes_out(lab, platform, tmp_path):
    names = platform.names
    ids = {lab.worker(n)["id"]: n for n in names}
    hook = tmp_path / "hook.yml"
    hook.write_text("---\n- name: The operator's own work while the node is stopped\n"
                    "  ansible.builtin.copy:\n    dest: \"%s/hook-{{ inventory_hostname }}\"\n"
                    "    content: \"{{ now() }}\"\n    mode: \"0600\"\n" % tmp_path)

    # While the playbook runs: sample maintenance mode of the four nodes, and collect the request log as it grows
    # (incrementally, because other tests on the shared lab may clear it).
    samples, log, stop = [], [], threading.Event()
    since = [lab.last_ts()]

    def sample():
        while not stop.is_set():
            try:
                workers = lab.workers(names)
                samples.append(sorted(n for n, w in workers.items() if w["maintenance_mode"]))
                entries = lab.requests_log(since[0])
                if entries:
                    log.extend(entries)
                    since[0] = entries[-1]["ts"]
            except requests.RequestException:
                pass
            stop.wait(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        _rc, output, counts = platform.run("rolling_maintenance.yml", "nodes=%s" % ",".join(names),
                                           "rolling_maintenance_serial=2", "rolling_maintenance_hook_tasks=%s" % hook,
                                           "maintenance_poll_interval=1", "reinstate_poll_interval=1")
    finally:
        stop.set()
        sampler.join()
    log.extend(lab.requests_log(since[0]))

    assert all(counts[n]["failed"] == 0 for n in names), output
    assert all((tmp_path / ("hook-%s" % n)).exists() for n in names)
    # Sampling: never more than two nodes out, and never one of each batch.
    assert samples and max(len(s) for s in samples) == 2, samples
    assert all(set(s) <= set(names[:2]) or set(s) <= set(names[2:]) for s in samples), samples

    # The request log: every write to the first batch's nodes (maintenance on, maintenance off, static NAT) comes
    # before the first write to the second batch's nodes.
    writes = []
    for entry in log:
        match = re.search(r"/configuration/v1/worker_vm/(\d+)/", entry["path"])
        if entry["method"] == "PATCH" and match and int(match.group(1)) in ids:
            writes.append(ids[int(match.group(1))])
    assert set(writes) == set(names), writes
    last_first_batch = max(i for i, n in enumerate(writes) if n in names[:2])
    first_second_batch = min(i for i, n in enumerate(writes) if n in names[2:])
    assert last_first_batch < first_second_batch, writes
    for name in names:
        assert lab.instance(name)["State"]["Name"] == "running"
        assert lab.worker(name)["maintenance_mode"] is False


def test_rolling_maintenance_brings_a_failed_batch_back_and_stops(lab, platform):
    """A node of the first batch still carries calls and cannot be stopped. Once the failure aborted the whole batch
    at once and left its other node in maintenance mode (out of service). Now every node of the batch is back in
    service, the run stops with each node's state, and the second batch is not touched."""
    names = platform.names
    busy = lab.worker(names[1])
    lab.place_calls(busy["address"], count=1, duration=120)
    since = lab.last_ts()
    try:
        rc, output, counts = platform.run("rolling_maintenance.yml", "nodes=%s" % ",".join(names),
                                          "rolling_maintenance_serial=2", "maintenance_idle_timeout=3",
                                          "maintenance_poll_interval=1", "reinstate_poll_interval=1", check=False)
    finally:
        lab.end_calls(busy["address"])
    assert rc != 0, output[-4000:]
    flat = " ".join(output.split())  # messages are wrapped in the output
    assert "Rolling maintenance stopped" in flat, output[-4000:]
    assert "%s: failed at" % names[1] in flat and "still carries live calls" in flat, output[-4000:]
    assert "— back in service" in flat, output[-4000:]
    assert "%s: done, in service" % names[0] in flat, output[-4000:]
    for name in names:
        assert lab.instance(name)["State"]["Name"] == "running", name
        assert lab.worker(name)["maintenance_mode"] is False, name
    # The second batch was not touched.
    second = {lab.worker(n)["id"] for n in names[2:]}
    writes = [e for e in lab.requests_log(since) if e["method"] != "GET"
              and any(e["path"].rstrip("/").endswith("/worker_vm/%d" % i) for i in second)]
    assert writes == [], writes
    assert names[2] not in counts and names[3] not in counts, counts


def test_resize_c4_to_c5_adds_ena(lab, platform):
    name = platform.names[2]
    instance_id = lab.instance(name)["InstanceId"]
    # A node first deployed as c4 without ENA (Pexip Infinity 20 or earlier); both change only while it is stopped.
    lab.ec2.stop_instances(InstanceIds=[instance_id])
    lab.ec2.get_waiter("instance_stopped").wait(InstanceIds=[instance_id], WaiterConfig={"Delay": 1})
    lab.ec2.modify_instance_attribute(InstanceId=instance_id, InstanceType={"Value": "c4.2xlarge"})
    lab.ec2.modify_instance_attribute(InstanceId=instance_id, EnaSupport={"Value": False})
    lab.ec2.start_instances(InstanceIds=[instance_id])
    lab.ec2.get_waiter("instance_running").wait(InstanceIds=[instance_id], WaiterConfig={"Delay": 1})
    instance = lab.instance_by_id(instance_id)
    assert instance["InstanceType"] == "c4.2xlarge" and not instance.get("EnaSupport")

    _rc, output, counts = platform.run("resize.yml", "nodes=%s" % name, "instance_family_instance_type=c5.2xlarge",
                                       "maintenance_poll_interval=1", "reinstate_poll_interval=1")
    assert counts[name]["failed"] == 0, output
    instance = lab.instance_by_id(instance_id)
    assert instance["InstanceType"] == "c5.2xlarge"
    assert instance["State"]["Name"] == "running"
    assert instance.get("EnaSupport") is True
    assert lab.worker(name)["maintenance_mode"] is False
    assert lab.worker(name)["static_nat_address"] == instance["PublicIpAddress"]

    _rc, output, counts = platform.run("resize.yml", "nodes=%s" % name, "instance_family_instance_type=c5.2xlarge")
    assert counts[name]["changed"] == 0, output


def test_terminate_refuses_an_instance_tagged_for_another_node(lab, platform):
    name = platform.names[3]
    instance = lab.instance(name)
    # The instance at the node's address now claims to be another node's.
    lab.ec2.create_tags(Resources=[instance["InstanceId"]], Tags=[{"Key": "pexip:node", "Value": "someone-else"}])
    try:
        rc, output, counts = platform.run("terminate.yml", "nodes=%s" % name, "decommission_confirm=%s" % name, check=False)
        assert rc != 0 and counts[name]["failed"] == 1, output
        assert "Refusing to terminate instance %s" % instance["InstanceId"] in output
        assert lab.instance_by_id(instance["InstanceId"])["State"]["Name"] == "running"
        worker = lab.worker(name)
        assert worker is not None and worker["maintenance_mode"] is False
    finally:
        lab.ec2.create_tags(Resources=[instance["InstanceId"]], Tags=[{"Key": "pexip:node", "Value": name}])


def test_terminate_removes_node_and_instance(lab, platform):
    name = platform.names[3]
    instance_id = lab.instance(name)["InstanceId"]
    # An Elastic IP the deploy role allocated for the node (tagged pexip:node), and one allocated by someone else.
    ours = lab.ec2.allocate_address(Domain="vpc", TagSpecifications=[{"ResourceType": "elastic-ip",
                                                                      "Tags": [{"Key": "pexip:node", "Value": name}]}])
    lab.ec2.associate_address(AllocationId=ours["AllocationId"], InstanceId=instance_id)
    theirs = lab.ec2.allocate_address(Domain="vpc")

    rc, output, _counts = platform.run("terminate.yml", "nodes=%s" % name, check=False)
    assert rc != 0 and "decommission_confirm=%s" % name in output
    assert lab.worker(name) is not None

    _rc, output, counts = platform.run("terminate.yml", "nodes=%s" % name, "decommission_confirm=%s" % name,
                                       "decommission_poll_interval=1")
    assert counts[name]["failed"] == 0, output
    assert lab.worker(name) is None
    assert lab.instance_by_id(instance_id)["State"]["Name"] == "terminated"
    left = {a["AllocationId"] for a in lab.ec2.describe_addresses()["Addresses"]}
    assert ours["AllocationId"] not in left and theirs["AllocationId"] in left
    lab.ec2.release_address(AllocationId=theirs["AllocationId"])

    _rc, output, counts = platform.run("terminate.yml", "nodes=%s" % name, "decommission_confirm=1")
    assert counts[name]["changed"] == 0, output


# The controller's IAM policy (docs/iam.md): the AWS calls of this file's runs, recorded by the lab from the file's
# start (aws_calls_mark is an autouse module fixture). Imported here, next to its test.
from aws_policy import assert_calls_allowed, aws_calls_mark  # noqa: E402,F401  pylint: disable=unused-import,wrong-import-position


def test_every_aws_call_is_in_the_controller_iam_policy(lab_env, platform, aws_calls_mark):  # noqa: F811  pylint: disable=redefined-outer-name
    """Every AWS action this file's runs made (and the collection's roles made in them) is in
    docs/examples/controller-iam-policy.json (docs/iam.md)."""
    assert_calls_allowed(lab_env, aws_calls_mark)
