# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""End to end: what terminate.yml and deploy.yml must never do to what is not theirs (issue 27).

- The confirmation names the nodes: ``-e nodes=conferencing_nodes -e decommission_confirm=true`` once terminated every
  node, one by one. Now ``true`` is refused, and so is a list or a count that does not match the resolved nodes,
  before anything is touched.
- Elastic IPs are the node's on this platform only: a free address tagged for a node of the same name in another VPC
  or under another Management Node (tag ``pexip:platform``), or without that tag, is neither released by a removal nor
  taken over by a deploy; one associated with the node's instance is, whatever its tags (an older version's).
"""

import uuid

import pytest
import yaml

import labenv  # pylint: disable=wrong-import-order
from e2e import WRITES, Api, instances, output, platform_inventory, run_playbook  # pylint: disable=wrong-import-order
from test_e2e_operations import platform_fixtures  # pylint: disable=wrong-import-order

# The tests of this file share module-scoped fixtures: pytest-xdist keeps them on one worker.
pytestmark = pytest.mark.xdist_group("test_e2e_safety")

SUFFIX = uuid.uuid4().hex[:6]


def folded(text):
    """Output with its line breaks and indentation folded (long messages are wrapped)."""
    return " ".join(text.split())


def platform_tag(env, vpc_id=None):
    """The pexip:platform value of this lab's platform: <VPC id>/<Management Node API address>."""
    return "%s/%s" % (vpc_id or env["LAB_VPC_ID"], env["PEXIP_HOST"].lower())


def allocate(ec2, node_name, platform=None, instance_id=None):
    """An Elastic IP tagged pexip:node=node_name (and pexip:platform when given), associated when instance_id is."""
    tags = [{"Key": "pexip:node", "Value": node_name}] + ([{"Key": "pexip:platform", "Value": platform}] if platform else [])
    address = ec2.allocate_address(Domain="vpc", TagSpecifications=[{"ResourceType": "elastic-ip", "Tags": tags}])
    if instance_id:
        ec2.associate_address(AllocationId=address["AllocationId"], InstanceId=instance_id)
    return address["AllocationId"]


def addresses(ec2, allocation_ids):
    """{allocation id: address} of those that still exist."""
    return {a["AllocationId"]: a for a in ec2.describe_addresses()["Addresses"] if a["AllocationId"] in allocation_ids}


def release(ec2, allocation_ids):
    for address in addresses(ec2, allocation_ids).values():
        if address.get("AssociationId"):
            ec2.disassociate_address(AssociationId=address["AssociationId"])
        ec2.release_address(AllocationId=address["AllocationId"])


# Three nodes (the operations tests' setup: instance tagged pexip:node, node, upload).
lab, platform = platform_fixtures(3, "saf")


# ----- the confirmation --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("nodes, confirm", [
    ("conferencing_nodes", "true"),  # the issue: every node, one by one
    ("{0}", "true"),  # one node: still not a confirmation
    ("{0},{1}", "{0}"),  # one of the two
    ("conferencing_nodes", "2"),  # the wrong count
    ("{0},{1}", "{0},{1},{2}"),  # more than resolved
])
def test_terminate_refuses_a_confirmation_that_does_not_name_the_nodes(lab, platform, nodes, confirm):
    names = platform.names
    pattern, confirmation = nodes.format(*names), confirm.format(*names)
    resolved = [n for n in names if pattern == "conferencing_nodes" or n in pattern.split(",")]
    since = lab.last_ts()

    rc, out, counts = platform.run("terminate.yml", "nodes=%s" % pattern, "decommission_confirm=%s" % confirmation, check=False)

    assert rc != 0, out[-4000:]
    text = folded(out)
    # The refusal spells out what to pass: the resolved nodes' names, or their count.
    assert "-e decommission_confirm=%s (their names)" % ",".join(resolved) in text, out[-4000:]
    assert "-e decommission_confirm=%d (their count)" % len(resolved) in text, out[-4000:]
    assert "Nothing was changed" in text
    # ... before anything was touched: no write on the Management Node, every instance running, no node in maintenance.
    assert [e for e in lab.requests_log(since) if e["method"] in WRITES] == []
    assert all(lab.instance(n)["State"]["Name"] == "running" for n in names)
    assert all(lab.worker(n)["maintenance_mode"] is False for n in names)
    assert all(counts.get(n, {}).get("changed", 0) == 0 for n in resolved), counts


