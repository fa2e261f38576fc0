# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Certificate checks made before an upload, and certificate identity."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

import labcerts
from fakes import Failed, FakeModule
from ansible_collections.pexip.infinity.plugins.module_utils import certificates

CA = labcerts.make_ca()


def test_chain_and_garbage():
    pair = labcerts.issue(CA, "a.example.com")
    chain = certificates.load_chain(pair.cert_pem + CA.cert_pem)
    assert [certificates.subject_name(c) for c in chain] == ["a.example.com", "Pexip lab operator CA"]
    with pytest.raises(certificates.CertificateError, match="not a PEM certificate"):
        certificates.load_chain("garbage")


def test_expired():
    old = labcerts.issue(CA, "old.example.com", days=-1, not_before_days=30)
    with pytest.raises(certificates.CertificateError, match="expired on"):
        certificates.check_dates(old.cert)
    certificates.check_dates(labcerts.issue(CA, "new.example.com").cert)


def test_key_checks():
    pair = labcerts.issue(CA, "k.example.com")
    locked = labcerts.issue(CA, "l.example.com", passphrase="right")
    certificates.check_key(pair.cert, pair.key_pem, None)
    certificates.check_key(locked.cert, locked.key_pem, "right")
    with pytest.raises(certificates.CertificateError, match="does not belong"):
        certificates.check_key(pair.cert, locked.key_pem, "right")
    with pytest.raises(certificates.CertificateError, match="passphrase is wrong"):
        certificates.check_key(locked.cert, locked.key_pem, "wrong")
    with pytest.raises(certificates.CertificateError, match="give private_key_passphrase"):
        certificates.check_key(locked.cert, locked.key_pem, None)
    with pytest.raises(certificates.CertificateError, match="not encrypted"):
        certificates.check_key(pair.cert, pair.key_pem, "extra")


@pytest.mark.parametrize("fqdn,ok", [("cn-1.example.com", True), ("CN-1.example.com.", True), ("cn-2.example.com", True),
                                     ("a.b.example.com", False), ("example.com", False), ("other.test", False)])
def test_names_fqdn(fqdn, ok):
    cert = labcerts.issue(CA, "cn-1.example.com", extra_names=("*.example.com",)).cert
    assert certificates.names_fqdn(cert, fqdn) is ok


def test_identity_not_text():
    cert = labcerts.issue(CA, "i.example.com").cert
    issuer = cert.issuer.rfc4514_string()
    assert certificates.same_certificate(cert, {"serial_no": format(cert.serial_number, "x"), "raw_issuer": issuer})
    assert certificates.same_certificate(cert, {"serial_no": str(cert.serial_number), "issuer_name": "Pexip lab operator CA"})
    colons = ":".join(format(cert.serial_number, "x").zfill(40)[i:i + 2] for i in range(0, 40, 2))
    assert certificates.same_certificate(cert, {"serial_no": colons.upper(), "raw_issuer": issuer})
    assert not certificates.same_certificate(cert, {"serial_no": "1", "raw_issuer": issuer})
    assert not certificates.same_certificate(cert, {"serial_no": format(cert.serial_number, "x"), "raw_issuer": "CN=Other"})


def test_read_chain_from_text_or_file(tmp_path):
    pair = labcerts.issue(CA, "r.example.com")
    pem = pair.cert_pem + CA.cert_pem
    path = tmp_path / "chain.pem"
    path.write_text(pem)
    for params in (dict(certificate=pem, certificate_file=None), dict(certificate=None, certificate_file=str(path))):
        text, chain = certificates.read_chain(FakeModule(None, params))
        assert text == pem
        assert [certificates.subject_name(c) for c in chain] == ["r.example.com", "Pexip lab operator CA"]
    with pytest.raises(Failed, match="the CA certificate is not a PEM certificate"):
        certificates.read_chain(FakeModule(None, dict(certificate="garbage", certificate_file=None)), "the CA certificate")
    with pytest.raises(Failed, match="cannot read certificate_file"):
        certificates.read_chain(FakeModule(None, dict(certificate=None, certificate_file=str(tmp_path / "missing.pem"))))


NOW = __import__("datetime").datetime(2026, 12, 7, 12, 0, 0)


@pytest.mark.parametrize("end_date, days", [
    ("2027-01-06T12:00:00", 30),
    ("2027-01-06T11:59:59", 29),              # a day not quite left is not counted
    ("2027-01-06T13:00:00+01:00", 30),        # an offset is taken into account
    ("2027-01-06T12:00:00Z", 30),
    ("2026-12-06T12:00:00", -1),              # expired
    ("", None),
    (None, None),
])
def test_days_left(end_date, days):
    assert certificates.days_left(end_date, now=NOW) == days


@pytest.mark.parametrize("days, status", [
    (None, "ok"), (30, "ok"), (29, "warning"), (7, "warning"), (6, "critical"), (0, "critical"), (-1, "expired"),
])
def test_expiry_status(days, status):
    assert certificates.expiry_status(days, 30, 7) == status


def test_split_names():
    assert certificates.split_names("a.example.com, b.example.com,") == ["a.example.com", "b.example.com"]
    assert certificates.split_names(None) == []
