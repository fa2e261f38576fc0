# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""replace_node (issue 28): what counts as a confirmation, where a replacement stands, which Elastic IP moves, and what
is refused before anything changes. The role's own expressions (vars/main.yml, the tasks of tasks/main.yml and
tasks/confirm.yml) are templated here as Ansible templates them; tests/integration/test_e2e_replace.py runs the role
against the lab."""

import pytest
from templating import load, role_variables, templated, trusted

TASKS = ("roles", "replace_node", "tasks", "main.yml")
PLATFORM = "vpc-1/mgr.example.com"
OLD = {"instance_id": "i-old", "private_ip_address": "10.0.1.10", "subnet_id": "subnet-a", "vpc_id": "vpc-1", "instance_type": "c5.2xlarge",
       "state": {"name": "running"}, "tags": {"pexip:node": "a"}}
NODE = {"name": "a", "address": "10.0.1.10", "hostname": "a", "domain": "example.com", "role": "transcoding", "system_location": "London"}
DECLARED = dict(conferencing_node_hostname="a", conferencing_node_domain="example.com", conferencing_node_role="transcoding",
                conferencing_node_location="London", conferencing_node_subnet_id="subnet-a", conferencing_node_public_ip="elastic")


def render(expression, **facts):
    """``expression`` templated with the role's defaults and vars, and ``facts``."""
    variables = role_variables("replace_node")
    variables.update(inventory_hostname="a", ansible_play_hosts_all=["a", "b"], pexip_manager_host="mgr.example.com", pexip_vpc_id="vpc-1")
    variables.update(facts)
    return templated(expression, variables)


def task(path, name):
    return next(t for t in load(*path) if t.get("name", "").startswith(name))


def facts_of(name, **facts):
    """The facts a set_fact task of tasks/main.yml sets, with its task vars."""
    found = task(TASKS, name)
    local = dict(facts, **trusted(found.get("vars", {})))
    return {key: render(value, **local) for key, value in found["ansible.builtin.set_fact"].items()}


RUN_CHECK = "{{ %s }}" % task(("roles", "replace_node", "tasks", "confirm.yml"), "Refuse unless")["ansible.builtin.assert"]["that"]
NODE_CHECK = "{{ %s }}" % task(TASKS, "Refuse to run without an explicit confirmation")["ansible.builtin.assert"]["that"]
REFUSAL = task(TASKS, "Refuse what a replacement cannot keep")


@pytest.mark.parametrize("confirm", [True, "true", "yes", False, "", "a,b,c", "1", ["a"]])
def test_a_yes_or_the_wrong_nodes_are_no_confirmation(confirm):
    assert render(RUN_CHECK, replace_node_confirm=confirm) is False


@pytest.mark.parametrize("confirm", ["a,b", " b , a", ["b", "a"], "2", 2])
def test_the_nodes_named_again_or_their_count_confirm_the_run(confirm):
    assert render(RUN_CHECK, replace_node_confirm=confirm) is True
    assert render(NODE_CHECK, replace_node_confirm=confirm) is True


def test_the_playbook_checks_the_whole_run_first_one_node_at_a_time():
    play = load("playbooks", "replace_node.yml")[1]
    assert play["pre_tasks"][0]["ansible.builtin.include_role"] == {"name": "pexip.infinity.replace_node", "tasks_from": "confirm.yml"}
    assert play["serial"] == 1 and play["max_fail_percentage"] == 0


@pytest.mark.parametrize("instance, old, new", [
    (OLD, "i-old", None),  # not begun, or drained: the old instance
    (dict(OLD, instance_id="i-new", tags={"pexip:node": "a", "pexip:replacement-of": "i-old"}), None, "i-new"),  # launched
    ({}, None, None),  # terminated (by the run, or behind its back)
])
def test_where_a_replacement_stands(instance, old, new):
    facts = facts_of("Work out where the replacement stands", node_instance_ec2=instance, node_instance_node=NODE,
                     conferencing_node_instance_type="c5.xlarge")
    assert (facts["replace_node_old"] or {}).get("instance_id") == old
    assert (facts["replace_node_new"] or {}).get("instance_id") == new
    assert facts["replace_node_address"] == "10.0.1.10"
    assert facts["replace_node_instance_type"] == ("c5.2xlarge" if instance else "c5.xlarge")


def test_the_address_of_a_node_whose_record_is_gone_is_its_new_instances():
    new = dict(OLD, instance_id="i-new", tags={"pexip:replacement-of": "i-old"})
    facts = facts_of("Work out where the replacement stands", node_instance_ec2=new, node_instance_node={}, conferencing_node_instance_type="x")
    assert facts["replace_node_address"] == "10.0.1.10"


def eip(allocation, instance=None, platform=PLATFORM):
    address = {"allocation_id": allocation, "public_ip": "198.51.100.%s" % allocation[-1], "tags": {"pexip:node": "a"}}
    if platform:
        address["tags"]["pexip:platform"] = platform
    if instance:
        address.update(instance_id=instance, association_id="eipassoc-" + allocation)
    return address


@pytest.mark.parametrize("addresses, instance, picked", [
    ([eip("a1", "i-old", platform=None), eip("a2")], OLD, "a1"),  # the instance's own, even without the platform tag
    ([eip("a2")], {}, "a2"),  # free since the instance went (behind the collection's back)
    ([eip("a3", platform="vpc-2/mgr.example.com"), eip("a4", platform=None)], {}, None),  # another platform's, or nobody's
    ([eip("a5", "i-other")], {}, None),  # on someone else's instance
])
def test_which_elastic_ip_moves(addresses, instance, picked):
    facts = facts_of("Pick the node's Elastic IP", _replace_node_eips={"addresses": addresses}, replace_node_instance=instance)
    assert (facts["replace_node_eip"] or {}).get("allocation_id") == picked


def refused(**facts):
    """The refusal's failing conditions and its message, for the state ``facts`` over a sound one."""
    state = dict(DECLARED, replace_node_address="10.0.1.10", replace_node_status=NODE, replace_node_old=OLD, replace_node_new={},
                 replace_node_eip=eip("a1", "i-old"), replace_node_instance=OLD, _replace_node_subnet={"cidr_block": "10.0.1.0/24"},
                 _problem="")
    state.update(facts)
    failing = [c for c in REFUSAL["ansible.builtin.assert"]["that"] if render("{{ %s }}" % c, **state) is not True]
    return failing, " ".join(render(REFUSAL["ansible.builtin.assert"]["fail_msg"], **state).split()) if failing else ""


def test_a_sound_node_is_not_refused():
    assert refused() == ([], "")


@pytest.mark.parametrize("facts, says", [
    (dict(replace_node_address="", replace_node_status={}, replace_node_old={}), "nothing says where it was"),
    (dict(replace_node_status={}), "it is not on the Management Node, but instance i-old is tagged for it"),
    (dict(_problem="is the subnet's network address"), "its address 10.0.1.10 is the subnet's network address"),
    (dict(replace_node_old=dict(OLD, subnet_id="subnet-b")), "its instance i-old is in subnet subnet-b, but pexip_node_subnet_id is subnet-a"),
    (dict(replace_node_eip={}), "no Elastic IP tagged pexip:node=a is associated with its instance or free on this platform (vpc-1/mgr.example.com)"),
    (dict(conferencing_node_domain="other.example.com"), "the Management Node has it as a.example.com, transcoding in London, but the inventory "
                                                         "declares a.other.example.com"),
])
def test_what_a_replacement_cannot_keep_is_refused_before_anything_changes(facts, says):
    failing, message = refused(**facts)
    assert failing
    assert says in message and message.endswith("Nothing was changed."), message
