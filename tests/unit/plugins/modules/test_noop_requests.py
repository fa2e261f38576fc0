# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The idempotent no-op of every CRUD module costs at most two API requests (counted at the fake Management Node)."""

import pytest

from fakes import FakeApi, uri

from ansible_collections.pexip.infinity.plugins.modules import (
    pexip_burst_settings,
    pexip_location,
    pexip_node,
    pexip_system_servers,
)


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
    assert "never-returned" not in repr(result) and "s3cret" not in repr(result)
