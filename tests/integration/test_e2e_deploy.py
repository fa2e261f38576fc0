# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""End to end: deploy.yml deploys Conferencing Nodes over two AWS regions against the lab (moto + the Pexip simulator),
and what its runs cost, pinned so that per-node reads cannot creep back (issue 13).

One inventory with unique names, one Management Node, nodes in two regions (the
guide: "one or many regions"; issue 28):

- ``t1`` transcoding, Elastic IP, and ``t2`` transcoding, auto-assigned public IP, in location A (platform region);
- ``p1`` Proxying Edge Node (c5.xlarge), no public address, in location B (platform region);
- ``h1`` half deployed before the first run: its instance runs and the Management Node knows the node, but the
  bootstrap document was never uploaded (an earlier run stopped in between);
- ``r1`` transcoding, Elastic IP, in location C, in the lab's second region (LAB_REGION_2, its own VPC);
- ``f1`` only in the last, ``--check``, run: a node that does not exist anywhere yet.

After the deploy and its no-op re-run: rolling maintenance over both regions, then one node terminated in each.

Cost pins, on a lab of this file's own (what is counted is this fleet's cost, not that of the locations, nodes and
servers that the worker's earlier tests left on its lab: seen, 11 requests instead of 6 for the same no-op): the first
deploy launches, creates and bootstraps each node once; the no-op re-run and --check read the fleet once per region,
not once per node: at most 3 Management Node requests per node, no request about a single node (but the new f1 in
--check), one DescribeInstances per region naming that region's nodes, a fixed handful of AWS calls per region, and
no write at all. AWS calls are counted by a small proxy in front of moto that only the playbooks use
(e2e.AwsCounter). `make bench` measures the same at 1, 10 and 50 nodes.

The tests run in file order and share the deployment (module-scoped fixture).
"""

import os
import re
import time
import uuid

import pytest
import yaml

# The tests of this file share module-scoped fixtures: pytest-xdist keeps them on one worker.
pytestmark = pytest.mark.xdist_group("test_e2e_deploy")

import labenv  # noqa: E402  pylint: disable=wrong-import-position
from e2e import (  # noqa: E402  pylint: disable=wrong-import-position
    REPO, WRITES, Api, AwsCounter, instances, lab_control, output, platform_inventory, run_module, run_playbook)

SUFFIX = uuid.uuid4().hex[:6]
PREFIX = "e2e-dep-%s" % SUFFIX
LOCATION_A = "E2E deploy A %s" % SUFFIX
LOCATION_B = "E2E deploy B %s" % SUFFIX
LOCATION_C = "E2E deploy C %s" % SUFFIX  # in the second region
SSH_PASSWORD = "e2e-" + uuid.uuid4().hex


AWS_READ = re.compile(r"^(Describe|Get|List)")
# Per region of the fleet, the reads of a no-op run: the key pair, the subnets, the security group's lookup and its
# rules, one DescribeInstances, one DescribeAddresses. Anything per node would add 3 or more.
AWS_CALLS_PER_REGION_MAX = 9
# A new node in --check: its image, and ec2_instance's own lookups (the instance by its tags, its subnet and group).
AWS_CALLS_PER_NEW_NODE_MAX = 6
MGMT_REQUESTS_PER_NODE_MAX = 3
# A node's own tasks in a no-op run (ok + skipped; the first node also runs the play's run_once reads). Each costs the
# controller 25-50 ms per node, module or not: issue 25's renovation added five (role node_instance in fleet.yml) and
# the no-op's CPU grew by 40 % (docs/bench.md); issue 29 added four, the guide's prerequisites read before acting (the
# key pair and the subnet's route out, each a read and a check).
TASKS_PER_NODE_MAX = 24
RECAP_TASKS = re.compile(r"^(\S+)\s*:\s*ok=(\d+)\s.*\sskipped=(\d+)", re.M)


def name(short):
    return "%s-%s" % (PREFIX, short)


NODES = {
    "t1": dict(role="transcoding", location=LOCATION_A, subnet="LAB_SUBNET_A", public_ip="elastic", instance_type="c5.2xlarge"),
    "t2": dict(role="transcoding", location=LOCATION_A, subnet="LAB_SUBNET_A", public_ip="auto", instance_type="c5.2xlarge"),
    "p1": dict(role="proxying", location=LOCATION_B, subnet="LAB_SUBNET_B", public_ip="none", instance_type="c5.xlarge"),
    "h1": dict(role="transcoding", location=LOCATION_A, subnet="LAB_SUBNET_A", public_ip="auto", instance_type="c5.2xlarge"),
    "r1": dict(role="transcoding", location=LOCATION_C, subnet="LAB_SUBNET_2A", public_ip="elastic", instance_type="c5.2xlarge", region=2),
}
# The gateway of each subnet (its first address), as the node's configuration must carry it.
GATEWAYS = {"LAB_SUBNET_A": "127.20.1.1", "LAB_SUBNET_B": "127.20.2.1", "LAB_SUBNET_2A": "127.21.1.1"}


def region(env, short):
    """The lab region of a node: the second one (LAB_REGION_2) for those declared there, else the platform's."""
    return env["LAB_REGION_2"] if NODES.get(short, {}).get("region") == 2 else env["AWS_REGION"]


