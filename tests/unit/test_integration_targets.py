# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The integration targets can run under ``ansible-test integration``: aliases, and connection settings from the
variables of integration_config.yml (ansible-test keeps the environment from them), every one of which the file
that tests/lab/lab.py writes provides."""

import os
import re

import pytest
import yaml

import lab

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TARGETS = os.path.join(ROOT, "tests", "integration", "targets")
NAMES = sorted(d for d in os.listdir(TARGETS) if os.path.isdir(os.path.join(TARGETS, d)))
# Targets not converted yet: they would read PEXIP_*/LAB_* from the environment (tests/integration/test_targets.py
# then gives them the lab's env). Every target is converted; a new one must be too.
UNCONVERTED = set()
# The variables of the config: the connection settings and the lab's other facts (never set by a target itself).
CONFIG_VAR = re.compile(r"(?<![\w.'\"^])((?:pexip|lab|aws)_\w+)")
EXPRESSION_KEYS = ("when", "that", "until", "failed_when", "changed_when")


def files(target):
    for folder, _dirs, names in os.walk(os.path.join(TARGETS, target)):
        for name in names:
            if name.endswith(".yml"):
                yield os.path.join(folder, name)


def expressions(node, bare=False):
    """Every Jinja expression of a task file: the {{ }} of its strings, and its conditionals."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield from expressions(value, bare=key in EXPRESSION_KEYS)
    elif isinstance(node, list):
        for item in node:
            yield from expressions(item, bare)
    elif isinstance(node, str):
        if bare:
            yield node
        yield from re.findall(r"{{(.*?)}}", node, re.S)


def defined(node):
    """Names the targets set themselves: set_fact keys, register, vars, loop_var."""
    names = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("ansible.builtin.set_fact", "set_fact", "vars") and isinstance(value, dict):
                names.update(value)
            elif key in ("register", "loop_var") and isinstance(value, str):
                names.add(value)
            names |= defined(value)
    elif isinstance(node, list):
        for item in node:
            names |= defined(item)
    return names


def config_keys():
    env = dict((key, "1") for key in lab.ENV_KEYS)
    return set(lab.integration_config(env))


def test_every_target_has_aliases():
    assert [t for t in NAMES if not os.path.isfile(os.path.join(TARGETS, t, "aliases"))] == []


def roles_included(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("ansible.builtin.include_role", "ansible.builtin.import_role", "include_role", "import_role"):
                yield value["name"]
            else:
                yield from roles_included(value)
    elif isinstance(node, list):
        for item in node:
            yield from roles_included(item)


@pytest.mark.parametrize("target", sorted(set(NAMES) - UNCONVERTED))
def test_other_targets_used_are_declared(target):
    """ansible-test copies only the target and what its aliases name (needs/target/...) into its work directory."""
    with open(os.path.join(TARGETS, target, "aliases"), encoding="utf-8") as handle:
        needs = set(line.strip()[len("needs/target/"):] for line in handle if line.startswith("needs/target/"))
    used = set()
    for path in files(target):
        with open(path, encoding="utf-8") as handle:
            used.update(roles_included(yaml.safe_load(handle)))
    assert sorted(used - needs - {target}) == []


@pytest.mark.parametrize("target", sorted(set(NAMES) - UNCONVERTED))
def test_target_reads_no_environment(target):
    for path in files(target):
        with open(path, encoding="utf-8") as handle:
            assert "ansible.builtin.env" not in handle.read(), path


def test_config_has_every_variable_the_targets_use():
    used, made = set(), set()
    for target in NAMES:
        for path in files(target):
            with open(path, encoding="utf-8") as handle:
                data = yaml.safe_load(handle)
            made |= defined(data)
            if target not in UNCONVERTED:
                for text in expressions(data):
                    used.update(CONFIG_VAR.findall(text))
    keys = config_keys()
    assert {"pexip_host", "pexip_username", "pexip_password", "pexip_ca_path", "lab_control_url", "lab_ca_path"} <= used
    assert sorted(used - made - keys) == []
    # What the targets set themselves must not shadow the config.
    assert sorted(keys & made) == []


def test_targets_connect_through_module_defaults():
    keys = config_keys()
    for target in sorted(set(NAMES) - UNCONVERTED - {"setup_lab"}):
        with open(os.path.join(TARGETS, target, "tasks", "main.yml"), encoding="utf-8") as handle:
            block = yaml.safe_load(handle)[0]
        settings = block["module_defaults"]["group/pexip.infinity.pexip"]
        # allow_loopback_addresses: where a target makes nodes at its lab instances' (loopback) addresses.
        assert set(settings) - {"allow_loopback_addresses"} == {"host", "username", "password", "ca_path"}, target
        assert set(CONFIG_VAR.findall(" ".join(settings.values()))) <= keys, target


def test_config_file_is_yaml_of_the_env():
    env = dict((key, "v-" + key) for key in lab.ENV_KEYS)
    env["LAB_NODE_PORT"] = "8443"
    data = yaml.safe_load(lab.integration_config_text(env))
    assert data["pexip_host"] == "v-PEXIP_HOST" and data["pexip_password"] == "v-PEXIP_PASSWORD"
    assert data["lab_ca_path"] == data["pexip_ca_path"] == "v-PEXIP_CA_PATH"
    assert data["lab_node_port"] == 8443
