# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pexip_backup state=restored: refused before any write, the version check, the streamed form, the marker, the wait."""

import hashlib
import json
import os
import stat

import pytest
import requests
from requests_toolbelt import MultipartEncoder

from fakes import BASE, Clock, response

from ansible_collections.pexip.infinity.plugins.module_utils import backup as bk
from ansible_collections.pexip.infinity.plugins.module_utils.waiter import Waiter
from ansible_collections.pexip.infinity.plugins.modules import pexip_backup

CFG = "/api/admin/configuration/v1/system_backup/"
MGMT = "/api/admin/status/v1/management_vm/"
RESTORE = "/api/admin/command/v1/platform/backup_restore/"
FILE = b"sealed backup bytes \x00\xff" * 100
SHA = hashlib.sha256(FILE).hexdigest()


class RestoreApi(object):
    """A Management Node that lists ``backups``, runs ``running``, and after a restore drops ``down`` requests."""

    def __init__(self, backups=(), running="34.0.0", down=2, answer=None):
        self.backups = list(backups)
        self.running, self.down, self.answer = running, down, answer
        self.log, self.form = [], None
        self.restoring = False
        self.headers, self.auth, self.verify = {}, None, None

    def writes(self):
        return [(m, p) for m, p in self.log if m != "GET"]

    # pylint: disable-next=unused-argument
    def request(self, method, url, timeout=None, verify=None, params=None, json=None, data=None, headers=None, stream=False):
        path = url.replace(BASE, "").partition("?")[0]
        self.log.append((method, path))
        if method == "POST" and path == RESTORE:
            assert isinstance(data, MultipartEncoder)  # streamed, not a body read into memory
            self.form = dict((name, value if isinstance(value, str) else value[1].read()) for name, value in data.fields.items())
            if self.answer is not None:
                return self.answer
            self.restoring = True
            return response(202, {"status": "success"})
        if self.restoring and self.down > 0:
            self.down -= 1
            raise requests.exceptions.ConnectionError("Connection reset by peer")
        if method == "GET" and path == CFG:
            return response(200, dict(meta=dict(next=None), objects=list(self.backups)))
        if method == "GET" and path == MGMT:
            return response(200, dict(meta=dict(next=None), objects=[dict(id=1, primary=True, version=self.running)]))
        raise AssertionError("unexpected request %s %s" % (method, url))


def listed(version="34.0.0", blob=FILE):
    return dict(filename="mgr_backup_1.pexbak", date="2026-12-07T15:00:00", build="1", version=version, size=len(blob),
                sha256sum=hashlib.sha256(blob).hexdigest(), type="manual", resource_uri=CFG + "mgr_backup_1.pexbak/")


@pytest.fixture(autouse=True)
def clock(monkeypatch):
    fake = Clock()
    monkeypatch.setattr(pexip_backup, "Waiter", lambda timeout, poll: Waiter(timeout, poll, sleep=fake.sleep, clock=fake))
    return fake


@pytest.fixture
def src(tmp_path):
    path = tmp_path / "b.pexbak"
    path.write_bytes(FILE)
    return str(path)


@pytest.mark.parametrize("args,fragment", [
    (dict(state="restored"), "state: restored needs passphrase"),
    (dict(state="restored", passphrase="p"), "state: restored needs src"),
    (dict(state="restored", passphrase="p", src="/nonexistent/b.pexbak"), "src /nonexistent/b.pexbak is not a file"),
    (dict(state="restored", passphrase="p", src="SRC", version=" "), "version must be the Pexip Infinity version"),
    (dict(state="restored", passphrase="p", src="SRC", creates="/nonexistent/marker"), "the directory of creates /nonexistent/marker"),
    (dict(state="restored", passphrase="p", src="SRC", keep=2), "keep is not for state: restored"),
    (dict(state="restored", passphrase="p", src="SRC", force=True), "force is not for state: restored"),
    (dict(passphrase="p", src="SRC"), "src is for state: restored"),
])
def test_bad_input_fails_before_any_request(module_run, src, args, fragment):
    api = RestoreApi()
    args = dict((k, src if v == "SRC" else v) for k, v in args.items())
    result = module_run(pexip_backup, api, **args)
    assert result["failed"] and fragment in result["msg"], result["msg"]
    assert api.log == []


