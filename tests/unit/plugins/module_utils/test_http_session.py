# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""api.HttpSession, the collection's HTTP transport, against a real HTTPS server on loopback: keep-alive, TLS
verification, what counts as sent, proxies."""

import contextlib
import http.server
import json
import select
import socket
import ssl
import struct
import threading

import pytest

import labcerts

from ansible_collections.pexip.infinity.plugins.module_utils.api import (
    HttpSession,
    PexipClient,
    PexipConnectionError,
    PexipTLSError,
    Response,
)


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_any(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.seen.append(dict(port=self.client_address[1], method=self.command, path=self.path, headers=dict(self.headers),
                                     body=body))
        if self.path.startswith("/reset"):
            # RST after the whole request arrived: the client cannot tell whether it was acted on.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            return
        answer = json.dumps({"method": self.command, "path": self.path}).encode()
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


@contextlib.contextmanager
def serving(context=None):
    """Handler on a loopback port, over TLS with ``context``; ``seen`` lists the requests it received."""
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    if context is not None:
        httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    httpd.seen = []
    threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        yield httpd
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def server(tls):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(tls / "localhost.pem"), str(tls / "localhost.key"))
    with serving(context) as httpd:
        httpd.base = "https://localhost:%d" % httpd.server_address[1]
        httpd.ca = str(tls / "ca.pem")
        yield httpd


def client(server, **kwargs):  # pylint: disable=redefined-outer-name
    kwargs.setdefault("ca_path", server.ca)
    return PexipClient(server.base, "admin", "s3cret:x", retries=0, sleep=lambda s: None, **kwargs)


def test_requests_share_one_kept_alive_connection(server):  # pylint: disable=redefined-outer-name
    pc = client(server)
    params = {"name": "Oslo", "limit": 5, "tag": ["a b", "c"], "description": None}
    assert pc.get("/api/admin/configuration/v1/system_location/?offset=5", params=params)["method"] == "GET"
    pc.update("/api/admin/configuration/v1/system_location/4/", {"description": "x"})
    first, second = server.seen
    assert first["path"] == "/api/admin/configuration/v1/system_location/?offset=5&name=Oslo&limit=5&tag=a+b&tag=c"
    assert first["headers"]["Authorization"] == "Basic YWRtaW46czNjcmV0Ong="  # admin:s3cret:x
    assert first["headers"]["Accept"] == "application/json"
    assert second["method"] == "PATCH" and json.loads(second["body"]) == {"description": "x"}
    assert second["headers"]["Content-Type"] == "application/json"
    assert first["port"] == second["port"]  # the same TCP connection


def test_a_connection_the_server_closed_is_opened_again(server):  # pylint: disable=redefined-outer-name
    pc = client(server)
    pc.get("/close")
    for dummy in range(50):  # let the server's close reach us
        sock = pc.session._connections[("https", server.base[8:], server.ca)][0].sock  # pylint: disable=protected-access
        if sock is None or select.select([sock], [], [], 0.01)[0]:
            break
    # A POST is never repeated blindly: it must go out on a live connection, not fail on the closed one.
    response, found = pc.post("/api/admin/configuration/v1/system_location/", json={"name": "Bern"})
    assert found is None and response.status_code == 201
    assert len(server.seen) == 2 and server.seen[0]["port"] != server.seen[1]["port"]
    assert pc.requests_made == 2


def test_the_ca_of_ca_path_is_the_only_one_trusted(server):  # pylint: disable=redefined-outer-name
    with pytest.raises(PexipTLSError, match="could not be verified"):
        client(server, ca_path=None).get("/")  # the system's CAs do not know the test CA
    assert client(server, ca_path=None, validate_certs=False).get("/")["path"] == "/"
    assert server.seen[-1]["path"] == "/"


def test_an_unreadable_ca_path_is_named(server, tmp_path):  # pylint: disable=redefined-outer-name
    with pytest.raises(PexipTLSError, match="ca_path '%s' is not a readable PEM file" % (tmp_path / "missing.pem")):
        client(server, ca_path=str(tmp_path / "missing.pem")).get("/")
    assert server.seen == []


def test_refused_is_not_sent_and_a_reset_after_the_request_is(server):  # pylint: disable=redefined-outer-name
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    refused = PexipClient("https://127.0.0.1:%d" % port, retries=0, sleep=lambda s: None)
    with pytest.raises(PexipConnectionError) as info:
        refused.post("/api/admin/configuration/v1/system_location/", json={"name": "Bern"})
    assert info.value.sent is False and refused.maybe_sent is False
    pc = client(server)
    with pytest.raises(PexipConnectionError) as info:
        pc.post("/reset", json={"name": "Bern"})
    assert info.value.sent is True and pc.maybe_sent is True  # the server had the whole request
    assert "cannot reach the Management Node at %s" % server.base in info.value.msg


def test_response_text_and_json():
    answer = Response(200, "Zürich".encode("latin-1"), {"content-type": "text/plain; charset=ISO-8859-1"})
    assert answer.text == "Zürich" and answer.headers.get("Content-Type").startswith("text/plain")
    assert Response(200, b'{"a": 1}').json() == {"a": 1}
    with pytest.raises(ValueError):
        Response(200, b"<html>").json()


def tunnel_proxy(seen):
    """A CONNECT proxy on loopback, one connection at a time; records each CONNECT request head."""
    listener = socket.create_server(("127.0.0.1", 0))

    def serve():
        while True:
            try:
                downstream, dummy = listener.accept()
            except OSError:
                return
            head = b""
            while b"\r\n\r\n" not in head:
                head += downstream.recv(4096)
            seen.append(head.decode())
            target = head.split()[1].decode().rsplit(":", 1)
            upstream = socket.create_connection((target[0], int(target[1])))
            downstream.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            pipes = {downstream: upstream, upstream: downstream}
            while True:
                ready = select.select(list(pipes), [], [], 5)[0]
                data = ready[0].recv(65536) if ready else b""
                if not data:
                    break
                pipes[ready[0]].sendall(data)
            upstream.close()
            downstream.close()

    threading.Thread(target=serve, daemon=True).start()
    return listener


def test_https_proxy_and_no_proxy_are_honoured(server, monkeypatch):  # pylint: disable=redefined-outer-name
    seen = []
    listener = tunnel_proxy(seen)
    try:
        monkeypatch.setenv("HTTPS_PROXY", "http://user:pw@127.0.0.1:%d" % listener.getsockname()[1])
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        assert client(server).get("/via-proxy")["path"] == "/via-proxy"
        assert seen[0].startswith("CONNECT localhost:%d HTTP/1." % server.server_address[1])
        assert "Proxy-Authorization: Basic dXNlcjpwdw==" in seen[0]  # user:pw
        monkeypatch.setenv("NO_PROXY", "localhost")
        assert client(server).get("/direct")["path"] == "/direct"
        assert len(seen) == 1
    finally:
        listener.close()


def test_a_fresh_session_has_no_credentials():
    session = HttpSession()
    assert session.auth is None and session.headers == {}


def test_plain_http_goes_to_the_proxy_with_the_absolute_url(monkeypatch):
    with serving() as proxy:
        monkeypatch.setenv("HTTP_PROXY", "u:p@127.0.0.1:%d" % proxy.server_address[1])
        pc = PexipClient("http://backend.invalid:81", "admin", "pw", retries=0, sleep=lambda s: None)
        assert pc.get("/api/admin/status/v1/alarm/")["path"] == "http://backend.invalid:81/api/admin/status/v1/alarm/"
        assert proxy.seen[0]["headers"]["Proxy-Authorization"] == "Basic dTpw"  # u:p
        assert proxy.seen[0]["headers"]["Authorization"] == "Basic YWRtaW46cHc="  # admin:pw, for the server
