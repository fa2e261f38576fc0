#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: pexip_certificate_signing_request
short_description: Renew a Pexip Infinity TLS certificate with a CSR made on the Management Node
version_added: 0.2.0
author: pexip.infinity contributors (@pexip)
description:
  - Makes a certificate signing request on the Management Node (C(configuration/v1/certificate_signing_request/)); the
    Management Node makes the private key and keeps it, the module returns the CSR's PEM (RV(csr)) for a CA to sign.
    The private key never leaves the Management Node; this module never sends or returns one.
  - A later run with O(certificate) (the signed certificate) writes it back to the request. The Management Node then
    installs it with the request's key; with O(tls_certificate), the certificate the request renews is replaced in place,
    so every node using it keeps it. The module checks first that the certificate was issued for the request's key,
    has not expired, and names the FQDN of every node using the certificate it renews.
  - Idempotent; the request is found by its subject name. A request is made once; its key and CSR follow from the
    options, so a request that exists with other options is refused (delete it with O(state=absent) to make another).
    A certificate already installed (the same serial number and issuer) is not written back again.
extends_documentation_fragment:
  - pexip.infinity.api
  - pexip.infinity.attributes
options:
  subject_name:
    description:
      - The subject's common name (the certificate's name), also its first subject alternative name.
    type: str
    required: true
  dn:
    description:
      - The whole subject as an RFC 4514 distinguished name, instead of C(CN=)O(subject_name).
    type: str
  additional_subject_alt_names:
    description:
      - More DNS names for the certificate (the FQDNs of the nodes that are to use it).
    type: list
    elements: str
  private_key_type:
    description:
      - The key the Management Node makes. Left out, the Management Node's default.
    type: str
    choices: [rsa2048, rsa4096, ecdsap256]
  ad_compatible:
    description:
      - Make the request compatible with Active Directory Certificate Services.
    type: bool
  eku_client_auth:
    description:
      - Ask for the client authentication extended key usage.
    type: bool
  eku_server_auth:
    description:
      - Ask for the server authentication extended key usage.
    type: bool
  tls_certificate:
    description:
      - The certificate this request renews (subject name or resource URI); the signed certificate replaces it in place.
    type: str
  certificate:
    description:
      - The signed certificate as PEM text (optionally followed by its intermediate CAs), to write back to the request.
      - Mutually exclusive with O(certificate_file).
    type: str
  certificate_file:
    description:
      - Path (on the host running the module) of a PEM file holding the signed certificate.
    type: path
  state:
    description:
      - V(absent) deletes the request (and, with it, the key of a certificate not yet written back).
    type: str
    choices: [present, absent]
    default: present
requirements:
  - cryptography
notes:
  - The order (request for the existing certificate, the CA signs RV(csr), the certificate written back to the request)
    is the natural reading of the published API, not confirmed against a real Management Node.
seealso:
  - module: pexip.infinity.pexip_tls_certificate
  - module: pexip.infinity.pexip_tls_certificate_info
"""

EXAMPLES = r"""
- name: A CSR on the Management Node, to renew its certificate (the key stays there)
  pexip.infinity.pexip_certificate_signing_request:
    subject_name: mgr-lab.lab.example.com
    private_key_type: ecdsap256
    tls_certificate: mgr-lab.lab.example.com
  register: mgr_csr

- name: Have its CSR signed (here by a CA of your own, with community.crypto)
  community.crypto.x509_certificate_pipe:
    provider: ownca
    csr_content: "{{ mgr_csr.csr }}"
    ownca_path: "{{ lab_dir }}/certs/ca.pem"
    ownca_privatekey_path: "{{ lab_dir }}/certs/ca.key"
    ownca_not_after: +398d
  register: mgr_signed

- name: Write the signed certificate back; it replaces the old one in place
  pexip.infinity.pexip_certificate_signing_request:
    subject_name: mgr-lab.lab.example.com
    certificate: "{{ mgr_signed.certificate }}"
"""

RETURN = r"""
csr:
  description: The CSR's PEM, for the CA to sign; null in check mode before the request exists.
  returned: success
  type: str
  sample: "-----BEGIN CERTIFICATE REQUEST-----\nMIIB...\n-----END CERTIFICATE REQUEST-----\n"
signing_request:
  description: The request (never a key); empty once deleted, or when the Management Node dropped it after the write-back.
  returned: success
  type: dict
  sample:
    subject_name: mgr-lab.lab.example.com
    private_key_type: ECDSAP256
    tls_certificate: /api/admin/configuration/v1/tls_certificate/1/
    tls_certificate_name: mgr-lab.lab.example.com
    resource_uri: /api/admin/configuration/v1/certificate_signing_request/1/
