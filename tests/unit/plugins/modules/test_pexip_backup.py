# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pexip_backup: validation, check mode, idempotency, the request's end, the checked download and pruning."""

import datetime
import hashlib
import json
import os
import stat

import pytest

from fakes import BASE, Clock, response

from ansible_collections.pexip.infinity.plugins.module_utils import backup as bk
from ansible_collections.pexip.infinity.plugins.module_utils.waiter import Waiter
from ansible_collections.pexip.infinity.plugins.modules import pexip_backup

CFG = "/api/admin/configuration/v1/system_backup/"
REQ = "/api/admin/status/v1/backup_request/"
CREATE = "/api/admin/command/v1/platform/backup_create/"
FILE = b"sealed backup bytes " * 100


def entry(name, date="2026-12-01T01:00:00", blob=FILE):
    return dict(filename=name, date=date, build="1", version="34.0.0", size=len(blob), sha256sum=hashlib.sha256(blob).hexdigest(),
                type="manual", resource_uri="%s%s/" % (CFG, name))


class BackupApi(object):
    """A Management Node's backup endpoints; a backup request ends after ``polls`` reads in ``final`` state."""

    def __init__(self, backups=(), polls=1, final="COMPLETED", blob=FILE, served=None):
        self.backups = [dict(b) for b in backups]
        self.requests = []
        self.polls, self.final, self.blob, self.served = polls, final, blob, served
        self.log = []
        self.headers, self.auth, self.verify = {}, None, None

    def writes(self):
        return [(m, p) for m, p, _b in self.log if m != "GET"]

    def body(self, status, obj):
        return response(status, obj)

    # pylint: disable-next=redefined-outer-name
    def request(self, method, url, timeout=None, verify=None, params=None, json=None, data=None, headers=None, stream=False):
        if url.endswith("/download/"):
            self.streamed = stream
        path = url.replace(BASE, "").partition("?")[0]
        self.log.append((method, path, json))
        if method == "POST" and path == CREATE:
            self.requests.append(dict(id=len(self.requests) + 1, state="QUEUED", message="", download_uri=None, created_at="x", reads=0,
                                      resource_uri="%s%d/" % (REQ, len(self.requests) + 1)))
            return response(202, {"status": "success"})
        if method == "GET" and path == REQ:
            return response(200, dict(meta=dict(next=None), objects=[self.view(r) for r in self.requests]))
        if method == "GET" and path.startswith(REQ):
            request = self.requests[int(path.rstrip("/").split("/")[-1]) - 1]
            request["reads"] += 1
            if request["reads"] >= self.polls and request["state"] != self.final:
                request["state"] = self.final
                if self.final == "COMPLETED":
                    name = "mgr_backup_%d.pexbak" % request["id"]
                    self.backups.append(entry(name, date="2026-12-07T15:00:00", blob=self.blob))
                    request["download_uri"] = "%s%s/download/" % (CFG, name)
                else:
                    request["message"] = "Disk full"
            return response(200, self.view(request))
        if method == "GET" and path == CFG:
            return response(200, dict(meta=dict(next=None), objects=list(self.backups)))
        if method == "GET" and path.endswith("/download/"):
            return self.download(self.served if self.served is not None else self.blob)
        if method == "DELETE" and path.startswith(CFG):
            name = path[len(CFG):].rstrip("/")
            self.backups = [b for b in self.backups if b["filename"] != name]
            return response(204, text="")
        raise AssertionError("unexpected request %s %s" % (method, url))

    def download(self, blob):
        class Streamed(object):
            closed = False

            def iter_content(self, size):
                return (blob[i:i + size] for i in range(0, len(blob), size))

            def close(self):
                Streamed.closed = True

            status_code = 200
            headers = {}
        return Streamed()

    @staticmethod
    def view(request):
        return dict((k, v) for k, v in request.items() if k != "reads")


