# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The declarative resource engine: a Management Node object is declared once, the engine does the rest.

A declaration names the endpoint, how one object is found (``key``: a field such as ``name`` or ``fulfillment_id``,
or ``singleton``: the URI of the only object, like ``global/1``) and its fields. The engine looks the object up
(one filtered GET), compares (``differs``: the one comparison of the collection), creates, updates or deletes it,
honours check mode, builds the diff, masks secrets and shapes the output. For example::

    from ansible_collections.pexip.infinity.plugins.module_utils.resource import Engine, Field, Resource

    LICENCE = Resource("licence", key="fulfillment_id", label="licence", fields=(
        Field("entitlement_id"),
        Field("offline_mode", option="offline", type="bool"),     # option name differs from the API field
        Field("system_location", relation="system_location"),     # given by name, sent as a resource URI
        Field("tls_certificate", relation="tls_certificate", relation_key="subject_name"),  # by subject name or URI
        Field("dns_servers", many="dns_server"),                  # given by address, created when missing
        Field("password", secret=True, write_only=True),          # never compared, never returned
        Field("node_type", option="role", choices={"transcoding": "CONFERENCING"}, restarts=True),
    ), output=None)                                               # or a tuple: the API keys a module may return

    def main():
        module = PexipModule(argument_spec=LICENCE.argument_spec())   # fulfillment_id, state and one option a field
        module.label = "pexip_licence '%s'" % module.params["fulfillment_id"]
        module.run(lambda module: Engine(module, LICENCE).run(output="licence"))

``Engine.run()`` (state present/absent) returns ``changed``, ``diff`` (dropped by ``module.exit`` outside diff mode)
and the object under ``output``, with ``<relation>_name`` and ``<endpoint>_addresses`` added and secrets removed.
Singletons: ``Resource("global", singleton=GLOBAL_URI, fields=...)``; ``run()`` then only updates.

The steps ``run()`` uses are public for modules with extra rules (pexip_node, pexip_location): ``lookup`` (one GET),
``wanted`` (options -> engine terms), ``changes`` (the fields that differ), ``ensure`` (create/update, check mode,
diff; returns an ``Outcome``), ``remove``, ``result``, ``public`` (output), ``annotate``, ``ensure_members``.

The engine fails nothing itself: the client's errors and its own ``PexipReferenceError`` (an option names no object,
or several) are raised, and ``PexipModule.run`` turns them into the module's failure. Names and URIs the engine has
read are cached in its ``Names``, the collection's one such cache; the DNS and NTP servers of a to-many field are
handled by ``servers.ServerLinks``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.pexip.infinity.plugins.module_utils import secrets
from ansible_collections.pexip.infinity.plugins.module_utils.api import PexipError, resource_path
from ansible_collections.pexip.infinity.plugins.module_utils.servers import ServerLinks

WRITE_ONLY = "(write-only: not readable)"
#: one page big enough for every object of a deployment (Tastypie caps it at its max_limit and pages)
PAGE = 1000
#: the module that creates objects of an endpoint, for "does not exist" messages
CREATED_BY = {"system_location": "pexip.infinity.pexip_location", "tls_certificate": "pexip.infinity.pexip_tls_certificate"}
#: at most this many existing names are listed in an "unknown name" message
SHOWN_NAMES = 20


class PexipReferenceError(PexipError):
    """An option names no object on the Management Node, or several: ``msg`` names the value and what to fix."""


def related_uri(value):
    """A related object as the API may return it (URI or nested object) -> its URI."""
    if isinstance(value, dict):
        return value.get("resource_uri")
    return value


def ref_uri(value, endpoint):
    """Canonical URI of a related value (URI, absolute URL, nested object or bare id) of ``endpoint``; else None."""
    value = related_uri(value)
    if value in (None, ""):
        return None
    if isinstance(value, int) or str(value).isdigit():
        return resource_path(endpoint, obj_id=int(value))
    parts = str(value).rstrip("/").split("/")
    if len(parts) >= 2 and parts[-2] == endpoint and parts[-1].isdigit():
        return resource_path(endpoint, obj_id=int(parts[-1]))
    return None


