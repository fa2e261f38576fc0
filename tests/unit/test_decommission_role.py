# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""decommission (issue 27): which Elastic IPs a removal releases, and what counts as a confirmation; the platform tag
the conferencing_node role sets on an Elastic IP and reuses one by; the terminate survey in AWX.

The role's own expressions (vars/main.yml, the asserts of tasks/main.yml and tasks/confirm.yml, the Elastic IP tasks
of conferencing_node/tasks/instance.yml) are templated here as Ansible templates them; tests/integration/
test_e2e_safety.py runs the same against the lab."""

import pytest
from templating import load, role_variables, templated, trusted

OMIT = "__omit_place_holder__test"


def render(expression, **facts):
    """``expression`` templated with the role's defaults and vars, and ``facts`` (inventory, play, registered)."""
    variables = role_variables("decommission")
    variables.update(inventory_hostname="a", ansible_play_hosts_all=["a", "b", "c"], pexip_manager_host="mgr.example.com",
                     omit=OMIT)
    variables.update(facts)
    return templated(expression, variables)


def task(path, name):
    return next(t for t in load(*path) if t.get("name", "").startswith(name))


def condition(path, name):
    return "{{ %s }}" % task(path, name)["ansible.builtin.assert"]["that"]


RUN_CHECK = condition(("roles", "decommission", "tasks", "confirm.yml"), "Refuse unless decommission_confirm names exactly")
NODE_CHECK = condition(("roles", "decommission", "tasks", "main.yml"), "Refuse to run without an explicit confirmation")


# ----- the confirmation --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("confirm", [True, "true", "True", "yes", "on", False, "false", ""])
def test_a_yes_is_no_confirmation(confirm):
    """`-e nodes=conferencing_nodes -e decommission_confirm=true` once removed every node, one by one."""
    assert render(RUN_CHECK, decommission_confirm=confirm) is False
    assert render(NODE_CHECK, decommission_confirm=confirm) is False


def test_a_yes_is_no_confirmation_even_for_one_node():
    one = dict(ansible_play_hosts_all=["a"])
    assert render(RUN_CHECK, decommission_confirm="true", **one) is False
    assert render(RUN_CHECK, decommission_confirm="a", **one) is True
    assert render(RUN_CHECK, decommission_confirm="1", **one) is True


@pytest.mark.parametrize("confirm", ["a,b,c", "c,a,b", " a , b ,c ", "a,b,c,a", ["c", "b", "a"], "3", 3])
def test_the_nodes_named_again_or_their_count_confirm_the_run(confirm):
    assert render(RUN_CHECK, decommission_confirm=confirm) is True
    assert render(NODE_CHECK, decommission_confirm=confirm) is True


@pytest.mark.parametrize("confirm", ["a,b", "a,b,c,d", "a,b,x", "2", 4, "0", ["a"], "conferencing_nodes"])
def test_anything_but_exactly_the_nodes_is_refused_for_the_run(confirm):
    assert render(RUN_CHECK, decommission_confirm=confirm) is False


def test_each_node_must_be_named_by_its_host_or_node_name():
    assert render(NODE_CHECK, decommission_confirm="a,b") is True  # the run-wide check refuses it first
    assert render(NODE_CHECK, decommission_confirm="b,c") is False
    assert render(NODE_CHECK, decommission_confirm="cn-a", pexip_node_name="cn-a") is True


def test_the_refusal_says_exactly_what_to_pass():
    message = render(task(("roles", "decommission", "tasks", "confirm.yml"), "Refuse unless")["ansible.builtin.assert"]["fail_msg"],
                     decommission_confirm="true")
    assert "-e decommission_confirm=a,b,c (their names)" in message
    assert "-e decommission_confirm=3 (their count)" in message
    assert "a yes/no is no confirmation" in message and "Nothing was changed" in message
    message = render(task(("roles", "decommission", "tasks", "main.yml"), "Refuse to run")["ansible.builtin.assert"]["fail_msg"],
                     decommission_confirm=False)
    assert "decommission_confirm=a " in message


def test_the_argument_spec_takes_names_and_counts():
    spec = load("roles", "decommission", "meta", "argument_specs.yml")["argument_specs"]["main"]["options"]["decommission_confirm"]
    assert spec["type"] == "raw"


