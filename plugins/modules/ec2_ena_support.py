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
  instance_id:
    description: The instance.
    type: str
    required: true
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

try:
    import botocore
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            instance_id=dict(type="str", required=True),
            ena_support=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    instance_id = module.params["instance_id"]
    wanted = module.params["ena_support"]
    client = module.client("ec2", retry_decorator=AWSRetry.jittered_backoff())
    try:
        reservations = client.describe_instances(aws_retry=True, InstanceIds=[instance_id])["Reservations"]
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg="Could not describe instance %s" % instance_id)
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
        try:
            client.modify_instance_attribute(aws_retry=True, InstanceId=instance_id, EnaSupport={"Value": wanted})
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
            module.fail_json_aws(e, msg="Could not change ENA support of %s" % instance_id)
    module.exit_json(changed=True, ena_support=wanted)


if __name__ == "__main__":
    main()
