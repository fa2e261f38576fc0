# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pexip_cloud_node's start and wait logic against the fake Management Node."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from fakes import Clock, FakeApi, FakeModule, Failed, response

from ansible_collections.pexip.infinity.plugins.module_utils.api import TransportError
from ansible_collections.pexip.infinity.plugins.module_utils.waiter import Waiter
from ansible_collections.pexip.infinity.plugins.modules import pexip_cloud_node

NODE = {"cloud_instance_id": "i-1", "cloud_instance_state": "stopped", "workervm_configuration_name": "cn-burst-1",
        "cloud_instance_launch_time": "2024-05-02T08:00:00"}
COMMAND = "/api/admin/command/v1/platform/start_cloudnode/"


def cloud(commands, states, statuses=None, **params):
    """``commands``: answers of start_cloudnode in turn (a body, or a Response / exception for a failure);
    ``states`` / ``statuses``: successive cloud_instance_state and worker last_updated values (the last one stays)."""
    api = FakeApi(status={"cloud_node": [dict(NODE)], "worker_vm": [dict(name="cn-burst-1", last_updated=None)]})
    states, statuses, commands = list(states), list(statuses or [None]), list(commands)
    api.posts = 0
    api.sleeps = []

    def script(method, path):
        if method == "GET" and path.endswith("/status/v1/cloud_node/"):
            api.status["cloud_node"][0]["cloud_instance_state"] = states.pop(0) if len(states) > 1 else states[0]
        if method == "GET" and path.endswith("/status/v1/worker_vm/"):
            api.status["worker_vm"][0]["last_updated"] = statuses.pop(0) if len(statuses) > 1 else statuses[0]
        if method == "POST" and path == COMMAND:
            api.posts += 1
            answer = commands.pop(0)
            return answer if not isinstance(answer, dict) else response(202, answer)
        return None

    api.faults.append(script)
    params = dict(dict(instance_id="i-1", name=None, wait=False, wait_timeout=5, poll_interval=0.01), **params)
    module = FakeModule(api.client(retries=3, sleep=api.sleeps.append), params)
    return pexip_cloud_node.CloudNode(module), api


def start(node_cloud, api):
    return node_cloud.start(dict(NODE))


def test_start_once():
    node, api = cloud([{"status": "success"}], ["stopped"])
    assert start(node, api) == {"status": "success"}
    assert api.posts == 1


@pytest.mark.parametrize("error", [response(503, text="busy"), TransportError("connection reset by peer")])
def test_lost_answer_but_node_started_is_not_posted_again(error):
    node, api = cloud([error], ["pending"])
    assert start(node, api) == {}
    assert api.posts == 1


def test_lost_answer_and_node_still_stopped_is_posted_again():
    node, api = cloud([response(502, text="bad gateway"), {"status": "success"}], ["stopped"])
    assert start(node, api) == {"status": "success"}
    assert api.posts == 2 and len(api.sleeps) == 1


def test_429_is_retried_without_lookup():
    node, api = cloud([response(429, text="slow down"), {"status": "success"}], [])
    assert start(node, api) == {"status": "success"}
    assert api.posts == 2
    assert [m for m, dummy, dummy2 in api.log] == ["POST", "POST"]  # no lookup in between


def test_400_fails_with_the_instance():
    node, api = cloud([response(400, {"error": "No cloud bursting node with instance id 'i-1'."})], ["stopped"])
    with pytest.raises(Failed) as err:
        start(node, api)
    assert str(err.value) == "module: could not start instance i-1: No cloud bursting node with instance id 'i-1'."
    assert api.posts == 1


def test_gives_up_after_retries():
    node, api = cloud([response(503, text="busy")] * 4, ["stopped"])
    with pytest.raises(Failed):
        start(node, api)
    assert api.posts == 4


def waiter(timeout, poll_interval):
    clock = Clock()
    return Waiter(timeout, poll_interval, sleep=clock.sleep, clock=clock)


def test_wait_needs_a_report_after_the_start():
    since = pexip_cloud_node.parse_time("2024-05-02T09:00:00")
    # old report from before the stop, then running but not yet reported, then a fresh report
    node, api = cloud([], ["pending", "running", "running"], ["2024-05-02T08:30:00", "2024-05-02T08:30:00", "2024-05-02T09:00:05"], wait=True)
    found, status = node.wait(since, waiter(60, 10))
    assert found["cloud_instance_state"] == "running"
    assert status["last_updated"] == "2024-05-02T09:00:05"


def test_wait_times_out():
    node, api = cloud([], ["running"], ["2024-05-02T07:00:00"], wait=True, wait_timeout=1, poll_interval=0.2)
    with pytest.raises(Failed) as err:
        node.wait(None, waiter(1, 0.2))
    assert "has not reported to the Management Node within 1 seconds (last report: 2024-05-02T07:00:00)" in str(err.value)


def test_wait_stops_on_terminated():
    node, api = cloud([], ["terminated"], [None], wait=True)
    with pytest.raises(Failed) as err:
        node.wait(None, waiter(60, 10))
    assert "is terminated" in str(err.value)


def test_match_by_name():
    node, api = cloud([], ["stopped"], instance_id=None, name="cn-burst-1")
    assert node.find()["cloud_instance_id"] == "i-1"
    node, api = cloud([], ["stopped"], instance_id=None, name="other")
    assert node.find() is None
