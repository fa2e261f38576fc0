# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""`make bench`: what deploy.yml, an upgrade and rolling maintenance cost the controller, the Management Node and AWS per node.

For each fleet size N (BENCH_SIZES, default 1,10,50) on a fresh lab of its own (LAB_DIR=tests/output/bench-lab,
ports BENCH_LAB_MOTO_PORT, BENCH_LAB_MGMT_PORT, BENCH_LAB_NODE_PORT, BENCH_LAB_SSH_PORT, default 45555, 49443, 48443,
42222: never the ports of the developer's own lab or of the test workers' labs): deploy.yml over N transcoding nodes (public_ip none), the no-op re-run,
--check, a hand-written drift check (baseline_drift.py), an upgrade of the fleet (upgrade.yml with a lab package,
no EBS snapshot: Management Node requests per poll of the fleet watch), and rolling maintenance of min(N, BENCH_MAINT_NODES) nodes
with serial 1 and serial 5. Per run: wall time, controller CPU (user+sys of the whole process tree:
getrusage(RUSAGE_CHILDREN) around the subprocess), Management Node and bootstrap-page requests and writes (the
simulator's request log), and AWS calls (moto's request recorder, only requests whose User-Agent is Ansible's or
the baseline's: the simulator's own EC2 polling is left out). Writes tests/output/bench.md, bench.json and
bench.png. A benchmark, not a test: it asserts only that every run succeeded.
"""

import base64
import json
import os
import re
import resource
import subprocess
import sys
import time
from urllib.parse import parse_qs

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "lab"))

import labctl  # noqa: E402  pylint: disable=wrong-import-position
import labenv  # noqa: E402  pylint: disable=wrong-import-position
from pexsim import upgrade  # noqa: E402  pylint: disable=wrong-import-position

OUTPUT = os.environ.get("BENCH_OUTPUT") or os.path.join(REPO, "tests", "output")
LAB_DIR = os.path.join(OUTPUT, "bench-lab")
SIZES = [int(n) for n in os.environ.get("BENCH_SIZES", "1,10,50").split(",") if n.strip()]
# The fleet over 1 region, or split over 2 (every second node in the lab's second region, LAB_REGION_2): BENCH_REGIONS=1,2
# measures each size both ways, each on a fresh lab (issue 28: the no-op over two regions against one).
REGIONS = [int(n) for n in os.environ.get("BENCH_REGIONS", "1").split(",") if n.strip()]
FORKS = int(os.environ.get("BENCH_FORKS", "10"))
MAINT_NODES = int(os.environ.get("BENCH_MAINT_NODES", "5"))
UPGRADE_POLL = int(os.environ.get("BENCH_UPGRADE_POLL", "5"))
# The runs after the first deploy (which every other run needs): BENCH_PHASES=noop for the no-op re-run alone, the
# quick way to a 100-node figure (BENCH_SIZES=30,100 BENCH_PHASES=noop).
PHASES = set(os.environ.get("BENCH_PHASES", "noop,check,baseline,maintenance,upgrade").replace(" ", "").split(","))
BOOT_DELAY = float(os.environ.get("LAB_BOOT_DELAY", "1"))
SYNC_DELAY = float(os.environ.get("LAB_SYNC_DELAY", "1"))
BASELINE_UA = "pexip-bench-baseline"
RECORDING = os.path.join(LAB_DIR, "moto-recording.jsonl")
RECAP = re.compile(r"^(\S+)\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M)
WRITES = ("POST", "PATCH", "PUT", "DELETE")
AWS_READ = re.compile(r"^(Describe|Get|List)")
LOCATION = "Bench"
# Ports of the bench's own lab, away from the developer's lab (LAB_*_PORT, 5555/9443/8443/2222) and the test
# workers' labs (25550+n, 29440+n, 28440+n, 22220+n): the bench must not collide with a lab that is up.
LAB_PORTS = {name: os.environ.get("BENCH_" + name) or default for name, default in (
    ("LAB_MOTO_PORT", "45555"), ("LAB_MGMT_PORT", "49443"), ("LAB_NODE_PORT", "48443"), ("LAB_SSH_PORT", "42222"))}


def node_name(index):
    return "bench-%03d" % index


def inventory(env, size, regions=1):
    hosts = {node_name(i): {"pexip_node_location": LOCATION, "pexip_node_subnet_id": env["LAB_SUBNET_A"]}
             for i in range(1, size + 1)}
    if regions == 2:
        for i in range(2, size + 1, 2):
            hosts[node_name(i)].update(pexip_node_region=env["LAB_REGION_2"], pexip_vpc_id=env["LAB_VPC_ID_2"],
                                       pexip_node_subnet_id=env["LAB_SUBNET_2A"])
    return {"all": {"children": {"pexip_platform": {
        "vars": {
            "ansible_connection": "local",
            "ansible_python_interpreter": "{{ ansible_playbook_python }}",
            "pexip_region": env["AWS_REGION"],
            "pexip_vpc_id": env["LAB_VPC_ID"],
            "pexip_key_name": env["LAB_KEY_NAME"],
            "pexip_security_group_name": "bench",
            "pexip_management_cidr": "127.0.0.0/8",
            "pexip_allow_loopback_addresses": True,
            "pexip_node_domain": "bench.example.com",
            "pexip_node_role": "transcoding",
            "pexip_node_public_ip": "none",
            "pexip_node_ssh_password": "bench-ssh-password",
            "pexip_node_bootstrap_ca_path": os.path.join(LAB_DIR, "tls", "node-ca.pem"),
            "pexip_node_bootstrap_port": int(env["LAB_NODE_PORT"]),
            "pexip_locations": [{"name": LOCATION, "description": "bench", "dns_servers": ["127.0.0.53"],
                                 "ntp_servers": ["127.0.0.123"]}],
        },
        "children": {"conferencing_nodes": {"hosts": hosts}},
    }}}}


def lab(command, extra_env=None):
    env = dict(os.environ, LAB_DIR=LAB_DIR, **LAB_PORTS)
    env.update(extra_env or {})
    subprocess.run([sys.executable, os.path.join(REPO, "tests", "lab", "lab.py"), command, "--dir", LAB_DIR],
                   cwd=REPO, env=env, check=True, timeout=120, stdout=subprocess.DEVNULL)


def start_lab():
    lab("down")
    if os.path.exists(RECORDING):
        os.remove(RECORDING)
    # moto's own request recorder; every AWS request lands in RECORDING (the lab passes its environment on).
    lab("up", {"LAB_BOOT_DELAY": str(BOOT_DELAY), "LAB_SYNC_DELAY": str(SYNC_DELAY),
               "MOTO_ENABLE_RECORDING": "True", "MOTO_RECORDER_FILEPATH": RECORDING})
    return labenv.load_env(os.path.join(LAB_DIR, "env"))


def aws_calls(offset):
    """(calls, writes, {action: count}) recorded by moto after byte ``offset``, ours only; and the new offset."""
    if not os.path.exists(RECORDING):
        return 0, 0, {}, offset
    actions = {}
    with open(RECORDING, encoding="utf-8") as handle:
        handle.seek(offset)
        for line in handle:
            entry = json.loads(line)
            agent = {k.lower(): v for k, v in entry["headers"].items()}.get("user-agent", "")
            if "Ansible" not in agent and BASELINE_UA not in agent:
                continue  # the simulator's EC2 watcher
            body = entry.get("body") or ""
            if entry.get("body_encoded"):
                body = base64.b64decode(body).decode("utf-8", "replace")
            action = (parse_qs(body).get("Action") or parse_qs(entry["url"].partition("?")[2]).get("Action") or ["?"])[0]
            actions[action] = actions.get(action, 0) + 1
        offset = handle.tell()
    writes = sum(n for action, n in actions.items() if not AWS_READ.match(action))
    return sum(actions.values()), writes, actions, offset


def playbook_cmd(inventory_file, playbook, *args):
    return [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", inventory_file,
            os.path.join(REPO, playbook)] + list(args)


FLEET_POLL = "/api/admin/status/v1/worker_vm/?limit="  # pexip_upgrade's fleet watch: one request per poll


def watch_figures(log):
    """The upgrade's fleet watch: its polls, and the Management Node requests per poll from its first poll to its last.

    The watch starts after the upgrade's last write (the finish/ that starts it): the same fleet read made by the
    checks before the upgrade is not a poll of the watch, and the backup and upload between them are not its cost."""
    mgmt = [e for e in log if e["target"] == "mgmt"]
    started = max([i for i, e in enumerate(mgmt) if e["method"] in WRITES] or [-1])
    polls = [i for i, e in enumerate(mgmt) if i > started and e["method"] == "GET" and e["path"].startswith(FLEET_POLL)]
    if not polls:
        return dict(polls=0, per_poll=0.0)
    return dict(polls=len(polls), per_poll=(polls[-1] - polls[0] + 1) / float(len(polls)))


def measure(label, size, cmd, env, control, offset):
    """Run ``cmd``; wall, CPU of its process tree, requests and AWS calls it caused."""
    since = control.last_ts()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=3600, check=False)
    wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    log = control.requests_log(since)
    calls, aws_writes, actions, offset = aws_calls(offset)
    recap = {m.group(1): int(m.group(3)) for m in RECAP.finditer(proc.stdout)}
    row = dict(phase=label, n=size, wall=wall, cpu=cpu, rc=proc.returncode,
               mgmt=sum(1 for e in log if e["target"] == "mgmt"),
               requests=len(log),
               writes=sum(1 for e in log if e["method"] in WRITES) + aws_writes,
               api_writes=sum(1 for e in log if e["method"] in WRITES),
               aws=calls, aws_writes=aws_writes, aws_actions=actions,
               changed=sum(recap.values()))
    if label == "upgrade":
        row.update(watch_figures(log))
    print("  %-22s wall %6.1f s  cpu %6.1f s  mgmt req %5d  writes %4d  aws %5d  changed %4d  rc %d"
          % (label, wall, cpu, row["mgmt"], row["writes"], calls, row["changed"], proc.returncode), flush=True)
    if proc.returncode != 0:
        with open(os.path.join(OUTPUT, "bench-failed-%s-%d.log" % (label.replace(" ", "_"), size)), "w", encoding="utf-8") as out:
            out.write(proc.stdout + proc.stderr)
    return row, offset


def run_size(size, regions=1):
    print("N=%d over %d region(s): starting a fresh lab" % (size, regions), flush=True)
    env = start_lab()
    run_env = dict(os.environ, **env)
    run_env.update(ANSIBLE_FORCE_COLOR="0", ANSIBLE_NOCOLOR="1", ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"),
                   ANSIBLE_FORKS=str(FORKS), ANSIBLE_STDOUT_CALLBACK="default")
    run_env.setdefault("ANSIBLE_COLLECTIONS_PATH", os.path.join(REPO, ".venv", "collections"))
    control = labctl.LabControl(env["LAB_CONTROL_URL"].rsplit("/_lab", 1)[0], env["PEXIP_CA_PATH"])
    inventory_file = os.path.join(OUTPUT, "bench-inventory-%d-%dr.yml" % (size, regions))
    with open(inventory_file, "w", encoding="utf-8") as handle:
        yaml.safe_dump(inventory(env, size, regions), handle, sort_keys=False)
    suffix = " (2 regions)" if regions == 2 else ""
    offset = os.path.getsize(RECORDING) if os.path.exists(RECORDING) else 0
    rows = []
    deploy = playbook_cmd(inventory_file, "playbooks/deploy.yml")
    for label, cmd, phase in (("deploy", deploy, "deploy"), ("no-op re-run", deploy, "noop"), ("check", deploy + ["--check"], "check")):
        if phase == "deploy" or phase in PHASES:
            row, offset = measure(label + suffix, size, cmd, run_env, control, offset)
            rows.append(row)
    # The yardstick checks the fleet the no-op run just checked. After maintenance it would race the last node's
    # resync: taking a node out of maintenance mode is a configuration change, and the node syncs again a moment later.
    cmd = [sys.executable, os.path.join(HERE, "baseline_drift.py"), inventory_file]
    base_env = dict(run_env, BENCH_USER_AGENT=BASELINE_UA)
    if "baseline" in PHASES:
        row, offset = measure("baseline drift check", size, cmd, base_env, control, offset)
        rows.append(row)
    if "upgrade" in PHASES:
        # The upgrade of the whole fleet (the simulator's rolling upgrade, waves of 10), while every node is synced: after
        # rolling maintenance the last node may still be resyncing, which the upgrade refuses.
        package = os.path.join(OUTPUT, "bench-upgrade-35.0.0.tar")
        with open(package, "wb") as handle:
            handle.write(upgrade.make_package("35.0.0", size=1 << 20))
        backups = os.path.join(OUTPUT, "bench-upgrade-backups")
        os.makedirs(backups, mode=0o700, exist_ok=True)
        cmd = playbook_cmd(inventory_file, "playbooks/upgrade.yml", "-e", "pexip_upgrade_package=" + package, "-e", "pexip_upgrade_version=35.0.0",
                           "-e", "pexip_upgrade_backup_passphrase=bench", "-e", "pexip_upgrade_backup_dir=" + backups, "-e", "upgrade_snapshot=false",
                           "-e", "upgrade_poll_interval=%d" % UPGRADE_POLL)
        row, offset = measure("upgrade", size, cmd, run_env, control, offset)
        rows.append(row)
    maint = ",".join(node_name(i) for i in range(1, min(size, MAINT_NODES) + 1))
    for serial in ((1, 5) if "maintenance" in PHASES else ()):
        cmd = playbook_cmd(inventory_file, "playbooks/rolling_maintenance.yml", "-e", "nodes=" + maint,
                           "-e", "rolling_maintenance_serial=%d" % serial)
        row, offset = measure("maintenance serial %d" % serial, size, cmd, run_env, control, offset)
        row["batches"] = -(-min(size, MAINT_NODES) // serial)
        row["nodes"] = min(size, MAINT_NODES)
        rows.append(row)
    lab("down")
    return rows


def fmt(value, base, digits=1):
    text = "%.*f" % (digits, value)
    if base:
        text += " (×%.1f)" % (value / base)
    return text


def per(row, key):
    """A figure per node; rolling maintenance covers min(N, BENCH_MAINT_NODES) nodes: per maintained node."""
    return row[key] / row.get("nodes", row["n"])


def table(rows):
    by_phase = {}
    for row in rows:
        by_phase.setdefault(row["phase"], []).append(row)
    lines = ["| phase | N | wall s | CPU s | CPU s/node | MN req/node | writes/node | AWS calls/node | changed | ok |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for phase, group in by_phase.items():
        first = min(group, key=lambda r: r["n"])
        for row in sorted(group, key=lambda r: r["n"]):
            ratio = row is not first
            lines.append("| %s | %d | %s | %s | %s | %s | %s | %s | %d | %s |" % (
                phase, row["n"], fmt(row["wall"], first["wall"] if ratio else 0), fmt(row["cpu"], first["cpu"] if ratio else 0),
                fmt(per(row, "cpu"), per(first, "cpu") if ratio else 0, 2),
                fmt(per(row, "mgmt"), per(first, "mgmt") if ratio and first["mgmt"] else 0, 1),
                fmt(per(row, "writes"), 0, 1),
                fmt(per(row, "aws"), per(first, "aws") if ratio and first["aws"] else 0, 1),
                row["changed"], "yes" if row["rc"] == 0 else "FAILED rc=%d" % row["rc"]))
    lines.append("")
    lines.append("(×r) = ratio to the same figure at the smallest N. writes = POST/PATCH/PUT/DELETE to the Management "
                 "Node or a bootstrap page, plus AWS calls other than Describe*/Get*/List*.")
    lines.append("")
    simulated = BOOT_DELAY + SYNC_DELAY
    for row in rows:
        if row.get("batches"):
            overhead = (row["wall"] - row["batches"] * simulated) / row["batches"]
            lines.append("- N=%d, %s over %d nodes: %d batches, %.1f s per batch, %.1f s beyond the simulated "
                         "boot+sync wait (%.0f s)" % (row["n"], row["phase"], row["nodes"], row["batches"],
                                                      row["wall"] / row["batches"], overhead, simulated))
    for row in rows:
        if row["phase"] == "upgrade" and row.get("polls"):
            lines.append("- N=%d, upgrade: %d polls of the fleet (every %d s at most), %.2f Management Node requests per poll "
                         "during the watch, controller CPU %.1f s (%.2f s per node)" % (
                             row["n"], row["polls"], UPGRADE_POLL, row["per_poll"], row["cpu"], row["cpu"] / row["n"]))
    for size in sorted({r["n"] for r in rows}):
        one = next((r for r in rows if r["n"] == size and r["phase"] == "no-op re-run"), None)
        two = next((r for r in rows if r["n"] == size and r["phase"] == "no-op re-run (2 regions)"), None)
        if one and two:
            lines.append("- N=%d: no-op re-run over 2 regions against 1: CPU ×%.2f, wall ×%.2f, Management Node requests %d / %d, "
                         "AWS calls %d / %d" % (size, two["cpu"] / max(one["cpu"], 0.01), two["wall"] / max(one["wall"], 0.01),
                                                two["mgmt"], one["mgmt"], two["aws"], one["aws"]))
    for size in sorted({r["n"] for r in rows}):
        noop = next((r for r in rows if r["n"] == size and r["phase"] == "no-op re-run"), None)
        base = next((r for r in rows if r["n"] == size and r["phase"] == "baseline drift check"), None)
        if noop and base:
            lines.append("- N=%d: no-op re-run over the hand-written drift check: wall ×%.1f, CPU ×%.1f"
                         % (size, noop["wall"] / base["wall"], noop["cpu"] / max(base["cpu"], 0.01)))
    return "\n".join(lines) + "\n"


def chart(rows, path):
    import matplotlib  # pylint: disable=import-outside-toplevel
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # pylint: disable=import-outside-toplevel

    fig, (wall_ax, cpu_ax) = plt.subplots(1, 2, figsize=(11, 4.5))
    for phase in ("deploy", "no-op re-run", "check", "baseline drift check"):
        points = sorted((r["n"], r["wall"] / r["n"], r["cpu"] / r["n"]) for r in rows if r["phase"] == phase)
        if not points:
            continue
        sizes = [p[0] for p in points]
        wall_ax.plot(sizes, [p[1] for p in points], marker="o", label=phase)
        cpu_ax.plot(sizes, [p[2] for p in points], marker="o", label=phase)
    for axis, title in ((wall_ax, "wall seconds per node"), (cpu_ax, "controller CPU seconds per node")):
        axis.set_xscale("log")
        axis.set_xlabel("nodes (N)")
        axis.set_title(title)
        axis.grid(True, alpha=0.3)
        axis.legend()
    fig.suptitle("deploy.yml against the lab, forks=%d" % FORKS)
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def report(rows, total):
    text = ("# make bench\n\nlab boot delay %.0f s, sync delay %.0f s, forks=%d, public_ip none, %s; total %.0f s\n\n"
            % (BOOT_DELAY, SYNC_DELAY, FORKS, time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), total)) + table(rows)
    with open(os.path.join(OUTPUT, "bench.md"), "w", encoding="utf-8") as handle:
        handle.write(text)
    with open(os.path.join(OUTPUT, "bench.json"), "w", encoding="utf-8") as handle:
        json.dump(rows, handle, indent=1)
    chart(rows, os.path.join(OUTPUT, "bench.png"))
    print("\n" + text)
    print("written: %s/bench.md, bench.json, bench.png" % OUTPUT)


def main():
    os.makedirs(OUTPUT, exist_ok=True)
    if len(sys.argv) == 2:  # bench.py BENCH.json: the report of an earlier run again
        with open(sys.argv[1], encoding="utf-8") as handle:
            report(json.load(handle), 0)
        return 0
    started = time.monotonic()
    rows = []
    try:
        for size in SIZES:
            for regions in REGIONS:
                rows.extend(run_size(size, regions))
    finally:
        lab("down")
    report(rows, time.monotonic() - started)
    return 0 if all(r["rc"] == 0 for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
