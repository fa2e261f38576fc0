# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection as AWX / Automation Controller runs it, against the lab.

Each job is run by ansible-runner in its own private data dir, as AWX's task runner does: the project's
playbooks (extensions/awx/project) copied in, credentials only as the environment variables their credential
types inject (extensions/awx/credential_type_*.yml, rendered the way AWX renders injectors; AWS as AWX's
built-in credential), survey answers and job template variables as extra vars, the inventory as the script
AWX generates from its database: for deploy the declared platform, for rolling maintenance the hosts the
inventory plugin pexip.infinity.infinity imported in an inventory update. Platform settings (region, VPC,
key, locations...) are inventory variables, never the lab's generated inventory file.

The tests run in file order and share one deployment (module-scoped).
"""

import json
import os
import subprocess
import sys
import time
import uuid

import pytest
import yaml
from ansible.parsing.ajson import AnsibleJSONDecoder

# The tests of this file share module-scoped fixtures: pytest-xdist keeps them on one worker.
pytestmark = pytest.mark.xdist_group("test_awx")

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "utils"))

import awx  # noqa: E402  pylint: disable=wrong-import-position
import labenv  # noqa: E402  pylint: disable=wrong-import-position
from e2e import Api, platform_vars  # noqa: E402  pylint: disable=wrong-import-position

SUFFIX = uuid.uuid4().hex[:6]
PREFIX = "awx-%s" % SUFFIX
LOCATION_A = "AWX A %s" % SUFFIX
LOCATION_B = "AWX B %s" % SUFFIX
GROUP_A = "location_awx_a_%s" % SUFFIX
GROUP_B = "location_awx_b_%s" % SUFFIX
SSH_PASSWORD = "awx-ssh-" + uuid.uuid4().hex
NODE_A = PREFIX + "-a"   # transcoding, auto-assigned public IP
NODE_B = PREFIX + "-b"   # proxying, Elastic IP


def declared_hosts(env):
    common = {"pexip_node_domain": "awx.example.com", "pexip_node_bursting": False}
    return {
        NODE_A: dict(common, pexip_node_name=NODE_A, pexip_node_hostname=NODE_A, pexip_node_role="transcoding",
                     pexip_node_location=LOCATION_A, pexip_node_instance_type="c5.2xlarge",
                     pexip_node_subnet_id=env["LAB_SUBNET_A"], pexip_node_public_ip="auto"),
        NODE_B: dict(common, pexip_node_name=NODE_B, pexip_node_hostname=NODE_B, pexip_node_role="proxying",
                     pexip_node_location=LOCATION_B, pexip_node_instance_type="c5.xlarge",
                     pexip_node_subnet_id=env["LAB_SUBNET_B"], pexip_node_public_ip="elastic"),
    }


def inventory_vars(env):
    """The AWX inventory's variables: the platform, no secret, no Management Node settings (the credential has them)."""
    return platform_vars(
        env, PREFIX + "-sg", pexip_node_sync_poll=2,
        # Only because the lab's EC2 is moto; on AWS this variable is not set.
        pexip_aws_endpoint_url=env["AWS_URL"],
        pexip_locations=[
            {"name": LOCATION_A, "description": "AWX transcoding", "dns_servers": ["127.0.0.53"], "ntp_servers": ["127.0.0.123"]},
            {"name": LOCATION_B, "description": "AWX edge", "dns_servers": ["127.0.0.53"], "ntp_servers": ["127.0.0.123"],
             "transcoding_location": LOCATION_A},
        ])


