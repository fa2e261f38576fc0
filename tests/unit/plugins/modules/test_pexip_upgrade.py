# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pexip_upgrade: refusals before any write, idempotency on the target version, check mode, the validate-only step
before the upgrade, the fleet watch (one request per poll, states, stall and deadline failures)."""

import os

import pytest

from fakes import BASE, Clock, response

from ansible_collections.pexip.infinity.plugins.module_utils import upgrade as up
from ansible_collections.pexip.infinity.plugins.module_utils.api import PexipConnectionError
from ansible_collections.pexip.infinity.plugins.module_utils.waiter import Waiter
from ansible_collections.pexip.infinity.plugins.modules import pexip_upgrade

CMD = "/api/admin/command/v1/platform/upgrade/"
REQ = "/api/admin/configuration/v1/upgrade_request/1/"
MGMT = "/api/admin/status/v1/management_vm/"
FLEET = "/api/admin/status/v1/worker_vm/"


class UpgradeApi(object):
    """The Management Node's upgrade endpoints; ``holds``: the version the uploaded package carries."""

    def __init__(self, running="34.0.0", holds="35.0.0", fleet=None, away=0):
        self.running, self.holds, self.fleet, self.away = running, holds, list(fleet or []), away
        self.log = []
        self.received = 0
        self.headers, self.auth, self.verify = {}, None, None

    def writes(self):
        return [(m, p) for m, p, _b in self.log if m != "GET"]

    # pylint: disable-next=redefined-outer-name
    def request(self, method, url, timeout=None, verify=None, params=None, json=None, data=None, headers=None):
        path = url.replace(BASE, "").partition("?")[0]
        self.log.append((method, path, json))
        if method == "GET" and path == MGMT:
            if self.away:
                self.away -= 1
                raise PexipConnectionError("refused", sent=False)
            return response(200, dict(meta=dict(next=None), objects=[dict(primary=True, version=self.running)]))
        if method == "GET" and path == FLEET:
            rows = self.fleet.pop(0) if len(self.fleet) > 1 else self.fleet[0]
            return response(200, dict(meta=dict(next=None), objects=rows))
        if method == "POST" and path == CMD:
            self.total = json["total_size"]
            return response(202, dict(ok=True, upload_id=1, next_url=REQ + "upload/"))
        if method == "POST" and path == REQ + "upload/":
            self.received += sum(len(block) for block in data)
            return response(200, dict(ok=True, next_url=REQ + ("finish/" if self.received >= self.total else "upload/")))
        if method == "POST" and path == REQ + "finish/":
            return response(200 if json["validate_only"] else 202, dict(ok=True, upgrade=dict(version=self.holds), current=dict(version=self.running)))
        raise AssertionError("unexpected request %s %s" % (method, url))


