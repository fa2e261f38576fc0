# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection's one HTTP transport: the Management Node REST API (Tastypie) and any other HTTPS page (a new
node's bootstrap page on :8443) go through ``PexipClient``.

Errors are typed (``PexipConnectionError``, ``PexipTLSError``, ``PexipBusyError``, ``PexipValidationError``,
``PexipNotFoundError``, ``PexipResponseError``), all ``PexipError`` with a ``msg`` that says what to fix.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import os
import random
import re
import ssl
import time
import traceback
import warnings
from urllib.parse import urlsplit

try:
    import requests
    import urllib3
    HAS_REQUESTS = True
    REQUESTS_IMPORT_ERROR = None
except ImportError:  # pragma: no cover - reported when a client is made
    HAS_REQUESTS = False
    REQUESTS_IMPORT_ERROR = traceback.format_exc()

API_ROOT = "/api/admin"
RETRY_STATUS = (429, 502, 503, 504)
IDEMPOTENT_METHODS = ("GET", "PUT", "PATCH", "DELETE")
MAX_PAGES = 10000  # a list longer than this many pages is a server that never stops answering meta.next
DEFAULT_PORTS = {"http": 80, "https": 443}


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
# requests: keep-alive, TLS verification against ca_path (or certifi / REQUESTS_CA_BUNDLE), HTTPS_PROXY / HTTP_PROXY /
# NO_PROXY (CIDR entries too), https:// proxies, redirects and streamed bodies. Importing it costs each module run some
# CPU; a hand-written standard-library transport that saved it lost NO_PROXY networks and https:// proxies.
class TransportError(Exception):
    """No HTTP answer. ``sent``: the request may have reached the server (unless provably not, assume it did)."""

    def __init__(self, msg, sent=True, tls=False):
        super(TransportError, self).__init__(msg)
        self.sent = sent
        self.tls = tls


def causes(exc):
    """``exc`` and the exceptions it wraps (requests -> urllib3 -> ssl / socket), outermost first."""
    chain = []
    while isinstance(exc, BaseException) and exc not in chain:
        chain.append(exc)
        exc = getattr(exc, "reason", None) or exc.__cause__ or exc.__context__ or (exc.args[0] if exc.args else None)
    return chain


def transport_error(exc):
    """The TransportError for a requests exception. Not sent: the connection (or the proxy's tunnel, or the TLS
    handshake that failed verification) was never made; anything later may have reached the server."""
    chain = causes(exc)
    # ssl.SSLCertVerificationError is an ssl.CertificateError; urllib3 checks a pinned certificate itself.
    tls = any(isinstance(e, ssl.CertificateError) or "Fingerprints did not match" in str(e) for e in chain)
    not_sent = tls or isinstance(exc, (requests.exceptions.ConnectTimeout, requests.exceptions.ProxyError)) or any(
        isinstance(e, urllib3.exceptions.NewConnectionError) for e in chain)
    return TransportError(str(chain[-1]) or type(chain[-1]).__name__, sent=not not_sent, tls=tls)


def tls_options(context):
    """``(verify, pool options)`` for requests of an ``ssl.SSLContext`` set as the session's ``verify`` (a bootstrap
    page's, module_utils/bootstrap.PageContext): its pinned certificate (``pin``), or its CAs without the host name
    (``ca_path``)."""
    if getattr(context, "pin", None):
        return False, dict(assert_fingerprint=context.pin)
    if getattr(context, "ca_path", None):
        return context.ca_path, dict(assert_hostname=False)
    raise PexipTLSError("A TLS context without a pinned certificate or a ca_path cannot be used: give one of them.")


def tls_adapter(options):
    """An HTTPAdapter whose connections (direct or through a proxy) take urllib3's TLS ``options``."""

    class TlsAdapter(requests.adapters.HTTPAdapter):
        def init_poolmanager(self, *args, **kwargs):
            super(TlsAdapter, self).init_poolmanager(*args, **dict(kwargs, **options))

        def proxy_manager_for(self, proxy, **kwargs):
            return super(TlsAdapter, self).proxy_manager_for(proxy, **dict(kwargs, **options))

    return TlsAdapter()


def new_session():
    if not HAS_REQUESTS:
        raise PexipApiError("The Python library 'requests' is needed on the host that runs the module (pip install requests): %s"
                            % REQUESTS_IMPORT_ERROR)
    return requests.Session()


def transient(exc):
    """Whether a failed write may be tried again (after a lookup, unless the server refused it: 429)."""
    return isinstance(exc, (PexipConnectionError, PexipBusyError))


def base_url(host, allow_http=False):
    """``scheme://host[:port]`` of a ``host`` option (``name``, ``name:port`` or ``https://name[:port]``)."""
    text = (host or "").strip().rstrip("/")
    url = text if "://" in text else "https://" + text
    try:
        parts = urlsplit(url)
        parts.port  # pylint: disable=pointless-statement  # raises on a port that is not a number
    except ValueError as exc:
        parts, problem = None, str(exc)
    else:
        problem = None if parts.hostname and parts.scheme in DEFAULT_PORTS and not (parts.path or parts.query or parts.username) else \
            "give only a scheme, a name and a port"
    if problem:
        raise PexipApiError("host '%s' is not a valid address (%s): give name, name:port or https://name[:port]." % (host, problem))
    if parts.scheme == "http" and not allow_http:
        raise PexipApiError("host '%s' is plain http, which would send the password in clear: use https://, or set allow_http: true "
                            "for a test server on a trusted network." % host)
    return url


