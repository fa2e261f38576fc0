# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Conferencing Node helpers: input validation, the bootstrap document, call counting and draining.

Everything here is pure logic or takes a ``PexipClient``; the modules stay thin.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import json
import os
import re
import tempfile

from ansible_collections.pexip.infinity.plugins.module_utils.bootstrap import is_private_address
from ansible_collections.pexip.infinity.plugins.module_utils.catalog import ROLES

#: API node_type -> role (the inventory plugin's name for it)
NODE_TYPE_ROLES = dict((v, k) for k, v in ROLES.items())

#: fields baked into the bootstrap document: changing them needs a new document
REPLACE_FIELDS = ("hostname", "domain", "address", "netmask", "gateway")
#: needed to create a node (module option names)
REQUIRED_ON_CREATE = ("hostname", "domain", "address", "netmask", "gateway", "system_location", "ssh_password")

LIMITS = {"name": 32, "hostname": 63, "domain": 192, "maintenance_mode_reason": 250, "description": 250}

HOSTNAME_RE = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")
DOMAIN_RE = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$")

#: status/v1/participant fields naming the node(s) that carry a call
PARTICIPANT_NODE_FIELDS = ("media_node", "signalling_node", "proxy_node")


# -- addresses ----------------------------------------------------------------------------------
def is_ipv4(value):
    try:
        return isinstance(value, str) and bool(ipaddress.IPv4Address(value))
    except ValueError:
        return False


def netmask_prefix(value):
    """Prefix length of a dotted netmask (``255.255.255.0`` -> 24), or None if it is not a valid mask."""
    if not is_ipv4(value):
        return None
    try:
        network = ipaddress.IPv4Network("0.0.0.0/%s" % value)
    except ValueError:
        return None
    # ipaddress also takes a host mask (0.0.0.255); a netmask must read back as itself
    return network.prefixlen if str(network.netmask) == value and network.prefixlen >= 1 else None


def normalize_netmask(value):
    """Accept ``255.255.255.0``, ``24`` or ``/24``; return the dotted form (or the input when invalid)."""
    if isinstance(value, str) and re.match(r"^/?\d{1,2}$", value.strip()):
        prefix = int(value.strip().lstrip("/"))
        if 1 <= prefix <= 32:
            return str(ipaddress.IPv4Network("0.0.0.0/%d" % prefix).netmask)
    return value


#: No real node has a loopback address, but the test lab's VPC is 127.20.0.0/16 (docs/lab.md): the lab says so
#: explicitly, with the modules' allow_loopback_addresses (inventory: pexip_allow_loopback_addresses).
LOOPBACK = ipaddress.IPv4Network("127.0.0.0/8")
LOOPBACK_PROBLEM = ("is a loopback address, which no real node has: give the instance's address in its VPC subnet "
                    "(only a test lab on loopback sets allow_loopback_addresses, pexip_allow_loopback_addresses: true)")

#: addresses no host has, whatever its subnet (loopback: see LOOPBACK)
SPECIAL_NETWORKS = (
    (ipaddress.IPv4Network("0.0.0.0/8"), "is in 0.0.0.0/8 ('this network'), not a host address"),
    (ipaddress.IPv4Network("169.254.0.0/16"), "is a link-local address"),
    (ipaddress.IPv4Network("224.0.0.0/4"), "is a multicast address"),
    (ipaddress.IPv4Network("240.0.0.0/4"), "is a reserved (class E) or the broadcast address"),
)

#: AWS reserves, besides the network and broadcast addresses, the next three of every subnet (offset: why)
AWS_RESERVED = {1: "is the gateway (router) address of %s", 2: "is reserved by AWS (DNS) in %s", 3: "is reserved by AWS in %s"}


def special_problem(host, allow_loopback=False):
    if host in LOOPBACK and not allow_loopback:
        return LOOPBACK_PROBLEM
    for network, problem in SPECIAL_NETWORKS:
        if host in network:
            return problem
    return ""


