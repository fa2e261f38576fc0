# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A new Conferencing Node's bootstrap page: upload the XML document (pexip_config_upload, pexip_node's bootstrap_upload)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re

from ansible_collections.pexip.infinity.plugins.module_utils.api import PexipConnectionError, PexipTLSError

BOOTSTRAP_PATH = "/configuration/bootstrap"
#: how an instance that already took a document says so (matched case-insensitively in its answer)
CONFIGURED_RE = re.compile(r"already (been )?(configured|bootstrapped)|is configured|already applied", re.I)


def answer_text(response):
    """The instance's message: a JSON ``message``/``error``/``detail`` or the text of its page, shortened."""
    text = response.text or ""
    try:
        body = json.loads(text)
    except ValueError:
        body = None
    if isinstance(body, dict):
        for key in ("message", "error", "detail", "status"):
            if isinstance(body.get(key), str):
                return body[key]
    text = re.sub(r"<[^>]+>", " ", text)
    return re.sub(r"\s+", " ", text).strip()[:500]


def says_configured(response):
    return response.status_code in (200, 208, 409, 403, 400) and bool(CONFIGURED_RE.search(answer_text(response)))


def page_url(address, port):
    return "https://%s:%d" % (address if ":" not in address else "[%s]" % address, port)


def page_errors(address, port, validate_certs, ca_path, timeout=None, retries=None):
    """What is wrong with the options that reach a bootstrap page, as phrases (checked before any request)."""
    errors = []
    if not (address or "").strip():
        errors.append("address must not be empty")
    if not 1 <= port <= 65535:
        errors.append("port %d is not a TCP port (1-65535)" % port)
    if timeout is not None and timeout <= 0:
        errors.append("timeout must be a positive number of seconds")
    if retries is not None and retries < 0:
        errors.append("retries must not be negative")
    if ca_path and validate_certs and not os.path.isfile(ca_path):
        errors.append("ca_path %s is not a file" % ca_path)
    return errors


def page_client(module, address, port, validate_certs, ca_path, wait_timeout, poll_interval=10):
    """A client for the page: connection failures (the instance still boots) are retried for ``wait_timeout`` s."""
    return module.new_client(page_url(address, port), username=None, password=None, validate_certs=validate_certs,
                             ca_path=ca_path, backoff=1.0, max_backoff=poll_interval, connect_window=wait_timeout,
                             server="the bootstrap page")


class Uploader(object):
    """Talks to the bootstrap page through ``client``; ``fail(msg, **result)`` ends the module."""

    def __init__(self, client, fail, port, wait_timeout):
        self.client = client
        self._fail = fail
        self.port = port
        self.wait_timeout = wait_timeout

    @property
    def attempts(self):
        return self.client.requests_made

    def fail(self, msg, **kwargs):
        self._fail(msg, attempts=self.attempts, **kwargs)

    def request(self, method, path, **kwargs):
        """One exchange: connection failures are retried until wait_timeout, busy answers ``retries`` times."""
        url = self.client.url(path)
        try:
            return url, self.client.request(method, path, retry=True, check=False, **kwargs)
        except PexipTLSError as exc:
            self.fail(exc.msg)  # names the page and says: ca_path, or validate_certs: false
        except PexipConnectionError as exc:
            self.fail("the bootstrap page %s did not answer within %d seconds (%s). Check that the instance runs, "
                      "that its security group allows TCP %d from here, and the address."
                      % (url, self.wait_timeout or 0, exc.msg, self.port))

    def check(self):
        url, response = self.request("GET", "/")
        result = dict(url=self.client.url(BOOTSTRAP_PATH), status=response.status_code, message=answer_text(response), attempts=self.attempts)
        if response.status_code >= 500:
            self.fail("the bootstrap page %s answered HTTP %s: %s" % (url, response.status_code, result["message"]), status=response.status_code)
        return result

    def upload(self, document):
        """The page's answer; ``changed`` false when the instance says it is configured already."""
        url, response = self.request("POST", BOOTSTRAP_PATH, data=document, headers={"Content-Type": "text/xml"})
        result = dict(url=url, status=response.status_code, message=answer_text(response), attempts=self.attempts)
        if says_configured(response):
            # Without an earlier attempt that may have got through, this run changed nothing.
            result.update(changed=self.client.maybe_sent)
            return result
        if response.status_code < 300:
            result.update(changed=True)
            return result
        self.fail("the node refused the bootstrap document (HTTP %s): %s" % (response.status_code, result["message"] or response.reason),
                  status=response.status_code, url=url, message=result["message"])
        return None
