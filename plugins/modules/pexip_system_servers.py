#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: pexip_system_servers
short_description: Manage the DNS and NTP servers of a Pexip Infinity platform
version_added: 0.2.0
author: pexip.infinity contributors (@pexip)
description:
  - Ensures the platform's DNS servers (System > DNS Servers, C(configuration/v1/dns_server/)) and NTP servers
    (System > NTP Servers, C(configuration/v1/ntp_server/)), the first two steps of the guide's "Initial platform
    configuration".
  - Servers are matched by address. Missing ones are created; with O(purge), servers of a given kind that are not
    listed are deleted. A server that a system location or the Management Node still uses is not deleted; the module
    refuses before any write, naming the servers and who uses them.
  - Warns when fewer than three NTP servers are configured - the guide strongly recommends at least three distinct
    NTP servers or pools.
extends_documentation_fragment:
  - pexip.infinity.api
  - pexip.infinity.attributes
attributes:
  diff_mode:
    description: Returns the addresses before and after.
options:
  dns_servers:
    description:
      - IPv4 or IPv6 addresses of DNS servers. Not given - DNS servers are left alone.
    type: list
    elements: str
  ntp_servers:
    description:
      - Addresses or host names of NTP servers (or pools). Not given - NTP servers are left alone.
    type: list
    elements: str
  description:
    description: Description given to servers this module creates.
    type: str
    default: ""
  purge:
    description:
      - Delete the servers of a given kind (O(dns_servers), O(ntp_servers)) that are not listed.
      - Refused, before any write, when a system location or the Management Node uses one of them; take it out of
        those first (M(pexip.infinity.pexip_location), M(pexip.infinity.pexip_management_node)).
    type: bool
    default: false
seealso:
  - module: pexip.infinity.pexip_location
"""

EXAMPLES = r"""
- name: Enable DNS and NTP (System > DNS Servers, System > NTP Servers)
  pexip.infinity.pexip_system_servers:
    dns_servers: [10.0.0.2]
    ntp_servers: [169.254.169.123, 0.pool.ntp.org, 1.pool.ntp.org]

- name: Exactly these NTP servers
  pexip.infinity.pexip_system_servers:
    ntp_servers: [169.254.169.123, 0.pool.ntp.org, 1.pool.ntp.org]
    purge: true
"""

RETURN = r"""
dns_servers:
  description: DNS server addresses configured after the run (sorted).
  returned: always
  type: list
  elements: str
  sample: [10.0.0.2]
ntp_servers:
  description: NTP server addresses configured after the run (sorted).
  returned: always
  type: list
  elements: str
  sample: [0.pool.ntp.org, 1.pool.ntp.org, 169.254.169.123]
created:
  description: Servers created (or, in check mode, that would be), as C(<resource> <address>).
  returned: always
  type: list
  elements: str
deleted:
  description: Servers deleted with O(purge) (or that would be).
  returned: always
  type: list
  elements: str
"""

from ansible_collections.pexip.infinity.plugins.module_utils.catalog import LOCATION, SERVERS
from ansible_collections.pexip.infinity.plugins.module_utils.module import PexipModule
from ansible_collections.pexip.infinity.plugins.module_utils.resource import PAGE, Engine, ref_uri
from ansible_collections.pexip.infinity.plugins.module_utils.servers import server_errors

RECOMMENDED_NTP = 3
#: who may use a DNS or NTP server, through fields named like the options (dns_servers, ntp_servers)
HOLDERS = ((LOCATION.endpoint, "system location"), ("management_vm", "Management Node"))


def wanted(params, key):
    return [a.strip() for a in params[key]] if params.get(key) is not None else None


def refuse_purging_used(module):
    """With purge, refuse (before any write) to delete a server that a location or the Management Node uses."""
    p = module.params
    doomed = {}
    for key in sorted(SERVERS):
        addresses = wanted(p, key)
        if addresses is not None:
            endpoint = SERVERS[key].endpoint
            for obj in module.client.list(endpoint, limit=PAGE):
                if obj["address"] not in addresses:
                    doomed[ref_uri(obj["resource_uri"], endpoint)] = (key, "%s %s" % (endpoint, obj["address"]))
    if not doomed:
        return
    used = {}
    for endpoint, label in HOLDERS:
        for holder in module.client.list(endpoint, limit=PAGE):
            for key in SERVERS:
                for item in holder.get(key) or []:
                    uri = ref_uri(item, SERVERS[key].endpoint)
                    if uri in doomed:
                        used.setdefault(doomed[uri][1], []).append("%s '%s'" % (label, holder.get("name")))
    if used:
        module.fail("purge would delete servers still in use: %s. Keep them in %s, or take them out of those first "
                    "(pexip.infinity.pexip_location, pexip.infinity.pexip_management_node)." % (
                        "; ".join("%s (used by %s)" % (server, ", ".join(sorted(users))) for server, users in sorted(used.items())),
                        " / ".join(sorted(set(doomed[u][0] for u in doomed if doomed[u][1] in used)))))


def ensure(module):
    """Bring the servers in line; returns (result, before, after)."""
    p = module.params
    if p["purge"]:
        refuse_purging_used(module)
    result = dict(changed=False, created=[], deleted=[])
    before, after = {}, {}
    for key in sorted(SERVERS):
        before[key], after[key], created, deleted = Engine(module, SERVERS[key]).ensure_members(
            wanted(p, key), purge=p["purge"], extra=dict(description=p["description"]))
        result["created"].extend(created)
        result["deleted"].extend(deleted)
    result["changed"] = bool(result["created"] or result["deleted"])
    result.update(after)
    if p.get("ntp_servers") is not None and len(after["ntp_servers"]) < RECOMMENDED_NTP:
        module.warn("only %d NTP server(s) configured (%s): the deployment guide strongly recommends at least %d distinct NTP servers "
                    "or pools, so that the log entries of all nodes are properly synchronized."
                    % (len(after["ntp_servers"]), ", ".join(after["ntp_servers"]) or "none", RECOMMENDED_NTP))
    result["diff"] = dict(before=before, after=after) if result["changed"] else dict(before={}, after={})
    return result, before, after


def run(module):
    errors = server_errors(module.params)
    if errors:
        module.fail("; ".join(errors) + ".")
    return ensure(module)[0]


def main():
    module = PexipModule(argument_spec=dict(
        dns_servers=dict(type="list", elements="str"),
        ntp_servers=dict(type="list", elements="str"),
        description=dict(type="str", default=""),
        purge=dict(type="bool", default=False),
    ), label="pexip_system_servers")
    module.run(run)


if __name__ == "__main__":
    main()
