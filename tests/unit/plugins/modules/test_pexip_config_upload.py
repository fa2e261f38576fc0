# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pexip_config_upload (module_utils/bootstrap.py): answer parsing, retries while the instance boots, idempotency (fake HTTP session)."""

import hashlib
import http.server
import ssl

import pytest

import labcerts
from cryptography.hazmat.primitives import serialization

from fakes import Fail, FakeModule, ScriptedSession, serving

from ansible_collections.pexip.infinity.plugins.module_utils.api import PexipClient, TransportError, new_session
from ansible_collections.pexip.infinity.plugins.module_utils import bootstrap as upload
from ansible_collections.pexip.infinity.plugins.modules import pexip_config_upload


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
    up, session = uploader([TransportError("refused", sent=False), TransportError("refused", sent=False),
                            Resp(200, "Configuration applied to cn-1")])
    result = up.upload(b"<doc/>")
    assert result["changed"] and result["attempts"] == 3
    call = session.calls[-1]
    assert (call["method"], call["url"]) == ("POST", "https://10.0.1.10:8443/configuration/bootstrap")
    assert call["headers"] == {"Content-Type": "text/xml"} and call["data"] == b"<doc/>" and call["verify"] is True


def test_upload_gives_up_after_wait_timeout():
    up, dummy = uploader([TransportError("refused", sent=False)] * 50, clock_step=10.0, wait_timeout=30)
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
    up, session = uploader([TransportError("refused", sent=False)] * 3, wait=False, retries=2)
    with pytest.raises(Fail) as exc:
        up.upload(b"<doc/>")
    assert len(session.calls) == 3 and "did not answer" in exc.value.args[0]["msg"]


# -- trust: the real transport against a loopback page with a node-like certificate ------------------------------
class PageHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_any(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.seen.append((self.command, self.path, body))
        answer = b"Configuration accepted; the node will now reboot."
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    do_GET = do_POST = do_any

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        pass


@pytest.fixture(scope="module")
def node_cert(tmp_path_factory):
    """A certificate like a node's: it names the node, not the address the page is reached at."""
    directory = tmp_path_factory.mktemp("node-tls")
    ca = labcerts.make_ca("Node CA")
    ca.write(str(directory), "ca")
    pair = labcerts.issue(ca, "cn-1.example.com")
    pair.write(str(directory), "node")
    der = pair.cert.public_bytes(serialization.Encoding.DER)
    return dict(dir=directory, ca=str(directory / "ca.pem"), sha256=hashlib.sha256(der).hexdigest())


@pytest.fixture
def page(node_cert):  # pylint: disable=redefined-outer-name
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(node_cert["dir"] / "node.pem"), str(node_cert["dir"] / "node.key"))
    with serving(PageHandler, context) as httpd:
        yield httpd


def send(module_run, page, **args):  # pylint: disable=redefined-outer-name
    args = dict(dict(address="127.0.0.1", port=page.server_address[1], content="<doc secret='s3'/>", wait=False, retries=0), **args)
    return module_run(pexip_config_upload, new_session(), **args)


def colons(fingerprint):
    return ":".join(fingerprint[i:i + 2] for i in range(0, 64, 2)).upper()


def test_a_pinned_fingerprint_is_the_only_trust_needed(module_run, page, node_cert):  # pylint: disable=redefined-outer-name
    result = send(module_run, page, fingerprint="sha256 Fingerprint=" + colons(node_cert["sha256"]))
    assert result["changed"] and result["status"] == 200, result
    assert page.seen == [("POST", "/configuration/bootstrap", b"<doc secret='s3'/>")]


def test_another_certificate_gets_nothing(module_run, page, node_cert):  # pylint: disable=redefined-outer-name
    wrong = "0" * 64
    result = send(module_run, page, fingerprint=wrong, validate_certs=False)
    assert result["failed"] and "could not be verified" in result["msg"] and node_cert["sha256"] in result["msg"], result["msg"]
    assert "nothing was sent" in result["msg"] and page.seen == []


def test_ca_path_checks_the_chain_not_the_host_name(module_run, page, node_cert, tmp_path):  # pylint: disable=redefined-outer-name
    # The page is reached by address; the certificate names the node.
    result = send(module_run, page, ca_path=node_cert["ca"])
    assert result["changed"], result
    other = labcerts.make_ca("Another CA")
    other.write(str(tmp_path), "other")
    result = send(module_run, page, ca_path=str(tmp_path / "other.pem"))
    assert result["failed"] and "could not be verified" in result["msg"] and len(page.seen) == 1


@pytest.mark.parametrize("address,refused", [("203.0.113.10", True), ("node.example.com", True), ("10.0.1.10", False),
                                             ("172.31.0.5", False), ("192.168.1.5", False)])
def test_an_unverified_upload_is_refused_unless_the_address_is_private(module_run, address, refused):
    session = ScriptedSession(Resp(200, "Configuration accepted"))
    result = module_run(pexip_config_upload, session, address=address, content="<doc/>", validate_certs=False)
    if refused:
        assert result["failed"] and "upload to %s that does not verify the instance" % address in result["msg"], result
        assert "fingerprint" in result["msg"] and session.calls == []
    else:
        assert result["changed"] and session.calls[0]["verify"] is False
    # a pin makes any address acceptable
    result = module_run(pexip_config_upload, ScriptedSession(Resp(200, "ok")), address=address, content="<doc/>", validate_certs=False,
                        fingerprint="ab" * 32)
    assert not result.get("failed"), result


def test_a_bad_fingerprint_is_refused_before_any_request(module_run):
    session = ScriptedSession()
    result = module_run(pexip_config_upload, session, address="10.0.1.10", content="<doc/>", fingerprint="ab:cd")
    assert result["failed"] and "fingerprint 'ab:cd' is not a SHA-256 fingerprint" in result["msg"] and session.calls == []


def test_a_lost_answer_says_the_document_may_have_been_accepted():
    # The POST went out whole, its answer was lost, and the rebooting node refuses connections since.
    up, session = uploader([TransportError("read timed out", sent=True)] + [TransportError("refused", sent=False)] * 50, clock_step=10.0)
    with pytest.raises(Fail) as exc:
        up.upload(b"<doc/>")
    failure = exc.value.args[0]
    assert failure["maybe_sent"] is True and "may have accepted the document" in failure["msg"]
    assert "wait for the node to report and sync" in failure["msg"].lower()
    assert session.methods()[0] == "POST"
