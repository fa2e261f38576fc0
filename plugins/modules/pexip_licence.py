#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: pexip_licence
short_description: Activate or deactivate a Pexip Infinity licence
version_added: 0.2.0
author: pexip.infinity contributors (@pexip)
description:
  - Activates a licence on the Management Node by its entitlement ID (C(POST configuration/v1/licence/)), as in
    B(Platform > Licenses) of the guide's initial platform configuration ("You must install a system license with
    sufficient concurrent call capacity ... before you can place calls").
  - A licence is known afterwards by its fulfillment ID (C(licence/<fulfillment_id>/)), which this module returns;
    the API never returns entitlement IDs. Record it and give it as O(fulfillment_id) in later runs.
  - Idempotency is decided from the licence list, never from an error message. With O(fulfillment_id), an active
    licence with that ID means nothing to do. Without it, the module activates only when no licence at all is active;
    when some are, it cannot tell whether this entitlement is among them, so it activates nothing and warns (an
    entitlement with several units could be activated twice, consuming licences), unless O(force) says to activate.
  - A licence cannot be changed once activated; V(absent) deactivates it (C(DELETE)).
extends_documentation_fragment:
  - pexip.infinity.api
  - pexip.infinity.attributes
options:
  entitlement_id:
    description:
      - The entitlement ID Pexip issued. A secret, never logged, returned or shown in a diff or an error message.
      - Required to activate (O(state=present) without an active O(fulfillment_id)).
    type: str
  offline_mode:
    description:
      - Activate offline (C(offline_mode)), for a Management Node that cannot reach Pexip's licence server.
    type: bool
    default: false
  fulfillment_id:
    description:
      - The fulfillment ID of the licence of O(entitlement_id) (C(fulfillment_id) of RV(licence) in the run that
        activated it).
      - With O(state=present), an active licence with this ID means nothing to do, and none means activate; with
        O(state=absent) it names the licence to deactivate.
    type: str
  force:
    description:
      - Activate O(entitlement_id) although other licences are active and O(fulfillment_id) is not given, so that
        whether it is active already cannot be told. Every run with it activates again; use it once, to add a licence
        beside others, then record the returned fulfillment ID.
    type: bool
    default: false
  state:
    description:
      - V(present) activates, V(absent) deactivates the licence O(fulfillment_id).
    type: str
    choices: [present, absent]
    default: present
