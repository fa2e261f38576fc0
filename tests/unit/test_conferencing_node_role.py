# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""conferencing_node: which address the bootstrap document is uploaded to (guide, "Deploying a Conferencing Node":
over a VPN the private address; in public deployments without one, the public address)."""

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


ROLE = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "roles", "conferencing_node")


def role_file(*parts):
    with open(os.path.join(ROLE, *parts), encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def bootstrap_ip(**facts):
    variables = dict(conferencing_node_private_ip="127.20.1.10", conferencing_node_public_address="198.18.0.7")
    variables.update(facts)
    variables["conferencing_node_bootstrap_address"] = trust_as_template(role_file("defaults", "main.yml")["conferencing_node_bootstrap_address"])
    expression = role_file("vars", "main.yml")["_conferencing_node_bootstrap_ip"]
    return Templar(loader=DataLoader(), variables=variables).template(trust_as_template(expression)).strip()


def test_private_address_by_default():
    assert bootstrap_ip() == "127.20.1.10"


@pytest.mark.parametrize("mode, expected", [("private", "127.20.1.10"), ("public", "198.18.0.7")])
def test_inventory_chooses_the_address(mode, expected):
    assert bootstrap_ip(pexip_node_bootstrap_address=mode) == expected


def test_probe_and_upload_use_the_bootstrap_address_and_the_node_keeps_its_private_one():
    tasks = role_file("tasks", "node.yml")
    probe = next(t for t in tasks if t.get("pexip.infinity.pexip_config_upload"))
    block = next(t for t in tasks if "block" in t)
    create = next(t for t in block["block"] if t.get("pexip.infinity.pexip_node"))
    assert probe["pexip.infinity.pexip_config_upload"]["address"] == "{{ _conferencing_node_bootstrap_ip }}"
    assert create["pexip.infinity.pexip_node"]["bootstrap_upload"]["address"] == "{{ _conferencing_node_bootstrap_ip }}"
    assert create["pexip.infinity.pexip_node"]["address"] == "{{ conferencing_node_private_ip }}"
    # The document goes from the create straight to the instance: never to a file, never into a result.
    assert not {"config_dest", "return_content"} & set(create["pexip.infinity.pexip_node"])


def validation_problems(**facts):
    """The problems the role's first check (tasks/validate.yml) finds, before anything is launched."""
    task = next(t for t in role_file("tasks", "validate.yml") if "_problems" in t.get("vars", {}))
    variables = dict(conferencing_node_name="cn-1", conferencing_node_hostname="cn-1", conferencing_node_domain="example.com",
                     conferencing_node_role="transcoding", conferencing_node_public_ip="elastic", conferencing_node_bootstrap_address="private",
                     conferencing_node_bootstrap_validate_certs=True, conferencing_node_bootstrap_fingerprint="",
                     conferencing_node_tenancy="dedicated", conferencing_node_bootstrap_ca_path="")
    variables.update(facts)
    variables.update((k, trust_as_template(v)) for k, v in task["vars"].items())
    return Templar(loader=DataLoader(), variables=variables).template(trust_as_template("{{ _problems }}"))


@pytest.mark.parametrize("facts, refused", [
    (dict(conferencing_node_bootstrap_address="public", conferencing_node_bootstrap_validate_certs=False), True),
    (dict(conferencing_node_bootstrap_address="public", conferencing_node_bootstrap_validate_certs=False,
          conferencing_node_bootstrap_fingerprint="ab" * 32), False),
    (dict(conferencing_node_bootstrap_address="public", conferencing_node_bootstrap_ca_path="/etc/pki/node.pem"), False),  # verified
    (dict(conferencing_node_bootstrap_validate_certs=False), False),  # private: trusts the VPC
])
def test_an_unverified_public_upload_is_refused_before_anything_is_launched(facts, refused):
    problems = validation_problems(**facts)
    assert bool(problems) is refused, problems
    if refused:
        assert "pexip_node_bootstrap_fingerprint" in problems[0] and "not sent unverified to a public address" in problems[0]


@pytest.mark.parametrize("address", ["private", "public"])
def test_verification_that_cannot_succeed_is_refused_before_anything_is_launched(address):
    """A new instance's self-signed certificate: verification on with neither a pin nor a file that holds it would
    fail only once the instance runs."""
    problems = validation_problems(conferencing_node_bootstrap_address=address)
    assert len(problems) == 1 and "serves a self-signed certificate" in problems[0], problems
    assert "pexip_node_bootstrap_validate_certs: false" in problems[0] and "pexip_node_bootstrap_fingerprint" in problems[0]


def test_the_fingerprint_reaches_the_probe_and_the_upload():
    tasks = role_file("tasks", "node.yml")
    probe = next(t for t in tasks if t.get("pexip.infinity.pexip_config_upload"))
    block = next(t for t in tasks if "block" in t)
    create = next(t for t in block["block"] if t.get("pexip.infinity.pexip_node"))
    pin = "{{ conferencing_node_bootstrap_fingerprint | default(omit, true) }}"
    assert probe["pexip.infinity.pexip_config_upload"]["fingerprint"] == pin
    assert create["pexip.infinity.pexip_node"]["bootstrap_upload"]["fingerprint"] == pin


