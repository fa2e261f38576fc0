# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""`make integration` runs pytest-xdist: the tests of one file share module fixtures (a deployed platform) and run in
file order, so a file must stay on one worker. `--dist loadfile` does that; `--dist loadgroup` with xdist_group marks
no longer does under pytest 9 + pytest-xdist 3.8 (seen: a file's tests spread over both workers, each worker built the
module fixture again, and the fault matrix's cases found a platform deployed on the other worker's lab)."""

import os
import re

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_integration_keeps_each_file_on_one_worker():
    with open(os.path.join(REPO, "Makefile"), encoding="utf-8") as handle:
        makefile = handle.read()
    runs = re.findall(r"pytest .*tests/integration", makefile)
    assert runs and all("--dist loadfile" in run for run in runs), runs


def _integration_conftest():
    import importlib.util  # pylint: disable=import-outside-toplevel

    spec = importlib.util.spec_from_file_location("integration_conftest", os.path.join(REPO, "tests", "integration", "conftest.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class _Item:  # pylint: disable=too-few-public-methods
    def __init__(self, nodeid):
        self.nodeid = nodeid


def test_units_are_files_but_targets_and_scenarios_stand_alone():
    conftest = _integration_conftest()
    assert conftest.unit_of("tests/integration/test_e2e_platform.py::test_licence_active") == "tests/integration/test_e2e_platform.py"
    assert conftest.unit_of("tests/integration/test_targets.py::test_target[pexip_node]") == "tests/integration/test_targets.py::test_target[pexip_node]"
    assert conftest.unit_of("tests/integration/test_molecule.py::test_molecule_scenario[decommission]").endswith("[decommission]")


def test_longest_unit_first_and_a_file_keeps_its_order():
    conftest = _integration_conftest()
    ids = ["tests/integration/test_awx.py::test_a", "tests/integration/test_e2e_platform.py::test_b",
           "tests/integration/test_targets.py::test_target[pexip_location]", "tests/integration/test_e2e_platform.py::test_a",
           "tests/integration/test_targets.py::test_target[pexip_node]", "tests/integration/test_awx.py::test_b"]
    items = [_Item(nodeid) for nodeid in ids]
    conftest.pytest_collection_modifyitems(items)
    assert [item.nodeid for item in items] == [
        "tests/integration/test_e2e_platform.py::test_b", "tests/integration/test_e2e_platform.py::test_a",
        "tests/integration/test_awx.py::test_a", "tests/integration/test_awx.py::test_b",
        "tests/integration/test_targets.py::test_target[pexip_node]",
        "tests/integration/test_targets.py::test_target[pexip_location]"]
