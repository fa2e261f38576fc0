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
  - RV(nodes[].reported) and RV(nodes[].synced) tell whether a new node has joined the platform; O(wait=true) waits
    for that, for example after M(pexip.infinity.pexip_config_upload) or after a node's instance was started.
options:
  name:
    description:
      - Only the node with this name.
    type: str
  names:
    description:
      - Only the nodes with these names. Several names cost the same two requests as every node (the list is filtered
        here), so that one read serves a whole batch of nodes.
      - Mutually exclusive with O(name).
    type: list
    elements: str
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
  wait:
    description:
      - Read the nodes again until every node of O(name) or O(names) exists, has reported to the Management Node (after
        O(reported_after) when set) and, with O(wait_for=synced), has synced its configuration.
      - Fails after O(wait_timeout) seconds with RV(nodes) as last read and RV(timed_out=true). A wait is one task
        without output, so a caller that waits minutes can wait in steps (see O(resume_wait)) to show progress.
  wait_for:
    description:
      - What O(wait) waits for. V(reported) - the node has reported (RV(nodes[].reported)). V(synced) - it has
        also synced its configuration (RV(nodes[].synced)).
    type: str
    choices: [reported, synced]
    default: synced
  reported_after:
    description:
      - With O(wait), only a report newer than this UTC time (C(YYYY-MM-DDTHH:MM:SS), as RV(nodes[].last_updated))
        counts. A stopped node keeps its last report time, so give the time its instance was started.
    type: str
  resume_wait:
    description:
      - With O(wait), continue an earlier wait of the same nodes; the first check comes after O(poll_interval)
        seconds, and there are no short first checks. A caller that waits in bounded steps (to show progress at
        every step) then polls no more often than one long wait would.
    type: bool
    default: false
extends_documentation_fragment:
  - pexip.infinity.api
  - pexip.infinity.wait
  - pexip.infinity.attributes.info
seealso:
  - module: pexip.infinity.pexip_node
"""

EXAMPLES = r"""
- name: Wait until a new node has joined the platform (reported and synced)
  pexip.infinity.pexip_node_info:
    name: cn-lon-1
    calls: false
    wait: true
    wait_timeout: 600

- name: Wait in steps of 50 seconds (one line of output each) until two nodes have reported, one read per poll for both
  pexip.infinity.pexip_node_info:
    names: [cn-lon-1, cn-lon-3]
    calls: false
    wait: true
    wait_for: reported
    wait_timeout: 50
    resume_wait: "{{ step > 0 }}"
  register: back
  failed_when: back is failed and not back.timed_out | default(false)
  loop: "{{ range(0, 600, 50) | list }}"
  loop_control:
    loop_var: step
    break_when: back is not failed

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
timed_out:
  description: O(wait) ran out of time (the module failed).
  returned: when the wait timed out
  type: bool
elapsed:
  description: Seconds O(wait) waited.
  returned: with O(wait=true)
  type: int
