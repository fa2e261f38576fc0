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
attributes:
  check_mode:
    description: Can run in check mode and return changed status prediction without modifying the target.
    support: full
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check mode), when in diff mode.
    support: full
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

from ansible_collections.pexip.infinity.plugins.module_utils.api import PexipApiError, object_id
from ansible_collections.pexip.infinity.plugins.module_utils.module import PexipModule, related_uri
from ansible_collections.pexip.infinity.plugins.module_utils.servers import SERVERS, server_errors

SCALARS = ("description", "mtu", "media_qos", "signalling_qos")
# option / API field -> how a message names it
RELATIONS = (
    ("overflow_location1", "primary overflow location"),
    ("overflow_location2", "secondary overflow location"),
    ("transcoding_location", "transcoding location"),
)
RANGES = dict(mtu=(512, 1500), media_qos=(0, 63), signalling_qos=(0, 63))
MAX_TEXT = 250
# One page big enough for every location or node of a deployment (Tastypie caps it at its max_limit and pages).
PAGE = 1000


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
    for key, label in RELATIONS:
        if params.get(key) and params[key] == name and key != "transcoding_location":
            errors.append("the %s cannot be the location itself ('%s'); give another location or \"\" for none" % (label, name))
    first, second = params.get("overflow_location1"), params.get("overflow_location2")
    if first and first == second:
        errors.append("primary and secondary overflow locations are both '%s'; give two different locations "
                      "or \"\" for no secondary overflow location" % first)
    return errors


def wanted_view(params):
    """The settings asked for, in readable terms (location names, server addresses); only given options."""
    view = {}
    for key in SCALARS:
        if params.get(key) is not None:
            view[key] = params[key]
    for key, dummy in RELATIONS:
        if params.get(key) is not None:
            view[key] = params[key] or None
    for key, dummy in SERVERS:
        if params.get(key) is not None:
            view[key] = sorted(a.strip() for a in params[key])
    return view


def server_addresses(items, uri_to_address=None):
    """Addresses of a to-many server field (nested objects, or URIs looked up in ``uri_to_address``)."""
    addresses = []
    for item in items or []:
        if isinstance(item, dict):
            addresses.append(item.get("address"))
        else:
            addresses.append((uri_to_address or {}).get(item, item))
    return sorted(addresses)


def current_view(obj, uri_to_name, uri_to_address=None):
    """The same keys as ``wanted_view`` for an API object."""
    view = {}
    for key in SCALARS:
        view[key] = obj.get(key)
    if view["description"] is None:
        view["description"] = ""
    for key, dummy in RELATIONS:
        uri = related_uri(obj.get(key))
        view[key] = uri_to_name.get(uri, uri) if uri else None
    for key, dummy in SERVERS:
        view[key] = server_addresses(obj.get(key), uri_to_address)
    return view


def changed_keys(current, wanted):
    """Keys of ``wanted`` whose value differs from ``current`` (both readable views)."""
    return sorted(k for k, v in wanted.items() if current.get(k) != v)


def known_server_uris(items):
    """address -> URI for the servers a location already references as nested objects."""
    return dict((i["address"], i["resource_uri"]) for i in items or [] if isinstance(i, dict) and i.get("resource_uri"))


def payload(view, keys, name_to_uri, server_uris):
    """The API body for ``keys`` of a readable view: names -> location URIs, addresses -> server URIs."""
    body = {}
    relation_keys = [k for k, dummy in RELATIONS]
    for key in keys:
        value = view[key]
        if key in relation_keys:
            body[key] = name_to_uri[value] if value else None
        elif key in server_uris:
            body[key] = [server_uris[key][a] for a in value]
        else:
            body[key] = value
    return body


