# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""End to end: dynamic bursting to AWS against the lab (moto + the Pexip simulator).

One platform with unique names (the lab is shared with other tests):

- ``a1``, ``a2``: always-on Transcoding Conferencing Nodes in location ALWAYS, the working platform the guide starts
  from: set up as playbooks/deploy.yml leaves them but straight through boto3 and the API (deploy_always_on), which
  costs the controller next to nothing (test_e2e_deploy and test_e2e_platform test the deploy itself);
- ``b1`` (Elastic IP) and ``b2`` (no public address): bursting nodes (group ``bursting_nodes``), deployed by
  playbooks/bursting.yml into the overflow location OVERFLOW, which it creates, with its IAM user, policy and key.

The tests run in file order and share the platform (module-scoped fixture).
"""

import json
import os
import subprocess
import time
import uuid

import pytest
import requests
import yaml

# The tests of this file share module-scoped fixtures: pytest-xdist keeps them on one worker.
pytestmark = pytest.mark.xdist_group("test_e2e_bursting")

import e2e  # noqa: E402  pylint: disable=wrong-import-position
import labenv  # noqa: E402  pylint: disable=wrong-import-position
from e2e import REPO, WRITES, instances, lab_control, output, platform_inventory, run_playbook  # noqa: E402  pylint: disable=wrong-import-position
from ansible_collections.pexip.infinity.plugins.module_utils.sha512_crypt import sha512_crypt  # noqa: E402  pylint: disable=wrong-import-position

SUFFIX = uuid.uuid4().hex[:6]
PREFIX = "e2e-bur-%s" % SUFFIX
ALWAYS = "E2E always-on %s" % SUFFIX
OVERFLOW = "E2E burst %s" % SUFFIX
IAM_USER = "pexip-%s" % SUFFIX
IAM_POLICY = "pexip-cloud-bursting-%s" % SUFFIX
SSH_PASSWORD = "e2e-" + uuid.uuid4().hex
THRESHOLD = 5


def name(short):
    return "%s-%s" % (PREFIX, short)


ALWAYS_ON = {"a1": "LAB_SUBNET_A", "a2": "LAB_SUBNET_B"}
BURSTING = {"b1": "elastic", "b2": "none"}


def host(env, short, location, subnet="LAB_SUBNET_A", public_ip="none"):
    return {
        "pexip_node_name": name(short),
        "pexip_node_hostname": name(short),
        "pexip_node_role": "transcoding",
        "pexip_node_location": location,
        "pexip_node_instance_type": "c5.2xlarge",
        "pexip_node_subnet_id": env[subnet],
        "pexip_node_public_ip": public_ip,
    }


def inventory(env, bursting=True):
    always_on = {name(s): host(env, s, ALWAYS, subnet) for s, subnet in ALWAYS_ON.items()}
    children = {"conferencing_nodes": {"hosts": always_on}}
    if bursting:
        children["bursting_nodes"] = {"hosts": {name(s): dict(host(env, s, OVERFLOW, public_ip=ip)) for s, ip in BURSTING.items()}}
    # Management Node settings come from the PEXIP_* environment (the playbooks' fallbacks).
    locations = [{"name": ALWAYS, "description": "e2e always-on", "dns_servers": ["127.0.0.53"], "ntp_servers": ["127.0.0.123"]}]
    return platform_inventory(env, name("sg"), children, pexip_node_domain="e2e.example.com", pexip_node_ssh_password=SSH_PASSWORD,
                              pexip_node_sync_poll=2, pexip_locations=locations,
                              # Bursting (docs/bursting.md).
                              pexip_bursting_location=OVERFLOW,
                              pexip_bursting_location_dns_servers=["127.0.0.53"],
                              pexip_bursting_location_ntp_servers=["127.0.0.123"],
                              pexip_bursting_always_on_locations=[ALWAYS],
                              pexip_bursting_threshold=THRESHOLD,
                              pexip_bursting_iam_user=IAM_USER,
                              pexip_bursting_iam_policy=IAM_POLICY)


class Api(e2e.Api):
    """e2e.Api, and the bursting settings and cloud nodes."""

    def global_settings(self):
        return self.get("configuration/v1/global/1/")

    def tag_value(self):
        """The pexip-cloud tag value: the primary Management Node's hostname."""
        return self.primary()["hostname"]

    def patch_global(self, data):
        self.session.patch(self.base + "configuration/v1/global/1/", json=data, timeout=30).raise_for_status()

    def cloud_nodes(self):
        return [n for n in self.get("status/v1/cloud_node/") if n["workervm_configuration_name"].startswith(PREFIX)]