# ----- Elastic IPs on removal --------------------------------------------------------------------------------------


def test_terminate_releases_only_this_platforms_elastic_ips(lab, platform):
    """Two nodes removed with their count as confirmation; of the addresses tagged for them, only theirs go."""
    ec2, env = lab.ec2, lab.env
    first, second = platform.names[0], platform.names[1]
    ours, theirs = platform_tag(env), platform_tag(env, "vpc-0123456789abcdef0")
    eips = {
        # An older version's address (tag pexip:node only), on the node's instance: adopted, released.
        "old-on-instance": allocate(ec2, first, instance_id=lab.instance(first)["InstanceId"]),
        # A free address of this platform (a kept one, or a run that stopped before releasing it): released.
        "free-ours": allocate(ec2, first, platform=ours),
        # The same node name on another platform: another VPC, another Management Node. Never released.
        "free-other-vpc": allocate(ec2, first, platform=theirs),
        "free-other-manager": allocate(ec2, first, platform="%s/mgr.elsewhere.example.com" % env["LAB_VPC_ID"]),
        # Free, and nothing says whose it is.
        "free-untagged-platform": allocate(ec2, first),
        # The second node's own address, as the deploy role tags it.
        "second-on-instance": allocate(ec2, second, platform=ours, instance_id=lab.instance(second)["InstanceId"]),
    }
    instance_ids = [lab.instance(n)["InstanceId"] for n in (first, second)]
    try:
        _rc, out, counts = platform.run("terminate.yml", "nodes=%s,%s" % (first, second), "decommission_confirm=2",
                                        "decommission_poll_interval=1")
        assert counts[first]["failed"] == 0 and counts[second]["failed"] == 0, out[-4000:]
        assert lab.worker(first) is None and lab.worker(second) is None
        assert [lab.instance_by_id(i)["State"]["Name"] for i in instance_ids] == ["terminated", "terminated"]

        left = addresses(ec2, set(eips.values()))
        kept = sorted(key for key, allocation_id in eips.items() if allocation_id in left)
        assert kept == ["free-other-manager", "free-other-vpc", "free-untagged-platform"], out[-4000:]
        # Untouched: still free, still tagged as they were.
        assert all(not left[eips[key]].get("AssociationId") for key in kept)
        assert {t["Key"]: t["Value"] for t in left[eips["free-other-vpc"]]["Tags"]}["pexip:platform"] == theirs
        text = folded(out)
        assert "tagged for platform %s, not this one" % theirs in text
        assert "carries no pexip:platform tag" in text

        # Nothing left to do: the other platform's addresses stay where they are.
        _rc, out, counts = platform.run("terminate.yml", "nodes=%s,%s" % (first, second), "decommission_confirm=%s,%s" % (second, first))
        assert counts[first]["changed"] == 0 and counts[second]["changed"] == 0, out[-4000:]
        assert set(addresses(ec2, set(eips.values()))) == {eips[key] for key in kept}
    finally:
        release(ec2, set(eips.values()))


# ----- Elastic IPs on deploy ---------------------------------------------------------------------------------------

DEPLOY_PREFIX = "saf-dep-%s" % SUFFIX
DEPLOY_LOCATION = "Safety deploy %s" % SUFFIX


DEPLOY_MANAGER_GROUP = DEPLOY_PREFIX + "-mgr-sg"