def test_terminate_checks_the_whole_run_before_the_role():
    play = load("playbooks", "terminate.yml")[1]
    include = play["pre_tasks"][0]["ansible.builtin.include_role"]
    assert include == {"name": "pexip.infinity.decommission", "tasks_from": "confirm.yml"}
    assert task(("roles", "decommission", "tasks", "confirm.yml"), "Refuse unless")["run_once"] is True


def test_the_awx_terminate_template_asks_for_the_confirmation():
    play = load("playbooks", "awx_setup.yml")[0]
    operations = {item["name"]: item for item in play["vars"]["awx_setup_operations"]}
    template = next(t for t in play["tasks"] if t["name"].startswith("Job templates - operations"))
    spec = template["awx.awx.job_template"]["survey_spec"]["spec"]

    def questions(item):
        return {q["variable"]: q for q in templated(spec, {"item": item})}

    assert set(questions(operations["terminate"])) == {"nodes", "decommission_confirm"}
    assert questions(operations["terminate"])["decommission_confirm"]["required"] is True
    assert set(questions(operations["restart"])) == {"nodes"}


# ----- the Elastic IPs ---------------------------------------------------------------------------------------------

INSTANCE = {"instance_id": "i-0001", "vpc_id": "vpc-1", "private_ip_address": "10.0.0.5"}
OURS = "vpc-1/mgr.example.com"


def eip(name, associated_with=None, platform=None, node="a"):
    address = {"public_ip": name, "allocation_id": "eipalloc-" + name, "domain": "vpc", "tags": {"pexip:node": node}}
    if platform:
        address["tags"]["pexip:platform"] = platform
    if associated_with:
        address.update(instance_id=associated_with, association_id="eipassoc-" + name)
    return address


ADDRESSES = [
    eip("on-instance-old", associated_with="i-0001"),  # an older version's: no platform tag, on the node's instance
    eip("on-instance-other-platform", associated_with="i-0001", platform="vpc-9/other"),
    eip("free-ours", platform=OURS),
    eip("free-other-vpc", platform="vpc-2/mgr.example.com"),
    eip("free-other-manager", platform="vpc-1/mgr.other.example.com"),
    eip("free-old"),  # no platform tag, not associated: nothing says whose it is
    eip("on-other-instance", associated_with="i-0999", platform=OURS),
]


def released(addresses=None, **facts):
    facts.setdefault("decommission_instances", [INSTANCE])
    facts.setdefault("decommission_eips", {"addresses": ADDRESSES if addresses is None else addresses})
    return sorted(a["public_ip"] for a in render("{{ _decommission_eips_release }}", **facts))


def test_only_the_nodes_addresses_on_this_platform_are_released():
    assert released() == ["free-ours", "on-instance-old", "on-instance-other-platform"]
    kept = render("{{ _decommission_eips_kept }}", decommission_instances=[INSTANCE], decommission_eips={"addresses": ADDRESSES})
    assert sorted(a["public_ip"] for a in kept) == ["free-old", "free-other-manager", "free-other-vpc", "on-other-instance"]


@pytest.mark.parametrize("host", ["mgr.example.com", "MGR.example.com", "https://mgr.example.com", "https://mgr.example.com:443/",
                                  " mgr.example.com/ "])
def test_the_management_node_is_the_api_address_however_written(host):
    assert released(pexip_manager_host=host) == ["free-ours", "on-instance-old", "on-instance-other-platform"]


def test_the_environment_names_the_management_node_when_the_inventory_does_not(monkeypatch):
    monkeypatch.setenv("PEXIP_HOST", "mgr.example.com")
    assert released(pexip_manager_host=None) == ["free-ours", "on-instance-old", "on-instance-other-platform"]
    monkeypatch.setenv("PEXIP_HOST", "127.0.0.1:8443")
    assert released(pexip_manager_host=None) == ["on-instance-old", "on-instance-other-platform"]


def test_without_an_instance_the_platform_is_the_configured_vpc():
    """A re-run after the termination: the instance is gone, its address is free."""
    free = [eip("was-on-instance", platform=OURS), eip("free-other-vpc", platform="vpc-2/mgr.example.com")]
    assert released(free, decommission_instances=[], decommission_vpc_id="vpc-1") == ["was-on-instance"]
    # No VPC known: no free address is anyone's for sure.
    assert released(free, decommission_instances=[], decommission_vpc_id="") == []