def instance(env, short):
    found = instances(env, name(short))
    assert len(found) == 1, (short, found)
    return found[0]


def tags(inst):
    return {t["Key"]: t["Value"] for t in inst.get("Tags", [])}


def stored_secret(env):
    """The secret access key as the Management Node stores it (the simulator's state file): the test's only way to know it."""
    with open(os.path.join(env["LAB_DIR"], "pexsim-state.json"), encoding="utf-8") as handle:
        state = json.load(handle)
    found = []

    def walk(value):
        if isinstance(value, dict):
            for key, item in value.items():
                if key == "aws_secret_key" and item:
                    found.append(item)
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(state)
    assert len(set(found)) == 1, "expected one stored aws_secret_key, found %d" % len(set(found))
    return found[0]


def files_containing(directory, needle):
    hits = []
    for root, _dirs, files in os.walk(directory):
        for file_name in files:
            path = os.path.join(root, file_name)
            try:
                with open(path, "rb") as handle:
                    if needle.encode() in handle.read():
                        hits.append(path)
            except OSError:
                continue
    return hits


def wait_for(predicate, timeout, interval=0.5, what="condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %ss waiting for %s" % (timeout, what))
        time.sleep(interval)


def iam_keys(env):
    return labenv.iam_client(env).list_access_keys(UserName=IAM_USER)["AccessKeyMetadata"]


def clean_up(env, api, saved_global):
    """Leave the shared lab as it was: nodes, instances, Elastic IPs, locations, security group, IAM, global settings."""
    ec2 = labenv.ec2_client(env)
    api.patch_global({key: saved_global.get(key) for key in ("bursting_enabled", "bursting_threshold", "bursting_min_lifetime",
                                                             "cloud_provider", "aws_access_key")})
    for short in list(ALWAYS_ON) + list(BURSTING):
        node = api.node(name(short))
        if node:
            api.delete("configuration/v1/worker_vm/%d/" % node["id"])
        for address in ec2.describe_addresses(Filters=[{"Name": "tag:pexip:node", "Values": [name(short)]}])["Addresses"]:
            if address.get("AssociationId"):
                ec2.disassociate_address(AssociationId=address["AssociationId"])
            ec2.release_address(AllocationId=address["AllocationId"])
        ids = [i["InstanceId"] for i in instances(env, name(short))]
        if ids:
            ec2.terminate_instances(InstanceIds=ids)
    for location_name in (ALWAYS, OVERFLOW):
        location = api.location(location_name)
        if location:
            api.delete("configuration/v1/system_location/%d/" % location["id"])
    for group in ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": [name("sg")]}])["SecurityGroups"]:
        try:
            ec2.delete_security_group(GroupId=group["GroupId"])
        except Exception:  # pylint: disable=broad-except
            pass  # still referenced by terminating instances; harmless in the lab
    iam = labenv.iam_client(env)
    try:
        for key in iam.list_access_keys(UserName=IAM_USER)["AccessKeyMetadata"]:
            iam.delete_access_key(UserName=IAM_USER, AccessKeyId=key["AccessKeyId"])
        for policy in iam.list_attached_user_policies(UserName=IAM_USER)["AttachedPolicies"]:
            iam.detach_user_policy(UserName=IAM_USER, PolicyArn=policy["PolicyArn"])
        iam.delete_user(UserName=IAM_USER)
    except iam.exceptions.NoSuchEntityException:
        pass
    for policy in iam.list_policies(Scope="Local")["Policies"]:
        if policy["PolicyName"] == IAM_POLICY:
            iam.delete_policy(PolicyArn=policy["Arn"])


