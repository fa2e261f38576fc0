# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""noxfile.py runs ansible-test sanity for exactly the ansible-core releases meta/runtime.yml admits (up to the newest
on PyPI today, 2.19), and the Makefile's `nox` target runs the sessions CI relies on."""

import ast
import os

import yaml
from packaging.specifiers import SpecifierSet

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
NEWEST_CORE = "2.19"


def _sanity_versions():
    with open(os.path.join(REPO, "noxfile.py"), encoding="utf-8") as handle:
        tree = ast.parse(handle.read())
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == "SANITY_ANSIBLE_CORE":
            return list(ast.literal_eval(node.value))
    raise AssertionError("noxfile.py defines no SANITY_ANSIBLE_CORE")


def test_sanity_sessions_match_requires_ansible():
    with open(os.path.join(REPO, "meta", "runtime.yml"), encoding="utf-8") as handle:
        spec = SpecifierSet(yaml.safe_load(handle)["requires_ansible"])
    claimed = [v for v in ("2.14", "2.15", "2.16", "2.17", "2.18", "2.19") if spec.contains(v + ".0")]
    assert claimed == _sanity_versions(), (claimed, spec)
    assert claimed[-1] == NEWEST_CORE


def test_make_nox_runs_sanity_for_every_claimed_release():
    with open(os.path.join(REPO, "Makefile"), encoding="utf-8") as handle:
        makefile = handle.read()
    for version in _sanity_versions():
        assert "ansible-test-sanity-%s" % version in makefile
    for session in ("lint", "docs-check", "license-check", "build-import-check"):
        assert session in makefile