"""

from ansible_collections.pexip.infinity.plugins.module_utils import nodes
from ansible_collections.pexip.infinity.plugins.module_utils.api import object_id
from ansible_collections.pexip.infinity.plugins.module_utils.catalog import NODE, ROLES
from ansible_collections.pexip.infinity.plugins.module_utils.module import PexipModule
from ansible_collections.pexip.infinity.plugins.module_utils.resource import Engine, related_uri
from ansible_collections.pexip.infinity.plugins.module_utils.waiter import Waiter, wait_argument_spec, wait_errors

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


def ready(node, p):
    """Whether ``node`` is what O(wait) waits for: reported (after O(reported_after)), and synced unless O(wait_for=reported)."""
    if not node["reported"] or (p["wait_for"] == "synced" and not node["synced"]):
        return False
    return not p["reported_after"] or str(node["last_updated"])[:19] > p["reported_after"][:19]


class NodeInfo(object):
    def __init__(self, module):
        self.module = module
        self.client = module.client
        self.engine = Engine(module, NODE)
        p = module.params
        self.names = [p["name"]] if p["name"] is not None else p["names"]
        self.location_names = {}
        self.filters = {}
        self.nowhere = False
        if self.names is not None and len(self.names) == 1:
            self.filters["name"] = self.names[0]
        if p["role"] is not None:
            self.filters["node_type"] = ROLES[p["role"]]

    def read(self):
        """The matching nodes with their status, sorted by name (two requests, more with the call counts)."""
        p = self.module.params
        if self.nowhere or self.names == []:
            return []
        configs = self.client.list(NODE.endpoint, **self.filters)
        if self.names is not None:
            configs = [c for c in configs if c.get("name") in self.names]
        if not configs:
            return []
        if len(configs) == 1:
            statuses = self.client.list(NODE.endpoint, api="status", name=configs[0]["name"])
            counts = {configs[0]["address"]: nodes.count_calls(self.client, configs[0]["address"])} if p["calls"] else None
        else:
            statuses = self.client.list(NODE.endpoint, api="status")
            counts = None
            if p["calls"]:
                counts = nodes.counts_by_address(self.client.list("participant", api="status"), self.client.list("conference_shard", api="status"))
        by_config_id = dict((s.get("configuration_id"), s) for s in statuses if s.get("configuration_id") is not None)
        by_name = dict((s.get("name"), s) for s in statuses)
        out = []
        for config in sorted(configs, key=lambda c: c.get("name") or ""):
            uri = related_uri(config.get("system_location"))
            if uri and uri not in self.location_names:
                self.location_names[uri] = p["system_location"] or self.client.name_for(uri)
            status = by_config_id.get(config.get("id")) or by_name.get(config.get("name"))
            node = merge(self.engine, config, status, (counts or {}).get(config.get("address"), {}), self.location_names.get(uri))
            if counts is None:
                node.pop("participants", None)
                node.pop("conference_shards", None)
            out.append(node)
        return out

    def all_ready(self, found):
        by_name = dict((n["name"], n) for n in found)
        return all(name in by_name and ready(by_name[name], self.module.params) for name in self.names)

    def __call__(self, module):
        p = module.params
        if p["system_location"] is not None:
            location = self.client.find("system_location", name=p["system_location"])
            if location is None and not p["wait"]:
                return dict(changed=False, nodes=[])
            # A node waited for in a location that does not exist never gets there: the wait times out.
            self.nowhere = location is None
            if location is not None:
                self.filters["system_location"] = object_id(location["resource_uri"])
        if not p["wait"]:
            return dict(changed=False, nodes=self.read())
        waiter = Waiter(p["wait_timeout"], p["poll_interval"], initial_delay=p["poll_interval"] if p["resume_wait"] else 0)
        done, found, elapsed = waiter.wait(self.read, self.all_ready)
        if not done:
            by_name = dict((n["name"], n) for n in found)
            late = ", ".join("%s (%s)" % (name, describe(by_name.get(name))) for name in self.names if not (name in by_name and ready(by_name[name], p)))
            module.fail("not every node has %s%s within %d seconds: %s" % (
                "reported and synced" if p["wait_for"] == "synced" else "reported",
                " after %s" % p["reported_after"] if p["reported_after"] else "", p["wait_timeout"], late),
                nodes=found, timed_out=True)
        return dict(changed=False, nodes=found, elapsed=int(elapsed))


def describe(node):
    if node is None:
        return "not found"
    return "last report: %s, sync status: %s" % (node["last_updated"] or "never", node["sync_status"] or "unknown")


def main():
    argument_spec = dict(
        name=dict(type="str"),
        names=dict(type="list", elements="str"),
        system_location=dict(type="str"),
        role=dict(type="str", choices=list(ROLES)),
        calls=dict(type="bool", default=True),
        wait_for=dict(type="str", choices=["reported", "synced"], default="synced"),
        reported_after=dict(type="str"),
        resume_wait=dict(type="bool", default=False),
    )
    argument_spec.update(wait_argument_spec())
    module = PexipModule(argument_spec=argument_spec, mutually_exclusive=[("name", "names")])
    p = module.params
    module.label = "pexip_node_info" + ("".join(" %s='%s'" % (k, p[k]) for k in ("name", "system_location", "role") if p[k] is not None))
    if p["names"] is not None:
        module.label += " names=%s" % ",".join(p["names"])
    errors = wait_errors(p)
    if p["wait"] and p["name"] is None and not p["names"]:
        errors.append("wait=true needs the nodes to wait for: set name or names")
    if errors:
        module.fail("; ".join(errors))
    module.run(NodeInfo(module))


if __name__ == "__main__":
    main()
