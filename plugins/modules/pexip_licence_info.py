#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: pexip_licence_info
short_description: Read the licences and licensing totals of a Pexip Infinity Management Node
version_added: 0.2.0
author: pexip.infinity contributors (@pexip)
description:
  - Lists the activated licences (C(configuration/v1/licence/)) and the licensing counts and totals
    (C(status/v1/licensing/)) - ports, audio ports, system licences, VMRs in use and licensed.
extends_documentation_fragment:
  - pexip.infinity.api
  - pexip.infinity.attributes.info
options: {}
seealso:
  - module: pexip.infinity.pexip_licence
"""

EXAMPLES = r"""
- name: Read the licences
  pexip.infinity.pexip_licence_info:
  register: licensing

- name: There must be ports to place calls
  ansible.builtin.assert:
    that: licensing.licensing.port_total > 0
    fail_msg: No port licence is active; activate one with pexip.infinity.pexip_licence.
"""

RETURN = r"""
licences:
  description: The activated licences (never an entitlement ID).
  returned: success
  type: list
  elements: dict
  sample:
    - fulfillment_id: FID-3A7C55E1B2D4
      product_id: pexip-port
      concurrent: 10
      status: ACTIVE
licensing:
  description: The licensing counts (in use) and totals (licensed); empty when the Management Node reports none.
  returned: success
  type: dict
  sample:
    port_count: 2
    port_total: 10
    vmr_count: 1
    vmr_total: 100
"""

from ansible_collections.pexip.infinity.plugins.module_utils.module import PexipModule
from ansible_collections.pexip.infinity.plugins.module_utils.secrets import public


def run(module):
    licences = [public(lic) for lic in module.client.list("licence")]
    totals = module.client.list("licensing", api="status")
    return dict(changed=False, licences=licences, licensing=public(totals[0]) if totals else {})


def main():
    PexipModule(argument_spec={}, label="pexip_licence_info").run(run)


if __name__ == "__main__":
    main()
