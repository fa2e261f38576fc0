# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PexipClient against a scripted fake HTTP session: no network, no real sleeping (the real transport: test_transport.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from fakes import BASE, HOST, ScriptedSession as FakeSession, response

from ansible_collections.pexip.infinity.plugins.module_utils import api as api_utils

from ansible_collections.pexip.infinity.plugins.module_utils.api import (
    PexipApiError,
    PexipBusyError,
    PexipClient,
    PexipConnectionError,
    PexipNotFoundError,
    PexipResponseError,
    PexipTLSError,
    PexipValidationError,
    TransportError,
    field_errors_text,
    object_id,
    resource_path,
)

LOC = "/api/admin/configuration/v1/system_location/"
NODE = "/api/admin/configuration/v1/worker_vm/"


def client(session, **kwargs):
    sleeps = []
    kwargs.setdefault("retries", 3)
    pc = PexipClient(HOST, "admin", "secret", session=session, sleep=sleeps.append, **kwargs)
    return pc, sleeps


# -- helpers ---------------------------------------------------------------------------------
def test_resource_path_and_object_id():
    assert resource_path("system_location") == LOC
    assert resource_path("worker_vm", obj_id=7) == NODE + "7/"
    assert resource_path("cloud_node", api="status") == "/api/admin/status/v1/cloud_node/"
    assert object_id("https://mgr/api/admin/configuration/v1/worker_vm/12/") == 12
    assert object_id("/api/admin/configuration/v1/worker_vm/12") == 12
    assert object_id(None) is None


def test_session_settings():
    session = FakeSession()
    pc, dummy = client(session, ca_path="/etc/ca.pem")
    assert session.auth == ("admin", "secret")
    assert session.verify == "/etc/ca.pem"
    assert session.headers["Accept"] == "application/json"
    assert pc.base == BASE
    client(session, validate_certs=False)
    assert session.verify is False
    client(session)
    assert session.verify is True
    assert PexipClient("https://mgr:8443/", "a", "b", session=FakeSession()).base == "https://mgr:8443"


# -- retries on idempotent verbs ---------------------------------------------------------------
@pytest.mark.parametrize("method", ["GET", "PATCH", "PUT", "DELETE"])
@pytest.mark.parametrize("failure", [response(502), response(503), response(504), response(429),
                                     TransportError("connection reset by peer")])
def test_idempotent_verbs_are_retried(method, failure):
    session = FakeSession(failure, failure, response(200 if method == "GET" else 202, {"ok": 1}))
    pc, sleeps = client(session)
    resp = pc.request(method, LOC + "1/", json={"name": "x"} if method in ("PATCH", "PUT") else None)
    assert resp.status_code in (200, 202)
    assert session.methods() == [method] * 3
    assert len(sleeps) == 2
    assert pc.requests_made == 3


def test_backoff_grows_and_is_capped():
    session = FakeSession(*([response(503)] * 8 + [response(200, {})]))
    pc, sleeps = client(session, retries=8, backoff=1.0, max_backoff=5.0)
    pc.request("GET", LOC)
    assert len(sleeps) == 8
    # full jitter: each delay lies in [0, min(max_backoff, backoff * 2 ** attempt)]
    for attempt, delay in enumerate(sleeps):
        assert 0 <= delay <= min(5.0, 2 ** attempt)


def test_retry_after_is_honoured_and_capped():
    session = FakeSession(response(429, headers={"Retry-After": "3"}), response(429, headers={"Retry-After": "120"}),
                          response(429, headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}), response(200, {}))
    pc, sleeps = client(session, backoff=0.1, max_backoff=10.0)
    pc.request("GET", LOC)
    assert sleeps[0] == 3.0
    assert sleeps[1] == 10.0  # capped at max_backoff
    assert 0 <= sleeps[2] <= 0.1 * 4  # an HTTP-date falls back to the jittered backoff


def test_retries_exhausted_on_status():
    session = FakeSession(*[response(503, text="busy")] * 4)
    pc, sleeps = client(session, retries=3)
    with pytest.raises(PexipApiError) as err:
        pc.request("GET", LOC)
    assert err.value.status == 503
    assert "GET %s answered HTTP 503" % LOC in err.value.msg
    assert len(session.calls) == 4 and len(sleeps) == 3


def test_retries_exhausted_on_connection_error():
    session = FakeSession(*[TransportError("refused")] * 3)
    pc, dummy = client(session, retries=2)
    with pytest.raises(PexipApiError) as err:
        pc.request("DELETE", LOC + "4/")
    assert err.value.status is None
    assert "cannot reach the Management Node at %s" % BASE in err.value.msg
    assert len(session.calls) == 3