def deploy_always_on(env, api):
    """The always-on nodes as deploy.yml leaves them: the nodes' security group, location ALWAYS, a dedicated instance
    per node tagged pexip:node (no public address), the node (configuration-only deployment) bootstrapped and synced."""
    ec2 = labenv.ec2_client(env)
    group = ec2.create_security_group(GroupName=name("sg"), Description="e2e bursting", VpcId=env["LAB_VPC_ID"])["GroupId"]
    location = api.create_location(ALWAYS, description="e2e always-on")["resource_uri"]
    images = ec2.describe_images(Owners=["686087431763"], Filters=[{"Name": "name", "Values": ["Pexip Infinity Conferencing Node 34 build *"]}])
    image_id = max(images["Images"], key=lambda i: i["CreationDate"])["ImageId"]
    for short, subnet in ALWAYS_ON.items():
        instance = ec2.run_instances(
            ImageId=image_id, InstanceType="c5.2xlarge", MinCount=1, MaxCount=1, KeyName=env["LAB_KEY_NAME"], Placement={"Tenancy": "dedicated"},
            NetworkInterfaces=[{"DeviceIndex": 0, "SubnetId": env[subnet], "Groups": [group]}],
            TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": name(short)}, {"Key": "pexip:node", "Value": name(short)}]}],
        )["Instances"][0]
        address = instance["PrivateIpAddress"]
        created = api.session.post(api.url("configuration/v1/worker_vm/"), timeout=30, json={
            "name": name(short), "hostname": name(short), "domain": "e2e.example.com", "address": address, "netmask": "255.255.255.0",
            "gateway": address.rsplit(".", 1)[0] + ".1", "system_location": location, "node_type": "CONFERENCING",
            "deployment_type": "MANUAL-PROVISION-ONLY", "password": sha512_crypt(SSH_PASSWORD)})
        created.raise_for_status()
        e2e.upload_bootstrap(env, address, created.text, os.path.join(env["LAB_DIR"], "tls", "node-ca.pem"))
    e2e.wait_synced(api, [name(short) for short in ALWAYS_ON])


@pytest.fixture(scope="module")
def platform(lab_env, tmp_path_factory, request):
    env = dict(lab_env)
    directory = tmp_path_factory.mktemp("e2e-bursting")
    inventory_file = str(directory / "inventory.yml")
    with open(inventory_file, "w", encoding="utf-8") as handle:
        yaml.safe_dump(inventory(env), handle, sort_keys=False)
    api = Api(env)
    control = lab_control(env)
    saved_global = api.global_settings()
    saved_timing = control.timing()
    # From nothing: bursting off and no access key on the Management Node (another test may have left them set).
    api.patch_global({"bursting_enabled": False, "aws_access_key": ""})

    def finish():
        try:
            control.end_calls(conference=PREFIX)
        finally:
            control.set_timing(minute_seconds=saved_timing["minute_seconds"])
            clean_up(env, api, saved_global)

    # Registered first, so that the lab is cleaned even when the set-up below fails.
    request.addfinalizer(finish)

    # The working platform the guide starts from: always-on nodes in ALWAYS.
    deploy_always_on(env, api)

    # Nothing of bursting exists yet.
    assert api.location(OVERFLOW) is None
    assert not [u for u in labenv.iam_client(env).list_users()["Users"] if u["UserName"] == IAM_USER]

    run_tmp = str(directory / "ansible-tmp")
    started = time.monotonic()
    since = control.last_ts()
    proc, recap = run_playbook(env, inventory_file, "-vvv", tmp=run_tmp, playbook="playbooks/bursting.yml")
    yield dict(env=env, api=api, control=control, directory=directory, inventory=inventory_file, proc=proc, recap=recap,
               run_tmp=run_tmp, since=since, seconds=time.monotonic() - started)


def test_first_run_sets_up_bursting(platform):
    proc, recap = platform["proc"], platform["recap"]
    assert proc.returncode == 0, output(proc)
    assert set(recap) == {name(s) for s in BURSTING}, output(proc)
    assert all(r["failed"] == 0 and r["changed"] > 0 for r in recap.values()), recap


