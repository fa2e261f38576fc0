#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: pexip_node_info
short_description: Read Pexip Infinity Conferencing Nodes with their live status
version_added: 0.1.0
author: pexip.infinity contributors (@pexip)
description:
  - Lists Conferencing Nodes (C(configuration/v1/worker_vm)) with their status (C(status/v1/worker_vm)) and the
    number of live participants and conference shards on each node's address.
  - RV(nodes[].reported) and RV(nodes[].synced) tell whether a new node has joined the platform, for example
    to wait on after M(pexip.infinity.pexip_config_upload).
options:
  name:
    description:
      - Only the node with this name.
    type: str
  system_location:
    description:
      - Only nodes in the system location with this name. An unknown location matches no node.
    type: str
  role:
    description:
      - Only V(transcoding) or only V(proxying) nodes.
    type: str
    choices: [transcoding, proxying]
  calls:
    description:
      - Count each node's live participants and conference shards (RV(nodes[].participants),
        RV(nodes[].conference_shards)). V(false) leaves them out and saves the requests that count them, for a caller
        that only needs the nodes' configuration and status (a fleet-wide drift check).
    type: bool
    default: true
extends_documentation_fragment:
  - pexip.infinity.api
  - pexip.infinity.attributes.info
seealso:
  - module: pexip.infinity.pexip_node
"""

EXAMPLES = r"""
- name: Wait until a new node has joined the platform
  pexip.infinity.pexip_node_info:
    name: cn-lon-1
  register: node_info
  until: node_info.nodes | length == 1 and node_info.nodes[0].synced
  retries: 60
  delay: 10

- name: All proxying nodes of London
  pexip.infinity.pexip_node_info:
    system_location: London
    role: proxying
  register: edges
"""

RETURN = r"""
nodes:
  description: The matching nodes, sorted by name; empty when nothing matches.
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: Configuration id of the node.
      type: int
    name:
      description: Name of the node.
      type: str
    hostname:
      description: Host name.
      type: str
    domain:
      description: DNS domain.
      type: str
    address:
      description: IPv4 address.
      type: str
    netmask:
      description: IPv4 netmask.
      type: str
    gateway:
      description: IPv4 gateway.
      type: str
    static_nat_address:
      description: Static NAT (public) address, if any.
      type: str
    role:
      description: V(transcoding) or V(proxying).
      type: str
    node_type:
      description: API node type (C(CONFERENCING) or C(PROXYING)).
      type: str
    system_location:
      description: Name of the node's system location.
      type: str
    system_location_uri:
      description: Resource URI of the node's system location.
      type: str
    enable_distributed_database:
      description: Whether the node takes part in the distributed database.
      type: bool
    enable_ssh:
      description: SSH mode (V(global), V(on) or V(off)).
      type: str
    maintenance_mode:
      description: Maintenance mode as configured.
      type: bool
    maintenance_mode_reason:
      description: Why the node is in maintenance mode.
      type: str
    description:
      description: Description of the node.
      type: str
    resource_uri:
      description: Resource URI of the node's configuration.
      type: str
    reported:
      description: Whether the node has ever reported to the Management Node (C(last_updated) is set).
      type: bool
    synced:
      description: Whether the node's configuration is up to date (C(sync_status) is C(SYNCED)).
      type: bool
    sync_status:
      description: Configuration synchronisation status as reported.
      type: str
    last_updated:
      description: When the node last reported; null when it never did.
      type: str
    boot_time:
      description: When the node last booted.
      type: str
    version:
      description: Software version of the node.
      type: str
    media_load:
      description: Media load in percent.
      type: int
    max_hd_calls:
      description: HD call capacity.
      type: int
    status_maintenance_mode:
      description: Maintenance mode as the node reports it (null when it has no status yet).
      type: bool
    participants:
      description: Live participants whose media, signalling or proxy node is this node.
      returned: when O(calls=true)
      type: int
    conference_shards:
      description: Conference shards on this node.
      returned: when O(calls=true)
      type: int
  sample:
    - name: cn-lon-1
      address: 10.0.1.10
      role: transcoding
      system_location: London
      maintenance_mode: false
      reported: true
      synced: true
      sync_status: SYNCED
      last_updated: "2024-06-03T10:05:00"
      media_load: 0
      max_hd_calls: 20
      participants: 0
      conference_shards: 0
