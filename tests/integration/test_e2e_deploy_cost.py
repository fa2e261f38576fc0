# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a no-op deploy.yml and its --check cost, pinned so that per-node reads cannot creep back (issue 13).

Three nodes (public IP none, auto and elastic) are deployed once, on a lab of this file's own; then the no-op re-run
and --check must read the fleet once per play, not once per node: at most 3 Management Node requests per node, no
request about a single node, one DescribeInstances naming every node, no more AWS calls than a fixed handful, and no write at all.
AWS calls are counted by a small proxy in front of moto that only the playbook uses (the simulator's own EC2
polling goes straight to moto). `make bench` measures the same at 1, 10 and 50 nodes.
"""

import http.client
import http.server
import os
import re
import threading
import uuid
from urllib.parse import parse_qs, urlparse

import pytest
import yaml

import labenv  # pylint: disable=wrong-import-order
from e2e import REPO, lab_control, output, platform_inventory, run_playbook  # pylint: disable=wrong-import-order

# The tests of this file share module-scoped fixtures: they stay on one worker (make integration: --dist loadfile).
pytestmark = pytest.mark.xdist_group("test_e2e_deploy_cost")

SUFFIX = uuid.uuid4().hex[:6]
PREFIX = "e2e-cost-%s" % SUFFIX
LOCATION = "E2E cost %s" % SUFFIX
NODES = {"%s-%d" % (PREFIX, i): public_ip for i, public_ip in enumerate(("none", "auto", "elastic"), 1)}
WRITES = ("POST", "PATCH", "PUT", "DELETE")
AWS_READ = re.compile(r"^(Describe|Get|List)")
# The fleet-wide reads and the platform play: one security group lookup and its rules, one DescribeInstances, one
# DescribeAddresses. Anything per node would add 3 or more at N=3.
AWS_CALLS_MAX = 9  # 8, and since issue #29 the key pair's read (once per run)
MGMT_REQUESTS_PER_NODE_MAX = 3
# A node's own tasks in a no-op run (ok + skipped; the first node also runs the play's run_once reads). Each costs the
# controller 25-50 ms per node, module or not: issue 25's renovation added five (role node_instance in fleet.yml) and
# the no-op's CPU grew by 40 % (docs/bench.md); issue 29 added four, the guide's prerequisites read before acting (the
# key pair and the subnet's route out, each a read and a check).
TASKS_PER_NODE_MAX = 24
RECAP_TASKS = re.compile(r"^(\S+)\s*:\s*ok=(\d+)\s.*\sskipped=(\d+)", re.M)


class AwsCounter:
    """HTTP proxy to moto that records the Action of every request passing through it."""

    def __init__(self, target):
        self.target = urlparse(target)
        self.actions = []
        self.lock = threading.Lock()
        counter = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                params = parse_qs(body.decode("utf-8", "replace"))
                with counter.lock:
                    counter.actions.append((params.get("Action", ["?"])[0], params))
                upstream = http.client.HTTPConnection(counter.target.hostname, counter.target.port, timeout=60)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
                upstream.request("POST", self.path, body=body, headers=headers)
                answer = upstream.getresponse()
                data = answer.read()
                self.send_response(answer.status)
                for key, value in answer.getheaders():
                    if key.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                upstream.close()

            def log_message(self, *args):  # quiet
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def take(self):
        with self.lock:
            actions, self.actions = self.actions, []
        return actions

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def inventory(env):
    hosts = {node: {"pexip_node_public_ip": public_ip} for node, public_ip in NODES.items()}
    return platform_inventory(env, PREFIX, {"conferencing_nodes": {"hosts": hosts}},
                              pexip_node_domain="e2e.example.com", pexip_node_ssh_password="e2e-" + uuid.uuid4().hex,
                              pexip_node_location=LOCATION, pexip_node_subnet_id=env["LAB_SUBNET_A"],
                              pexip_locations=[{"name": LOCATION, "dns_servers": ["127.0.0.53"], "ntp_servers": ["127.0.0.123"]}])


@pytest.fixture(scope="module")
def cost_lab():
    """A lab of its own, started for this file: what is counted is this fleet's cost, not that of the locations, nodes
    and servers that the worker's earlier tests left on its lab (seen: 11 requests instead of 6 for the same no-op)."""
    worker = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0")[2:])
    directory = os.path.join(REPO, ".lab-gw%d-cost" % worker)
    try:
        yield labenv.ensure_lab(directory, ports=labenv.worker_lab_ports(10 + worker))
    finally:
        labenv.stop_lab(directory)


