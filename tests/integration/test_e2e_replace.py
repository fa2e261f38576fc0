# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""End to end: playbooks/replace_node.yml replaces a node's instance in place (issue 28 section 2).

Two nodes, deployed as deploy.yml leaves them (instance tagged pexip:node, Elastic IP tagged for the node and the
platform, node synced with its static NAT address) but straight through boto3 and the API, which costs the
controller next to nothing. One run replaces a live node that carries a call (drained first) and a node whose
instance was terminated behind the collection's back, whose new instance then refuses its first bootstrap upload (a
lab fault): the run stops half-way, and a re-run finishes it. Every replaced node keeps its private and public
addresses on a new instance, and ends synced and out of maintenance mode.
"""

import time
import uuid

import pytest
import yaml

import labenv  # pylint: disable=wrong-import-order
from ansible_collections.pexip.infinity.plugins.module_utils.sha512_crypt import sha512_crypt  # pylint: disable=wrong-import-order
from e2e import WRITES, Api, instances, lab_control, output, platform_inventory, run_playbook  # pylint: disable=wrong-import-order
from e2e import upload_bootstrap, wait_synced  # pylint: disable=wrong-import-order

# The tests of this file share module-scoped fixtures: pytest-xdist keeps them on one worker.
pytestmark = pytest.mark.xdist_group("test_e2e_replace")

SUFFIX = uuid.uuid4().hex[:6]
LOCATION = "E2E replace %s" % SUFFIX
GROUP = "rep-sg-%s" % SUFFIX
DOMAIN = "e2e.example.com"
NAMES = ["rep-%s-%d" % (SUFFIX, i) for i in (1, 2)]
LIVE, DEAD = NAMES


def folded(text):
    return " ".join(text.split())


def tags(instance):
    return {t["Key"]: t["Value"] for t in instance.get("Tags", [])}


class Replacement:
    """The deployed platform, and replace_node.yml runs against it."""

    def __init__(self, env, directory):
        self.env = env
        self.api = Api(env)
        self.ec2 = labenv.ec2_client(env)
        self.lab = lab_control(env)
        hosts = {name: {"pexip_node_name": name, "pexip_node_location": LOCATION, "pexip_node_subnet_id": env["LAB_SUBNET_A"],
                        "pexip_node_public_ip": "elastic"} for name in NAMES}
        inventory = platform_inventory(env, GROUP, {"conferencing_nodes": {"hosts": hosts}}, pexip_node_domain=DOMAIN,
                                       pexip_node_ssh_password="e2e-" + SUFFIX, pexip_node_sync_poll=1)
        self.inventory = str(directory / "inventory.yml")
        with open(self.inventory, "w", encoding="utf-8") as handle:
            yaml.safe_dump(inventory, handle, sort_keys=False)
        self.node_ca = inventory["all"]["children"]["pexip_platform"]["vars"]["pexip_node_bootstrap_ca_path"]

    def deploy(self):
        """What deploy.yml leaves, for NAMES: security group, location, instances, Elastic IPs, synced nodes."""
        env, ec2 = self.env, self.ec2
        group = ec2.create_security_group(GroupName=GROUP, Description="e2e replace", VpcId=env["LAB_VPC_ID"])["GroupId"]
        location = self.api.session.post(self.api.url("configuration/v1/system_location/"), json={"name": LOCATION}, timeout=30)
        location.raise_for_status()
        location_uri = self.api.location(LOCATION)["resource_uri"]
        images = ec2.describe_images(Owners=["686087431763"], Filters=[{"Name": "name", "Values": ["Pexip Infinity Conferencing Node 34 build *"]}])
        image_id = max(images["Images"], key=lambda i: i["CreationDate"])["ImageId"]
        subnet = ec2.describe_subnets(SubnetIds=[env["LAB_SUBNET_A"]])["Subnets"][0]["CidrBlock"]
        platform_tag = "%s/%s" % (env["LAB_VPC_ID"], env["PEXIP_HOST"].lower())
        for name in NAMES:
            instance = ec2.run_instances(
                ImageId=image_id, InstanceType="c5.2xlarge", MinCount=1, MaxCount=1, KeyName=env["LAB_KEY_NAME"], Placement={"Tenancy": "dedicated"},
                NetworkInterfaces=[{"DeviceIndex": 0, "SubnetId": env["LAB_SUBNET_A"], "Groups": [group]}],
                TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": name}, {"Key": "pexip:node", "Value": name}]}],
            )["Instances"][0]
            eip = ec2.allocate_address(Domain="vpc", TagSpecifications=[{"ResourceType": "elastic-ip", "Tags": [
                {"Key": "Name", "Value": name}, {"Key": "pexip:node", "Value": name}, {"Key": "pexip:platform", "Value": platform_tag}]}])
            ec2.associate_address(AllocationId=eip["AllocationId"], InstanceId=instance["InstanceId"])
            address = instance["PrivateIpAddress"]
            created = self.api.session.post(self.api.url("configuration/v1/worker_vm/"), timeout=30, json={
                "name": name, "hostname": name, "domain": DOMAIN, "address": address, "netmask": "255.255.255.0",
                "gateway": subnet.rsplit(".", 1)[0] + ".1", "system_location": location_uri, "static_nat_address": eip["PublicIp"],
                "node_type": "CONFERENCING", "deployment_type": "MANUAL-PROVISION-ONLY", "password": sha512_crypt("e2e-" + SUFFIX),
                "description": "replaced in place"})
            created.raise_for_status()
            upload_bootstrap(env, address, created.text, self.node_ca)
        wait_synced(self.api, NAMES)

    def replace(self, nodes, confirm=None):
        args = ["nodes=%s" % nodes, "replace_node_confirm=%s" % (confirm or nodes), "replace_node_poll_interval=1"]
        return run_playbook(self.env, self.inventory, *[a for e in args for a in ("-e", e)], playbook="playbooks/replace_node.yml")

    def state(self, name):
        """What a replacement must keep or change: instance, Elastic IP, record, status."""
        return dict(instances=instances(self.env, name), node=self.api.node(name), status=self.api.status(name),
                    eips=self.ec2.describe_addresses(Filters=[{"Name": "tag:pexip:node", "Values": [name]}])["Addresses"])

    def cleanup(self):
        for name in NAMES:
            node = self.api.node(name)
            if node:
                self.api.delete("configuration/v1/worker_vm/%d/" % node["id"])
            for address in self.ec2.describe_addresses(Filters=[{"Name": "tag:pexip:node", "Values": [name]}])["Addresses"]:
                if address.get("AssociationId"):
                    self.ec2.disassociate_address(AssociationId=address["AssociationId"])
                self.ec2.release_address(AllocationId=address["AllocationId"])
            ids = [i["InstanceId"] for i in instances(self.env, name)]
            if ids:
                self.ec2.terminate_instances(InstanceIds=ids)
        for location_id in self.api.location_ids([LOCATION]):
            self.api.delete("configuration/v1/system_location/%d/" % location_id)
        for group in self.ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": [GROUP]}])["SecurityGroups"]:
            try:
                self.ec2.delete_security_group(GroupId=group["GroupId"])
            except Exception:  # pylint: disable=broad-except
                pass  # still referenced by terminating instances; harmless in the lab


@pytest.fixture(scope="module")
def platform(lab_env, tmp_path_factory):
    made = Replacement(dict(lab_env), tmp_path_factory.mktemp("e2e-replace"))
    try:
        made.deploy()
        yield made
    finally:
        made.cleanup()


@pytest.fixture(scope="module")
def first_run(platform):
    """One run over both nodes: LIVE carries a call that ends by itself (3 s); DEAD's instance was terminated behind the
    collection's back, and its new instance refuses the first upload."""
    before = {name: platform.state(name) for name in NAMES}
    platform.lab.place_calls(before[LIVE]["node"]["address"], count=1, duration=3)
    platform.ec2.terminate_instances(InstanceIds=[before[DEAD]["instances"][0]["InstanceId"]])
    platform.lab.inject_fault(target="node:%s" % before[DEAD]["node"]["address"], method="POST", path="^/configuration/bootstrap",
                              status=400, count=1)
    since = platform.lab.last_ts()
    started = time.monotonic()
    try:
        proc, counts = platform.replace("%s,%s" % (LIVE, DEAD))
    finally:
        platform.lab.clear_faults()
    return dict(before=before, proc=proc, counts=counts, since=since, seconds=time.monotonic() - started)


