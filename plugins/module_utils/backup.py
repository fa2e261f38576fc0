# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Backups of the Management Node (pexip_backup): starting one, following its request, downloading and pruning.

What the published API leaves open is decided here, once (docs/lab.md lists these as UNCONFIRMED):

- ``started_request``: which status/v1/backup_request/ a backup_create started (the command's answer names none):
  the request that was not listed before the command;
- ``SUCCEEDED`` / ``FAILED``: the request ``state`` values that end it (compared without case);
- ``new_backup``: which configuration/v1/system_backup/ entry the request made: the one not listed before;
- ``download_location``: where a backup's file is read: the finished request's ``download_uri`` (same server only);
- ``backup_time``: a backup's ``date`` is an ISO 8601 time, UTC unless it says otherwise;
- ``send_restore``: how backup_restore takes the file: a multipart form, the file in the field ``package``
  (``PACKAGE_FIELD``, the module's ``package_field``) and the ``passphrase`` as a plain field;
- ``compatible``: a backup restores only on the version it was taken on (the same ``version`` string);
- ``wait_back``: after a restore the Management Node restarts: its API is gone, then answers again.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import hashlib
import re
from urllib.parse import urlsplit

from ansible_collections.pexip.infinity.plugins.module_utils.api import API_ROOT, PexipBusyError, PexipConnectionError, PexipError
from ansible_collections.pexip.infinity.plugins.module_utils.nodes import write_private

CREATE_COMMAND = ("platform", "backup_create")
RESTORE_PATH = API_ROOT + "/command/v1/platform/backup_restore/"
#: the form field backup_restore takes the file in (UNCONFIRMED: docs/lab.md)
PACKAGE_FIELD = "package"
#: seconds after a restore within which a Management Node that never went away counts as restarted (UNCONFIRMED)
RESTART_GRACE = 60
REQUESTS = "backup_request"
#: request states that end a backup (UNCONFIRMED; compared in upper case); any other state is still running
SUCCEEDED = ("COMPLETED", "COMPLETE", "SUCCEEDED", "SUCCESS", "DONE", "FINISHED")
FAILED = ("FAILED", "FAILURE", "ERROR", "ABORTED", "CANCELLED")
PASSPHRASE_MAX = 1000
CHUNK = 1024 * 1024
DURATION = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
UNITS = dict(s=1, m=60, h=3600, d=86400, w=604800)


def parse_duration(value):
    """``30d``, ``12h``, ``90m``, ``2w``, ``45s`` -> seconds; None when it is not one."""
    match = DURATION.match(str(value))
    return int(match.group(1)) * UNITS[match.group(2)] if match else None


def request_ids(client):
    return set(r.get("resource_uri") for r in client.list(REQUESTS, api="status"))


def started_request(client, before):
    """The backup request a backup_create started: the one not in ``before`` (the earliest, if others started too)."""
    new = [r for r in client.list(REQUESTS, api="status") if r.get("resource_uri") not in before]
    return min(new, key=lambda r: (str(r.get("created_at") or ""), r.get("id") or 0)) if new else None


def request_outcome(request):
    """``done``, ``failed`` or ``running`` for a backup request."""
    state = str((request or {}).get("state") or "").upper()
    if state in SUCCEEDED:
        return "done"
    if state in FAILED:
        return "failed"
    return "running"


def new_backup(before, backups, request=None):
    """The system_backup entry a request made: the one not listed ``before`` (by filename); with several, the one its
    ``download_uri`` names; None when that does not settle it."""
    new = [b for b in backups if b.get("filename") not in before]
    if len(new) > 1 and request and request.get("download_uri"):
        new = [b for b in new if b["filename"] in request["download_uri"]]
    return new[0] if len(new) == 1 else None


def download_location(client, request):
    """Path of a finished request's file on the Management Node; refuses another server (the credentials go with it)."""
    uri = (request or {}).get("download_uri")
    if not uri:
        raise PexipError("The backup request %s finished without a download_uri: download the backup in the Administrator interface "
                         "(Utilities > Backup/Restore)." % (request or {}).get("resource_uri"))
    if uri.startswith("http"):
        parts, base = urlsplit(uri), urlsplit(client.base)
        if (parts.scheme, parts.netloc) != (base.scheme, base.netloc):
            raise PexipError("The backup's download_uri %s is not on the Management Node %s: refusing to send the credentials there." % (
                uri, client.base))
        uri = parts.path + ("?" + parts.query if parts.query else "")
    if not uri.startswith(API_ROOT + "/") and not uri.startswith("/"):
        uri = "/" + uri
    return uri


def backup_time(backup):
    """A backup's ``date`` as an aware UTC datetime; PexipError naming the value when it is not ISO 8601."""
    value = backup.get("date")
    try:
        when = datetime.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise PexipError("Backup %s has the date %r, which is not an ISO 8601 time: prune it by filename instead." % (
            backup.get("filename"), value))
    return when if when.tzinfo else when.replace(tzinfo=datetime.timezone.utc)


def newest_first(backups):
    return sorted(backups, key=lambda b: (backup_time(b), b.get("filename") or ""), reverse=True)


def to_prune(backups, filenames=None, keep=None, older_than=None, now=None):
    """The backups to delete: those named, and those beyond the ``keep`` newest that are older than ``older_than``
    seconds (with both, a backup must be selected by both)."""
    selected = [b for b in backups if b.get("filename") in (filenames or ())]
    if keep is None and older_than is None:
        return selected
    ordered = newest_first(backups)
    candidates = ordered[keep:] if keep is not None else ordered
    if older_than is not None:
        now = now or datetime.datetime.now(datetime.timezone.utc)
        limit = now - datetime.timedelta(seconds=older_than)
        candidates = [b for b in candidates if backup_time(b) < limit]
    return selected + [b for b in candidates if b not in selected]


def file_sha256(path, chunk=CHUNK):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(chunk), b""):
            digest.update(block)
    return digest.hexdigest()


def _blocks(client, path, chunk):
    """The body of a GET in blocks, streamed from the socket (never the whole file in memory)."""
    response = client.request("GET", path, stream=True, headers={"Accept": "*/*"})
    try:
        yield from response.iter_content(chunk)
    finally:
        response.close()


def download(client, path, dest, sha256sum, chunk=CHUNK):
    """Stream ``path`` into ``dest`` (mode 0600): written to a temporary file beside it, checked against ``sha256sum``,
    then renamed over ``dest``; nothing is left behind on failure. Returns the number of bytes."""
    digest, size = hashlib.sha256(), [0]

    def blocks():
        try:
            for block in _blocks(client, path, chunk):
                digest.update(block)
                size[0] += len(block)
                yield block
        except PexipError:
            raise
        except Exception as exc:  # the transport's own error while streaming the body
            raise PexipConnectionError("The download of %s was interrupted after %d bytes (%s): run the module again." % (path, size[0], exc))

    def matches():
        if digest.hexdigest() != str(sha256sum).lower():
            raise PexipError("The downloaded file (%d bytes, sha256 %s) does not match the backup's sha256sum %s: it was not kept. "
                             "Run the module again; if it keeps failing, download the backup in the Administrator interface." % (
                                 size[0], digest.hexdigest(), sha256sum))

    write_private(dest, blocks(), check=matches)
    return size[0]


def compatible(backup_version, running):
    """Whether a backup taken on ``backup_version`` restores on a Management Node running ``running``: the same version."""
    return str(backup_version or "").strip() == str(running or "").strip() != ""


def send_restore(client, src, passphrase, field=PACKAGE_FIELD):
    """The one place that knows how backup_restore takes the file (UNCONFIRMED): streamed as a multipart form."""
    return client.upload(RESTORE_PATH, src, field=field, fields=dict(passphrase=passphrase))


def wait_back(client, waiter, grace=RESTART_GRACE):
    """Wait until the Management Node restarted after a restore: its API answered again after it was seen gone (or
    after ``grace`` seconds in which it never went). Returns ``(back, seconds)``."""
    seen = dict(down=False)

    def probe():
        try:
            client.request("GET", "%s/status/v1/management_vm/" % API_ROOT, retry=False)
            return "up"
        except (PexipConnectionError, PexipBusyError):
            seen["down"] = True
            return "down"

    started = waiter.clock()
    back, dummy, elapsed = waiter.wait(probe, lambda state: state == "up" and (seen["down"] or waiter.clock() - started >= grace))
    return back, elapsed
