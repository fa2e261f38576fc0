# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the end-to-end tests share: their inventory, running a playbook against the lab, its recap, the Management
Node's API, the lab's control API, moto."""

import http.client
import http.server
import json
import os
import re
import resource
import subprocess
import sys
import threading
import time
from urllib.parse import parse_qs, urlparse

import requests

import labctl
import labenv

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
BIN = os.path.dirname(sys.executable)
RECAP = re.compile(r"^(\S+)\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M)
WRITES = ("POST", "PATCH", "PUT", "DELETE")
LIVE = ("pending", "running", "stopping", "stopped")


def platform_vars(env, security_group, **variables):
    """What every e2e inventory's platform declares: all tasks run on the controller, against the lab's region, VPC
    and key pair; the nodes' bootstrap pages as the lab serves them; short waits. ``variables`` add to these or replace
    them (no secret here: an AWX inventory holds none)."""
    return dict({
        "ansible_connection": "local",
        "ansible_python_interpreter": "{{ ansible_playbook_python }}",
        "pexip_region": env["AWS_REGION"],
        "pexip_vpc_id": env["LAB_VPC_ID"],
        "pexip_key_name": env["LAB_KEY_NAME"],
        "pexip_security_group_name": security_group,
        "pexip_management_cidr": "127.0.0.0/8",
        # The lab's VPC is on loopback: its node addresses are accepted only where the inventory says so.
        "pexip_allow_loopback_addresses": True,
        # The lab's nodes serve certificates of their own CA, as real nodes serve self-signed ones.
        "pexip_node_bootstrap_ca_path": os.path.join(os.path.dirname(env["PEXIP_CA_PATH"]), "node-ca.pem"),
        # The lab serves the nodes' bootstrap pages on LAB_NODE_PORT (8443 unless another lab holds it).
        "pexip_node_bootstrap_port": int(env.get("LAB_NODE_PORT") or 8443),
        "pexip_node_sync_timeout": 120,
        "pexip_node_bootstrap_timeout": 60,
    }, **variables)


def platform_inventory(env, security_group, children, **variables):
    """An inventory of one group, pexip_platform, with the groups ``children`` ({group: {"hosts": {...}}}) and
    platform_vars()."""
    return {"all": {"children": {"pexip_platform": {"vars": platform_vars(env, security_group, **variables), "children": children}}}}


def playbook_env(env, tmp=None, result_format=None):
    """The environment of an ansible-playbook run against the lab ``env`` (the collection as linked in .venv); task
    results in ``result_format`` (json or yaml) if given."""
    run_env = dict(os.environ, **env)
    run_env.update(ANSIBLE_FORCE_COLOR="0", ANSIBLE_NOCOLOR="1", ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"),
                   ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, ".venv", "collections"), ANSIBLE_STDOUT_CALLBACK="default")
    if result_format:
        run_env["ANSIBLE_CALLBACK_RESULT_FORMAT"] = result_format
    if tmp:
        # Every file Ansible writes for the run (module payloads, ...) lands here, so that it can be searched.
        run_env.update(ANSIBLE_LOCAL_TEMP=os.path.join(tmp, "local"), ANSIBLE_REMOTE_TEMP=os.path.join(tmp, "remote"),
                       ANSIBLE_KEEP_REMOTE_FILES="0")
    return run_env


def recap(stdout):
    """PLAY RECAP as {host: {ok, changed, unreachable, failed}}."""
    return {m.group(1): dict(ok=int(m.group(2)), changed=int(m.group(3)), unreachable=int(m.group(4)), failed=int(m.group(5)))
            for m in RECAP.finditer(stdout)}


def run_playbook(env, inventory_file, *args, playbook="site.yml", timeout=900, tmp=None, result_format=None):
    """ansible-playbook ``playbook`` (relative to the repository, or absolute) with ``args``; returns (process, recap).
    With E2E_LOG set, the run's output is appended to that file."""
    cmd = [os.path.join(BIN, "ansible-playbook"), os.path.join(REPO, playbook)]
    if inventory_file:
        cmd += ["-i", inventory_file]
    cmd += list(args)
    before, started = children_cpu(), time.time()
    proc = subprocess.run(cmd, cwd=REPO, env=playbook_env(env, tmp, result_format), capture_output=True, text=True, timeout=timeout,
                          check=False)
    _log_playbook_cpu(playbook, args, children_cpu() - before, time.time() - started)
    if os.environ.get("E2E_LOG"):
        with open(os.environ["E2E_LOG"], "a", encoding="utf-8") as handle:
            handle.write("===== %s %s\n%s\n" % (os.path.basename(playbook), " ".join(args), proc.stdout + proc.stderr))
    return proc, recap(proc.stdout)


