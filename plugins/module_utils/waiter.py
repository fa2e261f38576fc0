# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one polling loop of the collection (model: kubernetes.core ``k8s/waiter.py``) and its shared options.

    waiter = Waiter(timeout=p["wait_timeout"], poll_interval=p["poll_interval"])
    ok, value, elapsed = waiter.wait(probe, predicate)

``probe()`` reads the state (it may raise to stop early), ``predicate(value)`` says whether it is the one wanted.
Polls start short (``first_interval``) and back off up to ``poll_interval``; the clock and sleep are injectable.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time


def wait_argument_spec(wait=False, wait_timeout=600, poll_interval=10, wait_aliases=None, wait_timeout_aliases=None):
    """``wait``, ``wait_timeout``, ``poll_interval``: the same names and types in every module that waits
    (doc fragment ``pexip.infinity.wait``; a module documents its own defaults)."""
    return dict(
        wait=dict(type="bool", default=wait, aliases=list(wait_aliases or [])),
        wait_timeout=dict(type="int", default=wait_timeout, aliases=list(wait_timeout_aliases or [])),
        poll_interval=dict(type="float", default=poll_interval),
    )


def wait_errors(params):
    errors = []
    if params.get("wait_timeout") is not None and params["wait_timeout"] < 1:
        errors.append("wait_timeout must be at least 1 second, got %s" % params["wait_timeout"])
    if params.get("poll_interval") is not None and params["poll_interval"] <= 0:
        errors.append("poll_interval must be a positive number of seconds, got %s" % params["poll_interval"])
    return errors


class Waiter(object):
    def __init__(self, timeout, poll_interval, first_interval=1.0, sleep=None, clock=None, initial_delay=0):
        self.timeout = timeout
        self.poll_interval = poll_interval
        self.first_interval = min(first_interval, poll_interval)
        # A caller that resumes an earlier wait (bounded steps that show progress) neither checks at once nor starts
        # the short checks again: it polls no more often than one long wait would.
        self.initial_delay = initial_delay
        self.sleep = sleep or time.sleep
        self.clock = clock or time.monotonic

    def wait(self, probe, predicate=bool, on_poll=None):
        """Poll until ``predicate(probe())``; returns ``(reached, last value, seconds waited)``.

        ``on_poll(value, elapsed)`` sees every value (progress logs).
        """
        start = self.clock()
        interval = self.first_interval
        if self.initial_delay > 0:
            self.sleep(min(self.initial_delay, self.timeout))
            interval = self.poll_interval
        while True:
            value = probe()
            elapsed = self.clock() - start
            if on_poll is not None:
                on_poll(value, elapsed)
            if predicate(value):
                return True, value, elapsed
            remaining = self.timeout - elapsed
            if remaining <= 0:
                return False, value, elapsed
            self.sleep(min(interval, remaining))
            interval = min(interval * 2, self.poll_interval)
