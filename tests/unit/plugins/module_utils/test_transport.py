# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PexipClient's transport (requests) against real servers on loopback: keep-alive, TLS verification, what counts as
sent, proxies (NO_PROXY by name and by CIDR, credentials, an https:// proxy) and streamed uploads."""

import contextlib
import hashlib
import http.server
import json
import os
import socket
import ssl
import struct
import subprocess
import sys
import threading
import time

import pytest

import fakes
import labcerts

from ansible_collections.pexip.infinity.plugins.module_utils.api import (
    PexipClient,
    PexipConnectionError,
    PexipTLSError,
)

LOC = "/api/admin/configuration/v1/system_location/"
PROXY_VARIABLES = ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "NO_PROXY", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_any(self):
        length = int(self.headers.get("Content-Length") or 0)
        body, size, tail = b"", 0, b""
        while size < length:  # read in pieces, so that a large upload costs the server no memory either
            piece = self.rfile.read(min(1 << 20, length - size))
            if not piece:
                break
            size += len(piece)
            tail = (tail + piece)[-200:]
            body += piece[:max(0, (1 << 16) - len(body))]
        self.server.seen.append(dict(port=self.client_address[1], method=self.command, path=self.path, headers=dict(self.headers),
                                     body=body, size=size, tail=tail))
        if self.path.startswith("/reset"):
            # RST after the whole request arrived: the client cannot tell whether it was acted on.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            return
        if self.path.startswith("/slow"):
            time.sleep(1.5)
        if self.path.startswith("/moved"):
            self.send_response(301)
            self.send_header("Location", "/landed")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        answer = json.dumps({"method": self.command, "path": self.path, "size": size}).encode()
        self.send_response(201 if self.command == "POST" else 200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)
        # /close: close afterwards without saying so, as a server does with an idle keep-alive connection.
        self.close_connection = self.path.startswith("/close")

    do_GET = do_POST = do_PATCH = do_DELETE = do_any

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        pass


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    directory = tmp_path_factory.mktemp("tls")
    ca = labcerts.make_ca("Transport test CA")
    ca.write(str(directory), "ca")
    labcerts.issue(ca, "localhost").write(str(directory), "localhost")
    return directory


def server_context(tls):  # pylint: disable=redefined-outer-name
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(tls / "localhost.pem"), str(tls / "localhost.key"))
    return context


def serving(context=None, port=0):
    """Handler on a loopback port, over TLS with ``context``; ``seen`` lists the requests it received."""
    return fakes.serving(Handler, context, port)


@pytest.fixture(autouse=True)
def no_proxy_variables(monkeypatch):
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


@pytest.fixture
def server(tls):  # pylint: disable=redefined-outer-name
    with serving(server_context(tls)) as httpd:
        httpd.base = "https://localhost:%d" % httpd.port
        httpd.ca = str(tls / "ca.pem")
        yield httpd


def client(server, **kwargs):  # pylint: disable=redefined-outer-name
    kwargs.setdefault("ca_path", server.ca)
    kwargs.setdefault("retries", 0)
    return PexipClient(kwargs.pop("base", server.base), "admin", "s3cret:x", sleep=kwargs.pop("sleep", lambda s: None), **kwargs)


def free_port():
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        return free.getsockname()[1]


# -- keep-alive, TLS -------------------------------------------------------------------------
def test_requests_share_one_kept_alive_connection(server):  # pylint: disable=redefined-outer-name
    pc = client(server)
    params = {"name": "Oslo", "limit": 5, "tag": ["a b", "c"], "description": None}
    assert pc.get(LOC + "?offset=5", params=params)["method"] == "GET"
    pc.update(LOC + "4/", {"description": "x"})
    pc.get(LOC)
    first, second, third = server.seen
    assert first["path"] == LOC + "?offset=5&name=Oslo&limit=5&tag=a+b&tag=c"
    assert first["headers"]["Authorization"] == "Basic YWRtaW46czNjcmV0Ong="  # admin:s3cret:x
    assert first["headers"]["Accept"] == "application/json"
    assert second["method"] == "PATCH" and json.loads(second["body"]) == {"description": "x"}
    assert second["headers"]["Content-Type"] == "application/json"
    assert first["port"] == second["port"] == third["port"]  # the same TCP connection


