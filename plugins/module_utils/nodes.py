# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Conferencing Node helpers: input validation, payloads, call counting and draining.

Everything here is pure logic or takes a ``PexipClient``; the modules stay thin.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re
import tempfile
import time

WORKER_VM = "worker_vm"

#: module role -> API node_type
ROLES = {"transcoding": "CONFERENCING", "proxying": "PROXYING"}
NODE_TYPE_ROLES = dict((v, k) for k, v in ROLES.items())
SSH_MODES = {"global": "GLOBAL", "on": "ON", "off": "OFF"}

#: fields baked into the bootstrap document: changing them needs a new document
REPLACE_FIELDS = ("hostname", "domain", "address", "netmask", "gateway")
#: fields whose change restarts the node (and drops its calls)
RESTART_FIELDS = ("node_type", "system_location")
#: needed to create a node (module option names)
REQUIRED_ON_CREATE = ("hostname", "domain", "address", "netmask", "gateway", "system_location", "ssh_password")

LIMITS = {"name": 32, "hostname": 63, "domain": 192, "maintenance_mode_reason": 250, "description": 250}

HOSTNAME_RE = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")
DOMAIN_RE = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$")

#: status/v1/participant fields naming the node(s) that carry a call
PARTICIPANT_NODE_FIELDS = ("media_node", "signalling_node", "proxy_node")


# -- addresses ----------------------------------------------------------------------------------
def ipv4_int(value):
    """Dotted-quad IPv4 as an int, or None when ``value`` is not one."""
    if not isinstance(value, str):
        return None
    parts = value.split(".")
    if len(parts) != 4:
        return None
    number = 0
    for part in parts:
        if not part.isdigit() or len(part) > 3 or (len(part) > 1 and part[0] == "0"):
            return None
        octet = int(part)
        if octet > 255:
            return None
        number = (number << 8) | octet
    return number


def is_ipv4(value):
    return ipv4_int(value) is not None


def int_ipv4(number):
    return ".".join(str((number >> shift) & 0xFF) for shift in (24, 16, 8, 0))


def netmask_prefix(value):
    """Prefix length of a dotted netmask (``255.255.255.0`` -> 24), or None if it is not a valid mask."""
    number = ipv4_int(value)
    if number is None:
        return None
    inverted = (~number) & 0xFFFFFFFF
    if inverted & (inverted + 1):  # the host part must be a run of ones
        return None
    prefix = 32 - bin(inverted).count("1")
    return prefix if 1 <= prefix <= 32 else None


def normalize_netmask(value):
    """Accept ``255.255.255.0``, ``24`` or ``/24``; return the dotted form (or the input when invalid)."""
    if isinstance(value, str) and re.match(r"^/?\d{1,2}$", value.strip()):
        prefix = int(value.strip().lstrip("/"))
        if 1 <= prefix <= 32:
            return int_ipv4((0xFFFFFFFF << (32 - prefix)) & 0xFFFFFFFF)
    return value


def same_subnet(address, gateway, netmask):
    mask = ipv4_int(netmask)
    return (ipv4_int(address) & mask) == (ipv4_int(gateway) & mask)


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
    address, gateway = params.get("address"), params.get("gateway")
    if is_ipv4(address) and is_ipv4(gateway) and netmask_prefix(netmask) is not None:
        if not same_subnet(address, gateway, netmask):
            errors.append("gateway %s is not inside the node's subnet %s/%s" % (gateway, address, netmask))
        elif address == gateway:
            errors.append("gateway %s must not be the node's own address" % gateway)
    for field in ("idle_timeout", "poll_interval"):
        value = params.get(field)
        if value is not None and value <= 0:
            errors.append("%s must be a positive number of seconds" % field)
    return errors


def missing_on_create(params):
    return [field for field in REQUIRED_ON_CREATE if params.get(field) in (None, "")]


# -- payloads -----------------------------------------------------------------------------------
def node_payload(params, location_uri=None, tls_uri=None):
    """The worker_vm fields the user asked for (only the options that were set). No password."""
    data = {}
    for field in ("name", "hostname", "domain", "address", "netmask", "gateway", "static_nat_address",
                  "enable_distributed_database", "maintenance_mode", "maintenance_mode_reason", "description"):
        if params.get(field) is not None:
            data[field] = params[field]
    if data.get("static_nat_address") == "":
        data["static_nat_address"] = None  # the API clears it with null
    if params.get("role") is not None:
        data["node_type"] = ROLES[params["role"]]
    if params.get("enable_ssh") is not None:
        data["enable_ssh"] = SSH_MODES[params["enable_ssh"]]
    if location_uri is not None:
        data["system_location"] = location_uri
    if params.get("tls_certificate") is not None:
        data["tls_certificate"] = tls_uri or None
    return data


def create_payload(wanted, password_hash):
    """A configuration-only ("Generic") deployment: the POST answers with the bootstrap document."""
    data = dict(wanted)
    data.setdefault("node_type", ROLES["transcoding"])
    data["password"] = password_hash
    data["deployment_type"] = "MANUAL-PROVISION-ONLY"
    return data


def changed_fields(current, wanted, fields):
    """Those of ``fields`` whose wanted value differs from the current one."""
    out = []
    for field in fields:
        if field not in wanted:
            continue
        have = current.get(field)
        if isinstance(have, dict):
            have = have.get("resource_uri")
        if have in (None, "") and wanted[field] in (None, ""):
            continue
        if have != wanted[field]:
            out.append(field)
    return out


def role_conflicts(nodes, node_type, own_name=None):
    """Names of ``nodes`` (worker_vm objects of one location) whose role differs from ``node_type``."""
    return sorted(n.get("name") for n in nodes
                  if n.get("name") != own_name and (n.get("node_type") or ROLES["transcoding"]) != node_type)


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


def write_private(path, content):
    """Write ``content`` to ``path`` atomically, readable by the owner only (0600)."""
    path = os.path.abspath(os.path.expanduser(path))
    directory = os.path.dirname(path)
    fd, tmp = tempfile.mkstemp(prefix=".%s." % os.path.basename(path), dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content.encode("utf-8") if not isinstance(content, bytes) else content)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o600)
        os.rename(tmp, path)
    except Exception:
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


def wait_until_idle(client, address, timeout, interval, log=None, sleep=None, clock=None):
    """Poll until no participant and no conference shard names ``address``.

    Returns ``(idle, counts, lines)``; ``lines`` is the progress log (also fed to ``log``).
    """
    sleep = sleep or time.sleep
    clock = clock or time.time
    lines = []
    start = clock()
    while True:
        counts = count_calls(client, address)
        elapsed = int(clock() - start)
        line = "%ds: node %s carries %s" % (elapsed, address, calls_text(counts))
        lines.append(line)
        if log is not None:
            log(line)
        if counts["total"] == 0:
            return True, counts, lines
        remaining = timeout - (clock() - start)
        if remaining <= 0:
            return False, counts, lines
        sleep(min(interval, remaining))
