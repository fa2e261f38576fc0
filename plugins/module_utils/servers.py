# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""DNS and NTP servers: their addresses as pexip_location and pexip_system_servers take them (checked here), and how
the engine links a resource to them (``ServerLinks``)."""

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


class ServerLinks(object):
    """A resource's DNS and NTP servers (a ``Field(many=...)``): given by address, linked by URI, created when missing.

    The engine's to-many fields go through this; it reads and writes through the engine (its client, its ``Names``
    cache keyed by address, check mode).
    """

    def __init__(self, engine):
        self.engine = engine

    def addresses(self, endpoint, items):
        """Addresses of a to-many value (nested objects, or bare URIs looked up in one list of the endpoint)."""
        # An empty entry (a reference to a deleted server) names no server: it must not crash the comparison.
        items = [i for i in items or [] if i]
        names = self.engine.names
        if any(not isinstance(i, dict) for i in items) and not names.complete(endpoint, "address"):
            self.engine.load_all(endpoint, "address")
        return sorted(i.get("address") if isinstance(i, dict) else names.value(i, "address") or i for i in items)

    def find(self, endpoint, address):
        """The server object with this address (the oldest, should there be several), or None."""
        found = self.engine.client.list(endpoint, address=address)
        found = sorted((s for s in found if s.get("address") == address), key=lambda s: s.get("id") or 0)
        return found[0] if found else None

    def create(self, endpoint, address, extra=None):
        obj, dummy = self.engine.client.create(endpoint, dict(extra or {}, address=address),
                                               lookup=lambda: self.find(endpoint, address))
        return obj

    def uris(self, field, current, wanted):
        """address -> URI of ``wanted`` (addresses of ``field.many``), creating the missing servers (only reported in
        check mode); returns (uris, created: "<endpoint> <address>")."""
        endpoint = field.many
        known = self.engine.names.known(endpoint, "address")
        known.update((i["address"], i["resource_uri"]) for i in current or [] if isinstance(i, dict) and i.get("resource_uri"))
        uris, created = {}, []
        for address in wanted:
            uri = known.get(address)
            if uri is None:
                found = self.find(endpoint, address)
                uri = found["resource_uri"] if found else None
            if uri is None:
                created.append("%s %s" % (endpoint, address))
                if not self.engine.module.check_mode:
                    uri = self.create(endpoint, address)["resource_uri"]
            uris[address] = uri
        return uris, created

    def ensure_members(self, addresses, purge=False, extra=None):
        """The platform's servers (the engine's resource is the server endpoint itself): create those of ``addresses``
        that are missing, with ``purge`` delete the others. Returns (before, after, created, deleted): sorted
        addresses, "<endpoint> <address>"."""
        engine = self.engine
        endpoint = engine.resource.endpoint
        current = engine.load_all(endpoint, "address")
        before = sorted(obj["address"] for obj in current)
        if addresses is None:
            return before, before, [], []
        created, deleted = [], []
        for address in addresses:
            if address in before:
                continue
            created.append("%s %s" % (endpoint, address))
            if not engine.module.check_mode:
                self.create(endpoint, address, extra)
        final = set(before) | set(addresses)
        for obj in current if purge else []:
            if obj["address"] not in addresses:
                deleted.append("%s %s" % (endpoint, obj["address"]))
                final.discard(obj["address"])
                if not engine.module.check_mode:
                    engine.client.delete(obj["resource_uri"])
        return before, sorted(final), created, deleted
