#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: pexip_burst_settings
short_description: Configure dynamic cloud bursting on a Pexip Infinity Management Node
version_added: 0.1.0
author: pexip.infinity contributors (@pexip)
description:
  - Set the B(Cloud Bursting) section of the global settings (C(configuration/v1/global/1/)) of a Pexip Infinity
    Management Node, as in B(Platform > Global Settings > Cloud Bursting) of the AWS deployment guide.
  - Options that are not given are left as they are. Only the settings that differ are sent (one C(PATCH)).
  - The AWS secret access key cannot be read back from the Management Node, so it cannot be compared;
    O(update_secret) decides when it is sent.
  - Also returns the bursting tag (key C(pexip-cloud), value the hostname of the primary Management Node,
    C(configuration/v1/management_vm)) that every overflow node's EC2 instance must carry, and that the IAM policy
    of O(aws_access_key) must allow.
extends_documentation_fragment:
  - pexip.infinity.api
  - pexip.infinity.attributes
options:
  enabled:
    description:
      - Enable bursting to the cloud (C(bursting_enabled)). Infinity then starts and stops the overflow nodes
        of every location that is the B(primary) overflow location of an always-on location.
    type: bool
  threshold:
    description:
      - Bursting threshold (C(bursting_threshold)), at least 1. When the number of HD calls a location can still
        take reaches or drops below it, an overflow node is started.
      - The guide suggests 10-20% of the always-on capacity.
    type: int
  min_lifetime:
    description:
      - Minimum lifetime in minutes (C(bursting_min_lifetime)), at least 5, that a started overflow node is kept
        running. The Management Node's default is 50.
    type: int
  provider:
    description:
      - Cloud provider of the overflow nodes (C(cloud_provider)).
    type: str
    choices: [aws, azure, gcp]
  aws_access_key:
    description:
      - Access key ID (at most 40 characters) of the IAM user whose policy may start and stop the instances
        tagged C(pexip-cloud).
    type: str
  aws_secret_key:
    description:
      - Secret access key of O(aws_access_key). Never returned and never shown in a diff.
      - Sent only as O(update_secret) says.
    type: str
  update_secret:
    description:
      - V(on_change) sends O(aws_secret_key) only when O(aws_access_key) changes, or when bursting is being
        enabled while no access key was configured. A run with unchanged settings then reports no change.
      - V(always) sends O(aws_secret_key) (then required) on every run, to rotate the secret; such a run always reports a change.
    type: str
    choices: [always, on_change]
    default: on_change
notes:
  - The global settings have no field for the bursting tag value; the module reads the hostname of the primary
    C(management_vm), as Pexip's own clients do. When there is none it returns RV(tag_value) V(null) (never a guessed
    V(unknown)); the caller must then stop or use an explicit value.
seealso:
  - module: pexip.infinity.pexip_cloud_node
  - module: pexip.infinity.pexip_cloud_node_info
  - name: Dynamic bursting to a cloud service
    description: Pexip's documentation of cloud bursting.
    link: https://docs.pexip.com/admin/bursting.htm
"""

EXAMPLES = r"""
- name: Enable bursting to AWS
  pexip.infinity.pexip_burst_settings:
    enabled: true
    threshold: 12
    min_lifetime: 50
    provider: aws
    aws_access_key: "{{ bursting_access_key_id }}"
    aws_secret_key: "{{ vault_bursting_secret_access_key }}"
  register: bursting

- name: Tag the overflow instances with the bursting tag
  amazon.aws.ec2_tag:
    resource: "{{ item }}"
    tags: "{{ {bursting.tag_name: bursting.tag_value} }}"  # an expression: Ansible does not template mapping keys
  loop: "{{ overflow_instance_ids }}"

- name: Rotate the secret access key
  pexip.infinity.pexip_burst_settings:
    aws_access_key: "{{ bursting_access_key_id }}"
    aws_secret_key: "{{ vault_new_secret_access_key }}"
    update_secret: always

- name: Disable bursting
  pexip.infinity.pexip_burst_settings:
    enabled: false
"""

RETURN = r"""
settings:
  description:
    - The global settings after the change (in check mode, as they would be), without any secret.
  returned: success
  type: dict
  sample:
    bursting_enabled: true
    bursting_threshold: 12
    bursting_min_lifetime: 50
    cloud_provider: AWS
    aws_access_key: AKIAEXAMPLE
    resource_uri: /api/admin/configuration/v1/global/1/
tag_name:
  description: Key of the tag every overflow node's cloud instance must carry.
  returned: success
  type: str
  sample: pexip-cloud
tag_value:
  description:
    - Value of that tag, the primary Management Node's hostname; V(null) when the Management Node reports none.
  returned: success
  type: str
  sample: mgr01
secret_sent:
  description: Whether O(aws_secret_key) was (or, in check mode, would be) sent.
  returned: success
  type: bool
  sample: false
"""

from ansible_collections.pexip.infinity.plugins.module_utils.bursting import TAG_NAME, bursting_tag_value
from ansible_collections.pexip.infinity.plugins.module_utils.catalog import BURST_SETTINGS
from ansible_collections.pexip.infinity.plugins.module_utils.module import PexipModule
from ansible_collections.pexip.infinity.plugins.module_utils.resource import Engine

ARGUMENT_SPEC = BURST_SETTINGS.argument_spec(
    update_secret=dict(type="str", choices=["always", "on_change"], default="on_change"),
)


def validate(module):
    p = module.params
    if p["threshold"] is not None and p["threshold"] < 1:
        module.fail("threshold must be at least 1 (free HD calls), got %d." % p["threshold"])
    if p["min_lifetime"] is not None and p["min_lifetime"] < 5:
        module.fail("min_lifetime must be at least 5 minutes, got %d." % p["min_lifetime"])
    if p["aws_access_key"] is not None and len(p["aws_access_key"]) > 40:
        module.fail("aws_access_key may have at most 40 characters, got %d." % len(p["aws_access_key"]))
    if p["update_secret"] == "always" and p["aws_secret_key"] is None:
        module.fail("update_secret: always needs aws_secret_key.")


def send_secret(params, current, wanted, changes):
    """Whether the write-only secret goes with this PATCH."""
    if params["aws_secret_key"] is None:
        return False
    if params["update_secret"] == "always":
        return True
    enabling = "bursting_enabled" in changes and wanted["bursting_enabled"] is True
    return "aws_access_key" in changes or (enabling and not current.get("aws_access_key"))


def run(module):
    engine = Engine(module, BURST_SETTINGS)
    current = engine.lookup()
    wanted = engine.wanted(module.params)
    secret = send_secret(module.params, current, wanted, engine.changes(current, wanted))
    outcome = engine.ensure(current, wanted, write_only=dict(aws_secret_key=module.params["aws_secret_key"]) if secret else None)
    return dict(changed=outcome.changed, diff=outcome.diff, secret_sent=secret, tag_name=TAG_NAME,
                settings=engine.public(outcome.obj), tag_value=bursting_tag_value(module.client))


def main():
    module = PexipModule(argument_spec=ARGUMENT_SPEC, label="pexip_burst_settings 'Cloud Bursting'")
    validate(module)
    module.run(run)


if __name__ == "__main__":
    main()