def empty(value):
    return value in (None, "") or value == []


def differs(have, want):
    """The collection's one comparison: API value vs wanted value (nested objects by URI, lists as sets, null == "")."""
    if isinstance(want, list) or isinstance(have, list):
        return sorted(str(related_uri(v)) for v in have or []) != sorted(str(v) for v in want or [])
    if empty(have) and empty(want):
        return False
    return related_uri(have) != want


class Field(object):
    """One field of a resource. ``option``: the module option (default: the field name)."""

    def __init__(self, name, option=None, relation=None, many=None, choices=None, secret=False, write_only=False,
                 restarts=False, label=None, clear="", type="str", aliases=None, relation_key="name"):  # pylint: disable=redefined-builtin
        self.name = name
        self.type = type
        self.aliases = aliases
        self.option = option or name
        self.relation = relation      # endpoint: the option gives a name, the API takes its URI
        self.relation_key = relation_key  # the related object's field the option gives ("name", "subject_name")
        self.many = many              # endpoint: the option gives addresses, the API takes a list of URIs
        self.choices = choices        # option value -> API value
        self.secret = secret          # masked in diffs, never returned
        self.write_only = write_only  # the API never returns it: not compared
        self.restarts = restarts      # a change restarts the node
        self.label = label or name.replace("_", " ")
        self.clear = None if relation else clear  # what "" becomes in the API

    def spec(self):
        """The module option's argument spec."""
        spec = dict(type="list", elements="str") if self.many else dict(type=self.type)
        if self.choices:
            spec["choices"] = list(self.choices)
        if self.secret or secrets.NO_LOG_HINT.search(self.option):
            spec["no_log"] = self.secret  # explicit: ansible-test asks for it on names like these
        if self.aliases:
            spec["aliases"] = list(self.aliases)
        return spec

    def wanted(self, value):
        """The option's value in engine terms: API scalars, relation names, sorted addresses."""
        if self.many:
            return sorted(a.strip() for a in value)
        if self.choices:
            return self.choices[value]
        if value == "":
            return self.clear
        return value

    def shown(self, value):
        """Option value of an API value (choices mapped back)."""
        if self.choices:
            return dict((v, k) for k, v in self.choices.items()).get(value, value)
        return value


class Resource(object):
    def __init__(self, endpoint, fields, key="name", singleton=None, label=None, output=None):
        self.endpoint = endpoint
        self.fields = tuple(fields)
        self.key = None if singleton else key
        self.singleton = singleton
        self.label = label or endpoint.replace("_", " ")
        self.output = output  # allow-list of returned API keys (None: all but secrets)
        self.by_name = dict((f.name, f) for f in self.fields)

    def field(self, name):
        return self.by_name[name]

    def argument_spec(self, **extra):
        """The options of a module managing this resource: the key (required), ``state`` and every field; ``extra``
        adds or overrides options."""
        spec = dict((f.option, f.spec()) for f in self.fields)
        if self.key:
            spec[self.key] = dict(type="str", required=True)
            spec["state"] = dict(type="str", default="present", choices=["present", "absent"])
        spec.update(extra)
        return spec

    def secret_keys(self):
        return [f.name for f in self.fields if f.secret]


class Outcome(object):
    def __init__(self, changed=False, obj=None, diff=None, response=None, created=None, keys=()):
        self.changed = changed
        self.obj = obj            # the object after the run (as it would be, in check mode); None when absent
        self.diff = diff or dict(before={}, after={})
        self.response = response  # the create answer (None when not created or lost in flight)
        self.created = created or []   # related objects created (or that would be): "dns_server 10.0.0.2"
        self.keys = list(keys)    # the fields changed


