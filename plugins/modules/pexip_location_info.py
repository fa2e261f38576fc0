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
  - pexip.infinity.attributes.info
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

from ansible_collections.pexip.infinity.plugins.module_utils.catalog import LOCATION, NODE, location_nodes, nodes_in
from ansible_collections.pexip.infinity.plugins.module_utils.module import PexipModule
from ansible_collections.pexip.infinity.plugins.module_utils.resource import PAGE, Engine


def summarize(engine, location, nodes):
    """``location`` (a copy) with its nodes by role, related location names and server addresses."""
    loc = engine.annotate(location)
    mine = nodes_in(nodes, location)
    loc["nodes"] = sorted(n.get("name") for n in mine)
    loc["node_count"] = len(mine)
    loc["proxying_nodes"] = sorted(n.get("name") for n in mine if n.get("node_type") == "PROXYING")
    loc["transcoding_nodes"] = sorted(n.get("name") for n in mine if n.get("node_type") != "PROXYING")
    return loc


def run(module):
    engine = Engine(module, LOCATION)
    name = module.params["name"]
    if name:
        found = engine.lookup(name)  # also reads every location when it refers to others, for their names
        locations = [found] if found else []
    else:
        locations = engine.load_all(LOCATION.endpoint)
    if not locations:
        return []
    if len(locations) == 1:
        nodes = location_nodes(module.client, locations[0])
    else:
        nodes = module.client.list(NODE.endpoint, limit=PAGE)
    return sorted((summarize(engine, loc, nodes) for loc in locations), key=lambda loc: loc.get("name") or "")


def main():
    module = PexipModule(argument_spec=dict(name=dict(type="str")))
    name = module.params["name"]
    module.label = "pexip_location_info '%s'" % name if name else "pexip_location_info"
    module.run(lambda module: dict(changed=False, locations=run(module)))


if __name__ == "__main__":
    main()
