#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: pexip_management_node
short_description: Configure the Pexip Infinity Management Node's own settings
version_added: 0.2.0
author: pexip.infinity contributors (@pexip)
description:
  - Sets the fields of the primary Management Node (C(configuration/v1/management_vm/), B(Platform > Management Node)) -
    its DNS and NTP servers (the guide asks to assign them "on all your host servers and the Management Node
    itself"), static NAT address, TLS certificate, alternative FQDN, SSH and SNMP.
  - Options that are not given are left as they are; only the fields that differ are sent, in one C(PATCH).
  - DNS and NTP servers are given by address; a server that is not yet under B(System > DNS/NTP Servers) is created.
extends_documentation_fragment:
  - pexip.infinity.api
  - pexip.infinity.attributes
options:
  dns_servers:
    description: Addresses of the Management Node's DNS servers (the whole list; V([]) clears it).
    type: list
    elements: str
  ntp_servers:
    description: Addresses of the Management Node's NTP servers (the whole list).
    type: list
    elements: str
  static_nat_address:
    description: Public IPv4 address the Management Node is reached at through static NAT; V('') clears it.
    type: str
  tls_certificate:
    description:
      - TLS certificate the Management Node serves, by its subject name (the C(subject_name) the Management Node shows
        for a C(configuration/v1/tls_certificate), normally the certificate's common name such as
        V(mgr.example.com)); upload it first with M(pexip.infinity.pexip_tls_certificate).
      - An unknown subject name fails and lists the subject names that exist. When several certificates have the
        subject name (for example a renewed certificate next to the old one), the module fails and asks for the
        resource URI of the one to use; it does not choose between them. M(pexip.infinity.pexip_node) resolves its
        O(pexip.infinity.pexip_node#module:tls_certificate) the same way.
      - The resource URI of the certificate (for example V(/api/admin/configuration/v1/tls_certificate/3/)) is also
        accepted; it must exist.
      - V('') removes the assignment.
    type: str
  alternative_fqdn:
    description: Another FQDN of the Management Node; it must be named by its TLS certificate. V('') clears it.
    type: str
  description:
    description: Description of the Management Node.
    type: str
  enable_ssh:
    description: SSH access (V(global) follows the platform setting).
    type: str
    choices: [global, "on", "off"]
  snmp_mode:
    description: SNMP mode.
    type: str
    choices: [disabled, standard, authpriv]
  snmp_community:
    description: SNMPv2c community (a secret, never logged or returned).
    type: str
  snmp_username:
    description: SNMPv3 user name.
    type: str
  snmp_authentication_password:
    description: SNMPv3 authentication password (a secret).
    type: str
  snmp_privacy_password:
    description: SNMPv3 privacy password (a secret).
    type: str
  snmp_system_contact:
    description: SNMP system contact.
    type: str
  snmp_system_location:
    description: SNMP system location.
    type: str
seealso:
  - module: pexip.infinity.pexip_system_servers
  - module: pexip.infinity.pexip_tls_certificate
"""

EXAMPLES = r"""
- name: The guide's DNS and NTP servers on the Management Node itself, its certificate and static NAT
  pexip.infinity.pexip_management_node:
    dns_servers: ["127.0.0.53"]
    ntp_servers: ["127.0.0.123", "127.0.0.124", "127.0.0.125"]
    # The certificate uploaded with pexip.infinity.pexip_tls_certificate (registered as mgr_certificate), by resource
    # URI: its subject name, mgr-lab.lab.example.com, is also the one of the node's default self-signed certificate.
    tls_certificate: "{{ mgr_certificate.certificate.resource_uri }}"
    static_nat_address: 198.51.100.10

- name: SNMPv3 with secrets from the vault
  pexip.infinity.pexip_management_node:
    snmp_mode: authpriv
    snmp_username: monitor
    snmp_authentication_password: "{{ vault_snmp_auth }}"
    snmp_privacy_password: "{{ vault_snmp_priv }}"
"""

RETURN = r"""
management_node:
  description:
    - The Management Node's settings after the run (in check mode, as they would be), without secrets.
    - C(tls_certificate_name) is the subject name of its TLS certificate.
  returned: success
  type: dict
  sample:
    hostname: mgr-lab
    domain: lab.example.com
    dns_servers: [{address: 127.0.0.53, resource_uri: /api/admin/configuration/v1/dns_server/1/}]
    tls_certificate: /api/admin/configuration/v1/tls_certificate/2/
    tls_certificate_name: mgr-lab.lab.example.com
created:
  description: DNS/NTP server objects that were (or would be) created.
  returned: success
  type: list
  elements: str
  sample: [dns_server 127.0.0.53]
"""

from ansible_collections.pexip.infinity.plugins.module_utils.catalog import MANAGEMENT_NODE
from ansible_collections.pexip.infinity.plugins.module_utils.module import PexipModule
from ansible_collections.pexip.infinity.plugins.module_utils.platform import primary_management_vm
from ansible_collections.pexip.infinity.plugins.module_utils.resource import Engine


def run(module):
    engine = Engine(module, MANAGEMENT_NODE)
    outcome = engine.ensure(primary_management_vm(module), engine.wanted(module.params))
    return engine.result(outcome, output="management_node", created=outcome.created)


def main():
    module = PexipModule(argument_spec=dict((f.option, f.spec()) for f in MANAGEMENT_NODE.fields), label="pexip_management_node")
    module.run(run)


if __name__ == "__main__":
    main()
