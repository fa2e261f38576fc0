#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: pexip_upgrade
short_description: Upgrade the software of a Pexip Infinity platform and watch its rolling upgrade
version_added: 0.2.0
author: pexip.infinity contributors (@pexip)
description:
  - B(Start) (no O(wait_for)) - brings the platform to O(version), the idempotency key - when the Management Node
    already runs O(version) the module does nothing (no write, C(changed=false)), so a run after an interruption picks
    up where the platform is. Otherwise it streams O(package) from the host the module runs on to the Management
    Node (C(command/v1/platform/upgrade/) and C(configuration/v1/upgrade_request/); the file is never read into
    memory), has Pexip check it first (the request's C(finish/) with C(validate_only)), and then starts the upgrade.
  - Pexip then upgrades the Management Node, which reboots, and then the Conferencing Nodes, at most 10 at a time in
    maintenance mode, each once its calls have cleared (a node whose calls have not cleared after an hour leaves
    maintenance mode and goes to the back of the queue); bursting nodes are started and upgraded after the others.
  - B(Watch) (O(wait_for)) - no write. V(management_node) waits until the Management Node answers again on
    O(version). V(nodes) reads the whole fleet's status (C(status/v1/worker_vm), one request per poll) until every
    node but O(stopped_nodes) runs O(version), and returns each node's state (RV(nodes)) and a one-line RV(summary).
    A watch that runs out of O(wait_timeout) is not a failure (RV(done=false)); a playbook waits in bounded steps,
    printing RV(summary) at each. It fails when a node stays in progress longer than O(stall_timeout) or the run
    passes O(deadline), naming the nodes and what to do.
  - How the package is uploaded (the order of the upgrade request's calls) is not published by Pexip; the module's
    choice is in C(module_utils/upgrade.py) and listed in the collection's C(docs/lab.md).
extends_documentation_fragment:
  - pexip.infinity.api
  - pexip.infinity.attributes
options:
  version:
    description:
      - The software version the platform must run, for example V(35.0.0) (as C(status/v1/management_vm) reports it).
      - A version lower than the one running is refused.
    type: str
    required: true
  package:
    description:
      - Path of the upgrade package (the C(.tar) file from Pexip) on the host the module runs on. Needed only when the
        platform is not at O(version). Never read into memory.
    type: path
  validate_only:
    description:
      - Upload the package and have Pexip check it, without upgrading (C(changed=false)).
    type: bool
    default: false
  wait_for:
    description:
      - Watch instead of start (see the description). V(management_node) or V(nodes).
    type: str
    choices: [management_node, nodes]
  stopped_nodes:
    description:
      - With O(wait_for=nodes), the names of the nodes whose instances the operator had stopped before the upgrade.
        They are reported as not upgraded and not waited for (Pexip upgrades each when it is started again).
    type: list
    elements: str
    default: []
  progress:
    description:
      - With O(wait_for=nodes), RV(progress) of the previous watch step (since when each node is in its state), for
        O(stall_timeout) across steps.
    type: dict
    default: {}
  stall_timeout:
    description:
      - With O(wait_for=nodes), seconds a node may stay in progress (in maintenance mode without calls, or rebooting)
        before the module fails naming it. V(0) - no limit. Time waiting on live calls does not count (Pexip re-queues
        such a node itself after an hour).
    type: int
    default: 1800
  deadline:
    description:
      - With O(wait_for), the time (seconds since the epoch) by which the upgrade must be done; the module fails once
        it has passed, naming what is not done. V(0) - none.
    type: float
    default: 0
  wait_timeout:
    description:
      - With O(wait_for), the seconds this step watches at most (a playbook loops over steps of about 50 seconds).
    type: int
    default: 50
  poll_interval:
    description:
      - With O(wait_for), the longest time in seconds between two polls (the first polls come sooner).
    type: float
    default: 10
notes:
  - Check mode sends no write; it reports whether the upgrade would start.
  - Take a backup (M(pexip.infinity.pexip_backup)) and snapshots before an upgrade; C(playbooks/upgrade.yml) does.
seealso:
  - module: pexip.infinity.pexip_backup
  - name: Upgrading the Pexip Infinity platform
    description: Pexip's documentation of the upgrade.
    link: https://docs.pexip.com/admin/upgrading.htm
"""

EXAMPLES = r"""
- name: Upload the package, have Pexip check it, and start the upgrade (nothing to do when already at 35.0.0)
  pexip.infinity.pexip_upgrade:
    version: "35.0.0"
    package: "{{ upgrade_package }}"  # upgrade_package: the path of Pexip's upgrade file on the controller
  register: upgrade

- name: Wait until the Management Node is back on the new version (steps of 50 seconds)
  pexip.infinity.pexip_upgrade:
    version: "35.0.0"
    wait_for: management_node
    wait_timeout: 50
  register: manager_back
  loop: "{{ range(0, 1800, 50) | list }}"
  loop_control:
    break_when: manager_back.done
    label: "{{ manager_back.summary | default('') }}"
  when: upgrade is changed

- name: Watch the Conferencing Nodes, one line of progress a step
  pexip.infinity.pexip_upgrade:
    version: "35.0.0"
    wait_for: nodes
    progress: "{{ fleet.progress | default({}) }}"
    stall_timeout: 1800
    wait_timeout: 50
  register: fleet
  loop: "{{ range(0, 7200, 50) | list }}"
  loop_control:
    break_when: fleet.done or fleet is failed
    label: "{{ fleet.summary | default('') }}"
"""

RETURN = r"""
from_version:
  description: The Management Node's version before this run.
  returned: without wait_for
  type: str
  sample: "34.0.0"
version:
  description: The target version.
  returned: success
  type: str
  sample: "35.0.0"
validated:
  description: The Management Node's answer to the validate-only step (its C(current) and C(upgrade) versions).
  returned: when the package was uploaded
  type: dict
done:
  description: With O(wait_for), whether what it watches is done.
  returned: with wait_for
  type: bool
summary:
  description: One line of progress, for example C(3/5 upgraded, 1 in progress (cn-2), 1 waiting on live calls (cn-4)).
  returned: with wait_for
  type: str
nodes:
  description:
    - With O(wait_for=nodes), each node's C(state) (C(upgraded), C(in_progress), C(waiting_calls), C(queued),
      C(not_upgraded)), C(since) (epoch seconds), C(version), C(maintenance_mode), C(calls) and C(upgrade_status) (as
      reported; its values are not published), by name.
  returned: with wait_for=nodes
  type: dict
progress:
  description: What O(progress) of the next watch step takes.
  returned: with wait_for=nodes
  type: dict
management_node:
  description: With O(wait_for=management_node), C(version) (null while it does not answer) and C(away) (it did not
    answer at some poll of this step).
  returned: with wait_for=management_node
  type: dict
"""

import os
import time

from ansible_collections.pexip.infinity.plugins.module_utils import upgrade as up
from ansible_collections.pexip.infinity.plugins.module_utils.api import PexipConnectionError, PexipError, resource_path
from ansible_collections.pexip.infinity.plugins.module_utils.module import PexipModule
from ansible_collections.pexip.infinity.plugins.module_utils.waiter import Waiter, wait_errors

ARGUMENT_SPEC = dict(
    version=dict(type="str", required=True),
    package=dict(type="path"),
    validate_only=dict(type="bool", default=False),
    wait_for=dict(type="str", choices=["management_node", "nodes"]),
    stopped_nodes=dict(type="list", elements="str", default=[]),
    progress=dict(type="dict", default={}),
    stall_timeout=dict(type="int", default=1800),
    deadline=dict(type="float", default=0),
    wait_timeout=dict(type="int", default=50),
    poll_interval=dict(type="float", default=10),
)
FLEET_PAGE = 10000  # the whole fleet in one read per poll


def validate(module):
    p = module.params
    errors = wait_errors(p)
    if up.version_key(p["version"]) is None:
        errors.append("version must be a dotted software version such as 35.0.0, got %r" % p["version"])
    if p["wait_for"] and (p["package"] or p["validate_only"]):
        errors.append("wait_for watches an upgrade already started: remove package and validate_only, or wait_for")
    if p["package"]:
        problem = check_package(p["package"])
        if problem:
            errors.append(problem)
    if p["stall_timeout"] < 0:
        errors.append("stall_timeout must be 0 (no limit) or a number of seconds, got %d" % p["stall_timeout"])
    if errors:
        module.fail("; ".join(errors) + ".")


def check_package(path):
    """Why the package cannot be sent (None when it can): before any request."""
    if not os.path.isfile(path):
        return "package %s does not exist or is not a file: give the path of Pexip's upgrade file on the host that runs the module" % path
    if not os.access(path, os.R_OK):
        return "package %s is not readable by this user: fix its permissions" % path
    if os.path.getsize(path) == 0:
        return "package %s is empty: download it from Pexip again" % path
    return None


def management_version(client):
    rows = client.list("management_vm", api="status")
    primary = [r for r in rows if r.get("primary")] or rows
    if not primary or not primary[0].get("version"):
        raise PexipError("status/v1/management_vm/ reports no version for the Management Node: is it the Management Node's API?")
    return primary[0]["version"]


def start(module):
    p = module.params
    client = module.client
    running = management_version(client)
    result = dict(changed=False, from_version=running, version=p["version"])
    order = up.compare(p["version"], running)
    if order == 0:
        return result
    if order < 0:
        raise PexipError("version %s is lower than the version the Management Node runs (%s): Pexip upgrades only forward; give "
                         "version %s or later (restoring an older version is a redeploy and a backup restore)." % (p["version"], running, running))
    if not p["package"]:
        raise PexipError("the platform runs %s, not %s, and no package was given: set package to the path of Pexip's upgrade file "
                         "for %s." % (running, p["version"], p["version"]))
    result["changed"] = not p["validate_only"]
    result["diff"] = dict(before=dict(version=running), after=dict(version=running if p["validate_only"] else p["version"]))
    if module.check_mode:
        return result
    answer = up.upload_package(client, p["package"])
    checked = up.finish(client, answer["next_url"], True)
    result["validated"] = dict(current=checked.get("current"), upgrade=checked.get("upgrade"))
    offered = (checked.get("upgrade") or {}).get("version")
    if offered and up.version_key(offered) and up.compare(offered, p["version"]) != 0:
        raise PexipError("package %s holds version %s, not version %s: give the package of %s, or set version to %s. Nothing was "
                         "upgraded." % (p["package"], offered, p["version"], p["version"], offered))
    if not p["validate_only"]:
        up.finish(client, answer["next_url"], False)
    return result


def past(deadline):
    return deadline and time.time() >= deadline


def watch_management_node(module):
    p = module.params
    # One quick try per poll: a rebooting Management Node is expected not to answer.
    client = module.new_client(retries=0, timeout=min(p["timeout"], max(5, int(p["poll_interval"]))))
    seen = dict(away=False, version=None)

    def probe():
        try:
            seen["version"] = management_version(client)
        except PexipConnectionError:
            seen.update(away=True, version=None)
        except PexipError as exc:
            if exc.status is None or exc.status < 500:
                raise
            seen.update(away=True, version=None)  # a Management Node still starting its services
        return seen["version"]
    done, version, dummy = Waiter(p["wait_timeout"], p["poll_interval"]).wait(
        probe, lambda v: v is not None and up.compare(v, p["version"]) == 0)
    result = dict(changed=False, version=p["version"], done=done, management_node=dict(seen),
                  summary="Management Node: %s" % ("on %s" % version if version else "away (rebooting)"))
    if not done and past(p["deadline"]):
        raise PexipError("The Management Node is %s and not on version %s by the deadline: check its console (EC2 - Get system log, "
                         "or its VGA console) and Utilities > Upgrade in the Administrator interface; once it answers on %s, run the "
                         "playbook again (it picks up where the platform is)." % (
                             "still away" if version is None else "on %s" % version, p["version"], p["version"]))
    return result


def watch_nodes(module):
    p = module.params
    client = module.client
    stopped = set(p["stopped_nodes"])
    state = dict(nodes={}, previous=dict(p["progress"]))

    def probe():
        rows = client.get(resource_path("worker_vm", api="status"), params=dict(limit=FLEET_PAGE)).get("objects") or []
        state["nodes"] = up.progress(rows, p["version"], stopped, state["previous"], time.time())
        state["previous"] = dict((name, dict(state=n["state"], since=n["since"])) for name, n in state["nodes"].items())
        return state["nodes"]

    def finished(nodes):
        return all(n["state"] in ("upgraded", "not_upgraded") for n in nodes.values()) or stalled(nodes) or past(p["deadline"])

    def stalled(nodes):
        now = time.time()
        return sorted(name for name, n in nodes.items()
                      if p["stall_timeout"] and n["state"] == "in_progress" and now - n["since"] > p["stall_timeout"])

    reached, nodes, dummy = Waiter(p["wait_timeout"], p["poll_interval"]).wait(probe, finished)
    done = all(n["state"] in ("upgraded", "not_upgraded") for n in nodes.values())
    result = dict(changed=False, version=p["version"], done=done, nodes=nodes, progress=state["previous"], summary=up.summary(nodes))
    late = stalled(nodes)
    if late and not done:
        module.fail("Conferencing Node(s) %s have been upgrading for more than %d seconds (stall_timeout) and are still not on %s: check "
                    "each node's console (EC2 - Get system log) and Status > Conferencing Nodes in the Administrator interface; a node "
                    "that does not recover can be rebooted from EC2 (it stays in maintenance mode until it is on %s). Progress: %s." % (
                        ", ".join(late), p["stall_timeout"], p["version"], p["version"], result["summary"]), **result)
    if not done and past(p["deadline"]):
        left = sorted(name for name, n in nodes.items() if n["state"] not in ("upgraded", "not_upgraded"))
        module.fail("The upgrade to %s is not done by the deadline: %s are not upgraded yet (%s). Nodes waiting on live calls upgrade once "
                    "their calls end; run the playbook again to keep watching (it picks up where the platform is)." % (
                        p["version"], ", ".join(left), result["summary"]), **result)
    return result


def run(module):
    p = module.params
    if p["wait_for"] == "management_node":
        return watch_management_node(module)
    if p["wait_for"] == "nodes":
        return watch_nodes(module)
    return start(module)


def main():
    module = PexipModule(argument_spec=ARGUMENT_SPEC, label="pexip_upgrade")
    validate(module)
    module.run(run)


if __name__ == "__main__":
    main()
