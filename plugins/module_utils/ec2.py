# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the collection's own EC2 modules (ec2_*: one instance each) share: the module, its client, its calls."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

try:
    import botocore
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry


def instance_module(**options):
    """An AnsibleAWSModule (check mode supported) on one instance (``instance_id``, doc fragment
    ``pexip.infinity.ec2_instance``) with ``options``."""
    return AnsibleAWSModule(argument_spec=dict(instance_id=dict(type="str", required=True), **options), supports_check_mode=True)


def ec2_client(module):
    """The module's EC2 client, retrying what may be retried (see ``call``)."""
    return module.client("ec2", retry_decorator=AWSRetry.jittered_backoff())


def call(module, msg, method, **kwargs):
    """``method(**kwargs)`` retried; an AWS error fails the module with ``msg``."""
    try:
        return method(aws_retry=True, **kwargs)
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg=msg)
