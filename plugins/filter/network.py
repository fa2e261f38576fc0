# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""IPv4 subnet arithmetic the Conferencing Node deployment needs (netmask and gateway of an AWS subnet).

ansible.utils is not a dependency of this collection, so the two filters are written with the standard
library's ipaddress module. Their documentation lives next to this file (netmask.yml, first_usable.yml),
as ansible-doc expects for a file that provides more than one filter.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_text
from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.pexip.infinity.plugins.module_utils import nodes


def _network(value, name):
    if not isinstance(value, str):
        value = to_text(value) if value is not None else ""
    if "/" not in value:
        raise AnsibleFilterError("%s: %r is not a network in CIDR notation (like 10.0.1.0/24)" % (name, value))
    try:
        network = ipaddress.ip_network(value.strip(), strict=False)
    except ValueError as exc:
        raise AnsibleFilterError("%s: %r is not a network in CIDR notation: %s" % (name, value, exc))
    if network.version != 4:
        raise AnsibleFilterError("%s: %r is not an IPv4 network" % (name, value))
    return network


def netmask(value):
    """'10.0.16.0/20' -> '255.255.240.0'."""
    return str(_network(value, "netmask").netmask)


def first_usable(value):
    """'10.0.16.0/20' -> '10.0.16.1': the first host address, which AWS gives the subnet's router."""
    network = _network(value, "first_usable")
    if network.prefixlen >= 31:
        raise AnsibleFilterError("first_usable: %s has no usable host address before its last one" % network)
    return str(network.network_address + 1)


def host_address_problem(address, cidr, allow_loopback=False):
    """'' when address is a host AWS lets an instance have in subnet cidr, else why not ('10.0.1.255', '10.0.1.0/24'
    -> 'is the broadcast address of 10.0.1.0/24'). AWS reserves the network address, the next three (router, DNS,
    future use) and the broadcast address of every subnet. The rule is pexip_node's (module_utils/nodes.py)."""
    return nodes.host_address_problem(to_text(address), _network(cidr, "host_address_problem"), reserved=nodes.AWS_RESERVED,
                                      allow_loopback=boolean(allow_loopback, strict=False))


class FilterModule(object):
    def filters(self):
        return {
            "netmask": netmask,
            "first_usable": first_usable,
            "host_address_problem": host_address_problem,
        }
