# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The idempotent no-op of every CRUD module costs at most two API requests (counted at the fake Management Node),
writes nothing and returns no secret."""

import pytest

import labcerts
from fakes import FakeApi, uri

from ansible_collections.pexip.infinity.plugins.module_utils import certificates
from ansible_collections.pexip.infinity.plugins.modules import (
    pexip_burst_settings,
    pexip_ca_certificate,
    pexip_conference,
    pexip_licence,
    pexip_location,
    pexip_management_node,
    pexip_node,
    pexip_system_servers,
    pexip_tls_certificate,
)

CA = labcerts.make_ca()
NODE_CERT = labcerts.issue(CA, "cn-1.example.com")


def certificate_record(resource, oid, pair, **fields):
    """A certificate as the Management Node lists it: its identity (serial number, issuer) and subject."""
    cert = pair.cert
    return dict(id=oid, resource_uri=uri(resource, oid), serial_no=format(cert.serial_number, "x"),
                issuer_name=certificates.issuer_name(cert), subject_name=certificates.subject_name(cert), **fields)


def platform():
    api = FakeApi(status={"participant": [], "conference_shard": []})
    api.add("dns_server", id=7, address="10.0.0.2", description="")
    api.add("ntp_server", id=8, address="169.254.169.123", description="")
    api.add("system_location", id=2, name="AWS burst", dns_servers=[], ntp_servers=[], overflow_location1=None, overflow_location2=None,
            transcoding_location=None, description="", mtu=1500)
    api.add("system_location", id=1, name="London", description="", mtu=1500, media_qos=0, signalling_qos=0,
            dns_servers=[uri("dns_server", 7)], ntp_servers=[uri("ntp_server", 8)], overflow_location1=uri("system_location", 2),
            overflow_location2=None, transcoding_location=None)
    api.add("worker_vm", name="cn-1", hostname="cn-1", domain="example.com", address="10.0.1.10", netmask="255.255.255.0",
            gateway="10.0.1.1", system_location=uri("system_location", 1), node_type="CONFERENCING", maintenance_mode=False,
            maintenance_mode_reason="", enable_ssh="GLOBAL", enable_distributed_database=True, static_nat_address=None,
            description="", tls_certificate=None, snmp_privacy_password="never-returned")
    api.add("global", id=1, bursting_enabled=True, bursting_threshold=12, bursting_min_lifetime=50, cloud_provider="AWS",
            aws_access_key="AKIAEXAMPLE")
    api.add("licence", fulfillment_id="FID-1", status="ACTIVE", product_id="pexip-port", concurrent=50, offline_mode=False,
            resource_uri=uri("licence", 1).replace("/1/", "/FID-1/"))
    api.add("conference", id=3, name="Lab meeting room", service_type="conference", description="", pin="1234", guest_pin="",
            allow_guests=False, participant_limit=None,
            aliases=[dict(alias="meet@example.com", description="", conference=uri("conference", 3))])
    api.add("ca_certificate", **certificate_record("ca_certificate", 4, CA, trusted_intermediate=False))
    api.add("tls_certificate", **certificate_record("tls_certificate", 5, NODE_CERT))
    api.tables["worker_vm"][0]["tls_certificate"] = uri("tls_certificate", 5)
    # As the API shows a management_vm: its DNS and NTP servers as nested objects (full=True).
    api.add("management_vm", id=1, primary=True, name="mgr", hostname="mgr", domain="example.com",
            dns_servers=[dict(address="10.0.0.2", resource_uri=uri("dns_server", 7))],
            ntp_servers=[dict(address="169.254.169.123", resource_uri=uri("ntp_server", 8))], static_nat_address=None,
            tls_certificate=uri("tls_certificate", 5),
            snmp_mode="DISABLED", snmp_community="never-returned")
    return api


NOOPS = [
    (pexip_location, dict(name="London", description="", mtu=1500, media_qos=0, dns_servers=["10.0.0.2"], ntp_servers=["169.254.169.123"],
                          primary_overflow_location="AWS burst", secondary_overflow_location="")),
    (pexip_location, dict(name="AWS burst", mtu=1500)),
    (pexip_location, dict(name="Gone", state="absent")),
    (pexip_node, dict(name="cn-1", hostname="cn-1", domain="example.com", address="10.0.1.10", netmask="24", gateway="10.0.1.1",
                      role="transcoding", system_location="London", enable_ssh="global", ssh_password="secret", static_nat_address="",
                      maintenance_mode=False, enable_distributed_database=True)),
    (pexip_node, dict(name="cn-1", maintenance_mode=False)),
    (pexip_node, dict(name="cn-9", state="absent")),
    (pexip_burst_settings, dict(enabled=True, threshold=12, min_lifetime=50, provider="aws", aws_access_key="AKIAEXAMPLE",
                                aws_secret_key="s3cret")),
    (pexip_system_servers, dict(dns_servers=["10.0.0.2"], ntp_servers=["169.254.169.123"])),
    (pexip_licence, dict(entitlement_id="s3cret", fulfillment_id="FID-1")),
    (pexip_conference, dict(name="Lab meeting room", service_type="conference", pin="1234", aliases=["meet@example.com"])),
    (pexip_conference, dict(name="Gone", state="absent")),
    (pexip_ca_certificate, dict(certificate=CA.cert_pem)),
    (pexip_tls_certificate, dict(certificate=NODE_CERT.cert_pem, private_key=NODE_CERT.key_pem, nodes=["cn-1"])),
    (pexip_management_node, dict(dns_servers=["10.0.0.2"], ntp_servers=["169.254.169.123"], snmp_mode="disabled")),
]


@pytest.mark.parametrize("mod,args", NOOPS, ids=lambda v: getattr(v, "__name__", "").split(".")[-1] or None)
@pytest.mark.parametrize("check_mode", [False, True])
def test_noop_costs_at_most_two_requests(module_run, mod, args, check_mode):
    api = platform()
    result = module_run(mod, api, check_mode=check_mode, diff=True, **args)
    assert not result.get("failed"), result
    assert result["changed"] is False
    assert api.writes() == []
    assert len(api.log) <= 2, api.log
    assert "never-returned" not in repr(result) and "s3cret" not in repr(result) and "PRIVATE KEY" not in repr(result)
