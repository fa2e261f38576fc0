# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""How `make integration` spreads the tests over its pytest-xdist workers (each worker has a lab of its own).

- A file's tests share module fixtures (a deployed platform) and run in file order: the file is one unit of work and
  stays on one worker. The files of INDEPENDENT hold tests that share nothing but the worker's lab (one integration
  target, one Molecule scenario each): every test is a unit of its own.
- Units go out longest first (WEIGHTS, seconds measured in a `make test` run), so that the last unit to start is a
  short one and no worker idles while another works through a long file at the end.
"""

import json
import os
import time

import pytest
from xdist.scheduler import LoadScopeScheduling

from e2e import PLAYBOOK_CPU_LOG, children_cpu as _children_cpu  # e2e.run_playbook writes the log

INDEPENDENT = ("test_targets.py", "test_molecule.py")

# Seconds per unit, from one run's durations (a file: all its tests; an independent test: itself). Only the order
# matters: a unit not listed counts as DEFAULT_WEIGHT.
WEIGHTS = {
    "test_e2e_platform.py": 245, "test_e2e_management_node.py": 120, "test_fault_matrix.py": 195,
    "test_e2e_bursting.py": 190, "test_e2e_operations.py": 170, "test_e2e_deploy.py": 150, "test_awx.py": 85,
    "test_alarm_report.py": 85, "test_module_examples.py": 90, "test_reliability.py": 80,
    "test_e2e_replace.py": 70, "test_e2e_restore.py": 60,
    "test_molecule_scenario[conferencing_node]": 90, "test_target[pexip_node]": 80,
    "test_molecule_scenario[maintenance_reinstate]": 55, "test_molecule_scenario[decommission]": 50,
    "test_e2e_upgrade.py": 90,
}
DEFAULT_WEIGHT = 25


def unit_of(nodeid):
    """The unit of work a test belongs to: its file, or the test itself in the files of INDEPENDENT."""
    path = nodeid.split("::", 1)[0]
    return nodeid if path.endswith(INDEPENDENT) else path


def weight(unit):
    name = unit.rsplit("/", 1)[-1].split("::")[-1]
    return WEIGHTS.get(name, DEFAULT_WEIGHT)


class UnitScheduling(LoadScopeScheduling):
    """xdist's scope scheduling over the units above, in collection order (pytest_collection_modifyitems)."""

    def _split_scope(self, nodeid):
        return unit_of(nodeid)


@pytest.hookimpl(optionalhook=True)  # an xdist hook: pytest -p no:xdist runs these tests too
def pytest_xdist_make_scheduler(config, log):
    if config.getoption("dist") != "loadfile":
        return None
    # Keep the order of the collection, which the workers rank longest first (xdist would rank by test count).
    config.option.loadscopereorder = False
    return UnitScheduling(config, log)


def pytest_collection_modifyitems(items):
    """Longest unit first; a unit's tests stay together and in file order (every worker sorts the same way)."""
    first = {}
    for index, item in enumerate(items):
        first.setdefault(unit_of(item.nodeid), index)
    # list.sort is stable: within a unit the tests keep their order.
    items.sort(key=lambda item: (-weight(unit_of(item.nodeid)), first[unit_of(item.nodeid)]))


# -- CPU per test ---------------------------------------------------------------------------------------------------
# Wall time (--durations) hides what a test costs the two cores: the playbooks it runs are the worker's children, so
# getrusage(RUSAGE_CHILDREN) around setup + call + teardown is their CPU (the lab's servers are not counted). Each
# worker appends to CPU_LOG; the controller lists the ten most expensive tests and the total at the end.
CPU_LOG = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "output", "integration-cpu.jsonl")


def pytest_sessionstart(session):
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        for log in (CPU_LOG, PLAYBOOK_CPU_LOG):  # the controller starts before its workers
            if os.path.exists(log):
                os.remove(log)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):  # pylint: disable=unused-argument
    before, start = _children_cpu(), time.time()
    yield
    os.makedirs(os.path.dirname(CPU_LOG), exist_ok=True)
    with open(CPU_LOG, "a", encoding="utf-8") as handle:
        handle.write(json.dumps({"test": item.nodeid, "cpu": round(_children_cpu() - before, 2), "start": round(start, 1),
                                 "end": round(time.time(), 1), "worker": os.environ.get("PYTEST_XDIST_WORKER", "")}) + "\n")


def pytest_terminal_summary(terminalreporter):
    if os.environ.get("PYTEST_XDIST_WORKER") or not os.path.exists(CPU_LOG):
        return
    with open(CPU_LOG, encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle if line.strip()]
    terminalreporter.write_sep("=", "most controller CPU (playbooks and tools the test ran; the lab not counted)")
    for row in sorted(rows, key=lambda r: -r["cpu"])[:10]:
        terminalreporter.write_line("%7.1f CPU-s  %s" % (row["cpu"], row["test"]))
    files = {}
    for row in rows:
        files[row["test"].split("::")[0]] = files.get(row["test"].split("::")[0], 0) + row["cpu"]
    terminalreporter.write_line("per file: " + ", ".join("%s %.0f" % (name.rsplit("/", 1)[-1], cpu)
                                                         for name, cpu in sorted(files.items(), key=lambda kv: -kv[1])))
    terminalreporter.write_line("%7.1f CPU-s  in all, %d tests" % (sum(r["cpu"] for r in rows), len(rows)))
    if os.path.exists(PLAYBOOK_CPU_LOG):
        with open(PLAYBOOK_CPU_LOG, encoding="utf-8") as handle:
            runs = [json.loads(line) for line in handle if line.strip()]
        playbooks = {}
        for run in runs:
            total = playbooks.setdefault(run["playbook"], [0, 0.0])
            total[0] += 1
            total[1] += run["cpu"]
        terminalreporter.write_line("per playbook (runs, CPU-s; %d runs by e2e.run_playbook): " % len(runs) + ", ".join(
            "%s %d %.0f" % (name, count, cpu) for name, (count, cpu) in sorted(playbooks.items(), key=lambda kv: -kv[1][1])[:15]))
    # A worker that ends long before the last one left a core idle at the end of the run (see the WEIGHTS above).
    begin, ends = min(r["start"] for r in rows), {}
    for row in rows:
        ends[row["worker"]] = max(ends.get(row["worker"], 0), row["end"])
    done = ["%s %.0f s" % (worker or "main", end - begin) for worker, end in sorted(ends.items())]
    terminalreporter.write_line("workers done after: " + ", ".join(done))