def test_the_kept_addresses_are_explained():
    step = task(("roles", "decommission", "tasks", "main.yml"), "Say which Elastic IPs")
    for item, expected in [(eip("x", associated_with="i-0999"), "associated with i-0999, not with an instance of this node"),
                           (eip("y", platform="vpc-2/mgr.example.com"), "tagged for platform vpc-2/mgr.example.com, not this one (%s)" % OURS),
                           (eip("z"), "carries no pexip:platform tag (allocated by an older version, or by hand), so nothing says it belongs to this platform"),
                           ({"public_ip": "w", "allocation_id": "eipalloc-w", "association_id": "eipassoc-w", "network_interface_id": "eni-1"},
                            "associated with eni-1")]:
        message = render(step["ansible.builtin.debug"]["msg"], item=item, decommission_instances=[INSTANCE])
        assert expected in message, message


def test_kept_addresses_of_the_terminated_instance_become_this_platforms():
    """decommission_release_eip: false keeps them for a replacement node, which reuses only its platform's."""
    step = task(("roles", "decommission", "tasks", "main.yml"), "Tag the kept Elastic IPs")
    facts = dict(decommission_release_eip=False, decommission_instances=[INSTANCE], decommission_eips={"addresses": ADDRESSES})
    tagged = [item["public_ip"] for item in render(step["loop"], **facts)
              if all(render("{{ %s }}" % condition, item=item, **facts) for condition in step["when"])]
    assert tagged == ["on-instance-old", "on-instance-other-platform"]
    assert render(step["amazon.aws.ec2_tag"]["tags"]["pexip:platform"], item=ADDRESSES[0], **facts) == OURS


# ----- conferencing_node: which Elastic IP a deploy takes --------------------------------------------------------


def conferencing_node_eip_tasks():
    tasks = load("roles", "conferencing_node", "tasks", "instance.yml")
    free = next(t for t in tasks if t["name"].startswith("Find a free Elastic IP"))
    assign = next(t for t in tasks if t["name"].startswith("Assign a persistent public IP address"))
    return free, assign


def conferencing_node_render(expression, **facts):
    variables = dict(conferencing_node_name="a", conferencing_node_vpc_id="", pexip_manager_host="mgr.example.com", omit=OMIT,
                     _conferencing_node_launch={"instances": [INSTANCE]}, _conferencing_node_existing={})
    variables.update(facts)
    free, _assign = conferencing_node_eip_tasks()
    variables.update(trusted(free["vars"]))
    return templated(expression, variables)


@pytest.mark.parametrize("host", ["mgr.example.com", "https://MGR.example.com:443/", "127.0.0.1:8443"])
def test_both_roles_write_and_read_the_same_platform_tag(host):
    deploy = conferencing_node_render("{{ _conferencing_node_platform }}", pexip_manager_host=host)
    remove = render("{{ _decommission_platforms }}", pexip_manager_host=host, decommission_instances=[INSTANCE])
    assert [deploy] == remove
    assert deploy.startswith("vpc-1/")
    # An existing instance (no launch result in check mode, say) gives its VPC too.
    assert conferencing_node_render("{{ _conferencing_node_platform }}", pexip_manager_host=host, _conferencing_node_launch={},
                                    _conferencing_node_existing=INSTANCE) == deploy


def test_a_deploy_looks_for_a_free_address_by_node_and_platform():
    free, assign = conferencing_node_eip_tasks()
    assert free["amazon.aws.ec2_eip_info"]["filters"] == {"tag:pexip:node": "{{ conferencing_node_name }}",
                                                          "tag:pexip:platform": "{{ _conferencing_node_platform }}"}
    eip_args = assign["amazon.aws.ec2_eip"]
    # No search by one tag alone (which took over another platform's free address of the same node name).
    assert "reuse_existing_ip_allowed" not in eip_args and "tag_name" not in eip_args
    assert eip_args["tags"]["pexip:platform"] == "{{ _conferencing_node_platform }}"
    assert eip_args["purge_tags"] is False


@pytest.mark.parametrize("found, expected", [
    ({"addresses": [eip("taken", associated_with="i-0999", platform=OURS), eip("free", platform=OURS)]}, "free"),
    ({"addresses": []}, OMIT),  # none: a new address
    ({"skipped": True}, OMIT),  # the instance has its own address: ec2_eip finds it by device_id
])
def test_a_deploy_takes_a_free_address_of_its_platform_or_none(found, expected):
    _free, assign = conferencing_node_eip_tasks()
    chosen = conferencing_node_render(assign["amazon.aws.ec2_eip"]["public_ip"], _conferencing_node_eip_free=found)
    assert chosen.strip() == expected