"""

from ansible_collections.pexip.infinity.plugins.module_utils import nodes
from ansible_collections.pexip.infinity.plugins.module_utils.api import object_id
from ansible_collections.pexip.infinity.plugins.module_utils.catalog import NODE, ROLES
from ansible_collections.pexip.infinity.plugins.module_utils.module import PexipModule
from ansible_collections.pexip.infinity.plugins.module_utils.resource import Engine, related_uri

STATUS_FIELDS = ("sync_status", "last_updated", "boot_time", "version", "media_load", "max_hd_calls")


def merge(engine, config, status, counts, location_name):
    node = engine.public(dict((k, config.get(k)) for k in NODE.output if k not in ("system_location_name", "tls_certificate")))
    node["role"] = NODE.field("node_type").shown(config.get("node_type")) if config.get("node_type") else None
    node["enable_ssh"] = (config.get("enable_ssh") or "").lower() or None
    node["system_location_uri"] = related_uri(config.get("system_location"))
    node["system_location"] = location_name
    status = status or {}
    for field in STATUS_FIELDS:
        node[field] = status.get(field)
    node["status_maintenance_mode"] = status.get("maintenance_mode")
    node["reported"] = status.get("last_updated") is not None
    node["synced"] = status.get("sync_status") == "SYNCED"
    node["participants"] = counts.get("participants", 0)
    node["conference_shards"] = counts.get("conference_shards", 0)
    return node


def main():
    module = PexipModule(argument_spec=dict(
        name=dict(type="str"),
        system_location=dict(type="str"),
        role=dict(type="str", choices=list(ROLES)),
        calls=dict(type="bool", default=True),
    ))
    p = module.params
    module.label = "pexip_node_info" + ("".join(" %s='%s'" % (k, p[k]) for k in ("name", "system_location", "role") if p[k] is not None))
    client = module.client
    engine = Engine(module, NODE)
    filters = {}
    if p["name"] is not None:
        filters["name"] = p["name"]
    if p["role"] is not None:
        filters["node_type"] = ROLES[p["role"]]
    if p["system_location"] is not None:
        location = module.call(client.find, "system_location", name=p["system_location"])
        if location is None:
            module.exit_json(changed=False, nodes=[])
        filters["system_location"] = object_id(location["resource_uri"])

    configs = module.call(client.list, NODE.endpoint, **filters)
    if not configs:
        module.exit_json(changed=False, nodes=[])

    if len(configs) == 1:
        statuses = module.call(client.list, NODE.endpoint, api="status", name=configs[0]["name"])
        counts = {configs[0]["address"]: module.call(nodes.count_calls, client, configs[0]["address"])} if p["calls"] else None
    else:
        statuses = module.call(client.list, NODE.endpoint, api="status")
        counts = None
        if p["calls"]:
            participants = module.call(client.list, "participant", api="status")
            shards = module.call(client.list, "conference_shard", api="status")
            counts = nodes.counts_by_address(participants, shards)
    by_config_id = dict((s.get("configuration_id"), s) for s in statuses if s.get("configuration_id") is not None)
    by_name = dict((s.get("name"), s) for s in statuses)

    location_names = {}
    out = []
    for config in sorted(configs, key=lambda c: c.get("name") or ""):
        uri = related_uri(config.get("system_location"))
        if uri and uri not in location_names:
            location_names[uri] = p["system_location"] or module.call(client.name_for, uri)
        status = by_config_id.get(config.get("id")) or by_name.get(config.get("name"))
        node = merge(engine, config, status, (counts or {}).get(config.get("address"), {}), location_names.get(uri))
        if counts is None:
            node.pop("participants", None)
            node.pop("conference_shards", None)
        out.append(node)
    module.exit_json(changed=False, nodes=out)


if __name__ == "__main__":
    main()