def test_a_connection_the_server_closed_is_opened_again(server):  # pylint: disable=redefined-outer-name
    pc = client(server)
    pc.get("/close")
    time.sleep(0.2)  # let the server's close reach us
    # A POST is never repeated blindly: it must go out on a live connection, not fail on the closed one.
    response, found = pc.post(LOC, json={"name": "Bern"})
    assert found is None and response.status_code == 201
    assert len(server.seen) == 2 and server.seen[0]["port"] != server.seen[1]["port"]
    assert pc.requests_made == 2


def test_the_ca_of_ca_path_is_the_only_one_trusted(server):  # pylint: disable=redefined-outer-name
    with pytest.raises(PexipTLSError, match="could not be verified"):
        client(server, ca_path=None).get("/")  # the system's CAs do not know the test CA
    assert server.seen == []
    assert client(server, ca_path=None, validate_certs=False).get("/")["path"] == "/"
    assert client(server).get("/ok")["path"] == "/ok"


def test_a_certificate_for_another_name_is_refused(server):  # pylint: disable=redefined-outer-name
    with pytest.raises(PexipTLSError, match="could not be verified"):
        client(server, base="https://127.0.0.1:%d" % server.port).get("/")  # the certificate names localhost only


@pytest.mark.parametrize("content", [None, "not a certificate\n"])
def test_a_ca_path_that_is_no_pem_file_is_named(server, tmp_path, content):  # pylint: disable=redefined-outer-name
    path = tmp_path / "ca.pem"
    if content is not None:
        path.write_text(content)
    with pytest.raises(PexipTLSError, match="ca_path '%s' is not a readable PEM file" % path):
        client(server, ca_path=str(path)).get("/")
    assert server.seen == []


class PageContext(ssl.SSLContext):
    """Like module_utils/bootstrap.PageContext: a pinned certificate (``pin``) or CAs without the host name (``ca_path``)."""

    pin = None
    ca_path = None


def fingerprint(tls):  # pylint: disable=redefined-outer-name
    return hashlib.sha256(ssl.PEM_cert_to_DER_cert((tls / "localhost.pem").read_text())).hexdigest()


def test_a_context_with_a_pinned_certificate_trusts_that_one_only(server, tls):  # pylint: disable=redefined-outer-name
    pc = client(server, base="https://127.0.0.1:%d" % server.port, ca_path=None)  # by address: no name to check
    pc.session.verify = PageContext(ssl.PROTOCOL_TLS_CLIENT)
    pc.session.verify.pin = fingerprint(tls)
    assert pc.get("/pinned")["path"] == "/pinned" and pc.get("/again")["path"] == "/again"
    assert server.seen[0]["port"] == server.seen[1]["port"]  # mounted once: still one kept-alive connection
    other = client(server, base="https://127.0.0.1:%d" % server.port, ca_path=None)
    other.session.verify = PageContext(ssl.PROTOCOL_TLS_CLIENT)
    other.session.verify.pin = "0" * 64
    with pytest.raises(PexipTLSError) as info:
        other.post("/never", json={"secret": "s3"})
    assert fingerprint(tls) in info.value.msg and len(server.seen) == 2 and other.maybe_sent is False


def test_a_context_with_a_ca_path_checks_the_chain_not_the_name(server, tls, tmp_path):  # pylint: disable=redefined-outer-name
    pc = client(server, base="https://127.0.0.1:%d" % server.port)
    pc.session.verify = PageContext(ssl.PROTOCOL_TLS_CLIENT)
    pc.session.verify.ca_path = server.ca
    assert pc.get("/by-address")["path"] == "/by-address"
    other = labcerts.make_ca("Another CA")
    other.write(str(tmp_path), "other")
    pc = client(server, base="https://127.0.0.1:%d" % server.port)
    pc.session.verify = PageContext(ssl.PROTOCOL_TLS_CLIENT)
    pc.session.verify.ca_path = str(tmp_path / "other.pem")
    with pytest.raises(PexipTLSError, match="could not be verified"):
        pc.get("/other-ca")
    assert len(server.seen) == 1


# -- sent or not -------------------------------------------------------------------------------
def test_refused_is_not_sent():
    refused = PexipClient("https://127.0.0.1:%d" % free_port(), retries=0, sleep=lambda s: None)
    with pytest.raises(PexipConnectionError) as info:
        refused.post(LOC, json={"name": "Bern"})
    assert info.value.sent is False and refused.maybe_sent is False
    assert "Connection refused" in info.value.msg


