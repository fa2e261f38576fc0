# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lab itself: lab.py up/down/status and the moto patches in moto_lab.py.

Each test module run uses its own lab dir and non-default ports, so a
developer's .lab/ is never touched.
"""

from __future__ import annotations

import ipaddress
import os
import signal
import socket
import subprocess
import sys
import time

import botocore.exceptions
import pytest
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import labenv  # noqa: E402  pylint: disable=wrong-import-position

LAB = os.path.join(HERE, "lab.py")
PEXIP_OWNER = "686087431763"
CONFERENCING_34 = "Pexip Infinity Conferencing Node 34 build 78800"


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_open(port):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def pid_alive(pid):
    try:
        with open("/proc/%d/stat" % pid, encoding="utf-8") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


# `lab.py up` takes about 5 s on an idle machine; `make test` runs these tests beside the integration tests on two
# busy cores, where it has taken 11 s. The bound catches a hang or a lab that waits on a timeout, not noise.
UP_SECONDS_MAX = 30


def lab_ports():
    moto, mgmt, node = free_port(), free_port(), free_port()
    return {"LAB_MOTO_PORT": str(moto), "LAB_MGMT_PORT": str(mgmt), "LAB_NODE_PORT": str(node)}


def run_lab(command, lab_dir, ports, timeout=30):
    env = dict(os.environ, **ports)
    env.pop("LAB_DIR", None)
    started = time.monotonic()
    proc = subprocess.run([sys.executable, LAB, command, "--dir", lab_dir], env=env, capture_output=True,
                          text=True, timeout=timeout, check=False)
    return proc, time.monotonic() - started


def lab_pids(lab_dir):
    pids = {}
    for entry in os.listdir(os.path.join(lab_dir, "pids")):
        with open(os.path.join(lab_dir, "pids", entry), encoding="utf-8") as handle:
            pids[entry[:-4]] = int(handle.read())
    return pids


@pytest.fixture(scope="module", name="lab_run")
def lab_fixture(tmp_path_factory):
    lab_dir = str(tmp_path_factory.mktemp("lab"))
    ports = lab_ports()
    proc, took = run_lab("up", lab_dir, ports)
    try:
        assert proc.returncode == 0, proc.stdout + proc.stderr
        yield {"dir": lab_dir, "ports": ports, "up_seconds": took, "env": labenv.load_env(os.path.join(lab_dir, "env"))}
    finally:
        run_lab("down", lab_dir, ports)


@pytest.fixture(scope="module", name="lab_ec2")
def ec2_fixture(lab_run):
    return labenv.ec2_client(lab_run["env"])


@pytest.fixture(name="run_instance")
def run_instance_fixture(lab_ec2, lab_run):
    """Launch instances from Pexip's image; terminated after the test."""
    launched = []
    image = lab_ec2.describe_images(Owners=[PEXIP_OWNER], Filters=[{"Name": "name", "Values": [CONFERENCING_34]}])["Images"][0]["ImageId"]

    def run(**kwargs):
        if "NetworkInterfaces" not in kwargs:
            kwargs.setdefault("SubnetId", lab_run["env"]["LAB_SUBNET_A"])
        instance = lab_ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, InstanceType="c5.xlarge", **kwargs)["Instances"][0]
        launched.append(instance["InstanceId"])
        return instance["InstanceId"]

    yield run
    if launched:
        lab_ec2.terminate_instances(InstanceIds=launched)


def describe(ec2, instance_id):
    return ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]


# ---- lab.py ------------------------------------------------------------------

def test_up_is_fast_and_uses_the_requested_ports(lab_run):
    assert lab_run["up_seconds"] < UP_SECONDS_MAX
    env = lab_run["env"]
    assert env["AWS_URL"] == "http://127.0.0.1:%s" % lab_run["ports"]["LAB_MOTO_PORT"]
    assert env["PEXIP_HOST"] == "127.0.0.1:%s" % lab_run["ports"]["LAB_MGMT_PORT"]
    assert env["LAB_NODE_PORT"] == lab_run["ports"]["LAB_NODE_PORT"]


