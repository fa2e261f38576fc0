# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The resource engine on a declaration of its own (a licence keyed by a string, a singleton), against FakeApi."""

import pytest

from fakes import FakeApi, FakeModule, Failed, uri

from ansible_collections.pexip.infinity.plugins.module_utils.resource import Engine, Field, Resource, differs, ref_uri
from ansible_collections.pexip.infinity.plugins.module_utils.secrets import MASK

LICENCE = Resource("licence", key="fulfillment_id", label="licence", fields=(
    Field("entitlement_id"),
    Field("offline_mode", option="offline"),
    Field("system_location", relation="system_location"),
    Field("dns_servers", many="dns_server"),
    Field("password", secret=True, write_only=True),
    Field("node_type", option="role", choices={"transcoding": "CONFERENCING", "proxying": "PROXYING"}, restarts=True),
), output=("fulfillment_id", "entitlement_id", "offline_mode", "system_location", "resource_uri", "node_type", "snmp_password", "dns_server_addresses"))
SETTINGS = Resource("global", singleton=uri("global", 1), fields=(Field("bursting_enabled", option="enabled"), Field("token", secret=True)))


def params(**kw):
    p = dict((f.option, None) for f in LICENCE.fields)
    p.update(fulfillment_id="F-1", state="present")
    p.update(kw)
    return p


def api():
    fake = FakeApi({"system_location": [dict(id=1, name="London", resource_uri=uri("system_location", 1))],
                    "dns_server": [dict(id=7, address="10.0.0.2", resource_uri=uri("dns_server", 7))],
                    "licence": [], "global": [dict(id=1, resource_uri=uri("global", 1), bursting_enabled=False, token="t0k")]})
    return fake


def engine(fake, check_mode=False, resource=LICENCE, **kw):
    return Engine(FakeModule(fake.client(), params(**kw), check_mode=check_mode, label="licence 'F-1'"), resource)


@pytest.mark.parametrize("have,want,expected", [
    (None, "", False), ("", None, False), ([], None, False), (None, [], False),
    ("a", "a", False), ("a", "b", True), (1500, 1500, False), (1500, 1400, True), (False, None, True),
    ({"resource_uri": "/x/1/"}, "/x/1/", False), ({"resource_uri": "/x/1/"}, "/x/2/", True),
    (["/b/", {"resource_uri": "/a/"}], ["/a/", "/b/"], False), (["/a/"], ["/a/", "/b/"], True),
])
def test_differs(have, want, expected):
    assert differs(have, want) is expected


def test_ref_uri_accepts_every_shape_of_a_reference():
    canonical = uri("system_location", 4)
    for ref in (canonical, "https://mgr" + canonical, {"resource_uri": canonical}, 4, "4", canonical.rstrip("/")):
        assert ref_uri(ref, "system_location") == canonical
    assert ref_uri(uri("dns_server", 4), "system_location") is None
    assert ref_uri("", "system_location") is None


def test_create_resolves_names_creates_related_objects_and_masks_secrets():
    fake = api()
    eng = engine(fake, entitlement_id="E", system_location="London", dns_servers=["10.0.0.2", "10.0.0.3"], role="proxying")
    outcome = eng.ensure(None, eng.wanted(eng.module.params), "F-1", write_only=dict(password="s3cret"))
    posts = [body for method, path, body in fake.writes()]
    assert posts[0] == {"address": "10.0.0.3"}  # the missing DNS server first
    assert posts[1] == dict(fulfillment_id="F-1", entitlement_id="E", system_location=uri("system_location", 1), node_type="PROXYING",
                            dns_servers=[uri("dns_server", 7), uri("dns_server", 101)], password="s3cret")
    assert outcome.changed and outcome.created == ["dns_server 10.0.0.3"] and outcome.response.status_code == 201
    assert outcome.diff["after"]["password"] == MASK and outcome.diff["after"]["system_location"] == "London"
    assert "s3cret" not in repr(outcome.diff)