def test_a_post_that_never_left_is_sent_again(tls):  # pylint: disable=redefined-outer-name
    port = free_port()
    started = []

    def sleep(seconds):  # the server comes up while the client waits to retry
        if not started:
            started.append(stack.enter_context(serving(server_context(tls), port)))

    with contextlib.ExitStack() as stack:
        pc = PexipClient("https://localhost:%d" % port, "admin", "pw", ca_path=str(tls / "ca.pem"), retries=2, sleep=sleep)
        response, found = pc.post(LOC, json={"name": "Bern"})  # no lookup: only a provably unsent POST may go again
        assert response.status_code == 201 and found is None
        assert [s["method"] for s in started[0].seen] == ["POST"] and pc.requests_made == 2 and pc.maybe_sent is False


def test_a_reset_after_the_request_is_maybe_sent(server):  # pylint: disable=redefined-outer-name
    pc = client(server, retries=3)
    with pytest.raises(PexipConnectionError) as info:
        pc.post("/reset", json={"name": "Bern"})
    assert info.value.sent is True and pc.maybe_sent is True  # the server had the whole request
    assert len(server.seen) == 1  # and it was not sent again
    assert "cannot reach the Management Node at %s" % server.base in info.value.msg


def test_a_read_timeout_is_maybe_sent(server):  # pylint: disable=redefined-outer-name
    pc = client(server, timeout=0.5)
    with pytest.raises(PexipConnectionError) as info:
        pc.post("/slow", json={"name": "Bern"})
    assert info.value.sent is True and pc.maybe_sent is True
    assert "timed out" in info.value.msg


def test_a_redirect_on_the_server_is_followed(server):  # pylint: disable=redefined-outer-name
    assert client(server).get("/moved")["path"] == "/landed"
    assert [r["path"] for r in server.seen] == ["/moved", "/landed"]
    assert server.seen[1]["headers"]["Authorization"] == "Basic YWRtaW46czNjcmV0Ong="  # the same server: credentials kept


def test_a_proxy_that_refuses_is_not_sent(server, monkeypatch):  # pylint: disable=redefined-outer-name
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:%d" % free_port())
    pc = client(server)
    with pytest.raises(PexipConnectionError) as info:
        pc.post(LOC, json={"name": "Bern"})
    assert info.value.sent is False and pc.maybe_sent is False and server.seen == []


# -- proxies -----------------------------------------------------------------------------------
def pipe(source, target):
    try:
        while True:
            data = source.recv(65536)
            if not data:
                break
            target.sendall(data)
    except OSError:
        pass
    finally:
        for sock in (source, target):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


