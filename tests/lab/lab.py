# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The offline test lab: moto (AWS) and the Pexip simulator on loopback.

    python tests/lab/lab.py up|down|status|integration-config [--dir .lab] [--out FILE]

`up` is idempotent and returns within 10 seconds; `down` stops, by pid, only
the processes `up` started. State lives in the lab dir (default <repo>/.lab,
or $LAB_DIR): env, inventory.yml, pexip-lab.pem, logs/, pids/, state.json.
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import secrets
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
HOST = "127.0.0.1"
REGION = "eu-west-1"
# A second region with a VPC of its own (127.21.0.0/16), for fleets over several regions under one Management Node
# (the guide: "one or many regions"; docs/examples/inventory-two-regions.yml).
REGION_2 = "eu-central-1"
KEY_NAME = "pexip-lab"
USERNAME = "admin"
UP_BUDGET = 9.0  # seconds; `up` must return within 10
STOP_TIMEOUT = 5.0

NODES = [
    {"name": "cn-lon-1", "role": "transcoding", "location": "London", "instance_type": "c5.2xlarge", "subnet": "a", "public_ip": "auto"},
    {"name": "cn-lon-2", "role": "transcoding", "location": "London", "instance_type": "c5.2xlarge", "subnet": "a", "public_ip": "auto"},
    {"name": "cn-edge-1", "role": "proxying", "location": "London Edge", "instance_type": "c5.xlarge", "subnet": "b", "public_ip": "elastic"},
    # Bursting (overflow) nodes: group bursting_nodes, deployed by playbooks/bursting.yml (docs/bursting.md).
    {"name": "cn-burst-1", "role": "transcoding", "location": "AWS burst", "instance_type": "c5.2xlarge", "subnet": "a", "public_ip": "elastic",
     "bursting": True},
    {"name": "cn-burst-2", "role": "transcoding", "location": "AWS burst", "instance_type": "c5.2xlarge", "subnet": "b", "public_ip": "none",
     "bursting": True},
]

ENV_KEYS = [
    "PEXIP_HOST", "PEXIP_USERNAME", "PEXIP_PASSWORD", "PEXIP_CA_PATH", "PEXIP_VALIDATE_CERTS", "PEXIP_NODE_SSH_PASSWORD",
    "LAB_CONTROL_URL", "LAB_NODE_PORT", "LAB_DIR", "LAB_MGMT_PORT", "LAB_SSH_PORT", "PEXIP_MANAGER_OS_PASSWORD",
    "LAB_MANAGER_PASSWORD",
    "AWS_URL", "AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION", "AWS_DEFAULT_REGION",
    "LAB_VPC_ID", "LAB_SUBNET_A", "LAB_SUBNET_B", "LAB_REGION_2", "LAB_VPC_ID_2", "LAB_SUBNET_2A", "LAB_KEY_NAME", "LAB_KEY_FILE",
    "LAB_CERT_DIR", "PEXIP_LICENCE_ENTITLEMENT",
]
LAB_DOMAIN = "lab.example.com"
MGMT_HOSTNAME = "mgr-lab"
MGMT_ADDRESS = "127.20.1.250"  # the private address of the Management Node site.yml launches (inventory.yml.j2)
# One of the entitlement ids the simulator's licence server knows (pexsim/sim.py LAB_ENTITLEMENTS): 50 ports.
LAB_ENTITLEMENT = "LAB-PORT-0050-1C8E"


# tests/integration/integration_config.yml: ansible-test passes its variables to every integration target (as
# vars_files of the play it writes), while it keeps the environment, .lab/env included, away from them.
INTEGRATION_CONFIG = os.path.join(REPO, "tests", "integration", "integration_config.yml")


def integration_config(env):
    """The variables the integration targets connect with (to the lab's Management Node, its control API and moto)."""
    return {
        "pexip_host": env["PEXIP_HOST"],
        "pexip_username": env["PEXIP_USERNAME"],
        "pexip_password": env["PEXIP_PASSWORD"],
        "pexip_ca_path": env["PEXIP_CA_PATH"],
        # The lab's VPC is on loopback: the one place where a node's address may be a loopback one.
        "pexip_allow_loopback_addresses": True,
        "lab_control_url": env["LAB_CONTROL_URL"],
        "lab_ca_path": env["PEXIP_CA_PATH"],
        "lab_dir": env["LAB_DIR"],
        "lab_node_port": int(env["LAB_NODE_PORT"]),
        "lab_subnet_b": env["LAB_SUBNET_B"],
        "lab_key_name": env["LAB_KEY_NAME"],
        "lab_tools": HERE,  # labcerts.py: certificates made for a target's run
        "aws_url": env["AWS_URL"],
        "aws_region": env["AWS_REGION"],
        "aws_access_key": env["AWS_ACCESS_KEY_ID"],
        "aws_secret_key": env["AWS_SECRET_ACCESS_KEY"],
    }