def deploy_inventory(env, node_names, **host_vars):
    hosts = {node_name: dict({"pexip_node_name": node_name, "pexip_node_hostname": node_name, "pexip_node_role": "transcoding",
                              "pexip_node_location": DEPLOY_LOCATION, "pexip_node_instance_type": "c5.2xlarge",
                              "pexip_node_subnet_id": env["LAB_SUBNET_A"], "pexip_node_public_ip": "elastic"}, **host_vars.get(node_name, {}))
             for node_name in node_names}
    return platform_inventory(env, DEPLOY_PREFIX + "-sg", {"conferencing_nodes": {"hosts": hosts}},
                              pexip_node_domain="safety.example.com", pexip_node_ssh_password="saf-" + uuid.uuid4().hex,
                              pexip_node_sync_poll=1, pexip_manager_security_group_name=DEPLOY_MANAGER_GROUP,
                              pexip_locations=[{"name": DEPLOY_LOCATION, "dns_servers": ["127.0.0.53"], "ntp_servers": ["127.0.0.123"]}])


def group_rules(ec2, group_name):
    """{(protocol, from port, to port, source)} of the group's inbound rules (a source group by its name), and its id."""
    group = ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": [group_name]}])["SecurityGroups"][0]
    names = {g["GroupId"]: g["GroupName"] for g in ec2.describe_security_groups()["SecurityGroups"]}
    rules = {(str(p["IpProtocol"]), p.get("FromPort"), p.get("ToPort"), source) for p in group["IpPermissions"]
             for source in [r["CidrIp"] for r in p.get("IpRanges", [])] + [names.get(g["GroupId"]) for g in p.get("UserIdGroupPairs", [])]}
    return rules, group["GroupId"]


