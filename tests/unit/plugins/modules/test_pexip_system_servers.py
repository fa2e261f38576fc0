# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pexip_system_servers: checks, creation, purge, check mode and the NTP warning, against a fake client."""

import pytest

from fakes import Failed, FakeApi, FakeModule

from ansible_collections.pexip.infinity.plugins.modules import pexip_system_servers as mod


class ServersModule(FakeModule):
    def __init__(self, tables, check_mode=False, **params):
        self.api = FakeApi(tables)
        FakeModule.__init__(self, self.api.client(), dict(dict(dns_servers=None, ntp_servers=None, description="", purge=False), **params),
                            check_mode=check_mode)

    @property
    def writes(self):
        return [("POST", path.split("/")[-2], body["address"]) if method == "POST" else (method, path) for method, path, body in self.api.writes()]


def tables():
    def server(resource, oid, address):
        return dict(id=oid, address=address, description="", resource_uri="/api/admin/configuration/v1/%s/%d/" % (resource, oid))

    return {"dns_server": [server("dns_server", 1, "10.0.0.2")],
            "ntp_server": [server("ntp_server", 1, "169.254.169.123"), server("ntp_server", 2, "old.example.com")]}


def test_creates_the_missing_and_warns_below_three():
    module = ServersModule(tables(), dns_servers=["10.0.0.2"], ntp_servers=["169.254.169.123"])
    result, dummy, after = mod.ensure(module)
    assert result["changed"] is False and module.writes == []
    # Two NTP servers exist (one not listed, kept without purge): still fewer than three.
    assert after["ntp_servers"] == ["169.254.169.123", "old.example.com"]
    assert len(module.warnings) == 1 and "at least 3 distinct NTP servers" in module.warnings[0]
    module = ServersModule(tables(), ntp_servers=["169.254.169.123", "0.pool.ntp.org"])
    result, dummy, after = mod.ensure(module)
    assert result["changed"] is True and result["created"] == ["ntp_server 0.pool.ntp.org"]
    assert module.writes == [("POST", "ntp_server", "0.pool.ntp.org")]
    assert module.warnings == []


def test_purge_deletes_only_the_kinds_given():
    module = ServersModule(tables(), ntp_servers=["169.254.169.123", "a.example.com", "b.example.com"], purge=True)
    result, before, after = mod.ensure(module)
    assert result["deleted"] == ["ntp_server old.example.com"]
    assert after["dns_servers"] == before["dns_servers"] == ["10.0.0.2"]
    assert ("DELETE", "/api/admin/configuration/v1/ntp_server/2/") in module.writes


def test_check_mode_writes_nothing():
    module = ServersModule(tables(), check_mode=True, dns_servers=["10.0.0.3"], ntp_servers=["169.254.169.123"], purge=True)
    result, dummy, after = mod.ensure(module)
    assert result["changed"] is True and module.writes == []
    assert result["created"] == ["dns_server 10.0.0.3"]
    assert sorted(result["deleted"]) == ["dns_server 10.0.0.2", "ntp_server old.example.com"]
    assert after["dns_servers"] == ["10.0.0.3"]


@pytest.mark.parametrize("params,fragment", [
    (dict(dns_servers=["ntp.example.com"]), "dns_servers: 'ntp.example.com' is not an IPv4 or IPv6 address"),
    (dict(ntp_servers=["10.0.0"]), "ntp_servers: '10.0.0' is not an IP address or host name"),
    (dict(ntp_servers=["a.example.com", "a.example.com"]), "ntp_servers lists 'a.example.com' twice"),
])
def test_validate(params, fragment):
    assert any(fragment in error for error in mod.server_errors(dict(dict(dns_servers=None, ntp_servers=None), **params)))
    assert mod.server_errors(dict(dns_servers=["10.0.0.2", "2001:db8::1"], ntp_servers=["169.254.169.123", "pool.ntp.org"])) == []


def test_purge_refuses_servers_in_use_before_any_write():
    used = tables()
    # the fake API nests the servers of a location
    used["system_location"] = [dict(id=1, name="London", resource_uri="/api/admin/configuration/v1/system_location/1/",
                                    dns_servers=[], ntp_servers=["/api/admin/configuration/v1/ntp_server/2/"])]
    used["management_vm"] = [dict(id=1, name="mgr", resource_uri="/api/admin/configuration/v1/management_vm/1/",
                                  dns_servers=["/api/admin/configuration/v1/dns_server/1/"], ntp_servers=[])]
    for check_mode in (False, True):
        module = ServersModule(used, check_mode=check_mode, dns_servers=["10.0.0.3"], ntp_servers=["169.254.169.123", "a.example.com"], purge=True)
        with pytest.raises(Failed) as err:
            mod.ensure(module)
        assert module.writes == []
        msg = str(err.value)
        assert "dns_server 10.0.0.2 (used by Management Node 'mgr')" in msg
        assert "ntp_server old.example.com (used by system location 'London')" in msg
    # servers no one uses are purged as before
    del used["system_location"], used["management_vm"]
    module = ServersModule(used, ntp_servers=["169.254.169.123"], purge=True)
    result, dummy, dummy2 = mod.ensure(module)
    assert result["deleted"] == ["ntp_server old.example.com"]
