# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pexip_management_node: its TLS certificate by subject name, resolved as pexip_node resolves it (fake client)."""

import pytest

from fakes import FakeApi

from ansible_collections.pexip.infinity.plugins.modules import pexip_management_node

MGR = "/api/admin/configuration/v1/management_vm/1/"


def tls(oid):
    return "/api/admin/configuration/v1/tls_certificate/%d/" % oid


@pytest.fixture
def fake(module_run):
    api = FakeApi({"management_vm": [dict(id=1, resource_uri=MGR, primary=True, hostname="mgr", domain="example.com",
                                          dns_servers=[], ntp_servers=[], tls_certificate=None, snmp_community="secret")]})
    # the later certificate first: a choice by expiry would pick it; the engine never chooses
    api.add("tls_certificate", id=1, subject_name="mgr.example.com", end_date="2030-01-01T00:00:00")
    api.add("tls_certificate", id=2, subject_name="other.example.com", end_date="2029-01-01T00:00:00")
    api.run = module_run
    return api


def run(api, check_mode=False, diff=False, **kwargs):
    return api.run(pexip_management_node, api, check_mode=check_mode, diff=diff, **kwargs)


def test_tls_certificate_by_subject_name_is_idempotent(fake):
    result = run(fake, check_mode=True, diff=True, tls_certificate="mgr.example.com")
    assert result["changed"] and fake.writes() == []
    assert result["diff"] == {"before": {"tls_certificate": None}, "after": {"tls_certificate": "mgr.example.com"}}
    result = run(fake, tls_certificate="mgr.example.com")
    assert result["changed"] and fake.writes() == [("PATCH", MGR, {"tls_certificate": tls(1)})]
    assert result["management_node"]["tls_certificate"] == tls(1)
    assert result["management_node"]["tls_certificate_name"] == "mgr.example.com"
    assert "snmp_community" not in result["management_node"]

    fake.log[:] = []
    for value in ("mgr.example.com", tls(1)):  # the resource URI is accepted too
        result = run(fake, diff=True, tls_certificate=value)
        assert not result["changed"] and fake.writes() == []
    result = run(fake, tls_certificate="")
    assert result["changed"] and fake.writes() == [("PATCH", MGR, {"tls_certificate": None})]


def test_tls_certificate_unknown_or_ambiguous_is_refused_with_pexip_nodes_messages(fake):
    result = run(fake, tls_certificate="nothing.example.com")
    assert result["failed"] and fake.writes() == []
    assert result["msg"] == ("pexip_management_node: TLS certificate 'nothing.example.com' does not exist on the Management Node "
                             "(its subject names: mgr.example.com, other.example.com); create it first "
                             "(pexip.infinity.pexip_tls_certificate) or correct the subject name.")
    result = run(fake, tls_certificate=tls(9))
    assert result["failed"] and "TLS certificate '%s' does not exist" % tls(9) in result["msg"] and fake.writes() == []

    fake.add("tls_certificate", id=3, subject_name="mgr.example.com", end_date="2031-01-01T00:00:00")
    for check_mode in (True, False):
        result = run(fake, check_mode=check_mode, tls_certificate="mgr.example.com")
        assert result["failed"] and fake.writes() == []
        assert result["msg"] == ("pexip_management_node: 2 TLS certificates have the subject name 'mgr.example.com' (%s, %s): "
                                 "give the resource URI of the one to use instead." % (tls(1), tls(3)))
    result = run(fake, tls_certificate=tls(3))
    assert result["changed"] and fake.writes() == [("PATCH", MGR, {"tls_certificate": tls(3)})]