notes:
  - Check mode predicts exactly what a run would do.
  - The licence list carries no entitlement IDs (Pexip's published fields), hence O(fulfillment_id).
seealso:
  - module: pexip.infinity.pexip_licence_info
  - name: Initial platform configuration
    description: The guide's seven steps and this collection's modules for them.
    link: https://github.com/pexip/pexip.infinity/blob/main/docs/initial_configuration.md
"""

EXAMPLES = r"""
- name: Activate the port licence (entitlement ID from the vault) on a Management Node without licences
  pexip.infinity.pexip_licence:
    entitlement_id: "{{ vault_pexip_port_entitlement }}"
  register: port_licence

- name: Keep it (idempotent by fulfillment ID, recorded from the run that activated it)
  pexip.infinity.pexip_licence:
    entitlement_id: "{{ vault_pexip_port_entitlement }}"
    fulfillment_id: "{{ port_licence.licence.fulfillment_id }}"

- name: Deactivate it
  pexip.infinity.pexip_licence:
    fulfillment_id: "{{ port_licence.licence.fulfillment_id }}"
    state: absent
"""

RETURN = r"""
licence:
  description:
    - The licence after the run (without the entitlement ID); empty when absent, only predicted, or not activated
      because whether it was active could not be told.
  returned: success
  type: dict
  sample:
    fulfillment_id: FID-3A7C55E1B2D4
    product_id: pexip-port
    concurrent: 10
    status: ACTIVE
    expiration_date: "2027-12-02"
    resource_uri: /api/admin/configuration/v1/licence/FID-3A7C55E1B2D4/
"""

import re

from ansible_collections.pexip.infinity.plugins.module_utils.api import PexipApiError, resource_path
from ansible_collections.pexip.infinity.plugins.module_utils.catalog import LICENCE
from ansible_collections.pexip.infinity.plugins.module_utils.module import PexipModule
from ansible_collections.pexip.infinity.plugins.module_utils.resource import PAGE, Engine, Outcome
from ansible_collections.pexip.infinity.plugins.module_utils.secrets import mask_text


def undecided(licences):
    return ("%d licence(s) are on the Management Node (%s) and the API never returns entitlement IDs, so whether entitlement_id is one "
            "of them cannot be told" % (len(licences), ", ".join(
                "%s: %s x %s" % (lic.get("fulfillment_id"), lic.get("product_id"), lic.get("concurrent")) for lic in licences)))


def new_licence(module, known):
    """The licence that is not among ``known`` fulfillment IDs (None unless exactly one): the one just activated."""
    new = [lic for lic in module.client.list(LICENCE.endpoint, limit=PAGE) if lic.get("fulfillment_id") not in known]
    return new[0] if len(new) == 1 else None


def activate(module, engine, licences):
    p = module.params
    known = set(lic.get("fulfillment_id") for lic in licences)
    try:
        outcome = engine.ensure(None, dict(offline_mode=p["offline_mode"]), write_only=dict(entitlement_id=p["entitlement_id"]),
                                find_created=lambda: new_licence(module, known))
    except PexipApiError as exc:
        module.fail("the Management Node refused the entitlement ID: %s Check the entitlement ID Pexip sent you."
                    % mask_text(exc.msg, [p["entitlement_id"]]), status=exc.status)
    if not outcome.obj and outcome.response is not None:
        match = re.search(r"/licence/([^/]+)/?$", outcome.response.headers.get("Location") or "")
        outcome.obj = module.client.get(resource_path(LICENCE.endpoint, obj_id=match.group(1))) if match else None
    if not outcome.obj:
        module.fail("the licence was activated but cannot be found in the licence list: read its fulfillment ID with "
                    "pexip.infinity.pexip_licence_info and give it as fulfillment_id; do not run this task again without it.")
    return outcome


def run(module):
    p = module.params
    engine = Engine(module, LICENCE)
    licences = module.client.list(LICENCE.endpoint, limit=PAGE)
    current = ([lic for lic in licences if lic.get("fulfillment_id") == p["fulfillment_id"]] or [None])[0] if p["fulfillment_id"] else None
    if p["state"] == "absent" or current:
        # Deactivate, or nothing to do: a licence is immutable once activated.
        return engine.result(engine.remove(current) if p["state"] == "absent" else Outcome(obj=current), output="licence")
    if not p["entitlement_id"]:
        module.fail("no active licence has fulfillment_id %s; give entitlement_id to activate one." % p["fulfillment_id"])
    if licences and not p["fulfillment_id"]:
        if not p["force"]:
            module.warn("%s: nothing is activated. Give fulfillment_id (that of this entitlement's licence, returned when it "
                        "was activated), or force: true to activate it anyway (once)." % undecided(licences))
            return engine.result(Outcome(), output="licence")
        module.warn("%s: activating it (force)." % undecided(licences))
    if module.check_mode:
        return engine.result(Outcome(True, None, dict(before={}, after=engine.masked(
            dict(entitlement_id=p["entitlement_id"], offline_mode=p["offline_mode"])))), output="licence")
    outcome = activate(module, engine, licences)
    if not p["fulfillment_id"]:
        module.warn("licence activated with fulfillment ID %s: give it as fulfillment_id in later runs (without it, a run "
                    "cannot tell whether this entitlement is active)." % outcome.obj["fulfillment_id"])
    return engine.result(outcome, output="licence")


def main():
    module = PexipModule(
        argument_spec=LICENCE.argument_spec(fulfillment_id=dict(type="str"), offline_mode=dict(type="bool", default=False),
                                            force=dict(type="bool", default=False)),
        required_if=[("state", "absent", ["fulfillment_id"])],
        label="pexip_licence",
    )
    module.run(run)


if __name__ == "__main__":
    main()
