# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared pytest set-up: the collection importable as ansible_collections.pexip.infinity, and the lab."""

import json
import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# `make setup` links the repo at .venv/collections/ansible_collections/pexip/infinity.
sys.path.insert(0, os.path.join(ROOT, ".venv", "collections"))
sys.path.insert(0, os.path.join(ROOT, "tests", "lab"))


@pytest.fixture(scope="session")
def lab_env():
    """The lab's environment (.lab/env), bringing the lab up first when it is not running.

    Under pytest-xdist (make integration runs two workers) every worker but the first gets a lab of its own
    (.lab-gwN, its own ports), stopped at the end of its session: tests that count the lab's requests or inject
    faults never meet another worker's traffic.
    """
    import labenv  # pylint: disable=import-outside-toplevel

    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    if worker == "gw0":
        yield labenv.ensure_lab()
        return
    directory = os.path.join(os.environ.get("LAB_WORKERS_DIR") or ROOT, ".lab-%s" % worker)
    try:
        yield labenv.ensure_lab(directory, ports=labenv.worker_lab_ports(int(worker[2:])))
    finally:
        labenv.stop_lab(directory)


@pytest.fixture
def guide_policy():
    """The IAM policy of the guide's "Configuring an AWS user and policy for controlling overflow nodes" (step 2b,
    verbatim in tests/utils/guide_bursting_policy.json), as a function of the bursting tag value."""
    with open(os.path.join(ROOT, "tests", "utils", "guide_bursting_policy.json"), encoding="utf-8") as handle:
        text = handle.read()
    return lambda tag_value: json.loads(text.replace("<bursting-tag-value>", tag_value))
