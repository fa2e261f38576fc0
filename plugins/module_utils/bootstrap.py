# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A new Conferencing Node's bootstrap page: upload the XML document (pexip_config_upload, pexip_node's bootstrap_upload)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import ipaddress
import json
import os
import re
import ssl

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


#: where an upload that does not verify the page is allowed: the document then trusts the network (RFC 1918, loopback)
PRIVATE_NETWORKS = [ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "127.0.0.0/8", "fc00::/7", "::1/128")]


def is_private_address(address):
    try:
        host = ipaddress.ip_address((address or "").strip())
    except ValueError:
        return False  # a name: where it leads is not known here
    return any(host in network for network in PRIVATE_NETWORKS if network.version == host.version)


def normalize_fingerprint(value):
    """A SHA-256 fingerprint as lower-case hex: accepts colons and openssl's ``sha256 Fingerprint=`` prefix; None if invalid."""
    text = re.sub(r"[\s:]", "", (value or "").split("=")[-1]).lower()
    return text if re.match(r"^[0-9a-f]{64}$", text) else None


def certificate_fingerprint(der):
    return hashlib.sha256(der).hexdigest()


class PageContext(ssl.SSLContext):
    """How a bootstrap page is trusted: the one certificate whose SHA-256 is ``pin`` (no CA, no host name: a new node's
    certificate is self-signed and the page is reached by address), or the CAs of ``ca_path`` without the host name.

    The pin is checked right after the handshake, in ``wrap_socket``, so that a client that takes an ``ssl.SSLContext``
    as it is sends nothing to another peer. The client's requests transport maps the two to urllib3's options instead:
    ``assert_fingerprint=pin`` with verification off, or ``ca_certs=ca_path`` with ``assert_hostname=False``."""

    pin = None
    ca_path = None

    def wrap_socket(self, *args, **kwargs):  # pylint: disable=signature-differs
        sock = super(PageContext, self).wrap_socket(*args, **kwargs)
        if self.pin:
            seen = certificate_fingerprint(sock.getpeercert(binary_form=True) or b"")
            if seen != self.pin:
                sock.close()
                raise ssl.SSLCertVerificationError("the certificate's SHA-256 fingerprint is %s, not the pinned %s" % (seen, self.pin))
        return sock


def page_verify(validate_certs, ca_path, fingerprint=None):
    """How the client verifies a bootstrap page: a PageContext (a pin, or a CA without the host-name check), True (the
    system's CAs and the host name) or False (nothing)."""
    if fingerprint:
        context = PageContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        context.pin = normalize_fingerprint(fingerprint)
        return context
    if validate_certs and ca_path:
        # The page is reached by IP address and a node's certificate names the node: the chain is what is checked.
        context = PageContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        try:
            context.load_verify_locations(cafile=ca_path)
        except (OSError, ssl.SSLError) as exc:
            raise PexipTLSError("ca_path '%s' is not a readable PEM file of CA certificates (%s)." % (ca_path, exc))
        context.ca_path = ca_path
        return context
    return bool(validate_certs)


def page_errors(address, port, validate_certs, ca_path, timeout=None, retries=None, fingerprint=None):
    """What is wrong with the options that reach a bootstrap page, as phrases (checked before any request)."""
    errors = []
    if not (address or "").strip():
        errors.append("address must not be empty")
    elif not (validate_certs or fingerprint or is_private_address(address)):
        errors.append("an upload to %s that does not verify the instance (validate_certs: false) is refused: it is not a private "
                      "address, and the document holds the credentials the node joins the platform with. Give the SHA-256 "
                      "fingerprint of the instance's certificate (fingerprint) or its CA (ca_path), or upload over the "
                      "private address (a VPN)" % address)
    if fingerprint is not None and not normalize_fingerprint(fingerprint):
        errors.append("fingerprint '%s' is not a SHA-256 fingerprint (64 hexadecimal digits, colons allowed)" % fingerprint)
    if not 1 <= port <= 65535:
        errors.append("port %d is not a TCP port (1-65535)" % port)
    if timeout is not None and timeout <= 0:
        errors.append("timeout must be a positive number of seconds")
    if retries is not None and retries < 0:
        errors.append("retries must not be negative")
    if ca_path and validate_certs and not fingerprint and not os.path.isfile(ca_path):
        errors.append("ca_path %s is not a file" % ca_path)
    return errors


def page_client(module, address, port, validate_certs, ca_path, wait_timeout, poll_interval=10, fingerprint=None):
    """A client for the page: connection failures (the instance still boots) are retried for ``wait_timeout`` s."""
    client = module.new_client(page_url(address, port), username=None, password=None, validate_certs=validate_certs,
                               ca_path=ca_path, backoff=1.0, max_backoff=poll_interval, connect_window=wait_timeout,
                               server="the bootstrap page")
    client.session.verify = page_verify(validate_certs, ca_path, fingerprint)
    return client


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
            self.fail("the TLS certificate of the bootstrap page %s could not be verified (%s), so nothing was sent. Give the "
                      "SHA-256 fingerprint of the instance's certificate (fingerprint) or the CA that signed it (ca_path); "
                      "validate_certs: false trusts whoever answers, so use it only over a private network"
                      % (url, exc.__context__ or exc.msg))
        except PexipConnectionError as exc:
            if method == "POST" and (exc.sent or self.client.maybe_sent):
                # The instance may have taken the document and be rebooting (it refuses connections meanwhile).
                self.fail("the answer to the upload to %s was lost (%s): the instance may have accepted the document and be "
                          "rebooting with it. Wait for the node to report and sync (pexip_node_info: synced) before deleting "
                          "or re-creating anything; only if it never does, delete the node and create it again."
                          % (url, exc.msg), maybe_sent=True)
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
