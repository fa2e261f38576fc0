#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: pexip_location_info
short_description: Read system locations and the Conferencing Nodes in them from a Pexip Infinity Management Node
version_added: 0.1.0
author: pexip.infinity contributors (@pexip)
description:
  - Lists system locations (C(configuration/v1/system_location/)), each with the names of its related locations,
    the addresses of its DNS and NTP servers, and the Conferencing Nodes assigned to it by role.
  - Reads with few requests, the locations and the nodes each in one filtered (or one large-page) request.
extends_documentation_fragment:
  - pexip.infinity.api
attributes:
  check_mode:
    description: Can run in check mode and return changed status prediction without modifying the target.
    support: full
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check mode), when in diff mode.
    support: none
options:
  name:
    description:
      - Only the location with exactly this name. Without it, every location is returned.
    type: str
seealso:
  - module: pexip.infinity.pexip_location
  - module: pexip.infinity.pexip_node_info
"""

EXAMPLES = r"""
- name: Every location
  pexip.infinity.pexip_location_info:
  register: pexip_locations

- name: Is London still holding nodes?
  pexip.infinity.pexip_location_info:
    name: London
  register: london

- name: Show them
  ansible.builtin.debug:
    msg: "{{ london.locations[0].nodes if london.locations else 'no such location' }}"
"""

RETURN = r"""
locations:
  description:
    - The matching locations, sorted by name, as the API returns them with the fields below added.
    - Empty when nothing matches.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Name of the location.
      type: str
      sample: London
    resource_uri:
      description: URI of the location.
      type: str
      sample: /api/admin/configuration/v1/system_location/3/
    nodes:
      description: Names of the Conferencing Nodes assigned to the location, sorted.
      type: list
      elements: str
      sample: [cn-lon-1, cn-lon-2]
    node_count:
      description: Number of Conferencing Nodes assigned to the location.
      type: int
      sample: 2
    transcoding_nodes:
      description: Names of the location's Transcoding Conferencing Nodes (C(node_type=CONFERENCING)).
      type: list
      elements: str
      sample: [cn-lon-1, cn-lon-2]
    proxying_nodes:
      description: Names of the location's Proxying Edge Nodes (C(node_type=PROXYING)).
      type: list
      elements: str
      sample: []
    overflow_location1_name:
      description: Name of the primary overflow location, or null.
      type: str
      sample: AWS burst
    overflow_location2_name:
      description: Name of the secondary overflow location, or null.
      type: str
      sample: null
    transcoding_location_name:
      description: Name of the transcoding location, or null.
      type: str
      sample: null
    dns_server_addresses:
      description: Addresses of the location's DNS servers, sorted.
      type: list
      elements: str
      sample: [10.0.0.2]
    ntp_server_addresses:
      description: Addresses of the location's NTP servers, sorted.
      type: list
      elements: str
      sample: [169.254.169.123]
"""

from ansible_collections.pexip.infinity.plugins.module_utils.api import PexipApiError, object_id
from ansible_collections.pexip.infinity.plugins.module_utils.module import PexipModule, related_uri

RELATIONS = ("overflow_location1", "overflow_location2", "transcoding_location")
SERVERS = (("dns_servers", "dns_server"), ("ntp_servers", "ntp_server"))
# One page big enough for every location or node of a deployment (Tastypie caps it at its max_limit and pages).
PAGE = 1000


def location_id(location):
    return location.get("id") or object_id(location["resource_uri"])


def location_key(ref):
    """The id a related-field value (URI, absolute URL, nested object or bare id) points at, if a system_location."""
    ref = related_uri(ref)
    if ref in (None, ""):
        return None
    if isinstance(ref, int) or str(ref).isdigit():
        return int(ref)
    parts = str(ref).rstrip("/").split("/")
    if len(parts) >= 2 and parts[-2] == "system_location" and parts[-1].isdigit():
        return int(parts[-1])
    return None


def addresses(items, uri_to_address):
    return sorted(i.get("address") if isinstance(i, dict) else uri_to_address.get(i, i) for i in items or [])


def summarize(location, nodes, uri_to_name, uri_to_address):
    """``location`` (a copy) with its nodes by role, related location names and server addresses."""
    loc = dict(location)
    mine = [n for n in nodes if location_key(n.get("system_location")) == location_id(location)]
    loc["nodes"] = sorted(n.get("name") for n in mine)
    loc["node_count"] = len(mine)
    loc["proxying_nodes"] = sorted(n.get("name") for n in mine if n.get("node_type") == "PROXYING")
    loc["transcoding_nodes"] = sorted(n.get("name") for n in mine if n.get("node_type") != "PROXYING")
    by_id = dict((object_id(uri), name) for uri, name in uri_to_name.items())
    for key in RELATIONS:
        ref = location_key(location.get(key))
        loc[key + "_name"] = by_id.get(ref) if ref is not None else None
    loc["dns_server_addresses"] = addresses(location.get("dns_servers"), uri_to_address)
    loc["ntp_server_addresses"] = addresses(location.get("ntp_servers"), uri_to_address)
    return loc


def main():
    module = PexipModule(argument_spec=dict(name=dict(type="str")), supports_check_mode=True)
    name = module.params["name"]
    module.label = "pexip_location_info '%s'" % name if name else "pexip_location_info"
    client = module.client

    if name:
        locations = [loc for loc in module.call(client.list, "system_location", name=name) if loc.get("name") == name]
    else:
        locations = module.call(client.list, "system_location", limit=PAGE)
    if not locations:
        module.exit_json(changed=False, locations=[])

    uri_to_name = dict((loc["resource_uri"], loc["name"]) for loc in locations)
    wanted_ids = set(location_key(loc.get(k)) for loc in locations for k in RELATIONS) - set([None])
    if wanted_ids - set(object_id(u) for u in uri_to_name):
        for loc in module.call(client.list, "system_location", limit=PAGE):
            uri_to_name[loc["resource_uri"]] = loc["name"]

    uri_to_address = {}
    for key, resource in SERVERS:
        if any(not isinstance(i, dict) for loc in locations for i in loc.get(key) or []):
            for server in module.call(client.list, resource, limit=PAGE):
                uri_to_address[server["resource_uri"]] = server.get("address")

    if len(locations) == 1:
        try:
            nodes = client.list("worker_vm", limit=PAGE, system_location=location_id(locations[0]))
        except PexipApiError as exc:
            if exc.status != 400:
                module.fail(exc.msg, status=exc.status)
            nodes = module.call(client.list, "worker_vm", limit=PAGE)
    else:
        nodes = module.call(client.list, "worker_vm", limit=PAGE)

    result = [summarize(loc, nodes, uri_to_name, uri_to_address) for loc in locations]
    module.exit_json(changed=False, locations=sorted(result, key=lambda loc: loc.get("name") or ""))


if __name__ == "__main__":
    main()
