# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""playbooks/awx_setup.yml as users will click it: every operation has a job template on a playbook that exists, the
nodes inventory source points at a file that exists and gets AWS credentials for its EC2 join, the rolling maintenance
schedule is created disabled and never reaches bursting nodes; rolling_maintenance.yml refuses bursting nodes unasked."""

import glob
import os
import subprocess
import sys

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "utils"))

import awx  # noqa: E402  pylint: disable=wrong-import-position

BIN = os.path.dirname(sys.executable)


@pytest.fixture(scope="module")
def play():
    with open(os.path.join(ROOT, "playbooks", "awx_setup.yml"), encoding="utf-8") as handle:
        return yaml.safe_load(handle)[0]


def tasks(play, module):
    return [task for task in play["tasks"] if module in task]


def test_a_job_template_for_every_playbook(play):
    templates = tasks(play, "awx.awx.job_template")
    playbooks = set()
    for task in templates:
        playbook = task["awx.awx.job_template"]["playbook"]
        if "item." in playbook:
            playbooks.update(item["playbook"] for item in play["vars"][task["loop"].strip("{} ")])
        else:
            playbooks.add(playbook)
    for playbook in playbooks:
        assert os.path.isfile(os.path.join(ROOT, playbook)), playbook
    wanted = {os.path.relpath(p, ROOT) for p in glob.glob(os.path.join(ROOT, "playbooks", "*.yml"))}
    # awx_setup.yml configures AWX itself; site.yml is the templates' playbooks in a row.
    assert playbooks == wanted - {"playbooks/awx_setup.yml", "playbooks/site.yml"}


def test_templates_name_existing_credentials_and_inventories(play):
    task = tasks(play, "awx.awx.job_template")[-1]
    assert "item.credentials" in task["awx.awx.job_template"]["credentials"]
    for item in play["vars"]["awx_setup_templates"]:
        assert item["inventory"] in ("platform", "nodes") and set(item["credentials"]) <= {"api", "ssh", "aws"}
        assert set(task["vars"]["_credentials"]) == {"api", "ssh", "aws"}
        for question in item.get("survey", []):
            assert question["type"] in ("text", "password", "multiplechoice", "integer")


def test_inventory_sources_point_at_files_that_exist(play):
    sources = [t["awx.awx.inventory_source"] for t in tasks(play, "awx.awx.inventory_source")]
    paths = [s["source_path"] for s in sources]
    nodes = [p for p in paths if "{{" not in p]
    assert nodes == ["extensions/awx/project/infinity.pexip.yml"] and os.path.isfile(os.path.join(ROOT, nodes[0]))
    # The declared platform is the user's file: a variable the first task requires (no inventory.yml is shipped).
    assert [p for p in paths if "{{" in p] == ["{{ awx_setup_platform_inventory }}"]
    assert "awx_setup_platform_inventory | default('') | length > 0" in tasks(play, "ansible.builtin.assert")[0]["ansible.builtin.assert"]["that"]


def test_nodes_source_gets_aws_credentials_for_the_ec2_join(play):
    with open(os.path.join(ROOT, "extensions", "awx", "project", "infinity.pexip.yml"), encoding="utf-8") as handle:
        assert yaml.safe_load(handle)["ec2_join"] is True
    source = [t for t in tasks(play, "awx.awx.inventory_source") if "{{" not in t["awx.awx.inventory_source"]["source_path"]][0]
    # One credential per source: the combined type by default, the API credential with an instance role.
    assert source["awx.awx.inventory_source"]["credential"] == (
        "{{ awx_setup_inventory_credential if awx_setup_inventory_aws == 'credential' else awx_setup_api_credential }}")
    assert play["vars"]["awx_setup_inventory_aws"] == "credential"
    combined = awx.load_credential_type("credential_type_pexip_inventory.yml")
    assert play["vars"]["awx_setup_credential_types"][2].endswith("credential_type_pexip_inventory.yml') | from_yaml }}")
    credential = [t for t in tasks(play, "awx.awx.credential") if "awx_setup_credential_types[2]" in t["awx.awx.credential"]["credential_type"]]
    assert credential and set(credential[0]["awx.awx.credential"]["inputs"]) == {f["id"] for f in combined["inputs"]["fields"]} - {
        "skip_tls_verify", "timeout"}


def test_combined_credential_type_is_the_api_type_plus_aws(tmp_path):
    api = awx.load_credential_type("credential_type_pexip.yml")
    combined = awx.load_credential_type("credential_type_pexip_inventory.yml")
    assert combined["kind"] == "cloud" and combined["name"] != api["name"]
    assert combined["inputs"]["fields"][:len(api["inputs"]["fields"])] == api["inputs"]["fields"]
    assert combined["injectors"]["file"] == api["injectors"]["file"]
    assert combined["injectors"]["env"] == dict(api["injectors"]["env"], AWS_ACCESS_KEY_ID="{{ aws_access_key }}",
                                                AWS_SECRET_ACCESS_KEY="{{ aws_secret_key }}")
    env, safe = awx.inject_credential(combined, {"host": "mgr", "username": "admin", "password": "p", "aws_access_key": "AKIAEXAMPLE",
                                                 "aws_secret_key": "s3cret"}, str(tmp_path))
    assert env["PEXIP_HOST"] == "mgr" and env["AWS_ACCESS_KEY_ID"] == "AKIAEXAMPLE" and env["AWS_SECRET_ACCESS_KEY"] == "s3cret"
    assert safe["AWS_SECRET_ACCESS_KEY"] == "**********" and all(awx.env_var_allowed(name) for name in env)


def test_rolling_maintenance_schedule_is_disabled_and_spares_bursting_nodes(play):
    schedule = tasks(play, "awx.awx.schedule")[0]["awx.awx.schedule"]
    assert schedule["enabled"] == "{{ awx_setup_rolling_maintenance_schedule_enabled | bool }}"
    assert play["vars"]["awx_setup_rolling_maintenance_schedule_enabled"] is False
    # conferencing_nodes: the always-on nodes, in a declared inventory and in pexip.infinity.infinity's alike.
    assert schedule["extra_data"] == {"nodes": "conferencing_nodes"}


def test_certificate_check_schedule_is_disabled_and_on_the_certificates_template(play):
    """Issue #26 §3: the certificate check (certificates.yml) runs on a schedule, created disabled like the others."""
    templates = {"%s - %s" % (play["vars"]["awx_setup_prefix"], item["name"]): item["playbook"] for item in play["vars"]["awx_setup_templates"]}
    schedules = [task["awx.awx.schedule"] for task in tasks(play, "awx.awx.schedule")]
    rendered = [dict(s, unified_job_template=s["unified_job_template"].replace("{{ awx_setup_prefix }}", play["vars"]["awx_setup_prefix"]))
                for s in schedules]
    certificates = [s for s in rendered if templates.get(s["unified_job_template"]) == "playbooks/certificates.yml"]
    assert len(certificates) == 1, rendered
    assert certificates[0]["enabled"] == "{{ awx_setup_certificates_schedule_enabled | bool }}"
    assert play["vars"]["awx_setup_certificates_schedule_enabled"] is False
    # Every schedule this playbook creates is disabled unless its variable says otherwise.
    for schedule in schedules:
        variable = schedule["enabled"].strip("{} ").split("|")[0].strip()
        assert play["vars"][variable] is False, schedule["name"]


INVENTORY = """
all:
  hosts:
    localhost: {ansible_connection: local}
  children:
    conferencing_nodes:
      hosts: {cn-lon-1: {}, cn-lon-2: {}}
    bursting_nodes:
      hosts: {cn-burst-1: {}}
"""


@pytest.mark.parametrize("nodes, extra, refused", [
    ("conferencing_nodes", [], False),
    ("cn-lon-1,cn-burst-1", [], True),
    ("location_x:cn-burst-1", [], True),
    ("cn-burst-1", ["-e", "rolling_maintenance_bursting=true"], False),
])
def test_rolling_maintenance_refuses_bursting_nodes_unless_asked(tmp_path, nodes, extra, refused):
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(INVENTORY)
    # --limit localhost: only the checks of the first play run; the maintenance play matches no host.
    proc = subprocess.run([os.path.join(BIN, "ansible-playbook"), "-i", str(inventory), "--limit", "localhost",
                           os.path.join(ROOT, "playbooks", "rolling_maintenance.yml"), "-e", "nodes=" + nodes] + extra,
                          cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert (proc.returncode != 0) == refused, proc.stdout + proc.stderr
    assert ("cn-burst-1 is a bursting node" in proc.stdout) == refused, proc.stdout