def integration_config_text(env):
    # JSON is YAML: no YAML library needed here.
    return "# Written by tests/lab/lab.py integration-config from the lab's env; never committed.\n%s\n" % (
        json.dumps(integration_config(env), indent=2, sort_keys=True))


class LabError(Exception):
    pass


class Lab:
    def __init__(self, lab_dir):
        self.dir = os.path.abspath(lab_dir)
        self.logs = os.path.join(self.dir, "logs")
        self.pids = os.path.join(self.dir, "pids")
        self.state_file = os.path.join(self.dir, "state.json")
        self.env_file = os.path.join(self.dir, "env")
        self.inventory_file = os.path.join(self.dir, "inventory.yml")
        self.key_file = os.path.join(self.dir, KEY_NAME + ".pem")
        self.tls_dir = os.path.join(self.dir, "tls")
        self.ca_path = os.path.join(self.tls_dir, "ca.pem")
        self.sim_state = os.path.join(self.dir, "pexsim-state.json")

    # ---- state -------------------------------------------------------------

    def read_state(self):
        try:
            with open(self.state_file, encoding="utf-8") as handle:
                return json.load(handle)
        except (OSError, ValueError):
            return {}

    def write_private(self, path, text):
        """Write atomically, owner-only: the files hold a password or a private key."""
        tmp = path + ".tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)

    def write_integration_config(self, path=INTEGRATION_CONFIG):
        """tests/integration/integration_config.yml (or ``path``) from this lab's env; the lab must be up."""
        import labenv  # pylint: disable=import-outside-toplevel

        if not os.path.exists(self.env_file):
            print("lab: no %s: run `lab.py up` first" % self.env_file, file=sys.stderr)
            return 1
        self.write_private(path, integration_config_text(labenv.load_env(self.env_file)))
        print("integration config: %s" % path)
        return 0

    def pid_file(self, name):
        return os.path.join(self.pids, name + ".pid")

    def known_pids(self):
        """name -> pid, from the pid files and state.json (either may be missing)."""
        found = {}
        for name, info in self.read_state().get("processes", {}).items():
            found[name] = int(info["pid"])
        if os.path.isdir(self.pids):
            for entry in os.listdir(self.pids):
                if entry.endswith(".pid"):
                    try:
                        with open(os.path.join(self.pids, entry), encoding="utf-8") as handle:
                            found.setdefault(entry[:-4], int(handle.read().strip()))
                    except (OSError, ValueError):
                        continue
        return found

    # ---- health ------------------------------------------------------------

    def healthy(self, state=None, patience=2.0):
        """Both processes ours and alive, and both answer (given `patience` seconds: a busy host is slow)."""
        state = state if state is not None else self.read_state()
        procs = state.get("processes", {})
        if set(procs) != {"moto", "pexsim"} or not os.path.exists(self.env_file):
            return False
        deadline = time.monotonic() + patience
        while True:
            if not all(is_our_process(info["pid"], info["marker"]) for info in procs.values()):
                return False
            if moto_answers(state["moto_port"]) and sim_answers(state["mgmt_port"], self.ca_path):
                return True
            if time.monotonic() > deadline:
                return False
            time.sleep(0.2)

    # ---- up ----------------------------------------------------------------

    def up(self):
        started = time.monotonic()
        state = self.read_state()
        if state and self.healthy(state):
            print("lab already up: moto http://%s:%d, manager https://%s:%d (%s)" % (
                HOST, state["moto_port"], HOST, state["mgmt_port"], self.env_file))
            return 0
        if self.known_pids():
            print("lab partly up or stale: restarting it")
            self.down(quiet=True)

        for path in (self.logs, self.pids, self.tls_dir):
            os.makedirs(path, exist_ok=True)
        os.chmod(self.dir, 0o700)
        moto_port = pick_port("LAB_MOTO_PORT", 5555)
        mgmt_port = pick_port("LAB_MGMT_PORT", 9443, avoid={moto_port})
        node_port = int(os.environ.get("LAB_NODE_PORT", "8443"))
        # SSH first boot of Management Node instances, on <instance private ip>:<ssh_port> (docs/management_node.md).
        ssh_port = pick_port("LAB_SSH_PORT", 2222, avoid={moto_port, mgmt_port})
        password = secrets.token_urlsafe(18)
        aws_url = "http://%s:%d" % (HOST, moto_port)

        state = {"moto_port": moto_port, "mgmt_port": mgmt_port, "node_port": node_port, "ssh_port": ssh_port, "processes": {}}
        moto_cmd = [sys.executable, os.path.join(HERE, "moto_lab.py"), "--listen", "%s:%d" % (HOST, moto_port), "--region", REGION, "--region", REGION_2,
                    "--amis-file", os.path.join(self.dir, "amis.json")]
        state["processes"]["moto"] = self.spawn("moto", moto_cmd, {}, "moto_lab.py")
        self.save_state(state)

        sim_cmd = [sys.executable, "-m", "pexsim", "--listen", "%s:%d" % (HOST, mgmt_port),
                   "--state-file", self.sim_state, "--tls-dir", self.tls_dir,
                   "--username", USERNAME, "--password=" + password,  # "=": a token may start with "-"
                   "--aws-url", aws_url,
                   "--node-port", str(node_port),
                   "--boot-delay", os.environ.get("LAB_BOOT_DELAY", "3"),
                   "--sync-delay", os.environ.get("LAB_SYNC_DELAY", "2"),
                   "--backup-delay", os.environ.get("LAB_BACKUP_DELAY", os.environ.get("LAB_SYNC_DELAY", "2")),
                   "--ssh-port", str(ssh_port), "--ssh-key-file", self.key_file, "--ssh-key-name", KEY_NAME,
                   "--reboot-delay", os.environ.get("LAB_REBOOT_DELAY", "2"),
                   "--pid-file", os.path.join(self.dir, "pexsim.pid"),
                   "--log-file", os.path.join(self.logs, "pexsim.log")]
        # $LAB_PEXSIM_PATH: another directory holding a pexsim package (to test this plumbing on its own).
        sim_path = os.environ.get("LAB_PEXSIM_PATH") or HERE
        sim_env = {"PYTHONPATH": os.pathsep.join(filter(None, [sim_path, os.environ.get("PYTHONPATH")])), "AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION,
                   "LAB_EC2_REGIONS": REGION_2, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                   "AWS_ENDPOINT_URL": aws_url, "AWS_URL": aws_url}
        state["processes"]["pexsim"] = self.spawn("pexsim", sim_cmd, sim_env, "pexsim")
        self.save_state(state)

        deadline = time.monotonic() + UP_BUDGET  # from the spawn: a restart after a stale lab may take longer overall
        try:
            ec2 = ec2_client(aws_url)  # loads boto3 while moto starts
            wait_for("moto on port %d" % moto_port, lambda: moto_answers(moto_port), deadline, self.check_alive)
            seed = seed_aws(ec2, self.key_file)
            seed.update(seed_second_region(ec2_client(aws_url, REGION_2), self.key_file))
            wait_for("the Pexip simulator on port %d" % mgmt_port,
                     lambda: sim_answers(mgmt_port, self.ca_path), deadline, self.check_alive)
        except LabError as exc:
            print("lab up failed: %s (logs in %s)" % (exc, self.logs), file=sys.stderr)
            self.down(quiet=True)
            return 1

        env = {
            "PEXIP_HOST": "%s:%d" % (HOST, mgmt_port),
            "PEXIP_USERNAME": USERNAME,
            "PEXIP_PASSWORD": password,
            "PEXIP_CA_PATH": self.ca_path,
            "PEXIP_VALIDATE_CERTS": "true",
            "PEXIP_NODE_SSH_PASSWORD": secrets.token_urlsafe(12),
            "LAB_CONTROL_URL": "https://%s:%d/_lab" % (HOST, mgmt_port),
            "LAB_NODE_PORT": str(node_port),
            "LAB_DIR": self.dir,
            "LAB_MGMT_PORT": str(mgmt_port),
            "LAB_SSH_PORT": str(ssh_port),
            "PEXIP_MANAGER_OS_PASSWORD": secrets.token_urlsafe(12),
            # The web administration password the installation wizard gives mgr-lab, the Management Node that
            # site.yml installs: not PEXIP_PASSWORD, so that a run shows it talks to the new node with its own.
            "LAB_MANAGER_PASSWORD": secrets.token_urlsafe(12),
            "AWS_URL": aws_url,
            "AWS_ENDPOINT_URL": aws_url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "LAB_VPC_ID": seed["vpc_id"],
            "LAB_SUBNET_A": seed["subnet_a"],
            "LAB_SUBNET_B": seed["subnet_b"],
            "LAB_REGION_2": REGION_2,
            "LAB_VPC_ID_2": seed["vpc_id_2"],
            "LAB_SUBNET_2A": seed["subnet_2a"],
            "LAB_KEY_NAME": KEY_NAME,
            "LAB_KEY_FILE": self.key_file,
            "LAB_CERT_DIR": os.path.join(self.dir, "certs"),
            "PEXIP_LICENCE_ENTITLEMENT": LAB_ENTITLEMENT,
        }
        # An operator's CA and a certificate for each lab FQDN (the initial configuration's TLS step), kept across down.
        import labcerts  # pylint: disable=import-outside-toplevel
        # The Management Node's also names the address the inventory reaches it by (pexip_manager_host), as the host
        # name is checked once its certificate is uploaded.
        labcerts.ensure(env["LAB_CERT_DIR"], ["%s.%s" % (name, LAB_DOMAIN) for name in [MGMT_HOSTNAME] + [n["name"] for n in NODES]],
                        extra_names={"%s.%s" % (MGMT_HOSTNAME, LAB_DOMAIN): [MGMT_ADDRESS]})
        self.write_private(self.env_file, "".join("export %s=%s\n" % (k, sh_quote(env[k])) for k in ENV_KEYS))
        self.write_private(self.inventory_file, render_inventory(self.dir, env, mgmt_port))
        state["env"] = {k: v for k, v in env.items() if "PASSWORD" not in k and "ENTITLEMENT" not in k}
        self.save_state(state)
        print("lab up in %.1fs: moto %s, manager https://%s:%d; run: source %s" % (
            time.monotonic() - started, aws_url, HOST, mgmt_port, self.env_file))
        return 0

    def save_state(self, state):
        self.write_private(self.state_file, json.dumps(state, indent=2) + "\n")

    def spawn(self, name, cmd, extra_env, marker):
        """Start a detached process (own session): it outlives this command."""
        env = dict(os.environ)
        env.update(extra_env)
        log = open(os.path.join(self.logs, name + ".out.log"), "ab")  # pylint: disable=consider-using-with
        try:
            proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdin=subprocess.DEVNULL, stdout=log,  # pylint: disable=consider-using-with
                                    stderr=subprocess.STDOUT, start_new_session=True, close_fds=True)
        finally:
            log.close()
        with open(self.pid_file(name), "w", encoding="utf-8") as handle:
            handle.write("%d\n" % proc.pid)
        return {"pid": proc.pid, "marker": marker}

    def check_alive(self):
        for name, info in self.read_state().get("processes", {}).items():
            if not is_our_process(info["pid"], info["marker"]):
                raise LabError("%s exited early; see %s" % (name, os.path.join(self.logs, name + ".out.log")))

    # ---- down --------------------------------------------------------------

    def down(self, quiet=False):
        state = self.read_state()
        markers = {name: info["marker"] for name, info in state.get("processes", {}).items()}
        markers.setdefault("moto", "moto_lab.py")
        markers.setdefault("pexsim", "pexsim")
        pids = self.known_pids()
        stopped = []
        for name, pid in pids.items():
            if is_our_process(pid, markers.get(name, name)):
                terminate(pid)
                stopped.append("%s (pid %d)" % (name, pid))
        left = [name for name, pid in pids.items() if is_our_process(pid, markers.get(name, name))]
        ports = [state[k] for k in ("moto_port", "mgmt_port") if k in state]
        open_ports = [port for port in ports if port_in_use(port)]
        for path in [self.pid_file(name) for name in pids] + [self.state_file, self.env_file, self.inventory_file,
                                                              self.key_file, self.sim_state, os.path.join(self.dir, "pexsim.pid"),
                                                              os.path.join(self.dir, "amis.json"), os.path.join(self.dir, "known_hosts")]:
            remove(path)
        if left or open_ports:
            print("lab down: still running %s, ports still open %s" % (left, open_ports), file=sys.stderr)
            return 1
        if not quiet:
            print("lab down: stopped %s" % (", ".join(stopped) if stopped else "nothing (was not up)"))
        return 0

    # ---- status ------------------------------------------------------------

    def status(self):
        state = self.read_state()
        if not state:
            print("lab is down")
            return 3
        for name, info in state.get("processes", {}).items():
            print("%-7s pid %-7d %s" % (name, info["pid"], "running" if is_our_process(info["pid"], info["marker"]) else "GONE"))
        moto_ok = moto_answers(state["moto_port"])
        sim_ok = sim_answers(state["mgmt_port"], self.ca_path)
        print("moto    http://%s:%d %s" % (HOST, state["moto_port"], "answers" if moto_ok else "NOT answering"))
        print("manager https://%s:%d %s" % (HOST, state["mgmt_port"], "answers" if sim_ok else "NOT answering"))
        if self.healthy(state, patience=0):
            print("lab is up; source %s" % self.env_file)
            return 0
        print("lab is unhealthy; run down then up")
        return 1


