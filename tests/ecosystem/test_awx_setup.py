# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""playbooks/awx_setup.yml: awx.awx is available, the playbook parses, and its templates point at real playbooks.
(`make lint` runs ansible-lint --profile production over it with the rest of the tree.)"""

import os
import subprocess
import sys

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
PLAYBOOK = os.path.join(REPO, "playbooks", "awx_setup.yml")
BIN = os.path.dirname(sys.executable)


def test_awx_collection_ships_with_ansible():
    result = subprocess.run([os.path.join(BIN, "ansible-galaxy"), "collection", "list", "awx.awx"],
                            capture_output=True, text=True, cwd=REPO, timeout=120, check=False)
    assert result.returncode == 0 and "awx.awx" in result.stdout, result.stdout + result.stderr


def test_syntax_check():
    result = subprocess.run([os.path.join(BIN, "ansible-playbook"), "--syntax-check", PLAYBOOK],
                            capture_output=True, text=True, cwd=REPO, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_job_templates_cover_the_operations_and_exist():
    with open(PLAYBOOK, encoding="utf-8") as handle:
        play = yaml.safe_load(handle)[0]
    tasks = play["tasks"]
    templates = {"deploy": next(t for t in tasks if t.get("awx.awx.job_template", {}).get("playbook")
                                == "playbooks/deploy.yml")["awx.awx.job_template"]["playbook"]}
    templates.update({op["name"]: op["playbook"] for op in play["vars"]["awx_setup_operations"]})
    assert set(templates) == {"deploy", "maintenance stop", "restart", "NAT update", "terminate", "replace node",
                              "rolling maintenance"}
    for playbook in templates.values():
        assert os.path.isfile(os.path.join(REPO, playbook)), playbook
    schedule = next(t["awx.awx.schedule"] for t in tasks if "awx.awx.schedule" in t)
    assert schedule["unified_job_template"].endswith("rolling maintenance")
    source = next(t["awx.awx.inventory_source"] for t in tasks
                  if t.get("awx.awx.inventory_source", {}).get("source_path", "").endswith(".pexip.yml"))
    with open(os.path.join(REPO, source["source_path"]), encoding="utf-8") as handle:
        assert yaml.safe_load(handle)["plugin"] == "pexip.infinity.infinity"
    for task in tasks:
        if "awx.awx.credential" in task:
            assert task.get("no_log") is True, task["name"]
