# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""End to end: playbooks/replace_node.yml replaces a node's instance in place (issue 28 section 2).

Three nodes deployed once by deploy.yml, each with an Elastic IP. One run replaces a live node that carries a call
(drained first) and a node whose instance was terminated behind the collection's back; a replacement whose bootstrap
upload fails (a lab fault) stops half-way and a re-run finishes it. Every replaced node keeps its private and public
addresses on a new instance, and ends synced and out of maintenance mode.
"""

import time
import uuid

import pytest
import yaml

import labenv  # pylint: disable=wrong-import-order
from e2e import WRITES, Api, instances, lab_control, output, platform_inventory, run_playbook  # pylint: disable=wrong-import-order

# The tests of this file share module-scoped fixtures: pytest-xdist keeps them on one worker.
pytestmark = pytest.mark.xdist_group("test_e2e_replace")

SUFFIX = uuid.uuid4().hex[:6]
LOCATION = "E2E replace %s" % SUFFIX
NAMES = ["rep-%s-%d" % (SUFFIX, i) for i in (1, 2, 3)]
LIVE, DEAD, INTERRUPTED = NAMES


def folded(text):
    return " ".join(text.split())


class Replacement:
    """The deployed platform, and replace_node.yml runs against it."""

    def __init__(self, env, directory):
        self.env = env
        self.api = Api(env)
        self.ec2 = labenv.ec2_client(env)
        self.lab = lab_control(env)
        hosts = {name: {"pexip_node_name": name, "pexip_node_location": LOCATION, "pexip_node_subnet_id": env["LAB_SUBNET_A"],
                        "pexip_node_public_ip": "elastic"} for name in NAMES}
        inventory = platform_inventory(env, "rep-sg-%s" % SUFFIX, {"conferencing_nodes": {"hosts": hosts}},
                                       pexip_node_domain="e2e.example.com", pexip_node_ssh_password="e2e-" + SUFFIX,
                                       pexip_node_sync_poll=1, pexip_locations=[{"name": LOCATION, "dns_servers": ["127.0.0.53"],
                                                                                 "ntp_servers": ["127.0.0.123"]}])
        self.inventory = str(directory / "inventory.yml")
        with open(self.inventory, "w", encoding="utf-8") as handle:
            yaml.safe_dump(inventory, handle, sort_keys=False)

    def run(self, playbook, *extra):
        proc, counts = run_playbook(self.env, self.inventory, *[a for e in extra for a in ("-e", e)], playbook=playbook)
        return proc, counts

    def replace(self, nodes, confirm=None):
        return self.run("playbooks/replace_node.yml", "nodes=%s" % nodes, "replace_node_confirm=%s" % (confirm or nodes),
                        "replace_node_poll_interval=1")

    def state(self, name):
        """What a replacement must keep or change: instance, addresses, record, status."""
        found = instances(self.env, name)
        address = [a for a in self.ec2.describe_addresses(Filters=[{"Name": "tag:pexip:node", "Values": [name]}])["Addresses"]]
        return dict(instances=found, eips=address, node=self.api.node(name), status=self.api.status(name))

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


@pytest.fixture(scope="module")
def platform(lab_env, tmp_path_factory):
    made = Replacement(dict(lab_env), tmp_path_factory.mktemp("e2e-replace"))
    try:
        proc, counts = made.run("playbooks/deploy.yml")
        assert proc.returncode == 0 and all(counts[n]["failed"] == 0 for n in NAMES), output(proc)
        yield made
    finally:
        made.cleanup()


def assert_replaced(platform, name, before):
    """A new instance, at the old private address with the old Elastic IP; the node synced, out of maintenance mode."""
    after = platform.state(name)
    assert len(after["instances"]) == 1, after["instances"]
    new, old = after["instances"][0], before["instances"][0] if before["instances"] else None
    if old:
        assert new["InstanceId"] != old["InstanceId"]
        assert platform.ec2.describe_instances(InstanceIds=[old["InstanceId"]])["Reservations"][0]["Instances"][0]["State"]["Name"] == "terminated"
    tags = {t["Key"]: t["Value"] for t in new["Tags"]}
    assert tags["pexip:node"] == name and "pexip:replacement-of" not in tags and "pexip:replacing" not in tags
    assert new["PrivateIpAddress"] == before["node"]["address"]
    # The same Elastic IP (allocation and address), now on the new instance: static NAT and DNS stay right.
    assert [(a["AllocationId"], a["PublicIp"], a.get("InstanceId")) for a in after["eips"]] == [
        (a["AllocationId"], a["PublicIp"], new["InstanceId"]) for a in before["eips"]]
    node = after["node"]
    for field in ("address", "netmask", "gateway", "hostname", "domain", "node_type", "system_location", "static_nat_address"):
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


def test_replaces_a_live_node_and_one_terminated_behind_its_back(platform):
    before = {name: platform.state(name) for name in (LIVE, DEAD)}
    # The live node carries a call that ends by itself: the run drains it first. The other node's instance is gone.
    platform.lab.place_calls(before[LIVE]["node"]["address"], count=1, duration=3)
    platform.ec2.terminate_instances(InstanceIds=[before[DEAD]["instances"][0]["InstanceId"]])
    since = platform.lab.last_ts()
    started = time.monotonic()

    proc, counts = platform.replace("%s,%s" % (LIVE, DEAD))

    assert proc.returncode == 0, output(proc)
    assert counts[LIVE]["failed"] == 0 and counts[DEAD]["failed"] == 0
    text = folded(proc.stdout)
    assert "%s (%s, public %s): instance %s is running: it is drained" % (
        LIVE, before[LIVE]["node"]["address"], before[LIVE]["eips"][0]["PublicIp"], before[LIVE]["instances"][0]["InstanceId"]) in text
    assert "%s (%s, public %s): it has no live instance (terminated outside this collection)" % (
        DEAD, before[DEAD]["node"]["address"], before[DEAD]["eips"][0]["PublicIp"]) in text
    assert_replaced(platform, LIVE, before[LIVE])
    assert_replaced(platform, DEAD, dict(before[DEAD], instances=[]))
    # The live node went into maintenance mode, and its record was re-created only after its call had ended.
    writes = [e for e in platform.lab.requests_log(since) if e["method"] in WRITES and e["target"] == "mgmt"]
    assert writes[0]["method"] == "PATCH" and writes[0]["fields"] and "maintenance_mode" in writes[0]["fields"], writes[:3]
    assert time.monotonic() - started > 3


def test_an_interrupted_replacement_is_finished_by_a_rerun(platform):
    before = platform.state(INTERRUPTED)
    address = before["node"]["address"]
    # The new instance refuses the first upload: the run stops with the old instance gone and the new one marked.
    platform.lab.inject_fault(target="node:%s" % address, method="POST", path="^/configuration/bootstrap", status=400, count=1)
    try:
        proc, _counts = platform.replace(INTERRUPTED)
    finally:
        platform.lab.clear_faults()
    assert proc.returncode != 0, output(proc)
    half = platform.state(INTERRUPTED)
    assert len(half["instances"]) == 1 and half["instances"][0]["InstanceId"] != before["instances"][0]["InstanceId"]
    tags = {t["Key"]: t["Value"] for t in half["instances"][0]["Tags"]}
    assert tags["pexip:replacement-of"] == before["instances"][0]["InstanceId"]

    proc, counts = platform.replace(INTERRUPTED)

    assert proc.returncode == 0 and counts[INTERRUPTED]["failed"] == 0, output(proc)
    assert "new instance %s was launched by an earlier run: finishing the replacement" % half["instances"][0]["InstanceId"] in folded(proc.stdout)
    assert_replaced(platform, INTERRUPTED, before)
    assert instances(platform.env, INTERRUPTED)[0]["InstanceId"] == half["instances"][0]["InstanceId"]
