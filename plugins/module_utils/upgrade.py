# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Software upgrade: the package upload (command/v1/platform/upgrade/, configuration/v1/upgrade_request/) and the
reading of a rolling upgrade's progress from status/v1/worker_vm.

What Pexip does not publish is kept in one place each (listed in docs/lab.md, UNCONFIRMED):
``upload_package`` (the chunked upload's order of calls, methods and chunk encoding), ``CHUNK_SIZE``, and
``UPGRADE_STATUS_SHOWN`` (``upgrade_status`` is only shown, never decided on).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.pexip.infinity.plugins.module_utils.api import PexipError

COMMAND = ("platform", "upgrade")
#: UNCONFIRMED: bytes per upgrade_request upload call (each chunk is streamed from the file, never held in memory).
CHUNK_SIZE = 64 << 20
#: UNCONFIRMED: status/v1/worker_vm's upgrade_status is shown in the progress as it is, never relied on.
UPGRADE_STATUS_SHOWN = True
#: The node states of the progress report, in the order it prints them.
STATES = ("upgraded", "in_progress", "waiting_calls", "queued", "not_upgraded")


def version_key(version):
    """``"34.1.0"`` -> ``(34, 1, 0)``; None when it is not a dotted version."""
    try:
        parts = tuple(int(part) for part in str(version).strip().split("."))
    except ValueError:
        return None
    return parts or None


def compare(a, b):
    """-1, 0 or 1, with trailing zeros ignored (34 == 34.0.0)."""
    ka, kb = list(version_key(a)), list(version_key(b))
    while ka and ka[-1] == 0:
        ka.pop()
    while kb and kb[-1] == 0:
        kb.pop()
    return (ka > kb) - (ka < kb)


class Part(object):
    """``length`` bytes of an open file from ``offset``, read as they are sent (a file-like body with a length)."""

    def __init__(self, handle, offset, length, block=1 << 20):
        self.handle = handle
        self.remaining = length
        self.length = length
        self.block = block
        handle.seek(offset)

    def __len__(self):
        return self.length

    def read(self, size=-1):
        if self.remaining <= 0:
            return b""
        size = self.block if size is None or size < 0 else size
        data = self.handle.read(min(size, self.remaining))
        self.remaining -= len(data)
        return data

    def __iter__(self):
        while True:
            data = self.read(self.block)
            if not data:
                return
            yield data


def upload_package(client, path, chunk_size=None):
    """UNCONFIRMED order of calls (docs/lab.md): ``{"request": true, "total_size": N}`` to command/v1/platform/upgrade/
    answers ``next_url``; raw chunks are POSTed to each ``next_url`` while it ends in ``upload/``; the last answer's
    ``next_url`` is the request's ``finish/``. Returns that last answer (``upload_id``, ``next_url``)."""
    size = os.path.getsize(path)
    chunk_size = chunk_size or CHUNK_SIZE
    answer = client.command(COMMAND[0], COMMAND[1], dict(request=True, total_size=size))
    offset = 0
    with open(path, "rb") as handle:
        while str(answer.get("next_url") or "").rstrip("/").endswith("upload"):
            length = min(chunk_size, size - offset)
            if length <= 0:
                raise PexipError("The Management Node asks for more of the package after all %d bytes were sent (next_url %s): "
                                 "upload it in the Administrator interface (Utilities > Upgrade)." % (size, answer.get("next_url")))
            answer = client.json(client.upload(answer["next_url"], Part(handle, offset, length)))
            offset += length
    if not str(answer.get("next_url") or "").rstrip("/").endswith("finish"):
        raise PexipError("After the package upload the Management Node answered no finish step (next_url %r): upload it in the "
                         "Administrator interface (Utilities > Upgrade)." % answer.get("next_url"))
    return answer


def finish(client, url, validate_only):
    """POST the upgrade request's ``finish/``: ``validate_only`` checks the package without upgrading."""
    return client.json(client.request("POST", url, retry=False, json=dict(validate_only=validate_only)), empty={})


def calls_on(row):
    return int(row.get("signaling_count") or 0) + int(row.get("media_tokens_used") or 0)


def node_state(row, target, stopped):
    """Where one node (a status/v1/worker_vm row) is in the rolling upgrade, from published fields only."""
    at_target = bool(row.get("version")) and compare(row["version"], target) == 0
    if at_target and row.get("sync_status") == "SYNCED":
        return "upgraded"
    if not row.get("version"):
        return "not_upgraded"  # never deployed: nothing to upgrade
    if row.get("name") in stopped and not at_target:
        return "not_upgraded"
    if at_target:
        return "in_progress"  # rebooting into the new version
    if row.get("maintenance_mode"):
        return "waiting_calls" if calls_on(row) else "in_progress"
    return "queued"


def progress(rows, target, stopped, previous, now):
    """Per-node state and since when (kept from ``previous`` while unchanged), and the counts."""
    nodes = {}
    for row in sorted(rows, key=lambda r: r.get("name") or ""):
        state = node_state(row, target, stopped)
        before = (previous or {}).get(row.get("name")) or {}
        since = before.get("since") if before.get("state") == state and before.get("since") is not None else now
        nodes[row["name"]] = dict(state=state, since=since, version=row.get("version"), maintenance_mode=row.get("maintenance_mode"),
                                  calls=calls_on(row))
        if UPGRADE_STATUS_SHOWN:
            nodes[row["name"]]["upgrade_status"] = row.get("upgrade_status")
    return nodes


def summary(nodes):
    """``"3/5 upgraded, 1 in progress (cn-2), 1 waiting on live calls (cn-4)"``: one line for the play's output."""
    parts = []
    total = len(nodes)
    for state, label in (("upgraded", None), ("in_progress", "in progress"), ("waiting_calls", "waiting on live calls"),
                         ("queued", "queued"), ("not_upgraded", "not upgraded (stopped)")):
        names = sorted(name for name, node in nodes.items() if node["state"] == state)
        if state == "upgraded":
            parts.append("%d/%d upgraded" % (len(names), total))
        elif names:
            shown = ", ".join(names[:10]) + (" and %d more" % (len(names) - 10) if len(names) > 10 else "")
            parts.append("%d %s (%s)" % (len(names), label, shown))
    return ", ".join(parts)
