#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: pexip_backup
short_description: Take, download, prune and restore backups of a Pexip Infinity Management Node
version_added: 0.2.0
author: pexip.infinity contributors (@pexip)
description:
  - With O(state=present), starts a backup of the platform's configuration (C(command/v1/platform/backup_create/),
    as a background request), waits until its request (C(status/v1/backup_request/)) ends, and, with O(dest),
    downloads the backup file to O(dest) on the host the module runs on (usually the controller).
  - The download is streamed to a temporary file beside O(dest), checked against the backup's C(sha256sum), and only
    then renamed to O(dest) (mode C(0600)); a failed or damaged download leaves O(dest) as it was.
  - B(Idempotency:) when O(dest) exists and its SHA-256 matches a backup the Management Node lists, the module does
    nothing and reports no change (set O(force) to take a new backup anyway). Without O(dest) every run takes a backup.
  - With O(state=absent), deletes backups from the Management Node (C(configuration/v1/system_backup/)) - those named
    by O(filename), and those beyond the O(keep) newest and/or older than O(older_than).
  - With O(state=restored), restores the backup file O(src) (C(command/v1/platform/backup_restore/)) - the backup's
    configuration replaces the Management Node's whole configuration, and the Management Node restarts. The file is
    streamed from the host the module runs on, never read into memory. With O(wait) the module waits until the
    Management Node answers again.
  - B(Before a restore) the module checks that the backup was taken on the version the Management Node runs (Pexip
    restores a backup only on that version). The file is encrypted, so its version is read from the Management Node's
    list of backups (C(system_backup), the entry with the file's SHA-256), else taken from O(version); when neither
    says it, the module refuses. Nothing is sent when a check fails.
  - B(A restore is an action, not a state) - nothing on the Management Node says which backup it holds. O(creates)
    names a marker file that a restore writes (the file's SHA-256 and the time) as soon as the Management Node accepted
    it; when the marker exists the module restores nothing and reports no change. Without O(creates) every run
    restores.
  - Every run returns the backups the Management Node lists (RV(backups)).
  - Which request a backup_create starts, the request's state values, and where a backup's file is downloaded from are
    not published by Pexip, nor how C(backup_restore) takes the file (see O(package_field)); the module's choices are in
    C(module_utils/backup.py) and listed in the collection's C(docs/lab.md).
extends_documentation_fragment:
  - pexip.infinity.api
  - pexip.infinity.attributes
options:
  state:
    description:
      - V(present) takes a backup (and downloads it with O(dest)); V(absent) deletes backups; V(restored) restores
        the backup file O(src).
    type: str
    choices: [present, absent, restored]
    default: present
  passphrase:
    description:
      - Passphrase (at most 1000 characters) the backup is encrypted with; it is needed to restore the backup.
        Required with O(state=present) and O(state=restored) (the passphrase the backup was taken with). Never
        returned or logged.
    type: str
  dest:
    description:
      - Path of the file to download the new backup to. Its directory must exist. An existing file is replaced only
        when a new backup is taken (see the idempotency rule above).
    type: path
  force:
    description:
      - Take a new backup even when O(dest) already holds one the Management Node lists.
    type: bool
    default: false
  filename:
    description:
      - With O(state=absent), the backups to delete, by file name. Names the Management Node does not list are
        already absent.
    type: list
    elements: str
    default: []
  keep:
    description:
      - With O(state=absent), the number (at least 1) of newest backups never deleted by this rule.
    type: int
  older_than:
    description:
      - With O(state=absent), delete backups older than this age - a number and a unit, C(s), C(m), C(h), C(d) or
        C(w), for example V(30d). With O(keep), a backup is deleted only when it is older and beyond the O(keep) newest.
    type: str
  src:
    description:
      - With O(state=restored), the backup file to restore (as O(state=present) downloaded it), on the host the module
        runs on.
    type: path
  version:
    description:
      - With O(state=restored), the Pexip Infinity version the backup was taken on (the C(version) of RV(backup) of the run that
        took it). Needed when the Management Node does not list the backup (a new Management Node after a disaster);
        when it does, the two must agree.
    type: str
  creates:
    description:
      - With O(state=restored), a marker file on the host the module runs on; when it exists, nothing is restored. A
        restore writes it (mode C(0600)) once the Management Node has accepted the file, so that a re-run after a
        failed wait does not restore again. Delete it to restore once more.
    type: path
  package_field:
    description:
      - With O(state=restored), the multipart form field the file is sent in. Pexip does not publish how
        C(backup_restore) takes the file; change this only if your Management Node expects another field.
    type: str
    default: package
  wait:
    description:
      - With O(state=restored), wait until the Management Node has restarted and answers again (at most
        O(wait_timeout) seconds).
    type: bool
    default: true
  wait_timeout:
    description:
      - Seconds to wait for the backup request to end (the backup may still finish; the failure says how to find
        it), or, with O(state=restored), for the Management Node to come back, before the module fails.
    type: int
    default: 900
  poll_interval:
    description:
      - Longest time in seconds between two checks of the backup request. The first checks come sooner.
    type: float
    default: 5
notes:
  - Check mode sends no POST or DELETE and writes no file; it reports what would be done.
  - A restore replaces the configuration of the whole platform and restarts the Management Node; run it when no calls
    are live (C(playbooks/restore.yml) checks that, and asks for a confirmation).
seealso:
  - module: pexip.infinity.pexip_autobackup
  - name: Backing up and restoring configuration
    description: Pexip's documentation of backups.
    link: https://docs.pexip.com/admin/backup_restore.htm
"""

EXAMPLES = r"""
- name: Take a backup and download it
  pexip.infinity.pexip_backup:
    passphrase: "{{ vault_backup_passphrase }}"
    dest: "{{ backup_dir }}/{{ inventory_hostname }}-latest.pexbak"  # backup_dir: an existing, private directory
  register: backup

- name: Show the new backup
  ansible.builtin.debug:
    msg: "{{ backup.backup.filename }} ({{ backup.backup.size }} bytes, sha256 {{ backup.sha256 }})"

- name: Keep the 7 newest backups on the Management Node
  pexip.infinity.pexip_backup:
    state: absent
    keep: 7

- name: Delete backups older than 30 days, but always keep the 3 newest
  pexip.infinity.pexip_backup:
    state: absent
    keep: 3
    older_than: 30d

- name: Restore a backup (once - the marker file says it was done)
  pexip.infinity.pexip_backup:
    state: restored
    src: "{{ backup_dir }}/{{ inventory_hostname }}-latest.pexbak"
    passphrase: "{{ vault_backup_passphrase }}"
    creates: "{{ backup_dir }}/{{ inventory_hostname }}-latest.pexbak.restored"
  register: restored

- name: Delete one backup by name
  pexip.infinity.pexip_backup:
    state: absent
    filename: ["{{ backup.backup.filename }}"]
"""

RETURN = r"""
backup:
  description:
    - The backup taken (C(state=present)), or the listed backup O(dest) already matched. Empty in check mode when a
      backup would be taken.
    - With O(state=restored), the Management Node's listed backup with the SHA-256 of O(src) (empty when it lists
      none).
  returned: state is present or restored
  type: dict
  sample:
    filename: mgr01_backup_20261207T150000_1.pexbak
    date: "2026-12-07T15:00:02"
    version: "34.0.0"
    build: "78930.0.0"
    size: 48213
    sha256sum: 0f343b0931126a20f133d67c2b018a3b5e0cd32d4e0e7ec2a7d5e6a2f1c4e9b7
    type: manual
    resource_uri: /api/admin/configuration/v1/system_backup/mgr01_backup_20261207T150000_1.pexbak/
request:
  description: The backup request as it ended (its C(state), C(message), C(download_uri)).
  returned: when a backup was taken
  type: dict
dest:
  description: Path of the downloaded file.
  returned: state is present and dest is given
  type: str
sha256:
  description: SHA-256 of the file at O(dest) (of O(src) with O(state=restored)).
  returned: state is present and dest holds the backup (not in check mode when one would be taken), or state is restored
  type: str
version:
  description: The version the backup restored was taken on, and the version the Management Node runs.
  returned: state is restored and the marker O(creates) did not exist
  type: dict
  sample: {backup: "34.0.0", running: "34.0.0", from: system_backup}
restored:
  description: Whether the backup was restored (false when O(creates) existed; true in check mode when it would be).
  returned: state is restored
  type: bool
deleted:
  description: File names of the backups deleted (in check mode, that would be).
  returned: state is absent
  type: list
  elements: str
backups:
  description: The backups the Management Node lists after the run (as they would be, in check mode), newest first.
  returned: success
  type: list
  elements: dict
"""

import datetime
import json
import os

from ansible_collections.pexip.infinity.plugins.module_utils import backup as bk
from ansible_collections.pexip.infinity.plugins.module_utils.api import PexipConnectionError, PexipError
from ansible_collections.pexip.infinity.plugins.module_utils.catalog import SYSTEM_BACKUP
from ansible_collections.pexip.infinity.plugins.module_utils.module import PexipModule
from ansible_collections.pexip.infinity.plugins.module_utils.nodes import write_private
from ansible_collections.pexip.infinity.plugins.module_utils.resource import PAGE, Engine
from ansible_collections.pexip.infinity.plugins.module_utils.waiter import Waiter, wait_errors

ARGUMENT_SPEC = dict(
    state=dict(type="str", default="present", choices=["present", "absent", "restored"]),
    passphrase=dict(type="str", no_log=True),
    dest=dict(type="path"),
    force=dict(type="bool", default=False),
    filename=dict(type="list", elements="str", default=[]),
    keep=dict(type="int", no_log=False),
    older_than=dict(type="str"),
    src=dict(type="path"),
    version=dict(type="str"),
    creates=dict(type="path"),
    package_field=dict(type="str", default=bk.PACKAGE_FIELD),
    wait=dict(type="bool", default=True),
    wait_timeout=dict(type="int", default=900),
    poll_interval=dict(type="float", default=5),
)


def validate(module):
    """Every input problem, before the first request."""
    p = module.params
    errors = wait_errors(p)
    if p["state"] != "restored":
        for name in ("src", "version", "creates"):
            if p[name] is not None:
                errors.append("%s is for state: restored; remove it or set state: restored" % name)
    if p["state"] in ("present", "restored"):
        if not p["passphrase"]:
            why = "the backup is encrypted with it, and a restore asks for it" if p["state"] == "present" else "the one the backup was taken with"
            errors.append("state: %s needs passphrase (%s)" % (p["state"], why))
        elif len(p["passphrase"]) > bk.PASSPHRASE_MAX:
            errors.append("passphrase may have at most %d characters, got %d" % (bk.PASSPHRASE_MAX, len(p["passphrase"])))
    if p["state"] == "restored":
        errors.extend(restore_errors(p))
    elif p["state"] == "present":
        for name in ("filename", "keep", "older_than"):
            if p[name] not in (None, []):
                errors.append("%s is for state: absent (pruning); remove it or set state: absent" % name)
        if p["dest"]:
            directory = os.path.dirname(os.path.abspath(p["dest"]))
            if os.path.isdir(p["dest"]):
                errors.append("dest %s is a directory: give the path of the backup file" % p["dest"])
            elif not os.path.isdir(directory):
                errors.append("the directory of dest %s does not exist: create %s first" % (p["dest"], directory))
            elif not os.access(directory, os.W_OK):
                errors.append("the directory of dest %s is not writable by this user" % p["dest"])
    else:
        if p["passphrase"] or p["dest"] or p["force"]:
            errors.append("passphrase, dest and force are for state: present; remove them with state: absent")
        if not p["filename"] and p["keep"] is None and p["older_than"] is None:
            errors.append("state: absent needs filename, keep or older_than (no rule deletes every backup)")
        if p["keep"] is not None and p["keep"] < 1:
            errors.append("keep must be at least 1, got %d (name the backups in filename to delete them all)" % p["keep"])
        if p["older_than"] is not None and bk.parse_duration(p["older_than"]) is None:
            errors.append("older_than must be a number and a unit (s, m, h, d or w), for example 30d; got %r" % p["older_than"])
    if errors:
        module.fail("; ".join(errors) + ".")


def restore_errors(p):
    errors = []
    for name in ("dest", "filename", "keep", "older_than"):
        if p[name] not in (None, []):
            errors.append("%s is not for state: restored; remove it" % name)
    if p["force"]:
        errors.append("force is not for state: restored (delete the creates marker to restore again)")
    src = p["src"]
    if not src:
        errors.append("state: restored needs src, the backup file to restore")
    elif not os.path.isfile(src):
        errors.append("src %s is not a file: give the path of the backup file (as pexip_backup downloaded it)" % src)
    elif not os.access(src, os.R_OK):
        errors.append("src %s is not readable by this user" % src)
    elif os.path.getsize(src) == 0:
        errors.append("src %s is empty: it is no backup" % src)
    if p["version"] is not None and not p["version"].strip():
        errors.append("version must be the Pexip Infinity version the backup was taken on (for example 34.0.0), or left out")
    if p["creates"]:
        directory = os.path.dirname(os.path.abspath(p["creates"]))
        if not os.path.isdir(directory) or not os.access(directory, os.W_OK):
            errors.append("the directory of creates %s must exist and be writable (the marker is written there)" % p["creates"])
    if not p["package_field"]:
        errors.append("package_field must name a form field (default package)")
    return errors


def listed(engine):
    return engine.client.list(SYSTEM_BACKUP.endpoint, limit=PAGE)


def public(engine, backups):
    return [engine.public(b) for b in backups]


def newest_first(backups):
    try:
        return bk.newest_first(backups)
    except PexipError:  # a date that does not parse: the server's order
        return list(backups)


def present(module, engine):
    p = module.params
    backups = listed(engine)
    local = bk.file_sha256(p["dest"]) if p["dest"] and os.path.isfile(p["dest"]) else None
    match = next((b for b in backups if local and str(b.get("sha256sum") or "").lower() == local), None)
    result = dict(changed=False, backups=public(engine, newest_first(backups)))
    if p["dest"]:
        result["dest"] = p["dest"]
    if match and not p["force"]:
        result.update(backup=engine.public(match), sha256=local)
        return result
    result["changed"] = True
    result["diff"] = dict(before=dict(backups=sorted(b["filename"] for b in backups), dest_sha256=local),
                          after=dict(backups=sorted(b["filename"] for b in backups) + ["(new backup)"], dest_sha256="(new backup)" if p["dest"] else local))
    if module.check_mode:
        result["backup"] = {}
        return result
    client = engine.client
    before = bk.request_ids(client)
    known = set(b.get("filename") for b in backups)
    client.command(bk.CREATE_COMMAND[0], bk.CREATE_COMMAND[1], dict(passphrase=p["passphrase"], request=True),
                   done=lambda: bk.started_request(client, before))
    request = bk.started_request(client, before)
    if request is None:
        raise PexipError("The Management Node accepted the backup command but lists no new backup request (status/v1/backup_request/): "
                         "check Utilities > Backup/Restore in the Administrator interface.")
    ended, request, elapsed = Waiter(p["wait_timeout"], p["poll_interval"]).wait(
        lambda: client.get(request["resource_uri"]), lambda r: bk.request_outcome(r) != "running")
    result["request"] = request
    if not ended:
        raise PexipError("The backup request %s is still %s after %d seconds (wait_timeout): it may still finish (Utilities > "
                         "Backup/Restore in the Administrator interface lists it); run again with a larger wait_timeout." % (
                             request["resource_uri"], request.get("state"), elapsed))
    if bk.request_outcome(request) == "failed":
        raise PexipError("The backup request %s failed (state %s): %s. Check the Management Node's alarms and disk space, then run again." % (
            request["resource_uri"], request.get("state"), request.get("message") or "no message"))
    backups = listed(engine)
    new = bk.new_backup(known, backups, request)
    if new is None:
        raise PexipError("The backup request %s completed but the new backup cannot be told apart in configuration/v1/system_backup/ "
                         "(new: %s): download it in the Administrator interface." % (
                             request["resource_uri"], ", ".join(sorted(set(b.get("filename") for b in backups) - known)) or "none"))
    result.update(backup=engine.public(new), backups=public(engine, newest_first(backups)))
    if p["dest"]:
        if not new.get("sha256sum"):
            raise PexipError("Backup %s has no sha256sum to check a download against: download it in the Administrator interface." % new["filename"])
        bk.download(client, bk.download_location(client, request), p["dest"], new["sha256sum"])
        result["sha256"] = str(new["sha256sum"]).lower()
    return result


def absent(module, engine):
    p = module.params
    backups = listed(engine)
    doomed = bk.to_prune(backups, p["filename"], p["keep"], bk.parse_duration(p["older_than"]) if p["older_than"] else None)
    for item in doomed:  # every date parsed before the first DELETE
        engine.remove(item, shown=dict(filename=item["filename"]))
    kept = [b for b in backups if b not in doomed]
    names = sorted(b["filename"] for b in backups)
    return dict(changed=bool(doomed), deleted=[b["filename"] for b in doomed], backups=public(engine, newest_first(kept)),
                diff=dict(before=dict(backups=names), after=dict(backups=sorted(b["filename"] for b in kept))))


def running_version(client):
    primary = [vm for vm in client.list("management_vm", api="status") if vm.get("primary")]
    return str(primary[0].get("version") or "") if primary else ""


def backup_version(module, src, listed_backup, running):
    """The version ``src`` was taken on and where that came from; fails, naming the versions, when it is unknown,
    contradicted or not the running one."""
    p = module.params
    said = (p["version"] or "").strip()
    known = str((listed_backup or {}).get("version") or "").strip()
    if known and said and known != said:
        raise PexipError("The Management Node lists %s as backup %s of version %s, but version says %s: check which file this is." % (
            src, listed_backup.get("filename"), known, said))
    version, origin = (known, "system_backup") if known else (said, "version")
    if not version:
        raise PexipError("The version %s was taken on is unknown: the Management Node does not list it (no backup with its SHA-256) and "
                         "the file is encrypted. Set version to the version the backup was taken on (backup.version of the run that took "
                         "it); Pexip restores a backup only on that version. Nothing was restored." % src)
    if not running:
        raise PexipError("The Management Node reports no software version (status/v1/management_vm/): its version cannot be compared with "
                         "the backup's %s. Nothing was restored." % version)
    if not bk.compatible(version, running):
        raise PexipError("%s was taken on version %s (from %s), but the Management Node runs %s: Pexip restores a backup only on the "
                         "version it was taken on. Restore it on a Management Node of version %s (pexip_manager_version), or take a backup "
                         "of this version. Nothing was restored." % (src, version, origin, running, version))
    return dict(backup=version, running=running, **{"from": origin})


def restored(module, engine):
    p = module.params
    client = engine.client
    result = dict(changed=False, restored=False, src=p["src"])
    if p["creates"] and os.path.exists(p["creates"]):
        result["msg"] = "%s exists: the backup was restored before (delete it to restore again)." % p["creates"]
        return result
    sha256 = bk.file_sha256(p["src"])
    backups = listed(engine)
    match = next((b for b in backups if str(b.get("sha256sum") or "").lower() == sha256), None)
    result.update(sha256=sha256, backup=engine.public(match) if match else {}, backups=public(engine, newest_first(backups)),
                  version=backup_version(module, p["src"], match, running_version(client)))
    result.update(changed=True, restored=True, diff=dict(before=dict(configuration="(current)"), after=dict(configuration="(backup %s, sha256 %s)" % (
        os.path.basename(p["src"]), sha256))))
    if module.check_mode:
        return result
    try:
        bk.send_restore(client, p["src"], p["passphrase"], p["package_field"])
    except PexipConnectionError as exc:
        if not exc.sent:
            raise
        raise PexipError("The answer to the restore was lost (%s): the Management Node may be restoring %s. Wait until it answers again "
                         "and check its configuration before you run the restore again." % (exc, p["src"]))
    if p["creates"]:
        marker = json.dumps(dict(sha256=sha256, src=p["src"], restored_at=datetime.datetime.now(datetime.timezone.utc).isoformat(),
                                 host=client.base), indent=1) + "\n"
        write_private(p["creates"], marker)
    if p["wait"]:
        back, elapsed = bk.wait_back(client, Waiter(p["wait_timeout"], p["poll_interval"]))
        if not back:
            raise PexipError("The Management Node accepted the restore of %s but has not answered again after %d seconds (wait_timeout): "
                             "it may still be restarting. Wait, then check it in the Administrator interface; the restore is not repeated "
                             "while %s exists." % (p["src"], elapsed, p["creates"] or "the creates marker"))
    return result


def run(module):
    engine = Engine(module, SYSTEM_BACKUP)
    return dict(present=present, absent=absent, restored=restored)[module.params["state"]](module, engine)


def main():
    module = PexipModule(argument_spec=ARGUMENT_SPEC, label="pexip_backup")
    validate(module)
    module.run(run)


if __name__ == "__main__":
    main()
