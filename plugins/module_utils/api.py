# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection's one HTTP transport: the Management Node REST API (Tastypie) and any other HTTPS page (a new
node's bootstrap page on :8443) go through ``PexipClient``.

Errors are typed (``PexipConnectionError``, ``PexipTLSError``, ``PexipBusyError``, ``PexipValidationError``,
``PexipNotFoundError``, ``PexipResponseError``), all ``PexipError`` with a ``msg`` that says what to fix.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import http.client
import json as jsonlib
import os
import random
import re
import select
import ssl
import time
from urllib.parse import urlencode, urlsplit

API_ROOT = "/api/admin"
RETRY_STATUS = (429, 502, 503, 504)
IDEMPOTENT_METHODS = ("GET", "PUT", "PATCH", "DELETE")


class PexipError(Exception):
    """A failed API call (or, raised by the engine, input that names nothing on the server); ``msg`` says what to fix."""

    def __init__(self, msg, status=None, body=None, field_errors=None, response=None):
        super(PexipError, self).__init__(msg)
        self.msg = msg
        self.status = status
        self.body = body
        self.field_errors = field_errors or {}
        self.response = response


PexipApiError = PexipError  # the former name of the base


class PexipConnectionError(PexipApiError):
    """No answer (refused, reset, timed out). ``sent``: the request may have reached the server."""

    def __init__(self, msg, sent=False):
        super(PexipConnectionError, self).__init__(msg)
        self.sent = sent


class PexipTLSError(PexipApiError):
    """The server's certificate could not be verified; a retry cannot help."""


class PexipBusyError(PexipApiError):
    """HTTP 429/502/503/504 after the retries. A 429 means the request was refused before any work."""


class PexipValidationError(PexipApiError):
    """HTTP 400: ``field_errors`` holds Tastypie's ``{resource: {field: [messages]}}``."""


class PexipNotFoundError(PexipApiError):
    """HTTP 404."""


class PexipResponseError(PexipApiError):
    """A 2xx answer whose body is not the JSON expected (for example a proxy's HTML error page)."""


ERROR_CLASSES = {400: PexipValidationError, 404: PexipNotFoundError}


# -- HTTP transport ----------------------------------------------------------------------------
# The standard library's http.client, not requests: importing requests took about 60 ms of CPU in every module run
# (30 runs of pexip_location_info: 7.3 -> 6.1 CPU-s, docs/bench.md). What the collection used of requests is below:
# keep-alive, TLS verification against ca_path or the system's CAs, basic auth, HTTPS_PROXY / HTTP_PROXY / NO_PROXY.
class TransportError(Exception):
    """No HTTP answer. ``sent``: the request had gone out whole, so the server may have acted on it."""

    def __init__(self, msg, sent=False, tls=False):
        super(TransportError, self).__init__(msg)
        self.sent = sent
        self.tls = tls


class Response(object):
    """An HTTP answer, read whole: ``status_code``, ``reason``, ``headers`` (case-insensitive), ``text``, ``json()``."""

    def __init__(self, status_code, content=b"", headers=None, reason="", url=None):
        self.status_code = status_code
        self.content = content
        if not isinstance(headers, http.client.HTTPMessage):
            message = http.client.HTTPMessage()
            for key, value in (headers or {}).items():
                message[key] = value
            headers = message
        self.headers = headers
        self.reason = reason
        self.url = url

    @property
    def text(self):
        charset = re.search(r"charset=[\"']?([\w.:-]+)", self.headers.get("Content-Type") or "")
        try:
            return self.content.decode(charset.group(1) if charset else "utf-8", "replace")
        except LookupError:  # a charset Python does not know
            return self.content.decode("utf-8", "replace")

    def json(self):
        """The body as JSON; ValueError if it is not."""
        return jsonlib.loads(self.text)


def tls_context(verify):
    """``verify``: True (the system's CAs), False (no verification), the path of a PEM file of CAs, or a ready
    ``ssl.SSLContext`` (a bootstrap page's: module_utils/bootstrap.PageContext)."""
    if isinstance(verify, ssl.SSLContext):
        return verify
    if verify is False:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    if verify is True:
        return ssl.create_default_context()
    try:
        return ssl.create_default_context(cafile=verify)
    except (OSError, ssl.SSLError) as exc:
        raise PexipTLSError("ca_path '%s' is not a readable PEM file of CA certificates (%s): give the file of the CA "
                            "that signed the server's certificate." % (verify, exc))


def basic_auth(username, password):
    """The value of an Authorization (or Proxy-Authorization) header for these credentials."""
    return "Basic " + base64.b64encode(("%s:%s" % (username, password)).encode("utf-8")).decode("ascii")