@contextlib.contextmanager
def tunnel_proxy(context=None):
    """A CONNECT proxy on loopback (over TLS with ``context``: an https:// proxy); ``seen`` lists each CONNECT head."""
    listener = socket.create_server(("127.0.0.1", 0))
    seen = []

    def tunnel(downstream):
        if context is not None:
            downstream = context.wrap_socket(downstream, server_side=True)
        head = b""
        while b"\r\n\r\n" not in head:
            head += downstream.recv(4096)
        seen.append(head.decode())
        host, port = head.split()[1].decode().rsplit(":", 1)
        upstream = socket.create_connection((host, int(port)))
        downstream.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        threading.Thread(target=pipe, args=(upstream, downstream), daemon=True).start()
        pipe(downstream, upstream)

    def serve():
        while True:
            try:
                downstream, dummy = listener.accept()
            except OSError:
                return
            threading.Thread(target=tunnel, args=(downstream,), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield listener.getsockname()[1], seen
    finally:
        listener.close()


def test_https_proxy_with_percent_encoded_credentials_and_no_proxy_by_name(server, monkeypatch):  # pylint: disable=redefined-outer-name
    with tunnel_proxy() as (port, seen):
        monkeypatch.setenv("HTTPS_PROXY", "http://us%%40er:p%%3Aw@127.0.0.1:%d" % port)
        assert client(server).get("/via-proxy")["path"] == "/via-proxy"
        assert seen[0].startswith("CONNECT localhost:%d HTTP/1." % server.port)
        assert "Proxy-Authorization: Basic dXNAZXI6cDp3\r\n" in seen[0]  # us@er:p:w, decoded
        assert "Authorization: Basic YWRtaW4" not in seen[0].replace("Proxy-Authorization", "")  # the server's stay inside
        monkeypatch.setenv("NO_PROXY", "example.com,localhost")
        assert client(server).get("/direct")["path"] == "/direct"
        assert len(seen) == 1


def test_no_proxy_with_a_cidr_bypasses_the_proxy(server, monkeypatch):  # pylint: disable=redefined-outer-name
    with tunnel_proxy() as (port, seen):
        monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:%d" % port)
        base = "https://127.0.0.1:%d" % server.port
        monkeypatch.setenv("NO_PROXY", "10.0.0.0/8")
        assert client(server, base=base, validate_certs=False).get("/proxied")["path"] == "/proxied"
        assert len(seen) == 1  # 127.0.0.1 is not in 10.0.0.0/8
        monkeypatch.setenv("NO_PROXY", "10.0.0.0/8, 127.0.0.0/8")
        assert client(server, base=base, validate_certs=False).get("/direct")["path"] == "/direct"
        assert len(seen) == 1


def test_an_https_proxy_is_spoken_to_over_tls(server, tls, monkeypatch):  # pylint: disable=redefined-outer-name
    with tunnel_proxy(server_context(tls)) as (port, seen):
        monkeypatch.setenv("HTTPS_PROXY", "https://u:p@localhost:%d" % port)
        assert client(server).get("/via-tls-proxy")["path"] == "/via-tls-proxy"
        assert seen[0].startswith("CONNECT localhost:%d HTTP/1." % server.port)
        assert "Proxy-Authorization: Basic dTpw\r\n" in seen[0]  # u:p


def test_plain_http_needs_allow_http_and_goes_to_the_proxy_with_the_absolute_url(monkeypatch):
    with serving() as proxy:
        monkeypatch.setenv("HTTP_PROXY", "http://u:p@127.0.0.1:%d" % proxy.port)
        pc = PexipClient("http://backend.invalid:81", "admin", "pw", retries=0, sleep=lambda s: None, allow_http=True)
        assert pc.get("/api/admin/status/v1/alarm/")["path"] == "http://backend.invalid:81/api/admin/status/v1/alarm/"
        assert proxy.seen[0]["headers"]["Proxy-Authorization"] == "Basic dTpw"  # u:p
        assert proxy.seen[0]["headers"]["Authorization"] == "Basic YWRtaW46cHc="  # admin:pw, for the server


# -- streamed uploads --------------------------------------------------------------------------
UPLOADER = r"""
import json, resource, sys
from ansible_collections.pexip.infinity.plugins.module_utils.api import PexipClient

base, ca, path, field = sys.argv[1:5]
pc = PexipClient(base, "admin", "pw", ca_path=ca, retries=0, timeout=120)
pc.get("/warm-up")  # imports and the first connection before the baseline
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
if field == "-":
    answer = pc.upload("/upload", path)
else:
    with open(path, "rb") as stream:
        answer = pc.upload("/upload", stream, field=field, fields={"request": "true"})
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps(dict(status=answer.status_code, grew_kib=after - before)))
"""


@pytest.mark.parametrize("field,size", [("-", 1 << 30), ("package", 1 << 28)])
def test_a_large_file_is_streamed_not_read_into_memory(server, tmp_path, field, size):  # pylint: disable=redefined-outer-name
    # 1 GiB as the body, 256 MiB in a form (sparse files: no disk used); either would show in the client's peak memory.
    path = tmp_path / "upgrade.tar"
    with open(path, "wb") as handle:
        handle.truncate(size)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    run = subprocess.run([sys.executable, "-c", UPLOADER, server.base, server.ca, str(path), field], env=env, timeout=300,
                         capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    print("upload of %d MiB (%s): client peak memory grew %d KiB" % (size >> 20, field, result["grew_kib"]))
    upload = server.seen[-1]
    assert result["status"] == 201 and upload["method"] == "POST"
    assert result["grew_kib"] < 50 * 1024, result  # the client's peak memory barely moved
    if field == "-":
        assert upload["size"] == size and upload["headers"]["Content-Length"] == str(size)
        assert upload["headers"]["Content-Type"] == "application/octet-stream"
    else:
        assert upload["headers"]["Content-Type"].startswith("multipart/form-data; boundary=")
        assert upload["size"] > size and upload["headers"]["Content-Length"] == str(upload["size"])
        assert b'name="request"\r\n\r\ntrue' in upload["body"] and b'name="package"; filename="upgrade.tar"' in upload["body"]
        assert upload["tail"].endswith(b"--\r\n")
