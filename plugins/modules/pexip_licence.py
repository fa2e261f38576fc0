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
  - A licence is known afterwards by its fulfillment ID (C(licence/<fulfillment_id>/)); the entitlement ID is never
    returned by the API. Without O(fulfillment_id) the module activates, and an entitlement that the Management
    Node reports as already activated counts as present (no change).
  - A licence cannot be changed once activated; V(absent) deactivates it (C(DELETE)).
extends_documentation_fragment:
  - pexip.infinity.api
  - pexip.infinity.attributes
options:
  entitlement_id:
    description:
      - The entitlement ID Pexip issued. A secret, never logged, returned or shown in a diff.
      - Required to activate (O(state=present) without an active O(fulfillment_id)).
    type: str
  offline_mode:
    description:
      - Activate offline (C(offline_mode)), for a Management Node that cannot reach Pexip's licence server.
    type: bool
    default: false
  fulfillment_id:
    description:
      - The fulfillment ID of an activated licence (C(fulfillment_id) of RV(licence) in an earlier run).
      - With O(state=present), an active licence with this ID means nothing to do; with O(state=absent) it names the
        licence to deactivate.
    type: str
  state:
    description:
      - V(present) activates, V(absent) deactivates the licence O(fulfillment_id).
    type: str
    choices: [present, absent]
    default: present
notes:
  - The Management Node's answer to an entitlement that is already active is not documented by Pexip; the lab answers
    HTTP 400 naming its fulfillment ID (see docs/lab.md), which this module reads as "already present".
  - Check mode predicts exactly with O(fulfillment_id) (an active licence with that ID is no change). Without it the
    module cannot tell an active entitlement from a new one, as the API never returns entitlement IDs and only the
    activation itself would say; it reports a change and warns.
seealso:
  - module: pexip.infinity.pexip_licence_info
  - name: Initial platform configuration
    description: The guide's seven steps and this collection's modules for them.
    link: https://github.com/pexip/pexip.infinity/blob/main/docs/initial_configuration.md
"""

EXAMPLES = r"""
- name: Activate the port licence (entitlement ID from the vault)
  pexip.infinity.pexip_licence:
    entitlement_id: "{{ vault_pexip_port_entitlement }}"
  register: port_licence

- name: Keep it (idempotent by fulfillment ID)
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
  description: The licence after the run (without the entitlement ID); empty when absent or only predicted.
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
from ansible_collections.pexip.infinity.plugins.module_utils.module import PexipModule
from ansible_collections.pexip.infinity.plugins.module_utils.resource import MASK, Engine, Field, Outcome, Resource

#: The lab's answer to an entitlement that is already active (UNCONFIRMED, docs/lab.md): names its fulfillment id.
ALREADY_ACTIVE = re.compile(r"already activated.*fulfillment (\S+?)\)?\.?$", re.I)
LICENCE = Resource("licence", key="fulfillment_id", label="licence", fields=(
    Field("entitlement_id", secret=True, write_only=True),
    Field("offline_mode", type="bool"),
))


def activate(module):
    """POST the activation (never repeated); returns (fulfillment id, whether it was already active)."""
    body = {"entitlement_id": module.params["entitlement_id"], "offline_mode": module.params["offline_mode"]}
    try:
        response = module.client.request("POST", resource_path("licence"), retry=False, json=body)
    except PexipApiError as exc:
        messages = ((exc.field_errors or {}).get("licence") or {}).get("entitlement_id") or []
        match = ALREADY_ACTIVE.search(messages[0]) if messages else None
        if match:
            return match.group(1), True
        module.fail("the Management Node refused the entitlement ID: %s Check the entitlement ID Pexip sent you."
                    % exc.msg.replace(module.params["entitlement_id"], MASK), status=exc.status)
    match = re.search(r"/licence/([^/]+)/?$", response.headers.get("Location") or "")
    if not match:
        module.fail("the activation answered without the new licence's Location header.")
    return match.group(1), False


def main():
    module = PexipModule(
        argument_spec=LICENCE.argument_spec(fulfillment_id=dict(type="str"), offline_mode=dict(type="bool", default=False)),
        required_if=[("state", "absent", ["fulfillment_id"])],
        label="pexip_licence",
    )
    p = module.params
    engine = Engine(module, LICENCE)
    current = engine.lookup(p["fulfillment_id"]) if p["fulfillment_id"] else None
    if p["state"] == "absent" or current:
        # Deactivate, or nothing to do: a licence is immutable once activated.
        module.exit(**engine.result(engine.remove(current) if p["state"] == "absent" else Outcome(obj=current), output="licence"))
    if not p["entitlement_id"]:
        module.fail("no active licence has fulfillment_id %s; give entitlement_id to activate one." % p["fulfillment_id"])
    diff = dict(before={}, after=dict(entitlement_id=MASK, offline_mode=p["offline_mode"]))
    if module.check_mode:
        if not p["fulfillment_id"]:
            module.warn("check mode cannot tell whether this entitlement ID is already active (the API never returns "
                        "entitlement IDs): the change reported may not happen. Give fulfillment_id for an exact prediction.")
        module.exit(**engine.result(Outcome(True, None, diff), output="licence"))
    fulfillment_id, already = activate(module)
    obj = module.call(module.client.get, resource_path("licence", obj_id=fulfillment_id))
    module.exit(**engine.result(Outcome(not already, obj, diff if not already else None), output="licence"))


if __name__ == "__main__":
    main()