def test_env_file_has_every_key(lab_run):
    env = lab_run["env"]
    expected = {
        "PEXIP_HOST", "PEXIP_USERNAME", "PEXIP_PASSWORD", "PEXIP_CA_PATH", "PEXIP_VALIDATE_CERTS", "LAB_CONTROL_URL",
        "LAB_NODE_PORT", "AWS_URL", "AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION",
        "AWS_DEFAULT_REGION", "LAB_VPC_ID", "LAB_SUBNET_A", "LAB_SUBNET_B", "LAB_REGION_2", "LAB_VPC_ID_2", "LAB_SUBNET_2A",
        "LAB_KEY_NAME", "LAB_KEY_FILE",
    }
    assert expected <= set(env)
    assert all(env[key] for key in expected)
    assert env["PEXIP_USERNAME"] == "admin" and len(env["PEXIP_PASSWORD"]) >= 16
    assert env["AWS_ENDPOINT_URL"] == env["AWS_URL"] and env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == "eu-west-1"
    assert env["LAB_CONTROL_URL"] == "https://%s/_lab" % env["PEXIP_HOST"]
    assert os.path.isfile(env["PEXIP_CA_PATH"]) and os.path.isabs(env["PEXIP_CA_PATH"])
    with open(os.path.join(lab_run["dir"], "env"), encoding="utf-8") as handle:
        assert all(line.startswith("export ") for line in handle if line.strip())
    assert os.stat(os.path.join(lab_run["dir"], "env")).st_mode & 0o077 == 0


def test_integration_config(lab_run, tmp_path):
    """`lab.py integration-config`: the variables ansible-test gives the integration targets, from the lab's env."""
    out = str(tmp_path / "integration_config.yml")
    env = dict(os.environ, **lab_run["ports"])
    proc = subprocess.run([sys.executable, LAB, "integration-config", "--dir", lab_run["dir"], "--out", out], env=env,
                          capture_output=True, text=True, timeout=30, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert os.stat(out).st_mode & 0o077 == 0
    with open(out, encoding="utf-8") as handle:
        config = yaml.safe_load(handle)
    lab = lab_run["env"]
    assert (config["pexip_host"], config["pexip_username"], config["pexip_password"], config["pexip_ca_path"]) == (
        lab["PEXIP_HOST"], lab["PEXIP_USERNAME"], lab["PEXIP_PASSWORD"], lab["PEXIP_CA_PATH"])
    assert config["lab_control_url"] == lab["LAB_CONTROL_URL"] and config["lab_node_port"] == int(lab["LAB_NODE_PORT"])
    assert config["aws_url"] == lab["AWS_URL"] and config["lab_subnet_b"] == lab["LAB_SUBNET_B"]
    assert os.path.isfile(os.path.join(config["lab_tools"], "labcerts.py"))
    missing = subprocess.run([sys.executable, LAB, "integration-config", "--dir", str(tmp_path / "none"), "--out", out],
                             env=env, capture_output=True, text=True, timeout=30, check=False)
    assert missing.returncode == 1 and "lab.py up" in missing.stderr


def test_seeded_network_and_key_pair(lab_run, lab_ec2):
    env = lab_run["env"]
    vpc = lab_ec2.describe_vpcs(VpcIds=[env["LAB_VPC_ID"]])["Vpcs"][0]
    assert vpc["CidrBlock"] == "127.20.0.0/16" and {"Key": "Name", "Value": "pexip-lab"} in vpc["Tags"]
    subnets = {s["SubnetId"]: s for s in lab_ec2.describe_subnets(SubnetIds=[env["LAB_SUBNET_A"], env["LAB_SUBNET_B"]])["Subnets"]}
    assert (subnets[env["LAB_SUBNET_A"]]["CidrBlock"], subnets[env["LAB_SUBNET_A"]]["AvailabilityZone"]) == ("127.20.1.0/24", "eu-west-1a")
    assert (subnets[env["LAB_SUBNET_B"]]["CidrBlock"], subnets[env["LAB_SUBNET_B"]]["AvailabilityZone"]) == ("127.20.2.0/24", "eu-west-1b")
    assert {"Key": "Name", "Value": "pexip-lab-b"} in subnets[env["LAB_SUBNET_B"]]["Tags"]
    igws = lab_ec2.describe_internet_gateways(Filters=[{"Name": "attachment.vpc-id", "Values": [env["LAB_VPC_ID"]]}])["InternetGateways"]
    assert len(igws) == 1
    assert lab_ec2.describe_key_pairs(KeyNames=["pexip-lab"])["KeyPairs"]
    assert os.stat(env["LAB_KEY_FILE"]).st_mode & 0o777 == 0o600
    with open(env["LAB_KEY_FILE"], encoding="utf-8") as handle:
        assert "PRIVATE KEY" in handle.read()


def test_second_region_has_its_vpc_subnet_and_the_same_key_pair(lab_run, lab_ec2):
    """A fleet over two regions (LAB_REGION_2): its own VPC on loopback, a subnet with a route out, the key imported."""
    env = lab_run["env"]
    ec2 = labenv.ec2_client(env, env["LAB_REGION_2"])
    subnet = ec2.describe_subnets(SubnetIds=[env["LAB_SUBNET_2A"]])["Subnets"][0]
    assert (subnet["VpcId"], subnet["CidrBlock"], subnet["AvailabilityZone"]) == (env["LAB_VPC_ID_2"], "127.21.1.0/24", "eu-central-1a")
    tables = ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [env["LAB_VPC_ID_2"]]}])["RouteTables"]
    assert any(r.get("DestinationCidrBlock") == "0.0.0.0/0" for t in tables for r in t["Routes"])
    assert ec2.describe_key_pairs(KeyNames=["pexip-lab"])["KeyPairs"]
    # The platform region's subnets are not the second region's.
    assert lab_ec2.describe_subnets(Filters=[{"Name": "subnet-id", "Values": [env["LAB_SUBNET_2A"]]}])["Subnets"] == []


