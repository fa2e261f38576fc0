# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Base class for the collection's modules: shared options, the API client, failure messages and the exit."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.module_utils.basic import AnsibleModule, env_fallback

from ansible_collections.pexip.infinity.plugins.module_utils.api import (
    PexipApiError,
    PexipError,
    PexipClient,
)
from ansible_collections.pexip.infinity.plugins.module_utils.bootstrap import normalize_fingerprint, page_verify


def pexip_argument_spec():
    return dict(
        host=dict(type="str", required=True, fallback=(env_fallback, ["PEXIP_HOST"])),
        username=dict(type="str", default="admin", fallback=(env_fallback, ["PEXIP_USERNAME"])),
        password=dict(type="str", required=True, no_log=True, fallback=(env_fallback, ["PEXIP_PASSWORD"])),
        validate_certs=dict(type="bool", default=True, fallback=(env_fallback, ["PEXIP_VALIDATE_CERTS"])),
        ca_path=dict(type="path", fallback=(env_fallback, ["PEXIP_CA_PATH"])),
        fingerprint=dict(type="str"),
        timeout=dict(type="int", default=30, fallback=(env_fallback, ["PEXIP_TIMEOUT"])),
        retries=dict(type="int", default=5),
        allow_http=dict(type="bool", default=False),
        allow_loopback_addresses=dict(type="bool", default=False),
    )


class PexipModule(AnsibleModule):
    """An AnsibleModule with the Management Node options and a lazily built client."""

    def __init__(self, argument_spec=None, label=None, connection=True, **kwargs):
        spec = pexip_argument_spec() if connection else {}
        spec.update(argument_spec or {})
        kwargs.setdefault("supports_check_mode", True)
        super(PexipModule, self).__init__(argument_spec=spec, **kwargs)
        self.label = label or self._name
        self._client = None

    def new_client(self, host=None, **kwargs):
        """A client for ``host`` (default: the Management Node of the options), with the module's TLS settings."""
        p = self.params
        settings = dict(username=p.get("username"), password=p.get("password"), validate_certs=p["validate_certs"],
                        ca_path=p["ca_path"], timeout=p["timeout"], retries=p["retries"], allow_http=p.get("allow_http", False))
        settings.update(kwargs)
        client = PexipClient(host or p["host"], **settings)
        if p.get("fingerprint") and not host:
            # The one certificate of that fingerprint, whoever signed it and whatever it names: a new Management Node's
            # self-signed one, until the real certificate is uploaded.
            if not normalize_fingerprint(p["fingerprint"]):
                raise PexipApiError("fingerprint '%s' is not a SHA-256 fingerprint (64 hexadecimal digits, colons allowed)." % p["fingerprint"])
            client.session.verify = page_verify(True, None, p["fingerprint"])
        return client

    @property
    def client(self):
        if self._client is None:
            self._client = self.new_client()
        return self._client

    def fail(self, msg, **kwargs):
        self.fail_json(msg="%s: %s" % (self.label, msg), **kwargs)

    def run(self, handler):
        """Exit with ``handler(self)``'s result. The one place where an error becomes a failure: the client and the
        engine raise ``PexipError`` subclasses, and this turns whichever escapes into fail_json with the label (and the
        HTTP status, if any)."""
        try:
            result = handler(self)
        except PexipError as exc:
            self.fail(exc.msg, **({} if exc.status is None else dict(status=exc.status)))
        self.exit(**result)

    def exit(self, **result):
        """exit_json, with the diff only in diff mode."""
        if not self._diff:
            result.pop("diff", None)
        self.exit_json(**result)