certificate:
  description: With O(certificate), the installed certificate (no key); in check mode, what would be installed.
  returned: when O(certificate) or O(certificate_file) is given
  type: dict
  sample:
    subject_name: mgr-lab.lab.example.com
    issuer_name: Example CA
    serial_no: 5f2c0d...
    end_date: "2028-03-05T12:00:00"
    resource_uri: /api/admin/configuration/v1/tls_certificate/1/
"""

from ansible_collections.pexip.infinity.plugins.module_utils import certificates
from ansible_collections.pexip.infinity.plugins.module_utils.catalog import SERVER_CERTIFICATE, SIGNING_REQUEST
from ansible_collections.pexip.infinity.plugins.module_utils.module import PexipModule
from ansible_collections.pexip.infinity.plugins.module_utils.resource import Engine, ref_uri
from ansible_collections.pexip.infinity.plugins.module_utils.secrets import public

SANS = "additional_subject_alt_names"


def shown(engine, obj):
    return engine.public(engine.annotate(obj)) if obj else {}


def request(module, engine):
    """Make the request unless it exists; one that exists with other options is refused, not changed."""
    p = module.params
    wanted = engine.wanted(p)
    current = engine.lookup(p["subject_name"])
    if current is not None:
        keys = engine.changes(current, wanted)
        if p[SANS] is not None and certificates.split_names(current.get(SANS)) != [n.strip() for n in p[SANS]]:
            keys.append(SANS)
        if keys:
            module.fail("the certificate signing request for '%s' exists with another %s: its key and CSR were made from them. "
                        "Delete it (state=absent) and run again to make a new one, or give its values." % (
                            p["subject_name"], ", ".join(k.replace("_", " ") for k in keys)))
        return dict(changed=False, signing_request=shown(engine, current), csr=current.get("csr"))
    extra = {SANS: ", ".join(n.strip() for n in p[SANS])} if p[SANS] else None
    outcome = engine.ensure(None, wanted, key_value=p["subject_name"], create_extra=extra)
    return engine.result(outcome, "signing_request", csr=outcome.obj.get("csr"))


def write_back(module, engine, current, pem):
    """Give the request its signed certificate. UNCONFIRMED (docs/lab.md): PATCH of the request's ``certificate``,
    after which the Management Node installs it with the request's key (in place of the certificate it renews)."""
    return engine.ensure(current, {}, write_only=dict(certificate=pem))


def sign_in(module, engine):
    """Write the signed certificate back, once: refused unless it is the request's, in date, and names the nodes."""
    p = module.params
    pem, chain = certificates.read_chain(module)
    cert = chain[0]
    current = engine.lookup(p["subject_name"])
    done = certificates.find(module.client, SERVER_CERTIFICATE.endpoint, cert)
    if done is not None:
        return dict(changed=False, certificate=public(done), signing_request=shown(engine, current), csr=(current or {}).get("csr"))
    if current is None:
        module.fail("there is no certificate signing request for '%s' on the Management Node: make one (this module without "
                    "certificate), have its CSR signed, then write the certificate back." % p["subject_name"])
    renews = ref_uri(current.get("tls_certificate"), SERVER_CERTIFICATE.endpoint)
    try:
        certificates.check_dates(cert)
        certificates.check_csr(cert, current.get("csr"), p["subject_name"])
    except certificates.CertificateError as exc:
        module.fail(str(exc))
    problem = certificates.unnamed(cert, certificates.holders(module.client, renews)) if renews else None
    if problem:
        module.fail(problem)
    outcome = write_back(module, engine, current, pem)
    after = certificates.record(cert, renews)
    diff = dict(before=dict(certificate=(current.get("certificate") and "(a certificate)") or None), after=dict(certificate=after))
    if not module.check_mode:
        found = certificates.find(module.client, SERVER_CERTIFICATE.endpoint, cert)
        if found is None:
            module.fail("the Management Node took the certificate but lists no TLS certificate with its serial number %s: install "
                        "it with pexip.infinity.pexip_tls_certificate instead (the renewal order is unconfirmed: docs/lab.md)."
                        % after["serial_no"])
        after = found
    return dict(changed=True, certificate=public(after), signing_request=shown(engine, outcome.obj), csr=current.get("csr"), diff=diff)


def run(module):
    engine = Engine(module, SIGNING_REQUEST)
    p = module.params
    if p["state"] == "absent":
        return engine.result(engine.remove(engine.lookup(p["subject_name"])), "signing_request")
    if p["certificate"] is not None or p["certificate_file"] is not None:
        return sign_in(module, engine)
    return request(module, engine)


def main():
    module = PexipModule(
        argument_spec=SIGNING_REQUEST.argument_spec(
            additional_subject_alt_names=dict(type="list", elements="str"),
            certificate=dict(type="str"),
            certificate_file=dict(type="path"),
        ),
        mutually_exclusive=[("certificate", "certificate_file")],
    )
    module.label = "pexip_certificate_signing_request '%s'" % module.params["subject_name"]
    module.run(run)


if __name__ == "__main__":
    main()