# ---- helpers ---------------------------------------------------------------

def sh_quote(value):
    return "'" + str(value).replace("'", "'\"'\"'") + "'"


def remove(path):
    try:
        os.remove(path)
    except FileNotFoundError:
        pass


def is_our_process(pid, marker):
    """Alive and really ours: a recycled pid must never be signalled."""
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as handle:
            cmdline = handle.read().replace(b"\0", b" ").decode("utf-8", "replace")
        with open("/proc/%d/stat" % pid, encoding="utf-8") as handle:
            zombie = handle.read().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return False
    return not zombie and marker in cmdline


def terminate(pid):
    """SIGTERM, then SIGKILL after STOP_TIMEOUT. The process leads its own session, so its group goes too."""
    for sig, timeout in ((signal.SIGTERM, STOP_TIMEOUT), (signal.SIGKILL, 2.0)):
        try:
            if os.getpgid(pid) == pid:
                os.killpg(pid, sig)
            else:
                os.kill(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not is_our_process(pid, ""):
                return
            time.sleep(0.05)


def port_in_use(port):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((HOST, port)) == 0


def port_free(port):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # Like the servers do, so that a port in TIME_WAIT after `down` counts as free.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                return False
            raise
    return not port_in_use(port)


def pick_port(env_name, default, avoid=()):
    """$env_name if set (it must be free), else the default, else any free loopback port."""
    wanted = os.environ.get(env_name)
    if wanted:
        port = int(wanted)
        if port in avoid or not port_free(port):
            raise SystemExit("lab: %s=%d is already in use" % (env_name, port))
        return port
    if default not in avoid and port_free(default):
        return default
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind((HOST, 0))
            port = sock.getsockname()[1]
        if port not in avoid:
            return port


def moto_answers(port):
    try:
        with urllib.request.urlopen("http://%s:%d/moto-api/config" % (HOST, port), timeout=1) as resp:
            return resp.status < 500
    except urllib.error.HTTPError as exc:
        return exc.code < 500
    except OSError:
        return False


def sim_answers(port, ca_path):
    """Any HTTP answer over TLS verified with the lab CA counts (the API itself needs auth)."""
    if not os.path.exists(ca_path):
        return False
    try:
        context = ssl.create_default_context(cafile=ca_path)
        with urllib.request.urlopen("https://%s:%d/api/admin/status/v1/" % (HOST, port), timeout=1, context=context) as resp:
            return resp.status < 500
    except urllib.error.HTTPError as exc:
        return exc.code < 500
    except (OSError, ssl.SSLError):
        return False


def wait_for(what, probe, deadline, check_alive):
    while True:
        if probe():
            return
        check_alive()
        if time.monotonic() > deadline:
            raise LabError("timed out waiting for %s" % what)
        time.sleep(0.1)


def ec2_client(aws_url, region=REGION):
    import boto3

    return boto3.client("ec2", region_name=region, endpoint_url=aws_url,
                        aws_access_key_id="testing", aws_secret_access_key="testing")


def seed_aws(ec2, key_file):
    """The lab's network and key pair, created with boto3 like a user would."""

    def tags(kind, name):
        return [{"ResourceType": kind, "Tags": [{"Key": "Name", "Value": name}]}]

    # 127.20.0.0/16: moto hands out private IPs from the subnets, so nodes get loopback addresses.
    vpc_id = ec2.create_vpc(CidrBlock="127.20.0.0/16", TagSpecifications=tags("vpc", "pexip-lab"))["Vpc"]["VpcId"]
    ec2.modify_vpc_attribute(VpcId=vpc_id, EnableDnsHostnames={"Value": True})
    subnets = {}
    for suffix, cidr, zone in (("a", "127.20.1.0/24", REGION + "a"), ("b", "127.20.2.0/24", REGION + "b")):
        subnets[suffix] = ec2.create_subnet(VpcId=vpc_id, CidrBlock=cidr, AvailabilityZone=zone,
                                            TagSpecifications=tags("subnet", "pexip-lab-" + suffix))["Subnet"]["SubnetId"]
    igw = ec2.create_internet_gateway(TagSpecifications=tags("internet-gateway", "pexip-lab"))["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc_id)
    tables = ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["RouteTables"]
    ec2.create_route(RouteTableId=tables[0]["RouteTableId"], DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)
    key = ec2.create_key_pair(KeyName=KEY_NAME, TagSpecifications=tags("key-pair", KEY_NAME))
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(key["KeyMaterial"].rstrip("\n") + "\n")
    os.chmod(key_file, 0o600)
    return {"vpc_id": vpc_id, "subnet_a": subnets["a"], "subnet_b": subnets["b"], "igw_id": igw}


def seed_second_region(ec2, key_file):
    """REGION_2: a VPC on 127.21.0.0/16 with one subnet and a route out, and the same key pair imported (key pairs
    are per region), as a user who extends the platform to a second region does."""
    from cryptography.hazmat.primitives import serialization

    def tags(kind, name):
        return [{"ResourceType": kind, "Tags": [{"Key": "Name", "Value": name}]}]

    vpc_id = ec2.create_vpc(CidrBlock="127.21.0.0/16", TagSpecifications=tags("vpc", "pexip-lab-2"))["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc_id, CidrBlock="127.21.1.0/24", AvailabilityZone=REGION_2 + "a",
                               TagSpecifications=tags("subnet", "pexip-lab-2a"))["Subnet"]["SubnetId"]
    igw = ec2.create_internet_gateway(TagSpecifications=tags("internet-gateway", "pexip-lab-2"))["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc_id)
    tables = ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["RouteTables"]
    ec2.create_route(RouteTableId=tables[0]["RouteTableId"], DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)
    with open(key_file, "rb") as handle:
        public = serialization.load_pem_private_key(handle.read(), password=None).public_key()
    ec2.import_key_pair(KeyName=KEY_NAME, PublicKeyMaterial=public.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH))
    return {"vpc_id_2": vpc_id, "subnet_2a": subnet}


def render_inventory(lab_dir, env, mgmt_port):
    import jinja2

    with open(os.path.join(HERE, "inventory.yml.j2"), encoding="utf-8") as handle:
        template = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
                                      trim_blocks=True, lstrip_blocks=True).from_string(handle.read())
    subnet = {"a": env["LAB_SUBNET_A"], "b": env["LAB_SUBNET_B"]}
    nodes = [dict(node, subnet_id=subnet[node["subnet"]]) for node in NODES]
    return template.render(lab_dir=lab_dir, region=env["AWS_REGION"], vpc_id=env["LAB_VPC_ID"], key_name=env["LAB_KEY_NAME"],
                           mgmt_port=mgmt_port, nodes=nodes, ssh_port=env["LAB_SSH_PORT"],
                           subnet_a=env["LAB_SUBNET_A"], cert_dir=env["LAB_CERT_DIR"], mgmt_address=MGMT_ADDRESS)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["up", "down", "status", "integration-config"])
    parser.add_argument("--dir", default=os.environ.get("LAB_DIR") or os.path.join(REPO, ".lab"),
                        help="lab state directory (default: $LAB_DIR or <repo>/.lab)")
    parser.add_argument("--out", default=INTEGRATION_CONFIG,
                        help="integration-config: the file to write (default: tests/integration/integration_config.yml)")
    args = parser.parse_args(argv)
    lab = Lab(args.dir)
    if args.command == "integration-config":
        return lab.write_integration_config(os.path.abspath(args.out))
    if args.command == "up":
        return lab.up()
    if args.command == "down":
        return lab.down()
    return lab.status()


if __name__ == "__main__":
    sys.exit(main())