def credentials_env(env, private_data_dir, ssh=True):
    """What the job's credentials inject: Pexip API (+ node SSH for deploy) + AWX's AWS credential."""
    with open(env["PEXIP_CA_PATH"], encoding="utf-8") as handle:
        ca_pem = handle.read()
    api, _safe = awx.inject_credential(awx.load_credential_type("credential_type_pexip.yml"), {
        "host": env["PEXIP_HOST"], "username": env["PEXIP_USERNAME"], "password": env["PEXIP_PASSWORD"], "ca_cert": ca_pem,
    }, private_data_dir)
    injected = dict(api, **awx.aws_credential_env(env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]))
    if ssh:
        node, _safe = awx.inject_credential(awx.load_credential_type("credential_type_pexip_node_ssh.yml"),
                                            {"node_ssh_password": SSH_PASSWORD}, private_data_dir)
        injected.update(node)
    return injected


def inventory_source_env(env, private_data_dir):
    """What the nodes inventory source's ONE credential injects (AWX allows one per source): the combined type."""
    with open(env["PEXIP_CA_PATH"], encoding="utf-8") as handle:
        ca_pem = handle.read()
    injected, _safe = awx.inject_credential(awx.load_credential_type("credential_type_pexip_inventory.yml"), {
        "host": env["PEXIP_HOST"], "username": env["PEXIP_USERNAME"], "password": env["PEXIP_PASSWORD"], "ca_cert": ca_pem,
        "aws_access_key": env["AWS_ACCESS_KEY_ID"], "aws_secret_key": env["AWS_SECRET_ACCESS_KEY"],
    }, private_data_dir)
    return injected


def stats(events):
    """The playbook_on_stats event of a job: {changed: {host: n}, failures: ..., ok: ...}."""
    for raw in events:
        event = json.loads(raw)
        if event.get("event") == "playbook_on_stats":
            return event["event_data"]
    raise AssertionError("no playbook_on_stats event")


def assert_no_secret(env, events, artifacts):
    texts = list(events)
    with open(os.path.join(artifacts, "stdout"), encoding="utf-8") as handle:
        texts.append(handle.read())
    for secret in (env["PEXIP_PASSWORD"], SSH_PASSWORD):
        leaks = [t[:300] for t in texts if secret in t]
        assert not leaks, leaks


def job_output(proc, artifacts):
    path = os.path.join(artifacts, "stdout")
    text = open(path, encoding="utf-8").read() if os.path.exists(path) else ""
    return text[-8000:] + proc.stdout[-2000:] + proc.stderr[-2000:]


def deploy_job(lab, tmp_path_factory, name):
    pdd = str(tmp_path_factory.mktemp(name))
    awx.prepare_project(pdd)
    hosts = declared_hosts(lab)
    awx.write_inventory_script(pdd, awx.static_listing({"conferencing_nodes": hosts}), inventory_vars(lab))
    extravars = {"awx_job_id": 101, "awx_job_template_name": "Pexip Infinity - deploy"}
    return awx.run_job(pdd, "deploy.yml", credentials_env(lab, pdd), extravars, name)


@pytest.fixture(scope="module")
def lab(lab_env):
    return lab_env


@pytest.fixture(scope="module")
def deployed(lab, tmp_path_factory):
    proc, events, artifacts = deploy_job(lab, tmp_path_factory, "deploy-1")
    return proc, events, artifacts


def test_credential_env_is_all_the_job_gets(lab, tmp_path):
    """Sanity of the harness: the runner's process environment carries no PEXIP_* / lab variable of its own."""
    base = awx.base_env()
    assert not [k for k in base if k.startswith(("PEXIP_", "AWS_", "LAB_"))]
    injected = credentials_env(lab, str(tmp_path))
    assert injected["PEXIP_VALIDATE_CERTS"] == "true"
    with open(injected["PEXIP_CA_PATH"], encoding="utf-8") as handle, open(lab["PEXIP_CA_PATH"], encoding="utf-8") as lab_ca:
        assert handle.read() == lab_ca.read()
    assert oct(os.stat(injected["PEXIP_CA_PATH"]).st_mode & 0o777) == "0o600"


