# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Inventory plugin: the Conferencing Nodes a Pexip Infinity Management Node knows, with their status."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: infinity
short_description: Pexip Infinity Conferencing Nodes from the Management Node
version_added: 0.1.0
author:
  - pexip.infinity contributors (@pexip)
description:
  - Reads the Conferencing Nodes (C(configuration/v1/worker_vm)), their locations and their status
    (C(status/v1/worker_vm)) from the Management API of a Pexip Infinity Management Node and makes one
    inventory host per node, named after the node.
  - Host variables are the ones the collection's roles and playbooks read (C(pexip_node_name),
    C(pexip_node_role), C(pexip_node_location), ...), so the inventory feeds
    C(playbooks/rolling_maintenance.yml), C(restart.yml), C(maintenance_stop.yml) and C(nat_update.yml) directly.
  - "Groups, as in a declared inventory (docs/bursting.md): an always-on node is in O(group) (default
    C(conferencing_nodes), the group the playbooks target), a bursting (overflow) node in O(bursting_group) (default
    C(bursting_nodes)) and not in O(group), so that maintenance, restart or NAT runs on C(conferencing_nodes) never
    start (and bill) an overflow node; C(location_<location>) (location name lower-cased, every run of characters other than a-z and 0-9 replaced
    by C(_), for example C(location_london_edge)); C(role_transcoding) or C(role_proxying);
    C(maintenance_on) or C(maintenance_off); C(sync_<status>) from the node's C(sync_status) (C(sync_synced),
    C(sync_syncing), C(sync_unknown) when the node never reported);
    with O(ec2_join), C(ec2_<state>) (C(ec2_running), C(ec2_stopped), ...) or C(ec2_missing)."
  - Optionally joins each node with its EC2 instance, found by the tag O(ec2_tag) (the deploy role tags
    instances C(pexip:node=<node name>)), using boto3 and the usual AWS credential chain (environment,
    profile, instance role).
  - The inventory configuration file name must end with C(.pexip.yml) or C(.pexip.yaml).
  - The Management Node connection options fall back to the same E(PEXIP_*) environment variables as the
    modules, which is how an AWX credential of the collection's credential type reaches the inventory source.
extends_documentation_fragment:
  - ansible.builtin.constructed
  - ansible.builtin.inventory_cache
requirements:
  - boto3 (only with O(ec2_join))