def test_inventory(lab_run):
    with open(os.path.join(lab_run["dir"], "inventory.yml"), encoding="utf-8") as handle:
        inventory = yaml.safe_load(handle)
    platform = inventory["all"]["children"]["pexip_platform"]
    assert platform["vars"]["pexip_vpc_id"] == lab_run["env"]["LAB_VPC_ID"]
    assert platform["vars"]["pexip_management_cidr"] == "127.0.0.0/8"
    assert [loc["name"] for loc in platform["vars"]["pexip_locations"]] == ["London", "London Edge"]
    hosts = platform["children"]["conferencing_nodes"]["hosts"]
    assert sorted(hosts) == ["cn-edge-1", "cn-lon-1", "cn-lon-2"]
    assert hosts["cn-edge-1"]["pexip_node_public_ip"] == "elastic"
    assert hosts["cn-edge-1"]["pexip_node_subnet_id"] == lab_run["env"]["LAB_SUBNET_B"]
    assert hosts["cn-lon-1"]["pexip_node_role"] == "transcoding" and hosts["cn-lon-1"]["pexip_node_bursting"] is False


def test_initial_configuration_in_env_and_inventory(lab_run):
    """A licence from the environment, an operator CA and a certificate per lab FQDN, one VMR (docs/initial_configuration.md)."""
    env = lab_run["env"]
    from cryptography import x509  # pylint: disable=import-outside-toplevel
    with open(os.path.join(lab_run["dir"], "inventory.yml"), encoding="utf-8") as handle:
        text = handle.read()
    platform = yaml.safe_load(text)["all"]["children"]["pexip_platform"]["vars"]
    assert env["PEXIP_LICENCE_ENTITLEMENT"] not in text and "PEXIP_LICENCE_ENTITLEMENT" in platform["pexip_licences"][0]["entitlement_id"]
    assert platform["pexip_conferences"][0]["aliases"] == ["meet@lab.example.com"]
    assert platform["pexip_ca_certificates"] == [os.path.join(env["LAB_CERT_DIR"], "ca.pem")]
    for name in ("mgr-lab", "cn-lon-1", "cn-lon-2", "cn-edge-1", "cn-burst-1", "cn-burst-2"):
        with open(os.path.join(env["LAB_CERT_DIR"], "%s.lab.example.com.pem" % name), "rb") as handle:
            cert = x509.load_pem_x509_certificate(handle.read())
        assert cert.subject.rfc4514_string() == "CN=%s.lab.example.com" % name and cert.issuer.rfc4514_string() == "CN=Pexip lab operator CA"
        assert os.stat(os.path.join(env["LAB_CERT_DIR"], "%s.lab.example.com.key" % name)).st_mode & 0o077 == 0