def test_deploy_job_succeeds_without_leaking_secrets(lab, deployed):
    proc, events, artifacts = deployed
    assert proc.returncode == 0, job_output(proc, artifacts)
    with open(os.path.join(artifacts, "status"), encoding="utf-8") as handle:
        assert handle.read().strip() == "successful"
    result = stats(events)
    assert not result.get("failures") and not result.get("dark"), result
    assert set(result["changed"]) == {NODE_A, NODE_B}
    api = Api(lab)
    for node in (NODE_A, NODE_B):
        # The static NAT address, set last, makes the node sync once more (the lab's sync delay: seconds).
        deadline = time.time() + 30
        while (api.status(node) or {}).get("sync_status") != "SYNCED" and time.time() < deadline:
            time.sleep(0.5)
        status = api.status(node)
        assert status and status["deploy_status"] == "DEPLOYED" and status["sync_status"] == "SYNCED", status
    assert_no_secret(lab, events, artifacts)


def graph_groups(text):
    """``ansible-inventory --graph`` -> {group: set(hosts and child groups)}; nesting is the name's column."""
    groups, stack = {}, []
    for line in text.splitlines():
        name = line.lstrip(" |-")
        if not name:
            continue
        column = len(line) - len(name)
        while stack and stack[-1][0] >= column:
            stack.pop()
        is_group = name.startswith("@")
        name = name[1:].rstrip(":") if is_group else name
        if stack:
            groups[stack[-1][1]].add(name)
        if is_group:
            groups.setdefault(name, set())
            stack.append((column, name))
    return groups


def plugin_config(lab, path):
    config = {"plugin": "pexip.infinity.infinity", "filters": {"name__startswith": PREFIX}, "ec2_join": True,
              "aws_region": lab["AWS_REGION"], "aws_endpoint_url": lab["AWS_URL"]}
    with open(path, "w", encoding="utf-8") as out:
        yaml.safe_dump(config, out)
    return path