FRESH = {"f1": dict(role="transcoding", location=LOCATION_A, subnet="LAB_SUBNET_A", public_ip="elastic", instance_type="c5.2xlarge")}


def inventory(env, nodes):
    hosts = {}
    for short, node in nodes.items():
        hosts[name(short)] = {
            "pexip_node_name": name(short),
            "pexip_node_hostname": name(short),
            "pexip_node_role": node["role"],
            "pexip_node_location": node["location"],
            "pexip_node_instance_type": node["instance_type"],
            "pexip_node_subnet_id": env[node["subnet"]],
            "pexip_node_public_ip": node["public_ip"],
            "pexip_node_bursting": False,
        }
        if node.get("region") == 2:
            hosts[name(short)].update(pexip_node_region=env["LAB_REGION_2"], pexip_vpc_id=env["LAB_VPC_ID_2"])
    # Management Node settings come from the PEXIP_* environment (the playbooks' fallbacks).
    servers = {"dns_servers": ["127.0.0.53"], "ntp_servers": ["127.0.0.123"]}
    locations = [dict(servers, name=LOCATION_A, description="e2e transcoding"),
                 dict(servers, name=LOCATION_B, description="e2e proxying edge", transcoding_location=LOCATION_A),
                 dict(servers, name=LOCATION_C, description="e2e transcoding, second region")]
    return platform_inventory(env, name("sg"), {"conferencing_nodes": {"hosts": hosts}},
                              pexip_node_domain="e2e.example.com", pexip_node_ssh_password=SSH_PASSWORD, pexip_node_sync_poll=2,
                              pexip_locations=locations)


def ansible_module(env, module, args):
    """Run one module ad hoc on the controller, with the lab's connection settings."""
    proc = run_module(env, module, args)
    assert proc.returncode == 0, output(proc)


