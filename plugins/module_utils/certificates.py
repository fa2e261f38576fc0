# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PEM checks made before anything is uploaded: the certificate parses, has not expired, its key matches, it names
the nodes it is for; and its identity (serial number + issuer) as the Management Node reports it."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.pexip.infinity.plugins.module_utils.platform import read_text

try:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.x509.oid import NameOID
    HAS_CRYPTOGRAPHY = True
    CRYPTOGRAPHY_IMPORT_ERROR = None
except ImportError as exc:  # pragma: no cover - reported by the module
    HAS_CRYPTOGRAPHY = False
    CRYPTOGRAPHY_IMPORT_ERROR = exc


class CertificateError(Exception):
    """A certificate or key that must not be uploaded; the message says what to fix."""


def load_chain(pem, what="certificate"):
    """The certificates of a PEM text, server (or CA) certificate first."""
    try:
        chain = x509.load_pem_x509_certificates(pem.encode("utf-8"))
    except (ValueError, TypeError):
        chain = None
    if not chain:
        raise CertificateError("%s is not a PEM certificate (expected a '-----BEGIN CERTIFICATE-----' block)." % what)
    return chain


def read_chain(module, what="certificate"):
    """The PEM text of the ``certificate``/``certificate_file`` options and its chain; fails the module otherwise."""
    if not HAS_CRYPTOGRAPHY:
        module.fail_json(msg=missing_required_lib("cryptography"), exception=str(CRYPTOGRAPHY_IMPORT_ERROR))
    pem = read_text(module, "certificate", "certificate_file")
    try:
        return pem, load_chain(pem, what)
    except CertificateError as exc:
        module.fail(str(exc))


def not_after(cert):
    stamp = getattr(cert, "not_valid_after_utc", None)
    return stamp.replace(tzinfo=None) if stamp else cert.not_valid_after


def check_dates(cert, what="certificate"):
    now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
    if not_after(cert) <= now:
        raise CertificateError("%s of '%s' expired on %s UTC: renew it before uploading it." % (
            what, subject_name(cert), not_after(cert).strftime("%Y-%m-%d %H:%M")))


def check_key(cert, key_pem, passphrase):
    """Refuse a key that is not PEM, needs another passphrase, or does not belong to the certificate."""
    password = passphrase.encode("utf-8") if passphrase else None
    try:
        key = serialization.load_pem_private_key(key_pem.encode("utf-8"), password=password)
    except TypeError:
        raise CertificateError("private_key is encrypted: give private_key_passphrase." if not password
                               else "private_key is not encrypted: leave private_key_passphrase out.")
    except ValueError:
        raise CertificateError("private_key is not a PEM private key, or private_key_passphrase is wrong.")
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    if key.public_key().public_bytes(serialization.Encoding.DER, spki) != cert.public_key().public_bytes(serialization.Encoding.DER, spki):
        raise CertificateError("private_key does not belong to the certificate of '%s' (their public keys differ): give the "
                               "key the certificate was issued for." % subject_name(cert))


def check_csr(cert, csr_pem, request_name):
    """Refuse a certificate that was not issued for the key of a signing request (PEM of its ``csr``)."""
    try:
        csr = x509.load_pem_x509_csr((csr_pem or "").encode("utf-8"))
    except ValueError:
        raise CertificateError("the certificate signing request for '%s' has no CSR on the Management Node: delete it and make "
                               "another." % request_name)
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    if csr.public_key().public_bytes(serialization.Encoding.DER, spki) != cert.public_key().public_bytes(serialization.Encoding.DER, spki):
        raise CertificateError("the certificate of '%s' was not issued for the certificate signing request for '%s' (their public "
                               "keys differ): have the request's CSR (returned as csr) signed, and give that certificate."
                               % (subject_name(cert), request_name))


