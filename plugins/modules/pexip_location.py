#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: pexip_location
short_description: Manage system locations on a Pexip Infinity Management Node
version_added: 0.1.0
author: pexip.infinity contributors (@pexip)
description:
  - Create, update or delete a system location (C(configuration/v1/system_location/)) on a Pexip Infinity
    Management Node.
  - Options that are not given are left as they are; an empty string or an empty list clears the value.
  - Related locations are given by name; DNS and NTP servers by address. A DNS or NTP server object that does
    not exist yet for an address is created and then linked to the location.
  - A location that still holds Conferencing Nodes is never deleted; the module fails and lists the nodes.
extends_documentation_fragment:
  - pexip.infinity.api
  - pexip.infinity.attributes
options:
  name:
    description:
      - Name of the system location (unique, at most 250 characters).
    type: str
    required: true
  state:
    description:
      - V(present) creates the location or brings it to the given settings.
      - V(absent) deletes it; this fails, before anything is deleted, while Conferencing Nodes are assigned to it.
    type: str
    choices: [present, absent]
    default: present
  description:
    description:
      - Free-text description (at most 250 characters). V("") clears it.
    type: str
  mtu:
    description:
      - Maximum transmission unit of the location's nodes, 512 to 1500.
      - On AWS keep the default of 1500 unless a VPN path needs less.
    type: int
  media_qos:
    description:
      - DSCP value (0 to 63) for media traffic of the location's nodes.
    type: int
  signalling_qos:
    description:
      - DSCP value (0 to 63) for signalling traffic of the location's nodes.
    type: int
  dns_servers:
    description:
      - IPv4 or IPv6 addresses of the DNS servers the location's nodes use.
      - Each address is matched to an existing DNS server object by address, or such an object is created.
      - The list replaces the location's DNS servers; V([]) removes them all. Order does not matter.
    type: list
    elements: str
  ntp_servers:
    description:
      - Addresses (IPv4, IPv6 or host name) of the NTP servers the location's nodes use.
      - Each address is matched to an existing NTP server object by address, or such an object is created.
      - The list replaces the location's NTP servers; V([]) removes them all. Order does not matter.
    type: list
    elements: str
  overflow_location1:
    description:
      - Name of the primary overflow location, used when this location runs out of capacity.
      - Cloud bursting nodes only start when their location is the B(primary) overflow of an always-on location.
      - V("") clears it. It may not be the location itself.
    type: str
    aliases: [primary_overflow_location]
  overflow_location2:
    description:
      - Name of the secondary overflow location, used when the primary overflow location is full too.
      - V("") clears it. It may not be the location itself, nor the same as the primary overflow location.
    type: str
    aliases: [secondary_overflow_location]
  transcoding_location:
    description:
      - Name of the location whose nodes transcode media for the calls this location's nodes receive
        (typically set on a location of Proxying Edge Nodes). V("") clears it, which means this location.
    type: str
notes:
  - An idempotent run makes one or two GET requests, for the location (with all location names when related
    locations are involved, so that names can be resolved without one request each).
seealso:
  - module: pexip.infinity.pexip_location_info
  - module: pexip.infinity.pexip_node
"""

EXAMPLES = r"""
- name: Always-on location in London that bursts to AWS
  pexip.infinity.pexip_location:
    name: London
    description: Always-on nodes in eu-west-2
    mtu: 1500
    dns_servers: [10.0.0.2]
    ntp_servers: [169.254.169.123]
    primary_overflow_location: AWS burst

- name: Remove the secondary overflow location and the description
  pexip.infinity.pexip_location:
    name: London
    secondary_overflow_location: ""
    description: ""

- name: Delete a location (fails while Conferencing Nodes are still in it)
  pexip.infinity.pexip_location:
    name: Old site
    state: absent
