# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PEM parsing for tls_certificate / ca_certificate: the read-only fields the Management Node fills in itself."""

import datetime
import hashlib
import ipaddress

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


class CertError(Exception):
    """A certificate or key the Management Node refuses; the message goes into the 400 body."""


def load_chain(pem):
    """The certificates of a PEM text, leaf first."""
    try:
        chain = x509.load_pem_x509_certificates(pem.encode('utf-8'))
    except (ValueError, TypeError):
        raise CertError('Invalid certificate: expected one or more PEM "BEGIN CERTIFICATE" blocks.') from None
    if not chain:
        raise CertError('Invalid certificate: expected one or more PEM "BEGIN CERTIFICATE" blocks.')
    return chain


def check_key(cert, key_pem, passphrase):
    """Refuse a key that is garbage, locked with another passphrase, or not the certificate's."""
    password = passphrase.encode('utf-8') if passphrase else None
    try:
        key = serialization.load_pem_private_key(key_pem.encode('utf-8'), password=password)
    except TypeError:
        # cryptography: a passphrase for an unencrypted key, or none for an encrypted one.
        raise CertError('The private key is encrypted: give its passphrase.' if not password
                        else 'The private key is not encrypted: leave the passphrase empty.') from None
    except ValueError:
        raise CertError('Invalid private key, or wrong passphrase.') from None
    if key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo) != \
            cert.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo):
        raise CertError('The private key does not match the certificate.')


def _name_text(name):
    common = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    return common[0].value if common else name.rfc4514_string()


def _name_hash(name):
    return hashlib.sha1(name.public_bytes()).hexdigest()[:8]


def _naive(stamp):
    return stamp.astimezone(datetime.timezone.utc).replace(tzinfo=None).isoformat()


def _ext(cert, cls):
    try:
        return cert.extensions.get_extension_for_class(cls).value
    except x509.ExtensionNotFound:
        return None


def describe(cert):
    """The parsed read-only fields of a certificate record."""
    san = _ext(cert, x509.SubjectAlternativeName)
    names = [str(v) for v in san.get_values_for_type(x509.DNSName)] + [str(v) for v in san.get_values_for_type(x509.IPAddress)] if san else []
    ski = _ext(cert, x509.SubjectKeyIdentifier)
    aki = _ext(cert, x509.AuthorityKeyIdentifier)
    key = cert.public_key()
    key_text = 'RSA %d bit' % key.key_size if isinstance(key, rsa.RSAPublicKey) else \
        'EC %s' % key.curve.name if isinstance(key, ec.EllipticCurvePublicKey) else type(key).__name__
    return {
        'start_date': _naive(cert.not_valid_before_utc),
        'end_date': _naive(cert.not_valid_after_utc),
        'subject_name': _name_text(cert.subject),
        'subject_hash': _name_hash(cert.subject),
        'subject_alt_names': ', '.join(names),
        'raw_subject': cert.subject.rfc4514_string(),
        'issuer_name': _name_text(cert.issuer),
        'issuer_hash': _name_hash(cert.issuer),
        'raw_issuer': cert.issuer.rfc4514_string(),
        'serial_no': format(cert.serial_number, 'x'),
        'key_id': ski.digest.hex() if ski else '',
        'issuer_key_id': aki.key_identifier.hex() if aki and aki.key_identifier else '',
        'text': 'Subject: %s\nIssuer: %s\nSerial: %x\nValidity: %s - %s\nPublic key: %s\nSHA-256 fingerprint: %s\n' % (
            cert.subject.rfc4514_string(), cert.issuer.rfc4514_string(), cert.serial_number, _naive(cert.not_valid_before_utc),
            _naive(cert.not_valid_after_utc), key_text, cert.fingerprint(hashes.SHA256()).hex()),
    }


def self_signed(common_name, dns_names, days=365, ip_addresses=()):
    """(certificate PEM, key PEM) of a self-signed server certificate, like a new node's default one."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in dns_names]
                                                   + [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ip_addresses]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return cert.public_bytes(serialization.Encoding.PEM).decode(), key_pem.decode()


_KEY_TYPES = {'RSA2048': lambda: rsa.generate_private_key(65537, 2048), 'RSA4096': lambda: rsa.generate_private_key(65537, 4096),
              'ECDSAP256': lambda: ec.generate_private_key(ec.SECP256R1())}


def signing_request(values):
    """(key PEM, CSR PEM) of a certificate_signing_request record: a new key of ``private_key_type``; the subject is
    ``dn`` (RFC 4514) or CN=``subject_name``; the SANs ``subject_name`` and ``additional_subject_alt_names``."""
    key = _KEY_TYPES[values['private_key_type']]()
    subject = x509.Name.from_rfc4514_string(values['dn']) if values.get('dn') else \
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, values['subject_name'])])
    names = [values['subject_name']] + [n.strip() for n in values.get('additional_subject_alt_names', '').split(',') if n.strip()]
    builder = x509.CertificateSigningRequestBuilder().subject_name(subject).add_extension(
        x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False)
    usages = [oid for flag, oid in (('eku_server_auth', ExtendedKeyUsageOID.SERVER_AUTH), ('eku_client_auth', ExtendedKeyUsageOID.CLIENT_AUTH))
              if values.get(flag)]
    if usages:
        builder = builder.add_extension(x509.ExtendedKeyUsage(usages), critical=False)
    csr = builder.sign(key, hashes.SHA256())
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return key_pem.decode(), csr.public_bytes(serialization.Encoding.PEM).decode()
