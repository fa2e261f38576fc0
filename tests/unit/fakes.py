# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The unit tests' one fake Management Node and one fake module.

``FakeApi`` stands in for the client's ``requests.Session``: a Tastypie-like API over in-memory tables, so the tests run the real
``PexipClient`` (retries, paging, error translation) and count real requests (``FakeApi.log``). ``FakeModule`` is
just enough of ``PexipModule`` for code that takes a module; ``run_module`` runs a module's ``main()`` against a
``FakeApi`` and returns its result.
"""

import contextlib
import http.server
import json
import re
import threading

import pytest
import requests

from ansible.module_utils import basic
from ansible.module_utils.common.text.converters import to_bytes

from ansible_collections.pexip.infinity.plugins.module_utils import api as api_utils
from ansible_collections.pexip.infinity.plugins.module_utils import module as module_utils
from ansible_collections.pexip.infinity.plugins.module_utils.api import PexipApiError, PexipClient

HOST = "mgr.example.com"
BASE = "https://" + HOST
CONF = "/api/admin/configuration/v1/"
#: fields the API returns as nested objects
NESTED = {"system_location": {"dns_servers": "dns_server", "ntp_servers": "ntp_server"}}
#: fields GET never returns
WRITE_ONLY = ("password", "deployment_type", "aws_secret_key")


def uri(resource, oid):
    return "%s%s/%d/" % (CONF, resource, oid)


def response(status=200, body=None, headers=None, text=None, url=BASE):
    """A ``requests.Response`` with a JSON (or text) body, as the client's session returns it."""
    headers = dict(headers or {})
    if text is None:
        text = json.dumps(body if body is not None else {})
        headers.setdefault("Content-Type", "application/json")
    answer = requests.Response()
    answer.status_code, answer.url, answer._content = status, url, text.encode("utf-8")  # pylint: disable=protected-access
    answer.headers = requests.structures.CaseInsensitiveDict(headers)
    answer.encoding = requests.utils.get_encoding_from_headers(answer.headers) or "utf-8"
    return answer


class ScriptedSession(object):
    """Stands in for the client's ``requests.Session``: answers from a script (a Response, or an exception instance to raise) and
    records every call as a dict (method, url, timeout and the other keyword arguments)."""

    def __init__(self, *script):
        self.script = list(script)
        self.calls = []
        self.headers = {}
        self.auth = None
        self.verify = None

    def request(self, method, url, timeout=None, **kwargs):
        self.calls.append(dict(method=method, url=url, timeout=timeout, **kwargs))
        assert self.script, "unexpected request %s %s" % (method, url)
        item = self.script.pop(0)
        if isinstance(item, Exception):
            raise item
        return item

    def methods(self):
        return [c["method"] for c in self.calls]


class FakeApi(object):
    """A Management Node API over ``tables`` (configuration) and ``status`` (status), speaking like a requests.Session.

    ``log`` records every request as (method, path, params or body). ``faults`` is a list of callables
    ``(method, path) -> None | Response | exception`` consulted before each request; the first answer other than None
    is the request's (a one-off fault removes itself from ``faults``).
    ``on_create(resource, obj)`` may return the answer body of a POST (worker_vm: its bootstrap document).
    """

    def __init__(self, tables=None, status=None, refuse_filters=()):
        self.tables = tables if tables is not None else {}
        self.status = status if status is not None else {}
        self.refuse_filters = set(refuse_filters)  # (resource, field) answered with 400
        self.log = []
        self.faults = []
        self.commands = {}  # (scope, action) -> callable(data) -> body
        self.headers = {}
        self.auth = None
        self.verify = None
        self.next_id = 100

    # -- helpers for tests ------------------------------------------------------------------------
    def add(self, resource, **fields):
        self.next_id += 1
        obj = dict(fields)
        obj.setdefault("id", self.next_id)
        obj.setdefault("resource_uri", uri(resource, obj["id"]))
        self.tables.setdefault(resource, []).append(obj)
        return obj

    def obj(self, resource, oid):
        return next(o for o in self.tables[resource] if o["id"] == oid)

    def writes(self):
        return [entry for entry in self.log if entry[0] != "GET"]

    def client(self, **kwargs):
        kwargs.setdefault("sleep", lambda seconds: None)
        return PexipClient(HOST, "admin", "secret", session=self, **kwargs)

    # -- the API --------------------------------------------------------------------------------
    def render(self, resource, obj):
        obj = dict((k, v) for k, v in obj.items() if k not in WRITE_ONLY)
        for key, target in NESTED.get(resource, {}).items():
            if key in obj:
                obj[key] = [dict(s) for s in self.tables.get(target, []) if s["resource_uri"] in obj[key]]
        return obj

    def matches(self, resource, obj, filters):
        for key, value in filters.items():
            have = obj.get(key)
            if isinstance(have, str) and have.startswith(CONF) and str(value).isdigit():
                have = have.rstrip("/").split("/")[-1]
            if str(have) != str(value):
                return False
        return True

    def request(self, method, url, timeout=None, verify=None, params=None, json=None, data=None, headers=None):  # pylint: disable=redefined-outer-name
        path, dummy, query = url.replace(BASE, "").partition("?")
        params = dict(params or {}, **dict(p.split("=", 1) for p in query.split("&") if p))
        self.log.append((method, path, dict(params) if method == "GET" else json))
        for fault in list(self.faults):
            outcome = fault(method, path)
            if outcome is not None:
                if isinstance(outcome, Exception):
                    raise outcome
                return outcome
        match = re.match(r"^/api/admin/(configuration|status|command)/v1/([a-z_]+)/(?:([a-z_]+|\d+)/)?$", path)
        assert match, "unexpected request %s %s" % (method, url)
        api, resource, tail = match.groups()
        if api == "command":
            body = self.commands[(resource, tail)](json)
            return response(202, body, url=url)
        table = (self.tables if api == "configuration" else self.status).setdefault(resource, [])
        if tail is None and method == "GET":
            limit = int(params.pop("limit", 20))
            offset = int(params.pop("offset", 0))
            for key in params:
                if (resource, key) in self.refuse_filters:
                    return response(400, {"error": "The '%s' field does not allow filtering." % key}, url=url)
            found = [self.render(resource, o) for o in table if self.matches(resource, o, params)]
            nxt = None
            if offset + limit < len(found):
                nxt = "%s?%s" % (path, "&".join("%s=%s" % kv for kv in sorted(dict(params, limit=limit, offset=offset + limit).items())))
            return response(200, {"meta": {"next": nxt, "total_count": len(found)}, "objects": found[offset:offset + limit]}, url=url)
        if tail is None and method == "POST":
            obj = self.add(resource, **json)
            body = self.on_create(resource, obj)
            headers = {"Location": BASE + obj["resource_uri"]}
            if isinstance(body, str):
                return response(201, text=body, headers=dict(headers, **{"Content-Type": "text/xml"}), url=url)
            return response(201, text="", headers=headers, url=url)
        found = [o for o in table if o["id"] == int(tail)]
        if not found:
            return response(404, {"error": "not found"}, url=url)
        if method == "GET":
            return response(200, self.render(resource, found[0]), url=url)
        if method == "PATCH":
            found[0].update(json)
            return response(202, text="", url=url)
        if method == "DELETE":
            table.remove(found[0])
            return response(204, text="", url=url)
        raise AssertionError("unexpected request %s %s" % (method, url))

    def on_create(self, resource, obj):
        if resource == "worker_vm":
            return "<?xml version='1.0'?><node name='%s' secret='s3'/>" % obj["name"]
        return None