def test_up_twice_is_idempotent(lab_run):
    before = lab_pids(lab_run["dir"])
    proc, took = run_lab("up", lab_run["dir"], lab_run["ports"])
    assert proc.returncode == 0, proc.stderr
    assert "already up" in proc.stdout
    assert took < UP_SECONDS_MAX
    assert lab_pids(lab_run["dir"]) == before
    assert labenv.load_env(os.path.join(lab_run["dir"], "env")) == lab_run["env"]


def test_status(lab_run):
    proc = run_lab("status", lab_run["dir"], lab_run["ports"])[0]
    assert proc.returncode == 0 and "lab is up" in proc.stdout


def test_up_down_cycle_leaves_nothing(tmp_path):
    lab_dir, ports = str(tmp_path), lab_ports()
    proc, took = run_lab("up", lab_dir, ports)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert took < UP_SECONDS_MAX
    pids = lab_pids(lab_dir)
    assert set(pids) == {"moto", "pexsim"} and all(pid_alive(pid) for pid in pids.values())

    # A dead process makes the next `up` restart the lab rather than report it healthy.
    os.kill(pids["moto"], signal.SIGKILL)
    proc, took = run_lab("up", lab_dir, ports)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "already up" not in proc.stdout and took < UP_SECONDS_MAX
    pids = lab_pids(lab_dir)
    assert all(pid_alive(pid) for pid in pids.values())

    proc = run_lab("down", lab_dir, ports)[0]
    assert proc.returncode == 0, proc.stdout + proc.stderr
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(pid_alive(pid) for pid in pids.values()):
        time.sleep(0.1)
    assert not any(pid_alive(pid) for pid in pids.values())
    assert not port_open(int(ports["LAB_MOTO_PORT"])) and not port_open(int(ports["LAB_MGMT_PORT"]))
    assert os.listdir(os.path.join(lab_dir, "pids")) == []
    assert not os.path.exists(os.path.join(lab_dir, "env"))

    # Safe when nothing is up.
    proc = run_lab("down", lab_dir, ports)[0]
    assert proc.returncode == 0 and "nothing" in proc.stdout
    proc = run_lab("status", lab_dir, ports)[0]
    assert proc.returncode == 3


# ---- moto patches --------------------------------------------------------------

def test_pexip_amis_are_published(lab_ec2):
    images = lab_ec2.describe_images(Owners=[PEXIP_OWNER])["Images"]
    names = {image["Name"] for image in images}
    assert names == {
        "Pexip Infinity Conferencing Node 34 build 78800", "Pexip Infinity Management Node 34 build 78800",
        "Pexip Infinity Conferencing Node 33 build 76500", "Pexip Infinity Management Node 33 build 76500",
    }
    for image in images:
        assert (image["Architecture"], image["VirtualizationType"], image["EnaSupport"]) == ("x86_64", "hvm", True)
        assert image["OwnerId"] == PEXIP_OWNER and image["State"] == "available"
    found = lab_ec2.describe_images(Owners=[PEXIP_OWNER], Filters=[{"Name": "name", "Values": ["Pexip Infinity Conferencing Node *"]}])
    newest = max(found["Images"], key=lambda image: image["CreationDate"])
    assert newest["Name"] == CONFERENCING_34