@pytest.fixture(scope="module")
def fleet(cost_lab, tmp_path_factory):
    counter = AwsCounter(cost_lab["AWS_URL"])
    # Only the playbooks go through the proxy.
    env = dict(cost_lab, AWS_URL=counter.url, AWS_ENDPOINT_URL=counter.url)
    inventory_file = str(tmp_path_factory.mktemp("e2e-cost") / "inventory.yml")
    with open(inventory_file, "w", encoding="utf-8") as handle:
        yaml.safe_dump(inventory(env), handle, sort_keys=False)
    control = lab_control(cost_lab)
    since = control.last_ts()
    proc, recap = run_playbook(env, inventory_file, playbook="playbooks/deploy.yml")
    assert proc.returncode == 0, output(proc)
    assert set(recap) == set(NODES), output(proc)
    first_deploy = dict(proc=proc, requests=control.requests_log(since), aws=counter.take())

    def measure(*args):
        since = control.last_ts()
        proc, recap = run_playbook(env, inventory_file, *args, playbook="playbooks/deploy.yml")
        return dict(proc=proc, recap=recap, requests=control.requests_log(since), aws=counter.take())

    measure.first_deploy = first_deploy
    yield measure
    counter.close()


def assert_fleet_cost(run):
    proc, recap, requests, aws = run["proc"], run["recap"], run["requests"], run["aws"]
    assert proc.returncode == 0, output(proc)
    assert {host: r["changed"] for host, r in recap.items()} == {node: 0 for node in NODES}, output(proc)
    mgmt = [e for e in requests if e["target"] == "mgmt"]
    print("%d nodes: %d Management Node requests %s, %d AWS calls %s" % (
        len(NODES), len(mgmt), [e["method"] + " " + e["path"] for e in mgmt], len(aws), [action for action, _params in aws]))
    assert len(mgmt) <= MGMT_REQUESTS_PER_NODE_MAX * len(NODES), [e["path"] for e in mgmt]
    tasks = {m.group(1): int(m.group(2)) + int(m.group(3)) for m in RECAP_TASKS.finditer(proc.stdout)}
    print("tasks per node (ok + skipped): %s" % tasks)
    first = sorted(NODES)[0]
    assert {node: n for node, n in tasks.items() if node != first and n > TASKS_PER_NODE_MAX} == {}, tasks
    # No request about one node: neither a name filter nor a node's own resource, nor its bootstrap page.
    single = [e["path"] for e in mgmt if "worker_vm" in e["path"] and re.search(r"name=|worker_vm/\d+/", e["path"])]
    assert single == [], single
    assert [e for e in requests if e["target"] != "mgmt"] == []
    assert [e for e in requests if e["method"] in WRITES] == []
    assert [action for action, _params in aws if not AWS_READ.match(action)] == [], aws
    assert len(aws) <= AWS_CALLS_MAX, [action for action, _params in aws]
    describes = [params for action, params in aws if action == "DescribeInstances"]
    assert len(describes) == 1, [action for action, _params in aws]
    named = {value for key, values in describes[0].items() if re.match(r"Filter\.\d+\.Value\.\d+$", key) for value in values}
    assert set(NODES) <= named, describes[0]


def test_first_deploy_creates_and_bootstraps_each_node_once(fleet):
    """Per new node: one launch, one create, one upload straight from it (no probe, no second write for the NAT)."""
    first = fleet.first_deploy
    mgmt = [e for e in first["requests"] if e["target"] == "mgmt"]
    pages = [(e["method"], e["path"]) for e in first["requests"] if e["target"] != "mgmt"]
    assert pages == [("POST", "/configuration/bootstrap")] * len(NODES), pages
    node_writes = [(e["method"], e["path"]) for e in mgmt if e["method"] in WRITES and "worker_vm" in e["path"]]
    assert node_writes == [("POST", "/api/admin/configuration/v1/worker_vm/")] * len(NODES), node_writes
    launches = [action for action, _params in first["aws"] if action == "RunInstances"]
    assert len(launches) == len(NODES), [action for action, _params in first["aws"]]
    # The bootstrap document goes from the create to the instance: no temporary file, no separate upload task.
    assert "TASK [pexip.infinity.conferencing_node : Make a private directory" not in first["proc"].stdout
    assert "pexip_config_upload" not in first["proc"].stdout


def test_noop_run_reads_the_fleet_once(fleet):
    assert_fleet_cost(fleet())


def test_check_run_costs_the_same_and_writes_nothing(fleet):
    assert_fleet_cost(fleet("--check"))