def holders(client, uri):
    """(kind, API object) of every node using the certificate ``uri`` (as its server or client certificate)."""
    return [(kind, vm) for kind in ("management_vm", "worker_vm") for vm in client.list(kind)
            if uri in (vm.get("tls_certificate"), vm.get("tls_client_certificate"))]


def unnamed(cert, nodes):
    """A message for the first node of ``nodes`` ((kind, API object)) whose FQDN ``cert`` does not name, else None."""
    for _kind, node in nodes:
        fqdn = "%s.%s" % (node.get("hostname"), node.get("domain"))
        if not names_fqdn(cert, fqdn):
            return ("the certificate of '%s' does not name %s's FQDN %s (it is valid for %s); the guide requires a "
                    "certificate that contains the node's FQDN." % (subject_name(cert), node.get("name"), fqdn, ", ".join(identities(cert))))
    return None


def subject_name(cert):
    common = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return common[0].value if common else cert.subject.rfc4514_string()


def identities(cert):
    """The names a certificate is valid for: its DNS SANs, else its common name (RFC 6125)."""
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        names = san.get_values_for_type(x509.DNSName)
    except x509.ExtensionNotFound:
        names = []
    return [n.lower() for n in names] or [subject_name(cert).lower()]


def names_fqdn(cert, fqdn):
    fqdn = fqdn.lower().rstrip(".")
    for name in identities(cert):
        if name == fqdn or (name.startswith("*.") and "." in fqdn and fqdn.split(".", 1)[1] == name[2:]):
            return True
    return False


def issuer_name(cert):
    common = cert.issuer.get_attributes_for_oid(NameOID.COMMON_NAME)
    return common[0].value if common else cert.issuer.rfc4514_string()


def same_certificate(cert, obj):
    """Whether the API object ``obj`` is ``cert``: same serial number (hex or decimal, colons ignored) and issuer.

    Identity, not text: the same certificate uploaded with another chain or line endings is still the same one.
    """
    serial = (obj.get("serial_no") or "").replace(":", "").lower().lstrip("0") or "0"
    if serial not in ((format(cert.serial_number, "x").lstrip("0") or "0"), str(cert.serial_number)):
        return False
    return obj.get("raw_issuer") == cert.issuer.rfc4514_string() or obj.get("issuer_name") == issuer_name(cert)


def record(cert, uri=None, **more):
    """The fields of ``cert``'s record as the Management Node will show them (check mode, diffs), and ``more``."""
    shown = dict(subject_name=subject_name(cert), issuer_name=issuer_name(cert), serial_no=format(cert.serial_number, "x"),
                 end_date=not_after(cert).isoformat(), **more)
    if uri:
        shown["resource_uri"] = uri
    return shown


def find(client, endpoint, cert):
    """The record of ``cert`` (by identity) among the certificates at ``endpoint``, or None."""
    return next((c for c in client.list(endpoint) if same_certificate(cert, c)), None)


# -- expiry: pexip_tls_certificate_info and the certificates check of playbooks/certificates.yml ------------------------

def parse_date(text):
    """A date the Management Node reports (ISO 8601, naive UTC or with an offset) -> naive UTC datetime; None if empty."""
    if not text:
        return None
    stamp = datetime.datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    if stamp.tzinfo is not None:
        stamp = stamp.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    return stamp


def days_left(end_date, now=None):
    """Whole days until ``end_date`` (an API date text): negative once expired, None if unknown."""
    end = parse_date(end_date)
    if end is None:
        return None
    now = now or datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
    return (end - now).days


def expiry_status(days, warn_days, critical_days):
    """``ok``, ``warning`` (fewer than ``warn_days`` left), ``critical`` (fewer than ``critical_days``) or ``expired``."""
    if days is None:
        return "ok"
    if days < 0:
        return "expired"
    if days < critical_days:
        return "critical"
    if days < warn_days:
        return "warning"
    return "ok"


def split_names(text):
    """The API's comma-separated ``subject_alt_names`` -> a list."""
    return [n.strip() for n in (text or "").split(",") if n.strip()]
