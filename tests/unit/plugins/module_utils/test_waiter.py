# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one polling loop: predicates, backoff from short polls to poll_interval, the deadline, an injected clock."""

import pytest

from ansible_collections.pexip.infinity.plugins.module_utils.waiter import Waiter, wait_argument_spec, wait_errors

from fakes import Clock


def waiter(timeout, poll_interval, **kwargs):
    clock = Clock(now=100.0)
    return Waiter(timeout, poll_interval, sleep=clock.sleep, clock=clock, **kwargs), clock


def test_returns_as_soon_as_the_predicate_holds():
    values = iter([3, 2, 0, 5])
    wait, clock = waiter(60, 10)
    reached, value, elapsed = wait.wait(lambda: next(values), lambda v: v == 0)
    assert reached is True and value == 0
    assert clock.sleeps == [1.0, 2.0] and elapsed == 3.0


def test_polls_back_off_up_to_poll_interval_and_stop_at_the_deadline():
    seen = []
    wait, clock = waiter(30, 10)
    reached, value, elapsed = wait.wait(lambda: "busy", lambda v: False, on_poll=lambda v, t: seen.append(t))
    assert reached is False and value == "busy" and elapsed == 30
    assert clock.sleeps == [1.0, 2.0, 4.0, 8.0, 10.0, 5.0]  # the last sleep ends exactly at the deadline
    assert seen == [0, 1, 3, 7, 15, 25, 30]


def test_short_poll_interval_caps_the_first_poll_too():
    wait, clock = waiter(1, 0.25)
    reached, dummy, dummy2 = wait.wait(lambda: None, lambda v: False)
    assert not reached and set(clock.sleeps) == {0.25} and len(clock.sleeps) == 4


def test_a_probe_that_raises_stops_the_wait():
    class Gone(Exception):
        pass

    def probe():
        raise Gone()

    wait, clock = waiter(60, 10)
    with pytest.raises(Gone):
        wait.wait(probe)
    assert clock.sleeps == []


def test_default_predicate_is_truthiness():
    values = iter([None, {}, {"ok": 1}])
    wait, dummy = waiter(60, 10)
    assert wait.wait(lambda: next(values))[1] == {"ok": 1}


def test_shared_options_and_their_checks():
    spec = wait_argument_spec(wait=True, wait_timeout=900, wait_aliases=["wait_for_idle"])
    assert spec["wait"] == dict(type="bool", default=True, aliases=["wait_for_idle"])
    assert spec["wait_timeout"]["type"] == "int" and spec["wait_timeout"]["default"] == 900
    assert spec["poll_interval"]["type"] == "float"
    assert wait_errors(dict(wait_timeout=0, poll_interval=-1)) == [
        "wait_timeout must be at least 1 second, got 0", "poll_interval must be a positive number of seconds, got -1"]


def test_a_resumed_wait_first_sleeps_and_polls_at_poll_interval_within_the_same_deadline():
    seen = []
    wait, clock = waiter(45, 15, initial_delay=15)
    reached, value, elapsed = wait.wait(lambda: "busy", lambda v: False, on_poll=lambda v, t: seen.append(t))
    assert reached is False and clock.sleeps == [15, 15, 15] and seen == [15.0, 30.0, 45.0] and elapsed == 45.0