def origin(url):
    """``(scheme, host, port)`` of a URL, for telling whether two URLs name the same server."""
    parts = urlsplit(url)
    return parts.scheme.lower(), (parts.hostname or "").lower(), parts.port or DEFAULT_PORTS.get(parts.scheme.lower())


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
    or, with ``connect_window``, connection errors for that many seconds: a booting instance). A POST is repeated
    blindly only when it provably never left; after a lost answer ``post`` lets a lookup decide. ``Retry-After`` is honoured up to ``max_backoff``.
    """

    def __init__(self, host, username=None, password=None, validate_certs=True, ca_path=None, timeout=30,
                 retries=5, backoff=0.5, max_backoff=20.0, sleep=time.sleep, clock=time.monotonic, session=None,
                 connect_window=None, server="the Management Node", allow_http=False):
        self.base = base_url(host, allow_http)
        self.username = username
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.sleep = sleep
        self.clock = clock
        self.connect_window = connect_window
        self.server = server
        self.session = session or new_session()
        if username is not None:
            self.session.auth = (username, password)
        self.session.verify = (ca_path or True) if validate_certs else False
        self.session.headers.update({"Accept": "application/json"})
        self.requests_made = 0
        self.maybe_sent = False  # a write failed in flight: it may have reached the server
        self._tls_options = None

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
            return self._transmit(method, url, **kwargs)
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

    def _transmit(self, method, url, **kwargs):
        """The session's answer; a failure as TransportError."""
        verify = self.session.verify
        try:
            if isinstance(verify, ssl.SSLContext) and hasattr(self.session, "mount"):  # a stand-in session takes it as it is
                verify, options = tls_options(verify)
                if self._tls_options != options:  # mounted once: a new adapter would drop the kept-alive connection
                    self.session.mount(self.base + "/", tls_adapter(options))
                    self._tls_options = options
            with warnings.catch_warnings():
                if verify is False:  # validate_certs: false (or a pinned certificate); urllib3 would warn on each request
                    warnings.simplefilter("ignore", urllib3.exceptions.InsecureRequestWarning)
                return self.session.request(method, url, timeout=self.timeout, verify=verify, **kwargs)
        except requests.exceptions.RequestException as exc:
            error = transport_error(exc)
            if isinstance(exc, requests.exceptions.SSLError) and not error.tls:
                self._check_ca_path()  # a file that is not PEM fails every handshake
            raise error
        except OSError as exc:  # requests found no file at ca_path
            self._check_ca_path()
            raise TransportError(str(exc), sent=False)

    def _check_ca_path(self):
        """Name a ca_path that is not a readable PEM file of CAs."""
        verify = self.session.verify
        if isinstance(verify, str):
            try:
                ssl.create_default_context(cafile=verify)
            except (OSError, ssl.SSLError) as exc:
                raise PexipTLSError("ca_path '%s' is not a readable PEM file of CA certificates (%s): give the file of the CA "
                                    "that signed the server's certificate." % (verify, exc))

    def url(self, path):
        """The URL of a path, or of an absolute URL (``meta.next``, a resource URI) on the same server: the credentials
        never go to another one."""
        if not path.startswith(("http://", "https://")):
            return self.base + path
        if origin(path) != origin(self.base):
            raise PexipResponseError("%s pointed to %s, which is not %s at %s: refusing to send the credentials there." % (
                self.server, path, self.server, self.base))
        return path

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
            except PexipConnectionError as exc:
                elapsed = self.clock() - start
                # A request that never left may always go again, even a POST.
                if (exc.sent and not retry) or (elapsed >= self.connect_window if self.connect_window else attempt >= self.retries):
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
                # A request that never left was already tried again by request().
                refused = exc.status == 429
                unsent = isinstance(exc, PexipConnectionError) and not exc.sent
                if not transient(exc) or unsent or attempt >= self.retries or (not refused and lookup is None):
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
        pages = set()
        while path:
            if path in pages or len(pages) >= MAX_PAGES:
                raise PexipResponseError("%s kept answering meta.next (%s after %d pages) for %s: is it the Management Node's API?" % (
                    self.url(path), path, len(pages), resource))
            pages.add(path)
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

    def upload(self, path, source, field=None, fields=None, filename=None, content_type="application/octet-stream", method="POST"):
        """Stream a file (a path, or a binary file object) as the body, or with ``field`` as that field of a multipart
        form (``fields``: the form's other values), without reading it into memory. Returns the 2xx response.

        Sent once, like any POST: a lost answer is the caller's to check (only a refused connection is retried)."""
        with open(source, "rb") if isinstance(source, str) else contextlib.nullcontext(source) as stream:
            if field is None:
                return self.request(method, path, retry=False, data=stream, headers={"Content-Type": content_type})
            try:
                from requests_toolbelt import MultipartEncoder  # pylint: disable=import-outside-toplevel  # only for form uploads
            except ImportError:
                raise PexipApiError("A form upload needs the Python library 'requests-toolbelt' on the host that runs the module "
                                    "(pip install requests-toolbelt).")
            name = filename or os.path.basename(str(getattr(stream, "name", None) or field))
            form = MultipartEncoder(fields=dict(fields or {}, **{field: (name, stream, content_type)}))
            return self.request(method, path, retry=False, data=form, headers={"Content-Type": form.content_type})

    # -- names <-> resource URIs ---------------------------------------------------------------
    def name_for(self, uri, field="name"):
        """The ``field`` of the object a resource URI points at (None for None): one GET, nothing cached (the
        engine's ``Names`` is the collection's one name <-> URI cache)."""
        return self.get(uri)[field] if uri else None
