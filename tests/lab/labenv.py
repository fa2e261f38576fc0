# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Helpers for Python tests that use the lab (see tests/lab/lab.py and docs/lab.md)."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))


def lab_dir():
    return os.environ.get("LAB_DIR") or os.path.join(REPO, ".lab")


def load_env(path=None):
    """Parse the `export KEY='value'` lines that `lab.py up` writes."""
    path = path or os.path.join(lab_dir(), "env")
    env = {}
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            words = shlex.split(line, comments=True)
            if len(words) == 2 and words[0] == "export" and "=" in words[1]:
                key, value = words[1].split("=", 1)
                env[key] = value
    return env


def ensure_lab(directory=None, timeout=60, ports=None):
    """Bring the lab up unless it already is (lab.py up is idempotent); return its env.

    ``ports``: LAB_*_PORT variables for a lab of its own beside another (see worker_lab_ports).
    """
    directory = directory or lab_dir()
    subprocess.run([sys.executable, os.path.join(HERE, "lab.py"), "up", "--dir", directory],
                   check=True, timeout=timeout, cwd=REPO, env=dict(os.environ, **(ports or {})))
    return load_env(os.path.join(directory, "env"))


def stop_lab(directory):
    subprocess.run([sys.executable, os.path.join(HERE, "lab.py"), "down", "--dir", directory],
                   check=False, timeout=60, cwd=REPO)


def worker_lab_ports(number):
    """Ports of pytest-xdist worker ``number``'s own lab (worker 0 uses the default lab and its ports).

    Every lab's moto hands out the same 127.20.x.y addresses, so two labs differ by their node and SSH ports too.
    LAB_PORT_OFFSET (default 0) moves them all, for two checkouts' suites on one machine.
    """
    number += int(os.environ.get("LAB_PORT_OFFSET") or 0)
    return {"LAB_MOTO_PORT": str(25550 + number), "LAB_MGMT_PORT": str(29440 + number),
            "LAB_NODE_PORT": str(28440 + number), "LAB_SSH_PORT": str(22220 + number)}


def _client(service, env, region=None):
    import boto3

    return boto3.client(service, region_name=region or env["AWS_REGION"], endpoint_url=env["AWS_URL"],
                        aws_access_key_id=env["AWS_ACCESS_KEY_ID"], aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"])


def ec2_client(env, region=None):
    """EC2 in the lab's platform region, or in ``region`` (LAB_REGION_2 for a fleet over two)."""
    return _client("ec2", env, region)


def iam_client(env):
    return _client("iam", env)


def describe_instance(env, instance_id=None, name=None):
    """One instance by id, or the newest non-terminated one tagged Name=name; None if there is none."""
    ec2 = ec2_client(env)
    if instance_id:
        reservations = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"]
    else:
        reservations = ec2.describe_instances(Filters=[
            {"Name": "tag:Name", "Values": [name]},
            {"Name": "instance-state-name", "Values": ["pending", "running", "stopping", "stopped"]},
        ])["Reservations"]
    instances = [i for r in reservations for i in r["Instances"]]
    return max(instances, key=lambda i: i["LaunchTime"]) if instances else None


def instance_summary(env, instance_id=None, name=None):
    """state / public_ip / private_ip / instance_type of an instance (None if it does not exist)."""
    instance = describe_instance(env, instance_id=instance_id, name=name)
    if instance is None:
        return None
    return {
        "id": instance["InstanceId"],
        "state": instance["State"]["Name"],
        "public_ip": instance.get("PublicIpAddress"),
        "private_ip": instance.get("PrivateIpAddress"),
        "instance_type": instance["InstanceType"],
        "tenancy": instance.get("Placement", {}).get("Tenancy"),
    }


def public_ip(env, instance_id=None, name=None):
    summary = instance_summary(env, instance_id=instance_id, name=name)
    return summary["public_ip"] if summary else None


def instance_state(env, instance_id=None, name=None):
    summary = instance_summary(env, instance_id=instance_id, name=name)
    return summary["state"] if summary else None