# Each playbook run's CPU (it and its children: forks, modules), for the summary of the most expensive playbooks at the end
# of `make integration` (conftest.py).
PLAYBOOK_CPU_LOG = os.path.join(REPO, "tests", "output", "integration-playbooks.jsonl")


def children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _log_playbook_cpu(playbook, args, cpu, seconds):
    check = "--check" in args
    os.makedirs(os.path.dirname(PLAYBOOK_CPU_LOG), exist_ok=True)
    with open(PLAYBOOK_CPU_LOG, "a", encoding="utf-8") as handle:
        handle.write(json.dumps({"playbook": os.path.basename(playbook) + (" --check" if check else ""), "cpu": round(cpu, 2),
                                 "seconds": round(seconds, 1), "test": os.environ.get("PYTEST_CURRENT_TEST", "").split(" ")[0]}) + "\n")


def run_extra_vars(env, inventory_file, extra_vars, check=True, **kwargs):
    """run_playbook with ``-e <item>`` for each of ``extra_vars`` and task results in YAML: (rc, output, recap). With
    ``check``, a failed run fails the test with the output's end."""
    args = [arg for item in extra_vars for arg in ("-e", item)]
    proc, counts = run_playbook(env, inventory_file, *args, result_format="yaml", **kwargs)
    text = proc.stdout + proc.stderr
    if check:
        assert proc.returncode == 0, text[-8000:]
    return proc.returncode, text, counts


def run_module(env, module, args, *options, timeout=300):
    """``ansible localhost -m module -a args`` (a dict goes as JSON) on the controller against the lab; the process."""
    cmd = [os.path.join(BIN, "ansible"), "localhost", "-m", module, "-a", args if isinstance(args, str) else json.dumps(args)] + list(options)
    return subprocess.run(cmd, cwd=REPO, env=playbook_env(env), capture_output=True, text=True, timeout=timeout, check=False)


def output(proc):
    """The end of a run's output, for assertion messages."""
    return proc.stdout[-8000:] + proc.stderr[-3000:]


def changed(run_recap):
    return {host: r["changed"] for host, r in run_recap.items()}