class Names(object):
    """The one name <-> URI cache of a module run: what the objects read so far are called (by a ``key``: name,
    subject_name, address) and which endpoints were read whole (a value not cached there names nothing)."""

    def __init__(self):
        self.uris = {}        # (endpoint, key, value) -> URI
        self.values = {}      # (URI, key) -> value
        self.whole = set()    # (endpoint, key) of the endpoints read whole

    def remember(self, endpoint, obj, key="name"):
        if obj and obj.get(key) is not None and obj.get("resource_uri"):
            self.uris[(endpoint, key, obj[key])] = obj["resource_uri"]
            self.values[(obj["resource_uri"], key)] = obj[key]

    def remember_all(self, endpoint, objs, key="name"):
        for obj in objs:
            self.remember(endpoint, obj, key)
        self.whole.add((endpoint, key))
        return objs

    def complete(self, endpoint, key="name"):
        return (endpoint, key) in self.whole

    def uri(self, endpoint, value, key="name"):
        return self.uris.get((endpoint, key, value))

    def value(self, uri, key="name"):
        return self.values.get((uri, key))

    def known(self, endpoint, key="name"):
        """value -> URI of every ``endpoint`` object cached (a copy)."""
        return dict((v, u) for (e, k, v), u in self.uris.items() if e == endpoint and k == key)


