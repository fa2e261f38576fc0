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
  - Checked before the first write, with a message naming the bad option, never a half-made room; PINs are 4 to 20 digits
    0-9 (a final hash sign allowed), a guest PIN needs a host PIN and must differ from it, and no alias may belong to
    another room (aliases are unique across the platform).
  - PINs are secrets, never logged; the result and the diff show them masked. An alias whose description changes is
    updated in place.
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
    description:
      - Host PIN, 4 to 20 digits 0-9 (a final hash sign allowed); V('') removes it (and then no guest PIN may remain).
      - A secret, never logged; returned masked.
    type: str
  guest_pin:
    description: Guest PIN; needs a host PIN and must differ from it. V('') removes it. A secret, like O(pin).
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
  description: The room after the run (in check mode, as it would be), with its aliases; PINs masked.
  returned: success
  type: dict
  sample:
    name: Lab meeting room
    service_type: conference
    pin: "********"
    allow_guests: true
    aliases: [{alias: meet@lab.example.com, description: ""}]
    resource_uri: /api/admin/configuration/v1/conference/1/
"""

import re

from ansible_collections.pexip.infinity.plugins.module_utils.catalog import CONFERENCE, CONFERENCE_ALIAS, PIN
from ansible_collections.pexip.infinity.plugins.module_utils.module import PexipModule
from ansible_collections.pexip.infinity.plugins.module_utils.resource import PAGE, Engine, ref_uri


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
    """PIN rules, without ever showing a PIN (they are secrets)."""
    p = module.params
    pin = p["pin"] if p["pin"] is not None else (current or {}).get("pin") or ""
    guest = p["guest_pin"] if p["guest_pin"] is not None else (current or {}).get("guest_pin") or ""
    for option, value in (("pin", pin), ("guest_pin", guest)):
        if value and not re.match(PIN, value):
            module.fail("%s is not a PIN: use 4 to 20 digits 0-9 (a final # allowed)%s." % (
                option, "" if p[option] is not None else " (the room's current one; give a new one)"))
    if guest and not pin:
        module.fail("guest_pin needs a host PIN: set pin as well (a room with only a guest PIN would let guests in as hosts).")
    if guest and guest == pin:
        module.fail("guest_pin must differ from pin, or guests would join as hosts.")


def same_room(ref, room):
    return room is not None and ref_uri(ref, CONFERENCE.endpoint) == ref_uri(room["resource_uri"], CONFERENCE.endpoint)


def claim_aliases(module, aliases, current):
    """Aliases are unique across the platform: refuse one that another room holds, before anything is written.
    Returns the room's own conference_alias objects among them, by alias."""
    own = {}
    for alias in aliases:
        owners = [a for a in module.client.list(CONFERENCE_ALIAS.endpoint, alias=alias) if a.get("alias") == alias]
        if owners and not same_room(owners[0].get("conference"), current):
            module.fail("alias '%s' already belongs to another room (%s); aliases are unique across the platform."
                        % (alias, module.client.name_for(owners[0].get("conference"))))
        if owners:
            own[alias] = owners[0]
    return own


def write_aliases(module, room, have, aliases, own):
    """Delete the aliases not listed, create the new ones and PATCH changed descriptions in place (engine writes)."""
    engine = Engine(module, CONFERENCE_ALIAS)
    dropped = sorted(set(have) - set(aliases))
    if dropped:  # the nested aliases carry no resource URI: read the room's alias objects
        found = module.client.list(CONFERENCE_ALIAS.endpoint, limit=PAGE, conference=room["resource_uri"])
        own.update((a["alias"], a) for a in found if same_room(a.get("conference"), room))
    for alias in dropped:
        engine.remove(own.get(alias))
    for alias, description in sorted(aliases.items()):
        if have.get(alias) != description:
            engine.ensure(own.get(alias), dict(conference=room["name"], description=description), key_value=alias)


def run(module):
    p = module.params
    engine = Engine(module, CONFERENCE)
    current = engine.lookup(p["name"])
    if p["state"] == "absent":
        return engine.result(engine.remove(current), output="conference")  # the Management Node drops its aliases

    validate(module, current)
    aliases = wanted_aliases(module) if p["aliases"] is not None else None
    own = claim_aliases(module, aliases or {}, current)
    have = dict((a["alias"], a.get("description") or "") for a in (current or {}).get("aliases") or [])
    changed_aliases = aliases is not None and have != aliases

    outcome = engine.ensure(current, engine.wanted(p), key_value=p["name"])
    if changed_aliases:
        outcome.changed = True
        outcome.diff["before"]["aliases"], outcome.diff["after"]["aliases"] = have, aliases
    if module.check_mode:
        if aliases is not None:
            outcome.obj["aliases"] = [dict(alias=a, description=d) for a, d in aliases.items()]
    elif changed_aliases:
        write_aliases(module, outcome.obj, have, aliases, own)
        outcome.obj = module.client.get(outcome.obj["resource_uri"])
    return engine.result(outcome, output="conference")


def main():
    module = PexipModule(argument_spec=CONFERENCE.argument_spec(aliases=dict(type="list", elements="raw")), label="pexip_conference")
    module.label = "pexip_conference '%s'" % module.params["name"]
    module.run(run)


if __name__ == "__main__":
    main()
