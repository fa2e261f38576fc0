# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pexip_location / pexip_location_info: parameter checks, view/payload logic and the run against a fake client."""

import pytest

from fakes import CONF, FakeApi, FakeModule, Failed, uri

from ansible_collections.pexip.infinity.plugins.module_utils import catalog
from ansible_collections.pexip.infinity.plugins.module_utils.resource import Engine, ref_uri
from ansible_collections.pexip.infinity.plugins.modules import pexip_location as loc
from ansible_collections.pexip.infinity.plugins.modules import pexip_location_info as info


def params(**kw):
    p = dict(name="London", state="present", description=None, mtu=None, media_qos=None, signalling_qos=None, dns_servers=None,
             ntp_servers=None, overflow_location1=None, overflow_location2=None, transcoding_location=None)
    p.update(kw)
    return p


# -- validate ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kw,fragment", [
    (dict(mtu=511), "mtu must be between 512 and 1500, not 511"),
    (dict(mtu=1501), "mtu must be between 512 and 1500"),
    (dict(media_qos=64), "media_qos must be between 0 and 63"),
    (dict(signalling_qos=-1), "signalling_qos must be between 0 and 63"),
    (dict(name=""), "name must not be empty"),
    (dict(name="x" * 251), "name is 251 characters long"),
    (dict(description="d" * 251), "description is 251 characters long"),
    (dict(dns_servers=["ntp.example.com"]), "dns_servers: 'ntp.example.com' is not an IPv4 or IPv6 address"),
    (dict(dns_servers=["10.0.0.300"]), "dns_servers: '10.0.0.300'"),
    (dict(ntp_servers=["10.0.0"]), "ntp_servers: '10.0.0' is not an IP address or host name"),
    (dict(ntp_servers=["bad_host name"]), "ntp_servers: 'bad_host name'"),
    (dict(ntp_servers=[""]), "ntp_servers: ''"),
    (dict(dns_servers=["10.0.0.2", "10.0.0.2"]), "dns_servers lists '10.0.0.2' twice"),
    (dict(overflow_location1="London"), "the primary overflow location cannot be the location itself ('London')"),
    (dict(overflow_location2="London"), "the secondary overflow location cannot be the location itself"),
    (dict(overflow_location1="AWS", overflow_location2="AWS"), "primary and secondary overflow locations are both 'AWS'"),
])
def test_validate_rejects(kw, fragment):
    errors = loc.validate(params(**kw))
    assert any(fragment in e for e in errors), errors


@pytest.mark.parametrize("kw", [
    dict(),
    dict(mtu=512, media_qos=0, signalling_qos=63, description=""),
    dict(dns_servers=["10.0.0.2", "2001:db8::53"], ntp_servers=["169.254.169.123", "pool.ntp.org", "time.example.com."]),
    dict(overflow_location1="AWS", overflow_location2="", transcoding_location="London"),
    dict(dns_servers=[], ntp_servers=[]),
])
def test_validate_accepts(kw):
    assert loc.validate(params(**kw)) == []


def test_validate_absent_ignores_settings():
    assert loc.validate(params(state="absent", mtu=1)) == []


# -- views and payload ---------------------------------------------------------------------------------------
def engine(tables=None, check_mode=False, **kw):
    api = FakeApi(tables if tables is not None else lab_tables())
    module = FakeModule(api.client(), params(**kw), check_mode=check_mode, label="pexip_location '%s'" % params(**kw)["name"])
    return Engine(module, catalog.LOCATION), api


def test_wanted_view_only_given_options_and_clearing():
    eng, dummy = engine()
    view = eng.wanted(params(description="", overflow_location1="", dns_servers=["10.0.0.3", " 10.0.0.2"], mtu=1400))
    assert view == dict(description="", overflow_location1=None, dns_servers=["10.0.0.2", "10.0.0.3"], mtu=1400)