def test_inventory_graph_groups_the_nodes_as_documented(lab, deployed, tmp_path):
    assert deployed[0].returncode == 0
    source = plugin_config(lab, str(tmp_path / "lab.pexip.yml"))
    env = dict(awx.base_env(), ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"),
               **{k: lab[k] for k in ("PEXIP_HOST", "PEXIP_USERNAME", "PEXIP_PASSWORD", "PEXIP_CA_PATH",
                                      "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")})
    cmd = [os.path.join(awx.BIN, "ansible-inventory"), "-i", source, "--graph"]
    proc = subprocess.run(cmd, cwd=str(tmp_path), env=env, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    groups = graph_groups(proc.stdout)
    assert groups["conferencing_nodes"] == {NODE_A, NODE_B}, proc.stdout
    assert groups[GROUP_A] == {NODE_A} and groups[GROUP_B] == {NODE_B}
    assert NODE_A in groups["role_transcoding"] and NODE_A not in groups.get("role_proxying", set())
    assert NODE_B in groups["role_proxying"] and NODE_B not in groups.get("role_transcoding", set())
    assert groups["maintenance_off"] == {NODE_A, NODE_B} and not groups.get("maintenance_on")
    assert groups["sync_synced"] == {NODE_A, NODE_B}
    assert groups["ec2_running"] == {NODE_A, NODE_B}
    proc = subprocess.run([os.path.join(awx.BIN, "ansible-inventory"), "-i", source, "--list"], cwd=str(tmp_path), env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    # Values read from the API are unsafe: ansible-inventory marks them, and Ansible (and AWX's import) decode them.
    hostvars = json.loads(proc.stdout, cls=AnsibleJSONDecoder)["_meta"]["hostvars"]
    instance = labenv.instance_summary(lab, name=NODE_B)
    assert hostvars[NODE_B]["pexip_instance_id"] == instance["id"]
    assert hostvars[NODE_B]["pexip_node_public_ip"] == "elastic"
    assert hostvars[NODE_A]["pexip_node_public_ip"] == "auto"
    assert (hostvars[NODE_A]["pexip_node_role"], hostvars[NODE_A]["pexip_node_location"]) == ("transcoding", LOCATION_A)
    assert hostvars[NODE_A]["pexip_node_address"] == labenv.instance_summary(lab, name=NODE_A)["private_ip"]


def test_rolling_maintenance_job_from_the_inventory_plugin(lab, deployed, tmp_path_factory):
    assert deployed[0].returncode == 0
    pdd = str(tmp_path_factory.mktemp("rolling"))
    awx.prepare_project(pdd)
    # The inventory update: the source file in the project, the source's variables as its environment (AWX does
    # that for project sources), the credentials attached to the source.
    source = plugin_config(lab, os.path.join(pdd, "project", "awx-test.pexip.yml"))
    update_env = inventory_source_env(lab, pdd)
    listing = awx.inventory_update(source, update_env, os.path.join(pdd, "project"))
    assert set(listing["conferencing_nodes"]["hosts"]) == {NODE_A, NODE_B}
    # The EC2 join ran with the source's one credential.
    assert all("pexip_instance_id" in listing["_meta"]["hostvars"][n] for n in (NODE_A, NODE_B)), listing["_meta"]
    platform = inventory_vars(lab)
    awx.write_inventory_script(pdd, listing, {k: platform[k] for k in ("pexip_region", "pexip_aws_endpoint_url", "pexip_vpc_id")})

    api = Api(lab)
    before = {n: api.status(n)["boot_time"] for n in (NODE_A, NODE_B)}
    public_a = labenv.instance_summary(lab, name=NODE_A)["public_ip"]
    survey = {"rolling_maintenance_serial": 1, "nodes": "%s:%s" % (GROUP_A, GROUP_B), "maintenance_idle_timeout": 60}
    template_vars = {"maintenance_poll_interval": 1, "reinstate_poll_interval": 1, "awx_job_id": 102}
    started = time.time()
    proc, events, artifacts = awx.run_job(pdd, "rolling_maintenance.yml", credentials_env(lab, pdd, ssh=False),
                                          dict(template_vars, **survey), "rolling-1")
    assert proc.returncode == 0, job_output(proc, artifacts)
    result = stats(events)
    assert set(result["changed"]) == {NODE_A, NODE_B} and not result.get("failures"), result
    for node in (NODE_A, NODE_B):
        config, status = api.node(node), api.status(node)
        assert not config["maintenance_mode"]
        assert status["boot_time"] != before[node], (node, status)
        instance = labenv.instance_summary(lab, name=node)
        assert instance["state"] == "running"
        assert config["static_nat_address"] == instance["public_ip"]
    assert labenv.instance_summary(lab, name=NODE_A)["public_ip"] != public_a
    # Batches of one: node A (first in the inventory) was back before node B went down.
    done = [(e["event_data"]["host"], e["event_data"].get("task", "")) for e in map(json.loads, events)
            if e.get("event") == "runner_on_ok"]
    stopped_b = done.index((NODE_B, "2. Stop the Conferencing Node instance on AWS"))
    # Out of maintenance mode with its static NAT address in one write (role nat_update), or alone (reinstate).
    back_a = min(i for i, (host, task) in enumerate(done) if host == NODE_A and task in (
        "Configure the Conferencing Node's static NAT address as the instance's public IP address",
        "2. Take the Conferencing Node out of maintenance mode (when the static NAT task above did not)"))
    assert back_a < stopped_b, done
    assert time.time() - started < 600
    assert_no_secret(lab, events, artifacts)


def test_deploy_job_after_maintenance_changes_nothing(lab, deployed, tmp_path_factory):
    """The deploy job's second run (after the rolling maintenance job, which leaves every node as it found it):
    nothing changes, and no secret shows in its events or artifacts."""
    assert deployed[0].returncode == 0
    proc, events, artifacts = deploy_job(lab, tmp_path_factory, "deploy-2")
    assert proc.returncode == 0, job_output(proc, artifacts)
    result = stats(events)
    assert set(result["ok"]) == {NODE_A, NODE_B}
    assert not any(result.get("changed", {}).values()), result
    assert_no_secret(lab, events, artifacts)
