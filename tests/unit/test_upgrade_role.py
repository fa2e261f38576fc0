# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The upgrade role reads like its runbook: every refusal before the first write, the watch in steps of at most 50
seconds; and the reinstate role takes a node out of maintenance mode only after waiting for its upgrade."""

import os

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
WRITES = ("pexip.infinity.pexip_backup", "amazon.aws.ec2_snapshot")


def flat(tasks):
    for task in tasks:
        if "block" in task:
            yield from flat(task["block"])
        else:
            yield task


def load(role, name="tasks/main.yml"):
    with open(os.path.join(ROOT, "roles", role, name), encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def test_every_refusal_comes_before_the_first_write():
    tasks = list(flat(load("upgrade")))

    def writes(task):
        module = task.get("pexip.infinity.pexip_upgrade")
        return any(key in task for key in WRITES) or (module is not None and "wait_for" not in module and not task.get("check_mode"))
    first_write = min(i for i, task in enumerate(tasks) if writes(task))
    refusals = [i for i, task in enumerate(tasks) if "ansible.builtin.assert" in task]
    assert refusals and max(refusals) < first_write
    assert tasks[first_write]["name"].startswith("2. Back up")


def test_the_watch_prints_a_line_at_least_once_a_minute():
    variables = load("upgrade", "vars/main.yml")
    assert variables["_upgrade_step"].startswith("{{ [50,") and "| min" in variables["_upgrade_step"]
    watches = [t for t in flat(load("upgrade")) if "wait_for" in (t.get("pexip.infinity.pexip_upgrade") or {})]
    assert len(watches) == 2
    for task in watches:
        assert task["pexip.infinity.pexip_upgrade"]["wait_timeout"] == "{{ _upgrade_step }}"
        assert task["loop_control"]["label"].startswith("{{ _upgrade_") and "summary" in task["loop_control"]["label"]


def test_reinstate_waits_for_the_upgrade_before_maintenance_off():
    tasks = list(flat(load("reinstate")))
    names = [t["name"] for t in tasks]
    wait = next(i for i, n in enumerate(names) if n.startswith("Wait until the node runs the Management Node's version"))
    stop = next(i for i, n in enumerate(names) if n.startswith("Stop when the node does not run the Management Node's version"))
    off = [i for i, t in enumerate(tasks) if (t.get("pexip.infinity.pexip_node") or {}).get("maintenance_mode") is False
           or (t.get("vars") or {}).get("nat_update_maintenance_mode") is False]
    assert off and wait < stop < min(off)