def half_deploy(env):
    """h1 as an interrupted run leaves it: instance running, node created on the Management Node, no upload."""
    ec2 = labenv.ec2_client(env)
    image = ec2.describe_images(Owners=["686087431763"], Filters=[
        {"Name": "name", "Values": ["Pexip Infinity Conferencing Node * build *"]}])["Images"]
    image_id = max(image, key=lambda i: i["CreationDate"])["ImageId"]
    node_name = name("h1")
    reservation = ec2.run_instances(
        ImageId=image_id, InstanceType="c5.2xlarge", MinCount=1, MaxCount=1, KeyName=env["LAB_KEY_NAME"],
        Placement={"Tenancy": "dedicated"},
        NetworkInterfaces=[{"DeviceIndex": 0, "SubnetId": env["LAB_SUBNET_A"], "AssociatePublicIpAddress": True}],
        TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": node_name},
                                                                 {"Key": "pexip:node", "Value": node_name}]}])
    instance_id = reservation["Instances"][0]["InstanceId"]
    ec2.get_waiter("instance_running").wait(InstanceIds=[instance_id], WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    private_ip = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]["PrivateIpAddress"]
    ansible_module(env, "pexip.infinity.pexip_location", "name='%s'" % LOCATION_A)
    # The document is returned and thrown away: the node can never use it.
    ansible_module(env, "pexip.infinity.pexip_node",
                   "name=%s hostname=%s domain=e2e.example.com address=%s netmask=255.255.255.0 gateway=127.20.1.1 "
                   "system_location='%s' ssh_password=%s allow_loopback_addresses=true" % (node_name, node_name, private_ip, LOCATION_A, SSH_PASSWORD))
    return instance_id


def clean_up(env, api, node_names):
    """Leave the shared lab as it was: nodes, instances, Elastic IPs, locations, security groups, in both regions."""
    for node_name in node_names:
        node = api.node(node_name)
        if node:
            api.delete("configuration/v1/worker_vm/%d/" % node["id"])
    for lab_region in (env["AWS_REGION"], env["LAB_REGION_2"]):
        ec2 = labenv.ec2_client(env, lab_region)
        for address in ec2.describe_addresses(Filters=[{"Name": "tag:pexip:node", "Values": node_names}])["Addresses"]:
            if address.get("AssociationId"):
                ec2.disassociate_address(AssociationId=address["AssociationId"])
            ec2.release_address(AllocationId=address["AllocationId"])
        ids = [i["InstanceId"] for node_name in node_names for i in instances(env, node_name, region=lab_region)]
        if ids:
            ec2.terminate_instances(InstanceIds=ids)
        for group in ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": [name("sg")]}])["SecurityGroups"]:
            try:
                ec2.delete_security_group(GroupId=group["GroupId"])
            except Exception:  # pylint: disable=broad-except
                pass  # still referenced by terminating instances; harmless in the lab
    for location_id in api.location_ids([LOCATION_B, LOCATION_A, LOCATION_C]):
        api.delete("configuration/v1/system_location/%d/" % location_id)


@pytest.fixture(scope="module")
def deploy_lab():
    """A lab of this file's own, beside the worker's (see the module's docstring)."""
    worker = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0")[2:])
    directory = os.path.join(REPO, ".lab-gw%d-deploy" % worker)
    try:
        yield labenv.ensure_lab(directory, ports=labenv.worker_lab_ports(10 + worker))
    finally:
        labenv.stop_lab(directory)


@pytest.fixture(scope="module")
def deployment(deploy_lab, tmp_path_factory):
    counter = AwsCounter(deploy_lab["AWS_URL"])
    # The playbooks (and this file's own boto3 calls, which each measured run leaves out) go through the proxy.
    env = dict(deploy_lab, AWS_URL=counter.url, AWS_ENDPOINT_URL=counter.url)
    directory = tmp_path_factory.mktemp("e2e-deploy")
    inventory_file = str(directory / "inventory.yml")
    with open(inventory_file, "w", encoding="utf-8") as handle:
        yaml.safe_dump(inventory(env, NODES), handle, sort_keys=False)
    api = Api(env)
    h1_instance = half_deploy(env)
    assert api.node(name("h1")) is not None and not (api.status(name("h1")) or {}).get("last_updated")
    control = lab_control(env)

    def measure(*args, inventory_file=inventory_file):
        counter.take()
        since = control.last_ts()
        proc, recap = run_playbook(env, inventory_file, *args, playbook="playbooks/deploy.yml")
        return dict(proc=proc, recap=recap, requests=control.requests_log(since), aws=counter.take())

    started = time.monotonic()
    first = measure()
    yield dict(env=env, api=api, directory=directory, inventory=inventory_file, proc=first["proc"], recap=first["recap"], first=first,
               measure=measure, h1_instance=h1_instance, seconds=time.monotonic() - started)
    clean_up(env, api, [name(short) for short in list(NODES) + list(FRESH)])
    counter.close()