def assert_replaced(platform, name, before):
    """A new instance, at the old private address with the old Elastic IP; the node re-created identically, synced and
    out of maintenance mode."""
    after = platform.state(name)
    assert len(after["instances"]) == 1, after["instances"]
    new = after["instances"][0]
    assert new["InstanceId"] != before["instances"][0]["InstanceId"]
    old = platform.ec2.describe_instances(InstanceIds=[before["instances"][0]["InstanceId"]])["Reservations"][0]["Instances"][0]
    assert old["State"]["Name"] == "terminated"
    assert tags(new)["pexip:node"] == name and "pexip:replacement-of" not in tags(new)
    assert new["PrivateIpAddress"] == before["node"]["address"] and new["InstanceType"] == before["instances"][0]["InstanceType"]
    # The same Elastic IP (allocation and address), now on the new instance: static NAT and DNS stay right.
    assert [(a["AllocationId"], a["PublicIp"], a.get("InstanceId")) for a in after["eips"]] == [
        (a["AllocationId"], a["PublicIp"], new["InstanceId"]) for a in before["eips"]]
    node = after["node"]
    for field in ("address", "netmask", "gateway", "hostname", "domain", "node_type", "system_location", "static_nat_address", "description",
                  "enable_distributed_database", "enable_ssh"):
        assert node[field] == before["node"][field], field
    assert node["static_nat_address"] == before["eips"][0]["PublicIp"]
    assert node["maintenance_mode"] is False
    assert after["status"]["sync_status"] == "SYNCED" and after["status"]["last_updated"]