def test_policy_document_is_the_guides_with_the_tag_value(platform, guide_policy):
    env, api = platform["env"], platform["api"]
    tag_value = api.tag_value()
    assert tag_value == "mgr-lab"  # the lab Management Node's hostname
    iam = labenv.iam_client(env)
    policies = [p for p in iam.list_policies(Scope="Local")["Policies"] if p["PolicyName"] == IAM_POLICY]
    assert len(policies) == 1
    version = iam.get_policy_version(PolicyArn=policies[0]["Arn"], VersionId=policies[0]["DefaultVersionId"])["PolicyVersion"]
    document = version["Document"]
    if isinstance(document, str):
        document = json.loads(requests.utils.unquote(document))
    assert document == guide_policy(tag_value)
    # The user has that policy and nothing else, and one access key: the one the Management Node holds.
    attached = iam.list_attached_user_policies(UserName=IAM_USER)["AttachedPolicies"]
    assert [p["PolicyArn"] for p in attached] == [policies[0]["Arn"]]
    keys = iam_keys(env)
    assert [k["Status"] for k in keys] == ["Active"]
    assert api.global_settings()["aws_access_key"] == keys[0]["AccessKeyId"]


def test_burst_nodes_deployed_stopped_and_listed_as_cloud_nodes(platform):
    env, api = platform["env"], platform["api"]
    tag_value = api.tag_value()
    overflow = api.location(OVERFLOW)
    assert overflow is not None
    for short, public_ip in BURSTING.items():
        inst = instance(env, short)
        assert inst["State"]["Name"] == "stopped", short
        assert tags(inst).get("pexip-cloud") == tag_value, (short, tags(inst))
        config = api.node(name(short))
        assert config["system_location"] == overflow["resource_uri"], short
        assert config["enable_distributed_database"] is False, short
        status = api.status(name(short))
        assert status["last_updated"], (short, status)  # it deployed (reported) before it was stopped
        addresses = labenv.ec2_client(env).describe_addresses(Filters=[{"Name": "tag:pexip:node", "Values": [name(short)]}])
        assert len(addresses["Addresses"]) == (1 if public_ip == "elastic" else 0), short
    cloud = {n["workervm_configuration_name"]: n for n in api.cloud_nodes()}
    assert set(cloud) == {name(s) for s in BURSTING}
    assert all(n["cloud_instance_state"] == "stopped" and n["workervm_configuration_location_name"] == OVERFLOW
               for n in cloud.values()), cloud
    # Always-on nodes are untouched: running, untagged, not cloud nodes.
    for short in ALWAYS_ON:
        inst = instance(env, short)
        assert inst["State"]["Name"] == "running" and "pexip-cloud" not in tags(inst), short


def test_bursting_settings_and_overflow_locations(platform):
    api = platform["api"]
    settings = api.global_settings()
    assert settings["bursting_enabled"] is True
    assert settings["bursting_threshold"] == THRESHOLD
    assert settings["bursting_min_lifetime"] == 50
    assert settings["cloud_provider"] == "AWS"
    always = api.location(ALWAYS)
    assert always["overflow_location1"] == api.location(OVERFLOW)["resource_uri"]
    assert always["overflow_location2"] is None
    monitored = [m for m in api.get("status/v1/cloud_monitored_location/") if m["name"] == ALWAYS]
    assert len(monitored) == 1 and monitored[0]["overflow_location"] == OVERFLOW, monitored
    assert monitored[0]["free_hd_calls"] == 34  # two reporting c5.2xlarge nodes, no calls


def test_secret_appears_nowhere(platform):
    env, proc = platform["env"], platform["proc"]
    secret = stored_secret(env)
    assert len(secret) >= 20
    # -vvv output, which also shows every task's returned values
    assert "<localhost> EXEC" in proc.stdout or "ESTABLISH LOCAL CONNECTION" in proc.stdout, "not a -vvv run"
    assert secret not in proc.stdout and secret not in proc.stderr
    # files written: Ansible's temporary files of the run, the test directory, and anything new in the repository
    assert files_containing(platform["run_tmp"], secret) == []
    assert files_containing(str(platform["directory"]), secret) == []
    changed = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=REPO, capture_output=True,
                             text=True, check=True).stdout.split("\n")
    paths = [os.path.join(REPO, line[3:]) for line in changed if line.strip()]
    assert [p for p in paths if os.path.isfile(p) and secret.encode() in open(p, "rb").read()] == []
    # The key the Management Node holds is the IAM user's.
    assert platform["api"].global_settings()["aws_access_key"] == iam_keys(env)[0]["AccessKeyId"]


