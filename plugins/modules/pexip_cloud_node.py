#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: pexip_cloud_node
short_description: Start a Pexip Infinity cloud bursting (overflow) node ahead of demand
version_added: 0.1.0
author: pexip.infinity contributors (@pexip)
description:
  - Start a stopped overflow Conferencing Node through the Management Node
    (C(command/v1/platform/start_cloudnode/)), as the guide's I(Manually starting an overflow node) describes,
    for example about 10 minutes before a large scheduled conference.
  - The node is picked from the bursting nodes the Management Node knows (C(status/v1/cloud_node/)) by its
    EC2 instance id or by its Conferencing Node name.
  - A node that is already running or starting is left alone and the task reports no change.
  - Infinity stops an idle overflow node again after the bursting minimum lifetime, so do not start it too early.
extends_documentation_fragment:
  - pexip.infinity.api
  - pexip.infinity.attributes
  - pexip.infinity.wait
options:
  instance_id:
    description:
      - EC2 instance id of the overflow node (C(cloud_instance_id)), for example V(i-0123456789abcdef0).
      - Exactly one of O(instance_id) and O(name) is required.
    type: str
  name:
    description:
      - Name of the overflow node's Conferencing Node configuration (C(workervm_configuration_name)).
    type: str
  wait:
    description:
      - Wait until the instance runs and its Conferencing Node has reported to the Management Node
        (C(status/v1/worker_vm/) C(last_updated)) since the instance was (re)started and since the start command.
      - The controller's clock and the Management Node's clock should agree (both use NTP).
  wait_timeout:
    description:
      - Seconds to wait when O(wait=true). A node usually takes a few minutes to start and report.
notes:
  - The instance must carry the bursting tag (see M(pexip.infinity.pexip_burst_settings)), its Conferencing Node
    must be in the primary overflow location of an always-on location, and bursting must be configured with AWS
    credentials allowed to start it; otherwise the Management Node does not list it and the module fails.
seealso:
  - module: pexip.infinity.pexip_burst_settings
  - module: pexip.infinity.pexip_cloud_node_info
"""

EXAMPLES = r"""
- name: Start the London overflow node before the 9:00 all-hands
  pexip.infinity.pexip_cloud_node:
    name: cn-burst-lon-1
    wait: true
    wait_timeout: 900

- name: Start an overflow node by its instance id
  pexip.infinity.pexip_cloud_node:
    instance_id: "{{ overflow_instance_id }}"
"""

RETURN = r"""
cloud_node:
  description: The bursting node as C(status/v1/cloud_node/) shows it after the start (before it, in check mode).
  returned: success
  type: dict
  sample:
    cloud_instance_id: i-0123456789abcdef0
    cloud_instance_ip: 10.0.2.15
    cloud_instance_name: cn-burst-lon-1
    cloud_instance_state: running
    cloud_instance_launch_time: "2024-05-02T08:50:03"
    workervm_configuration_id: 7
    workervm_configuration_name: cn-burst-lon-1
    workervm_configuration_location_name: AWS burst
node_status:
  description: The Conferencing Node's C(status/v1/worker_vm/) entry once it reported (only with O(wait=true)).
  returned: when O(wait=true) and not in check mode
  type: dict
  sample:
    name: cn-burst-lon-1
    last_updated: "2024-05-02T08:54:40"
    sync_status: SYNCED
command_result:
  description: The body of the start_cloudnode answer (empty when the start did not need to be sent again).
  returned: when the node was started
  type: dict
  sample:
    status: success
