# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Collection-level promises: every module documented, in the action group, and rendered by ansible-doc."""

import json
import os
import subprocess
import sys

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODULES = sorted(f[:-3] for f in os.listdir(os.path.join(ROOT, "plugins", "modules")) if f.endswith(".py") and not f.startswith("_"))
# The Management API modules; the others (ec2_*) take amazon.aws's connection options instead.
PEXIP_MODULES = [m for m in MODULES if m.startswith("pexip_")]
ENV = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, ".venv", "collections"), ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"))


def test_action_group_lists_every_module():
    with open(os.path.join(ROOT, "meta", "runtime.yml")) as handle:
        runtime = yaml.safe_load(handle)
    assert sorted(runtime["action_groups"]["pexip"]) == PEXIP_MODULES


@pytest.fixture(scope="module")
def ansible_docs():
    """ansible-doc --json of every module, in one run (one ansible-doc start instead of one a module)."""
    cmd = [os.path.join(os.path.dirname(sys.executable), "ansible-doc"), "--json"] + ["pexip.infinity.%s" % m for m in MODULES]
    proc = subprocess.run(cmd, env=ENV, capture_output=True, text=True, check=False, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout), proc.stderr


@pytest.mark.parametrize("module", MODULES)
def test_ansible_doc_renders(module, ansible_docs):  # pylint: disable=redefined-outer-name
    docs, warnings = ansible_docs
    assert "pexip.infinity.%s" % module in docs, warnings  # ansible-doc skips a module it cannot render, with a warning
    doc = docs["pexip.infinity.%s" % module]
    assert doc["doc"]["short_description"]
    assert doc["examples"].strip()
    assert doc["return"]
    # AWX credentials reach the modules through these variables; the playbooks' module_defaults for the whole group
    # (playbooks/vars/connection.yml) may also carry allow_loopback_addresses (a lab on loopback).
    if module in PEXIP_MODULES:
        assert {"host", "username", "password", "validate_certs", "ca_path", "allow_loopback_addresses"} <= set(doc["doc"]["options"])
        assert doc["doc"]["options"]["validate_certs"]["default"] is True


def test_galaxy_metadata():
    with open(os.path.join(ROOT, "galaxy.yml")) as handle:
        galaxy = yaml.safe_load(handle)
    assert (galaxy["namespace"], galaxy["name"]) == ("pexip", "infinity")
    assert "amazon.aws" in galaxy["dependencies"]