def test_second_run_changes_nothing_and_creates_no_key(platform):
    env, api, control = platform["env"], platform["api"], platform["control"]
    keys_before = [k["AccessKeyId"] for k in iam_keys(env)]
    secret_before = stored_secret(env)
    since = control.last_ts()
    proc, recap = run_playbook(env, platform["inventory"], playbook="playbooks/bursting.yml")
    assert proc.returncode == 0, output(proc)
    assert {h: r["changed"] for h, r in recap.items()} == {name(s): 0 for s in BURSTING}, output(proc)
    assert [k["AccessKeyId"] for k in iam_keys(env)] == keys_before
    assert stored_secret(env) == secret_before
    writes = [e for e in control.requests_log(since, target="mgmt") if e["method"] in WRITES]
    assert writes == [], writes
    assert all(instance(env, s)["State"]["Name"] == "stopped" for s in BURSTING)
    assert api.global_settings()["aws_access_key"] == keys_before[0]


def test_calls_at_the_threshold_start_an_overflow_node_and_idle_stops_it(platform):
    """The lab's built-in bursting: free HD calls in ALWAYS at the threshold starts one overflow node; idle, it stops."""
    env, control = platform["env"], platform["control"]
    a1, a2 = (instance(env, s)["PrivateIpAddress"] for s in ALWAYS_ON)
    burst_ids = {instance(env, s)["InstanceId"] for s in BURSTING}
    events_before = len(control.events())
    control.place_calls(a1, count=16, conference=PREFIX)
    monitored = [m for m in platform["api"].get("status/v1/cloud_monitored_location/") if m["name"] == ALWAYS][0]
    assert monitored["free_hd_calls"] == 34 - 16 > THRESHOLD
    time.sleep(1.5)  # a few bursting polls: nothing starts above the threshold
    assert [e for e in control.events()[events_before:] if e["instance_id"] in burst_ids] == []

    try:
        run_the_loop(platform, a2, burst_ids, events_before)
    finally:
        control.end_calls(conference=PREFIX)


def run_the_loop(platform, a2, burst_ids, events_before):
    env, control = platform["env"], platform["control"]
    control.place_calls(a2, count=13, conference=PREFIX)  # free: 34 - 29 = 5 = threshold
    started = wait_for(lambda: [e for e in control.events()[events_before:] if e["instance_id"] in burst_ids and e["event"] == "start"],
                       60, what="an overflow node to start")
    assert len(started) == 1 and ALWAYS in started[0]["reason"], started
    running = wait_for(lambda: [s for s in BURSTING if instance(env, s)["State"]["Name"] == "running"], 30, what="the instance")
    assert len(running) == 1
    # The Management Node's status follows (the simulator sees EC2 at its next poll).
    wait_for(lambda: {n["cloud_instance_id"]: n["cloud_instance_state"] for n in platform["api"].cloud_nodes()}
             .get(started[0]["instance_id"]) == "running", 30, what="status/cloud_node to show the node running")

    # Calls end; with a short "minute" the idle node is stopped after the minimum lifetime (50 minutes).
    control.end_calls(conference=PREFIX)
    control.set_timing(minute_seconds=0.1)
    try:
        wait_for(lambda: [e for e in control.events()[events_before:] if e["instance_id"] == started[0]["instance_id"]
                          and e["event"] == "stop"], 60, what="the idle overflow node to stop")
        wait_for(lambda: all(instance(env, s)["State"]["Name"] == "stopped" for s in BURSTING), 30, what="stopped instances")
        wait_for(lambda: all(n["cloud_instance_state"] == "stopped" for n in platform["api"].cloud_nodes()), 30,
                 what="status/cloud_node to show them stopped")
    finally:
        control.set_timing(minute_seconds=60)


