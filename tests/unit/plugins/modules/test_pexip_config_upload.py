# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pexip_config_upload (module_utils/bootstrap.py): answer parsing, retries while the instance boots, idempotency (fake HTTP session)."""

import pytest

from fakes import Fail, FakeModule, ScriptedSession

from ansible_collections.pexip.infinity.plugins.module_utils.api import PexipClient, TransportError
from ansible_collections.pexip.infinity.plugins.module_utils import bootstrap as upload


class Resp(object):
    def __init__(self, status_code, text="", headers=None):
        self.status_code = status_code
        self.text = text
        self.reason = "reason"
        self.headers = headers or {}


def module(**params):
    defaults = dict(address="10.0.1.10", port=8443, validate_certs=True, ca_path=None, timeout=5, retries=2, wait=True,
                    wait_timeout=30, poll_interval=10)
    return FakeModule(None, dict(defaults, **params))


def uploader(script, clock_step=1.0, **params):
    now = [0.0]
    session = ScriptedSession(*script)

    def sleep(seconds):
        now[0] += seconds

    def clock():
        now[0] += clock_step
        return now[0]

    mod = module(**params)
    p = mod.params
    # as main() builds it
    client = PexipClient(upload.page_url(p["address"], p["port"]), validate_certs=p["validate_certs"], ca_path=p["ca_path"], timeout=p["timeout"],
                         retries=p["retries"], backoff=1.0, max_backoff=p["poll_interval"], sleep=sleep, clock=clock, session=session,
                         connect_window=p["wait_timeout"] if p["wait"] else None, server="the bootstrap page")
    wait_timeout = p["wait_timeout"] if p["wait"] else None

    def fail(msg, **result):
        mod.fail_json(msg="pexip_config_upload %s: %s" % (p["address"], msg), **result)

    return upload.Uploader(client, fail, p["port"], wait_timeout), session


def test_answer_text():
    assert upload.answer_text(Resp(400, '{"error": "bad file"}')) == "bad file"
    assert upload.answer_text(Resp(200, "<html><body><p>This node (1.2.3.4)\n is configured.</p></body></html>")) == "This node (1.2.3.4) is configured."


@pytest.mark.parametrize("status,text,expected", [
    (409, "This node is already configured; the bootstrap page no longer accepts a configuration upload.", True),
    (400, "Invalid configuration document: not XML", False),
    (200, "Configuration applied to cn-1", False),
])
def test_says_configured(status, text, expected):
    assert upload.says_configured(Resp(status, text)) is expected


def test_upload_retries_while_booting():
    up, session = uploader([TransportError("refused"), TransportError("refused"),
                            Resp(200, "Configuration applied to cn-1")])
    result = up.upload(b"<doc/>")
    assert result["changed"] and result["attempts"] == 3
    call = session.calls[-1]
    assert (call["method"], call["url"]) == ("POST", "https://10.0.1.10:8443/configuration/bootstrap")
    assert call["headers"] == {"Content-Type": "text/xml"} and call["data"] == b"<doc/>" and call["verify"] is True


def test_upload_gives_up_after_wait_timeout():
    up, dummy = uploader([TransportError("refused")] * 50, clock_step=10.0, wait_timeout=30)
    with pytest.raises(Fail) as exc:
        up.upload(b"<doc/>")
    assert "did not answer within 30 seconds" in exc.value.args[0]["msg"]


def test_busy_answers_are_retried_then_reported():
    up, session = uploader([Resp(503, "busy"), Resp(429, "slow down", {"Retry-After": "1"}), Resp(200, "ok")])
    assert up.upload(b"<doc/>")["changed"] and len(session.calls) == 3
    up, session = uploader([Resp(429, "slow down", {"Retry-After": "3600"}), Resp(200, "ok")], poll_interval=7)
    slept = []
    up.client.sleep = slept.append
    assert up.upload(b"<doc/>")["changed"] and slept == [7]  # Retry-After is capped
    up, session = uploader([Resp(503, "This node is not running.")] * 3, retries=2)
    with pytest.raises(Fail) as exc:
        up.upload(b"<doc/>")
    assert "refused the bootstrap document (HTTP 503): This node is not running." in exc.value.args[0]["msg"]


def test_configured_node_is_no_change_unless_an_earlier_attempt_got_through():
    up, dummy = uploader([Resp(409, "This node is already configured.")])
    result = up.upload(b"<doc/>")
    assert result["changed"] is False and "already configured" in result["message"]
    up, dummy = uploader([TransportError("timed out", sent=True), Resp(409, "This node is already configured.")])
    assert up.upload(b"<doc/>")["changed"] is True


def test_rejected_document_fails_with_the_node_message():
    up, dummy = uploader([Resp(400, "This configuration document is for address 10.0.1.11, but this node's address is 10.0.1.10.")])
    with pytest.raises(Fail) as exc:
        up.upload(b"<doc/>")
    assert exc.value.args[0]["msg"] == ("pexip_config_upload 10.0.1.10: the node refused the bootstrap document (HTTP 400): "
                                        "This configuration document is for address 10.0.1.11, but this node's address is 10.0.1.10.")


def test_tls_error_is_explained():
    up, dummy = uploader([TransportError("certificate verify failed", tls=True)], ca_path="/ca.pem")
    with pytest.raises(Fail) as exc:
        up.check()
    assert "could not be verified" in exc.value.args[0]["msg"] and "ca_path" in exc.value.args[0]["msg"]


def test_check_reads_the_page():
    up, session = uploader([Resp(200, "<p>This node (10.0.1.10) is not configured.</p>")], validate_certs=False)
    result = up.check()
    assert session.calls[0]["method"] == "GET" and session.calls[0]["verify"] is False
    assert not upload.CONFIGURED_RE.search(result["message"])


def test_without_wait_a_connection_error_is_retried_only_retries_times():
    up, session = uploader([TransportError("refused")] * 3, wait=False, retries=2)
    with pytest.raises(Fail) as exc:
        up.upload(b"<doc/>")
    assert len(session.calls) == 3 and "did not answer" in exc.value.args[0]["msg"]
