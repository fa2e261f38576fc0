#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: pexip_alarm_info
short_description: Read the active alarms of a Pexip Infinity platform
version_added: 0.2.0
author: pexip.infinity contributors (@pexip)
description:
  - Lists the alarms the Management Node raises (C(status/v1/alarm/)), such as a Conferencing Node that lost contact or
    a TLS certificate about to expire - the health check after a deploy or a restart.
  - O(nodes) keeps the alarms of those nodes only (by name or address, matched against C(node) and C(instance)).
extends_documentation_fragment:
  - pexip.infinity.api
  - pexip.infinity.attributes.info
options:
  nodes:
    description:
      - Only alarms whose C(node) or C(instance) is one of these names or addresses. Without it, every alarm.
    type: list
    elements: str
  level:
    description:
      - Only alarms of this level or worse (V(warning) includes V(error) and V(critical)).
    type: str
    choices: [info, warning, error, critical]
  include_acknowledged:
    description:
      - Also return acknowledged alarms.
    type: bool
    default: false
seealso:
  - module: pexip.infinity.pexip_node_info
"""

EXAMPLES = r"""
- name: Alarms of the nodes this play touched
  pexip.infinity.pexip_alarm_info:
    nodes: "{{ ansible_play_hosts }}"
    level: warning
  register: health

- name: Report them
  ansible.builtin.debug:
    msg: "{{ health.alarms | map(attribute='details') | list }}"
  when: health.alarms | length > 0
"""

RETURN = r"""
alarms:
  description: The matching alarms, oldest first.
  returned: success
  type: list
  elements: dict
  sample:
    - level: error
      name: Connectivity lost between nodes
      details: No contact with cn-lon-1 (10.0.1.10) since 2026-12-02T13:00:00.000000.
      instance: cn-lon-1
      node: 10.0.1.10
      acknowledged: false
      time_raised: "2026-12-02T13:00:00.000000"
report:
  description:
    - One line per alarm of RV(alarms), for a play to show.
    - "Each reads C(<level>: <name> (<instance>, <node>, raised <time>) <details>)."
  returned: success
  type: list
  elements: str
  sample:
    - "error: Connectivity lost between nodes (cn-lon-1, 10.0.1.10, raised 2026-12-02T13:00:00.000000) No contact with cn-lon-1."
"""

from ansible_collections.pexip.infinity.plugins.module_utils.module import PexipModule

LEVELS = ["info", "warning", "error", "critical"]


def line(alarm):
    return "%s: %s (%s, %s, raised %s) %s" % tuple(alarm.get(k) or "" for k in ("level", "name", "instance", "node", "time_raised", "details"))


def alarms(module):
    p = module.params
    wanted = set(p["nodes"] or [])
    floor = LEVELS.index(p["level"]) if p["level"] else 0

    def keep(alarm):
        level = (alarm.get("level") or "").lower()
        return ((p["nodes"] is None or alarm.get("node") in wanted or alarm.get("instance") in wanted)
                and (p["include_acknowledged"] or not alarm.get("acknowledged"))
                and (level not in LEVELS or LEVELS.index(level) >= floor))

    found = sorted((a for a in module.client.list("alarm", api="status") if keep(a)), key=lambda a: a.get("time_raised") or "")
    return dict(changed=False, alarms=found, report=[line(a) for a in found])


def main():
    module = PexipModule(
        argument_spec=dict(
            nodes=dict(type="list", elements="str"),
            level=dict(type="str", choices=LEVELS),
            include_acknowledged=dict(type="bool", default=False),
        ),
        label="pexip_alarm_info",
    )
    module.run(alarms)


if __name__ == "__main__":
    main()
