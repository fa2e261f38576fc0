#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: pexip_tls_certificate
short_description: Upload a TLS server certificate to Pexip Infinity and attach it to nodes
version_added: 0.2.0
author: pexip.infinity contributors (@pexip)
description:
  - Uploads a server certificate with its private key (C(configuration/v1/tls_certificate/)), as in
    B(Certificates > TLS Certificates) of the guide ("You must install TLS certificates on the Management Node and
    — when you deploy them — each Conferencing Node").
  - Idempotent by the certificate's identity (serial number and issuer, as the Management Node parses them), not by
    its text; the same certificate given with another chain or other line endings is not uploaded again.
  - Attaches the certificate to the Management Node (O(management_node)) and to Conferencing Nodes (O(nodes)) by
    setting their C(tls_certificate) field. The certificate must name each of those nodes' FQDN
    (C(hostname.domain)), as the guide requires; the module refuses it otherwise.
  - Everything is checked before the first write; the certificate parses and has not expired, the key belongs to it
    and opens with the passphrase, and it names every node.
extends_documentation_fragment:
  - pexip.infinity.api
  - pexip.infinity.attributes
options:
  certificate:
    description:
      - The certificate as PEM text, server certificate first, optionally followed by its intermediate CAs.
      - Mutually exclusive with O(certificate_file); one of them is required.
    type: str
  certificate_file:
    description:
      - Path (on the host running the module) of a PEM file holding the certificate.
    type: path
  private_key:
    description:
      - The private key as PEM text (a vault string). Never logged or returned.
      - Required with O(state=present), unless O(private_key_file) is given.
    type: str
  private_key_file:
    description:
      - Path of a PEM file holding the private key.
    type: path
  private_key_passphrase:
    description:
      - Passphrase of an encrypted private key. Never logged or returned.
    type: str
  management_node:
    description:
      - Attach the certificate to the (primary) Management Node.
    type: bool
    default: false
  nodes:
    description:
      - Names of Conferencing Nodes to attach the certificate to.
    type: list
    elements: str
    default: []
  renew:
    description:
      - When the certificate is not on the Management Node yet but exactly one certificate with the same subject name
        is, replace that one in place (C(PATCH) of its certificate and key); every node using it keeps it, and no node
        is ever without a certificate. The new certificate must name the FQDN of every node using the old one.
      - V(false) uploads it as a new certificate beside the old one (the old one stays attached to its nodes).
      - Several certificates with the subject name are never guessed between; the new one is then uploaded beside them.
      - A certificate that expires no later than the one it would replace is refused (an old file run again after a
        renewal must not undo it).
    type: bool
    default: true
  state:
    description:
      - V(absent) deletes the certificate; it must not be attached to any node.
    type: str
    choices: [present, absent]
    default: present
requirements:
  - cryptography
seealso:
  - module: pexip.infinity.pexip_ca_certificate
  - module: pexip.infinity.pexip_management_node
"""

EXAMPLES = r"""
- name: The Management Node's certificate, key from the vault
  pexip.infinity.pexip_tls_certificate:
    certificate_file: "{{ lab_dir }}/certs/mgr-lab.lab.example.com.pem"
    private_key: "{{ vault_mgr_private_key }}"
    management_node: true
  register: mgr_certificate

- name: One certificate for two Conferencing Nodes (both FQDNs in its SANs)
  pexip.infinity.pexip_tls_certificate:
    certificate_file: "{{ lab_dir }}/certs/conferencing.pem"
    private_key_file: "{{ lab_dir }}/certs/conferencing.key"
    private_key_passphrase: "{{ vault_conferencing_key_passphrase }}"
    nodes: [cn-lon-1, cn-lon-2]

- name: Renew the Management Node's certificate in place (same subject name, new key; the nodes keep it)
  pexip.infinity.pexip_tls_certificate:
    certificate_file: "{{ lab_dir }}/certs/mgr-lab-renewed.pem"
    private_key_file: "{{ lab_dir }}/certs/mgr-lab-renewed.key"

- name: Remove an old certificate
  pexip.infinity.pexip_tls_certificate:
    certificate_file: "{{ lab_dir }}/certs/old.pem"
    state: absent
"""

RETURN = r"""
certificate:
  description: The certificate record after the run (no key, no passphrase); in check mode, what would be uploaded.
  returned: success
  type: dict
  sample:
    subject_name: mgr-lab.lab.example.com
    issuer_name: Example CA
    serial_no: 5f2c0d...
    end_date: "2028-03-05T12:00:00"
    resource_uri: /api/admin/configuration/v1/tls_certificate/2/
renewed:
  description: The URI of the certificate replaced in place by this one (see O(renew)), else null.
  returned: success
  type: str
  sample: /api/admin/configuration/v1/tls_certificate/2/
attached:
  description: The nodes whose C(tls_certificate) was (or would be) set to this certificate.
  returned: success
  type: list
  elements: str
  sample: [mgr-lab, cn-lon-1]
"""

import datetime

from ansible_collections.pexip.infinity.plugins.module_utils import certificates
from ansible_collections.pexip.infinity.plugins.module_utils.catalog import CERTIFICATE_HOLDERS, SERVER_CERTIFICATE
from ansible_collections.pexip.infinity.plugins.module_utils.module import PexipModule
from ansible_collections.pexip.infinity.plugins.module_utils.platform import primary_management_vm, read_text
from ansible_collections.pexip.infinity.plugins.module_utils.resource import Engine
from ansible_collections.pexip.infinity.plugins.module_utils.secrets import public


def targets(module):
    """(kind, API object) of every node to attach to; fails on a node that does not exist."""
    found = []
    if module.params["management_node"]:
        found.append(("management_vm", primary_management_vm(module)))
    for name in module.params["nodes"]:
        workers = [w for w in module.client.list("worker_vm", name=name) if w.get("name") == name]
        if not workers:
            module.fail("Conferencing Node '%s' does not exist on the Management Node; deploy it first or correct nodes." % name)
        found.append(("worker_vm", workers[0]))
    return found


def validate(module, cert, key_pem, nodes):
    try:
        certificates.check_dates(cert)
        if key_pem is not None:
            certificates.check_key(cert, key_pem, module.params["private_key_passphrase"])
    except certificates.CertificateError as exc:
        module.fail(str(exc))
    problem = certificates.unnamed(cert, nodes)
    if problem:
        module.fail(problem)


def predicted(cert, uri=None):
    return certificates.record(cert, uri, raw_issuer=cert.issuer.rfc4514_string(), subject_alt_names=", ".join(certificates.identities(cert)))


def users(module, uri):
    return [vm["name"] for _kind, vm in certificates.holders(module.client, uri)]


def renewable(module, cert):
    """The one certificate record with ``cert``'s subject name (the one a renewal replaces), or None."""
    name = certificates.subject_name(cert)
    same = [c for c in module.client.list(SERVER_CERTIFICATE.endpoint) if c.get("subject_name") == name]
    return same[0] if len(same) == 1 else None


def replace(module, old, cert, pem, key_pem):
    """PATCH ``old`` with the new certificate and key: its URI, hence every node's assignment, stays."""
    p = module.params
    write_only = dict(certificate=pem, private_key=key_pem, private_key_passphrase=p["private_key_passphrase"] or "")
    outcome = Engine(module, SERVER_CERTIFICATE).ensure(old, {}, write_only=write_only)
    return predicted(cert, old["resource_uri"]) if module.check_mode else outcome.obj


def upload(module, cert, pem, key_pem):
    p = module.params
    write_only = dict(private_key=key_pem)
    if p["private_key_passphrase"]:
        write_only["private_key_passphrase"] = p["private_key_passphrase"]
    return Engine(module, SERVER_CERTIFICATE).ensure(None, {}, create_extra=dict(certificate=pem), write_only=write_only,
                                                     find_created=lambda: certificates.find(module.client, SERVER_CERTIFICATE.endpoint, cert)).obj


def run(module):
    p = module.params
    pem, chain = certificates.read_chain(module)
    cert = chain[0]
    current = certificates.find(module.client, SERVER_CERTIFICATE.endpoint, cert)

    if p["state"] == "absent":
        if current:
            in_use = users(module, current["resource_uri"])
            if in_use:
                module.fail("certificate '%s' is attached to %s: attach another certificate to them first."
                            % (current.get("subject_name"), ", ".join(in_use)))
            Engine(module, SERVER_CERTIFICATE).remove(current)
        return dict(changed=bool(current), certificate={}, attached=[], diff=dict(before=public(current), after={}))

    key_pem = read_text(module, "private_key", "private_key_file")
    nodes = targets(module)
    validate(module, cert, key_pem, nodes)

    diff = dict(before={}, after={})
    changed = False
    renewed = None
    old = renewable(module, cert) if current is None and p["renew"] else None
    if old is not None:
        # never back to an older certificate (an old file run again after a renewal)
        old_end = certificates.parse_date(old.get("end_date"))
        if old_end and certificates.not_after(cert) <= old_end:
            module.fail("the certificate of '%s' expires on %s, not after the one it would replace (%s, %s): give the renewed "
                        "certificate, or renew=false to upload it beside that one." % (
                            certificates.subject_name(cert), certificates.not_after(cert).isoformat(), old["resource_uri"], old_end.isoformat()))
        # every node using the old certificate keeps the new one: it must name them all (checked before the PATCH)
        validate(module, cert, None, certificates.holders(module.client, old["resource_uri"]))
        changed, renewed = True, old["resource_uri"]
        diff["before"]["certificate"] = dict((k, old.get(k)) for k in predicted(cert, renewed))
        diff["after"]["certificate"] = predicted(cert, renewed)
        current = replace(module, old, cert, pem, key_pem)
    elif current is None:
        changed = True
        diff["after"]["certificate"] = predicted(cert)
        current = predicted(cert) if module.check_mode else upload(module, cert, pem, key_pem)
    uri = current.get("resource_uri")
    attached = []
    engines = {}
    for kind, node in nodes:
        if uri and node.get("tls_certificate") == uri:
            continue
        attached.append(node["name"])
        diff["before"].setdefault("tls_certificate", {})[node["name"]] = node.get("tls_certificate")
        diff["after"].setdefault("tls_certificate", {})[node["name"]] = uri or "(the new certificate)"
        if not module.check_mode:  # by URI: several certificates may share a subject name
            engine = engines.setdefault(kind, Engine(module, CERTIFICATE_HOLDERS[kind]))
            engine.ensure(node, dict(tls_certificate=uri))
    expires_in = (certificates.not_after(cert) - datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)).days
    if expires_in < 30:
        module.warn("certificate '%s' expires in %d days." % (certificates.subject_name(cert), expires_in))
    return dict(changed=changed or bool(attached), certificate=public(current), renewed=renewed, attached=attached, diff=diff)


def main():
    module = PexipModule(
        argument_spec=dict(
            certificate=dict(type="str"),
            certificate_file=dict(type="path"),
            private_key=dict(type="str", no_log=True),
            private_key_file=dict(type="path"),
            private_key_passphrase=dict(type="str", no_log=True),
            management_node=dict(type="bool", default=False),
            nodes=dict(type="list", elements="str", default=[]),
            renew=dict(type="bool", default=True),
            state=dict(type="str", choices=["present", "absent"], default="present"),
        ),
        mutually_exclusive=[("certificate", "certificate_file"), ("private_key", "private_key_file")],
        required_one_of=[("certificate", "certificate_file")],
        required_if=[("state", "present", ("private_key", "private_key_file"), True)],
        label="pexip_tls_certificate",
    )
    module.run(run)


if __name__ == "__main__":
    main()