def test_no_retry_on_client_errors():
    session = FakeSession(response(404, {"error": "not found"}))
    pc, sleeps = client(session)
    with pytest.raises(PexipApiError) as err:
        pc.request("GET", LOC + "99/")
    assert err.value.status == 404 and len(session.calls) == 1 and not sleeps


def test_zero_retries():
    session = FakeSession(response(503))
    pc, sleeps = client(session, retries=0)
    with pytest.raises(PexipApiError):
        pc.request("GET", LOC)
    assert len(session.calls) == 1 and not sleeps


# -- POST is never blindly repeated ------------------------------------------------------------
def created(obj_id=5):
    return response(201, {}, headers={"Location": BASE + LOC + "%d/" % obj_id})


def test_create_follows_location():
    obj = {"id": 5, "name": "London", "resource_uri": LOC + "5/"}
    session = FakeSession(created(), response(200, obj))
    pc, dummy = client(session)
    got, resp = pc.create("system_location", {"name": "London"})
    assert got == obj and resp.status_code == 201
    assert session.calls[0]["json"] == {"name": "London"}
    assert session.calls[1]["url"] == BASE + LOC + "5/"


@pytest.mark.parametrize("failure", [response(503), response(502), response(504),
                                     TransportError("connection reset by peer")])
def test_create_consults_lookup_and_does_not_post_twice(failure):
    obj = {"id": 5, "name": "London", "resource_uri": LOC + "5/"}
    lookups = []

    def lookup():
        lookups.append(1)
        return obj

    session = FakeSession(failure)
    pc, sleeps = client(session)
    got, resp = pc.create("system_location", {"name": "London"}, lookup=lookup)
    assert got == obj and resp is None
    assert session.methods() == ["POST"]
    assert lookups == [1] and not sleeps


def test_create_retries_post_when_lookup_finds_nothing():
    obj = {"id": 6, "name": "Oslo", "resource_uri": LOC + "6/"}
    lookups = []

    def lookup():
        lookups.append(1)
        return None

    session = FakeSession(response(503), created(6), response(200, obj))
    pc, sleeps = client(session)
    got, resp = pc.create("system_location", {"name": "Oslo"}, lookup=lookup)
    assert got == obj and resp.status_code == 201
    assert session.methods() == ["POST", "POST", "GET"]
    assert lookups == [1] and len(sleeps) == 1


def test_create_retries_429_without_lookup():
    """The server refused the request: nothing was created, so the POST may be repeated."""
    obj = {"id": 7, "name": "Paris", "resource_uri": LOC + "7/"}
    lookups = []
    session = FakeSession(response(429, headers={"Retry-After": "1"}), created(7), response(200, obj))
    pc, sleeps = client(session)
    got, dummy = pc.create("system_location", {"name": "Paris"}, lookup=lambda: lookups.append(1))
    assert got == obj
    assert session.methods() == ["POST", "POST", "GET"]
    assert not lookups and len(sleeps) == 1


def test_create_gives_up_after_retries():
    session = FakeSession(*[response(503)] * 3)
    pc, dummy = client(session, retries=2)
    with pytest.raises(PexipApiError) as err:
        pc.create("system_location", {"name": "Rome"}, lookup=lambda: None)
    assert err.value.status == 503
    assert session.methods() == ["POST"] * 3


def test_create_does_not_retry_400():
    body = {"system_location": {"name": ["System location with this Name already exists."]}}
    session = FakeSession(response(400, body))
    pc, dummy = client(session)
    with pytest.raises(PexipApiError) as err:
        pc.create("system_location", {"name": "Rome"}, lookup=lambda: None)
    assert err.value.msg == "name: System location with this Name already exists."
    assert session.methods() == ["POST"]


def test_command_posts_once():
    session = FakeSession(response(503))
    pc, sleeps = client(session)
    with pytest.raises(PexipApiError):
        pc.command("platform", "start_cloudnode", {"instance_id": "i-1"})
    assert session.methods() == ["POST"] and not sleeps
    assert session.calls[0]["url"] == BASE + "/api/admin/command/v1/platform/start_cloudnode/"


def test_command_returns_body_or_empty():
    session = FakeSession(response(202, {"status": "success"}), response(202, text=""))
    pc, dummy = client(session)
    assert pc.command("platform", "start_cloudnode", {"instance_id": "i-1"}) == {"status": "success"}
    assert pc.command("platform", "start_cloudnode", {"instance_id": "i-1"}) == {}


