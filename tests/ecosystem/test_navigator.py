# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ansible-navigator with the project's ansible-navigator.yml, without an execution environment, against the lab."""

import os
import subprocess
import sys

import pytest
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
BIN = os.path.dirname(sys.executable)
NAVIGATOR = os.path.join(BIN, "ansible-navigator")
# Without an execution environment navigator runs the ansible-playbook it finds on PATH: the project's.
BASE_ENV = dict(os.environ, PATH=BIN + os.pathsep + os.environ["PATH"],
                ANSIBLE_NAVIGATOR_CONFIG=os.path.join(REPO, "ansible-navigator.yml"))


def _navigator(playbook, lab_env, timeout):
    env = dict(BASE_ENV)
    env.update(lab_env)
    inventory = os.path.join(lab_env.get("LAB_DIR") or os.path.join(REPO, ".lab"), "inventory.yml")
    result = subprocess.run([NAVIGATOR, "run", playbook, "-i", inventory, "--ee", "false", "--mode", "stdout"],
                            cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "PLAY RECAP" in result.stdout and "failed=0" in result.stdout, result.stdout[-4000:]
    return result.stdout


def test_settings_file_is_valid():
    with open(os.path.join(REPO, "ansible-navigator.yml"), encoding="utf-8") as handle:
        settings = yaml.safe_load(handle)["ansible-navigator"]
    assert settings["execution-environment"]["image"]
    result = subprocess.run([NAVIGATOR, "settings", "--effective", "--mode", "stdout", "--ee", "false"], cwd=REPO,
                            env=BASE_ENV,
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_navigator_runs_a_play_against_the_lab(lab_env):
    _navigator(os.path.join(HERE, "navigator_play.yml"), lab_env, 300)


@pytest.mark.skipif(os.environ.get("ECO_NAVIGATOR_SITE") != "1", reason="site.yml takes ~1.5 min: ECO_NAVIGATOR_SITE=1")
def test_navigator_runs_site_yml_against_the_lab(lab_env):
    _navigator("site.yml", lab_env, 900)