def template(expression, **variables):
    return Templar(loader=DataLoader(), variables=variables).template(trust_as_template(expression))


def default(name, **variables):
    """The role default ``name`` as the inventory's variables make it."""
    return template(role_file("defaults", "main.yml")[name], **variables)


# ----- tenancy (issue 29 §4): a variable, dedicated by default, checked before anything is launched ----------------


def test_tenancy_is_dedicated_unless_the_inventory_says_otherwise():
    assert default("conferencing_node_tenancy") == "dedicated"
    assert default("conferencing_node_tenancy", pexip_instance_tenancy="default") == "default"
    launch = next(t for t in role_file("tasks", "instance.yml") if "amazon.aws.ec2_instance" in t)
    assert launch["amazon.aws.ec2_instance"]["placement"] == {"tenancy": "{{ conferencing_node_tenancy }}"}


@pytest.mark.parametrize("tenancy, refused", [("dedicated", False), ("default", False), ("host", True), ("Dedicated", True), ("", True)])
def test_an_unknown_tenancy_is_refused_before_anything_is_launched(tenancy, refused):
    problems = validation_problems(conferencing_node_tenancy=tenancy, conferencing_node_bootstrap_fingerprint="AB" * 32)
    assert bool(problems) is refused, problems
    if refused:
        assert "tenancy '%s' (pexip_instance_tenancy) must be dedicated" % tenancy in problems[0]


# ----- retired nodes (issue 29 §4): left alone by deploy and site ------------------------------------------------


def test_a_retired_node_ends_its_play_before_any_check_or_read():
    tasks = role_file("tasks", "validate.yml")
    first = tasks[0]
    assert first["when"] == "conferencing_node_retired | bool"
    assert [t.get("ansible.builtin.meta") for t in first["block"]][-1] == "end_host"
    # main.yml runs validate.yml first for a node the deploy playbook has not checked yet.
    main = role_file("tasks", "main.yml")
    assert main[0]["ansible.builtin.include_tasks"] == "validate.yml"
    assert default("conferencing_node_retired") is False
    assert default("conferencing_node_retired", pexip_node_retired=True) is True


def test_a_retired_node_takes_no_part_in_the_inventory_checks():
    """A retired proxying node in a location now used for transcoding, or a retired node whose name a new node reuses,
    does not refuse the deploy."""
    task = role_file("tasks", "validate_platform.yml")[0]
    hostvars = {
        "old": dict(pexip_node_name="cn-1", pexip_node_location="London", pexip_node_role="proxying", pexip_node_retired=True),
        "new": dict(pexip_node_name="cn-1", pexip_node_location="London", pexip_node_role="transcoding"),
    }
    variables = dict(groups={"conferencing_nodes": ["old", "new"]}, hostvars=hostvars)
    variables.update((k, trust_as_template(v)) for k, v in task["vars"].items())
    assert template("{{ _found }}", **variables)["duplicates"] == []
    assert template("{{ _found }}", **variables)["mixed"] == []
    hostvars["old"]["pexip_node_retired"] = False
    assert template("{{ _found }}", **variables)["duplicates"] == ["cn-1"]


# ----- a node stopped in maintenance stays stopped (issue 29 §6) ----------------------------------------------------


def keep_stopped(state, maintenance_mode, bursting=False, reported=True):
    task = next(t for t in role_file("tasks", "fleet.yml") if "_conferencing_node_in_sync" in t.get("ansible.builtin.set_fact", {}))
    variables = dict(node_instance_ec2={"state": {"name": state}}, node_instance_node={"maintenance_mode": maintenance_mode, "reported": reported},
                     conferencing_node_bursting=bursting)
    variables.update((k, trust_as_template(v)) for k, v in task["vars"].items())
    return template("{{ _keep_stopped }}", **variables), template("{{ _stopped_in_maintenance }}", **variables)


@pytest.mark.parametrize("state, maintenance_mode, bursting, expected", [
    ("stopped", True, False, True),  # maintenance_stop.yml: stays stopped
    ("stopping", True, False, True),
    ("stopped", False, False, False),  # stopped by hand, not in maintenance: deploy starts it as before
    ("running", True, False, False),  # a drain that timed out: running, left running
    ("stopped", False, True, True),  # a deployed bursting node: Pexip starts it
])
def test_a_node_stopped_in_maintenance_is_not_started(state, maintenance_mode, bursting, expected):
    kept, in_maintenance = keep_stopped(state, maintenance_mode, bursting)
    assert kept is expected
    assert in_maintenance is (maintenance_mode and state in ("stopped", "stopping"))
    launch = next(t for t in role_file("tasks", "instance.yml") if "_conferencing_node_keep_stopped" in t.get("ansible.builtin.set_fact", {}))
    assert "conferencing_node_stopped_in_maintenance | bool" in launch["ansible.builtin.set_fact"]["_conferencing_node_keep_stopped"]
