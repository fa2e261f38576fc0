# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every Molecule scenario (extensions/molecule) against the lab, one test each.

Run here rather than as a separate step so that pytest-xdist spreads them over its workers together with the rest
of the integration suite; `make molecule` still runs them on their own.
"""

import glob
import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
SCENARIOS = sorted(os.path.basename(os.path.dirname(p))
                   for p in glob.glob(os.path.join(REPO, "extensions", "molecule", "*", "molecule.yml")))
BIN = os.path.dirname(sys.executable)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_molecule_scenario(lab_env, scenario):
    env = dict(os.environ, **lab_env)
    env.update(PATH=BIN + os.pathsep + env.get("PATH", ""), ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"),
               ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, ".venv", "collections"), ANSIBLE_FORCE_COLOR="0",
               PY_COLORS="0")
    proc = subprocess.run([os.path.join(BIN, "molecule"), "test", "-s", scenario], env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=900, check=False)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-4000:]
