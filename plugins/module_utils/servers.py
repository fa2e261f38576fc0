# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""DNS and NTP server addresses, as pexip_location and pexip_system_servers take them."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import re

# option / API field -> server resource
SERVERS = (("dns_servers", "dns_server"), ("ntp_servers", "ntp_server"))
_LABEL = re.compile(r"^[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$")


def valid_ip(address):
    try:
        ipaddress.ip_address(address)
        return True
    except ValueError:
        return False


def valid_address(address):
    """True for an IPv4/IPv6 address or a DNS host name."""
    if valid_ip(address):
        return True
    name = address[:-1] if address.endswith(".") else address
    if not name or len(name) > 253:
        return False
    labels = name.split(".")
    if not all(_LABEL.match(label) for label in labels):
        return False
    # "10.0.0" or "300.1.1.1" is a mistyped address, not a host name.
    return not labels[-1].isdigit()


def server_errors(params):
    """What is wrong with the dns_servers / ntp_servers lists (DNS servers must be IP addresses)."""
    errors = []
    for key, dummy in SERVERS:
        seen = set()
        for address in params.get(key) or []:
            address = (address or "").strip()
            if key == "dns_servers" and not valid_ip(address):
                errors.append("dns_servers: '%s' is not an IPv4 or IPv6 address" % address)
            elif not valid_address(address):
                errors.append("%s: '%s' is not an IP address or host name" % (key, address))
            elif address.lower() in seen:
                errors.append("%s lists '%s' twice" % (key, address))
            seen.add(address.lower())
    return errors