class Clock(object):
    """Time that moves only when code sleeps (``sleeps`` records each sleep), or by ``tick`` at every read."""

    def __init__(self, now=0.0, tick=0.0):
        self.now = now
        self.tick = tick
        self.sleeps = []

    def __call__(self):
        self.now += self.tick
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


class Failed(Exception):
    """FakeModule.fail: the message with the module's label."""


class Exit(Exception):
    pass


class Fail(Exception):
    """fail_json: its keyword arguments."""


class FakeModule(object):
    """The parts of PexipModule that module_utils code uses: client, params, check_mode, call, fail, warn."""

    def __init__(self, client, params, check_mode=False, label="module"):
        self.client = client
        self.params = params
        self.check_mode = check_mode
        self._diff = True
        self.label = label
        self.warnings = []

    def run(self, handler):
        """PexipModule.run without the exit: ``handler(self)``'s result; an error it raises fails (``Failed``)."""
        try:
            return handler(self)
        except PexipApiError as exc:
            return self.fail(exc.msg, status=exc.status)

    def fail(self, msg, **kwargs):
        raise Failed("%s: %s" % (self.label, msg))

    def fail_json(self, **kwargs):
        raise Fail(kwargs)

    def warn(self, text):
        self.warnings.append(text)

    def log(self, text):
        pass


@pytest.fixture
def module_run(monkeypatch):
    """``module_run(mod, api, check_mode=False, diff=False, **args)``: run ``mod.main()`` against ``api``; its result
    (``failed: true`` on failure). Warnings are collected in ``api.warnings``; sleeping is a no-op."""

    def exit_json(self, **kwargs):
        raise Exit(kwargs)

    def fail_json(self, **kwargs):
        raise Fail(kwargs)

    monkeypatch.setattr(basic.AnsibleModule, "exit_json", exit_json)
    monkeypatch.setattr(basic.AnsibleModule, "fail_json", fail_json)

    def run(mod, api, check_mode=False, diff=False, **args):
        api.warnings = getattr(api, "warnings", [])
        monkeypatch.setattr(module_utils, "PexipClient", lambda *a, **k: PexipClient(*a, session=api, sleep=lambda s: None, **k))
        monkeypatch.setattr(basic.AnsibleModule, "warn", lambda self, msg: api.warnings.append(msg))
        args.setdefault("host", HOST)
        args.setdefault("password", "pw")
        args.update(_ansible_check_mode=check_mode, _ansible_diff=diff)
        basic._ANSIBLE_ARGS = to_bytes(json.dumps({"ANSIBLE_MODULE_ARGS": args}))  # pylint: disable=protected-access
        try:
            mod.main()
        except Exit as exc:
            return exc.args[0]
        except Fail as exc:
            result = exc.args[0]
            result["failed"] = True
            return result
        raise AssertionError("module did not exit")

    assert api_utils.PexipClient is PexipClient
    return run


@contextlib.contextmanager
def serving(handler, context=None, port=0, **attributes):
    """A real server for ``handler`` on a loopback port (over TLS with the server ``context``), in a thread, with
    ``seen = []`` for the handler to record requests in, ``port`` and ``attributes``."""
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    httpd.daemon_threads = True
    if context is not None:
        httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    httpd.seen = []
    httpd.port = httpd.server_address[1]
    vars(httpd).update(attributes)
    threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        yield httpd
    finally:
        httpd.shutdown()
        httpd.server_close()
