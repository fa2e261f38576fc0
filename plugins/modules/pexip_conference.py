#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: pexip_conference
short_description: Manage a Pexip Infinity Virtual Meeting Room and its aliases
version_added: 0.2.0
author: pexip.infinity contributors (@pexip)
description:
  - Creates, updates or deletes a Virtual Meeting Room or Virtual Auditorium (C(configuration/v1/conference/)) and
    its aliases (C(configuration/v1/conference_alias/)), the guide's steps 6 and 7 (B(Services > Virtual Meeting
    Rooms)).
  - The room is found by O(name). Options that are not given are left as they are; O(aliases) is the whole list.
  - Checked before the first write, with a message naming the bad value, never a half-made room; PINs are 4 to 20 digits
    (a final hash sign allowed), a guest PIN needs a host PIN and must differ from it, and no alias may belong to another
    room (aliases are unique across the platform).
extends_documentation_fragment:
  - pexip.infinity.api
  - pexip.infinity.attributes
options:
  name:
    description: Name of the room (unique).
    type: str
    required: true
  service_type:
    description: V(conference) is a Virtual Meeting Room, V(lecture) a Virtual Auditorium.
    type: str
    choices: [conference, lecture]
  description:
    description: Description of the room.
    type: str
  pin:
    description: Host PIN, 4 to 20 digits (a final hash sign allowed); V('') removes it (and then no guest PIN may remain).
    type: str
  guest_pin:
    description: Guest PIN; needs a host PIN and must differ from it. V('') removes it.
    type: str
  allow_guests:
    description: Whether guests may join (with the guest PIN when there is one).
    type: bool
  participant_limit:
    description: Maximum number of participants.
    type: int
  aliases:
    description:
      - Every alias of the room (a string, or a dict with C(alias) and C(description)); aliases not listed are removed.
    type: list
    elements: raw
  state:
    description: V(absent) deletes the room and its aliases.
    type: str
    choices: [present, absent]
    default: present
seealso:
  - module: pexip.infinity.pexip_licence
"""

EXAMPLES = r"""
- name: A VMR with a host PIN, a guest PIN and two aliases
  pexip.infinity.pexip_conference:
    name: Lab meeting room
    service_type: conference
    pin: "1234"
    guest_pin: "5678"
    allow_guests: true
    aliases:
      - meet@lab.example.com
      - alias: "8001"
        description: Dial-in number

- name: Remove it
  pexip.infinity.pexip_conference:
    name: Lab meeting room
    state: absent
"""

RETURN = r"""
conference:
  description: The room after the run (in check mode, as it would be), with its aliases.
  returned: success
  type: dict
  sample:
    name: Lab meeting room
    service_type: conference
    pin: "1234"
    allow_guests: true
    aliases: [{alias: meet@lab.example.com, description: ""}]
    resource_uri: /api/admin/configuration/v1/conference/1/
"""

import re

from ansible_collections.pexip.infinity.plugins.module_utils.module import PexipModule
from ansible_collections.pexip.infinity.plugins.module_utils.resource import Engine, Field, Resource

PIN = re.compile(r"^\d{4,20}#?$")
SERVICE_TYPES = {"conference": "conference", "lecture": "lecture"}
CONFERENCE = Resource("conference", label="Virtual Meeting Room", fields=(
    Field("service_type", choices=SERVICE_TYPES),
    Field("description"),
    Field("pin"),
    Field("guest_pin", label="guest PIN"),
    Field("allow_guests", type="bool"),
    Field("participant_limit", type="int"),
))


def wanted_aliases(module):
    out = {}
    for item in module.params["aliases"] or []:
        if isinstance(item, dict):
            alias, description = item.get("alias"), item.get("description") or ""
        else:
            alias, description = item, ""
        if not isinstance(alias, str) or not alias.strip():
            module.fail("every entry of aliases needs an alias (got %r)." % (item,))
        if alias in out:
            module.fail("alias '%s' is listed twice." % alias)
        out[alias] = description
    return out


def validate(module, current):
    p = module.params
    pin = p["pin"] if p["pin"] is not None else (current or {}).get("pin") or ""
    guest = p["guest_pin"] if p["guest_pin"] is not None else (current or {}).get("guest_pin") or ""
    for option, value in (("pin", pin), ("guest_pin", guest)):
        if value and not PIN.match(value):
            module.fail("%s '%s' is not a PIN: use 4 to 20 digits (a final # allowed)." % (option, value))
    if guest and not pin:
        module.fail("guest_pin needs a host PIN: set pin as well (a room with only a guest PIN would let guests in as hosts).")
    if guest and guest == pin:
        module.fail("guest_pin must differ from pin, or guests would join as hosts.")


def check_aliases_free(module, aliases, current):
    """Aliases are unique across the platform: refuse one that another room holds, before anything is written."""
    for alias in aliases:
        owners = [a for a in module.call(module.client.list, "conference_alias", alias=alias) if a.get("alias") == alias]
        if owners and (current is None or owners[0].get("conference") != current["resource_uri"]):
            module.fail("alias '%s' already belongs to another room (%s); aliases are unique across the platform."
                        % (alias, module.call(module.client.name_for, owners[0].get("conference"))))


def main():
    module = PexipModule(argument_spec=CONFERENCE.argument_spec(aliases=dict(type="list", elements="raw")), label="pexip_conference")
    p = module.params
    module.label = "pexip_conference '%s'" % p["name"]
    engine = Engine(module, CONFERENCE)
    current = engine.lookup(p["name"])
    if p["state"] == "absent":
        module.exit(**engine.result(engine.remove(current), output="conference"))  # the Management Node drops its aliases

    validate(module, current)
    aliases = wanted_aliases(module) if p["aliases"] is not None else None
    check_aliases_free(module, aliases or {}, current)
    have = dict((a["alias"], a.get("description") or "") for a in (current or {}).get("aliases") or [])
    add = dict((a, d) for a, d in (aliases or {}).items() if have.get(a) != d)
    drop = [a for a in have if aliases is not None and (a not in aliases or a in add)]

    outcome = engine.ensure(current, engine.wanted(p), key_value=p["name"])
    if add or drop:
        outcome.changed = True
        outcome.diff["before"]["aliases"], outcome.diff["after"]["aliases"] = sorted(have), sorted(aliases)
    if module.check_mode:
        if aliases is not None:
            outcome.obj["aliases"] = [dict(alias=a, description=d) for a, d in aliases.items()]
        module.exit(**engine.result(outcome, output="conference"))
    uri = outcome.obj["resource_uri"]
    if drop:
        by_alias = dict((a["alias"], a) for a in module.call(module.client.list, "conference_alias", conference=uri))
        for alias in drop:
            if alias in by_alias:
                module.call(module.client.delete, by_alias[alias]["resource_uri"])
    for alias, description in add.items():
        module.call(module.client.create, "conference_alias", dict(alias=alias, description=description, conference=uri))
    if add or drop:
        outcome.obj = module.call(module.client.get, uri)
    module.exit(**engine.result(outcome, output="conference"))


if __name__ == "__main__":
    main()