def assert_fleet_cost(run, nodes, new=()):
    """A run over ``nodes`` that already are as declared (and ``new`` ones, in --check): the fleet read once per
    region, nothing per node, no write."""
    proc, requests, aws = run["proc"], run["requests"], run["aws"]
    mgmt = [e for e in requests if e["target"] == "mgmt"]
    print("%d nodes: %d Management Node requests %s, %d AWS calls %s" % (
        len(nodes), len(mgmt), [e["method"] + " " + e["path"] for e in mgmt], len(aws), [action for action, _params in aws]))
    assert len(mgmt) <= MGMT_REQUESTS_PER_NODE_MAX * (len(nodes) + len(new)), [e["path"] for e in mgmt]
    tasks = {m.group(1): int(m.group(2)) + int(m.group(3)) for m in RECAP_TASKS.finditer(proc.stdout)}
    print("tasks per node (ok + skipped): %s" % tasks)
    first = nodes[0]  # the first host of the inventory also runs the play's run_once reads
    assert {node: n for node, n in tasks.items() if node in nodes and node != first and n > TASKS_PER_NODE_MAX} == {}, tasks
    # No request about one node (but a new one's): neither a name filter nor a node's own resource, nor its bootstrap page.
    single = [e["path"] for e in mgmt if "worker_vm" in e["path"] and re.search(r"name=|worker_vm/\d+/", e["path"])
              and not any(node in e["path"] for node in new)]
    assert single == [], single
    assert [e for e in requests if e["target"] != "mgmt"] == []
    assert [e for e in requests if e["method"] in WRITES] == []
    assert [action for action, _params in aws if not AWS_READ.match(action)] == [], aws
    regions = {region(run["env"], short) for short in NODES}
    assert len(aws) <= AWS_CALLS_PER_REGION_MAX * len(regions) + AWS_CALLS_PER_NEW_NODE_MAX * len(new), [action for action, _params in aws]
    # One DescribeInstances per region, together naming every node (a new node's own lookup aside).
    describes = [{value for key, values in params.items() if re.match(r"Filter\.\d+\.Value\.\d+$", key) for value in values}
                 for action, params in aws if action == "DescribeInstances"]
    fleet = [named for named in describes if named & set(nodes)]
    assert len(fleet) == len(regions) and set(nodes) <= set().union(*fleet), describes
    assert all(named & set(new) for named in describes if named not in fleet), describes


def test_first_run_deploys_every_node(deployment):
    proc, recap = deployment["proc"], deployment["recap"]
    assert proc.returncode == 0, output(proc)
    assert set(recap) == {name(short) for short in NODES}, output(proc)
    assert all(r["failed"] == 0 and r["unreachable"] == 0 and r["changed"] > 0 for r in recap.values()), recap


def test_first_deploy_creates_and_bootstraps_each_node_once(deployment):
    """Per new node: one launch, one create, one upload straight from it (no probe, no second write for the NAT).
    The half-deployed h1 has its instance: its never-reported record is deleted and created again, and uploaded."""
    first, api = deployment["first"], deployment["api"]
    mgmt = [e for e in first["requests"] if e["target"] == "mgmt"]
    pages = [(e["method"], e["path"]) for e in first["requests"] if e["target"] != "mgmt"]
    # h1's page is probed once (a record that never reported: is the instance already configured?) before its record
    # is replaced; the new nodes' are not.
    assert sorted(pages) == [("GET", "/")] + [("POST", "/configuration/bootstrap")] * len(NODES), pages
    node_writes = sorted((e["method"], e["path"].split("?")[0]) for e in mgmt if e["method"] in WRITES and "worker_vm" in e["path"])
    deleted = [path for method, path in node_writes if method == "DELETE"]
    assert [method for method, _path in node_writes] == ["DELETE"] + ["POST"] * len(NODES), node_writes
    assert len(deleted) == 1 and api.node(name("h1"))["resource_uri"] != deleted[0], (deleted, api.node(name("h1")))
    launches = [action for action, _params in first["aws"] if action == "RunInstances"]
    assert len(launches) == len(NODES) - 1, [action for action, _params in first["aws"]]
    # The bootstrap document goes from the create to the instance: no temporary file, no separate upload task.
    assert "TASK [pexip.infinity.conferencing_node : Make a private directory" not in first["proc"].stdout
    assert "pexip_config_upload" not in first["proc"].stdout


