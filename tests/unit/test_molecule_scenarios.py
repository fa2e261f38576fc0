# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Molecule scenarios' promises (extensions/molecule, docs/molecule.md), checked without running them.

`make molecule` runs them against the lab; these checks keep them safe and independent: every playbook refuses to run
off the lab, every scenario cleans up before and after itself, checks idempotence and verifies, and no two scenarios
share a name on the lab (they run in parallel with --workers).
"""

import glob
import os

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MOLECULE = os.path.join(ROOT, "extensions", "molecule")
SCENARIOS = sorted(os.path.basename(os.path.dirname(p)) for p in glob.glob(os.path.join(MOLECULE, "*", "molecule.yml")))
LAB_GUARD = os.path.join(MOLECULE, "shared", "lab_guard.yml")


def load(path):
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def scenario_config(name):
    return load(os.path.join(MOLECULE, name, "molecule.yml"))


def playbooks(name):
    """Every playbook the scenario runs: its own files plus the shared ones it names."""
    directory = os.path.join(MOLECULE, name)
    paths = {p for p in glob.glob(os.path.join(directory, "*.yml")) if os.path.basename(p) != "molecule.yml"}
    for path in (scenario_config(name)["provisioner"].get("playbooks") or {}).values():
        paths.add(os.path.normpath(os.path.join(directory, path)))
    return sorted(paths)


def first_import(path):
    plays = load(path)
    return os.path.normpath(os.path.join(os.path.dirname(path), plays[0].get("ansible.builtin.import_playbook", "")))


def test_the_main_role_groups_have_a_scenario():
    assert {"security_group", "conferencing_node", "maintenance_reinstate", "decommission"} <= set(SCENARIOS)


@pytest.mark.parametrize("name", SCENARIOS)
def test_scenario_sequence_converges_checks_idempotence_verifies_and_cleans_up(name):
    config = scenario_config(name)
    sequence = config["scenario"]["test_sequence"]
    # The lab starts empty; molecule runs cleanup after a failed step too (molecule test's --destroy=always).
    assert sequence[0] == "converge" and sequence[-1] == "cleanup" and sequence.count("cleanup") == 1, sequence
    assert sequence.index("converge") < sequence.index("idempotence") < sequence.index("verify"), sequence
    # prepare is skipped for an already prepared scenario and create/destroy in parallel mode: not relied upon.
    assert not {"prepare", "create", "destroy"} & set(sequence), sequence
    assert config["provisioner"]["playbooks"]["cleanup"] == "../shared/cleanup.yml"
    assert config["driver"] == {"name": "default", "options": {"managed": False}}
    assert config["prerun"] is False and config["dependency"]["enabled"] is False
    assert os.path.isfile(os.path.join(MOLECULE, name, "converge.yml"))
    assert os.path.isfile(os.path.join(MOLECULE, name, "verify.yml"))


@pytest.mark.parametrize("name", SCENARIOS)
def test_scenario_passes_the_collection_and_its_ansible_cfg_through(name):
    env = scenario_config(name)["provisioner"]["env"]
    assert env["ANSIBLE_CONFIG"] == "${ANSIBLE_CONFIG:-../../../ansible.cfg}"
    assert env["ANSIBLE_COLLECTIONS_PATH"] == "${ANSIBLE_COLLECTIONS_PATH:-../../../.venv/collections}"
    # The defaults are relative to the scenario directory, where molecule runs ansible-playbook.
    assert os.path.isfile(os.path.join(MOLECULE, name, "../../../ansible.cfg"))


@pytest.mark.parametrize("name", SCENARIOS)
def test_every_playbook_starts_with_the_lab_guard(name):
    for path in playbooks(name):
        target = first_import(path)
        if target != LAB_GUARD:  # an import of a shared playbook that starts with the guard itself
            assert first_import(target) == LAB_GUARD, path


def test_lab_guard_checks_aws_and_the_management_node_are_loopback():
    assertion = load(LAB_GUARD)[0]["tasks"][0]
    that = " ".join(assertion["ansible.builtin.assert"]["that"])
    for variable in ("lab_guard_aws_url", "lab_guard_aws_endpoint_url", "lab_guard_pexip_host"):
        assert variable in that
    assert assertion["vars"]["lab_guard_loopback"].startswith("^(https?://)?(127\\.")


def test_scenarios_use_names_of_their_own_on_the_lab():
    seen = {}
    for name in SCENARIOS:
        inventory = scenario_config(name)["provisioner"]["inventory"]
        group_vars = inventory["group_vars"]["conferencing_nodes"]
        names = [("host", p["name"]) for p in scenario_config(name)["platforms"]]
        names.append(("security group", group_vars["pexip_security_group_name"]))
        names += [("location", location["name"]) for location in group_vars.get("pexip_locations", [])]
        for key in names:
            assert key not in seen, "%s %r is used by scenarios %s and %s" % (key[0], key[1], seen[key], name)
            seen[key] = name
