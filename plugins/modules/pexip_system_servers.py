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
    listed are deleted (Pexip then removes them from the locations that used them).
  - Warns when fewer than three NTP servers are configured - the guide strongly recommends at least three distinct
    NTP servers or pools.
extends_documentation_fragment:
  - pexip.infinity.api
attributes:
  check_mode:
    description: Can run in check mode and return changed status prediction without modifying the target.
    support: full
  diff_mode:
    description: Returns the addresses before and after.
    support: full
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
    description: Delete the servers of a given kind (O(dns_servers), O(ntp_servers)) that are not listed.
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

from ansible_collections.pexip.infinity.plugins.module_utils.module import PexipModule
from ansible_collections.pexip.infinity.plugins.module_utils.servers import SERVERS, server_errors

RECOMMENDED_NTP = 3
PAGE = 1000


def ensure(module):
    """Bring the servers in line; returns (result, before, after). ``module``: client, params, check_mode, call, warn."""
    p = module.params
    client = module.client
    result = dict(changed=False, created=[], deleted=[])
    before, after = {}, {}
    for key, resource in SERVERS:
        current = module.call(client.list, resource, limit=PAGE)
        addresses = sorted(obj["address"] for obj in current)
        before[key] = addresses
        wanted = p.get(key)
        if wanted is None:
            after[key] = addresses
            continue
        wanted = [a.strip() for a in wanted]
        for address in wanted:
            if address in addresses:
                continue
            result["created"].append("%s %s" % (resource, address))
            if not module.check_mode:
                module.call(client.create, resource, {"address": address, "description": p["description"]},
                            lookup=lambda r=resource, a=address: client.find(r, address=a))
        final = set(addresses) | set(wanted)
        if p["purge"]:
            for obj in current:
                if obj["address"] not in wanted:
                    result["deleted"].append("%s %s" % (resource, obj["address"]))
                    final.discard(obj["address"])
                    if not module.check_mode:
                        module.call(client.delete, obj["resource_uri"])
        after[key] = sorted(final)
    result["changed"] = bool(result["created"] or result["deleted"])
    result.update(after)
    if p.get("ntp_servers") is not None and len(after["ntp_servers"]) < RECOMMENDED_NTP:
        module.warn("only %d NTP server(s) configured (%s): the deployment guide strongly recommends at least %d distinct NTP servers "
                    "or pools, so that the log entries of all nodes are properly synchronized."
                    % (len(after["ntp_servers"]), ", ".join(after["ntp_servers"]) or "none", RECOMMENDED_NTP))
    return result, before, after


def main():
    module = PexipModule(argument_spec=dict(
        dns_servers=dict(type="list", elements="str"),
        ntp_servers=dict(type="list", elements="str"),
        description=dict(type="str", default=""),
        purge=dict(type="bool", default=False),
    ), supports_check_mode=True)
    module.label = "pexip_system_servers"
    errors = server_errors(module.params)
    if errors:
        module.fail("; ".join(errors) + ".")
    result, before, after = ensure(module)
    if module._diff:
        result["diff"] = dict(before=before, after=after) if result["changed"] else dict(before={}, after={})
    module.exit_json(**result)


if __name__ == "__main__":
    main()