def test_noop_is_one_request_per_lookup_and_relation():
    fake = api()
    fake.add("licence", fulfillment_id="F-1", entitlement_id="E", system_location=uri("system_location", 1),
             dns_servers=[dict(address="10.0.0.2", resource_uri=uri("dns_server", 7))], node_type="CONFERENCING")
    eng = engine(fake, entitlement_id="E", system_location="London", dns_servers=["10.0.0.2"], role="transcoding", password="new")
    fake.log[:] = []
    result = eng.run()
    assert result["changed"] is False and fake.writes() == []
    assert [path for dummy, path, dummy2 in fake.log] == [
        "/api/admin/configuration/v1/licence/", "/api/admin/configuration/v1/system_location/"]


def test_update_patches_only_what_differs_and_reports_restart_fields():
    fake = api()
    stored = fake.add("licence", fulfillment_id="F-1", entitlement_id="E", offline_mode=False, node_type="CONFERENCING")
    eng = engine(fake, entitlement_id="E", offline=True, role="proxying")
    current = eng.lookup("F-1")
    keys = eng.changes(current, eng.wanted(eng.module.params))
    assert keys == ["node_type", "offline_mode"]
    assert [k for k in keys if LICENCE.field(k).restarts] == ["node_type"]
    outcome = eng.ensure(current, eng.wanted(eng.module.params))
    assert fake.writes() == [("PATCH", stored["resource_uri"], dict(node_type="PROXYING", offline_mode=True))]
    assert outcome.diff == dict(before=dict(node_type="CONFERENCING", offline_mode=False), after=dict(node_type="PROXYING", offline_mode=True))


def test_write_only_update_is_always_a_change_and_never_shown():
    fake = api()
    fake.add("licence", fulfillment_id="F-1", entitlement_id="E")
    eng = engine(fake)
    outcome = eng.ensure(eng.lookup("F-1"), {}, write_only=dict(password="rotated"))
    assert outcome.changed and fake.writes()[-1][2] == dict(password="rotated")
    assert outcome.diff == dict(before=dict(password="(write-only: not readable)"), after=dict(password=MASK))


def test_check_mode_writes_nothing_and_predicts_the_object():
    fake = api()
    eng = engine(fake, check_mode=True, entitlement_id="E", dns_servers=["10.0.0.9"])
    result = eng.run()
    assert result["changed"] and fake.writes() == []
    # an entitlement ID is a secret by its name (secrets.SECRET_KEY), whatever the declaration says
    assert "entitlement_id" not in result["object"] and result["object"]["dns_server_addresses"] == ["10.0.0.9"]


def test_unknown_relation_fails_before_any_write():
    fake = api()
    eng = engine(fake, system_location="Atlantis", dns_servers=["10.0.0.9"])
    with pytest.raises(Failed, match=r"^licence 'F-1': system location 'Atlantis' does not exist on the Management Node; create it "
                                     r"first \(pexip.infinity.pexip_location\) or correct the name.$"):
        eng.module.run(lambda module: eng.run())
    assert fake.writes() == []


CERTIFIED = Resource("licence", key="fulfillment_id", label="licence", fields=(
    Field("tls_certificate", relation="tls_certificate", relation_key="subject_name", label="TLS certificate"),))


def test_relation_by_another_key_is_read_once_and_shown_by_that_key():
    fake = api()
    fake.tables["tls_certificate"] = [dict(id=1, subject_name="a.example.com", resource_uri=uri("tls_certificate", 1)),
                                      dict(id=2, subject_name="b.example.com", resource_uri=uri("tls_certificate", 2))]
    eng = engine(fake, resource=CERTIFIED)
    field = CERTIFIED.field("tls_certificate")
    assert eng.uri_of(field, "b.example.com") == uri("tls_certificate", 2)
    assert eng.uri_of(field, uri("tls_certificate", 1)) == uri("tls_certificate", 1)
    assert eng.name_of(field, {"resource_uri": uri("tls_certificate", 2)}) == "b.example.com"
    assert [(m, p) for m, p, d in fake.log] == [("GET", "/api/admin/configuration/v1/tls_certificate/")]
    assert eng.annotate({"tls_certificate": uri("tls_certificate", 1)})["tls_certificate_name"] == "a.example.com"
    with pytest.raises(Failed, match=r"^licence 'F-1': TLS certificate 'c.example.com' does not exist on the Management Node \(its "
                                     r"subject names: a.example.com, b.example.com\); create it first \(pexip.infinity.pexip_tls_certificate\) "
                                     r"or correct the subject name.$"):
        eng.module.run(lambda module: eng.uri_of(field, "c.example.com"))