def london(**kw):
    obj = dict(id=1, name="London", description="", mtu=1500, media_qos=None, signalling_qos=None,
               dns_servers=[dict(id=7, address="10.0.0.2", description="", resource_uri=uri("dns_server", 7))],
               ntp_servers=[], overflow_location1=uri("system_location", 2), overflow_location2=None, transcoding_location=None,
               resource_uri=uri("system_location", 1))
    obj.update(kw)
    return obj


ALL = [f.name for f in catalog.LOCATION.fields]


def test_current_view_names_and_addresses():
    eng, dummy = engine()
    view = eng.view(london(description=None), ALL)
    # The engine shows the API's null as it is (the comparison treats null and "" alike).
    assert view == dict(description=None, mtu=1500, media_qos=None, signalling_qos=None, dns_servers=["10.0.0.2"], ntp_servers=[],
                        overflow_location1="AWS burst", overflow_location2=None, transcoding_location=None)


def test_current_view_servers_as_bare_uris():
    eng, dummy = engine()
    view = eng.view(london(dns_servers=[uri("dns_server", 7)]), ["dns_servers"])
    assert view["dns_servers"] == ["10.0.0.2"]


def test_changed_keys_ignores_order_and_equal_values():
    eng, dummy = engine()
    wanted = eng.wanted(params(mtu=1500, description="", dns_servers=["10.0.0.2"], overflow_location1="AWS burst"))
    assert eng.changes(london(description=None), wanted) == []
    wanted = eng.wanted(params(mtu=1400, overflow_location1="", ntp_servers=[]))
    assert eng.changes(london(), wanted) == ["mtu", "overflow_location1"]


def test_payload_converts_names_and_addresses():
    eng, dummy = engine()
    wanted = eng.wanted(params(overflow_location1="AWS burst", overflow_location2="", dns_servers=["10.0.0.2"], mtu=1400))
    body = eng.payload(wanted, ["dns_servers", "mtu", "overflow_location1", "overflow_location2"],
                       {"dns_servers": {"10.0.0.2": uri("dns_server", 7)}})
    assert body == dict(dns_servers=[uri("dns_server", 7)], mtu=1400, overflow_location1=uri("system_location", 2), overflow_location2=None)


def test_annotate_adds_names_and_addresses():
    eng, dummy = engine()
    obj = eng.annotate(london())
    assert obj["overflow_location1_name"] == "AWS burst"
    assert obj["overflow_location2_name"] is None
    assert obj["dns_server_addresses"] == ["10.0.0.2"]
    assert obj["ntp_server_addresses"] == []


@pytest.mark.parametrize("ref,expected", [
    (uri("system_location", 1), True),
    ("https://mgr.example.com" + uri("system_location", 1), True),
    (dict(resource_uri=uri("system_location", 1)), True),
    (1, True),
    ("1", True),
    (uri("system_location", 11), False),
    (uri("system_location", 2), False),
    (None, False),
])
def test_refers_to(ref, expected):
    assert (ref_uri(ref, "system_location") == london()["resource_uri"]) is expected


def test_nodes_in_filters_client_side():
    nodes = [dict(name="cn-2", system_location=uri("system_location", 1)), dict(name="cn-1", system_location=uri("system_location", 1)),
             dict(name="edge", system_location=uri("system_location", 3))]
    assert sorted(n["name"] for n in catalog.nodes_in(nodes, london())) == ["cn-1", "cn-2"]


# -- a run against the fake Management Node -------------------------------------------------------------------
def lab_tables():
    """London (overflow AWS burst, DNS 10.0.0.2) with two nodes; AWS burst; Edge."""
    stored = london(dns_servers=[uri("dns_server", 7)])
    return {
        "system_location": [stored,
                            dict(id=2, name="AWS burst", resource_uri=uri("system_location", 2), dns_servers=[], ntp_servers=[],
                                 overflow_location1=None, overflow_location2=None, transcoding_location=None, description="", mtu=1500),
                            dict(id=3, name="Edge", resource_uri=uri("system_location", 3), dns_servers=[], ntp_servers=[],
                                 overflow_location1=None, overflow_location2=None, transcoding_location=None, description="", mtu=1500)],
        "dns_server": [dict(id=7, address="10.0.0.2", description="", resource_uri=uri("dns_server", 7))],
        "ntp_server": [],
        "worker_vm": [dict(id=1, name="cn-lon-2", system_location=uri("system_location", 1), node_type="CONFERENCING"),
                      dict(id=2, name="cn-lon-1", system_location=uri("system_location", 1), node_type="CONFERENCING"),
                      dict(id=3, name="cn-edge-1", system_location=uri("system_location", 3), node_type="PROXYING")],
    }