def test_esp_rule_from_the_group_itself(lab_ec2, lab_run):
    group = lab_ec2.create_security_group(GroupName="test-esp", Description="esp", VpcId=lab_run["env"]["LAB_VPC_ID"])["GroupId"]
    try:
        esp = {"IpProtocol": "50", "UserIdGroupPairs": [{"GroupId": group, "Description": "IPsec between nodes"}]}
        lab_ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=[esp, {
            "IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "127.0.0.0/8"}]}])
        rules = lab_ec2.describe_security_groups(GroupIds=[group])["SecurityGroups"][0]["IpPermissions"]
        esp_rules = [rule for rule in rules if rule["IpProtocol"] == "50"]
        assert len(esp_rules) == 1
        assert "FromPort" not in esp_rules[0] and "ToPort" not in esp_rules[0]
        assert esp_rules[0]["UserIdGroupPairs"][0]["GroupId"] == group
        assert [rule["FromPort"] for rule in rules if rule["IpProtocol"] == "tcp"] == [443]
        lab_ec2.revoke_security_group_ingress(GroupId=group, IpPermissions=[{"IpProtocol": "50", "UserIdGroupPairs": [{"GroupId": group}]}])
        rules = lab_ec2.describe_security_groups(GroupIds=[group])["SecurityGroups"][0]["IpPermissions"]
        assert [rule["IpProtocol"] for rule in rules] == ["tcp"]
    finally:
        lab_ec2.delete_security_group(GroupId=group)


def test_dedicated_tenancy_is_reported(lab_ec2, run_instance):
    dedicated = run_instance(Placement={"Tenancy": "dedicated"})
    shared = run_instance()
    assert describe(lab_ec2, dedicated)["Placement"]["Tenancy"] == "dedicated"
    assert describe(lab_ec2, shared)["Placement"]["Tenancy"] == "default"


def test_new_public_ip_after_stop_start(lab_ec2, run_instance):
    instance = run_instance(NetworkInterfaces=[{"DeviceIndex": 0, "SubnetId": describe_subnet_a(lab_ec2), "AssociatePublicIpAddress": True}])
    first = describe(lab_ec2, instance)["PublicIpAddress"]
    lab_ec2.stop_instances(InstanceIds=[instance])
    assert "PublicIpAddress" not in describe(lab_ec2, instance)
    lab_ec2.start_instances(InstanceIds=[instance])
    second = describe(lab_ec2, instance)["PublicIpAddress"]
    assert second != first
    for address in (first, second):
        assert not ipaddress.ip_address(address).is_loopback


def describe_subnet_a(ec2):
    return ec2.describe_subnets(Filters=[{"Name": "tag:Name", "Values": ["pexip-lab-a"]}])["Subnets"][0]["SubnetId"]


def test_elastic_ip_kept_across_stop_start_and_released_cleanly(lab_ec2, run_instance):
    instance = run_instance(NetworkInterfaces=[{"DeviceIndex": 0, "SubnetId": describe_subnet_a(lab_ec2), "AssociatePublicIpAddress": True}])
    address = lab_ec2.allocate_address(Domain="vpc", TagSpecifications=[{"ResourceType": "elastic-ip", "Tags": [{"Key": "Name", "Value": "t"}]}])
    try:
        assert not ipaddress.ip_address(address["PublicIp"]).is_loopback
        unassociated = lab_ec2.describe_addresses(AllocationIds=[address["AllocationId"]])["Addresses"][0]
        assert "InstanceId" not in unassociated and "NetworkInterfaceId" not in unassociated
        tags = lab_ec2.describe_tags(Filters=[{"Name": "resource-id", "Values": [address["AllocationId"]]},
                                              {"Name": "resource-type", "Values": ["elastic-ip"]}])["Tags"]
        assert [tag["Value"] for tag in tags] == ["t"]

        association = lab_ec2.associate_address(AllocationId=address["AllocationId"], InstanceId=instance)["AssociationId"]
        assert describe(lab_ec2, instance)["PublicIpAddress"] == address["PublicIp"]
        lab_ec2.stop_instances(InstanceIds=[instance])
        assert describe(lab_ec2, instance)["PublicIpAddress"] == address["PublicIp"]
        lab_ec2.start_instances(InstanceIds=[instance])
        assert describe(lab_ec2, instance)["PublicIpAddress"] == address["PublicIp"]
        found = lab_ec2.describe_addresses(Filters=[{"Name": "instance-id", "Values": [instance]}])["Addresses"]
        assert [a["AllocationId"] for a in found] == [address["AllocationId"]]

        # Disassociated: the instance gets an auto-assigned address back, as on AWS.
        lab_ec2.disassociate_address(AssociationId=association)
        current = describe(lab_ec2, instance).get("PublicIpAddress")
        assert current and current != address["PublicIp"]

        # Terminating an instance disassociates its Elastic IP but keeps it allocated.
        lab_ec2.associate_address(AllocationId=address["AllocationId"], InstanceId=instance)
        lab_ec2.terminate_instances(InstanceIds=[instance])
        after = lab_ec2.describe_addresses(AllocationIds=[address["AllocationId"]])["Addresses"][0]
        assert "InstanceId" not in after and "AssociationId" not in after
    finally:
        lab_ec2.release_address(AllocationId=address["AllocationId"])


def test_instance_type_and_ena_need_a_stopped_instance(lab_ec2, run_instance, lab_run):
    group = lab_ec2.create_security_group(GroupName="test-attr", Description="attr", VpcId=lab_run["env"]["LAB_VPC_ID"])["GroupId"]
    instance = run_instance(SecurityGroupIds=[group])
    assert describe(lab_ec2, instance)["EnaSupport"] is True  # from Pexip's image
    for change in ({"InstanceType": {"Value": "c5.2xlarge"}}, {"EnaSupport": {"Value": True}}):
        with pytest.raises(lab_ec2.exceptions.ClientError, match="IncorrectInstanceState"):
            lab_ec2.modify_instance_attribute(InstanceId=instance, **change)
    lab_ec2.stop_instances(InstanceIds=[instance])
    lab_ec2.modify_instance_attribute(InstanceId=instance, InstanceType={"Value": "c5.2xlarge"})
    lab_ec2.modify_instance_attribute(InstanceId=instance, EnaSupport={"Value": True})
    described = describe(lab_ec2, instance)
    assert described["InstanceType"] == "c5.2xlarge"
    assert [g["GroupId"] for g in described["SecurityGroups"]] == [group]  # moto used to empty them
    assert lab_ec2.describe_instance_attribute(InstanceId=instance, Attribute="enaSupport")["EnaSupport"]["Value"] is True
    lab_ec2.terminate_instances(InstanceIds=[instance])
    lab_ec2.delete_security_group(GroupId=group)


def test_private_ips_in_lab_subnets_are_loopback(lab_ec2, run_instance, lab_run):
    env = lab_run["env"]
    for subnet, network in ((env["LAB_SUBNET_A"], "127.20.1.0/24"), (env["LAB_SUBNET_B"], "127.20.2.0/24")):
        private = describe(lab_ec2, run_instance(SubnetId=subnet))["PrivateIpAddress"]
        assert ipaddress.ip_address(private) in ipaddress.ip_network(network)
        assert ipaddress.ip_address(private).is_loopback


def test_private_ip_is_reused_only_once_the_instance_is_terminated(lab_ec2, run_instance, lab_run):
    """As on AWS (replace_node.yml relaunches a node at its address): InvalidIPAddress.InUse while the instance lives
    (moto answered 500), free once it is terminated (moto never freed it)."""
    subnet = lab_run["env"]["LAB_SUBNET_A"]
    first = run_instance(SubnetId=subnet)
    address = describe(lab_ec2, first)["PrivateIpAddress"]
    with pytest.raises(botocore.exceptions.ClientError) as refused:
        run_instance(NetworkInterfaces=[{"DeviceIndex": 0, "SubnetId": subnet, "PrivateIpAddress": address}])
    assert refused.value.response["Error"]["Code"] == "InvalidIPAddress.InUse"
    lab_ec2.terminate_instances(InstanceIds=[first])
    second = run_instance(NetworkInterfaces=[{"DeviceIndex": 0, "SubnetId": subnet, "PrivateIpAddress": address}])
    assert describe(lab_ec2, second)["PrivateIpAddress"] == address


def test_labenv_helpers(lab_run, run_instance):
    instance = run_instance()
    summary = labenv.instance_summary(lab_run["env"], instance_id=instance)
    assert summary["state"] == "running" and summary["private_ip"].startswith("127.20.1.")
    assert labenv.instance_state(lab_run["env"], instance_id=instance) == "running"
    assert "Roles" in labenv.iam_client(lab_run["env"]).list_roles()


def test_amazon_aws_modules_against_the_lab(lab_run, tmp_path):
    """The guide's security group, ESP from the group itself included, with amazon.aws: created, then unchanged."""
    playbook = tmp_path / "sg.yml"
    playbook.write_text("""
- hosts: localhost
  gather_facts: false
  vars:
    group: &group
      name: test-ansible-esp
      description: Pexip nodes
      vpc_id: "{{ lookup('env', 'LAB_VPC_ID') }}"
      rules:
        - {proto: tcp, ports: [443, 8443], cidr_ip: 127.0.0.0/8}
        - {proto: udp, from_port: 40000, to_port: 49999, cidr_ip: 0.0.0.0/0}
        - {proto: 50, group_name: test-ansible-esp, rule_desc: IPsec ESP between nodes}
        - {proto: udp, ports: [500], group_name: test-ansible-esp}
  tasks:
    - amazon.aws.ec2_security_group: *group
      register: first
    - amazon.aws.ec2_security_group: *group
      register: second
    - amazon.aws.ec2_instance_info:
      register: info
    - ansible.builtin.debug:
        msg: "RESULT={{ first.changed }},{{ second.changed }},{{ second.ip_permissions | selectattr('ip_protocol', 'eq', '50') | list | length }}"
""", encoding="utf-8")
    env = dict(os.environ, **lab_run["env"])
    env.update(ANSIBLE_STDOUT_CALLBACK="default", ANSIBLE_NOCOLOR="1", ANSIBLE_LOCALHOST_WARNING="0", ANSIBLE_INVENTORY_UNPARSED_WARNING="0")
    command = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), str(playbook)]
    proc = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "RESULT=True,False,1" in proc.stdout


