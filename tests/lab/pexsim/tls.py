# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Certificates for the simulator.

As unkind as the real thing at first boot:

- a Management Node that the installation wizard installed (sshboot.py) serves the certificate its primary
  ``management_vm`` is on: the self-signed default one each install makes (a new ``tls_certificate``) until a real
  one is uploaded and assigned to it, then that one (``InstalledContext``);
- each Conferencing Node's bootstrap page (:8443) serves a self-signed certificate of its own (``nodes/<ip>.pem``,
  SAN = its IP), which no CA verifies.

Lab conveniences, documented in docs/lab.md: the lab's own Management Node (the main listener, ``PEXIP_HOST``, which
the module tests use) stands for a platform whose certificate is installed already: ``mgmt.pem``, signed by the lab CA
(``ca.pem``). ``node-ca.pem`` is not a CA: it is every node certificate served so far, one after the other (what an
operator could collect out of band), for the tests of ``ca_path``; ``bundle.pem`` holds ``ca.pem`` and those.
"""

import datetime
import ipaddress
import os
import ssl
import tempfile
import threading

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from . import certs

_LOCK = threading.Lock()


def _write(path, data, private=False):
    tmp = path + '.tmp'
    with open(tmp, 'wb') as handle:
        handle.write(data)
    if private:
        os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def _key_pem(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


def _load_pair(cert_path, key_path):
    with open(cert_path, 'rb') as handle:
        cert = x509.load_pem_x509_certificate(handle.read())
    with open(key_path, 'rb') as handle:
        key = serialization.load_pem_private_key(handle.read(), password=None)
    return cert, key


def _ensure_ca(cert_path, key_path, common_name):
    if os.path.exists(cert_path) and os.path.exists(key_path):
        return _load_pair(cert_path, key_path)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False, data_encipherment=False,
                                     key_agreement=False, key_cert_sign=True, crl_sign=True, encipher_only=False, decipher_only=False),
                       critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    _write(key_path, _key_pem(key), private=True)
    _write(cert_path, cert.public_bytes(serialization.Encoding.PEM))
    return cert, key


def _issue(ca_cert, ca_key, cert_path, key_path, common_name, dns_names=(), ip_addresses=()):
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    san = [x509.DNSName(name) for name in dns_names] + [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ip_addresses]
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=825))
        .add_extension(x509.SubjectAlternativeName(san), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    _write(key_path, _key_pem(key), private=True)
    _write(cert_path, cert.public_bytes(serialization.Encoding.PEM))


def _san_covers(cert_path, dns_names, ip_addresses):
    with open(cert_path, 'rb') as handle:
        cert = x509.load_pem_x509_certificate(handle.read())
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return False
    have_dns = set(san.get_values_for_type(x509.DNSName))
    have_ip = {str(ip) for ip in san.get_values_for_type(x509.IPAddress)}
    return set(dns_names) <= have_dns and set(ip_addresses) <= have_ip


def _self_signed(cert_path, key_path, common_name, ip_addresses):
    cert_pem, key_pem = certs.self_signed(common_name, (), days=825, ip_addresses=ip_addresses)
    _write(key_path, key_pem.encode(), private=True)
    _write(cert_path, cert_pem.encode())


def _is_self_signed(cert_path):
    with open(cert_path, 'rb') as handle:
        cert = x509.load_pem_x509_certificate(handle.read())
    return cert.issuer == cert.subject


class InstalledContext:
    """The TLS side of a Management Node installed by the wizard: each handshake serves the certificate its primary
    ``management_vm`` is on (``current()``: ``(id, certificate PEM, key PEM, passphrase)``), so uploading and assigning
    a certificate changes what new connections see, as on a real node."""

    def __init__(self, tls_dir, current):
        self.tls_dir = tls_dir
        self.current = current
        self._contexts = {}

    def wrap_socket(self, sock, server_side=True):
        cert_id, cert_pem, key_pem, passphrase = self.current()
        key = (cert_id, cert_pem)
        with _LOCK:
            context = self._contexts.get(key)
            if context is None:
                handle, path = tempfile.mkstemp(dir=self.tls_dir, prefix='installed-', suffix='.pem')
                try:
                    with os.fdopen(handle, 'w', encoding='utf-8') as out:
                        out.write(cert_pem.rstrip() + '\n' + key_pem)
                    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
                    context.minimum_version = ssl.TLSVersion.TLSv1_2
                    context.load_cert_chain(path, password=passphrase or None)
                finally:
                    os.unlink(path)
                self._contexts = {key: context}  # the one certificate in use
        return context.wrap_socket(sock, server_side=server_side)


class TlsMaterial:
    """The CA files in ``tls_dir`` plus server contexts for the Management Node and each Conferencing Node."""

    def __init__(self, tls_dir, mgmt_dns=('localhost',), mgmt_ips=('127.0.0.1',)):
        self.tls_dir = tls_dir
        os.makedirs(os.path.join(tls_dir, 'nodes'), exist_ok=True)
        self.ca_path = os.path.join(tls_dir, 'ca.pem')
        self.node_ca_path = os.path.join(tls_dir, 'node-ca.pem')
        self.bundle_path = os.path.join(tls_dir, 'bundle.pem')
        with _LOCK:
            self._ca = _ensure_ca(self.ca_path, os.path.join(tls_dir, 'ca.key'), 'Pexip simulator lab CA')
            # A lab made before the nodes' certificates were self-signed: its node CA and what it signed go.
            for stale in (os.path.join(tls_dir, 'node-ca.key'),) + tuple(self._node_files(lambda path: not _is_self_signed(path))):
                if os.path.exists(stale):
                    os.remove(stale)
            self._write_node_bundle()
            self.mgmt_cert = os.path.join(tls_dir, 'mgmt.pem')
            self.mgmt_key = os.path.join(tls_dir, 'mgmt.key')
            if not (os.path.exists(self.mgmt_cert) and os.path.exists(self.mgmt_key)) or not _san_covers(self.mgmt_cert, mgmt_dns, mgmt_ips):
                _issue(self._ca[0], self._ca[1], self.mgmt_cert, self.mgmt_key, mgmt_dns[0] if mgmt_dns else mgmt_ips[0], mgmt_dns, mgmt_ips)

    @staticmethod
    def _context(cert_path, key_path):
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(cert_path, key_path)
        return context

    def mgmt_context(self):
        return self._context(self.mgmt_cert, self.mgmt_key)

    def installed_context(self, current):
        """The context of a Management Node the wizard installed (``InstalledContext``)."""
        return InstalledContext(self.tls_dir, current)

    def _node_files(self, keep=lambda path: True):
        directory = os.path.join(self.tls_dir, 'nodes')
        for name in sorted(os.listdir(directory)):
            path = os.path.join(directory, name)
            if name.endswith('.pem') and keep(path):
                yield path
                yield path[:-4] + '.key'

    def _write_node_bundle(self):
        chunks = []
        for path in self._node_files():
            if path.endswith('.pem'):
                with open(path, 'rb') as handle:
                    chunks.append(handle.read())
        _write(self.node_ca_path, b''.join(chunks))
        with open(self.ca_path, 'rb') as first:
            _write(self.bundle_path, first.read() + b''.join(chunks))

    def node_context(self, ip):
        """A context for the node at ``ip``: its own self-signed certificate, made once and reused from ``nodes/``."""
        cert_path = os.path.join(self.tls_dir, 'nodes', '%s.pem' % ip)
        key_path = os.path.join(self.tls_dir, 'nodes', '%s.key' % ip)
        with _LOCK:
            if not (os.path.exists(cert_path) and os.path.exists(key_path)):
                _self_signed(cert_path, key_path, ip, (ip,))
                self._write_node_bundle()
        return self._context(cert_path, key_path)
