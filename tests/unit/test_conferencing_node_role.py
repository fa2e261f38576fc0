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
    task = role_file("tasks", "validate.yml")[0]
    variables = dict(conferencing_node_name="cn-1", conferencing_node_hostname="cn-1", conferencing_node_domain="example.com",
                     conferencing_node_role="transcoding", conferencing_node_public_ip="elastic", conferencing_node_bootstrap_address="private",
                     conferencing_node_bootstrap_validate_certs=True, conferencing_node_bootstrap_fingerprint="",
                     conferencing_node_bootstrap_ca_path="")
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