def proxy_for(parts):
    """``(host, port, headers)`` of the proxy for this URL (HTTPS_PROXY, HTTP_PROXY, NO_PROXY, as requests read them)."""
    if not any(name.lower() in ("https_proxy", "http_proxy", "all_proxy") for name in os.environ):
        return None
    import urllib.request  # pylint: disable=import-outside-toplevel  # only with a proxy set: a few ms per run

    proxies = urllib.request.getproxies_environment()
    proxy = proxies.get(parts.scheme) or proxies.get("all")
    if not proxy or urllib.request.proxy_bypass_environment(parts.hostname or ""):
        return None
    proxy = urlsplit(proxy if "://" in proxy else "http://" + proxy)
    headers = {"Proxy-Authorization": basic_auth(proxy.username, proxy.password or "")} if proxy.username else {}
    return proxy.hostname, proxy.port or 80, headers


def dropped(sock):
    """Whether a kept-alive connection was closed by the server (an idle one is never readable)."""
    try:
        return bool(select.select([sock], [], [], 0)[0])
    except (OSError, ValueError):
        return True


class HttpSession(object):
    """Keep-alive connections, one per server, with the interface PexipClient uses: ``request(...)`` -> Response."""

    def __init__(self):
        self.auth = None
        self.verify = True
        self.headers = {}
        self._connections = {}

    def request(self, method, url, timeout=None, verify=True, params=None, json=None, data=None, headers=None):  # pylint: disable=redefined-outer-name
        parts = urlsplit(url)
        # As requests did: a list value repeats the parameter, a None value leaves it out.
        query = "&".join(q for q in (parts.query, urlencode([(k, v) for k, v in (params or {}).items() if v is not None], doseq=True)) if q)
        target = (parts.path or "/") + ("?" + query if query else "")
        send = dict(self.headers)
        if self.auth:
            send["Authorization"] = basic_auth(*self.auth)
        body = data.encode("utf-8") if isinstance(data, str) else data
        if json is not None:
            body = jsonlib.dumps(json).encode("utf-8")
            send["Content-Type"] = "application/json"
        send.update(headers or {})
        conn, plain_proxy = self._connection(parts, timeout, verify)
        if plain_proxy is not None:  # plain HTTP through a proxy: the absolute URL, the proxy's credentials
            target = url
            send.update(plain_proxy)
        sent = False
        try:
            conn.request(method, target, body=body, headers=send)
            sent = True
            answer = conn.getresponse()
            content = answer.read()
        except (OSError, http.client.HTTPException) as exc:  # ssl's errors are OSErrors
            conn.close()
            raise TransportError(str(exc) or type(exc).__name__, sent=sent, tls=isinstance(exc, ssl.SSLCertVerificationError))
        return Response(answer.status, content, answer.headers, answer.reason, url)

    def _connection(self, parts, timeout, verify):
        """The kept-alive connection to this server (a new one after the server closed it), and the headers for a
        plain HTTP proxy (None without one; HTTPS goes through a CONNECT tunnel)."""
        key = (parts.scheme, parts.netloc, verify)
        conn, plain_proxy = self._connections.get(key, (None, None))
        if conn is not None and conn.sock is not None and dropped(conn.sock):
            conn.close()  # http.client opens it again on the next request
        if conn is None:
            proxy = proxy_for(parts)
            host, port = (proxy[0], proxy[1]) if proxy else (parts.hostname, parts.port)
            if parts.scheme == "https":
                conn = http.client.HTTPSConnection(host, port, timeout=timeout, context=tls_context(verify))
                if proxy:
                    conn.set_tunnel(parts.hostname, parts.port or 443, headers=proxy[2])
            else:
                conn = http.client.HTTPConnection(host, port, timeout=timeout)
                plain_proxy = proxy[2] if proxy else None
            self._connections[key] = (conn, plain_proxy)
        conn.timeout = timeout
        if conn.sock is not None:
            conn.sock.settimeout(timeout)
        return conn, plain_proxy


def transient(exc):
    """Whether a failed write may be tried again (after a lookup, unless the server refused it: 429)."""
    return isinstance(exc, (PexipConnectionError, PexipBusyError))


def base_url(host):
    host = host.strip().rstrip("/")
    if not re.match(r"^https?://", host):
        host = "https://" + host
    return host


def object_id(uri):
    """Id of the object a resource URI or Location header names."""
    match = re.search(r"/(\d+)/?$", uri or "")
    return int(match.group(1)) if match else None


def resource_path(resource, api="configuration", obj_id=None):
    path = "%s/%s/v1/%s/" % (API_ROOT, api, resource)
    if obj_id is not None:
        path += "%s/" % obj_id
    return path


