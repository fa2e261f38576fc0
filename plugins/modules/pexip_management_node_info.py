#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: pexip_management_node_info
short_description: Read the Pexip Infinity Management Node's status and software version
version_added: 0.2.0
author: pexip.infinity contributors (@pexip)
description:
  - Reads the Management Node's status (C(status/v1/management_vm/)) with one request - above all its software
    C(version), which the Conferencing Nodes must run too (the image of a new node is chosen by it).
extends_documentation_fragment:
  - pexip.infinity.api
  - pexip.infinity.attributes.info
options: {}
seealso:
  - module: pexip.infinity.pexip_management_node
  - module: pexip.infinity.pexip_node_info
"""

EXAMPLES = r"""
- name: Read the Management Node's version
  pexip.infinity.pexip_management_node_info:
  register: manager

- name: Show it
  ansible.builtin.debug:
    msg: "The Management Node runs Pexip Infinity {{ manager.version }}"
"""

RETURN = r"""
version:
  description: The software version of the primary Management Node; empty when it reports none.
  returned: success
  type: str
  sample: "34.0.0"
management_vms:
  description: The status of every Management Node (C(name), C(primary), C(version), C(sync_status), C(upgrade_status)...).
  returned: success
  type: list
  elements: dict
  sample:
    - name: mgr-lab
      primary: true
      version: "34.0.0"
      sync_status: SYNCED
"""

from ansible_collections.pexip.infinity.plugins.module_utils.module import PexipModule


def run(module):
    vms = module.client.list("management_vm", api="status")
    primary = [vm for vm in vms if vm.get("primary")] or vms
    return dict(changed=False, version=(primary[0].get("version") or "") if primary else "", management_vms=vms)


def main():
    PexipModule(argument_spec={}, label="pexip_management_node_info").run(run)


if __name__ == "__main__":
    main()