def test_prestart_overflow_starts_some_then_all_nodes(platform):
    env, api = platform["env"], platform["api"]
    assert all(instance(env, s)["State"]["Name"] == "stopped" for s in BURSTING)
    extra = '{"bursting_prestart_nodes": ["%s"], "bursting_prestart_wait_timeout": 120, "bursting_prestart_poll_interval": 1}' % name("b1")
    proc, recap = run_playbook(env, None, "-e", extra, playbook="playbooks/prestart_overflow.yml")
    assert proc.returncode == 0, output(proc)
    assert recap["localhost"]["changed"] == 1, output(proc)
    assert instance(env, "b1")["State"]["Name"] == "running" and instance(env, "b2")["State"]["Name"] == "stopped"
    # It waited until the node reported after its start.
    status = api.status(name("b1"))
    assert status["sync_status"] in ("SYNCED", "SYNCING") and status["last_updated"], status

    extra = json.dumps({"bursting_prestart_location": OVERFLOW, "bursting_prestart_wait_timeout": 120,
                        "bursting_prestart_poll_interval": 1})
    proc, recap = run_playbook(env, None, "-e", extra, playbook="playbooks/prestart_overflow.yml")
    assert proc.returncode == 0, output(proc)
    assert recap["localhost"]["changed"] == 1, output(proc)  # b2 only: b1 already runs
    assert all(instance(env, s)["State"]["Name"] == "running" for s in BURSTING)
    assert all(n["cloud_instance_state"] == "running" and n["max_hd_calls"] == 17 for n in api.cloud_nodes())

    proc, recap = run_playbook(env, None, "-e", extra, playbook="playbooks/prestart_overflow.yml")
    assert proc.returncode == 0 and recap["localhost"]["changed"] == 0, output(proc)


def test_prestart_refuses_unknown_nodes_and_a_lead_beyond_the_lifetime(platform):
    env = platform["env"]
    proc, _recap = run_playbook(env, None, "-e", '{"bursting_prestart_nodes": ["no-such-node"]}', playbook="playbooks/prestart_overflow.yml")
    assert proc.returncode != 0 and "lists no overflow node no-such-node" in proc.stdout, output(proc)
    proc, _recap = run_playbook(env, None, "-e", '{"bursting_prestart_peak_time": "09:00", "bursting_prestart_minutes_before": 60}',
                                playbook="playbooks/prestart_overflow.yml")
    assert proc.returncode != 0 and "less than the minimum lifetime" in proc.stdout, output(proc)


def test_convert_always_on_to_overflow_and_back(platform):
    env, api = platform["env"], platform["api"]
    tag_value = api.tag_value()
    args = ["-e", "nodes=%s" % name("a2"), "-e", "convert_node_pause=0", "-e", "bursting_convert_poll_interval=1",
            "-e", "maintenance_idle_timeout=60", "-e", "maintenance_poll_interval=1", "-e", "reinstate_poll_interval=1"]

    proc, recap = run_playbook(env, platform["inventory"], *args, "-e", "bursting_convert_to=overflow", playbook="playbooks/convert_node.yml")
    assert proc.returncode == 0 and recap[name("a2")]["changed"] > 0, output(proc)
    inst = instance(env, "a2")
    assert inst["State"]["Name"] == "stopped" and tags(inst).get("pexip-cloud") == tag_value
    config = api.node(name("a2"))
    assert config["system_location"] == api.location(OVERFLOW)["resource_uri"]
    assert config["enable_distributed_database"] is False and config["maintenance_mode"] is False
    assert name("a2") in {n["workervm_configuration_name"] for n in api.cloud_nodes()}
    proc, recap = run_playbook(env, platform["inventory"], *args, "-e", "bursting_convert_to=overflow", playbook="playbooks/convert_node.yml")
    assert proc.returncode == 0 and recap[name("a2")]["changed"] == 0, output(proc)

    back = args + ["-e", "bursting_convert_to=always_on", "-e", "bursting_convert_location='%s'" % ALWAYS]
    proc, recap = run_playbook(env, platform["inventory"], *back, playbook="playbooks/convert_node.yml")
    assert proc.returncode == 0 and recap[name("a2")]["changed"] > 0, output(proc)
    inst = instance(env, "a2")
    assert inst["State"]["Name"] == "running" and "pexip-cloud" not in tags(inst)
    config = api.node(name("a2"))
    assert config["system_location"] == api.location(ALWAYS)["resource_uri"]
    assert config["enable_distributed_database"] is True and config["maintenance_mode"] is False
    assert api.status(name("a2"))["sync_status"] == "SYNCED"
    assert name("a2") not in {n["workervm_configuration_name"] for n in api.cloud_nodes()}
    proc, recap = run_playbook(env, platform["inventory"], *back, playbook="playbooks/convert_node.yml")
    assert proc.returncode == 0 and recap[name("a2")]["changed"] == 0, output(proc)