options:
  plugin:
    description: Marks the file as a configuration of this plugin.
    type: str
    required: true
    choices: [pexip.infinity.infinity]
  host:
    description:
      - Address of the Management Node, as C(name), C(name:port) or C(https://name[:port]).
    type: str
    required: true
    env:
      - name: PEXIP_HOST
  username:
    description: Web administration username on the Management Node.
    type: str
    default: admin
    env:
      - name: PEXIP_USERNAME
  password:
    description:
      - Password of O(username). Prefer the environment variable (an AWX credential injects it) to the file.
    type: str
    required: true
    env:
      - name: PEXIP_PASSWORD
  validate_certs:
    description:
      - Verify the Management Node's TLS certificate. Prefer O(ca_path) to turning this off.
    type: bool
    default: true
    env:
      - name: PEXIP_VALIDATE_CERTS
  ca_path:
    description:
      - PEM file of the CA that signed the Management Node's certificate.
      - An empty value (as an AWX credential without a CA injects) means the system's trust store.
    type: str
    env:
      - name: PEXIP_CA_PATH
  timeout:
    description: Seconds to wait for each HTTP response.
    type: int
    default: 30
    env:
      - name: PEXIP_TIMEOUT
  filters:
    description:
      - "Tastypie filters for C(configuration/v1/worker_vm), for example C({name__startswith: cn-}) or
        C({system_location: 3}); only matching nodes become hosts."
    type: dict
    default: {}
  group:
    description: Group that holds every node; the collection's playbooks target C(conferencing_nodes).
    type: str
    default: conferencing_nodes
  bursting_group:
    description:
      - Group that holds the bursting (overflow) nodes, which the Management Node starts and stops; they are not in O(group).
    type: str
    default: bursting_nodes
    version_added: 0.2.0
  local_connection:
    description:
      - "Set C(ansible_connection=local) and C(ansible_python_interpreter={{ ansible_playbook_python }}) on every
        host: the collection's roles run on the controller and reach nodes through AWS and the Management API."
    type: bool
    default: true
  ec2_join:
    description: Look up each node's EC2 instance by the tag O(ec2_tag) and add its id, state and type.
    type: bool
    default: false
  ec2_tag:
    description: Tag key whose value is the node name.
    type: str
    default: "pexip:node"
  ec2_vpc_id:
    description: Only consider instances in this VPC.
    type: str
  aws_region:
    description: AWS region of the instances (needed with O(ec2_join)).
    type: str
    env:
      - name: AWS_REGION
      - name: AWS_DEFAULT_REGION
  aws_endpoint_url:
    description: An AWS-compatible EC2 endpoint instead of AWS's own (for example a test lab).
    type: str
    env:
      - name: AWS_URL
      - name: AWS_ENDPOINT_URL
  aws_profile:
    description: Named AWS profile; by default boto3's credential chain (environment, instance role) is used.
    type: str
    env:
      - name: AWS_PROFILE
notes:
  - "Host variables: C(pexip_node_name), C(pexip_node_hostname), C(pexip_node_domain), C(pexip_node_role)
    (C(transcoding) or C(proxying)), C(pexip_node_location), C(pexip_node_address), C(pexip_node_static_nat_address),
    C(pexip_node_maintenance_mode), C(pexip_node_maintenance_mode_reason), C(pexip_node_bursting), C(pexip_node_id);
    from the status C(pexip_node_sync_status), C(pexip_node_deploy_status), C(pexip_node_last_updated),
    C(pexip_node_boot_time), C(pexip_node_version), C(pexip_node_reporting) and C(pexip_node_status) (the whole
    status record, empty when the node never reported)."
  - "With O(ec2_join), when exactly one instance carries the node's tag: C(pexip_instance_id), C(pexip_instance_state),
    C(pexip_instance_type), C(pexip_instance_private_ip), C(pexip_instance_public_ip), C(pexip_instance_vpc_id),
    C(pexip_node_instance_type), C(pexip_node_subnet_id) and C(pexip_node_public_ip) (C(elastic) with an Elastic IP,
    C(auto) with another public address, C(none) for a running instance without one; not set for a stopped instance
    without an Elastic IP, whose mode cannot be told)."
  - The cache holds node data only, never the credentials; its key includes the Management Node address.
"""

EXAMPLES = r"""
# lab.pexip.yml holds one line; the credentials come from PEXIP_HOST, PEXIP_USERNAME, PEXIP_PASSWORD, PEXIP_CA_PATH:
#   plugin: pexip.infinity.infinity

# prod.pexip.yml -- with the EC2 instances, cached for 5 minutes, extra groups
plugin: pexip.infinity.infinity
host: mgr.example.com
ca_path: /etc/pki/pexip-ca.pem
ec2_join: true
aws_region: eu-west-1
filters:
  name__startswith: cn-
cache: true
cache_plugin: ansible.builtin.jsonfile
cache_connection: /tmp/pexip-inventory
cache_timeout: 300
keyed_groups:
  - key: pexip_node_version
    prefix: version
compose:
  pexip_node_public_ip: "'elastic' if pexip_node_location == 'London Edge' else 'auto'"

# ansible-inventory -i lab.pexip.yml --graph
# ansible-playbook -i lab.pexip.yml pexip.infinity.rolling_maintenance -e nodes=location_london
"""

import os
import re

from ansible.errors import AnsibleError
from ansible.module_utils.common.text.converters import to_native
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable
from ansible.utils.unsafe_proxy import wrap_var

# The API client and boto3 are imported when the plugin runs, not here: Ansible loads every inventory
# plugin ansible.cfg enables at the start of every run, and most runs never use this one (~0.2 CPU-s a run).

LIVE_STATES = ("pending", "running", "stopping", "stopped")
# The only node fields the plugin keeps (in host variables and in the cache): a worker_vm also carries secrets
# (SNMP community and passwords, the admin password hash), which must never reach a cache file.
CONFIG_FIELDS = ("id", "name", "hostname", "domain", "node_type", "system_location", "address", "static_nat_address",
                 "maintenance_mode", "maintenance_mode_reason", "cloud_bursting")
STATUS_FIELDS = ("configuration_id", "name", "system_location", "sync_status", "deploy_status", "last_updated",
                 "last_reported", "boot_time", "version", "maintenance_mode", "maintenance_mode_reason", "node_type")


def allowed(obj, fields):
    return dict((key, obj[key]) for key in fields if key in obj)


def group_slug(value):
    """``London Edge`` -> ``london_edge``: a group name Ansible accepts."""
    slug = re.sub(r"[^a-z0-9]+", "_", str(value or "").lower()).strip("_")
    return slug or "none"


def public_ip_mode(instance):
    """none | auto | elastic as the roles understand it, or None when it cannot be told."""
    if instance.get("elastic_ip"):
        return "elastic"
    if instance.get("public_ip"):
        return "auto"
    if instance.get("state") == "running":
        return "none"
    return None


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):

    NAME = "pexip.infinity.infinity"

    def verify_file(self, path):
        return super(InventoryModule, self).verify_file(path) and path.endswith((".pexip.yml", ".pexip.yaml"))

    # -- data -------------------------------------------------------------------------------
    def _client(self, api):
        ca_path = os.path.expanduser(self.get_option("ca_path")) if self.get_option("ca_path") else None
        return api.PexipClient(self.get_option("host"), self.get_option("username"), self.get_option("password"),
                               validate_certs=self.get_option("validate_certs"), ca_path=ca_path,
                               timeout=self.get_option("timeout"))

    def _fetch_nodes(self):
        """Configuration + location names + status, as plain data (what the cache keeps)."""
        from ansible_collections.pexip.infinity.plugins.module_utils import api  # pylint: disable=import-outside-toplevel
        client = self._client(api)
        try:
            configs = client.list("worker_vm", limit=100, **(self.get_option("filters") or {}))
            locations = dict((loc["resource_uri"], loc["name"]) for loc in client.list("system_location", limit=100))
            statuses = client.list("worker_vm", api="status", limit=100)
        except api.PexipApiError as exc:
            raise AnsibleError("pexip.infinity.infinity: %s" % exc.msg)
        by_config_id = dict((s.get("configuration_id"), s) for s in statuses if s.get("configuration_id") is not None)
        by_name = dict((s.get("name"), s) for s in statuses)
        nodes = []
        for config in configs:
            status = by_config_id.get(config.get("id")) or by_name.get(config.get("name")) or {}
            location = config.get("system_location")
            nodes.append({"config": allowed(config, CONFIG_FIELDS), "status": allowed(status, STATUS_FIELDS),
                          "location": locations.get(location) or status.get("system_location")})
        return nodes

    def _fetch_instances(self):
        """{node name: [instance summary, ...]} for instances tagged with ``ec2_tag``."""
        try:
            import boto3  # pylint: disable=import-outside-toplevel
            import botocore.config  # pylint: disable=import-outside-toplevel
        except ImportError:
            raise AnsibleError("ec2_join needs the Python library boto3.")
        tag = self.get_option("ec2_tag")
        filters = [{"Name": "tag-key", "Values": [tag]}, {"Name": "instance-state-name", "Values": list(LIVE_STATES)}]
        if self.get_option("ec2_vpc_id"):
            filters.append({"Name": "vpc-id", "Values": [self.get_option("ec2_vpc_id")]})
        try:
            session = boto3.session.Session(profile_name=self.get_option("aws_profile"), region_name=self.get_option("aws_region"))
            # The user agent names the caller, as amazon.aws does (and the lab's record of AWS calls reads).
            ec2 = session.client("ec2", endpoint_url=self.get_option("aws_endpoint_url") or None,
                                 config=botocore.config.Config(user_agent_extra="pexip.infinity/inventory"))
            elastic = dict((a["InstanceId"], a.get("PublicIp")) for a in ec2.describe_addresses().get("Addresses", [])
                           if a.get("InstanceId"))
            instances = {}
            for page in ec2.get_paginator("describe_instances").paginate(Filters=filters):
                for reservation in page.get("Reservations", []):
                    for inst in reservation.get("Instances", []):
                        tags = dict((t["Key"], t["Value"]) for t in inst.get("Tags", []))
                        instances.setdefault(tags.get(tag), []).append({
                            "id": inst["InstanceId"],
                            "state": inst.get("State", {}).get("Name"),
                            "type": inst.get("InstanceType"),
                            "private_ip": inst.get("PrivateIpAddress"),
                            "public_ip": inst.get("PublicIpAddress"),
                            "elastic_ip": elastic.get(inst["InstanceId"]),
                            "subnet_id": inst.get("SubnetId"),
                            "vpc_id": inst.get("VpcId"),
                        })
        except Exception as exc:  # botocore's errors share no useful base class with NoRegionError & co.
            raise AnsibleError("pexip.infinity.infinity: cannot list the EC2 instances (%s): check aws_region, "
                               "aws_endpoint_url and the AWS credentials." % to_native(exc))
        return instances

    def _fetch(self):
        data = {"nodes": self._fetch_nodes()}
        if self.get_option("ec2_join"):
            data["instances"] = self._fetch_instances()
        return data

    # -- inventory ----------------------------------------------------------------------------
    def _add_group(self, name, host):
        group = self.inventory.add_group(name)
        self.inventory.add_child(group, host)

    def _populate(self, data):
        strict = self.get_option("strict")
        # Both groups exist even when empty: a pattern that names one matches nothing rather than failing.
        node_group = self.inventory.add_group(self.get_option("group"))
        bursting_group = self.inventory.add_group(self.get_option("bursting_group"))
        from ansible_collections.pexip.infinity.plugins.module_utils.nodes import NODE_TYPE_ROLES  # pylint: disable=import-outside-toplevel
        instances = data.get("instances")
        for node in data["nodes"]:
            config, status = node["config"], node["status"] or {}
            name = config["name"]
            bursting = bool(config.get("cloud_bursting"))
            host = self.inventory.add_host(name, group=bursting_group if bursting else node_group)
            role = NODE_TYPE_ROLES.get(config.get("node_type"), str(config.get("node_type") or "").lower())
            sync = status.get("sync_status") or "UNKNOWN"
            hostvars = {
                "pexip_node_name": name,
                "pexip_node_hostname": config.get("hostname"),
                "pexip_node_domain": config.get("domain"),
                "pexip_node_role": role,
                "pexip_node_location": node.get("location"),
                "pexip_node_address": config.get("address"),
                "pexip_node_static_nat_address": config.get("static_nat_address"),
                "pexip_node_maintenance_mode": bool(config.get("maintenance_mode")),
                "pexip_node_maintenance_mode_reason": config.get("maintenance_mode_reason") or "",
                "pexip_node_bursting": bursting,
                "pexip_node_id": config.get("id"),
                "pexip_node_sync_status": status.get("sync_status"),
                "pexip_node_deploy_status": status.get("deploy_status"),
                "pexip_node_last_updated": status.get("last_updated"),
                "pexip_node_boot_time": status.get("boot_time"),
                "pexip_node_version": status.get("version"),
                "pexip_node_reporting": bool(status.get("last_updated")),
                "pexip_node_status": status,
            }
            groups = ["location_%s" % group_slug(node.get("location")), "role_%s" % group_slug(role),
                      "maintenance_on" if config.get("maintenance_mode") else "maintenance_off",
                      "sync_%s" % group_slug(sync)]
            if instances is not None:
                found = instances.get(name, [])
                if len(found) == 1:
                    inst = found[0]
                    hostvars.update({
                        "pexip_instance_id": inst["id"],
                        "pexip_instance_state": inst["state"],
                        "pexip_instance_type": inst["type"],
                        "pexip_instance_private_ip": inst["private_ip"],
                        "pexip_instance_public_ip": inst["public_ip"],
                        "pexip_instance_vpc_id": inst["vpc_id"],
                        "pexip_node_instance_type": inst["type"],
                        "pexip_node_subnet_id": inst["subnet_id"],
                    })
                    mode = public_ip_mode(inst)
                    if mode:
                        hostvars["pexip_node_public_ip"] = mode
                    groups.append("ec2_%s" % group_slug(inst["state"]))
                else:
                    if found:
                        self.display.warning("pexip.infinity.infinity: instances %s all carry the tag %s=%s; none is joined to the node."
                                             % (", ".join(i["id"] for i in found), self.get_option("ec2_tag"), name))
                    groups.append("ec2_missing")
            # Everything read from the API is data, never a template.
            for key, value in hostvars.items():
                self.inventory.set_variable(host, key, wrap_var(value))
            if self.get_option("local_connection"):
                self.inventory.set_variable(host, "ansible_connection", "local")
                self.inventory.set_variable(host, "ansible_python_interpreter", "{{ ansible_playbook_python }}")
            for group in groups:
                self._add_group(group, host)
            self._set_composite_vars(self.get_option("compose"), hostvars, host, strict=strict)
            self._add_host_to_composed_groups(self.get_option("groups"), hostvars, host, strict=strict)
            self._add_host_to_keyed_groups(self.get_option("keyed_groups"), hostvars, host, strict=strict)

    def parse(self, inventory, loader, path, cache=True):
        super(InventoryModule, self).parse(inventory, loader, path, cache=cache)
        self._read_config_data(path)
        # One cache entry per configuration file and Management Node.
        cache_key = self.get_cache_key("%s@%s" % (path, self.get_option("host")))
        use_cache = self.get_option("cache")
        data = None
        if use_cache and cache:
            try:
                data = self._cache[cache_key]
            except KeyError:
                data = None
        if data is None:
            data = self._fetch()
            if use_cache:
                self._cache[cache_key] = data
        self._populate(data)