def test_output_is_the_allow_list_without_any_secret():
    fake = api()
    fake.add("licence", fulfillment_id="F-1", entitlement_id="E", snmp_password="x", password="y", internal="z")
    result = engine(fake).run()
    assert set(result["object"]) == {"fulfillment_id", "resource_uri", "dns_server_addresses"}


def test_absent_deletes_once():
    fake = api()
    stored = fake.add("licence", fulfillment_id="F-1")
    assert engine(fake, state="absent").run()["changed"] is True
    assert fake.writes() == [("DELETE", stored["resource_uri"], None)]
    assert engine(fake, state="absent").run()["changed"] is False


def test_singleton_is_read_by_its_uri_and_never_created():
    fake = api()
    eng = Engine(FakeModule(fake.client(), dict(enabled=True, token=None)), SETTINGS)
    result = eng.run(output="settings")
    assert fake.log[0][:2] == ("GET", uri("global", 1))
    assert fake.writes() == [("PATCH", uri("global", 1), dict(bursting_enabled=True))]
    assert result["settings"]["bursting_enabled"] is True and "token" not in result["settings"]


def test_duplicates_are_refused():
    fake = api()
    fake.add("licence", fulfillment_id="F-1")
    fake.add("licence", fulfillment_id="F-1")
    eng = engine(fake)
    with pytest.raises(Failed, match="2 licence objects have this fulfillment_id"):
        eng.module.run(lambda module: eng.lookup("F-1"))


def test_an_empty_entry_in_a_server_list_is_no_server():
    eng = engine(api())
    assert eng.server_addresses(LICENCE.field("dns_servers"), [None, uri("dns_server", 7), {"address": "10.0.0.1"}]) == ["10.0.0.1", "10.0.0.2"]


def test_names_resolve_once_and_answer_both_ways():
    """The engine's one name <-> URI cache: a name is looked up once (filtered), and its URI then names it."""
    fake = api()
    eng = engine(fake)
    field = LICENCE.field("system_location")
    assert eng.uri_of(field, "London") == eng.uri_of(field, "London") == uri("system_location", 1)
    assert eng.name_of(field, uri("system_location", 1)) == "London"
    assert fake.log == [("GET", "/api/admin/configuration/v1/system_location/", {"name": "London"})]


def test_a_name_is_fetched_once_then_cached():
    fake = api()
    eng = engine(fake)
    field = LICENCE.field("system_location")
    assert eng.name_of(field, None) is None
    assert eng.name_of(field, uri("system_location", 1)) == eng.name_of(field, {"resource_uri": uri("system_location", 1)}) == "London"
    assert eng.uri_of(field, "London") == uri("system_location", 1)
    assert [(m, p) for m, p, d in fake.log] == [("GET", uri("system_location", 1))]


def test_servers_of_one_kind_never_stand_for_another():
    """A DNS server's address is no NTP server: each endpoint's addresses are cached apart."""
    fake = api()
    fake.tables["ntp_server"] = []
    ntp = Resource("licence", key="fulfillment_id", fields=(Field("dns_servers", many="dns_server"), Field("ntp_servers", many="ntp_server")))
    eng = engine(fake, resource=ntp)
    assert eng.server_addresses(ntp.field("dns_servers"), [uri("dns_server", 7)]) == ["10.0.0.2"]
    uris, created = eng.server_uris(None, ["ntp_servers"], dict(ntp_servers=["10.0.0.2"]))
    assert created == ["ntp_server 10.0.0.2"] and uris["ntp_servers"]["10.0.0.2"] != uri("dns_server", 7)