"""

import datetime

from ansible_collections.pexip.infinity.plugins.module_utils.api import PexipError
from ansible_collections.pexip.infinity.plugins.module_utils.bursting import TAG_NAME, bursting_tag_value, parse_time
from ansible_collections.pexip.infinity.plugins.module_utils.module import PexipModule
from ansible_collections.pexip.infinity.plugins.module_utils.waiter import Waiter, wait_argument_spec, wait_errors

STARTED_STATES = ("pending", "running")
GONE_STATES = ("shutting-down", "terminated")


class CloudNode(object):
    def __init__(self, module):
        self.module = module
        self.client = module.client
        p = module.params
        self.instance_id = p["instance_id"]
        self.name = p["name"]

    def matches(self, node):
        if self.instance_id:
            return node.get("cloud_instance_id") == self.instance_id
        return node.get("workervm_configuration_name") == self.name

    def find(self):
        # Filtering on status resources is not documented: read them (few) and match here.
        nodes = [n for n in self.client.list("cloud_node", api="status") if self.matches(n)]
        if len(nodes) > 1:
            self.module.fail("%d bursting nodes match; give instance_id instead: %s."
                             % (len(nodes), ", ".join(str(n.get("cloud_instance_id")) for n in nodes)))
        return nodes[0] if nodes else None

    def not_found(self):
        try:
            tag_value = bursting_tag_value(self.client) or "<the primary Management Node's hostname>"
        except PexipError:
            tag_value = "<the primary Management Node's hostname>"
        what = "instance %s" % self.instance_id if self.instance_id else "Conferencing Node"
        self.module.fail("the Management Node knows no bursting node for this %s (status/v1/cloud_node/). Tag the EC2 instance "
                         "%s=%s, put its Conferencing Node in a location that is the primary overflow location of an always-on "
                         "location, and enable bursting with AWS credentials that may start it (pexip_burst_settings)."
                         % (what, TAG_NAME, tag_value))

    def start(self, node):
        """POST start_cloudnode; after a lost answer, the node's state decides instead of a blind second POST."""
        data = {"instance_id": node["cloud_instance_id"]}

        def started():
            now = self.find()
            return bool(now and now.get("cloud_instance_state") in STARTED_STATES)

        try:
            return self.client.command("platform", "start_cloudnode", data, done=started)
        except PexipError as exc:
            self.module.fail("could not start instance %s: %s" % (data["instance_id"], exc.msg), status=exc.status)

    def worker_status(self, node):
        name = node.get("workervm_configuration_name")
        if not name:
            return None
        found = [s for s in self.client.list("worker_vm", api="status", name=name) if s.get("name") == name]
        return found[0] if found else None

    def probe(self):
        node = self.find()
        if node is None:
            self.module.fail("the bursting node disappeared from status/v1/cloud_node/ while waiting for it to start.")
        state = node.get("cloud_instance_state")
        if state in GONE_STATES:
            self.module.fail("instance %s is %s; it cannot start." % (node.get("cloud_instance_id"), state))
        return node, self.worker_status(node)

    def wait(self, since, waiter=None):
        """Poll until the instance runs and its node reported after (re)starting; returns (node, status)."""
        p = self.module.params

        def reported(value):
            node, status = value
            last = parse_time(status.get("last_updated")) if status else None
            # Reported since the instance (re)started: after its launch time and after our start command.
            references = [t for t in (parse_time(node.get("cloud_instance_launch_time")), since) if t is not None]
            return node.get("cloud_instance_state") == "running" and last is not None and all(last >= t for t in references)

        waiter = waiter or Waiter(p["wait_timeout"], p["poll_interval"])
        done, (node, status), dummy = waiter.wait(self.probe, reported)
        if not done:
            self.module.fail("instance %s is %s but its Conferencing Node has not reported to the Management Node within %d seconds "
                             "(last report: %s). Check that the node can reach the Management Node, then run again."
                             % (node.get("cloud_instance_id"), node.get("cloud_instance_state"), p["wait_timeout"],
                                (status or {}).get("last_updated") or "never"), cloud_node=node, node_status=status)
        return node, status


def run(module):
    p = module.params
    cloud = CloudNode(module)
    node = cloud.find()
    if node is None:
        cloud.not_found()
    state = node.get("cloud_instance_state")
    if node.get("workervm_configuration_name"):
        module.label = "pexip_cloud_node '%s'" % node["workervm_configuration_name"]
    if state in GONE_STATES:
        module.fail("instance %s is %s; it cannot be started. Deploy a new overflow node." % (node.get("cloud_instance_id"), state))

    changed = state not in STARTED_STATES
    result = dict(changed=changed, cloud_node=node, diff=dict(before=dict(cloud_instance_state=state), after=dict(cloud_instance_state="running")))
    if module.check_mode:
        return result

    since = None
    if changed:
        since = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None, microsecond=0)
        result["command_result"] = cloud.start(node)
    if p["wait"]:
        result["cloud_node"], result["node_status"] = cloud.wait(since)
    elif changed:
        result["cloud_node"] = cloud.find() or node
    return result


def main():
    argument_spec = dict(instance_id=dict(type="str"), name=dict(type="str"))
    argument_spec.update(wait_argument_spec(wait=False, wait_timeout=600, poll_interval=10))
    module = PexipModule(argument_spec=argument_spec, mutually_exclusive=[("instance_id", "name")],
                         required_one_of=[("instance_id", "name")])
    p = module.params
    module.label = "pexip_cloud_node '%s'" % (p["name"] or p["instance_id"])
    errors = ["%s must not be empty" % o for o in ("instance_id", "name") if p[o] is not None and not p[o].strip()] + wait_errors(p)
    if errors:
        module.fail("; ".join(errors) + ".")
    module.run(run)


if __name__ == "__main__":
    main()
