#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: pexip_tls_certificate_info
short_description: Read the TLS server certificates of Pexip Infinity, when they expire and which nodes use them
version_added: 0.2.0
author: pexip.infinity contributors (@pexip)
description:
  - Lists the server certificates (C(configuration/v1/tls_certificate/)) with their subject, SANs, issuer, not-after
    date, the whole days left, and the nodes using each one (the Management Nodes and Conferencing Nodes whose
    C(tls_certificate) is that certificate).
  - Grades each certificate against O(warn_days) and O(critical_days) and warns about every certificate in use that
    expires within O(warn_days); playbooks/certificates.yml fails on the C(critical) and C(expired) ones it returns in
    RV(expiring).
extends_documentation_fragment:
  - pexip.infinity.api
  - pexip.infinity.attributes.info
options:
  subject_name:
    description:
      - Only the certificates with this subject name (common name).
    type: str
  warn_days:
    description:
      - A certificate with fewer days left than this is graded C(warning).
    type: int
    default: 30
  critical_days:
    description:
      - A certificate with fewer days left than this is graded C(critical); must not exceed O(warn_days).
    type: int
    default: 7
seealso:
  - module: pexip.infinity.pexip_tls_certificate
"""

EXAMPLES = r"""
- name: Read the certificates, warning 60 days ahead
  pexip.infinity.pexip_tls_certificate_info:
    warn_days: 60
    critical_days: 14
  register: tls

- name: No certificate in use may be about to expire
  ansible.builtin.assert:
    that: tls.expiring | selectattr('status', 'in', ['critical', 'expired']) | list | length == 0
    fail_msg: "{{ tls.expiring | map(attribute='message') | join('; ') }}"
"""

RETURN = r"""
certificates:
  description: Every server certificate (never a private key), soonest expiry first.
  returned: success
  type: list
  elements: dict
  contains:
    subject_name:
      description: The subject's common name.
      type: str
    subject_alt_names:
      description: The subject alternative names.
      type: list
      elements: str
    issuer_name:
      description: The issuer's common name.
      type: str
    not_after:
      description: The end of validity (UTC, ISO 8601).
      type: str
    days_left:
      description: Whole days until the end of validity; negative once expired.
      type: int
    status:
      description: C(ok), C(warning), C(critical) or C(expired), by O(warn_days) and O(critical_days).
      type: str
    nodes:
      description: The names of the nodes using the certificate (Management Nodes first).
      type: list
      elements: str
    node_fqdns:
      description: Their FQDNs.
      type: list
      elements: str
    resource_uri:
      description: The certificate's URI.
      type: str
  sample:
    - subject_name: mgr-lab.lab.example.com
      subject_alt_names: [mgr-lab.lab.example.com]
      issuer_name: Example CA
      not_after: "2028-03-05T12:00:00"
      days_left: 453
      status: ok
      nodes: [mgr-lab]
      node_fqdns: [mgr-lab.lab.example.com]
      serial_no: 5f2c0d...
      resource_uri: /api/admin/configuration/v1/tls_certificate/2/
expiring:
  description: The certificates in use graded other than C(ok), each with a C(message) naming it and its nodes.
  returned: success
  type: list
  elements: dict
  sample:
    - subject_name: cn-lon-1.lab.example.com
      days_left: 5
      status: critical
      nodes: [cn-lon-1]
      message: >-
        TLS certificate 'cn-lon-1.lab.example.com' (/api/admin/configuration/v1/tls_certificate/3/) expires in 5 days
        (2026-12-12T10:00:00), used by cn-lon-1
"""

from ansible_collections.pexip.infinity.plugins.module_utils import certificates
from ansible_collections.pexip.infinity.plugins.module_utils.catalog import CERTIFICATE_HOLDERS, SERVER_CERTIFICATE
from ansible_collections.pexip.infinity.plugins.module_utils.module import PexipModule
from ansible_collections.pexip.infinity.plugins.module_utils.resource import Engine, ref_uri

#: what is returned of a certificate record (its PEM and parsed text are left out: long, and in the Administrator UI)
SHOWN = ("id", "subject_name", "issuer_name", "serial_no", "start_date", "resource_uri")


def message(cert):
    when = "expired %d days ago" % -cert["days_left"] if cert["days_left"] < 0 else "expires in %d days" % cert["days_left"]
    users = ", ".join(cert["nodes"] or cert["node_fqdns"])
    return "TLS certificate '%s' (%s) %s (%s), used by %s" % (cert["subject_name"], cert["resource_uri"], when, cert["not_after"], users)


def run(module):
    p = module.params
    if p["critical_days"] > p["warn_days"]:
        module.fail("critical_days (%d) exceeds warn_days (%d): give a critical threshold at most the warning one." % (
            p["critical_days"], p["warn_days"]))
    engine = Engine(module, SERVER_CERTIFICATE)
    users = {}  # certificate URI -> [(name, fqdn)]
    for kind in ("management_vm", "worker_vm"):
        for vm in engine.load_all(CERTIFICATE_HOLDERS[kind].endpoint):
            uri = ref_uri(vm.get("tls_certificate"), SERVER_CERTIFICATE.endpoint)
            if uri:
                users.setdefault(uri, []).append((vm.get("name"), "%s.%s" % (vm.get("hostname"), vm.get("domain"))))
    found = []
    for record in engine.load_all(SERVER_CERTIFICATE.endpoint, "subject_name"):
        if p["subject_name"] is not None and record.get("subject_name") != p["subject_name"]:
            continue
        uri = ref_uri(record.get("resource_uri"), SERVER_CERTIFICATE.endpoint)
        cert = dict((k, record.get(k)) for k in SHOWN)
        cert["resource_uri"] = uri
        cert["subject_alt_names"] = certificates.split_names(record.get("subject_alt_names"))
        cert["not_after"] = record.get("end_date")
        cert["days_left"] = certificates.days_left(record.get("end_date"))
        cert["status"] = certificates.expiry_status(cert["days_left"], p["warn_days"], p["critical_days"])
        cert["nodes"] = [name for name, _fqdn in users.get(uri, [])]
        # the API's own list (FQDNs, [DUMP]) joins the nodes' fields, which say the same where it is filled in
        fqdns = [fqdn for _name, fqdn in users.get(uri, [])]
        fqdns += [n for n in record.get("nodes") or [] if isinstance(n, str) and not n.startswith("/") and n not in fqdns]
        cert["node_fqdns"] = fqdns
        found.append(cert)
    found.sort(key=lambda c: (c["days_left"] is None, c["days_left"], c["subject_name"] or ""))
    expiring = []
    for cert in found:
        if cert["status"] != "ok" and cert["node_fqdns"]:
            expiring.append(dict(cert, message=message(cert)))
            module.warn(message(cert) + ": renew it (pexip.infinity.pexip_tls_certificate replaces it in place).")
    return dict(changed=False, certificates=found, expiring=expiring)


def main():
    module = PexipModule(
        argument_spec=dict(
            subject_name=dict(type="str"),
            warn_days=dict(type="int", default=30),
            critical_days=dict(type="int", default=7),
        ),
        label="pexip_tls_certificate_info",
    )
    module.run(run)


if __name__ == "__main__":
    main()