def test_deploy_takes_over_no_other_platforms_elastic_ip(lab_env, tmp_path):
    """A free address tagged for a node of the same name on another platform was taken by the deploy (reuse by the tag
    pexip:node alone). Now the node gets a free address of its own platform, else a new one."""
    env = dict(lab_env)
    ec2, api = labenv.ec2_client(env), Api(env)
    fresh, replacement, retired = "%s-1" % DEPLOY_PREFIX, "%s-2" % DEPLOY_PREFIX, "%s-3" % DEPLOY_PREFIX
    eips = {
        "fresh-other-vpc": allocate(ec2, fresh, platform=platform_tag(env, "vpc-0123456789abcdef0")),
        "fresh-untagged-platform": allocate(ec2, fresh),
        # Kept by a removal for a replacement node of this platform: reused.
        "replacement-ours": allocate(ec2, replacement, platform=platform_tag(env)),
    }
    inventory_file = str(tmp_path / "inventory.yml")
    # A standard instance for one node (pexip_instance_tenancy: default), the guide's dedicated one for the other; a
    # third node was removed by terminate.yml and stays in the inventory, retired (pexip_node_retired).
    with open(inventory_file, "w", encoding="utf-8") as handle:
        yaml.safe_dump(deploy_inventory(env, [fresh, replacement, retired], **{replacement: {"pexip_instance_tenancy": "default"},
                                                                               retired: {"pexip_node_retired": True}}), handle, sort_keys=False)
    try:
        proc, recap = run_playbook(env, inventory_file, playbook="playbooks/deploy.yml")
        assert proc.returncode == 0 and recap[fresh]["failed"] == 0 and recap[replacement]["failed"] == 0, output(proc)
        # The retired node is neither checked nor launched, and the run says why.
        assert recap[retired]["changed"] == 0 and instances(env, retired) == [] and api.node(retired) is None, output(proc)
        assert "Conferencing Node %s is retired (pexip_node_retired: true)" % retired in folded(proc.stdout), output(proc)
        assert labenv.instance_summary(env, name=fresh)["tenancy"] == "dedicated"
        assert labenv.instance_summary(env, name=replacement)["tenancy"] == "default"

        # The Management Node's restricted group (pexip_manager_security_group_name): no signalling or media port,
        # TCP 443 from the management network only, IPsec with the nodes' group, which takes IPsec from it.
        manager_rules, _manager_id = group_rules(ec2, DEPLOY_MANAGER_GROUP)
        mgmt, nodes_group = "127.0.0.0/8", DEPLOY_PREFIX + "-sg"
        assert manager_rules == {
            ("tcp", 22, 22, mgmt), ("tcp", 443, 443, mgmt), ("icmp", -1, -1, mgmt),
            ("udp", 500, 500, nodes_group), ("50", None, None, nodes_group),
            ("udp", 500, 500, DEPLOY_MANAGER_GROUP), ("50", None, None, DEPLOY_MANAGER_GROUP),
        }, sorted(manager_rules, key=str)
        node_rules, _nodes_id = group_rules(ec2, nodes_group)
        assert {("udp", 500, 500, DEPLOY_MANAGER_GROUP), ("50", None, None, DEPLOY_MANAGER_GROUP), ("udp", 40000, 49999, "0.0.0.0/0")} <= node_rules

        left = addresses(ec2, set(eips.values()))
        assert all(not left[eips[key]].get("AssociationId") for key in ("fresh-other-vpc", "fresh-untagged-platform")), left
        fresh_instance, replacement_instance = instances(env, fresh)[0], instances(env, replacement)[0]
        assert left[eips["replacement-ours"]].get("InstanceId") == replacement_instance["InstanceId"]
        # The fresh node got a new address of its own, tagged for the node and this platform.
        own = ec2.describe_addresses(Filters=[{"Name": "instance-id", "Values": [fresh_instance["InstanceId"]]}])["Addresses"]
        assert len(own) == 1 and own[0]["AllocationId"] not in eips.values(), own
        tags = {t["Key"]: t["Value"] for t in own[0]["Tags"]}
        assert tags["pexip:node"] == fresh and tags["pexip:platform"] == platform_tag(env), tags
        assert api.node(fresh)["static_nat_address"] == own[0]["PublicIp"]

        # A node stopped in maintenance stays stopped under the next deploy, which says so (issue 29 §6: the deploy
        # started it again, in maintenance mode, serving nothing and billed).
        proc, recap = run_playbook(env, inventory_file, "-e", "nodes=%s" % replacement, "-e", "maintenance_poll_interval=1",
                                   playbook="playbooks/maintenance_stop.yml")
        assert proc.returncode == 0 and instances(env, replacement)[0]["State"]["Name"] == "stopped", output(proc)
        proc, recap = run_playbook(env, inventory_file, playbook="playbooks/deploy.yml")
        assert proc.returncode == 0 and recap[replacement]["changed"] == 0 and recap[fresh]["changed"] == 0, output(proc)
        assert instances(env, replacement)[0]["State"]["Name"] == "stopped"
        assert api.node(replacement)["maintenance_mode"] is True
        text = folded(proc.stdout)
        assert "Conferencing Node %s is stopped in maintenance mode (Temporarily removed (stopped) by Ansible)" % replacement in text, output(proc)
        assert "pexip.infinity.restart -e nodes=%s" % replacement in text, output(proc)

        # Both removed: their own addresses go, the other platform's and the untagged one stay.
        proc, recap = run_playbook(env, inventory_file, "-e", "nodes=%s,%s" % (fresh, replacement), "-e", "decommission_confirm=2",
                                   "-e", "decommission_poll_interval=1", playbook="playbooks/terminate.yml")
        assert proc.returncode == 0, output(proc)
        assert addresses(ec2, {own[0]["AllocationId"], eips["replacement-ours"]}) == {}
        assert set(addresses(ec2, set(eips.values()))) == {eips["fresh-other-vpc"], eips["fresh-untagged-platform"]}
    finally:
        release(ec2, set(eips.values()))
        for node_name in (fresh, replacement, retired):
            node = api.node(node_name)
            if node:
                api.delete("configuration/v1/worker_vm/%d/" % node["id"])
            release(ec2, {a["AllocationId"] for a in ec2.describe_addresses(
                Filters=[{"Name": "tag:pexip:node", "Values": [node_name]}])["Addresses"]})
            ids = [i["InstanceId"] for i in instances(env, node_name)]
            if ids:
                ec2.terminate_instances(InstanceIds=ids)
        for location_id in api.location_ids([DEPLOY_LOCATION]):
            api.delete("configuration/v1/system_location/%d/" % location_id)
        for group in ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": [DEPLOY_PREFIX + "-sg", DEPLOY_MANAGER_GROUP]}])["SecurityGroups"]:
            try:
                ec2.delete_security_group(GroupId=group["GroupId"])
            except Exception:  # pylint: disable=broad-except
                pass  # still referenced by terminating instances; harmless in the lab
