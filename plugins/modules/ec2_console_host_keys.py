#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: ec2_console_host_keys
short_description: Read the SSH host key fingerprints an EC2 instance prints in its console output
version_added: 0.2.0
description:
  - Reads the instance's console output (EC2 C(GetConsoleOutput), what C(aws ec2 get-console-output) and the console's
    "Get system log" show) and returns the SSH host keys printed between C(-----BEGIN SSH HOST KEY FINGERPRINTS-----)
    and C(-----END SSH HOST KEY FINGERPRINTS-----) (and the keys themselves, between C(-----BEGIN SSH HOST KEY KEYS-----)
    and C(-----END SSH HOST KEY KEYS-----)), as cloud-init images print them at their first boot.
  - The fingerprints pin the host key of the first SSH connection to a new instance
    (O(pexip.infinity.pexip_management_node_first_boot#module:host_key_fingerprint)) instead of trusting it on first
    use. The console output comes from the hypervisor, not over the network the SSH connection takes.
  - Whether the Pexip Infinity images print these lines is not confirmed; without them the module finds nothing
    (RV(fingerprints) is empty) or, with O(wait_timeout), fails once that has passed.
  - Neither amazon.aws nor community.aws has a module for C(GetConsoleOutput), hence this one. It is not in the
    C(group/aws) action group of C(amazon.aws), so C(module_defaults) for that group do not reach it; pass O(region)
    and the like explicitly when needed.
options:
  latest:
    description:
      - Ask for the newest console output (Nitro instances only) rather than the one AWS keeps from the last boot.
    type: bool
    default: false
  wait_timeout:
    description:
      - Seconds to keep asking until the output shows host keys (AWS updates the output a few minutes after a boot).
        V(0) asks once and returns whatever it finds.
    type: int
    default: 0
  poll_interval:
    description: Seconds between two requests with O(wait_timeout).
    type: int
    default: 15
attributes:
  check_mode:
    support: full
    description: Only reads.
  diff_mode:
    support: none
    description: Only reads.
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
  - pexip.infinity.ec2_instance
author: pexip.infinity contributors (@pexip)
"""

EXAMPLES = r"""
- name: Read the host key fingerprints the new Management Node printed to its console output
  pexip.infinity.ec2_console_host_keys:
    instance_id: "{{ mgr_instance_id }}"
    wait_timeout: 600  # AWS updates the console output a few minutes after the boot
  register: mgr_console_keys

- name: Pin them at the first SSH connection (pexip_management_node_first_boot's host_key_fingerprint)
  ansible.builtin.set_fact:
    mgr_host_key_fingerprint: "{{ mgr_console_keys.fingerprints | map(attribute='fingerprint') | join(',') }}"
"""

RETURN = r"""
fingerprints:
  description:
    - The SHA256 fingerprints of the host keys, from the keys block when the output has one (each computed from its
      key), else from the fingerprints block. Empty when the output shows none. MD5 fingerprints (older cloud-init)
      are left out.
  returned: always
  type: list
  elements: dict
  contains:
    type:
      description: Key type as the output names it (C(ECDSA), C(ED25519), C(RSA), or the key's algorithm name).
      type: str
    fingerprint:
      description: C(SHA256:<base64>).
      type: str
  sample: [{type: ED25519, fingerprint: "SHA256:Ew1ZtbUoKzo3rrSjHqx2m9XuYkyIeJbV5Mw9zyXbb5M"}]
host_keys:
  description: The public host keys of the keys block, as C(<algorithm> <base64>) (a known_hosts line without the host).
  returned: always
  type: list
  elements: str
output_found:
  description: Whether the instance had any console output yet.
  returned: always
  type: bool
"""

import base64
import binascii
import hashlib
import re
import time

from ansible_collections.pexip.infinity.plugins.module_utils.ec2 import call, ec2_client, instance_module

BLOCK = r"-----BEGIN SSH HOST KEY %s-----(.*?)-----END SSH HOST KEY %s-----"
# cloud-init: "ec2: 256 SHA256:base64 root@host (ECDSA)", the line's prefix varies (ec2:, a timestamp, none).
FINGERPRINT = re.compile(r"\b\d+\s+SHA256:([A-Za-z0-9+/]{43})=?\s.*\((\w+)\)\s*$")
KEY = re.compile(r"\b((?:ssh|ecdsa-sha2|sk-ssh|sk-ecdsa)-[\w@.-]+)\s+(AAAA[A-Za-z0-9+/]+={0,2})(\s|$)")


def sha256_fingerprint(blob):
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode("ascii").rstrip("=")


def host_keys(output):
    """(fingerprints, keys) of the last fingerprints and keys blocks of ``output`` (a reboot prints them again)."""
    output = output.replace("\r", "")
    keys, fingerprints = [], []
    blocks = re.findall(BLOCK % ("KEYS", "KEYS"), output, re.S)
    for line in (blocks[-1] if blocks else "").split("\n"):
        match = KEY.search(line)
        if not match:
            continue
        try:
            blob = base64.b64decode(match.group(2), validate=True)
        except (binascii.Error, ValueError):
            continue
        keys.append("%s %s" % (match.group(1), match.group(2)))
        fingerprints.append(dict(type=match.group(1), fingerprint=sha256_fingerprint(blob)))
    if fingerprints:
        return fingerprints, keys
    blocks = re.findall(BLOCK % ("FINGERPRINTS", "FINGERPRINTS"), output, re.S)
    for line in (blocks[-1] if blocks else "").split("\n"):
        match = FINGERPRINT.search(line)
        if match:
            fingerprints.append(dict(type=match.group(2), fingerprint="SHA256:" + match.group(1)))
    return fingerprints, keys


def main():
    module = instance_module(latest=dict(type="bool", default=False), wait_timeout=dict(type="int", default=0), poll_interval=dict(type="int", default=15))
    p = module.params
    if p["wait_timeout"] < 0 or p["poll_interval"] < 1:
        module.fail_json(msg="wait_timeout must be 0 or more and poll_interval 1 or more seconds (wait_timeout %s, poll_interval %s)."
                         % (p["wait_timeout"], p["poll_interval"]))
    client = ec2_client(module)
    request = dict(InstanceId=p["instance_id"])
    if p["latest"]:
        request["Latest"] = True
    deadline = time.monotonic() + p["wait_timeout"]
    while True:
        output = call(module, "Could not read the console output of %s" % p["instance_id"], client.get_console_output, **request).get("Output") or ""
        fingerprints, keys = host_keys(output)
        if fingerprints or time.monotonic() >= deadline:
            break
        time.sleep(min(p["poll_interval"], max(0, deadline - time.monotonic())))
    if not fingerprints and p["wait_timeout"]:
        module.fail_json(
            msg="the console output of %s showed no SSH host key fingerprints within %s seconds (%s). The image may not print "
                "them (look for -----BEGIN SSH HOST KEY FINGERPRINTS----- under Get system log): then trust the key on first "
                "use (host_key_policy accept_new) or pin the fingerprint you read from the node itself."
                % (p["instance_id"], p["wait_timeout"], "%d characters of output" % len(output) if output else "no output yet"),
            output_found=bool(output), fingerprints=[], host_keys=[])
    module.exit_json(changed=False, fingerprints=fingerprints, host_keys=keys, output_found=bool(output))


if __name__ == "__main__":
    main()