def run(tables, check_mode=False, api=None, **kw):
    api = api or FakeApi(tables)
    api.log[:] = []
    module = FakeModule(api.client(), params(**kw), check_mode=check_mode, label="pexip_location '%s'" % params(**kw)["name"])
    result = module.run(loc.run)
    return result, [(method, path.replace(CONF, "").rstrip("/"), data) for method, path, data in api.log]


def test_idempotent_run_makes_at_most_two_gets():
    result, log = run(lab_tables(), mtu=1500, dns_servers=["10.0.0.2"], overflow_location1="AWS burst", description="")
    assert result["changed"] is False
    assert len(log) <= 2 and all(method == "GET" for method, dummy, dummy2 in log)
    assert result["location"]["overflow_location1_name"] == "AWS burst"


def test_plain_idempotent_run_is_one_get():
    result, log = run(lab_tables(), mtu=1500)
    assert result["changed"] is False and len(log) == 2  # the location, then every name (it has an overflow location)
    tables = lab_tables()
    tables["system_location"][0]["overflow_location1"] = None
    result, log = run(tables, mtu=1500)
    assert result["changed"] is False and len(log) == 1


def test_check_mode_reports_missing_server_without_writing():
    tables = lab_tables()
    result, log = run(tables, check_mode=True, dns_servers=["10.0.0.2", "10.0.0.9"], ntp_servers=["pool.ntp.org"])
    assert result["changed"] is True
    assert result["created_servers"] == ["dns_server 10.0.0.9", "ntp_server pool.ntp.org"]
    assert all(method == "GET" for method, dummy, dummy2 in log)
    assert result["diff"] == dict(before=dict(dns_servers=["10.0.0.2"], ntp_servers=[]),
                                  after=dict(dns_servers=["10.0.0.2", "10.0.0.9"], ntp_servers=["pool.ntp.org"]))
    assert result["location"]["dns_server_addresses"] == ["10.0.0.2", "10.0.0.9"]


def test_apply_creates_server_then_patches_only_changes():
    api = FakeApi(lab_tables())
    result, log = run(None, api=api, dns_servers=["10.0.0.2", "10.0.0.9"], mtu=1500)
    writes = [entry for entry in log if entry[0] != "GET"]
    assert writes[0] == ("POST", "dns_server", {"address": "10.0.0.9"})
    assert writes[1][0] == "PATCH" and set(writes[1][2]) == {"dns_servers"}
    assert result["location"]["dns_server_addresses"] == ["10.0.0.2", "10.0.0.9"]
    again, log = run(None, api=api, dns_servers=["10.0.0.9", "10.0.0.2"], mtu=1500)
    assert again["changed"] is False and len(log) <= 2


def test_create_then_idempotent():
    api = FakeApi(lab_tables())
    result, log = run(None, api=api, check_mode=True, name="Paris", overflow_location2="AWS burst", mtu=1400)
    assert result["changed"] is True and not [e for e in log if e[0] != "GET"]
    assert result["location"]["overflow_location2_name"] == "AWS burst"
    assert result["diff"]["after"] == dict(name="Paris", overflow_location2="AWS burst", mtu=1400)
    result, log = run(None, api=api, name="Paris", overflow_location2="AWS burst", mtu=1400)
    writes = [e for e in log if e[0] != "GET"]
    assert [e[0] for e in writes] == ["POST"]
    assert writes[-1][2] == dict(name="Paris", overflow_location2=uri("system_location", 2), mtu=1400)
    assert result["location"]["overflow_location2_name"] == "AWS burst"
    result, log = run(None, api=api, name="Paris", overflow_location2="AWS burst", mtu=1400)
    assert result["changed"] is False and len(log) == 1