@pytest.fixture(autouse=True)
def fast(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(pexip_upgrade, "Waiter", lambda timeout, poll: Waiter(timeout, poll, sleep=clock.sleep, clock=clock))
    monkeypatch.setattr(up, "CHUNK_SIZE", 100)
    return clock


@pytest.fixture
def package(tmp_path):
    path = tmp_path / "pexip-35.tar"
    path.write_bytes(b"x" * 250)
    return str(path)


def test_at_the_target_version_nothing_is_written(module_run, package):
    api = UpgradeApi(running="35.0.0")
    result = module_run(pexip_upgrade, api, version="35.0", package=package)
    assert not result.get("failed") and result["changed"] is False and result["from_version"] == "35.0.0"
    assert api.writes() == []


@pytest.mark.parametrize("args,fragment", [
    (dict(version="35.0.0", package="/nonexistent/pexip.tar"), "package /nonexistent/pexip.tar does not exist or is not a file"),
    (dict(version="35.0.0", package="/tmp"), "package /tmp does not exist or is not a file"),
    (dict(version="thirty-five"), "version must be a dotted software version such as 35.0.0, got 'thirty-five'"),
    (dict(version="35.0.0", wait_for="nodes", validate_only=True), "wait_for watches an upgrade already started"),
])
def test_bad_input_fails_before_any_request(module_run, args, fragment):
    api = UpgradeApi()
    result = module_run(pexip_upgrade, api, **args)
    assert result["failed"] and fragment in result["msg"] and result["msg"].startswith("pexip_upgrade: "), result["msg"]
    assert api.log == []


def test_an_empty_package_is_refused(module_run, tmp_path):
    empty = tmp_path / "empty.tar"
    empty.write_bytes(b"")
    api = UpgradeApi()
    result = module_run(pexip_upgrade, api, version="35.0.0", package=str(empty))
    assert result["failed"] and "is empty: download it from Pexip again" in result["msg"] and api.log == []


def test_a_version_lower_than_the_running_one_is_refused_without_a_write(module_run, package):
    api = UpgradeApi(running="35.1.0")
    result = module_run(pexip_upgrade, api, version="35.0.0", package=package)
    assert result["failed"] and "version 35.0.0 is lower than the version the Management Node runs (35.1.0)" in result["msg"]
    assert "give version 35.1.0 or later" in result["msg"] and api.writes() == []


def test_no_package_when_one_is_needed_is_refused_without_a_write(module_run):
    api = UpgradeApi()
    result = module_run(pexip_upgrade, api, version="35.0.0")
    assert result["failed"] and "runs 34.0.0, not 35.0.0, and no package was given" in result["msg"] and api.writes() == []


def test_check_mode_writes_nothing(module_run, package):
    api = UpgradeApi()
    result = module_run(pexip_upgrade, api, check_mode=True, diff=True, version="35.0.0", package=package)
    assert result["changed"] is True and result["diff"] == dict(before=dict(version="34.0.0"), after=dict(version="35.0.0"))
    assert api.writes() == []


def test_the_package_is_streamed_in_chunks_validated_then_the_upgrade_starts(module_run, package):
    api = UpgradeApi()
    result = module_run(pexip_upgrade, api, version="35.0.0", package=package)
    assert result["changed"] is True and result["validated"]["upgrade"]["version"] == "35.0.0"
    assert [p.rsplit("/", 2)[-2] for _m, p in api.writes()] == ["upgrade", "upload", "upload", "upload", "finish", "finish"]
    assert api.total == api.received == 250
    assert [b for m, p, b in api.log if p.endswith("finish/")] == [dict(validate_only=True), dict(validate_only=False)]


def test_validate_only_never_starts_the_upgrade(module_run, package):
    api = UpgradeApi()
    result = module_run(pexip_upgrade, api, version="35.0.0", package=package, validate_only=True)
    assert result["changed"] is False
    assert [b for m, p, b in api.log if p.endswith("finish/")] == [dict(validate_only=True)]


def test_a_package_of_another_version_is_not_installed(module_run, package):
    api = UpgradeApi(holds="36.0.0")
    result = module_run(pexip_upgrade, api, version="35.0.0", package=package)
    assert result["failed"] and "holds version 36.0.0, not version 35.0.0" in result["msg"] and "Nothing was upgraded" in result["msg"]
    assert [b for m, p, b in api.log if p.endswith("finish/")] == [dict(validate_only=True)]


def test_the_management_node_watch_sees_it_away_and_back(module_run):
    api = UpgradeApi(running="35.0.0", away=2)
    result = module_run(pexip_upgrade, api, version="35.0.0", wait_for="management_node", poll_interval=1)
    assert result["done"] and result["management_node"] == dict(away=True, version="35.0.0")
    assert api.writes() == []


def row(name, version="34.0.0", maintenance=False, calls=0, sync="SYNCED"):
    return dict(name=name, version=version, maintenance_mode=maintenance, signaling_count=calls, media_tokens_used=calls, sync_status=sync,
                upgrade_status="X")


def test_the_fleet_watch_reads_one_request_per_poll_until_every_node_is_upgraded(module_run):
    polls = [
        [row("cn-1", maintenance=True), row("cn-2", maintenance=True, calls=2), row("cn-3"), row("cn-4", maintenance=True, sync="UNKNOWN")],
        [row("cn-1", "35.0.0", sync="UNKNOWN"), row("cn-2", maintenance=True, calls=2), row("cn-3", maintenance=True), row("cn-4", sync="UNKNOWN")],
        [row("cn-1", "35.0.0"), row("cn-2", "35.0.0"), row("cn-3", "35.0.0"), row("cn-4", sync="UNKNOWN")],
    ]
    api = UpgradeApi(fleet=polls)
    result = module_run(pexip_upgrade, api, version="35.0.0", wait_for="nodes", stopped_nodes=["cn-4"], poll_interval=1)
    assert result["done"] and result["summary"] == "3/4 upgraded, 1 not upgraded (stopped) (cn-4)"
    assert result["nodes"]["cn-4"]["state"] == "not_upgraded" and api.writes() == []
    assert [p for _m, p, _b in api.log] == [FLEET] * 3  # one request per poll for the whole fleet
    first = up.progress(polls[0], "35.0.0", {"cn-4"}, {}, 0)
    assert up.summary(first) == ("0/4 upgraded, 1 in progress (cn-1), 1 waiting on live calls (cn-2), 1 queued (cn-3), "
                                 "1 not upgraded (stopped) (cn-4)")


def test_a_step_that_runs_out_of_time_is_not_a_failure_and_keeps_since(module_run, monkeypatch):
    monkeypatch.setattr(pexip_upgrade.time, "time", lambda: 1000.0)
    api = UpgradeApi(fleet=[[row("cn-1", maintenance=True), row("cn-2", "35.0.0")]])
    result = module_run(pexip_upgrade, api, version="35.0.0", wait_for="nodes", wait_timeout=5, poll_interval=1,
                        progress={"cn-1": {"state": "in_progress", "since": 970.0}})
    assert not result.get("failed") and result["done"] is False and result["progress"]["cn-1"] == dict(state="in_progress", since=970.0)


def test_a_node_that_stalls_fails_naming_it(module_run, monkeypatch):
    monkeypatch.setattr(pexip_upgrade.time, "time", lambda: 1000.0)
    api = UpgradeApi(fleet=[[row("cn-1", maintenance=True), row("cn-2", maintenance=True, calls=1), row("cn-3", "35.0.0")]])
    result = module_run(pexip_upgrade, api, version="35.0.0", wait_for="nodes", stall_timeout=600, poll_interval=1,
                        progress={"cn-1": {"state": "in_progress", "since": 100.0}, "cn-2": {"state": "waiting_calls", "since": 100.0}})
    assert result["failed"] and "Conferencing Node(s) cn-1 have been upgrading for more than 600 seconds" in result["msg"]
    assert "cn-2" not in result["msg"].split("Progress:")[0]  # waiting on calls is not a stall
    assert "1 waiting on live calls (cn-2)" in result["msg"]


def test_the_deadline_fails_naming_what_is_not_done(module_run, monkeypatch):
    monkeypatch.setattr(pexip_upgrade.time, "time", lambda: 1000.0)
    api = UpgradeApi(fleet=[[row("cn-1", maintenance=True, calls=1), row("cn-2", "35.0.0")]])
    result = module_run(pexip_upgrade, api, version="35.0.0", wait_for="nodes", deadline=999.0, poll_interval=1)
    assert result["failed"] and "not done by the deadline: cn-1 are not upgraded yet" in result["msg"]


def test_part_reads_its_slice_only(tmp_path):
    path = tmp_path / "f"
    path.write_bytes(bytes(range(256)) * 4)
    with open(str(path), "rb") as handle:
        part = up.Part(handle, 10, 1000, block=64)
        assert len(part) == 1000 and b"".join(part) == (bytes(range(256)) * 4)[10:1010]
    assert up.compare("35", "35.0.0") == 0 and up.compare("34.1", "34.0.9") == 1 and os.path.exists(str(path))