def test_nodes_synced_on_the_management_node(deployment):
    api = deployment["api"]
    for short, node in NODES.items():
        config = api.node(name(short))
        status = api.status(name(short))
        assert config is not None and status is not None, short
        assert status["sync_status"] == "SYNCED" and status["last_updated"], (short, status)
        assert config["node_type"] == ("PROXYING" if node["role"] == "proxying" else "CONFERENCING"), (short, config)
        assert status["system_location"] == node["location"], (short, status)
        assert config["netmask"] == "255.255.255.0", (short, config)
        assert config["gateway"] == GATEWAYS[node["subnet"]], (short, config)


def test_instances_type_tenancy_tags_and_nat(deployment):
    env, api = deployment["env"], deployment["api"]
    for short, node in NODES.items():
        ec2 = labenv.ec2_client(env, region(env, short))
        found = instances(env, name(short), region=region(env, short))
        assert len(found) == 1, (short, [i["InstanceId"] for i in found])
        instance = found[0]
        assert instance["State"]["Name"] == "running", short
        assert instance["InstanceType"] == node["instance_type"], short
        assert instance["Placement"]["Tenancy"] == "dedicated", short
        tags = {t["Key"]: t["Value"] for t in instance.get("Tags", [])}
        assert tags.get("Name") == name(short) and tags.get("pexip:node") == name(short), (short, tags)
        assert "pexip-cloud" not in tags, short
        config = api.node(name(short))
        assert config["address"] == instance["PrivateIpAddress"], short
        public = instance.get("PublicIpAddress")
        if node["public_ip"] == "none":
            assert not public, (short, public)
            assert not config.get("static_nat_address"), (short, config)
        else:
            assert public and config["static_nat_address"] == public, (short, public, config.get("static_nat_address"))
        addresses = ec2.describe_addresses(Filters=[{"Name": "instance-id", "Values": [instance["InstanceId"]]}])["Addresses"]
        if node["public_ip"] == "elastic":
            assert [a["PublicIp"] for a in addresses] == [public], short
            assert {t["Key"]: t["Value"] for t in addresses[0].get("Tags", [])}.get("pexip:node") == name(short)
        else:
            assert addresses == [], short


