# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The upgrade package upload against a real server on loopback: a 1 GiB (sparse) package goes out in chunks streamed
from the file, and the client's peak memory barely moves."""

import http.server
import json
import os
import subprocess
import sys

from fakes import serving

REQ = "/api/admin/configuration/v1/upgrade_request/7/"


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):  # pylint: disable=invalid-name
        length = int(self.headers.get("Content-Length") or 0)
        size = 0
        while size < length:  # read in pieces: the server keeps nothing either
            piece = self.rfile.read(min(1 << 20, length - size))
            if not piece:
                break
            size += len(piece)
        server = self.server
        server.seen.append(dict(path=self.path, size=size, length=self.headers.get("Content-Length")))
        if self.path.endswith("/upload/"):
            server.received += size
        done = server.received >= server.total
        answer = json.dumps(dict(ok=True, upload_id=7, next_url=REQ + ("finish/" if done else "upload/"))).encode()
        self.send_response(202)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        pass


UPLOADER = r"""
import json, resource, sys
from ansible_collections.pexip.infinity.plugins.module_utils.api import PexipClient
from ansible_collections.pexip.infinity.plugins.module_utils import upgrade

base, path = sys.argv[1:3]
pc = PexipClient(base, "admin", "pw", retries=0, timeout=120, allow_http=True)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
answer = upgrade.upload_package(pc, path, chunk_size=256 << 20)
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps(dict(next_url=answer["next_url"], grew_kib=after - before)))
"""


def test_a_large_package_is_uploaded_in_streamed_chunks(tmp_path):
    size = 1 << 30
    path = tmp_path / "pexip-upgrade.tar"
    with open(str(path), "wb") as handle:
        handle.truncate(size)  # sparse: no disk used
    with serving(Handler, received=0, total=size) as server:
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
        for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
            env.pop(name, None)
        run = subprocess.run([sys.executable, "-c", UPLOADER, "http://127.0.0.1:%d" % server.server_address[1], str(path)], env=env,
                             timeout=300, capture_output=True, text=True, check=False)
        assert run.returncode == 0, run.stderr
        result = json.loads(run.stdout)
        print("upgrade package of %d MiB: client peak memory grew %d KiB" % (size >> 20, result["grew_kib"]))
        assert result["next_url"] == REQ + "finish/"
        uploads = [s for s in server.seen if s["path"].endswith("/upload/")]
        assert [s["size"] for s in uploads] == [256 << 20] * 4 and all(s["length"] == str(256 << 20) for s in uploads)
        assert result["grew_kib"] < 50 * 1024, result