def host_address_problem(address, network, shown=None, reserved=None, allow_loopback=False):
    """'' when ``address`` is a usable host address of ``network`` (an ``IPv4Network``), else why not, as a phrase
    ("is the broadcast address of 10.0.1.0/24"). ``shown``: how the phrase names the network; ``reserved``:
    {offset from the network address: phrase} of more addresses it keeps (AWS_RESERVED); ``allow_loopback``: the
    test lab's permission for 127.0.0.0/8. The one rule behind pexip_node's validation and the ``host_address_problem``
    filter."""
    try:
        host = ipaddress.IPv4Address(str(address).strip())
    except ValueError:
        return "is not an IPv4 address"
    if special_problem(host, allow_loopback):
        return special_problem(host, allow_loopback)
    if host not in network:
        return "is not in the subnet %s" % network
    shown = shown or str(network)
    if network.prefixlen <= 30 and host in (network.network_address, network.broadcast_address):  # RFC 3021: /31 has neither
        return "is the %s address of %s" % ("network" if host == network.network_address else "broadcast", shown)
    offset, reserved = int(host) - int(network.network_address), reserved or {}
    return reserved[offset] % shown if offset in reserved else ""


def subnet_errors(address, gateway, netmask, allow_loopback=False):
    """The address must be a usable host of its subnet, and the gateway another one in it."""
    network = ipaddress.IPv4Interface("%s/%s" % (address, netmask)).network
    if ipaddress.IPv4Address(gateway) not in network:
        return ["gateway %s is not inside the node's subnet %s/%s" % (gateway, address, netmask)]
    if address == gateway:
        return ["gateway %s must not be the node's own address" % gateway]
    shown = "the subnet %s" % network
    return ["%s %s %s" % (field, value, problem)
            for field, value in (("address", address), ("gateway", gateway))
            for problem in [host_address_problem(value, network, shown, allow_loopback=allow_loopback)] if problem]


def static_nat_problem(value):
    """'' when ``value`` can be a node's public (static NAT) address, else why not."""
    host = ipaddress.IPv4Address(value)
    if special_problem(host, allow_loopback=True):  # loopback: refused below as a private address
        return special_problem(host, allow_loopback=True)
    if is_private_address(value):
        return "is a private address; the static NAT address is the node's public address (such as its Elastic IP)"
    return ""


# -- validation ---------------------------------------------------------------------------------
def validate_node(params):
    """Problems with the node options that need no request (list of sentences; empty = fine)."""
    errors = []
    for field, limit in LIMITS.items():
        value = params.get(field)
        if value is not None and len(value) > limit:
            errors.append("%s is %d characters long; at most %d are allowed" % (field, len(value), limit))
    if params.get("name") is not None and not params["name"].strip():
        errors.append("name must not be empty")
    hostname = params.get("hostname")
    if hostname is not None and len(hostname) <= LIMITS["hostname"] and not HOSTNAME_RE.match(hostname):
        errors.append("hostname '%s' is not a valid host name (letters, digits and '-', no dots; "
                      "the domain goes into domain)" % hostname)
    domain = params.get("domain")
    if domain is not None and len(domain) <= LIMITS["domain"] and not DOMAIN_RE.match(domain):
        errors.append("domain '%s' is not a valid DNS domain" % domain)
    for label in (domain or "").split(".") if domain and len(domain) <= LIMITS["domain"] else ():
        if len(label) > 63:
            errors.append("domain '%s': its label '%s' is %d characters long; a DNS label has at most 63" % (domain, label, len(label)))
    for field in ("address", "gateway"):
        value = params.get(field)
        if value is not None and not is_ipv4(value):
            errors.append("%s '%s' is not an IPv4 address" % (field, value))
    netmask = params.get("netmask")
    if netmask is not None and netmask_prefix(netmask) is None:
        errors.append("netmask '%s' is not a valid IPv4 netmask (e.g. 255.255.255.0 or 24)" % netmask)
    nat = params.get("static_nat_address")
    if nat not in (None, "") and not is_ipv4(nat):
        errors.append("static_nat_address '%s' is not an IPv4 address (use '' to clear it)" % nat)
    elif nat and static_nat_problem(nat):
        errors.append("static_nat_address %s %s" % (nat, static_nat_problem(nat)))
    address, gateway = params.get("address"), params.get("gateway")
    if is_ipv4(address) and is_ipv4(gateway) and netmask_prefix(netmask) is not None:
        errors.extend(subnet_errors(address, gateway, netmask, bool(params.get("allow_loopback_addresses"))))
    return errors