# -- pagination --------------------------------------------------------------------------------
def page(objects, next_path=None):
    return response(200, {"meta": {"next": next_path, "total_count": 5}, "objects": objects})


def test_list_follows_meta_next():
    session = FakeSession(page([{"id": 1}, {"id": 2}], LOC + "?limit=2&offset=2"),
                          page([{"id": 3}, {"id": 4}], LOC + "?limit=2&offset=4"),
                          page([{"id": 5}]))
    pc, dummy = client(session)
    assert [o["id"] for o in pc.list("system_location", limit=2, name__startswith="L")] == [1, 2, 3, 4, 5]
    assert session.calls[0]["params"] == {"limit": 2, "name__startswith": "L"}
    assert session.calls[1]["url"] == BASE + LOC + "?limit=2&offset=2"
    assert session.calls[2]["url"] == BASE + LOC + "?limit=2&offset=4"


def test_list_empty_and_status_api():
    session = FakeSession(page([]))
    pc, dummy = client(session)
    assert pc.list("cloud_node", api="status") == []
    assert session.calls[0]["url"] == BASE + "/api/admin/status/v1/cloud_node/"


def test_find_one_none_many():
    session = FakeSession(page([{"id": 1}]), page([]), page([{"id": 1}, {"id": 2}]))
    pc, dummy = client(session)
    assert pc.find("system_location", name="a") == {"id": 1}
    assert pc.find("system_location", name="b") is None
    with pytest.raises(PexipApiError) as err:
        pc.find("system_location", name="c")
    assert "2 system_location objects match" in err.value.msg


# -- error translation ------------------------------------------------------------------------
def test_400_field_errors():
    session = FakeSession(response(400, {"worker_vm": {"address": ["This field must be unique"]}}))
    pc, dummy = client(session)
    with pytest.raises(PexipApiError) as err:
        pc.request("PATCH", NODE + "1/", json={"address": "10.0.0.1"})
    assert err.value.msg == "address: This field must be unique"
    assert err.value.status == 400
    assert err.value.field_errors == {"worker_vm": {"address": ["This field must be unique"]}}


def test_field_errors_text_shapes():
    assert field_errors_text({"error": "Invalid data"}) == "Invalid data"
    assert field_errors_text({"error": ["a", "b"]}) == "a b"
    assert field_errors_text({"worker_vm": {"name": ["x"], "hostname": ["y", "z"]}}) == "name: x; hostname: y z"
    assert field_errors_text({"mtu": "too big"}) == "mtu: too big"
    assert field_errors_text("plain") == "plain"


def test_401_names_the_credentials():
    session = FakeSession(response(401, text="Unauthorized"))
    pc, dummy = client(session)
    with pytest.raises(PexipApiError) as err:
        pc.get(LOC)
    assert err.value.status == 401
    assert "refused the credentials of user 'admin'" in err.value.msg
    assert "username and password" in err.value.msg
    assert len(session.calls) == 1


def test_403_names_the_role():
    session = FakeSession(response(403, text="Forbidden"))
    pc, dummy = client(session)
    with pytest.raises(PexipApiError) as err:
        pc.request("DELETE", LOC + "1/")
    assert err.value.status == 403 and "administrator role" in err.value.msg


def test_other_errors_carry_status_and_body():
    session = FakeSession(response(500, text="<html>boom</html>"))
    pc, dummy = client(session)
    with pytest.raises(PexipApiError) as err:
        pc.get(LOC)
    assert err.value.status == 500 and "boom" in err.value.msg and len(session.calls) == 1


def test_ssl_error_advises_ca_path_or_validate_certs():
    session = FakeSession(TransportError("certificate verify failed: self-signed certificate", tls=True))
    pc, sleeps = client(session)
    with pytest.raises(PexipApiError) as err:
        pc.get(LOC)
    assert "could not be verified" in err.value.msg
    assert "ca_path" in err.value.msg and "validate_certs: false" in err.value.msg
    assert len(session.calls) == 1 and not sleeps  # not retried: a retry cannot fix it


# -- names ------------------------------------------------------------------------------------
def test_name_for_is_one_get_without_a_cache():
    """The engine's Names is the one cache (test_resource); the client only reads."""
    session = FakeSession(response(200, {"id": 4, "name": "Oslo", "resource_uri": LOC + "4/"}))
    pc, dummy = client(session)
    assert pc.name_for(None) is None
    assert pc.name_for(LOC + "4/") == "Oslo"
    assert [c["url"] for c in session.calls] == [BASE + LOC + "4/"]