def test_security_group_is_the_guides_in_each_region(deployment):
    """One group per region, in that region's VPC, with the guide's rules; the other region's node subnets are its
    IPsec peers (UDP 500 and ESP), as the nodes exchange IPsec across the customer's VPN or peering."""
    env = deployment["env"]
    others = {env["AWS_REGION"]: {"127.21.1.0/24"}, env["LAB_REGION_2"]: {"127.20.1.0/24", "127.20.2.0/24"}}
    vpcs = {env["AWS_REGION"]: env["LAB_VPC_ID"], env["LAB_REGION_2"]: env["LAB_VPC_ID_2"]}
    for lab_region, peers in others.items():
        ec2 = labenv.ec2_client(env, lab_region)
        groups = ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": [name("sg")]}])["SecurityGroups"]
        assert [g["VpcId"] for g in groups] == [vpcs[lab_region]], (lab_region, groups)
        group = groups[0]
        rules = set()
        for perm in group["IpPermissions"]:
            sources = [r["CidrIp"] for r in perm.get("IpRanges", [])] + [p["GroupId"] for p in perm.get("UserIdGroupPairs", [])]
            for source in sources:
                rules.add((str(perm["IpProtocol"]), perm.get("FromPort"), perm.get("ToPort"), source))
        me, mgmt, anywhere = group["GroupId"], "127.0.0.0/8", "0.0.0.0/0"
        assert rules == {
            ("tcp", 22, 22, mgmt), ("tcp", 8443, 8443, mgmt), ("icmp", -1, -1, mgmt),
            ("tcp", 443, 443, anywhere), ("tcp", 1720, 1720, anywhere), ("tcp", 5060, 5060, anywhere),
            ("tcp", 5061, 5061, anywhere), ("tcp", 33000, 49999, anywhere),
            ("udp", 1719, 1719, anywhere), ("udp", 40000, 49999, anywhere),
            ("udp", 500, 500, me), ("50", None, None, me),
        } | {("udp", 500, 500, peer) for peer in peers} | {("50", None, None, peer) for peer in peers}, (lab_region, sorted(rules, key=str))
        egress = [(str(p["IpProtocol"]), [r["CidrIp"] for r in p.get("IpRanges", [])]) for p in group["IpPermissionsEgress"]]
        assert egress == [("-1", [anywhere])], egress
        for short in NODES:
            if region(env, short) == lab_region:
                assert [g["GroupId"] for g in instances(env, name(short), region=lab_region)[0]["SecurityGroups"]] == [me], short


def test_half_deployed_node_finished_not_duplicated(deployment):
    env = deployment["env"]
    found = instances(env, name("h1"))
    assert [i["InstanceId"] for i in found] == [deployment["h1_instance"]]
    # Its first worker_vm was replaced: the task says so in its name.
    assert "Delete the never-reported Conferencing Node" in deployment["proc"].stdout


def test_second_run_changes_nothing_and_reads_the_fleet_once_per_region(deployment):
    run = deployment["measure"]()
    proc, recap = run["proc"], run["recap"]
    assert proc.returncode == 0, output(proc)
    assert set(recap) == {name(short) for short in NODES}, output(proc)
    assert {host: r["changed"] for host, r in recap.items()} == {host: 0 for host in recap}, output(proc)
    assert all(r["failed"] == 0 for r in recap.values()), recap
    assert_fleet_cost(dict(run, env=deployment["env"]), [name(short) for short in NODES])


