# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Base class for the collection's modules: shared options, the API client, and ensure-present/absent."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.module_utils.basic import AnsibleModule, env_fallback, missing_required_lib

from ansible_collections.pexip.infinity.plugins.module_utils.api import (
    HAS_REQUESTS,
    REQUESTS_IMPORT_ERROR,
    PexipApiError,
    PexipClient,
)

MASK = "********"


def pexip_argument_spec():
    return dict(
        host=dict(type="str", required=True, fallback=(env_fallback, ["PEXIP_HOST"])),
        username=dict(type="str", default="admin", fallback=(env_fallback, ["PEXIP_USERNAME"])),
        password=dict(type="str", required=True, no_log=True, fallback=(env_fallback, ["PEXIP_PASSWORD"])),
        validate_certs=dict(type="bool", default=True, fallback=(env_fallback, ["PEXIP_VALIDATE_CERTS"])),
        ca_path=dict(type="path", fallback=(env_fallback, ["PEXIP_CA_PATH"])),
        timeout=dict(type="int", default=30, fallback=(env_fallback, ["PEXIP_TIMEOUT"])),
        retries=dict(type="int", default=5),
    )


def related_uri(value):
    """A related object as the API may return it (URI or nested object) -> its URI."""
    if isinstance(value, dict):
        return value.get("resource_uri")
    return value


def same(current, wanted):
    """Compare an API value with a wanted one, tolerating the API's shapes."""
    if isinstance(wanted, list):
        current = [related_uri(v) for v in (current or [])]
        return sorted(str(v) for v in current) == sorted(str(v) for v in wanted)
    if current in (None, "") and wanted in (None, ""):
        return True
    return related_uri(current) == wanted


class PexipModule(AnsibleModule):
    """An AnsibleModule with the Management Node options and a lazily built client."""

    #: payload keys never shown in diff or output
    secret_fields = ("password", "aws_secret_key")

    def __init__(self, argument_spec=None, label=None, **kwargs):
        spec = pexip_argument_spec()
        spec.update(argument_spec or {})
        kwargs.setdefault("supports_check_mode", True)
        super(PexipModule, self).__init__(argument_spec=spec, **kwargs)
        if not HAS_REQUESTS:
            self.fail_json(msg=missing_required_lib("requests"), exception=str(REQUESTS_IMPORT_ERROR))
        self.label = label or self._name
        self._client = None

    @property
    def client(self):
        if self._client is None:
            p = self.params
            self._client = PexipClient(p["host"], p["username"], p["password"], validate_certs=p["validate_certs"],
                                       ca_path=p["ca_path"], timeout=p["timeout"], retries=p["retries"])
        return self._client

    def fail(self, msg, **kwargs):
        self.fail_json(msg="%s: %s" % (self.label, msg), **kwargs)

    def call(self, func, *args, **kwargs):
        """Run a client call; an API error fails the module with the object's label."""
        try:
            return func(*args, **kwargs)
        except PexipApiError as exc:
            self.fail(exc.msg, status=exc.status)

    def masked(self, data):
        return dict((k, MASK if k in self.secret_fields and v is not None else v) for k, v in data.items())

    # -- ensure -----------------------------------------------------------------------------
    def ensure_present(self, resource, current, wanted, lookup=None, create_only=()):
        """Create ``wanted`` or PATCH the keys that differ. Returns (changed, object, diff, response).

        ``create_only`` keys are sent on create but never compared (write-only values such as a password).
        """
        if current is None:
            diff = dict(before={}, after=self.masked(wanted))
            if self.check_mode:
                return True, dict(wanted), diff, None
            obj, response = self.call(self.client.create, resource, wanted, lookup=lookup)
            return True, obj, diff, response
        changes = dict((k, v) for k, v in wanted.items() if k not in create_only and not same(current.get(k), v))
        if not changes:
            return False, current, dict(before={}, after={}), None
        diff = dict(before=self.masked(dict((k, current.get(k)) for k in changes)), after=self.masked(changes))
        if self.check_mode:
            obj = dict(current)
            obj.update(changes)
            return True, obj, diff, None
        self.call(self.client.update, current["resource_uri"], changes)
        return True, self.call(self.client.get, current["resource_uri"]), diff, None

    def ensure_absent(self, current):
        """DELETE ``current`` if it exists. Returns (changed, diff)."""
        if current is None:
            return False, dict(before={}, after={})
        if not self.check_mode:
            self.call(self.client.delete, current["resource_uri"])
        return True, dict(before=self.masked(current), after={})