def test_bursting_yml_drains_a_running_overflow_node_before_it_stops_it(platform):
    """Issue 27: with bursting off when the run begins, a running overflow node that had deployed is stopped only
    through the maintenance role's drain: a node with a live call is put into maintenance mode and left running; once
    its calls have ended the run stops it and takes it out of maintenance mode again."""
    env, api, control = platform["env"], platform["api"], platform["control"]
    node_name, ec2 = name("b2"), labenv.ec2_client(env)
    api.patch_global({"bursting_enabled": False})
    before = api.status(node_name)["last_updated"]
    ec2.start_instances(InstanceIds=[instance(env, "b2")["InstanceId"]])
    wait_for(lambda: instance(env, "b2")["State"]["Name"] == "running", 60, what="b2's instance to run")
    wait_for(lambda: (api.status(node_name) or {}).get("last_updated") not in (None, before), 60, what="b2 to report")
    control.place_calls(instance(env, "b2")["PrivateIpAddress"], count=1, conference=PREFIX)
    args = ["-e", "maintenance_idle_timeout=2", "-e", "maintenance_poll_interval=1"]
    try:
        proc, recap = run_playbook(env, platform["inventory"], *args, playbook="playbooks/bursting.yml")
        assert recap[node_name]["failed"] == 1 and "still carries live calls" in proc.stdout, output(proc)
        assert instance(env, "b2")["State"]["Name"] == "running", output(proc)
        assert api.node(node_name)["maintenance_mode"] is True
    finally:
        control.end_calls(conference=PREFIX)
    # The failed host left the play; the others' run turned bursting on. The operator runs again as it was.
    api.patch_global({"bursting_enabled": False})
    proc, recap = run_playbook(env, platform["inventory"], *args, playbook="playbooks/bursting.yml")
    assert proc.returncode == 0, output(proc)
    assert instance(env, "b2")["State"]["Name"] == "stopped"
    assert api.node(node_name)["maintenance_mode"] is False and api.global_settings()["bursting_enabled"] is True


def test_without_bursting_nodes_bursting_yml_does_nothing(platform):
    env, control = platform["env"], platform["control"]
    inventory_file = str(platform["directory"] / "inventory-no-bursting.yml")
    with open(inventory_file, "w", encoding="utf-8") as handle:
        yaml.safe_dump(inventory(env, bursting=False), handle, sort_keys=False)
    since = control.last_ts()
    proc, recap = run_playbook(env, inventory_file, playbook="playbooks/bursting.yml")
    assert proc.returncode == 0, output(proc)
    assert recap == {} and "skipping: no hosts matched" in proc.stdout, output(proc)
    assert control.requests_log(since, target="mgmt") == []


# The controller's IAM policy (docs/iam.md): the AWS calls of this file's runs, recorded by the lab from the file's
# start (aws_calls_mark is an autouse module fixture). Imported here, next to its test.
from aws_policy import assert_calls_allowed, aws_calls_mark  # noqa: E402,F401  pylint: disable=unused-import,wrong-import-position


def test_every_aws_call_is_in_the_controller_iam_policy(lab_env, platform, aws_calls_mark):  # noqa: F811  pylint: disable=redefined-outer-name
    """Every AWS action this file's runs made (and the collection's roles made in them) is in
    docs/examples/controller-iam-policy.json (docs/iam.md)."""
    assert_calls_allowed(lab_env, aws_calls_mark)