def test_clearing_values():
    api = FakeApi(lab_tables())
    result, dummy = run(None, api=api, overflow_location1="", dns_servers=[])
    assert result["changed"] is True
    stored = api.tables["system_location"][0]
    assert stored["overflow_location1"] is None and stored["dns_servers"] == []


def test_unknown_overflow_location_fails_before_writing():
    api = FakeApi(lab_tables())
    with pytest.raises(Failed, match=r"pexip_location 'London': primary overflow location 'AWS bust' does not exist"):
        run(None, api=api, overflow_location1="AWS bust", dns_servers=["10.0.0.77"])
    assert api.writes() == []


def test_absent_refuses_while_nodes_remain():
    api = FakeApi(lab_tables())
    with pytest.raises(Failed, match=r"2 Conferencing Node\(s\) still use it \(cn-lon-1, cn-lon-2\)"):
        run(None, api=api, state="absent")
    assert len(api.tables["system_location"]) == 3


def test_absent_deletes_empty_location_and_is_idempotent():
    api = FakeApi(lab_tables())
    result, log = run(None, api=api, state="absent", name="AWS burst", check_mode=True)
    assert result["changed"] is True and not [e for e in log if e[0] != "GET"]
    result, log = run(None, api=api, state="absent", name="AWS burst")
    assert result["changed"] is True and log[-1][0] == "DELETE"
    result, log = run(None, api=api, state="absent", name="AWS burst")
    assert result["changed"] is False and len(log) == 1


def test_absent_falls_back_when_filter_refused():
    api = FakeApi(lab_tables(), refuse_filters=[("worker_vm", "system_location")])
    with pytest.raises(Failed, match=r"cn-edge-1"):
        run(None, api=api, state="absent", name="Edge")


# -- pexip_location_info ----------------------------------------------------------------------------------------
def test_info_summarize():
    eng, api = engine()
    nodes = api.tables["worker_vm"]
    summary = info.summarize(eng, london(), nodes)
    assert summary["nodes"] == ["cn-lon-1", "cn-lon-2"] and summary["node_count"] == 2
    assert summary["transcoding_nodes"] == ["cn-lon-1", "cn-lon-2"] and summary["proxying_nodes"] == []
    assert summary["overflow_location1_name"] == "AWS burst" and summary["transcoding_location_name"] is None
    assert summary["dns_server_addresses"] == ["10.0.0.2"]
    edge = info.summarize(eng, api.tables["system_location"][2], nodes)
    assert edge["proxying_nodes"] == ["cn-edge-1"] and edge["transcoding_nodes"] == []


@pytest.mark.parametrize("ref,expected", [(uri("system_location", 4), 4), ("http://x" + uri("system_location", 4), 4), (4, 4),
                                          (None, None), (uri("dns_server", 4), None)])
def test_info_location_key(ref, expected):
    assert ref_uri(ref, "system_location") == (uri("system_location", expected) if expected else None)


def test_info_reads_in_few_requests():
    api = FakeApi(lab_tables())
    module = FakeModule(api.client(), dict(name="London"))
    locations = module.run(info.run)
    assert [loc["name"] for loc in locations] == ["London"] and locations[0]["nodes"] == ["cn-lon-1", "cn-lon-2"]
    assert locations[0]["overflow_location1_name"] == "AWS burst"
    assert len(api.log) == 3  # London, every location (for its overflow location's name), London's nodes
    api.log[:] = []
    assert [loc["name"] for loc in FakeModule(api.client(), dict(name=None)).run(info.run)] == ["AWS burst", "Edge", "London"]
    assert len(api.log) == 2
