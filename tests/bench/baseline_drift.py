# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The bench's yardstick: a hand-written drift check of the inventory's Conferencing Nodes, boto3 + requests.

    baseline_drift.py INVENTORY    (AWS_* and PEXIP_* from the environment, as for the playbooks)

One DescribeInstances for every node's tag, one worker_vm configuration list and one status list; a node has
drifted when it lacks exactly one running instance tagged with its name, the Management Node does not know it at
the instance's private address, it is not synced, or its static NAT address is not the instance's public address.
Prints the drifted nodes; exit status 1 when there is any. What deploy.yml checks on a no-op run, minus Ansible.
"""

import os
import sys

import boto3
import botocore.config
import requests
import yaml


def hosts(inventory):
    found = {}

    def walk(group):
        for name, host_vars in (group.get("hosts") or {}).items():
            found[name] = dict(host_vars or {})
        for child in (group.get("children") or {}).values():
            walk(child or {})

    walk(inventory["all"])
    return found


def instances(names):
    ec2 = boto3.client("ec2", endpoint_url=os.environ.get("AWS_ENDPOINT_URL") or os.environ.get("AWS_URL"),
                       config=botocore.config.Config(user_agent_extra=os.environ.get("BENCH_USER_AGENT", "drift-check")))
    by_node = {}
    pages = ec2.get_paginator("describe_instances").paginate(Filters=[
        {"Name": "tag:pexip:node", "Values": sorted(names)},
        {"Name": "instance-state-name", "Values": ["pending", "running", "stopping", "stopped"]}])
    for page in pages:
        for reservation in page["Reservations"]:
            for instance in reservation["Instances"]:
                tags = {t["Key"]: t["Value"] for t in instance.get("Tags", [])}
                by_node.setdefault(tags["pexip:node"], []).append(instance)
    return by_node


def pexip_list(session, base, path):
    objects, url, params = [], base + path, {"limit": 1000}
    while url:
        page = session.get(url, params=params, timeout=30)
        page.raise_for_status()
        body = page.json()
        objects.extend(body["objects"])
        following = body["meta"].get("next")
        url, params = (base.split("/api/", 1)[0] + following if following else None), None
    return objects


def main(argv):
    with open(argv[1], encoding="utf-8") as handle:
        nodes = hosts(yaml.safe_load(handle))
    names = {host_vars.get("pexip_node_name", host): host for host, host_vars in nodes.items()}
    found = instances(names)
    session = requests.Session()
    session.trust_env = False
    session.auth = (os.environ["PEXIP_USERNAME"], os.environ["PEXIP_PASSWORD"])
    session.verify = os.environ.get("PEXIP_CA_PATH") or True
    base = "https://%s/api/admin/" % os.environ["PEXIP_HOST"]
    configs = {c["name"]: c for c in pexip_list(session, base, "configuration/v1/worker_vm/")}
    statuses = {s["name"]: s for s in pexip_list(session, base, "status/v1/worker_vm/")}
    drift = []
    for name in sorted(names):
        mine = found.get(name, [])
        if len(mine) != 1 or mine[0]["State"]["Name"] != "running":
            drift.append("%s: %d instances, states %s" % (name, len(mine), [i["State"]["Name"] for i in mine]))
            continue
        instance, config, status = mine[0], configs.get(name), statuses.get(name) or {}
        if config is None or config["address"] != instance.get("PrivateIpAddress"):
            drift.append("%s: not on the Management Node at %s" % (name, instance.get("PrivateIpAddress")))
        elif status.get("sync_status") != "SYNCED" or not status.get("last_updated"):
            drift.append("%s: not reported or not synced" % name)
        elif (config.get("static_nat_address") or "") != (instance.get("PublicIpAddress") or ""):
            nat, public = config.get("static_nat_address"), instance.get("PublicIpAddress")
            drift.append("%s: static NAT %r, public address %r" % (name, nat, public))
    for line in drift:
        print(line)
    print("%d nodes checked, %d drifted" % (len(names), len(drift)))
    return 1 if drift else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
