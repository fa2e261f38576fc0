# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pexip_autobackup: validation before any request, check mode, write-only secrets, idempotency."""

import json

import pytest

from fakes import FakeApi

from ansible_collections.pexip.infinity.plugins.modules import pexip_autobackup

URI = "/api/admin/configuration/v1/autobackup/1/"
ENABLE = dict(enabled=True, interval=6, passphrase="pass-phrase-1", upload_url="ftps://backup.example.com/pexip/",
              upload_username="pexip", upload_password="ftp-password-1")


def fake():
    api = FakeApi()
    api.add("autobackup", id=1, resource_uri=URI, autobackup_enabled=False, autobackup_interval=24, autobackup_start_hour=1,
            autobackup_upload_url="", autobackup_upload_username="")
    return api


@pytest.mark.parametrize("args,fragment", [
    (dict(upload_url="sftp://backup.example.com/x"),
     "upload_url must be an ftp:// or ftps:// URL (the Management Node uploads over FTP or FTPS only, not SFTP), got 'sftp://backup.example.com/x'"),
    (dict(upload_url="backup.example.com"), "got 'backup.example.com'"),
    (dict(upload_url="ftp:///pexip"), "upload_url 'ftp:///pexip' names no server"),
    (dict(enabled=True), "enabled: true needs passphrase"),
    (dict(interval=0), "interval must be 1 to 24 hours, got 0"),
    (dict(interval=25), "interval must be 1 to 24 hours, got 25"),
    (dict(start_hour=24), "start_hour must be an hour 0 to 23 (UTC), got 24"),
    (dict(passphrase="p" * 101), "passphrase may have at most 100 characters, got 101"),
    (dict(upload_url="ftp://h/" + "x" * 250), "upload_url may have at most 255 characters"),
    (dict(update_secrets="always"), "update_secrets: always needs passphrase or upload_password"),
])
def test_bad_input_fails_before_any_request(module_run, args, fragment):
    api = fake()
    result = module_run(pexip_autobackup, api, **args)
    assert result["failed"] and fragment in result["msg"], result["msg"]
    assert result["msg"].startswith("pexip_autobackup 'Automatic Backups': ")
    assert api.log == []


def test_enable_then_nothing_to_do_and_secrets_never_returned(module_run):
    api = fake()
    check = module_run(pexip_autobackup, api, check_mode=True, diff=True, **ENABLE)
    assert check["changed"] and api.writes() == []
    assert check["secrets_sent"] == ["passphrase", "upload_password"]
    assert check["diff"]["after"]["autobackup_passphrase"] == "********"
    assert check["settings"]["autobackup_enabled"] is True
    done = module_run(pexip_autobackup, api, diff=True, **ENABLE)
    assert done["changed"] and len(api.writes()) == 1
    method, path, body = api.writes()[0]
    assert (method, path) == ("PATCH", URI)
    assert body == dict(autobackup_enabled=True, autobackup_interval=6, autobackup_passphrase="pass-phrase-1",
                        autobackup_upload_url="ftps://backup.example.com/pexip/", autobackup_upload_username="pexip",
                        autobackup_upload_password="ftp-password-1")
    for result in (check, done):
        text = json.dumps(result)
        assert "pass-phrase-1" not in text and "ftp-password-1" not in text
    again = module_run(pexip_autobackup, api, **ENABLE)
    assert again["changed"] is False and again["secrets_sent"] == [] and len(api.writes()) == 1


def test_a_new_upload_server_resends_only_the_password(module_run):
    api = fake()
    module_run(pexip_autobackup, api, **ENABLE)
    moved = module_run(pexip_autobackup, api, **dict(ENABLE, upload_url="ftp://other.example.com/"))
    assert moved["changed"] and moved["secrets_sent"] == ["upload_password"]
    assert "autobackup_passphrase" not in api.writes()[-1][2]


def test_update_secrets_always_rotates(module_run):
    api = fake()
    module_run(pexip_autobackup, api, **ENABLE)
    rotated = module_run(pexip_autobackup, api, passphrase="pass-phrase-2", update_secrets="always", diff=True)
    assert rotated["changed"] and rotated["secrets_sent"] == ["passphrase"]
    assert api.writes()[-1][2] == dict(autobackup_passphrase="pass-phrase-2")
    assert rotated["diff"]["after"] == dict(autobackup_passphrase="********")


def test_secrets_are_no_log():
    spec = pexip_autobackup.ARGUMENT_SPEC
    assert spec["passphrase"]["no_log"] is True and spec["upload_password"]["no_log"] is True
