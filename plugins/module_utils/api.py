# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A small client for the Pexip Infinity management REST API (Tastypie)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import random
import re
import time

try:
    import requests
    HAS_REQUESTS = True
    REQUESTS_IMPORT_ERROR = None
except ImportError as exc:  # pragma: no cover - reported by the module
    HAS_REQUESTS = False
    REQUESTS_IMPORT_ERROR = exc

API_ROOT = "/api/admin"
RETRY_STATUS = (429, 502, 503, 504)
IDEMPOTENT_METHODS = ("GET", "PUT", "PATCH", "DELETE")


class PexipApiError(Exception):
    """A failed API call; ``msg`` says what to fix."""

    def __init__(self, msg, status=None, body=None, field_errors=None, response=None):
        super(PexipApiError, self).__init__(msg)
        self.msg = msg
        self.status = status
        self.body = body
        self.field_errors = field_errors or {}
        self.response = response


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
    """One ``requests`` session against one Management Node.

    Idempotent verbs are retried on 429/502/503/504 and connection errors with jittered backoff.
    A POST is never blindly repeated: after a failure the caller-supplied lookup decides whether
    the object already exists (see ``create``).
    """

    def __init__(self, host, username, password, validate_certs=True, ca_path=None, timeout=30,
                 retries=5, backoff=0.5, max_backoff=20.0, sleep=time.sleep, session=None):
        self.base = base_url(host)
        self.username = username
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.sleep = sleep
        self.session = session or requests.Session()
        self.session.auth = (username, password)
        self.session.verify = (ca_path or True) if validate_certs else False
        self.session.headers.update({"Accept": "application/json"})
        self.requests_made = 0
        self._uri_cache = {}

    # -- transport -------------------------------------------------------------------------
    def _delay(self, attempt, response=None):
        if response is not None and response.status_code == 429:
            retry_after = response.headers.get("Retry-After")
            if retry_after and retry_after.strip().isdigit():
                return min(float(retry_after), self.max_backoff)
        # Full jitter: spread retries of parallel forks so they do not hit the node together.
        return random.uniform(0, min(self.max_backoff, self.backoff * (2 ** attempt)))

    def _send(self, method, url, **kwargs):
        self.requests_made += 1
        try:
            # verify passed explicitly: requests lets REQUESTS_CA_BUNDLE override session.verify (psf/requests#3829).
            return self.session.request(method, url, timeout=self.timeout, verify=self.session.verify, **kwargs)
        except requests.exceptions.SSLError as exc:
            raise PexipApiError(
                "The TLS certificate of %s could not be verified (%s). Give the CA that signed it with ca_path "
                "(PEXIP_CA_PATH), or, for a new node with its self-signed certificate, set validate_certs: false." % (self.base, exc))

    def request(self, method, path, retry=None, **kwargs):
        """Send one request, retrying where that is safe. Returns the response (2xx only)."""
        url = path if path.startswith("http") else self.base + path
        retry = method in IDEMPOTENT_METHODS if retry is None else retry
        attempt = 0
        while True:
            response = None
            try:
                response = self._send(method, url, **kwargs)
            except requests.exceptions.RequestException as exc:
                if not retry or attempt >= self.retries:
                    raise PexipApiError("%s %s failed: cannot reach the Management Node at %s (%s)." % (method, path, self.base, exc))
            else:
                if response.status_code not in RETRY_STATUS or not retry or attempt >= self.retries:
                    return self._check(method, path, response)
            self.sleep(self._delay(attempt, response))
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
        if response.status_code == 400 and isinstance(body, dict):
            raise PexipApiError(field_errors_text(body), status=400, body=body, field_errors=body)
        raise PexipApiError("%s %s answered HTTP %s: %s" % (method, path, response.status_code, body), status=response.status_code, body=body,
                            response=response)

    # -- Tastypie helpers ------------------------------------------------------------------
    def get(self, path, params=None):
        return self.request("GET", path, params=params).json()

    def list(self, resource, api="configuration", limit=None, **filters):
        """Every object matching ``filters``, following ``meta.next`` page by page."""
        params = dict(filters)
        if limit:
            params["limit"] = limit
        page = self.get(resource_path(resource, api), params=params)
        objects = list(page.get("objects", []))
        while page.get("meta", {}).get("next"):
            page = self.get(page["meta"]["next"])
            objects.extend(page.get("objects", []))
        return objects

    def find(self, resource, api="configuration", **filters):
        """The single object matching ``filters`` (e.g. ``name=``), or None."""
        found = self.list(resource, api=api, **filters)
        if len(found) > 1:
            raise PexipApiError("%d %s objects match %s; expected at most one." % (len(found), resource, filters))
        return found[0] if found else None

    def create(self, resource, data, lookup=None):
        """POST a new object; returns ``(object, response)``.

        ``response`` is None when the POST failed in flight but ``lookup`` (a no-argument callable)
        shows the object was created anyway: the caller then knows any response body is lost.
        """
        path = resource_path(resource)
        attempt = 0
        while True:
            try:
                response = self.request("POST", path, retry=False, json=data)
            except PexipApiError as exc:
                transient = exc.status in RETRY_STATUS or exc.status is None and "cannot reach" in exc.msg
                # A 429 was refused before any work; anything else may have created the object,
                # so only a lookup may decide to send the POST again.
                if not transient or attempt >= self.retries or (exc.status != 429 and lookup is None):
                    raise
                if exc.status != 429:
                    existing = lookup()
                    if existing:
                        return existing, None
                self.sleep(self._delay(attempt, exc.response))
                attempt += 1
                continue
            location = response.headers.get("Location")
            obj_id = object_id(location)
            created = self.get(resource_path(resource, obj_id=obj_id)) if obj_id else (lookup() if lookup else None)
            return created, response

    def update(self, uri, data):
        self.request("PATCH", uri, json=data)

    def delete(self, uri):
        self.request("DELETE", uri)

    def command(self, scope, action, data):
        response = self.request("POST", "%s/command/v1/%s/%s/" % (API_ROOT, scope, action), retry=False, json=data)
        try:
            return response.json()
        except ValueError:
            return {}

    # -- names <-> resource URIs ---------------------------------------------------------------
    def uri_for(self, resource, name, field="name"):
        """Resource URI of the object called ``name``; raises with a clear message when missing."""
        key = (resource, field, name)
        if key not in self._uri_cache:
            obj = self.find(resource, **{field: name})
            if obj is None:
                raise PexipApiError("%s '%s' does not exist on the Management Node." % (resource.replace("_", " "), name))
            self._uri_cache[key] = obj["resource_uri"]
        return self._uri_cache[key]

    def name_for(self, uri, field="name"):
        """The ``name`` of the object a resource URI points at (None for None)."""
        if not uri:
            return None
        for (resource, cached_field, name), cached_uri in self._uri_cache.items():
            if cached_uri == uri and cached_field == field:
                return name
        obj = self.get(uri)
        resource = uri.rstrip("/").split("/")[-2]
        self._uri_cache[(resource, field, obj[field])] = uri
        return obj[field]