"""

RETURN = r"""
location:
  description:
    - The location as the API returns it after the run (in check mode, as it would be), with the names of
      related locations and the addresses of DNS and NTP servers added.
    - Empty when O(state=absent).
  returned: always
  type: dict
  contains:
    id:
      description: Object id (absent in check mode for a location not yet created).
      type: int
      sample: 3
    resource_uri:
      description: URI of the object, to use in other objects' fields.
      type: str
      sample: /api/admin/configuration/v1/system_location/3/
    name:
      description: Name of the location.
      type: str
      sample: London
    overflow_location1:
      description: URI of the primary overflow location, or null.
      type: str
      sample: /api/admin/configuration/v1/system_location/4/
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
      description: Addresses of the location's DNS servers.
      type: list
      elements: str
      sample: [10.0.0.2]
    ntp_server_addresses:
      description: Addresses of the location's NTP servers.
      type: list
      elements: str
      sample: [169.254.169.123]
  sample:
    id: 3
    name: London
    description: Always-on nodes in eu-west-2
    mtu: 1500
    media_qos: 0
    signalling_qos: 0
    dns_servers: [{id: 1, address: 10.0.0.2, description: "", resource_uri: /api/admin/configuration/v1/dns_server/1/}]
    ntp_servers: [{id: 1, address: 169.254.169.123, description: "", resource_uri: /api/admin/configuration/v1/ntp_server/1/}]
    overflow_location1: /api/admin/configuration/v1/system_location/4/
    overflow_location1_name: AWS burst
    overflow_location2: null
    overflow_location2_name: null
    transcoding_location: null
    transcoding_location_name: null
    resource_uri: /api/admin/configuration/v1/system_location/3/
created_servers:
  description:
    - DNS and NTP server objects created for addresses that had none (in check mode, that would be created),
      as C(dns_server <address>) or C(ntp_server <address>).
  returned: when O(state=present)
  type: list
  elements: str
  sample: [dns_server 10.0.0.2]
diff:
  description: Settings before and after, with locations by name and servers by address.
  returned: when diff mode is on
  type: dict
  sample: {before: {mtu: 1500}, after: {mtu: 1400}}
"""

from ansible_collections.pexip.infinity.plugins.module_utils.catalog import LOCATION, location_nodes
from ansible_collections.pexip.infinity.plugins.module_utils.module import PexipModule
from ansible_collections.pexip.infinity.plugins.module_utils.resource import Engine
from ansible_collections.pexip.infinity.plugins.module_utils.servers import server_errors

RANGES = dict(mtu=(512, 1500), media_qos=(0, 63), signalling_qos=(0, 63))
MAX_TEXT = 250
ARGUMENT_SPEC = LOCATION.argument_spec()


def validate(params):
    """Errors in the module's parameters (nothing here needs the API)."""
    errors = []
    name = params["name"]
    if not name or not name.strip():
        errors.append("name must not be empty")
    elif len(name) > MAX_TEXT:
        errors.append("name is %d characters long; at most %d are allowed" % (len(name), MAX_TEXT))
    if params.get("state", "present") == "absent":
        return errors
    if params.get("description") is not None and len(params["description"]) > MAX_TEXT:
        errors.append("description is %d characters long; at most %d are allowed" % (len(params["description"]), MAX_TEXT))
    for key, (low, high) in sorted(RANGES.items()):
        value = params.get(key)
        if value is not None and not low <= value <= high:
            errors.append("%s must be between %d and %d, not %d" % (key, low, high, value))
    errors.extend(server_errors(params))
    for key in ("overflow_location1", "overflow_location2"):
        if params.get(key) and params[key] == name:
            errors.append("the %s cannot be the location itself ('%s'); give another location or \"\" for none"
                          % (LOCATION.field(key).label, name))
    first, second = params.get("overflow_location1"), params.get("overflow_location2")
    if first and first == second:
        errors.append("primary and secondary overflow locations are both '%s'; give two different locations "
                      "or \"\" for no secondary overflow location" % first)
    return errors


def run(module):
    """The module's result for ``module`` (a PexipModule or a test double with client, params, check_mode, fail); API
    and engine errors are raised (``module.run`` fails with them)."""
    engine = Engine(module, LOCATION)
    name = module.params["name"]
    if module.params["state"] == "absent":
        current = engine.lookup(name)
        if current is not None:
            nodes = sorted(n.get("name") for n in location_nodes(module.client, current))
            if nodes:
                module.fail("cannot delete the location: %d Conferencing Node(s) still use it (%s); delete them or move them "
                            "to another location first." % (len(nodes), ", ".join(nodes)), nodes=nodes)
            current_view = dict(engine.view(current, [f.name for f in LOCATION.fields]), name=name)
        outcome = engine.remove(current, shown=current_view if current else None)
        return dict(changed=outcome.changed, location={}, diff=outcome.diff)
    wanted = engine.wanted(module.params)
    outcome = engine.ensure(engine.lookup(name, wanted), wanted, name)
    return engine.result(outcome, "location", created_servers=outcome.created)


def main():
    module = PexipModule(argument_spec=ARGUMENT_SPEC)
    module.label = "pexip_location '%s'" % module.params["name"]
    errors = validate(module.params)
    if errors:
        module.fail("; ".join(errors) + ".")
    module.run(run)


if __name__ == "__main__":
    main()
