#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: pexip_cloud_node_info
short_description: List Pexip Infinity cloud bursting nodes and the load of their locations
version_added: 0.1.0
author: pexip.infinity contributors (@pexip)
description:
  - Read the cloud bursting status of a Pexip Infinity Management Node, as the guide's
    I(Manually starting an overflow node) describes.
  - C(status/v1/cloud_node/) lists the overflow nodes and the state of their instances.
  - C(status/v1/cloud_monitored_location/) gives the load of the always-on locations.
  - C(status/v1/cloud_overflow_location/) gives the load of the overflow locations in use.
  - Every page of each list is read.
extends_documentation_fragment:
  - pexip.infinity.api
  - pexip.infinity.attributes.info
options:
  name:
    description:
      - Only return the overflow nodes with this Conferencing Node name (C(workervm_configuration_name)),
        EC2 instance name (C(cloud_instance_name)) or instance id (C(cloud_instance_id)).
    type: str
  location:
    description:
      - Only return what concerns this system location. The overflow nodes in it
        (C(workervm_configuration_location_name)), the monitored location of that name or that overflows into it,
        and the overflow location of that name.
    type: str
seealso:
  - module: pexip.infinity.pexip_cloud_node
  - module: pexip.infinity.pexip_burst_settings
"""

EXAMPLES = r"""
- name: Read the bursting status
  pexip.infinity.pexip_cloud_node_info:
  register: bursting

- name: Start the stopped overflow nodes of the AWS burst location
  pexip.infinity.pexip_cloud_node:
    instance_id: "{{ item.cloud_instance_id }}"
  loop: "{{ bursting.cloud_nodes | selectattr('workervm_configuration_location_name', 'equalto', 'AWS burst')
            | selectattr('cloud_instance_state', 'equalto', 'stopped') }}"
  loop_control:
    label: "{{ item.workervm_configuration_name }}"

- name: Free HD calls left in London
  pexip.infinity.pexip_cloud_node_info:
    location: London
  register: london
"""

RETURN = r"""
cloud_nodes:
  description: The overflow nodes (C(status/v1/cloud_node/)); V([]) when there are none.
  returned: always
  type: list
  elements: dict
  sample:
    - cloud_instance_id: i-0123456789abcdef0
      cloud_instance_ip: 10.0.2.15
      cloud_instance_name: cn-burst-lon-1
      cloud_instance_state: stopped
      cloud_instance_launch_time: "2024-05-02T08:50:03"
      max_hd_calls: 0
      media_load: 0
      workervm_configuration_id: 7
      workervm_configuration_name: cn-burst-lon-1
      workervm_configuration_location_name: AWS burst
monitored_locations:
  description: The always-on locations whose capacity bursting watches (C(status/v1/cloud_monitored_location/)).
  returned: always
  type: list
  elements: dict
  sample:
    - name: London
      free_hd_calls: 14
      max_hd_calls: 40
      media_load: 65
      overflow_location: AWS burst
overflow_locations:
  description: The overflow locations currently in use (C(status/v1/cloud_overflow_location/)).
  returned: always
  type: list
  elements: dict
  sample:
    - name: AWS burst
      free_hd_calls: 20
      max_hd_calls: 20
      media_load: 0
      systemlocation_id: 3
"""

from ansible_collections.pexip.infinity.plugins.module_utils.module import PexipModule


def node_matches(node, name, location):
    if name is not None and name not in (node.get("workervm_configuration_name"), node.get("cloud_instance_name"),
                                         node.get("cloud_instance_id")):
        return False
    return location is None or node.get("workervm_configuration_location_name") == location


def read(client, name, location):
    # Filtering on these status resources is not documented: read every page and filter here.
    nodes = client.list("cloud_node", api="status")
    monitored = client.list("cloud_monitored_location", api="status")
    overflow = client.list("cloud_overflow_location", api="status")
    return dict(
        changed=False,
        cloud_nodes=[n for n in nodes if node_matches(n, name, location)],
        monitored_locations=[m for m in monitored if location is None or location in (m.get("name"), m.get("overflow_location"))],
        overflow_locations=[o for o in overflow if location is None or o.get("name") == location],
    )


def main():
    module = PexipModule(argument_spec=dict(name=dict(type="str"), location=dict(type="str")))
    name, location = module.params["name"], module.params["location"]
    what = " ".join("%s '%s'" % (k, v) for k, v in (("name", name), ("location", location)) if v is not None)
    module.label = "pexip_cloud_node_info" + (" (%s)" % what if what else "")
    module.run(lambda module: read(module.client, name, location))


if __name__ == "__main__":
    main()