# -- regressions: POST without lookup, Retry-After on POST ------------------------------
def test_create_without_lookup_never_reposts():
    session = FakeSession(response(503), created(8), response(200, {"id": 8}))
    pc, dummy = client(session)
    with pytest.raises(PexipApiError):
        pc.create("system_location", {"name": "Bern"})
    assert session.methods() == ["POST"]


def test_create_honours_retry_after():
    session = FakeSession(response(429, headers={"Retry-After": "7"}), created(9), response(200, {"id": 9}))
    pc, sleeps = client(session, max_backoff=30.0)
    pc.create("system_location", {"name": "Lyon"})
    assert sleeps == [7.0]


# -- typed errors, robustness (issue 12) ----------------------------------------------------------
def test_errors_are_typed():
    session = FakeSession(response(400, {"error": "bad"}), response(404, {"error": "gone"}), response(503, text="busy"),
                          TransportError("refused"), TransportError("self-signed", tls=True))
    pc, dummy = client(session, retries=0)
    with pytest.raises(PexipValidationError):
        pc.get(LOC)
    with pytest.raises(PexipNotFoundError):
        pc.get(LOC + "9/")
    with pytest.raises(PexipBusyError):
        pc.get(LOC)
    with pytest.raises(PexipConnectionError):
        pc.get(LOC)
    with pytest.raises(PexipTLSError):
        pc.get(LOC)


@pytest.mark.parametrize("answer,fragment", [
    (response(200, text="<html><body>Proxy error</body></html>", headers={"Content-Type": "text/html"}), "with text/html instead of a JSON object"),
    (response(200, text=""), "with no content type instead of a JSON object"),
    (response(200, ["not", "an", "object"]), "with application/json instead of a JSON object"),
])
def test_a_2xx_answer_that_is_not_the_json_expected_is_a_clear_error(answer, fragment):
    answer.url = BASE + LOC
    pc, dummy = client(FakeSession(answer))
    with pytest.raises(PexipResponseError) as err:
        pc.list("system_location")
    assert fragment in err.value.msg and BASE + LOC in err.value.msg and err.value.status == 200


def test_a_page_without_a_list_of_objects_is_a_clear_error():
    pc, dummy = client(FakeSession(response(200, {"objects": "nope"})))
    with pytest.raises(PexipResponseError) as err:
        pc.list("system_location")
    assert "without a list of objects" in err.value.msg


def test_delete_whose_retry_finds_nothing_succeeded():
    session = FakeSession(TransportError("timed out", sent=True), response(404, {"error": "not found"}))
    pc, dummy = client(session)
    pc.delete(LOC + "4/")
    assert session.methods() == ["DELETE", "DELETE"]
    with pytest.raises(PexipNotFoundError):  # a first answer of 404 still is an error
        client(FakeSession(response(404, {"error": "not found"})))[0].delete(LOC + "4/")


def test_any_base_url_and_port():
    session = FakeSession(response(200, text="<p>not configured</p>"))
    pc = PexipClient("https://10.0.1.10:8443", session=session, sleep=lambda s: None)
    resp = pc.request("GET", "/", check=False)
    assert session.calls[0]["url"] == "https://10.0.1.10:8443/" and resp.status_code == 200
    assert session.auth is None  # no Management Node credentials for another server


def test_connect_window_retries_connection_errors_for_a_time_not_a_count():
    now = [0.0]
    session = FakeSession(*[TransportError("refused")] * 20)
    pc = PexipClient("https://10.0.1.10:8443", session=session, retries=1, connect_window=30, clock=lambda: now[0],
                     sleep=lambda s: now.__setitem__(0, now[0] + s), backoff=1.0, max_backoff=10.0)
    with pytest.raises(PexipConnectionError):
        pc.request("GET", "/")
    assert now[0] == 30 and len(session.calls) > 2


def test_a_write_lost_in_flight_is_remembered():
    session = FakeSession(TransportError("timed out", sent=True))
    pc, dummy = client(session)
    with pytest.raises(PexipConnectionError) as err:
        pc.request("POST", LOC, json={})
    assert err.value.sent is True and pc.maybe_sent is True