def field_errors_text(errors):
    """Flatten Tastypie's ``{"<resource>": {"<field>": ["msg"]}}`` (or ``{"error": "msg"}``)."""
    if not isinstance(errors, dict):
        return str(errors)
    parts = []
    for key, value in errors.items():
        if isinstance(value, dict):
            parts.append(field_errors_text(value))
        elif isinstance(value, list):
            parts.append("%s: %s" % (key, " ".join(str(v) for v in value)) if key != "error" else " ".join(value))
        else:
            parts.append(str(value) if key == "error" else "%s: %s" % (key, value))
    return "; ".join(p for p in parts if p)


class PexipClient(object):
    """One keep-alive HTTP session against one HTTPS server (by default a Management Node's REST API).

    Idempotent verbs are retried on 429/502/503/504 and connection errors with jittered backoff (``retries`` times,
    or, with ``connect_window``, connection errors for that many seconds: a booting instance). A POST is never blindly
    repeated: ``post`` lets a lookup decide after a lost answer. ``Retry-After`` is honoured up to ``max_backoff``.
    """

    def __init__(self, host, username=None, password=None, validate_certs=True, ca_path=None, timeout=30,
                 retries=5, backoff=0.5, max_backoff=20.0, sleep=time.sleep, clock=time.monotonic, session=None,
                 connect_window=None, server="the Management Node"):
        self.base = base_url(host)
        self.username = username
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.sleep = sleep
        self.clock = clock
        self.connect_window = connect_window
        self.server = server
        self.session = session or HttpSession()
        if username is not None:
            self.session.auth = (username, password)
        self.session.verify = (ca_path or True) if validate_certs else False
        self.session.headers.update({"Accept": "application/json"})
        self.requests_made = 0
        self.maybe_sent = False  # a write failed in flight: it may have reached the server

    # -- transport -------------------------------------------------------------------------
    def delay(self, attempt, response=None):
        if response is not None and response.status_code == 429:
            retry_after = response.headers.get("Retry-After")
            if retry_after and retry_after.strip().isdigit():
                return min(float(retry_after), self.max_backoff)
        # Full jitter: spread retries of parallel forks so they do not hit the node together.
        return random.uniform(0, min(self.max_backoff, self.backoff * (2 ** attempt)))

    def _send(self, method, url, **kwargs):
        self.requests_made += 1
        try:
            return self.session.request(method, url, timeout=self.timeout, verify=self.session.verify, **kwargs)
        except TransportError as exc:
            if exc.tls:
                raise PexipTLSError(
                    "The TLS certificate of %s could not be verified (%s). Give the CA that signed it with ca_path "
                    "(PEXIP_CA_PATH), or, for a new node with its self-signed certificate, set validate_certs: false." % (self.base, exc))
            if exc.sent and method not in IDEMPOTENT_METHODS:
                self.maybe_sent = True
            path = url[len(self.base):] if url.startswith(self.base) else url
            raise PexipConnectionError("%s %s failed: cannot reach %s at %s (%s)." % (method, path, self.server, self.base, exc),
                                       sent=exc.sent)

    def url(self, path):
        return path if path.startswith("http") else self.base + path

    def request(self, method, path, retry=None, check=True, **kwargs):
        """Send one request, retrying where that is safe. Returns the response (2xx only unless ``check=False``)."""
        url = self.url(path)
        retry = method in IDEMPOTENT_METHODS if retry is None else retry
        attempt = busy = 0
        start = self.clock()
        while True:
            response = None
            try:
                response = self._send(method, url, **kwargs)
            except PexipConnectionError:
                elapsed = self.clock() - start
                if not retry or (elapsed >= self.connect_window if self.connect_window else attempt >= self.retries):
                    raise
                wait = self.delay(attempt)
                if self.connect_window:
                    wait = min(wait, max(0.0, self.connect_window - elapsed))
            else:
                if method == "DELETE" and (attempt or busy) and response.status_code == 404:
                    return response  # an earlier attempt deleted it
                if response.status_code not in RETRY_STATUS or not retry or busy >= self.retries:
                    return self._check(method, path, response) if check else response
                wait = self.delay(busy, response)
                busy += 1
            self.sleep(wait)
            attempt += 1

    def _check(self, method, path, response):
        if response.status_code < 300:
            return response
        body = None
        try:
            body = response.json()
        except ValueError:
            body = response.text[:500]
        if response.status_code == 401:
            raise PexipApiError(
                "The Management Node at %s refused the credentials of user '%s' (HTTP 401): check username and password "
                "(PEXIP_USERNAME / PEXIP_PASSWORD)." % (self.base, self.username), status=401, body=body)
        if response.status_code == 403:
            raise PexipApiError("User '%s' may not %s %s (HTTP 403): give the account an administrator role." % (self.username, method, path),
                                status=403, body=body)
        if response.status_code == 400:
            text = field_errors_text(body) if isinstance(body, dict) else "%s %s answered HTTP 400: %s" % (method, path, body)
            raise PexipValidationError(text, status=400, body=body, field_errors=body if isinstance(body, dict) else {})
        cls = PexipBusyError if response.status_code in RETRY_STATUS else ERROR_CLASSES.get(response.status_code, PexipApiError)
        raise cls("%s %s answered HTTP %s: %s" % (method, path, response.status_code, body), status=response.status_code, body=body,
                  response=response)

    def json(self, response, shape=dict, empty=None):
        """The JSON body of a 2xx answer, which must be a ``shape``; anything else (an HTML page) is a clear error."""
        text = response.text or ""
        if empty is not None and not text.strip():
            return empty
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, shape):
            request = getattr(response, "request", None)
            url = getattr(response, "url", None) or getattr(request, "url", None) or self.base
            raise PexipResponseError(
                "%s answered HTTP %s with %s instead of a JSON %s (%s): is a proxy or another server answering at %s?" % (
                    url, response.status_code, response.headers.get("Content-Type") or "no content type",
                    "object" if shape is dict else "list", re.sub(r"\s+", " ", text)[:120] or "empty body", self.base),
                status=response.status_code, response=response)
        return body

    def post(self, path, lookup=None, **kwargs):
        """POST once; after a failure that may have reached the server, ``lookup()`` decides.

        Returns ``(response, None)``, or ``(None, found)`` when the answer was lost but ``lookup`` (a no-argument
        callable) returns something true: the POST did its work. Otherwise the POST is sent again, with backoff.
        """
        attempt = 0
        while True:
            try:
                return self.request("POST", path, retry=False, **kwargs), None
            except PexipApiError as exc:
                # A 429 was refused before any work; anything else may have done it, so only a lookup may decide.
                refused = exc.status == 429
                if not transient(exc) or attempt >= self.retries or (not refused and lookup is None):
                    raise
                if not refused:
                    found = lookup()
                    if found:
                        return None, found
                self.sleep(self.delay(attempt, exc.response))
                attempt += 1

    # -- Tastypie helpers ------------------------------------------------------------------
    def get(self, path, params=None):
        return self.json(self.request("GET", path, params=params))

    def list(self, resource, api="configuration", limit=None, **filters):
        """Every object matching ``filters``, following ``meta.next`` page by page."""
        params = dict(filters)
        if limit:
            params["limit"] = limit
        objects = []
        path = resource_path(resource, api)
        while path:
            page = self.get(path, params=params)
            if not isinstance(page.get("objects", []), list):
                raise PexipResponseError("%s answered without a list of objects: is it the Management Node's API?" % self.url(path))
            objects.extend(page.get("objects", []))
            path, params = (page.get("meta") or {}).get("next"), None
        return objects

    def find(self, resource, api="configuration", **filters):
        """The single object matching ``filters`` (e.g. ``name=``), or None."""
        found = self.list(resource, api=api, **filters)
        if len(found) > 1:
            raise PexipApiError("%d %s objects match %s; expected at most one." % (len(found), resource, filters))
        return found[0] if found else None

    def create(self, resource, data, lookup=None):
        """POST a new object; returns ``(object, response)``.

        ``response`` is None when the POST failed in flight but ``lookup`` shows the object was created anyway:
        the caller then knows any response body is lost.
        """
        response, found = self.post(resource_path(resource), lookup=lookup, json=data)
        if response is None:
            return found, None
        obj_id = object_id(response.headers.get("Location"))
        created = self.get(resource_path(resource, obj_id=obj_id)) if obj_id else (lookup() if lookup else None)
        return created, response

    def update(self, uri, data):
        self.request("PATCH", uri, json=data)

    def delete(self, uri):
        self.request("DELETE", uri)

    def command(self, scope, action, data, done=None):
        """POST a command; after a lost answer ``done()`` (true when it took effect) decides. Returns its body ({} if none)."""
        response, dummy = self.post("%s/command/v1/%s/%s/" % (API_ROOT, scope, action), lookup=done, json=data)
        return {} if response is None else self.json(response, empty={})

    # -- names <-> resource URIs ---------------------------------------------------------------
    def name_for(self, uri, field="name"):
        """The ``field`` of the object a resource URI points at (None for None): one GET, nothing cached (the
        engine's ``Names`` is the collection's one name <-> URI cache)."""
        return self.get(uri)[field] if uri else None