@pytest.fixture(autouse=True)
def no_sleep(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(pexip_backup, "Waiter", lambda timeout, poll: Waiter(timeout, poll, sleep=clock.sleep, clock=clock))


# -- validation: refused before any request ------------------------------------------------------------------------
@pytest.mark.parametrize("args,fragment", [
    (dict(), "state: present needs passphrase"),
    (dict(passphrase="p" * 1001), "passphrase may have at most 1000 characters, got 1001"),
    (dict(passphrase="p", keep=3), "keep is for state: absent"),
    (dict(passphrase="p", dest="/nonexistent-dir/x.pexbak"), "the directory of dest /nonexistent-dir/x.pexbak does not exist"),
    (dict(passphrase="p", dest="/tmp"), "dest /tmp is a directory"),
    (dict(passphrase="p", wait_timeout=0), "wait_timeout must be at least 1 second"),
    (dict(state="absent"), "state: absent needs filename, keep or older_than"),
    (dict(state="absent", keep=0), "keep must be at least 1, got 0"),
    (dict(state="absent", older_than="30 days"), "older_than must be a number and a unit (s, m, h, d or w), for example 30d; got '30 days'"),
    (dict(state="absent", keep=2, passphrase="p"), "passphrase, dest and force are for state: present"),
])
def test_bad_input_fails_before_any_request(module_run, args, fragment):
    api = BackupApi()
    result = module_run(pexip_backup, api, **args)
    assert result["failed"] and fragment in result["msg"], result["msg"]
    assert result["msg"].startswith("pexip_backup: ")
    assert api.log == []


def test_passphrase_is_never_returned(module_run, tmp_path):
    api = BackupApi()
    result = module_run(pexip_backup, api, passphrase="very-secret-phrase", dest=str(tmp_path / "b.pexbak"), diff=True)
    assert not result.get("failed"), result
    assert "very-secret-phrase" not in json.dumps(result)
    assert api.log[[m for m, _p, _b in api.log].index("POST")][2] == dict(passphrase="very-secret-phrase", request=True)
    assert pexip_backup.ARGUMENT_SPEC["passphrase"]["no_log"] is True


# -- state present ---------------------------------------------------------------------------------------------------
def test_takes_waits_and_downloads_atomically_with_mode_0600(module_run, tmp_path):
    api = BackupApi(backups=[entry("old.pexbak")], polls=3)
    dest = tmp_path / "b.pexbak"
    result = module_run(pexip_backup, api, passphrase="p", dest=str(dest), poll_interval=0.01)
    assert result["changed"] and result["backup"]["filename"] == "mgr_backup_1.pexbak"
    assert result["request"]["state"] == "COMPLETED"
    assert dest.read_bytes() == FILE and stat.S_IMODE(os.stat(dest).st_mode) == 0o600
    assert result["sha256"] == hashlib.sha256(FILE).hexdigest()
    assert [b["filename"] for b in result["backups"]] == ["mgr_backup_1.pexbak", "old.pexbak"]  # newest first
    assert os.listdir(tmp_path) == ["b.pexbak"]  # no temporary file left
    assert api.writes() == [("POST", CREATE)]


def test_streams_with_a_transport_that_can(module_run, tmp_path):
    api = BackupApi()
    dest = tmp_path / "b.pexbak"
    result = module_run(pexip_backup, api, passphrase="p", dest=str(dest))
    assert result["changed"] and dest.read_bytes() == FILE
    assert api.streamed is True


def test_a_second_run_with_the_same_file_changes_nothing(module_run, tmp_path):
    dest = tmp_path / "b.pexbak"
    dest.write_bytes(FILE)
    api = BackupApi(backups=[entry("old.pexbak")])
    result = module_run(pexip_backup, api, passphrase="p", dest=str(dest))
    assert result["changed"] is False and result["backup"]["filename"] == "old.pexbak"
    assert api.writes() == []
    forced = module_run(pexip_backup, api, passphrase="p", dest=str(dest), force=True)
    assert forced["changed"] and api.writes() == [("POST", CREATE)]


def test_check_mode_sends_nothing_and_writes_no_file(module_run, tmp_path):
    api = BackupApi(backups=[entry("old.pexbak")])
    dest = tmp_path / "b.pexbak"
    result = module_run(pexip_backup, api, check_mode=True, diff=True, passphrase="p", dest=str(dest))
    assert result["changed"] and result["backup"] == {}
    assert result["diff"]["after"]["backups"] == ["old.pexbak", "(new backup)"]
    assert api.writes() == [] and not dest.exists() and os.listdir(tmp_path) == []


def test_a_damaged_download_leaves_dest_as_it_was(module_run, tmp_path):
    dest = tmp_path / "b.pexbak"
    dest.write_bytes(b"the previous backup")
    api = BackupApi(served=FILE[:-1] + b"X")
    result = module_run(pexip_backup, api, passphrase="p", dest=str(dest))
    assert result["failed"] and "does not match the backup's sha256sum" in result["msg"], result["msg"]
    assert dest.read_bytes() == b"the previous backup" and os.listdir(tmp_path) == ["b.pexbak"]


def test_a_failed_request_fails_with_its_message(module_run):
    result = module_run(pexip_backup, BackupApi(final="FAILED"), passphrase="p")
    assert result["failed"] and "failed (state FAILED): Disk full" in result["msg"]


def test_a_request_that_does_not_end_fails_after_wait_timeout(module_run):
    result = module_run(pexip_backup, BackupApi(polls=10 ** 6), passphrase="p", wait_timeout=300, poll_interval=10)
    assert result["failed"] and "is still QUEUED after" in result["msg"] and "wait_timeout" in result["msg"], result["msg"]


def test_a_download_uri_on_another_server_is_refused():
    client = type("C", (), {"base": "https://mgr.example.com"})()
    with pytest.raises(bk.PexipError, match="not on the Management Node"):
        bk.download_location(client, dict(download_uri="https://evil.example.com/x"))
    assert bk.download_location(client, dict(download_uri="https://mgr.example.com/a/b/?x=1")) == "/a/b/?x=1"


# -- state absent ------------------------------------------------------------------------------------------------------
NOW = datetime.datetime(2026, 12, 7, tzinfo=datetime.timezone.utc)
DATED = [entry("d%d.pexbak" % days, date=(NOW - datetime.timedelta(days=days)).replace(tzinfo=None).isoformat()) for days in (1, 5, 10, 40, 90)]


@pytest.mark.parametrize("kw,deleted", [
    (dict(keep=2), ["d10.pexbak", "d40.pexbak", "d90.pexbak"]),
    (dict(older_than=30 * 86400), ["d40.pexbak", "d90.pexbak"]),
    (dict(keep=4, older_than=7 * 86400), ["d90.pexbak"]),
    (dict(filenames=["d1.pexbak", "nope"]), ["d1.pexbak"]),
    (dict(filenames=["d1.pexbak"], keep=4), ["d1.pexbak", "d90.pexbak"]),
])
def test_prune_selection(kw, deleted):
    assert sorted(b["filename"] for b in bk.to_prune(DATED, now=NOW, **kw)) == deleted


def test_prune_deletes_and_check_mode_does_not(module_run):
    api = BackupApi(backups=DATED)
    check = module_run(pexip_backup, api, check_mode=True, diff=True, state="absent", keep=3)
    assert check["changed"] and check["deleted"] == ["d40.pexbak", "d90.pexbak"] and api.writes() == []
    assert check["diff"]["after"]["backups"] == ["d1.pexbak", "d10.pexbak", "d5.pexbak"]
    done = module_run(pexip_backup, api, state="absent", keep=3)
    assert done["changed"] and [m for m, _p in api.writes()] == ["DELETE", "DELETE"]
    assert [b["filename"] for b in done["backups"]] == ["d1.pexbak", "d5.pexbak", "d10.pexbak"]
    again = module_run(pexip_backup, api, state="absent", keep=3)
    assert again["changed"] is False and len(api.writes()) == 2


def test_an_unreadable_date_fails_before_any_delete(module_run):
    api = BackupApi(backups=DATED + [entry("odd.pexbak", date="yesterday")])
    result = module_run(pexip_backup, api, state="absent", keep=1)
    assert result["failed"] and "'yesterday', which is not an ISO 8601 time" in result["msg"]
    assert api.writes() == []


@pytest.mark.parametrize("text,seconds", [("30d", 2592000), ("12h", 43200), (" 90m ", 5400), ("2w", 1209600), ("45s", 45), ("3y", None), ("d", None)])
def test_parse_duration(text, seconds):
    assert bk.parse_duration(text) == seconds
