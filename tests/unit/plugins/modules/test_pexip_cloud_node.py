# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pexip_cloud_node's start and wait logic against a fake module and client."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.pexip.infinity.plugins.module_utils.api import PexipApiError
from ansible_collections.pexip.infinity.plugins.modules import pexip_cloud_node

NODE = {"cloud_instance_id": "i-1", "cloud_instance_state": "stopped", "workervm_configuration_name": "cn-burst-1",
        "cloud_instance_launch_time": "2024-05-02T08:00:00"}


class Failed(Exception):
    pass


class FakeClient(object):
    retries = 3
    backoff = 0.0
    max_backoff = 0.0

    def __init__(self, commands, states, statuses=None):
        self.commands = list(commands)  # dict answers or PexipApiError to raise
        self.states = list(states)      # successive cloud_instance_state values seen by list()
        self.statuses = list(statuses or [])
        self.posts = 0
        self.sleeps = []

    def sleep(self, seconds):
        self.sleeps.append(seconds)

    def command(self, scope, action, data):
        assert (scope, action, data) == ("platform", "start_cloudnode", {"instance_id": "i-1"})
        self.posts += 1
        answer = self.commands.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    def list(self, resource, api="configuration", **filters):
        if resource == "cloud_node":
            state = self.states.pop(0) if len(self.states) > 1 else self.states[0]
            return [dict(NODE, cloud_instance_state=state)]
        assert resource == "worker_vm" and filters == {"name": "cn-burst-1"}
        status = self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
        return [dict(name="cn-burst-1", last_updated=status)]


class FakeModule(object):
    def __init__(self, client, **params):
        self.client = client
        self.params = dict(instance_id="i-1", name=None, wait=False, wait_timeout=5, poll_interval=0.01)
        self.params.update(params)
        self.failed = None

    def call(self, func, *args, **kwargs):
        return func(*args, **kwargs)

    def fail(self, msg, **kwargs):
        self.failed = msg
        raise Failed(msg)


def cloud(commands, states, statuses=None, **params):
    client = FakeClient(commands, states, statuses)
    return pexip_cloud_node.CloudNode(FakeModule(client, **params)), client


def test_start_once():
    node, client = cloud([{"status": "success"}], ["stopped"])
    assert node.start(dict(NODE)) == {"status": "success"}
    assert client.posts == 1


@pytest.mark.parametrize("error", [PexipApiError("POST ... answered HTTP 503", status=503),
                                   PexipApiError("POST ... failed: cannot reach the Management Node", status=None)])
def test_lost_answer_but_node_started_is_not_posted_again(error):
    node, client = cloud([error], ["pending"])
    assert node.start(dict(NODE)) == {}
    assert client.posts == 1


def test_lost_answer_and_node_still_stopped_is_posted_again():
    node, client = cloud([PexipApiError("x", status=502), {"status": "success"}], ["stopped"])
    assert node.start(dict(NODE)) == {"status": "success"}
    assert client.posts == 2 and len(client.sleeps) == 1


def test_429_is_retried_without_lookup():
    node, client = cloud([PexipApiError("x", status=429), {"status": "success"}], [])
    assert node.start(dict(NODE)) == {"status": "success"}
    assert client.posts == 2


def test_400_fails_with_the_instance():
    node, client = cloud([PexipApiError("No cloud bursting node with instance id 'i-1'.", status=400)], ["stopped"])
    with pytest.raises(Failed) as err:
        node.start(dict(NODE))
    assert str(err.value) == "could not start instance i-1: No cloud bursting node with instance id 'i-1'."
    assert client.posts == 1


def test_gives_up_after_retries():
    node, client = cloud([PexipApiError("x", status=503)] * 4, ["stopped"])
    with pytest.raises(Failed):
        node.start(dict(NODE))
    assert client.posts == 4


def test_wait_needs_a_report_after_the_start():
    since = pexip_cloud_node.parse_time("2024-05-02T09:00:00")
    # old report from before the stop, then running but not yet reported, then a fresh report
    node, client = cloud([], ["pending", "running", "running"], ["2024-05-02T08:30:00", "2024-05-02T08:30:00", "2024-05-02T09:00:05"], wait=True)
    found, status = node.wait(since)
    assert found["cloud_instance_state"] == "running"
    assert status["last_updated"] == "2024-05-02T09:00:05"


def test_wait_times_out():
    node, client = cloud([], ["running"], ["2024-05-02T07:00:00"], wait=True, wait_timeout=1, poll_interval=0.2)
    with pytest.raises(Failed) as err:
        node.wait(None)
    assert "has not reported to the Management Node within 1 seconds (last report: 2024-05-02T07:00:00)" in str(err.value)


def test_wait_stops_on_terminated():
    node, client = cloud([], ["terminated"], [None], wait=True)
    with pytest.raises(Failed) as err:
        node.wait(None)
    assert "is terminated" in str(err.value)


def test_match_by_name():
    node, client = cloud([], ["stopped"], instance_id=None, name="cn-burst-1")
    assert node.find()["cloud_instance_id"] == "i-1"
    node, client = cloud([], ["stopped"], instance_id=None, name="other")
    assert node.find() is None