def test_command_asks_done_after_a_lost_answer():
    session = FakeSession(response(503), response(502))
    pc, sleeps = client(session)
    assert pc.command("platform", "start_cloudnode", {"instance_id": "i-1"}, done=lambda: True) == {}
    assert session.methods() == ["POST"] and not sleeps
    session = FakeSession(response(503), response(202, {"status": "success"}))
    pc, sleeps = client(session)
    assert pc.command("platform", "start_cloudnode", {"instance_id": "i-1"}, done=lambda: False) == {"status": "success"}
    assert session.methods() == ["POST", "POST"] and len(sleeps) == 1


# -- issue 27: hosts, origins, paging, unsent POSTs ---------------------------------------------
def test_a_plain_http_host_needs_allow_http():
    with pytest.raises(PexipApiError) as err:
        PexipClient("http://mgr.example.com", "admin", "pw", session=FakeSession())
    assert "host 'http://mgr.example.com' is plain http" in err.value.msg and "allow_http: true" in err.value.msg
    assert PexipClient("http://mgr.example.com:8080", "admin", "pw", session=FakeSession(), allow_http=True).base == "http://mgr.example.com:8080"


@pytest.mark.parametrize("host,problem", [("mgr:abc", "Port could not be cast"), ("https://[::1", "Invalid IPv6 URL"),
                                          ("mgr:99999", "out of range"), ("https://mgr/api", "give only a scheme"), ("", "give only")])
def test_a_malformed_host_is_named(host, problem):
    with pytest.raises(PexipApiError) as err:
        PexipClient(host, "admin", "pw", session=FakeSession())
    assert err.value.msg.startswith("host '%s' is not a valid address (" % host) and problem in err.value.msg
    assert "give name, name:port or https://name[:port]" in err.value.msg


@pytest.mark.parametrize("uri", ["https://attacker.example" + LOC + "?offset=2", "http://" + HOST + LOC + "?offset=2",
                                 "https://" + HOST + ":8443" + LOC + "?offset=2"])
def test_a_next_page_on_another_server_is_refused(uri):
    session = FakeSession(page([{"id": 1}], uri))
    pc, dummy = client(session)
    with pytest.raises(PexipResponseError) as err:
        pc.list("system_location")
    assert "pointed to %s, which is not the Management Node at %s: refusing" % (uri, BASE) in err.value.msg
    assert len(session.calls) == 1
    with pytest.raises(PexipResponseError):
        pc.name_for(uri)  # a reference field's URI alike


def test_an_absolute_next_page_on_the_same_server_is_followed():
    session = FakeSession(page([{"id": 1}], "https://MGR.example.com:443" + LOC + "?offset=1"), page([{"id": 2}]))
    pc, dummy = client(session)
    assert [o["id"] for o in pc.list("system_location")] == [1, 2]
    assert session.calls[1]["url"] == "https://MGR.example.com:443" + LOC + "?offset=1"


def test_a_next_page_seen_before_is_a_loop():
    session = FakeSession(page([{"id": 1}], LOC + "?offset=1"), page([{"id": 2}], LOC + "?offset=1"))
    pc, dummy = client(session)
    with pytest.raises(PexipResponseError) as err:
        pc.list("system_location")
    assert "kept answering meta.next (%s after 2 pages)" % (LOC + "?offset=1") in err.value.msg
    assert len(session.calls) == 2


def test_pages_are_capped(monkeypatch):
    monkeypatch.setattr(api_utils, "MAX_PAGES", 3)
    session = FakeSession(*[page([{"id": n}], LOC + "?offset=%d" % (n + 1)) for n in range(5)])
    pc, dummy = client(session)
    with pytest.raises(PexipResponseError) as err:
        pc.list("system_location")
    assert "after 3 pages" in err.value.msg and len(session.calls) == 3


def test_a_post_that_never_left_is_sent_again_without_a_lookup():
    obj = {"id": 5, "name": "Bern", "resource_uri": LOC + "5/"}
    session = FakeSession(TransportError("connection refused", sent=False), created(5), response(200, obj))
    pc, sleeps = client(session)
    assert pc.create("system_location", {"name": "Bern"})[0] == obj
    assert session.methods() == ["POST", "POST", "GET"] and len(sleeps) == 1 and pc.maybe_sent is False
    session = FakeSession(*[TransportError("connection refused", sent=False)] * 4)
    pc, sleeps = client(session)
    with pytest.raises(PexipConnectionError) as err:
        pc.command("platform", "start_cloudnode", {"instance_id": "i-1"}, done=lambda: False)
    assert err.value.sent is False and session.methods() == ["POST"] * 4 and len(sleeps) == 3  # retries, not retries squared