def test_restores_streamed_writes_the_marker_and_waits_for_the_restart(module_run, src, tmp_path, clock):
    api = RestoreApi(backups=[listed()])
    marker = str(tmp_path / "b.pexbak.restored")
    result = module_run(pexip_backup, api, state="restored", src=src, passphrase="very-secret-phrase", creates=marker, diff=True)
    assert not result.get("failed"), result
    assert result["changed"] and result["restored"] and result["sha256"] == SHA
    assert result["version"] == {"backup": "34.0.0", "running": "34.0.0", "from": "system_backup"}
    assert api.form == {"package": FILE, "passphrase": "very-secret-phrase"}
    assert api.writes() == [("POST", RESTORE)]
    # it waited through the restart: the API was gone, then answered
    assert api.down == 0 and api.log[-1] == ("GET", MGMT) and clock.sleeps
    assert json.load(open(marker))["sha256"] == SHA and stat.S_IMODE(os.stat(marker).st_mode) == 0o600
    assert "very-secret-phrase" not in json.dumps(result)
    assert pexip_backup.ARGUMENT_SPEC["passphrase"]["no_log"] is True
    # the marker makes a second run a no-op, with no request at all
    again = RestoreApi(backups=[listed()])
    result = module_run(pexip_backup, again, state="restored", src=src, passphrase="p", creates=marker)
    assert result["changed"] is False and result["restored"] is False and again.log == []


def test_check_mode_sends_nothing_and_writes_no_marker(module_run, src, tmp_path):
    api = RestoreApi(backups=[listed()])
    marker = tmp_path / "m"
    result = module_run(pexip_backup, api, check_mode=True, state="restored", src=src, passphrase="p", creates=str(marker))
    assert result["changed"] and result["restored"] and api.writes() == [] and not marker.exists()


def test_the_form_field_is_configurable(module_run, src):
    api = RestoreApi(backups=[listed()])
    module_run(pexip_backup, api, state="restored", src=src, passphrase="p", package_field="file", wait=False)
    assert set(api.form) == {"file", "passphrase"}


@pytest.mark.parametrize("backups,running,version,fragment", [
    ([], "34.0.0", None, "the Management Node does not list it"),
    ([listed("33.1.0")], "34.0.0", None, "was taken on version 33.1.0 (from system_backup), but the Management Node runs 34.0.0"),
    ([], "34.0.0", "33.1.0", "was taken on version 33.1.0 (from version), but the Management Node runs 34.0.0"),
    ([listed("34.0.0")], "34.0.0", "33.1.0", "of version 34.0.0, but version says 33.1.0"),
    ([], "", "34.0.0", "reports no software version"),
])
def test_an_unknown_or_other_version_is_refused_before_the_restore(module_run, src, backups, running, version, fragment):
    api = RestoreApi(backups=backups, running=running)
    result = module_run(pexip_backup, api, state="restored", src=src, passphrase="p", version=version)
    assert result["failed"] and fragment in result["msg"], result["msg"]
    assert "Nothing was restored" in result["msg"] or "check which file" in result["msg"]
    assert api.writes() == []


def test_a_stated_version_restores_a_backup_the_new_management_node_does_not_list(module_run, src):
    api = RestoreApi()
    result = module_run(pexip_backup, api, state="restored", src=src, passphrase="p", version="34.0.0")
    assert result["restored"] and result["version"]["from"] == "version" and result["backup"] == {}


def test_a_refused_restore_fails_with_the_answer_and_writes_no_marker(module_run, src, tmp_path):
    api = RestoreApi(backups=[listed()], answer=response(400, {"error": "The backup could not be decrypted: the passphrase is wrong"}))
    marker = tmp_path / "m"
    result = module_run(pexip_backup, api, state="restored", src=src, passphrase="p", creates=str(marker))
    assert result["failed"] and "could not be decrypted" in result["msg"], result["msg"]
    assert not marker.exists()


def test_a_management_node_that_does_not_come_back_fails_after_wait_timeout_and_keeps_the_marker(module_run, src, tmp_path):
    api = RestoreApi(backups=[listed()], down=10 ** 6)
    marker = tmp_path / "m"
    result = module_run(pexip_backup, api, state="restored", src=src, passphrase="p", creates=str(marker), wait_timeout=30)
    assert result["failed"] and "has not answered again after" in result["msg"] and str(marker) in result["msg"], result["msg"]
    assert marker.exists()


def test_wait_back_needs_the_api_gone_or_the_grace_time():
    clock = Clock()

    class Client(object):
        def __init__(self):
            self.calls = 0

        def request(self, *args, **kwargs):
            self.calls += 1

    client = Client()
    back, elapsed = bk.wait_back(client, Waiter(600, 10, sleep=clock.sleep, clock=clock), grace=60)
    assert back and elapsed >= 60 and client.calls > 1
    assert bk.compatible("34.0.0", "34.0.0") and not bk.compatible("34.0.0", "34.1.0") and not bk.compatible("", "")