def annotate(obj, uri_to_name):
    """Add ``<relation>_name`` and ``<servers>`` addresses to an API object (a copy)."""
    obj = dict(obj)
    for key, dummy in RELATIONS:
        uri = related_uri(obj.get(key))
        obj[key + "_name"] = uri_to_name.get(uri) if uri else None
    obj["dns_server_addresses"] = server_addresses(obj.get("dns_servers"))
    obj["ntp_server_addresses"] = server_addresses(obj.get("ntp_servers"))
    return obj


def refers_to(ref, location):
    """True when a related-field value (URI, absolute URL, nested object or bare id) names ``location``."""
    ref = related_uri(ref)
    if ref in (None, ""):
        return False
    loc_id = location.get("id") or object_id(location["resource_uri"])
    if isinstance(ref, int) or str(ref).isdigit():
        return int(ref) == loc_id
    return str(ref).rstrip("/").endswith("/system_location/%s" % loc_id)


def nodes_in(nodes, location):
    """Names of the worker_vm objects assigned to ``location`` (checked here: a server may ignore the filter)."""
    return sorted(node.get("name") for node in nodes if refers_to(node.get("system_location"), location))


class LocationModule(object):
    def __init__(self, module):
        self.module = module
        self.client = module.client
        self.params = module.params
        self.name = module.params["name"]
        self.uri_to_name = {}
        self.name_to_uri = {}

    def call(self, func, *args, **kwargs):
        return self.module.call(func, *args, **kwargs)

    # -- reads -------------------------------------------------------------------------------
    def load_all_locations(self):
        locations = self.call(self.client.list, "system_location", limit=PAGE)
        for loc in locations:
            self.uri_to_name[loc["resource_uri"]] = loc["name"]
            self.name_to_uri[loc["name"]] = loc["resource_uri"]
        return [loc for loc in locations if loc["name"] == self.name]

    def load(self, wanted):
        """The location (or None), with every location name it or ``wanted`` refers to resolved; one or two GETs."""
        if any(wanted.get(k) for k, dummy in RELATIONS):
            matches = self.load_all_locations()
        else:
            matches = self.call(self.client.list, "system_location", name=self.name)
            if matches and any(related_uri(matches[0].get(k)) for k, dummy in RELATIONS):
                matches = self.load_all_locations()
        matches = [m for m in matches if m["name"] == self.name]
        if len(matches) > 1:
            self.module.fail("%d system locations have this name; remove the duplicates in the Administrator interface." % len(matches))
        return matches[0] if matches else None

    def resolve_relations(self, wanted):
        for key, label in RELATIONS:
            value = wanted.get(key)
            if value and value not in self.name_to_uri:
                self.module.fail("%s '%s' does not exist; create it first (pexip.infinity.pexip_location) or correct the name." % (label, value))

    def find_server(self, resource, address):
        found = self.call(self.client.list, resource, address=address)
        found = sorted((s for s in found if s.get("address") == address), key=lambda s: s.get("id") or 0)
        return found[0] if found else None

    def server_uris(self, current, keys, wanted):
        """address -> URI for the wanted servers of ``keys``; creates missing ones (reported only, in check mode)."""
        uris, created = {}, []
        for key, resource in SERVERS:
            if key not in keys:
                continue
            known = known_server_uris((current or {}).get(key))
            uris[key] = {}
            for address in wanted[key]:
                uri = known.get(address)
                if uri is None:
                    found = self.find_server(resource, address)
                    uri = found["resource_uri"] if found else None
                if uri is None:
                    created.append("%s %s" % (resource, address))
                    if not self.module.check_mode:
                        obj, dummy = self.call(self.client.create, resource, {"address": address},
                                               lookup=lambda r=resource, a=address: self.find_server(r, a))
                        uri = obj["resource_uri"]
                uris[key][address] = uri
        return uris, created

    def server_uri_map(self, current, wanted):
        """uri -> address, only needed when the API returned a server field as bare URIs."""
        mapping = {}
        for key, resource in SERVERS:
            items = (current or {}).get(key) or []
            if key in wanted and any(not isinstance(i, dict) for i in items):
                for server in self.call(self.client.list, resource, limit=PAGE):
                    mapping[server["resource_uri"]] = server.get("address")
        return mapping

    # -- states ------------------------------------------------------------------------------
    def present(self):
        wanted = wanted_view(self.params)
        current = self.load(wanted)
        self.resolve_relations(wanted)
        if current is not None:
            before = current_view(current, self.uri_to_name, self.server_uri_map(current, wanted))
            keys = changed_keys(before, wanted)
        else:
            before, keys = {}, sorted(wanted)
        if current is not None and not keys:
            return dict(changed=False, location=annotate(current, self.uri_to_name), created_servers=[],
                        diff=dict(before={}, after={}))

        uris, created = self.server_uris(current, keys, wanted)
        if current is None:
            diff = dict(before={}, after=dict(wanted, name=self.name))
        else:
            diff = dict(before=dict((k, before[k]) for k in keys), after=dict((k, wanted[k]) for k in keys))

        if self.module.check_mode:
            obj = dict(current or {"name": self.name})
            for key in keys:
                if key in uris:
                    obj[key] = [dict(address=a, resource_uri=uris[key][a]) for a in wanted[key]]
                else:
                    obj.update(payload(wanted, [key], self.name_to_uri, uris))
            return dict(changed=True, location=annotate(obj, self.uri_to_name), created_servers=created, diff=diff)

        body = payload(wanted, keys, self.name_to_uri, uris)
        if current is None:
            body["name"] = self.name
            obj, dummy = self.call(self.client.create, "system_location", body,
                                   lookup=lambda: self.client.find("system_location", name=self.name))
        else:
            self.call(self.client.update, current["resource_uri"], body)
            obj = self.call(self.client.get, current["resource_uri"])
        self.uri_to_name[obj["resource_uri"]] = self.name
        return dict(changed=True, location=annotate(obj, self.uri_to_name), created_servers=created, diff=diff)

    def nodes_of(self, location):
        """Names of the Conferencing Nodes in ``location``: filtered by id, or (if refused) every node checked here."""
        try:
            nodes = self.client.list("worker_vm", limit=PAGE, system_location=location.get("id") or object_id(location["resource_uri"]))
        except PexipApiError as exc:
            if exc.status != 400:
                self.module.fail(exc.msg, status=exc.status)
            nodes = self.call(self.client.list, "worker_vm", limit=PAGE)
        return nodes_in(nodes, location)

    def absent(self):
        current = self.load({})
        if current is None:
            return dict(changed=False, location={}, diff=dict(before={}, after={}))
        nodes = self.nodes_of(current)
        if nodes:
            self.module.fail("cannot delete the location: %d Conferencing Node(s) still use it (%s); delete them or move them "
                             "to another location first." % (len(nodes), ", ".join(nodes)), nodes=nodes)
        before = dict(current_view(current, self.uri_to_name), name=self.name)
        if not self.module.check_mode:
            self.call(self.client.delete, current["resource_uri"])
        return dict(changed=True, location={}, diff=dict(before=before, after={}))


def main():
    argument_spec = dict(
        name=dict(type="str", required=True),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        description=dict(type="str"),
        mtu=dict(type="int"),
        media_qos=dict(type="int"),
        signalling_qos=dict(type="int"),
        dns_servers=dict(type="list", elements="str"),
        ntp_servers=dict(type="list", elements="str"),
        overflow_location1=dict(type="str", aliases=["primary_overflow_location"]),
        overflow_location2=dict(type="str", aliases=["secondary_overflow_location"]),
        transcoding_location=dict(type="str"),
    )
    module = PexipModule(argument_spec=argument_spec, supports_check_mode=True)
    module.label = "pexip_location '%s'" % module.params["name"]
    errors = validate(module.params)
    if errors:
        module.fail("; ".join(errors) + ".")
    runner = LocationModule(module)
    result = runner.present() if module.params["state"] == "present" else runner.absent()
    if not module._diff:
        result.pop("diff", None)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
