#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: pexip_config_upload
short_description: Upload a bootstrap document to a new Pexip Infinity Conferencing Node
version_added: 0.1.0
author: pexip.infinity contributors (@pexip)
description:
  - Sends the XML bootstrap document that M(pexip.infinity.pexip_node) obtained when it created a Conferencing Node
    to the node's instance, which then applies it, reboots and joins the Management Node (about 5 minutes; wait for it
    with M(pexip.infinity.pexip_node_info) and its RV(pexip.infinity.pexip_node_info#module:nodes[].synced) value).
  - Uses the scripted form of the instance's bootstrap page, C(POST https://<address>:<port>/configuration/bootstrap)
    with the header C(Content-Type) set to C(text/xml).
  - A freshly launched instance refuses connections while it boots; with O(wait) (the default) the module keeps trying
    with backoff for O(wait_timeout) seconds.
  - An instance that already accepted a document says so; the module then reports no change. A document the
    instance rejects (another node's, or not a bootstrap document at all) fails with the instance's message.
  - This module talks to the new instance, not to the Management Node. It is part of the C(pexip.infinity.pexip) action
    group all the same, so it accepts and ignores the Management Node options O(host), O(username) and O(password) that
    C(module_defaults) set for the group.
extends_documentation_fragment:
  - pexip.infinity.attributes
  - pexip.infinity.wait
attributes:
  check_mode:
    description:
      - Checks that the bootstrap page answers (C(GET /)) and reports a change without uploading
        (no change when the page says the node is configured).
  diff_mode:
    support: none
    description: Returns no diff; the document is secret.
  platform:
    description: Talks to the new Conferencing Node's bootstrap page over HTTPS; runs on any host that reaches it.
options:
  address:
    description:
      - Address of the new Conferencing Node instance (its private IPv4 address, or a public address or name that
        reaches it).
    type: str
    required: true
  port:
    description:
      - Port of the bootstrap page.
    type: int
    default: 8443
  src:
    description:
      - File holding the bootstrap document (as written by M(pexip.infinity.pexip_node) O(pexip.infinity.pexip_node#module:config_dest)).
      - Exactly one of O(src) and O(content) is required.
    type: path
  content:
    description:
      - The bootstrap document itself (for example M(pexip.infinity.pexip_node)'s RV(pexip.infinity.pexip_node#module:bootstrap_config)).
      - It contains the node's secrets and is never logged.
    type: str
  validate_certs:
    description:
      - Verify the instance's TLS certificate. A new instance serves a self-signed certificate; pin it with
        O(fingerprint), give its CA with O(ca_path), or set V(false) to trust whoever answers at O(address).
      - V(false) is refused unless O(address) is a private (RFC 1918) or loopback address, or O(fingerprint) is set,
        because the document holds the credentials the node joins the platform with. Over a private address it trusts
        the network (the VPC and the VPN to it).
    type: bool
    default: true
  ca_path:
    description:
      - PEM file of the CA (or certificate) to trust for the instance's certificate.
      - The certificate's chain is checked, not its host name (the page is reached by address).
    type: path
  fingerprint:
    description:
      - SHA-256 fingerprint of the instance's certificate, as hexadecimal digits with or without colons (the output of
        C(openssl x509 -noout -fingerprint -sha256) is accepted).
      - When set, the instance is trusted by this fingerprint alone (neither a CA nor the host name is checked, and
        O(validate_certs) and O(ca_path) are not used); a different certificate fails before the document is sent.
    type: str
    version_added: 0.2.0
  host:
    description:
      - Ignored (the Management Node's address, accepted so that group C(module_defaults) apply); see O(address).
    type: str
  username:
    description:
      - Ignored (accepted so that group C(module_defaults) apply).
    type: str
  password:
    description:
      - Ignored (accepted so that group C(module_defaults) apply).
    type: str
  allow_loopback_addresses:
    description:
      - Ignored (accepted so that group C(module_defaults) apply).
    type: bool
    default: false
  timeout:
    description:
      - Seconds to wait for each HTTP response.
    type: int
    default: 30
  retries:
    description:
      - How many times a busy answer (HTTP 429, 502, 503, 504) is retried, with backoff.
    type: int
    default: 5
  wait:
    description:
      - Keep trying while the instance cannot be reached (connection refused or timed out), which is normal while a
        new instance boots. Without it, a connection error is retried O(retries) times only.
    default: true
  wait_timeout:
    description:
      - Seconds to keep trying while the instance cannot be reached, with O(wait=true).
    default: 300
seealso:
  - module: pexip.infinity.pexip_node
  - module: pexip.infinity.pexip_node_info
"""

EXAMPLES = r"""
- name: Create the node and keep its bootstrap document
  pexip.infinity.pexip_node:
    name: cn-lon-1
    hostname: cn-lon-1
    domain: example.com
    address: "{{ instance.private_ip_address }}"
    netmask: 255.255.255.0
    gateway: "{{ instance.private_ip_address | regex_replace('[.][0-9]+$', '.1') }}"  # the subnet's router (AWS: first address)
    system_location: London
    ssh_password: "{{ vault_node_ssh_password }}"
    config_dest: "{{ secure_dir }}/pexip-cn-lon-1.xml"

- name: Bootstrap the new instance
  pexip.infinity.pexip_config_upload:
    address: "{{ instance.private_ip_address }}"
    src: "{{ secure_dir }}/pexip-cn-lon-1.xml"
    ca_path: "{{ secure_dir }}/pexip-node-ca.pem"
    wait_timeout: 600

- name: Wait until the node has joined the platform
  pexip.infinity.pexip_node_info:
    name: cn-lon-1
  register: node_info
  until: node_info.nodes | length == 1 and node_info.nodes[0].synced
  retries: 60
  delay: 10
"""

RETURN = r"""
url:
  description: The URL the document was (or in check mode would be) sent to.
  returned: always
  type: str
  sample: https://10.0.1.10:8443/configuration/bootstrap
status:
  description: HTTP status of the instance's last answer.
  returned: when the instance answered
  type: int
  sample: 200
message:
  description: What the instance answered (its message, or the start of its page).
  returned: when the instance answered
  type: str
  sample: Configuration accepted; the node will now reboot.
attempts:
  description: How many requests were needed (connection attempts while the instance booted included).
  returned: always
  type: int
maybe_sent:
  description: On a failure, true when the document may have reached the instance (its answer was lost).
  returned: on a lost answer
  type: bool
"""

from ansible_collections.pexip.infinity.plugins.module_utils.bootstrap import CONFIGURED_RE, Uploader, page_client, page_errors
from ansible_collections.pexip.infinity.plugins.module_utils.module import PexipModule
from ansible_collections.pexip.infinity.plugins.module_utils.waiter import wait_argument_spec, wait_errors


def upload(module):
    p = module.params
    if p["src"] is not None:
        try:
            with open(p["src"], "rb") as handle:
                document = handle.read()
        except (IOError, OSError) as exc:
            module.fail("cannot read the bootstrap document %s: %s." % (p["src"], exc))
    else:
        document = p["content"].encode("utf-8")
    if not document.strip():
        module.fail("the bootstrap document is empty; pass the file pexip_node wrote (config_dest) or its bootstrap_config.")

    wait_timeout = p["wait_timeout"] if p["wait"] else None
    client = page_client(module, p["address"], p["port"], p["validate_certs"], p["ca_path"], wait_timeout, p["poll_interval"], p["fingerprint"])
    uploader = Uploader(client, module.fail, p["port"], wait_timeout)
    if module.check_mode:
        result = uploader.check()
        # A node whose page says it is configured would refuse the document: nothing would change.
        return dict(changed=not CONFIGURED_RE.search(result["message"]), **result)
    return uploader.upload(document)


def main():
    argument_spec = dict(
        address=dict(type="str", required=True),
        port=dict(type="int", default=8443),
        src=dict(type="path"),
        content=dict(type="str", no_log=True),
        validate_certs=dict(type="bool", default=True),
        ca_path=dict(type="path"),
        fingerprint=dict(type="str"),
        # The Management Node settings of the group's module_defaults: accepted, not used.
        host=dict(type="str"),
        username=dict(type="str"),
        password=dict(type="str", no_log=True),
        allow_loopback_addresses=dict(type="bool", default=False),
        timeout=dict(type="int", default=30),
        retries=dict(type="int", default=5),
    )
    argument_spec.update(wait_argument_spec(wait=True, wait_timeout=300, poll_interval=10))
    module = PexipModule(argument_spec=argument_spec, connection=False, mutually_exclusive=[("src", "content")],
                         required_one_of=[("src", "content")])
    p = module.params
    module.label = "pexip_config_upload %s" % p["address"]
    errors = wait_errors(p) + page_errors(p["address"], p["port"], p["validate_certs"], p["ca_path"], p["timeout"], p["retries"], p["fingerprint"])
    if errors:
        module.fail("; ".join(errors) + ".")
    module.run(upload)


if __name__ == "__main__":
    main()
