# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Certificates an operator would bring: a CA and server certificates for the lab FQDNs (lab.py, tests)."""

import datetime
import ipaddress
import os

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


class Pair:
    """A certificate and its key, as PEM text."""

    def __init__(self, cert, key, passphrase=None):
        self.cert = cert
        self.key = key
        self.cert_pem = cert.public_bytes(serialization.Encoding.PEM).decode()
        encryption = serialization.BestAvailableEncryption(passphrase.encode()) if passphrase else serialization.NoEncryption()
        self.key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption).decode()

    def write(self, directory, stem):
        os.makedirs(directory, exist_ok=True)
        with open(os.path.join(directory, stem + '.pem'), 'w', encoding='utf-8') as handle:
            handle.write(self.cert_pem)
        key_path = os.path.join(directory, stem + '.key')
        with open(key_path, 'w', encoding='utf-8') as handle:
            handle.write(self.key_pem)
        os.chmod(key_path, 0o600)


def _now():
    return datetime.datetime.now(datetime.timezone.utc)


def make_ca(common_name='Pexip lab operator CA'):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(_now() - datetime.timedelta(days=1)).not_valid_after(_now() + datetime.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    return Pair(cert, key)


def _san(name):
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return x509.DNSName(name)


def issue(ca, fqdn, extra_names=(), days=825, not_before_days=1, passphrase=None):
    """A server certificate for ``fqdn`` (CN and first SAN) signed by ``ca``, valid from ``not_before_days`` ago for
    ``days`` from now (negative: expired); ``extra_names`` are more SANs (DNS names or IP addresses)."""
    key = ec.generate_private_key(ec.SECP256R1())
    start = _now() - datetime.timedelta(days=not_before_days)
    cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, fqdn)]))
            .issuer_name(ca.cert.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(start).not_valid_after(_now() + datetime.timedelta(days=days))
            .add_extension(x509.SubjectAlternativeName([_san(n) for n in (fqdn,) + tuple(extra_names)]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()), critical=False)
            .sign(ca.key, hashes.SHA256()))
    return Pair(cert, key, passphrase)


def sign(ca, csr_pem, days=825):
    """The certificate the operator CA issues for a CSR (PEM): its subject and SANs, its key; a server certificate."""
    csr = x509.load_pem_x509_csr(csr_pem.encode() if isinstance(csr_pem, str) else csr_pem)
    builder = (x509.CertificateBuilder().subject_name(csr.subject).issuer_name(ca.cert.subject).public_key(csr.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(_now() - datetime.timedelta(days=1)).not_valid_after(_now() + datetime.timedelta(days=days))
               .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
               .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()), critical=False))
    try:
        builder = builder.add_extension(csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value, critical=False)
    except x509.ExtensionNotFound:
        pass
    return builder.sign(ca.key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM).decode()


def load_or_make_ca(directory):
    """The operator CA in ``directory`` (ca.pem, ca.key), made on first use."""
    cert_path, key_path = os.path.join(directory, 'ca.pem'), os.path.join(directory, 'ca.key')
    if os.path.exists(cert_path) and os.path.exists(key_path):
        with open(cert_path, 'rb') as cert_file, open(key_path, 'rb') as key_file:
            return Pair(x509.load_pem_x509_certificate(cert_file.read()), serialization.load_pem_private_key(key_file.read(), None))
    ca = make_ca()
    ca.write(directory, 'ca')
    return ca


def _names(path):
    with open(path, 'rb') as handle:
        cert = x509.load_pem_x509_certificate(handle.read())
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return set()
    return set(san.get_values_for_type(x509.DNSName)) | {str(ip) for ip in san.get_values_for_type(x509.IPAddress)}


def ensure(directory, fqdns, days=825, passphrase=None, extra_names=None):
    """<fqdn>.pem / <fqdn>.key in ``directory`` for each FQDN (signed by its CA), kept when present and naming
    ``extra_names[fqdn]`` (more SANs: the address a client reaches the host by, for example)."""
    ca = load_or_make_ca(directory)
    for fqdn in fqdns:
        extra = tuple((extra_names or {}).get(fqdn, ()))
        path = os.path.join(directory, fqdn + '.pem')
        if not os.path.exists(path) or not set(extra) <= _names(path):
            issue(ca, fqdn, extra, days=days, not_before_days=max(1, 1 - days), passphrase=passphrase).write(directory, fqdn)


def main(argv=None):
    import argparse  # pylint: disable=import-outside-toplevel
    parser = argparse.ArgumentParser(description='Certificates for the lab FQDNs, signed by the CA in DIR (made when missing).')
    parser.add_argument('directory')
    parser.add_argument('fqdns', nargs='+')
    parser.add_argument('--days', type=int, default=825, help='validity from now; negative: already expired')
    parser.add_argument('--passphrase-env', help='encrypt the keys with the passphrase in this environment variable')
    args = parser.parse_args(argv)
    ensure(args.directory, args.fqdns, args.days, os.environ[args.passphrase_env] if args.passphrase_env else None)
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
