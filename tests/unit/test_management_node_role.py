# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""management_node and security_group (issue 29 §4): the tenancy variable, the prerequisites checked before anything
is created (key pair, a route out of the subnet for NTP/DNS servers outside the VPC), and the Management Node's
further restricted security group (no signalling or media port)."""

import os

import pytest
import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar

try:  # ansible-core >= 2.19 templates only trusted strings
    from ansible.template import trust_as_template
except ImportError:  # pragma: no cover - ansible-core 2.18

    def trust_as_template(value):
        return value


ROLES = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "roles")


def role_file(role, *parts):
    with open(os.path.join(ROLES, role, *parts), encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def template(expression, **variables):
    return Templar(loader=DataLoader(), variables=variables).template(trust_as_template(expression))


def task(role, tasks_file, name_start):
    return next(t for t in role_file(role, "tasks", tasks_file) if t["name"].startswith(name_start))


def with_task_vars(entry, **variables):
    variables.update((k, trust_as_template(v)) for k, v in entry.get("vars", {}).items())
    return variables


# ----- tenancy ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("inventory, expected", [
    ({}, "dedicated"),
    ({"pexip_instance_tenancy": "default"}, "default"),  # a platform used solely for One-Touch Join
    ({"pexip_instance_tenancy": "dedicated", "pexip_manager_tenancy": "default"}, "default"),  # a small Management Node
])
def test_management_node_tenancy(inventory, expected):
    assert template(role_file("management_node", "defaults", "main.yml")["management_node_tenancy"], **inventory) == expected
    launch = task("management_node", "main.yml", "Launch the instance")
    assert launch["amazon.aws.ec2_instance"]["placement"] == {"tenancy": "{{ management_node_tenancy }}"}


@pytest.mark.parametrize("tenancy, refused", [("dedicated", False), ("default", False), ("host", True), ("shared", True)])
def test_an_unknown_management_node_tenancy_is_refused_before_anything_is_created(tenancy, refused):
    check = task("management_node", "validate.yml", "Check the tenancy")
    assert template("{{ %s }}" % check["ansible.builtin.assert"]["that"], management_node_tenancy=tenancy) is not refused
    tasks = [t["name"] for t in role_file("management_node", "tasks", "validate.yml")]
    # Before the first write: validate.yml is only reads and asserts.
    assert all(not any(k.startswith("amazon.aws.") and not k.endswith("_info") for k in t) for t in role_file("management_node", "tasks", "validate.yml"))
    assert "Check the tenancy" in tasks


# ----- a route out of the subnet for NTP/DNS servers outside the VPC ---------------------------------------------

SUBNET = "subnet-0aaaaaaaaaaaaaaa1"
OUT = {"destination_cidr_block": "0.0.0.0/0", "gateway_id": "igw-1", "state": "active"}
LOCAL = {"destination_cidr_block": "10.0.0.0/16", "gateway_id": "local", "state": "active"}


def route_check(ntp, dns=(), tables=()):
    """(servers outside the VPC, whether the subnet has a route out) as the role's check works them out."""
    read = task("management_node", "validate.yml", "Read the route tables")
    check = task("management_node", "validate.yml", "Check that the subnet has a route out")
    variables = with_task_vars(check, management_node_ntp_servers=list(ntp), management_node_dns_servers=list(dns),
                               management_node_subnet_id=SUBNET, _management_node_route_check={"route_tables": list(tables)})
    outside = template("{{ _management_node_outside_servers }}", **variables)
    assert template("{{ %s }}" % read["when"], **with_task_vars(read, **variables)) is bool(outside)
    return outside, template("{{ %s }}" % check["ansible.builtin.assert"]["that"], **variables)


def table(routes, subnet=None, main=False):
    return {"route_table_id": "rtb-%s" % (subnet or "main"), "routes": routes,
            "associations": [{"subnet_id": subnet, "main": main}]}


def test_servers_inside_the_vpc_need_no_route_and_no_read():
    outside, ok = route_check(["169.254.169.123", "10.0.0.5", "172.16.0.1", "192.168.1.1"], ["10.0.0.2", "100.64.0.1"])
    assert outside == [] and ok is True


@pytest.mark.parametrize("tables, ok", [
    ([table([LOCAL], main=True)], False),  # the main table has no route out
    ([table([LOCAL, OUT], main=True)], True),
    ([table([LOCAL, OUT], main=True), table([LOCAL], subnet=SUBNET)], False),  # the subnet's own table wins
    ([table([LOCAL], main=True), table([LOCAL, dict(OUT, gateway_id=None, nat_gateway_id="nat-1")], subnet=SUBNET)], True),
    ([table([LOCAL, dict(OUT, state="blackhole")], main=True)], False),
])
def test_public_servers_need_a_route_out_of_the_subnet(tables, ok):
    outside, result = route_check(["169.254.169.123", "0.pool.ntp.org"], ["8.8.8.8"], tables)
    assert outside == ["0.pool.ntp.org", "8.8.8.8"]
    assert result is ok