class Engine(object):
    """Runs one ``Resource`` for a ``PexipModule`` (its client, params and check mode). API errors are raised, and so
    are ``PexipReferenceError`` (an option names no object, or several): ``module.run`` turns them into failures."""

    def __init__(self, module, resource):
        self.module = module
        self.resource = resource
        self.client = module.client
        self.names = Names()
        self.listed = {}      # endpoint -> every object, for relations by a key other than the name
        self.servers = ServerLinks(self)

    # -- reading -------------------------------------------------------------------------------
    def load_all(self, endpoint, key="name"):
        """Every object of ``endpoint`` in one large page; their ``key`` is cached."""
        return self.names.remember_all(endpoint, self.client.list(endpoint, limit=PAGE), key)

    def self_relations(self):
        return [f for f in self.resource.fields if f.relation == self.resource.endpoint]

    def lookup(self, value=None, wanted=None):
        """The object (or None) in one GET: filtered by key, or the singleton.

        When it or ``wanted`` refers to objects of its own endpoint by name (a location's overflow locations), every
        object of the endpoint is read instead, in one large page, so that names resolve without a request each.
        """
        r = self.resource
        if r.singleton:
            return self.client.get(r.singleton)
        mine = self.self_relations()
        if any((wanted or {}).get(f.name) for f in mine):
            matches = self.load_all(r.endpoint)
        else:
            matches = self.client.list(r.endpoint, **{r.key: value})
            if matches and any(ref_uri(matches[0].get(f.name), r.endpoint) for f in mine):
                matches = self.load_all(r.endpoint)
        matches = [m for m in matches if m.get(r.key) == value]
        if len(matches) > 1:
            raise PexipReferenceError("%d %s objects have this %s; remove the duplicates in the Administrator interface." % (
                len(matches), r.label, r.key))
        return matches[0] if matches else None

    def wanted(self, params):
        """The given options (not None), in engine terms; write-only fields excluded."""
        return dict((f.name, f.wanted(params[f.option])) for f in self.resource.fields
                    if params.get(f.option) is not None and not f.write_only)

    def uri_of(self, field, name):
        """URI of the ``field.relation`` object called ``name``; raises (naming the field) when there is none."""
        if field.relation_key != "name":
            return self.uri_by_key(field, name)
        uri = self.names.uri(field.relation, name)
        if uri is None and not self.names.complete(field.relation):
            found = self.client.find(field.relation, name=name)
            self.names.remember(field.relation, found)
            uri = found and found["resource_uri"]
        if uri is None:
            hint = CREATED_BY.get(field.relation)
            raise PexipReferenceError("%s '%s' does not exist on the Management Node; create it first%s or correct the name." % (
                field.label, name, " (%s)" % hint if hint else ""))
        return uri

    def uri_by_key(self, field, value):
        """URI of the one ``field.relation`` object whose ``field.relation_key`` is ``value`` (or whose URI it is).

        Such a key (a certificate's subject name) need not be unique and its filter is not documented: the objects,
        few, are read in one list and matched here. Unknown -> the existing values are listed; several -> ask for the URI.
        """
        endpoint, key = field.relation, field.relation_key
        if endpoint not in self.listed:
            self.listed[endpoint] = self.load_all(endpoint, key)
        objs = self.listed[endpoint]
        uri = ref_uri(value, endpoint) if str(value).startswith("/") else None
        found = [o["resource_uri"] for o in objs if (ref_uri(o.get("resource_uri"), endpoint) == uri if uri else o.get(key) == value)]
        key_label = key.replace("_", " ")
        if len(found) > 1:
            raise PexipReferenceError("%d %ss have the %s '%s' (%s): give the resource URI of the one to use instead." % (
                len(found), field.label, key_label, value, ", ".join(sorted(found))))
        if not found:
            names = sorted(set(str(o.get(key)) for o in objs))
            shown = ", ".join(names[:SHOWN_NAMES]) + (" and %d more" % (len(names) - SHOWN_NAMES) if len(names) > SHOWN_NAMES else "")
            hint = CREATED_BY.get(endpoint)
            raise PexipReferenceError("%s '%s' does not exist on the Management Node (%s); create it first%s or correct the %s." % (
                field.label, value, "its %ss: %s" % (key_label, shown) if names else "it has none",
                " (%s)" % hint if hint else "", key_label))
        return ref_uri(found[0], endpoint)

    def name_of(self, field, value):
        """The name (``field.relation_key``) of the related object ``value`` refers to: cached, else one GET."""
        uri = ref_uri(value, field.relation)
        if not uri:
            return None
        name = self.names.value(uri, field.relation_key)
        if name is None:
            obj = self.client.get(uri)
            self.names.remember(field.relation, obj, field.relation_key)
            name = obj[field.relation_key]
        return name

    def server_addresses(self, field, items):
        """Addresses of a to-many field's value."""
        return self.servers.addresses(field.many, items)

    def view(self, obj, keys):
        """``keys`` of an API object in engine terms (relations by name, to-many by address)."""
        out = {}
        for key in keys:
            field = self.resource.field(key)
            if field.relation:
                out[key] = self.name_of(field, obj.get(key))
            elif field.many:
                out[key] = self.server_addresses(field, obj.get(key))
            else:
                out[key] = obj.get(key)
        return out

    def changes(self, current, wanted):
        """Names of the ``wanted`` fields whose value differs from ``current`` (an API object), sorted."""
        out = []
        for key, want in sorted(wanted.items()):
            field = self.resource.field(key)
            have = current.get(key)
            if field.relation:
                have, want = ref_uri(have, field.relation), (self.uri_of(field, want) if want else None)
            elif field.many:
                have = self.server_addresses(field, have)
            if differs(have, want):
                out.append(key)
        return out

    # -- output --------------------------------------------------------------------------------
    def masked(self, data):
        return secrets.masked(data, self.resource.secret_keys())

    def annotate(self, obj):
        """Add ``<relation>_name`` and ``<endpoint>_addresses`` (a copy)."""
        obj = dict(obj)
        for field in self.resource.fields:
            if field.relation:
                obj[field.name + "_name"] = self.name_of(field, obj.get(field.name))
            elif field.many:
                obj[field.many + "_addresses"] = self.server_addresses(field, obj.get(field.name))
        return obj

    def public(self, obj):
        """What a module may return of an object: the allow-list (if declared), never a secret."""
        if not obj:
            return {}
        r = self.resource
        keys = [k for k in obj if r.output is None or k in r.output]
        return secrets.public(dict((k, obj[k]) for k in keys), r.secret_keys())

    # -- writing -------------------------------------------------------------------------------
    def payload(self, wanted, keys, servers):
        body = {}
        for key in keys:
            field, value = self.resource.field(key), wanted[key]
            if field.relation:
                body[key] = self.uri_of(field, value) if value else None
            elif field.many:
                body[key] = [servers[key][a] for a in value]
            else:
                body[key] = value
        return body

    def server_uris(self, current, keys, wanted):
        """address -> URI for the to-many fields among ``keys``, creating missing servers; returns (uris, created)."""
        uris, created = {}, []
        for key in keys:
            field = self.resource.field(key)
            if field.many:
                uris[key], more = self.servers.uris(field, (current or {}).get(key), wanted[key])
                created.extend(more)
        return uris, created

    def ensure(self, current, wanted, key_value=None, create_extra=None, write_only=None, find_created=None):
        """Create the object or PATCH the fields that differ.

        ``create_extra``: more API fields sent on create only (not compared); ``write_only``: fields the API never
        returns, sent on create and, when given here, with an update (an update then always reports a change);
        ``find_created``: how the new object is found when the create's answer does not say (default: by ``key_value``).
        """
        r = self.resource
        write_only = dict(write_only or {})
        if current is not None:
            keys = self.changes(current, wanted)
            if not keys and not write_only:
                return Outcome(obj=current)
            before = self.masked(self.view(current, keys))
            before.update((k, WRITE_ONLY) for k in write_only)
        else:
            keys, before = sorted(wanted), {}
        for key in keys:  # every name resolves before the first write
            if r.field(key).relation and wanted[key]:
                self.uri_of(r.field(key), wanted[key])
        servers, created = self.server_uris(current, keys, wanted)
        body = self.payload(wanted, keys, servers)
        body.update(write_only)
        after = dict((k, wanted[k]) for k in keys)
        after.update(write_only)
        if current is None:
            if r.key and key_value is not None:  # a key the server assigns (a licence's fulfillment_id) is not sent
                body[r.key] = after[r.key] = key_value
            body.update(create_extra or {})
            after.update(create_extra or {})
        diff = dict(before=before, after=self.masked(after))
        if self.module.check_mode:
            obj = dict(current or {})
            obj.update((k, [dict(address=a, resource_uri=servers[k][a]) for a in wanted[k]] if k in servers else v)
                       for k, v in body.items())
            return Outcome(True, obj, diff, created=created, keys=keys)
        response = None
        if current is None:
            obj, response = self.client.create(r.endpoint, body, lookup=find_created or (lambda: self.lookup(key_value)))
        else:
            self.client.update(current["resource_uri"], body)
            obj = self.client.get(current["resource_uri"])
        if r.key == "name":
            self.names.remember(r.endpoint, obj)
        return Outcome(True, obj, diff, response, created, keys)

    def remove(self, current, shown=None):
        """DELETE ``current`` if it exists."""
        if current is None:
            return Outcome()
        if not self.module.check_mode:
            self.client.delete(current["resource_uri"])
        return Outcome(True, None, dict(before=self.masked(shown if shown is not None else self.public(current)), after={}))

    def ensure_members(self, addresses, purge=False, extra=None):
        """For the DNS/NTP server endpoints: see ``ServerLinks.ensure_members``."""
        return self.servers.ensure_members(addresses, purge, extra)

    # -- the whole module ----------------------------------------------------------------------
    def run(self, output="object"):
        """state present/absent for a module whose options are the declaration's; returns the result dict."""
        p = self.module.params
        key_value = p.get(self.resource.key) if self.resource.key else None
        wanted = self.wanted(p)
        if p.get("state", "present") == "absent":
            return self.result(self.remove(self.lookup(key_value)), output)
        current = self.lookup(key_value, wanted)
        # write-only values are sent when the object is created; a module with a rule for updates calls ensure() itself
        write_only = dict((f.name, p[f.option]) for f in self.resource.fields if f.write_only and p.get(f.option) is not None)
        return self.result(self.ensure(current, wanted, key_value, write_only=write_only if current is None else None), output)

    def result(self, outcome, output="object", **extra):
        result = dict(changed=outcome.changed, diff=outcome.diff)
        result[output] = self.public(self.annotate(outcome.obj)) if outcome.obj else {}
        result.update(extra)
        return result
