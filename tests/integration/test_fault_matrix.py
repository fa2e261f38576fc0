# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fault matrix (issue #12, section 6): every playbook that acts on Conferencing Nodes, run while something fails.

One small platform (two transcoding nodes, no public address) is deployed once with deploy.yml. Each case of CASES,
in table order, injects faults (Management Node 5xx / 429 with Retry-After / connection reset / latency through the
simulator's /_lab/faults; an upload reset on a node's :8443 page; EC2 errors through moto's /_lab/faults; a node that
never syncs or never reports through the lab's timing; calls that never end), runs one playbook, and asserts:

- the run converged, or it stopped with a message that names the node and the cause;
- every fault fired (a case whose fault was never hit proves nothing);
- no node is left out of service that did not have to be: each node's instance state (moto) and maintenance mode
  (Management Node) are what the case expects, and every node the run did not have to touch is running and in service;
- re-run without the fault, the playbook converges, and the run after that reports changed=0 (a re-run that converged
  without a change is that run too; rolling maintenance stops and starts its nodes on every run, so it has none).

Cases run in order and some start where the previous one left a node (a stopped node for restart): each case checks
its starting state first, so a broken order fails loudly instead of testing something else.
"""

import os
import re
import resource
import time
import uuid

import pytest
import yaml

import labctl
import labenv
import e2e

# The cases share one module-scoped platform and run in order: pytest-xdist keeps them on one worker.
pytestmark = pytest.mark.xdist_group("test_fault_matrix")

SUFFIX = uuid.uuid4().hex[:6]
LOCATION = "Fault matrix %s" % SUFFIX
A, B = "fm%s-a" % SUFFIX, "fm%s-b" % SUFFIX
NODES = (A, B)
# Lab timing for the whole file: nodes report 1 s after a start and sync 1 s later.
TIMING = {"boot_delay": 1, "sync_delay": 1}
# Short waits and polls everywhere (the roles' defaults are minutes).
FAST = {
    "pexip_node_sync_poll": 1, "pexip_node_sync_timeout": 30, "pexip_node_bootstrap_timeout": 30,
    "pexip_node_sync_backoff": [],
    "maintenance_poll_interval": 1, "maintenance_idle_timeout": 30, "maintenance_wait_timeout": 30,
    "reinstate_poll_interval": 1, "reinstate_poll_backoff": [], "reinstate_report_timeout": 30,
    "reinstate_wait_timeout": 30, "instance_family_wait_timeout": 30,
    "decommission_poll_interval": 1, "decommission_idle_timeout": 30, "decommission_wait_timeout": 30,
}

RUNNING, STOPPED, GONE = "running", "stopped", "terminated"
IN_SERVICE, MAINTENANCE = False, True


def cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class Matrix:
    """The lab (simulator, moto, their fault APIs), the platform's inventory and ansible-playbook runs."""

    def __init__(self, env, directory):
        self.env = env
        self.dir = str(directory)
        self.control = e2e.lab_control(env)
        self.aws = labctl.AwsFaults(env["AWS_URL"])
        self.ec2 = labenv.ec2_client(env)
        self.api = e2e.Api(env)
        self.inventory = os.path.join(self.dir, "inventory.yml")
        self.cpu = 0.0  # CPU seconds of every ansible-playbook run (the file's cost on an idle machine, about)
        hosts = {name: {"pexip_node_name": name, "pexip_node_hostname": name} for name in NODES}
        variables = e2e.platform_vars(
            env, "fm-sg-%s" % SUFFIX,
            pexip_locations=[{"name": LOCATION, "dns_servers": ["127.0.0.53"], "ntp_servers": ["127.0.0.123"]}],
            pexip_node_domain="lab.example.com",
            pexip_node_role="transcoding",
            pexip_node_location=LOCATION,
            pexip_node_instance_type="c5.2xlarge",
            pexip_node_subnet_id=env["LAB_SUBNET_A"],
            pexip_node_public_ip="none",
            pexip_node_ssh_password="fault-matrix-ssh",
            **FAST)
        with open(self.inventory, "w", encoding="utf-8") as handle:
            yaml.safe_dump({"all": {"vars": variables, "children": {"conferencing_nodes": {"hosts": hosts}}}}, handle)

    def run(self, playbook, *extra):
        """ansible-playbook playbooks/<playbook> -e <extra>...: (rc, output, recap per host, seconds)."""
        args = [arg for item in extra for arg in ([item] if item.startswith("--") else ["-e", item])]
        started, cpu = time.monotonic(), cpu_seconds()
        proc, recap = e2e.run_playbook(self.env, self.inventory, *args, playbook=os.path.join("playbooks", playbook), timeout=300,
                                       result_format="yaml")
        self.cpu += cpu_seconds() - cpu
        return proc.returncode, proc.stdout + proc.stderr, recap, time.monotonic() - started

    # What the lab says about a node
    def worker(self, name):
        return self.api.node(name)

    def instance(self, name):
        reservations = self.ec2.describe_instances(Filters=[{"Name": "tag:pexip:node", "Values": [name]}])["Reservations"]
        found = [i for r in reservations for i in r["Instances"]]
        return max(found, key=lambda i: i["LaunchTime"]) if found else None

    def state(self, name):
        """(instance state, maintenance mode) of a node; maintenance None when the Management Node has no such node."""
        instance, worker = self.instance(name), self.worker(name)
        return (instance["State"]["Name"] if instance else None, worker["maintenance_mode"] if worker else None)

    def address(self, name):
        return self.worker(name)["address"]

    def clear(self):
        self.control.clear_faults()
        self.aws.clear()
        self.control.end_calls()
        self.control.set_timing(**TIMING)


@pytest.fixture(scope="module")
def matrix(lab_env, tmp_path_factory):
    made = Matrix(dict(lab_env), tmp_path_factory.mktemp("faults"))
    saved = made.control.timing()
    made.control.set_timing(**TIMING)
    try:
        yield made
    finally:
        print("\nfault matrix: %d cases, CPU of its ansible-playbook runs %.0fs" % (len(CASES), made.cpu))
        made.control.clear_faults()
        made.aws.clear()
        made.control.set_timing(**{k: saved[k] for k in TIMING})
        for name in NODES:
            worker = made.worker(name)
            if worker:
                made.control.end_calls(worker["address"])
                made.api.delete(worker["resource_uri"])
            instance = made.instance(name)
            if instance and instance["State"]["Name"] != "terminated":
                made.ec2.terminate_instances(InstanceIds=[instance["InstanceId"]])
        for group in made.ec2.describe_security_groups(
                Filters=[{"Name": "group-name", "Values": ["fm-sg-%s" % SUFFIX]}])["SecurityGroups"]:
            try:
                made.ec2.delete_security_group(GroupId=group["GroupId"])
            except Exception:  # pylint: disable=broad-except
                pass  # still referenced by a terminated instance in moto: harmless in the lab
        for obj in made.api.get("configuration/v1/system_location/", name=LOCATION):
            made.api.delete(obj["resource_uri"])


# ----- the matrix ------------------------------------------------------------------------------------------------
# A fault is ("mgmt", {inject_fault kwargs}), ("node" / "anynode", {inject_fault kwargs}: on the case's node's / any
# node's :8443 page), ("aws", {AwsFaults.inject kwargs}), ("timing", {set_timing kwargs}: until the fault run ends) or
# ("calls", {place_calls kwargs}: on the case's node, ended after the fault run).


class Case:
    def __init__(self, case_id, playbook, args, node, faults, outcome, says=(), before=None, after=None,
                 rerun=None, final=None, noop=None, check=None, message_defect=None):
        self.id = case_id
        self.playbook = playbook
        self.args = list(args)
        self.node = node
        self.faults = faults
        self.outcome = outcome  # "converges" or "stops"
        self.says = list(says)  # what the failure says, besides the node's name
        self.before = before or {}  # {node: (instance state, maintenance mode)} the case starts from
        self.after = after or {}  # ... right after the fault run (nodes not listed: running and in service)
        self.rerun = rerun or (playbook, self.args)  # the clean re-run that must converge
        self.final = final or {}  # ... after the re-run (nodes not listed: running and in service)
        # The run that must then report changed=0; False: none can (rolling maintenance cycles its nodes on every run).
        self.noop = self.rerun if noop is None else noop
        self.check = check  # more assertions: check(matrix, request log of the fault run, output)
        # A known defect of the failure message in a role this file may not change: every other assertion of the case
        # still runs, then the case is xfailed (and fails once the message is right, like a strict xfail).
        self.message_defect = message_defect


def nodes(name):
    return "nodes=%s" % name


WORKER = r"/configuration/v1/worker_vm/"
WORKER_ID = r"/configuration/v1/worker_vm/\d+/$"
STATUS = r"/status/v1/worker_vm/"
UNAUTHORIZED = dict(code="UnauthorizedOperation", status=403, message="You are not authorized to perform this operation.")
THROTTLED = dict(code="RequestLimitExceeded", status=503, message="Request limit exceeded.")
SHORT_REPORT = '{"reinstate_report_timeout": 2}'
SHORT_SYNC = '{"pexip_node_sync_timeout": 2}'
NEVER = 3600  # seconds: a node that never reports (boot_delay) or never syncs (sync_delay) within the run


def retry_after_honoured(matrix, log, output):
    """The request refused with 429 and Retry-After: 1 was sent again, and not before that second. (A POST to a list
    is told apart from another node's by nothing in the log: one of its repeats must come 1 s later.) Without
    Retry-After the first retry comes within 0.5 s (the client's jittered backoff)."""
    for index, entry in enumerate(log):
        if entry["status"] == 429:
            again = [e["ts"] - entry["ts"] for e in log[index + 1:] if (e["method"], e["path"]) == (entry["method"], entry["path"])]
            assert again, entry
            if re.search(r"/\d+/$", entry["path"]):
                assert again[0] >= 0.95, (entry, again)
            else:
                assert max(again) >= 0.95, (entry, again)
            return
    raise AssertionError("no 429 in the request log")


CASES = [
    # The platform's first deploy is the first case: its writes meet 429 (Retry-After), 503, an upload reset and AWS
    # throttling, all retried; then the new nodes never sync: the run waits, and stops.
    Case("deploy-429-503-upload-reset-aws-throttle-never-syncs", "deploy.yml", [SHORT_SYNC], A,
         [("mgmt", dict(path=WORKER + "$", method="POST", status=429, retry_after=1, count=1)),
          ("mgmt", dict(path=STATUS, method="GET", status=503, count=2)),
          ("anynode", dict(path="/configuration/bootstrap", method="POST", reset=True, count=1)),
          ("aws", dict(action="RunInstances", count=1, **THROTTLED)),
          ("timing", dict(sync_delay=NEVER))],
         "stops", says=["has not synced its configuration within"], before={A: (None, None), B: (None, None)},
         check=retry_after_honoured, rerun=("deploy.yml", [])),
    Case("maintenance-stop-429-latency", "maintenance_stop.yml", [nodes(A)], A,
         [("mgmt", dict(path=WORKER_ID, method="PATCH", status=429, retry_after=1, count=1)),
          ("mgmt", dict(path=STATUS, method="GET", latency=1, count=1))],
         "converges", after={A: (STOPPED, MAINTENANCE)}, final={A: (STOPPED, MAINTENANCE)}, check=retry_after_honoured),
    # The instance starts but the node never reports: it stays in maintenance mode (it cannot take calls anyway).
    Case("restart-node-never-reports", "restart.yml", [nodes(A), SHORT_REPORT], A,
         [("timing", dict(boot_delay=NEVER))],
         "stops", says=["has not reported to the Management Node within", "stays in maintenance mode"],
         before={A: (STOPPED, MAINTENANCE)}, after={A: (RUNNING, MAINTENANCE)}, rerun=("restart.yml", [nodes(A)])),
    Case("nat-update-reset-latency-aws-throttle", "nat_update.yml", ["--limit=%s" % A], A,
         [("mgmt", dict(path=WORKER, method="GET", reset=True, count=1)),
          ("mgmt", dict(path=STATUS, method="GET", latency=1, count=1)),
          ("aws", dict(action="DescribeInstances", count=1, **THROTTLED))],
         "converges"),
    # B's calls never end: the maintenance fails, and B is brought back into service before the run stops.
    Case("rolling-calls-never-drain", "rolling_maintenance.yml", [nodes(B), "maintenance_idle_timeout=1"], B,
         [("calls", dict(count=1, duration=None))],
         "stops", says=["still carries live calls", "back in service"],
         rerun=("rolling_maintenance.yml", [nodes(B)]),
         # Rolling maintenance stops and starts its nodes on every run: no run of it can report changed=0.
         noop=False),
    # The instance cannot be stopped for its new type: the node must not be left in maintenance mode.
    Case("resize-aws-error", "resize.yml", [nodes(A), "instance_family_instance_type=c5.4xlarge"], A,
         [("aws", dict(action="StopInstances", count=1, **UNAUTHORIZED))],
         "stops", says=["c5.4xlarge", "UnauthorizedOperation", "back in service"],
         check=lambda matrix, log, output: assert_type(matrix, A, "c5.2xlarge")),
    # Last: the node goes away for good.
    Case("terminate-503-aws-error", "terminate.yml", [nodes(B), "decommission_confirm=%s" % B], B,
         [("mgmt", dict(path=WORKER_ID, method="DELETE", status=503, count=1)),
          ("aws", dict(action="TerminateInstances", count=1, **UNAUTHORIZED))],
         "stops", says=["UnauthorizedOperation"], after={B: (RUNNING, None)}, final={B: (GONE, None)}),
]


def failure_messages(output):
    """(hosts, text): the hosts of the fatal/failed results of a run, and the msg of each (with what follows it in the
    result), whitespace folded. The inventory hosts here are named after their nodes, so "fatal: [node]" names it."""
    blocks = re.findall(r"^(?:fatal|failed): \[(.*?)\](.*?)(?=^(?:fatal|failed|ok|changed|skipping): \[|^TASK \[|^PLAY|^RUNNING HANDLER|\Z)",
                        output, re.M | re.S)
    return ({host for host, _rest in blocks},
            " ".join(" ".join(rest.split("msg:", 1)[1].split()) for _host, rest in blocks if "msg:" in rest))


def assert_type(matrix, name, instance_type):
    assert matrix.instance(name)["InstanceType"] == instance_type


def expect_states(matrix, wanted, label, output):
    for name in NODES:
        want = wanted.get(name, (RUNNING, IN_SERVICE))
        got = matrix.state(name)
        assert got == want, "%s: %s is %s (instance, maintenance mode), expected %s\n%s" % (label, name, got, want, output[-5000:])


def inject(matrix, kind, spec, node):
    if kind == "mgmt":
        matrix.control.inject_fault(target="mgmt", **spec)
    elif kind == "node":
        matrix.control.inject_fault(target="node:%s" % matrix.address(node), **spec)
    elif kind == "anynode":
        matrix.control.inject_fault(target="node", **spec)
    elif kind == "aws":
        matrix.aws.inject(**spec)
    elif kind == "timing":
        matrix.control.set_timing(**spec)
    elif kind == "calls":
        matrix.control.place_calls(matrix.address(node), **spec)


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_fault(matrix, case):
    expect_states(matrix, case.before, "before %s" % case.id, "")
    since = matrix.control.last_ts()
    for kind, spec in case.faults:
        inject(matrix, kind, spec, case.node)
    try:
        rc, output, recap, seconds = matrix.run(case.playbook, *case.args)
        left_mgmt = matrix.control.faults()
        left_aws = matrix.aws.faults()
        log = matrix.control.requests_log(since)
        fired = [e for e in log if e["fault"]]
    finally:
        matrix.clear()
    print("%s: fault run %.1fs rc=%s; CPU of all runs so far %.0fs" % (case.id, seconds, rc, matrix.cpu))

    # Every fault fired: a count-limited one is used up; an unlimited one (count 0) hit at least one request.
    assert not left_aws, "AWS fault never fired: %s" % left_aws
    assert not [f for f in left_mgmt if f.get("count", 1)], "fault never fired: %s" % left_mgmt
    for kind, spec in case.faults:
        if kind in ("mgmt", "node") and spec.get("count", 1) == 0:
            assert fired, "no request met the fault %s" % spec

    unsaid = []  # what the failure message should say and does not
    if case.outcome == "converges":
        assert rc == 0, output[-6000:]
    else:
        assert rc != 0, output[-6000:]
        hosts, text = failure_messages(output)
        unsaid = [fragment for fragment in case.says if fragment not in text]
        if case.node not in hosts and case.node not in text:
            unsaid.append(case.node)
        if not case.message_defect:
            assert not unsaid, (unsaid, text[-3000:] or output[-3000:])
    expect_states(matrix, case.after, "after the fault run of %s" % case.id, output)
    if case.check:
        case.check(matrix, log, output)

    # Without the fault: the re-run converges ...
    playbook, args = case.rerun
    rc, output, recap, seconds = matrix.run(playbook, *args)
    print("%s: re-run %.1fs; CPU so far %.0fs" % (case.id, seconds, matrix.cpu))
    assert rc == 0, output[-6000:]
    expect_states(matrix, case.final, "after the re-run of %s" % case.id, output)
    # ... and the run after it changes nothing. A re-run of the same playbook that converged without a change already
    # is that run (so is the clean re-run when the fault run itself converged).
    changed = any(counts["changed"] for counts in recap.values())
    if case.noop is not False:
        if case.noop is not case.rerun or (case.outcome != "converges" and changed):
            playbook, args = case.noop
            rc, output, recap, seconds = matrix.run(playbook, *args)
            print("%s: no-op run %.1fs; CPU so far %.0fs" % (case.id, seconds, matrix.cpu))
            assert rc == 0, output[-6000:]
        assert recap and all(counts["changed"] == 0 for counts in recap.values()), (recap, output[-6000:])
        expect_states(matrix, case.final, "after the no-op run of %s" % case.id, output)
    if case.message_defect:
        if unsaid:
            pytest.xfail("%s (missing: %s)" % (case.message_defect, ", ".join(unsaid)))
        pytest.fail("[XPASS(strict)] the message now names the node and the cause: drop message_defect")
