#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: pexip_autobackup
short_description: Configure automatic backups of a Pexip Infinity Management Node
version_added: 0.2.0
author: pexip.infinity contributors (@pexip)
description:
  - Set the automatic backup settings (C(configuration/v1/autobackup/1/)) of a Pexip Infinity Management Node, as in
    B(Utilities > Automatic Backups) of the Administrator interface.
  - Options that are not given are left as they are. Only the settings that differ are sent (one C(PATCH)).
  - The passphrase and the upload password cannot be read back, so they cannot be compared; O(update_secrets)
    decides when they are sent. They are never returned and never shown in a diff.
extends_documentation_fragment:
  - pexip.infinity.api
  - pexip.infinity.attributes
options:
  enabled:
    description:
      - Take a backup every O(interval) hours (C(autobackup_enabled)). Enabling needs O(passphrase).
    type: bool
  interval:
    description:
      - Hours between two automatic backups, 1 to 24 (C(autobackup_interval)). The Management Node's default is 24.
    type: int
  start_hour:
    description:
      - Hour of the day (UTC), 0 to 23, of the first backup (C(autobackup_start_hour)). The default is 1.
    type: int
  passphrase:
    description:
      - Passphrase (at most 100 characters) the backups are encrypted with (C(autobackup_passphrase)); a restore
        asks for it. Required with O(enabled=true). Never returned.
    type: str
  upload_url:
    description:
      - Where each backup is also uploaded (C(autobackup_upload_url), at most 255 characters) - an C(ftp://) or
        C(ftps://) URL only (the Management Node supports no SFTP). V("") uploads nothing.
    type: str
  upload_username:
    description:
      - User name on the upload server (at most 100 characters).
    type: str
  upload_password:
    description:
      - Password of O(upload_username) on the upload server (at most 100 characters). Never returned.
    type: str
  update_secrets:
    description:
      - V(on_change) sends O(passphrase) only when automatic backups are being enabled, and O(upload_password) only
        when O(upload_url) or O(upload_username) changes (or when enabling). A run with unchanged settings then
        reports no change.
      - V(always) sends the given O(passphrase) and O(upload_password) on every run, to rotate them; such a run always
        reports a change.
    type: str
    choices: [always, on_change]
    default: on_change
notes:
  - Automatic backups stay on the Management Node (and the upload server); pexip.infinity.pexip_backup downloads
    and prunes them.
seealso:
  - module: pexip.infinity.pexip_backup
  - name: Backing up and restoring configuration
    description: Pexip's documentation of backups.
    link: https://docs.pexip.com/admin/backup_restore.htm
"""

EXAMPLES = r"""
- name: Back up every 6 hours from 02:00 UTC and upload to an FTPS server
  pexip.infinity.pexip_autobackup:
    enabled: true
    interval: 6
    start_hour: 2
    passphrase: "{{ vault_backup_passphrase }}"
    upload_url: ftps://backup.example.com/pexip/
    upload_username: pexip
    upload_password: "{{ vault_ftp_password }}"

- name: Rotate the backup passphrase
  pexip.infinity.pexip_autobackup:
    passphrase: "{{ vault_new_backup_passphrase }}"
    update_secrets: always

- name: Stop automatic backups
  pexip.infinity.pexip_autobackup:
    enabled: false
"""

RETURN = r"""
settings:
  description: The automatic backup settings after the change (in check mode, as they would be), without any secret.
  returned: success
  type: dict
  sample:
    autobackup_enabled: true
    autobackup_interval: 6
    autobackup_start_hour: 2
    autobackup_upload_url: ftps://backup.example.com/pexip/
    autobackup_upload_username: pexip
    resource_uri: /api/admin/configuration/v1/autobackup/1/
secrets_sent:
  description: The secrets sent (or, in check mode, that would be), by option name.
  returned: success
  type: list
  elements: str
  sample: [passphrase]
"""

from urllib.parse import urlsplit

from ansible_collections.pexip.infinity.plugins.module_utils.catalog import AUTOBACKUP
from ansible_collections.pexip.infinity.plugins.module_utils.module import PexipModule
from ansible_collections.pexip.infinity.plugins.module_utils.resource import Engine

ARGUMENT_SPEC = AUTOBACKUP.argument_spec(
    update_secrets=dict(type="str", choices=["always", "on_change"], default="on_change", no_log=False),
)
LIMITS = dict(passphrase=100, upload_url=255, upload_username=100, upload_password=100)
SCHEMES = ("ftp", "ftps")


def url_error(url):
    """Why an upload URL is refused (None: fine). Only FTP and FTPS: the Management Node has no SFTP."""
    parts = urlsplit(url)
    if parts.scheme.lower() not in SCHEMES:
        return "upload_url must be an ftp:// or ftps:// URL (the Management Node uploads over FTP or FTPS only, not SFTP), got %r" % url
    if not parts.hostname:
        return "upload_url %r names no server: use ftps://<server>/<directory>/" % url
    return None


def validate(module):
    p = module.params
    errors = []
    if p["interval"] is not None and not 1 <= p["interval"] <= 24:
        errors.append("interval must be 1 to 24 hours, got %d" % p["interval"])
    if p["start_hour"] is not None and not 0 <= p["start_hour"] <= 23:
        errors.append("start_hour must be an hour 0 to 23 (UTC), got %d" % p["start_hour"])
    for name, limit in sorted(LIMITS.items()):
        if p[name] is not None and len(p[name]) > limit:
            errors.append("%s may have at most %d characters, got %d" % (name, limit, len(p[name])))
    if p["upload_url"]:
        problem = url_error(p["upload_url"])
        if problem:
            errors.append(problem)
    if p["enabled"] and not p["passphrase"]:
        errors.append("enabled: true needs passphrase (automatic backups are encrypted with it)")
    if p["update_secrets"] == "always" and p["passphrase"] is None and p["upload_password"] is None:
        errors.append("update_secrets: always needs passphrase or upload_password")
    if errors:
        module.fail("; ".join(errors) + ".")


def secrets_to_send(params, changes, wanted):
    """The write-only values that go with this PATCH, by API field."""
    enabling = "autobackup_enabled" in changes and wanted.get("autobackup_enabled") is True
    always = params["update_secrets"] == "always"
    send = {}
    if params["passphrase"] is not None and (always or enabling):
        send["autobackup_passphrase"] = params["passphrase"]
    upload_changed = bool(set(changes) & {"autobackup_upload_url", "autobackup_upload_username"})
    if params["upload_password"] is not None and (always or enabling or upload_changed):
        send["autobackup_upload_password"] = params["upload_password"]
    return send


def run(module):
    engine = Engine(module, AUTOBACKUP)
    current = engine.lookup()
    wanted = engine.wanted(module.params)
    secrets = secrets_to_send(module.params, engine.changes(current, wanted), wanted)
    outcome = engine.ensure(current, wanted, write_only=secrets or None)
    return dict(changed=outcome.changed, diff=outcome.diff, settings=engine.public(outcome.obj),
                secrets_sent=sorted(AUTOBACKUP.field(k).option for k in secrets))


def main():
    module = PexipModule(argument_spec=ARGUMENT_SPEC, label="pexip_autobackup 'Automatic Backups'")
    validate(module)
    module.run(run)


if __name__ == "__main__":
    main()
