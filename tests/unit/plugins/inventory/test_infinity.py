# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Inventory plugin pexip.infinity.infinity: hosts, variables and groups from a fake Management Node, the EC2 join
against moto in-process, the cache, and the plugin as ansible-inventory loads it."""

import json
import os
import subprocess
import sys

import boto3
import pytest
from ansible.inventory.data import InventoryData
from ansible.parsing.dataloader import DataLoader
from moto import mock_aws

from ansible_collections.pexip.infinity.plugins.inventory import infinity
from ansible_collections.pexip.infinity.plugins.module_utils import api

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
LOC = "/api/admin/configuration/v1/system_location/%d/"

CONFIG = [
    {"id": 1, "name": "cn-lon-1", "hostname": "cn-lon-1", "domain": "example.com", "address": "10.0.1.10", "node_type": "CONFERENCING",
     "system_location": LOC % 1, "maintenance_mode": False, "maintenance_mode_reason": "", "static_nat_address": "198.51.100.1",
     "cloud_bursting": False,
     # Secrets a worker_vm carries: never kept by the plugin.
     "snmp_community": "secret-community", "snmp_authentication_password": "secret-snmp-auth",
     "snmp_privacy_password": "secret-snmp-priv", "password": "$6$secret-hash"},
    {"id": 2, "name": "cn-lon-2", "hostname": "cn-lon-2", "domain": "example.com", "address": "10.0.1.11", "node_type": "CONFERENCING",
     "system_location": LOC % 1, "maintenance_mode": True, "maintenance_mode_reason": "patching", "static_nat_address": None,
     "cloud_bursting": False},
    {"id": 3, "name": "cn-edge-1", "hostname": "cn-edge-1", "domain": "example.com", "address": "10.0.2.10", "node_type": "PROXYING",
     "system_location": LOC % 2, "maintenance_mode": False, "maintenance_mode_reason": "", "static_nat_address": None,
     "cloud_bursting": True},
]
LOCATIONS = [{"resource_uri": LOC % 1, "name": "London"}, {"resource_uri": LOC % 2, "name": "London Edge"}]
STATUS = [
    {"configuration_id": 1, "name": "cn-lon-1", "sync_status": "SYNCED", "deploy_status": "DEPLOYED", "last_updated": "2024-05-01T09:00:00",
     "boot_time": "2024-05-01T08:00:00", "version": "34.0.0"},
    {"configuration_id": 2, "name": "cn-lon-2", "sync_status": "SYNCING", "deploy_status": "DEPLOYED", "last_updated": "2024-05-01T09:00:00",
     "boot_time": "2024-05-01T08:00:00", "version": "34.0.0"},
    # cn-edge-1 never reported: no status record.
]


class FakeClient:
    calls = []

    def __init__(self, host, username, password, **kwargs):
        self.args = dict(host=host, username=username, password=password, **kwargs)
        FakeClient.calls.append(self.args)

    def list(self, resource, api="configuration", limit=None, **filters):
        self.args.setdefault("lists", []).append((api, resource, filters))
        if (api, resource) == ("configuration", "worker_vm"):
            return [c for c in CONFIG if all(c.get(k.split("__")[0], "").startswith(v) if k.endswith("__startswith") else c.get(k) == v
                                             for k, v in filters.items())]
        if (api, resource) == ("configuration", "system_location"):
            return LOCATIONS
        if (api, resource) == ("status", "worker_vm"):
            return STATUS
        raise AssertionError(resource)


DEFAULTS = {
    "plugin": "pexip.infinity.infinity", "host": "mgr.example.com", "username": "admin", "password": "pw",
    "validate_certs": True, "ca_path": None, "timeout": 30, "filters": {}, "group": "conferencing_nodes", "bursting_group": "bursting_nodes",
    "local_connection": True, "ec2_join": False, "ec2_tag": "pexip:node", "ec2_vpc_id": None, "aws_region": None,
    "aws_endpoint_url": None, "aws_profile": None, "cache": False, "strict": False, "compose": {}, "groups": {},
    "keyed_groups": [], "use_extra_vars": False, "leading_separator": True,
}


@pytest.fixture(autouse=True)
def fake_client(monkeypatch):
    FakeClient.calls = []
    # The plugin imports the API client when it runs (not when Ansible loads it): patch it where it lives.
    monkeypatch.setattr(api, "PexipClient", FakeClient)


def run(tmp_path, refresh=False, cache_store=None, **options):
    opts = dict(DEFAULTS, **options)
    plugin = infinity.InventoryModule()
    plugin.get_option = opts.get
    plugin._read_config_data = lambda path: None  # pylint: disable=protected-access
    if cache_store is not None:
        plugin._cache = cache_store  # pylint: disable=protected-access
    inventory = InventoryData()
    path = str(tmp_path / "x.pexip.yml")
    plugin.parse(inventory, DataLoader(), path, cache=not refresh)
    return inventory


def members(inventory, group):
    return sorted(h.name for h in inventory.groups[group].get_hosts()) if group in inventory.groups else []


def hostvars(inventory, host):
    return inventory.get_host(host).get_vars()


def test_verify_file(tmp_path):
    plugin = infinity.InventoryModule()
    for name, ok in (("lab.pexip.yml", True), ("lab.pexip.yaml", True), ("lab.yml", False), ("pexip.yml", False)):
        path = tmp_path / name
        path.write_text("plugin: pexip.infinity.infinity\n")
        assert plugin.verify_file(str(path)) is ok, name


def test_hosts_and_role_variables(tmp_path):
    inventory = run(tmp_path)
    assert members(inventory, "conferencing_nodes") == ["cn-lon-1", "cn-lon-2"]
    one = hostvars(inventory, "cn-lon-1")
    assert one["pexip_node_name"] == "cn-lon-1"
    assert (one["pexip_node_role"], one["pexip_node_location"], one["pexip_node_domain"]) == ("transcoding", "London", "example.com")
    assert one["pexip_node_address"] == "10.0.1.10" and one["pexip_node_static_nat_address"] == "198.51.100.1"
    assert one["pexip_node_sync_status"] == "SYNCED" and one["pexip_node_reporting"] is True and one["pexip_node_version"] == "34.0.0"
    assert one["ansible_connection"] == "local" and one["ansible_python_interpreter"] == "{{ ansible_playbook_python }}"
    edge = hostvars(inventory, "cn-edge-1")
    assert edge["pexip_node_role"] == "proxying" and edge["pexip_node_bursting"] is True
    assert edge["pexip_node_reporting"] is False and edge["pexip_node_status"] == {}
    assert "pexip_node_public_ip" not in one  # unknown without EC2: the roles' default applies


def test_groups(tmp_path):
    inventory = run(tmp_path)
    assert members(inventory, "location_london") == ["cn-lon-1", "cn-lon-2"]
    assert members(inventory, "location_london_edge") == ["cn-edge-1"]
    assert members(inventory, "role_transcoding") == ["cn-lon-1", "cn-lon-2"]
    assert members(inventory, "role_proxying") == ["cn-edge-1"]
    assert members(inventory, "maintenance_on") == ["cn-lon-2"]
    assert members(inventory, "maintenance_off") == ["cn-edge-1", "cn-lon-1"]
    assert members(inventory, "sync_synced") == ["cn-lon-1"]
    assert members(inventory, "sync_syncing") == ["cn-lon-2"]
    assert members(inventory, "sync_unknown") == ["cn-edge-1"]
    # As docs/bursting.md declares them: overflow nodes in bursting_nodes only, never in conferencing_nodes (the
    # target of maintenance, restart and NAT runs and of the AWX schedule), which would start and bill them.
    assert members(inventory, "bursting_nodes") == ["cn-edge-1"]
    assert "cloud_bursting" not in inventory.groups
    assert "ec2_missing" not in inventory.groups


def test_api_values_are_never_templates(tmp_path, monkeypatch):
    monkeypatch.setitem(CONFIG[0], "maintenance_mode_reason", "{{ lookup('pipe', 'id') }}")
    inventory = run(tmp_path)
    reason = hostvars(inventory, "cn-lon-1")["pexip_node_maintenance_mode_reason"]
    assert getattr(reason, "__UNSAFE__", False)


def test_options_reach_the_client_and_filters(tmp_path):
    inventory = run(tmp_path, host="https://mgr:8443", username="ops", password="x", validate_certs=False, ca_path="~/ca.pem",
                    filters={"name__startswith": "cn-lon"}, group="pexip", local_connection=False)
    args = FakeClient.calls[0]
    assert (args["host"], args["username"], args["password"], args["validate_certs"]) == ("https://mgr:8443", "ops", "x", False)
    assert args["ca_path"] == os.path.expanduser("~/ca.pem")
    assert ("configuration", "worker_vm", {"name__startswith": "cn-lon"}) in args["lists"]
    assert members(inventory, "pexip") == ["cn-lon-1", "cn-lon-2"]
    assert "ansible_connection" not in hostvars(inventory, "cn-lon-1")


def test_empty_ca_path_means_system_trust(tmp_path):
    run(tmp_path, ca_path="")
    assert FakeClient.calls[0]["ca_path"] is None


def test_constructed_options(tmp_path):
    inventory = run(tmp_path, keyed_groups=[{"key": "pexip_node_version", "prefix": "version"}],
                    groups={"needs_attention": "pexip_node_sync_status != 'SYNCED'"}, compose={"pexip_node_public_ip": "'elastic'"})
    assert members(inventory, "version_34.0.0") == ["cn-lon-1", "cn-lon-2"] or members(inventory, "version_34_0_0") == ["cn-lon-1", "cn-lon-2"]
    assert members(inventory, "needs_attention") == ["cn-edge-1", "cn-lon-2"]
    assert hostvars(inventory, "cn-lon-1")["pexip_node_public_ip"] == "elastic"


def test_cache(tmp_path):
    store = {}
    run(tmp_path, cache_store=store, cache=True)
    assert len(FakeClient.calls) == 1 and len(store) == 1
    assert "pw" not in json.dumps(list(store.values()))  # node data only, never the credentials
    inventory = run(tmp_path, cache_store=store, cache=True)
    assert len(FakeClient.calls) == 1  # served from the cache
    assert members(inventory, "conferencing_nodes") == ["cn-lon-1", "cn-lon-2"]
    run(tmp_path, cache_store=store, refresh=True, cache=True)  # --flush-cache / refresh
    assert len(FakeClient.calls) == 2
    run(tmp_path, cache_store=store, cache=True, host="other-mgr")  # another Management Node: own entry
    assert len(FakeClient.calls) == 3 and len(store) == 2


def test_cache_and_host_variables_hold_only_allowed_node_fields(tmp_path):
    store = {}
    inventory = run(tmp_path, cache_store=store, cache=True)
    cached = json.dumps(list(store.values()))
    host = json.dumps(hostvars(inventory, "cn-lon-1"), default=str)
    for secret in ("secret-community", "secret-snmp-auth", "secret-snmp-priv", "secret-hash", "snmp_"):
        assert secret not in cached and secret not in host
    assert set(list(store.values())[0]["nodes"][0]["config"]) <= set(infinity.CONFIG_FIELDS)


def test_cache_off_always_asks(tmp_path):
    store = {}
    run(tmp_path, cache_store=store)
    run(tmp_path, cache_store=store)
    assert len(FakeClient.calls) == 2 and not store


@mock_aws
def test_ec2_join(tmp_path, monkeypatch):
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(key, "testing")
    ec2 = boto3.client("ec2", region_name="eu-west-1")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]

    def launch(tag, state="running"):
        inst = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, InstanceType="c5.2xlarge", SubnetId=subnet,
                                 TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "pexip:node", "Value": tag}]}])
        instance_id = inst["Instances"][0]["InstanceId"]
        if state == "stopped":
            ec2.stop_instances(InstanceIds=[instance_id])
        return instance_id

    lon1 = launch("cn-lon-1")
    allocation = ec2.allocate_address(Domain="vpc")
    ec2.associate_address(AllocationId=allocation["AllocationId"], InstanceId=lon1)
    lon2 = launch("cn-lon-2", state="stopped")
    launch("cn-edge-1")
    launch("cn-edge-1")  # two instances claim the node: no join
    inventory = run(tmp_path, ec2_join=True, aws_region="eu-west-1")
    one, two = hostvars(inventory, "cn-lon-1"), hostvars(inventory, "cn-lon-2")
    assert one["pexip_instance_id"] == lon1 and one["pexip_instance_state"] == "running"
    assert one["pexip_node_public_ip"] == "elastic" and one["pexip_instance_public_ip"] == allocation["PublicIp"]
    assert one["pexip_node_subnet_id"] == subnet and one["pexip_node_instance_type"] == "c5.2xlarge"
    assert two["pexip_instance_id"] == lon2 and two["pexip_instance_state"] == "stopped"
    assert "pexip_node_public_ip" not in two  # stopped, no Elastic IP: cannot be told
    assert "pexip_instance_id" not in hostvars(inventory, "cn-edge-1")
    assert members(inventory, "ec2_running") == ["cn-lon-1"]
    assert members(inventory, "ec2_stopped") == ["cn-lon-2"]
    assert members(inventory, "ec2_missing") == ["cn-edge-1"]


def test_public_ip_mode():
    assert infinity.public_ip_mode({"elastic_ip": "1.2.3.4", "public_ip": "1.2.3.4", "state": "running"}) == "elastic"
    assert infinity.public_ip_mode({"public_ip": "1.2.3.4", "state": "running"}) == "auto"
    assert infinity.public_ip_mode({"state": "running"}) == "none"
    assert infinity.public_ip_mode({"state": "stopped"}) is None


def test_group_slug():
    assert infinity.group_slug("London Edge") == "london_edge"
    assert infinity.group_slug("Zürich-1 (DC)") == "z_rich_1_dc"
    assert infinity.group_slug(None) == "none"


def test_ansible_inventory_loads_the_plugin_and_reads_pexip_env(tmp_path):
    """The real loader: options from PEXIP_* and a Management Node that does not answer -> a message that says so."""
    source = tmp_path / "down.pexip.yml"
    source.write_text("plugin: pexip.infinity.infinity\n")
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, ".venv", "collections"),
               PEXIP_HOST="127.0.0.1:9", PEXIP_PASSWORD="pw", PEXIP_USERNAME="admin", ANSIBLE_INVENTORY_UNPARSED_FAILED="1")
    env.pop("PEXIP_CA_PATH", None)
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-inventory"), "-i", str(source), "--list"],
                          env=env, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode != 0
    assert "cannot reach the Management Node at https://127.0.0.1:9" in proc.stderr, proc.stderr


def test_ansible_doc_renders_the_plugin():
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, ".venv", "collections"))
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-doc"), "-t", "inventory", "--json", "pexip.infinity.infinity"],
                          env=env, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)["pexip.infinity.infinity"]["doc"]
    assert {"host", "username", "password", "validate_certs", "ca_path", "cache", "compose", "ec2_join"} <= set(doc["options"])
    assert doc["options"]["password"]["env"] == [{"name": "PEXIP_PASSWORD"}]


LOADED_LIBRARIES = """
import atexit, sys
atexit.register(lambda: sys.stderr.write("LOADED %s\\n" % sorted(m for m in ("requests", "boto3", "botocore") if m in sys.modules)))
from ansible.cli.inventory import main
main(["ansible-inventory", "-i", sys.argv[1], "--list"])
"""


def test_a_run_that_does_not_use_the_plugin_imports_neither_requests_nor_boto3(tmp_path):
    """Ansible loads every inventory plugin ansible.cfg enables at the start of every run: loading ours (and the
    project's ansible.cfg) must not cost the import of requests and boto3 (about 0.2 CPU-s a run)."""
    source = tmp_path / "hosts.yml"
    source.write_text("all:\n  hosts:\n    cn-1:\n")
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, ".venv", "collections"))
    proc = subprocess.run([sys.executable, "-c", LOADED_LIBRARIES, str(source)], env=env, capture_output=True, text=True, timeout=120,
                          check=False)
    assert proc.returncode == 0 and "cn-1" in proc.stdout, proc.stderr
    assert "LOADED []" in proc.stderr, proc.stderr