def test_aws_faults_on_demand(lab_run, lab_ec2):
    """moto's /_lab/faults: the next N requests of an action get the AWS error; throttling is retried by botocore."""
    import botocore.exceptions  # pylint: disable=import-outside-toplevel
    import labctl  # pylint: disable=import-outside-toplevel

    faults = labctl.AwsFaults(lab_run["env"]["AWS_URL"])
    faults.inject("DescribeSubnets", "UnauthorizedOperation", status=403, count=1, message="not <allowed>")
    assert lab_ec2.describe_vpcs()["Vpcs"]  # another action is left alone
    with pytest.raises(botocore.exceptions.ClientError) as refused:
        lab_ec2.describe_subnets()
    assert refused.value.response["Error"] == {"Code": "UnauthorizedOperation", "Message": "not <allowed>"}
    assert faults.faults() == [] and lab_ec2.describe_subnets()["Subnets"]

    faults.inject("DescribeSubnets", "RequestLimitExceeded", status=503, count=2)
    assert lab_ec2.describe_subnets()["Subnets"]
    assert faults.faults() == []

    faults.inject("*", "InternalError", status=400, count=0)
    assert faults.faults()[0]["count"] == 0
    with pytest.raises(botocore.exceptions.ClientError):
        lab_ec2.describe_vpcs()
    assert faults.clear() == 1 and lab_ec2.describe_vpcs()["Vpcs"]


def test_aws_calls_are_recorded(lab_run, lab_ec2):
    """moto's /_lab/aws_calls: every call, with its service, action, access key id and user agent (docs/iam.md)."""
    import json  # pylint: disable=import-outside-toplevel
    import urllib.request  # pylint: disable=import-outside-toplevel

    def calls(since=0):
        with urllib.request.urlopen(lab_run["env"]["AWS_URL"] + "/_lab/aws_calls?since=%d" % since, timeout=10) as answer:
            return json.loads(answer.read())

    mark = calls()["next"]
    lab_ec2.describe_subnets()
    recorded = calls(mark)
    # The simulator polls EC2 too: only this test's call is looked at.
    [call] = [c for c in recorded["calls"] if c["action"] == "DescribeSubnets"]
    assert recorded["next"] == mark + len(recorded["calls"])
    assert (call["service"], call["action"]) == ("ec2", "DescribeSubnets") and "Boto3/" in call["agent"] and call["key"]
