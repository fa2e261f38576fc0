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
attributes:
  check_mode:
    description: Can run in check mode and return changed status prediction without modifying the target.
    support: full
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check mode), when in diff mode.
    support: full
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

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.pexip.infinity.plugins.module_utils import certificates
from ansible_collections.pexip.infinity.plugins.module_utils.module import PexipModule
from ansible_collections.pexip.infinity.plugins.module_utils.platform import public, read_text


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
    if not certificates.HAS_CRYPTOGRAPHY:
        module.fail_json(msg=missing_required_lib("cryptography"), exception=str(certificates.CRYPTOGRAPHY_IMPORT_ERROR))
    p = module.params
    pem = read_text(module, "certificate", "certificate_file")
    try:
        chain = certificates.load_chain(pem, "the CA certificate")
        if len(chain) > 1:
            raise certificates.CertificateError("give one CA certificate per task (the PEM holds %d)." % len(chain))
        cert = chain[0]
        if p["state"] == "present":
            certificates.check_dates(cert, "the CA certificate")
    except certificates.CertificateError as exc:
        module.fail(str(exc))
    found = [c for c in module.call(module.client.list, "ca_certificate") if certificates.same_certificate(cert, c)]
    current = found[0] if found else None

    if p["state"] == "absent":
        if current and not module.check_mode:
            module.call(module.client.delete, current["resource_uri"])
        module.exit_json(changed=bool(current), certificate={}, diff=dict(before=public(current), after={}))

    wanted = {} if p["trusted_intermediate"] is None else {"trusted_intermediate": p["trusted_intermediate"]}
    if current is None:
        after = dict(wanted, subject_name=certificates.subject_name(cert), issuer_name=certificates.issuer_name(cert))
        if not module.check_mode:
            after, _response = module.call(module.client.create, "ca_certificate", dict(wanted, certificate=pem))
        module.exit_json(changed=True, certificate=public(after), diff=dict(before={}, after=dict(wanted, subject_name=after["subject_name"])))
    changes = dict((k, v) for k, v in wanted.items() if current.get(k) != v)
    if changes and not module.check_mode:
        module.call(module.client.update, current["resource_uri"], changes)
        current = module.call(module.client.get, current["resource_uri"])
    elif changes:
        current = dict(current, **changes)
    module.exit_json(changed=bool(changes), certificate=public(current),
                     diff=dict(before=dict((k, not v) for k, v in changes.items()), after=changes))


if __name__ == "__main__":
    main()