def missing_on_create(params):
    return [field for field in REQUIRED_ON_CREATE if params.get(field) in (None, "")]


# -- roles and the bootstrap document ------------------------------------------------------------
def role_conflicts(nodes, node_type, own_name=None):
    """Names of ``nodes`` (worker_vm objects of one location) whose role differs from ``node_type``."""
    return sorted(n.get("name") for n in nodes
                  if n.get("name") != own_name and (n.get("node_type") or "CONFERENCING") != node_type)


def bootstrap_document(response):
    """The XML document a configuration-only create answers with.

    The body is the document itself; a JSON-wrapped form (UNCONFIRMED) is unwrapped.
    """
    if response is None:
        return None
    text = response.text or ""
    stripped = text.lstrip()
    if stripped.startswith("<"):
        return text
    try:
        body = json.loads(text)
    except ValueError:
        return text or None
    if isinstance(body, str):
        return body
    if isinstance(body, dict):
        for value in body.values():
            if isinstance(value, str) and value.lstrip().startswith("<"):
                return value
    return None


def write_private(path, content, check=None):
    """Write ``content`` (text, bytes, or an iterable of byte blocks, e.g. a streamed download) to ``path`` atomically,
    readable by the owner only (0600). ``check()``, called once all is written, may raise: ``path`` then stays as it
    was, and nothing is left behind."""
    path = os.path.abspath(os.path.expanduser(path))
    fd, tmp = tempfile.mkstemp(prefix=".%s." % os.path.basename(path), suffix=".part", dir=os.path.dirname(path))
    blocks = [content.encode("utf-8")] if isinstance(content, str) else [content] if isinstance(content, bytes) else content
    try:
        with os.fdopen(fd, "wb") as handle:
            for block in blocks:
                handle.write(block)
            handle.flush()
            os.fsync(handle.fileno())
        if check is not None:
            check()
        os.chmod(tmp, 0o600)
        os.rename(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


# -- live calls ---------------------------------------------------------------------------------
def _participant_key(obj):
    return obj.get("resource_uri") or obj.get("id") or obj.get("call_uuid") or json.dumps(obj, sort_keys=True)


def count_calls(client, address):
    """Live participants and conference shards on the node at ``address``.

    A participant counts when any of media_node, signalling_node or proxy_node names the node;
    each is looked up with its own filter and the results are merged (a participant is counted once).
    """
    participants = {}
    for field in PARTICIPANT_NODE_FIELDS:
        for obj in client.list("participant", api="status", **{field: address}):
            participants[_participant_key(obj)] = obj
    shards = client.list("conference_shard", api="status", node=address)
    return {"participants": len(participants), "conference_shards": len(shards),
            "total": len(participants) + len(shards)}


def counts_by_address(participants, shards):
    """{address: {"participants": n, "conference_shards": m}} from full status lists."""
    out = {}

    def entry(address):
        return out.setdefault(address, {"participants": 0, "conference_shards": 0})

    for obj in participants:
        for address in set(obj.get(f) for f in PARTICIPANT_NODE_FIELDS if obj.get(f)):
            entry(address)["participants"] += 1
    for obj in shards:
        if obj.get("node"):
            entry(obj["node"])["conference_shards"] += 1
    return out


def calls_text(counts):
    return "%d live call(s): %d participant(s) and %d conference shard(s)" % (
        counts["total"], counts["participants"], counts["conference_shards"])


def wait_until_idle(client, address, waiter, log=None):
    """Poll (with a ``waiter.Waiter``) until no participant and no conference shard names ``address``.

    Returns ``(idle, counts, lines)``; ``lines`` is the progress log (also fed to ``log``).
    """
    lines = []

    def progress(counts, elapsed):
        lines.append("%ds: node %s carries %s" % (int(elapsed), address, calls_text(counts)))
        if log is not None:
            log(lines[-1])

    idle, counts, dummy = waiter.wait(lambda: count_calls(client, address), lambda counts: counts["total"] == 0, progress)
    return idle, counts, lines
