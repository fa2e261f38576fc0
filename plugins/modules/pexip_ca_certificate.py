#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: pexip_ca_certificate
short_description: Trust a CA certificate on Pexip Infinity
version_added: 0.2.0
author: pexip.infinity contributors (@pexip)
description:
  - Uploads a trusted CA certificate (C(configuration/v1/ca_certificate/)), for example the CA that signed the nodes'
    TLS certificates or an intermediate of their chain.
  - Idempotent by the certificate's identity (serial number and issuer), not by its text. O(trusted_intermediate)
    is updated in place.
extends_documentation_fragment:
  - pexip.infinity.api
  - pexip.infinity.attributes
options:
  certificate:
    description:
      - The CA certificate as PEM text. Mutually exclusive with O(certificate_file); one of them is required.
    type: str
  certificate_file:
    description:
      - Path of a PEM file holding the CA certificate.
    type: path
  trusted_intermediate:
    description:
      - Mark it as a trusted intermediate (C(trusted_intermediate)). Not changed when not given.
    type: bool
  state:
    description:
      - V(absent) removes the CA certificate.
    type: str
    choices: [present, absent]
    default: present
requirements:
  - cryptography
seealso:
  - module: pexip.infinity.pexip_tls_certificate
"""

EXAMPLES = r"""
- name: Trust the CA that issued the nodes' certificates
  pexip.infinity.pexip_ca_certificate:
    certificate_file: "{{ lab_dir }}/certs/ca.pem"
"""

RETURN = r"""
certificate:
  description: The CA certificate record after the run; in check mode, what would be uploaded.
  returned: success
  type: dict
  sample:
    subject_name: Example CA
    issuer_name: Example CA
    trusted_intermediate: false
    resource_uri: /api/admin/configuration/v1/ca_certificate/1/
"""

from ansible_collections.pexip.infinity.plugins.module_utils import certificates
from ansible_collections.pexip.infinity.plugins.module_utils.catalog import CA_CERTIFICATE
from ansible_collections.pexip.infinity.plugins.module_utils.module import PexipModule
from ansible_collections.pexip.infinity.plugins.module_utils.resource import Engine


class CertificateEngine(Engine):
    """Finds the record by the certificate's identity (serial number and issuer), not by a key field."""

    def __init__(self, module, resource, cert):
        super(CertificateEngine, self).__init__(module, resource)
        self.cert = cert

    def lookup(self, value=None, wanted=None):
        return certificates.find(self.client, self.resource.endpoint, self.cert)


def main():
    module = PexipModule(
        argument_spec=dict(
            certificate=dict(type="str"),
            certificate_file=dict(type="path"),
            trusted_intermediate=dict(type="bool"),
            state=dict(type="str", choices=["present", "absent"], default="present"),
        ),
        mutually_exclusive=[("certificate", "certificate_file")],
        required_one_of=[("certificate", "certificate_file")],
        label="pexip_ca_certificate",
    )
    p = module.params
    pem, chain = certificates.read_chain(module, "the CA certificate")
    try:
        if len(chain) > 1:
            raise certificates.CertificateError("give one CA certificate per task (the PEM holds %d)." % len(chain))
        if p["state"] == "present":
            certificates.check_dates(chain[0], "the CA certificate")
    except certificates.CertificateError as exc:
        module.fail(str(exc))

    def run(module):
        engine = CertificateEngine(module, CA_CERTIFICATE, chain[0])
        current = engine.lookup()
        if p["state"] == "absent":
            return engine.result(engine.remove(current), output="certificate")
        outcome = engine.ensure(current, engine.wanted(p), create_extra=None if current else {"certificate": pem})
        if current is None and module.check_mode:
            outcome.obj.update(subject_name=certificates.subject_name(chain[0]), issuer_name=certificates.issuer_name(chain[0]))
        return engine.result(outcome, output="certificate")

    module.run(run)


if __name__ == "__main__":
    main()