def test_refuses_without_naming_the_nodes(platform):
    since = platform.lab.last_ts()
    proc, _counts = platform.replace(LIVE, confirm="true")
    assert proc.returncode != 0
    assert "-e replace_node_confirm=%s (their names)" % LIVE in folded(proc.stdout), output(proc)
    assert [e for e in platform.lab.requests_log(since) if e["method"] in WRITES] == []


def test_replaces_a_live_node_after_draining_it(platform, first_run):
    before, proc = first_run["before"][LIVE], first_run["proc"]
    assert first_run["counts"][LIVE]["failed"] == 0, output(proc)
    assert "%s (%s, public %s): instance %s is running: it is drained" % (
        LIVE, before["node"]["address"], before["eips"][0]["PublicIp"], before["instances"][0]["InstanceId"]) in folded(proc.stdout)
    assert_replaced(platform, LIVE, before)
    # Maintenance mode first; the old record is deleted only once its call has ended (3 s).
    writes = [e for e in platform.lab.requests_log(first_run["since"]) if e["method"] in WRITES and e["target"] == "mgmt"]
    assert writes[0]["method"] == "PATCH" and "maintenance_mode" in writes[0]["fields"], writes[:3]
    assert first_run["seconds"] > 3


def test_a_node_terminated_behind_its_back_and_interrupted_is_finished_by_a_rerun(platform, first_run):
    before, proc = first_run["before"][DEAD], first_run["proc"]
    assert proc.returncode != 0 and first_run["counts"][DEAD]["failed"] == 1, output(proc)
    text = folded(proc.stdout)
    assert "%s (%s, public %s): it has no live instance (terminated by an earlier run, or outside this collection)" % (
        DEAD, before["node"]["address"], before["eips"][0]["PublicIp"]) in text, output(proc)
    # Stopped at the upload: the new instance is marked, the old record gone, its replacement not bootstrapped.
    half = platform.state(DEAD)
    assert len(half["instances"]) == 1 and tags(half["instances"][0])["pexip:replacement-of"] == "none"
    assert not (half["status"] or {}).get("last_updated")

    proc, counts = platform.replace(DEAD)

    assert proc.returncode == 0 and counts[DEAD]["failed"] == 0, output(proc)
    assert "new instance %s was launched by an earlier run: finishing the replacement" % half["instances"][0]["InstanceId"] in folded(proc.stdout)
    assert_replaced(platform, DEAD, before)
    assert instances(platform.env, DEAD)[0]["InstanceId"] == half["instances"][0]["InstanceId"]


# The controller's IAM policy (docs/iam.md): the AWS calls of this file's runs, recorded by the lab from the file's
# start (aws_calls_mark is an autouse module fixture).
from aws_policy import assert_calls_allowed, aws_calls_mark  # noqa: E402,F401  pylint: disable=unused-import,wrong-import-position


def test_every_aws_call_is_in_the_controller_iam_policy(lab_env, platform, aws_calls_mark):  # noqa: F811  pylint: disable=redefined-outer-name
    assert_calls_allowed(lab_env, aws_calls_mark)