def node_route_check(location, tables, subnet=SUBNET):
    """(servers outside the VPC, whether the node's subnet has a route out) as conferencing_node's check works them out."""
    note = task("conferencing_node", "validate.yml", "Note the node's subnet, key pair")
    check = task("conferencing_node", "validate.yml", "Check that the subnet has a route out")
    variables = with_task_vars(note, conferencing_node_declared_locations=[location, {"name": "Other", "ntp_servers": ["8.8.8.8"]}],
                               conferencing_node_location="London")
    outside = template(note["ansible.builtin.set_fact"]["_conferencing_node_outside_servers"], **variables)
    variables = with_task_vars(check, _conferencing_node_outside_servers=outside, conferencing_node_subnet_id=subnet,
                               _conferencing_node_subnets=[{"subnet_id": SUBNET, "vpc_id": "vpc-1"}],
                               _conferencing_node_route_check={"results": [{"route_tables": list(tables)}]})
    return outside, template("{{ %s }}" % check["ansible.builtin.assert"]["that"], **variables)


def vpc_table(routes, **association):
    return dict(table(routes, **association), vpc_id="vpc-1")


@pytest.mark.parametrize("location, tables, outside, ok", [
    # The example inventory's location: the VPC's DNS and the Amazon Time Sync Service; nothing to read.
    ({"name": "London", "dns_servers": ["10.0.0.2"], "ntp_servers": ["169.254.169.123"]}, [], [], True),
    ({"name": "London"}, [], [], True),  # servers not declared here: not checked
    ({"name": "London", "ntp_servers": ["0.pool.ntp.org"]}, [vpc_table([LOCAL], main=True)], ["0.pool.ntp.org"], False),
    ({"name": "London", "ntp_servers": ["0.pool.ntp.org"]}, [vpc_table([LOCAL, OUT], main=True)], ["0.pool.ntp.org"], True),
    ({"name": "London", "dns_servers": ["8.8.8.8"]}, [vpc_table([LOCAL, OUT], main=True), vpc_table([LOCAL], subnet=SUBNET)], ["8.8.8.8"], False),
])
def test_a_nodes_location_servers_outside_the_vpc_need_a_route_out(location, tables, outside, ok):
    assert node_route_check(location, tables) == (outside, ok)


def test_the_key_pair_is_checked_before_anything_is_created():
    read = task("management_node", "validate.yml", "Read the key pair")
    assert read["amazon.aws.ec2_key_info"] == {"filters": {"key-name": "{{ management_node_key_name }}"}}
    check = task("management_node", "validate.yml", "Check that the key pair exists")
    assert template("{{ %s }}" % check["ansible.builtin.assert"]["that"], _management_node_key_check={"keypairs": []}) is False
    # A key pair is the region's own: the node's region's read decides (issue 28).
    node = task("conferencing_node", "validate.yml", "Check that the key pair exists")
    reads = {"results": [{"item": {"key": "eu-west-1"}, "keypairs": [{"key_name": "other"}]},
                         {"item": {"key": "eu-central-1"}, "keypairs": [{"key_name": "pexip-admin"}]}]}
    for region, found in (("eu-west-1", False), ("eu-central-1", True)):
        variables = with_task_vars(node, conferencing_node_key_name="pexip-admin", conferencing_node_region=region,
                                   _conferencing_node_key_check=reads)
        assert template("{{ %s }}" % node["ansible.builtin.assert"]["that"], **variables) is found, region


# ----- the Management Node's restricted security group ------------------------------------------------------------

MEDIA_AND_SIGNALLING = {1719, 1720, 5060, 5061, 33000, 40000, 49999}


def manager_group_rules(**inventory):
    entry = task("security_group", "main.yml", "Create the Management Node's restricted security group")
    variables = dict(security_group_name="pexip-infinity", security_group_manager_name="pexip-infinity-manager",
                     security_group_management_cidr="203.0.113.0/24", security_group_ipsec_peers=[])
    variables.update(inventory)
    return entry, template(entry["amazon.aws.ec2_security_group"]["rules"], **with_task_vars(entry, **variables))


def test_the_management_nodes_group_has_no_signalling_or_media_port():
    entry, rules = manager_group_rules()
    ports = set()
    for rule in rules:
        for port in rule.get("ports", []):
            ports.update(int(p) for p in str(port).split("-"))
    assert ports & MEDIA_AND_SIGNALLING == set(), rules
    assert all(rule.get("cidr_ip") != "0.0.0.0/0" for rule in rules), rules
    # SSH and the API (TCP 443) from the management network only; IPsec with the nodes' group and itself.
    assert {"proto": "tcp", "ports": [22, 443], "cidr_ip": ["203.0.113.0/24"],
            "rule_desc": "SSH and web administration/API from management"} in rules
    assert {r.get("group_name") for r in rules if r["proto"] in ("udp", "50")} == {"pexip-infinity", "pexip-infinity-manager"}
    assert entry["when"] == "security_group_manager_name | length > 0"


def test_the_management_node_uses_its_own_group_when_there_is_one():
    expression = role_file("management_node", "defaults", "main.yml")["management_node_security_group"]
    assert template(expression, pexip_security_group_name="pexip-infinity").strip() == "pexip-infinity"
    assert template(expression, pexip_security_group_name="pexip-infinity", security_group_id="sg-1").strip() == "sg-1"
    assert template(expression, pexip_security_group_name="pexip-infinity", security_group_id="sg-1",
                    security_group_manager_id="sg-2").strip() == "sg-2"
    assert template(expression, pexip_security_group_name="pexip-infinity",
                    pexip_manager_security_group_name="pexip-manager").strip() == "pexip-manager"
    # Off unless the inventory asks: the Management Node keeps the shared group.
    assert template(role_file("security_group", "defaults", "main.yml")["security_group_manager_name"]) == ""
