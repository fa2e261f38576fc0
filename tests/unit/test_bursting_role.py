# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The bursting role's static promises: the guide's policy document, documented variables, secrets kept hidden."""

import os

import jinja2
import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ROLE = os.path.join(ROOT, "roles", "bursting")


def load(*parts):
    with open(os.path.join(ROLE, *parts), encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def render(value, variables):
    """Template every string of a YAML structure as Ansible would (plain Jinja is enough for these values)."""
    if isinstance(value, dict):
        return {render(k, variables): render(v, variables) for k, v in value.items()}
    if isinstance(value, list):
        return [render(v, variables) for v in value]
    if isinstance(value, str):
        return jinja2.Environment(undefined=jinja2.StrictUndefined).from_string(value).render(**variables)
    return value


@pytest.mark.parametrize("tag_value", ["mgr01", "unknown", "pexmgr.example.com"])
def test_policy_document_is_the_guides(tag_value, guide_policy):
    document = render(load("vars", "main.yml")["bursting_policy_document"], {"bursting_tag": tag_value})
    assert document == guide_policy(tag_value)


def test_every_default_is_documented_in_an_entry_point():
    defaults = set(load("defaults", "main.yml"))
    specs = load("meta", "argument_specs.yml")["argument_specs"]
    assert set(specs) == {"main", "prestart", "convert"}
    documented = set()
    for entry in specs.values():
        documented |= set(entry["options"])
    assert defaults - documented == set()
    # Entry points' task files exist.
    for entry in specs:
        assert os.path.isfile(os.path.join(ROLE, "tasks", entry + ".yml")), entry


def tasks(path):
    return load("tasks", path) or []


def walk(task_list):
    for task in task_list:
        yield task
        for key in ("block", "rescue", "always"):
            yield from walk(task.get(key, []))


def test_the_secret_access_key_is_only_handled_in_no_log_tasks():
    found = []
    for file_name in sorted(os.listdir(os.path.join(ROLE, "tasks"))):
        for task in walk(tasks(file_name)):
            text = yaml.safe_dump({k: v for k, v in task.items() if k not in ("block", "rescue", "always")})
            if "secret_access_key" in text or "iam_access_key" in text and task.get("amazon.aws.iam_access_key", {}).get("state") == "present":
                found.append((file_name, task["name"], task.get("no_log")))
    assert found, "the role must create and hand over the access key"
    assert all(no_log is True for _f, _n, no_log in found), found
    # The registered secret is overwritten whatever happens.
    iam = tasks("iam.yml")
    block = [t for t in iam if "block" in t][0]
    assert any(t.get("ansible.builtin.set_fact") == {"_bursting_new_key": {}} for t in block["always"])


@pytest.mark.parametrize("tasks_file", ["convert_always_on.yml", "convert_overflow.yml"])
def test_convert_moves_the_node_only_while_it_is_drained(tasks_file):
    """A location change restarts the node and drops its calls (pexip_node refuses it while calls are live): the
    maintenance role drains the node first, and reinstate (which ends maintenance mode) only comes afterwards."""
    tasks = load("tasks", tasks_file)

    def index(predicate):
        found = [i for i, task in enumerate(tasks) if predicate(task)]
        assert len(found) == 1, (tasks_file, found)
        return found[0]

    def role(name):
        return lambda task: (task.get("ansible.builtin.include_role") or {}).get("name") == "pexip.infinity." + name

    move = index(lambda task: "system_location" in (task.get("pexip.infinity.pexip_node") or {}))
    assert index(role("maintenance")) < move
    if tasks_file == "convert_always_on.yml":
        assert move < index(role("reinstate"))