def test_nat_update_follows_a_new_public_address(deployment):
    """Stop and start the auto-addressed node: it gets a new public IP, which nat_update.yml sets as static NAT."""
    env, api = deployment["env"], deployment["api"]
    ec2 = labenv.ec2_client(env)
    instance_id = instances(env, name("t2"))[0]["InstanceId"]
    ec2.stop_instances(InstanceIds=[instance_id])
    ec2.get_waiter("instance_stopped").wait(InstanceIds=[instance_id], WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    ec2.start_instances(InstanceIds=[instance_id])
    ec2.get_waiter("instance_running").wait(InstanceIds=[instance_id], WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    public = instances(env, name("t2"))[0]["PublicIpAddress"]
    assert public and public != api.node(name("t2"))["static_nat_address"]

    proc, recap = run_playbook(env, deployment["inventory"], playbook="playbooks/nat_update.yml")

    assert proc.returncode == 0, output(proc)
    assert {host: r["changed"] for host, r in recap.items()} == {name(s): int(s == "t2") for s in NODES}, output(proc)
    assert api.node(name("t2"))["static_nat_address"] == public
    # Only t2 runs the NAT write: the batch read already showed the other nodes' addresses right (no module run each).
    nat_write = [block for block in proc.stdout.split("TASK [")[1:]
                 if block.startswith("pexip.infinity.nat_update : Configure the Conferencing Node's static NAT address")]
    assert len(nat_write) == 1 and "changed: [%s]" % name("t2") in nat_write[0] and "ok: [" not in nat_write[0], nat_write


def test_check_run_reports_and_writes_nothing(deployment):
    env, api = deployment["env"], deployment["api"]
    inventory_file = str(deployment["directory"] / "inventory-check.yml")
    with open(inventory_file, "w", encoding="utf-8") as handle:
        yaml.safe_dump(inventory(env, dict(NODES, **FRESH)), handle, sort_keys=False)
    run = deployment["measure"]("--check", inventory_file=inventory_file)
    proc, recap = run["proc"], run["recap"]

    assert proc.returncode == 0, output(proc)
    assert recap[name("f1")]["failed"] == 0 and recap[name("f1")]["changed"] > 0, output(proc)
    assert all(recap[name(short)]["changed"] == 0 for short in NODES), recap
    assert "would launch c5.2xlarge (dedicated)" in proc.stdout and "would create %s" % name("f1") in proc.stdout, output(proc)
    # Nothing was created...
    assert instances(env, name("f1"), states=("pending", "running", "stopping", "stopped", "shutting-down", "terminated")) == []
    assert api.node(name("f1")) is None
    assert labenv.ec2_client(env).describe_addresses(Filters=[{"Name": "tag:pexip:node", "Values": [name("f1")]}])["Addresses"] == []
    # ...no write anywhere (the lab is this file's own), and the known nodes cost what a no-op run costs.
    assert_fleet_cost(dict(run, env=env), [name(short) for short in NODES], new=[name("f1")])
    # Reads did happen: the log is the one this run used.
    assert any(e["target"] == "mgmt" and "worker_vm" in e["path"] for e in run["requests"]), run["requests"][-20:]


def test_rolling_maintenance_over_both_regions(deployment):
    """One node of each region, one at a time: each is drained, stopped and started in its own region, and back in
    service."""
    env, api = deployment["env"], deployment["api"]
    nodes = [name("t1"), name("r1")]
    proc, recap = run_playbook(env, deployment["inventory"], "-e", "nodes=%s" % ",".join(nodes), "-e", "rolling_maintenance_serial=1",
                               "-e", "maintenance_poll_interval=1", "-e", "reinstate_poll_interval=1", playbook="playbooks/rolling_maintenance.yml")
    assert proc.returncode == 0, output(proc)
    assert {host: (recap[host]["failed"], recap[host]["changed"] > 0) for host in nodes} == {host: (0, True) for host in nodes}, output(proc)
    for short in ("t1", "r1"):
        assert instances(env, name(short), region=region(env, short))[0]["State"]["Name"] == "running", short
        assert api.node(name(short))["maintenance_mode"] is False, short


def test_terminate_one_node_in_each_region(deployment):
    env, api = deployment["env"], deployment["api"]
    gone = {name("t2"): env["AWS_REGION"], name("r1"): env["LAB_REGION_2"]}
    r1_instance = instances(env, name("r1"), region=env["LAB_REGION_2"])[0]["InstanceId"]
    proc, recap = run_playbook(env, deployment["inventory"], "-e", "nodes=%s" % ",".join(gone), "-e", "decommission_confirm=2",
                               "-e", "decommission_poll_interval=1", playbook="playbooks/terminate.yml")
    assert proc.returncode == 0, output(proc)
    assert all(recap[host]["failed"] == 0 for host in gone), output(proc)
    for node_name, lab_region in gone.items():
        assert api.node(node_name) is None, node_name
        assert instances(env, node_name, region=lab_region) == [], node_name
    # r1's Elastic IP was released in its own region; the other nodes are untouched.
    ec2 = labenv.ec2_client(env, env["LAB_REGION_2"])
    assert ec2.describe_addresses(Filters=[{"Name": "tag:pexip:node", "Values": [name("r1")]}])["Addresses"] == []
    assert ec2.describe_instances(InstanceIds=[r1_instance])["Reservations"][0]["Instances"][0]["State"]["Name"] in ("shutting-down", "terminated")
    for short in ("t1", "p1", "h1"):
        assert api.node(name(short)) is not None and instances(env, name(short)), short
