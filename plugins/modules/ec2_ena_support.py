#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: ec2_ena_support
short_description: Enable or disable ENA support of a stopped EC2 instance
version_added: 0.1.0
description:
  - The equivalent of C(aws ec2 modify-instance-attribute --instance-id <id> --ena-support), which the Pexip AWS
    deployment guide runs before a node moves to an instance type that needs the Elastic Network Adapter (c5).
  - M(amazon.aws.ec2_instance) (amazon.aws 9) cannot change this attribute, hence this module; the role
    C(pexip.infinity.instance_family) uses it.
  - AWS only changes it on a stopped instance; the module fails on any other.
  - Takes the usual amazon.aws connection options and environment variables (C(AWS_REGION), C(AWS_URL), ...).
    It is not in the C(group/aws) action group of C(amazon.aws), so C(module_defaults) for that group do not reach it;
    pass O(region) and the like explicitly when needed.
options:
  ena_support:
    description: Whether ENA support is wanted.
    type: bool
    default: true
attributes:
  check_mode:
    support: full
    description: Reports whether ENA support would change, without changing it.
  diff_mode:
    support: none
    description: Returns no diff; RV(ena_support) tells the result.
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
  - pexip.infinity.ec2_instance
author: pexip.infinity contributors (@pexip)
"""

EXAMPLES = r"""
- name: Stop the instance first (AWS changes the attribute of a stopped instance only)
  amazon.aws.ec2_instance:
    instance_ids: ["{{ instance.instance_id }}"]
    state: stopped

- name: Add ENA support to the stopped instance
  pexip.infinity.ec2_ena_support:
    instance_id: "{{ instance.instance_id }}"
"""

RETURN = r"""
ena_support:
  description: ENA support of the instance after the run.
  returned: always
  type: bool
"""

from ansible_collections.pexip.infinity.plugins.module_utils.ec2 import call, ec2_client, instance_module


def main():
    module = instance_module(ena_support=dict(type="bool", default=True))
    instance_id = module.params["instance_id"]
    wanted = module.params["ena_support"]
    client = ec2_client(module)
    reservations = call(module, "Could not describe instance %s" % instance_id, client.describe_instances, InstanceIds=[instance_id])["Reservations"]
    instance = reservations[0]["Instances"][0]
    current = bool(instance.get("EnaSupport"))
    if current == wanted:
        module.exit_json(changed=False, ena_support=current)
    state = instance["State"]["Name"]
    if state != "stopped":
        module.fail_json(
            msg="ENA support of %s can only be changed while it is stopped (it is %s)." % (instance_id, state)
        )
    if not module.check_mode:
        call(module, "Could not change ENA support of %s" % instance_id, client.modify_instance_attribute, InstanceId=instance_id,
             EnaSupport={"Value": wanted})
    module.exit_json(changed=True, ena_support=wanted)


if __name__ == "__main__":
    main()