class Api:
    """Just enough of the Management Node's API to check what the playbooks did."""

    def __init__(self, env):
        self.base = "https://%s/api/admin/" % env["PEXIP_HOST"]
        self.session = requests.Session()
        self.session.trust_env = False
        self.session.verify = env["PEXIP_CA_PATH"]
        self.session.auth = (env["PEXIP_USERNAME"], env["PEXIP_PASSWORD"])

    def url(self, path):
        """``path`` relative to /api/admin/, or absolute (a resource_uri)."""
        return "https://%s%s" % (self.base.split("/")[2], path) if path.startswith("/") else self.base + path

    def get(self, path, **params):
        """The objects of a list (all of them), or the object itself."""
        response = self.session.get(self.url(path), params=dict(params, limit=0), timeout=30)
        response.raise_for_status()
        body = response.json()
        return body["objects"] if "objects" in body else body

    def one(self, path, **params):
        objects = self.get(path, **params)
        return objects[0] if objects else None

    def node(self, node_name):
        return self.one("configuration/v1/worker_vm/", name=node_name)

    def status(self, node_name):
        return self.one("status/v1/worker_vm/", name=node_name)

    def location(self, location_name):
        return self.one("configuration/v1/system_location/", name=location_name)

    def create_location(self, location_name, **fields):
        """A new system location with the lab's DNS and NTP servers (each created when missing); its object."""
        servers = {}
        for kind, address in (("dns_server", "127.0.0.53"), ("ntp_server", "127.0.0.123")):
            path = "configuration/v1/%s/" % kind
            found = [o["resource_uri"] for o in self.get(path) if o["address"] == address]
            if not found:
                self.session.post(self.url(path), json={"address": address}, timeout=30).raise_for_status()
                found = [o["resource_uri"] for o in self.get(path) if o["address"] == address]
            servers[kind + "s"] = found[:1]
        self.session.post(self.url("configuration/v1/system_location/"), json=dict(servers, name=location_name, **fields), timeout=30).raise_for_status()
        return self.location(location_name)

    def location_ids(self, names):
        return [obj["id"] for location in names for obj in self.get("configuration/v1/system_location/", name=location)]

    def primary(self):
        """The primary Management Node's own settings (configuration/v1/management_vm)."""
        return next(vm for vm in self.get("configuration/v1/management_vm/") if vm["primary"])

    def delete(self, path):
        self.session.delete(self.url(path), timeout=30)


def lab_control(env):
    """The lab's control API (labctl.LabControl): request log, faults, timing, first boot."""
    return labctl.LabControl(env["LAB_CONTROL_URL"].rsplit("/_lab", 1)[0], env["PEXIP_CA_PATH"])


def writable(obj, read_only=("id", "resource_uri", "initializing", "primary")):
    """``obj`` as it can be written back: without its read-only fields, and with its to-many relations (which the API
    shows as nested objects, DNS/NTP servers...) as the resource URIs it takes."""
    return {key: [item["resource_uri"] if isinstance(item, dict) else item for item in value] if isinstance(value, list) else value
            for key, value in obj.items() if key not in read_only}


def instances(env, node_name, states=LIVE, region=None):
    """The instances tagged pexip:node=``node_name`` in ``states`` (in the lab's platform region, or ``region``)."""
    reservations = labenv.ec2_client(env, region).describe_instances(Filters=[
        {"Name": "tag:pexip:node", "Values": [node_name]},
        {"Name": "instance-state-name", "Values": list(states)}])["Reservations"]
    return [i for r in reservations for i in r["Instances"]]


def upload_bootstrap(env, address, document, ca_path):
    """A node's bootstrap document to its instance's bootstrap page, once the lab serves it (it follows moto within a
    poll): what pexip_config_upload does, for tests that set their platform up without a playbook."""
    url = "https://%s:%s/configuration/bootstrap" % (address, env.get("LAB_NODE_PORT") or 8443)
    for _attempt in range(60):
        try:
            answer = requests.post(url, data=document.encode("utf-8"), headers={"Content-Type": "text/xml"}, verify=ca_path, timeout=10)
        except requests.ConnectionError:
            time.sleep(0.5)
            continue
        assert answer.status_code == 200, answer.text
        return
    raise AssertionError("no bootstrap page at %s" % url)


def wait_synced(api, names):
    """Until every node of ``names`` has reported and synced its configuration."""
    for _attempt in range(120):
        if all((api.status(n) or {}).get("sync_status") == "SYNCED" for n in names):
            return
        time.sleep(0.5)
    raise AssertionError("nodes %s did not sync" % names)


# An HTTP proxy in front of the lab's moto that only a playbook uses, to count its AWS calls (the simulator's own EC2
# polling goes straight to moto): the no-op deploy's cost pins (test_e2e_deploy.py).
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
