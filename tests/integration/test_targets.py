# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run every integration target (tests/integration/targets/*) against the lab with ansible-playbook."""

import os
import subprocess
import sys

import pytest

import apischema
from lab import integration_config_text
from labctl import LabControl

HERE = os.path.dirname(os.path.abspath(__file__))
TARGETS = os.path.join(HERE, "targets")
NAMES = sorted(d for d in os.listdir(TARGETS) if not d.startswith("setup_") and os.path.isdir(os.path.join(TARGETS, d)))


@pytest.mark.parametrize("target", NAMES)
def test_target(lab_env, target, tmp_path):
    # The lab's settings reach the target as ansible-test gives them (integration_config.yml), not through PEXIP_*.
    config = tmp_path / "integration_config.yml"
    config.write_text(integration_config_text(lab_env))
    env = dict((k, v) for k, v in os.environ.items() if not k.startswith(("PEXIP_", "LAB_", "AWS_")))
    env["ANSIBLE_ROLES_PATH"] = TARGETS
    env["ANSIBLE_FORCE_COLOR"] = "0"
    cmd = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), os.path.join(HERE, "run_target.yml"),
           "-e", "target=%s" % target, "-e", "integration_config=%s" % config]
    control = LabControl(lab_env["LAB_CONTROL_URL"].rsplit("/_lab", 1)[0], lab_env["PEXIP_CA_PATH"])
    seen = len(control.fields_named())
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900, check=False)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
    # The modules may read (filter, order by) and write only fields of the published API (tests/lab/api_schema.yml).
    assert apischema.request_violations(apischema.load(), control.fields_named()[seen:]) == []
