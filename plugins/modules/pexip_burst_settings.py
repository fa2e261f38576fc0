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
attributes:
  check_mode:
    description: Can run in check mode and return changed status prediction without modifying the target.
    support: full
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check mode), when in diff mode.
    support: full
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
    V(unknown)): the caller must then stop or use an explicit value.
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
    tags:
      "{{ bursting.tag_name }}": "{{ bursting.tag_value }}"
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

import re

from ansible_collections.pexip.infinity.plugins.module_utils.bursting import GLOBAL_URI, TAG_NAME, bursting_tag_value
from ansible_collections.pexip.infinity.plugins.module_utils.module import PexipModule

PROVIDERS = {"aws": "AWS", "azure": "AZURE", "gcp": "GCP"}
OPTION_FIELDS = (
    ("enabled", "bursting_enabled"),
    ("threshold", "bursting_threshold"),
    ("min_lifetime", "bursting_min_lifetime"),
    ("provider", "cloud_provider"),
    ("aws_access_key", "aws_access_key"),
)
SECRET_RE = re.compile(r"secret|password|private_key|passphrase", re.I)


def without_secrets(settings):
    return dict((k, v) for k, v in settings.items() if not SECRET_RE.search(k))


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


def wanted_fields(params):
    wanted = {}
    for option, field in OPTION_FIELDS:
        if params[option] is not None:
            wanted[field] = PROVIDERS[params[option]] if option == "provider" else params[option]
    return wanted


def send_secret(params, current, changes):
    """Whether the write-only secret goes with this PATCH."""
    if params["aws_secret_key"] is None:
        return False
    if params["update_secret"] == "always":
        return True
    enabling = changes.get("bursting_enabled") is True
    return "aws_access_key" in changes or (enabling and not current.get("aws_access_key"))


def main():
    module = PexipModule(
        argument_spec=dict(
            enabled=dict(type="bool"),
            threshold=dict(type="int"),
            min_lifetime=dict(type="int"),
            provider=dict(type="str", choices=sorted(PROVIDERS)),
            aws_access_key=dict(type="str", no_log=False),
            aws_secret_key=dict(type="str", no_log=True),
            update_secret=dict(type="str", choices=["always", "on_change"], default="on_change"),
        ),
        label="pexip_burst_settings 'Cloud Bursting'",
        supports_check_mode=True,
    )
    validate(module)
    params = module.params

    current = module.call(module.client.get, GLOBAL_URI)
    wanted = wanted_fields(params)
    changes = dict((k, v) for k, v in wanted.items() if current.get(k) != v)
    secret = send_secret(params, current, changes)
    if secret:
        changes["aws_secret_key"] = params["aws_secret_key"]

    result = dict(changed=bool(changes), secret_sent=secret, tag_name=TAG_NAME)
    if module._diff:
        before = module.masked(dict((k, current.get(k)) for k in changes))
        if secret:
            before["aws_secret_key"] = "(write-only: not readable)"
        result["diff"] = dict(before=before, after=module.masked(changes))

    settings = dict(current)
    if changes:
        if module.check_mode:
            settings.update(changes)
        else:
            module.call(module.client.update, GLOBAL_URI, changes)
            settings = module.call(module.client.get, GLOBAL_URI)
    result["settings"] = without_secrets(settings)
    result["tag_value"] = module.call(bursting_tag_value, module.client)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
