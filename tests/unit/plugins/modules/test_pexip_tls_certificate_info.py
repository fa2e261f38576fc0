# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pexip_tls_certificate_info: days left, grades, the nodes using each certificate, warnings only for those in use."""

import datetime

from fakes import FakeApi

from ansible_collections.pexip.infinity.plugins.modules import pexip_tls_certificate_info


def _end(days):
    return (datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None) + datetime.timedelta(days=days, hours=1)).isoformat()


def _api():
    api = FakeApi()
    soon = api.add("tls_certificate", subject_name="cn-1.example.com", subject_alt_names="cn-1.example.com, cn-2.example.com",
                   issuer_name="Example CA", end_date=_end(5), nodes=[])
    later = api.add("tls_certificate", subject_name="mgr.example.com", subject_alt_names="mgr.example.com", issuer_name="Example CA",
                    end_date=_end(20), nodes=[])
    api.add("tls_certificate", subject_name="old.example.com", subject_alt_names="", issuer_name="Example CA", end_date=_end(-3), nodes=[])
    api.add("management_vm", name="mgr", hostname="mgr", domain="example.com", tls_certificate=later["resource_uri"])
    for name in ("cn-1", "cn-2"):
        api.add("worker_vm", name=name, hostname=name, domain="example.com", tls_certificate=soon["resource_uri"])
    return api, soon, later


def test_days_left_grades_and_nodes(module_run):
    api, soon, later = _api()
    result = module_run(pexip_tls_certificate_info, api, critical_days=7)
    assert not result.get("failed"), result
    certs = result["certificates"]
    assert [(c["subject_name"], c["days_left"], c["status"]) for c in certs] == [
        ("old.example.com", -3, "expired"), ("cn-1.example.com", 5, "critical"), ("mgr.example.com", 20, "warning")]
    assert certs[1]["nodes"] == ["cn-1", "cn-2"] and certs[1]["node_fqdns"] == ["cn-1.example.com", "cn-2.example.com"]
    assert certs[1]["subject_alt_names"] == ["cn-1.example.com", "cn-2.example.com"] and certs[1]["resource_uri"] == soon["resource_uri"]
    assert certs[2]["nodes"] == ["mgr"] and certs[0]["nodes"] == []
    # the unused expired one is listed, never warned about
    assert [c["subject_name"] for c in result["expiring"]] == ["cn-1.example.com", "mgr.example.com"]
    assert result["expiring"][0]["message"] == "TLS certificate 'cn-1.example.com' (%s) expires in 5 days (%s), used by cn-1, cn-2" % (
        soon["resource_uri"], soon["end_date"])
    assert len(api.warnings) == 2 and "used by mgr" in api.warnings[1]
    assert result["changed"] is False and api.writes() == []


def test_filter_and_thresholds(module_run):
    api, _soon, later = _api()
    result = module_run(pexip_tls_certificate_info, api, subject_name="mgr.example.com", warn_days=10, critical_days=3)
    assert [(c["resource_uri"], c["status"]) for c in result["certificates"]] == [(later["resource_uri"], "ok")]
    assert result["expiring"] == [] and api.warnings == []
    refused = module_run(pexip_tls_certificate_info, api, warn_days=5, critical_days=10)
    assert refused["failed"] and "critical_days (10) exceeds warn_days (5)" in refused["msg"]
