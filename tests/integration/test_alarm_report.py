# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""After a deploy or a restart the roles read the Management Node's alarms once and report those of the nodes they
touched (issue 11); a new node's image is the one of the Management Node's own version.

One node (public IP none) whose FQDN is named by a TLS certificate that expires in 10 days: the lab raises the
"about to expire" alarm for it. deploy.yml must report it (and read status/v1/management_vm for the image version),
the no-op re-run must not read alarms at all, and restart.yml must report it again after starting the node.
"""

import datetime
import uuid

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

import labenv  # pylint: disable=wrong-import-order
from e2e import Api, instances, lab_control, output, platform_inventory, run_playbook  # pylint: disable=wrong-import-order

pytestmark = pytest.mark.xdist_group("test_alarm_report")

SUFFIX = uuid.uuid4().hex[:6]
NODE = "e2e-alarm-%s" % SUFFIX
DOMAIN = "e2e.example.com"
FQDN = "%s.%s" % (NODE, DOMAIN)
LOCATION = "E2E alarm %s" % SUFFIX
EXPIRING = "TLS certificate is about to expire"  # the lab's alarm name (docs/lab.md)
REPORT = "alarm(s) about the"
LAB_IMAGE_34 = "ami-0e1a34c0788000001"  # "Pexip Infinity Conferencing Node 34 build 78800"; the lab's manager runs 34.0.0


def inventory(env, **host_vars):
    return platform_inventory(env, NODE, {"conferencing_nodes": {"hosts": {NODE: host_vars}}},
                              pexip_node_domain=DOMAIN, pexip_node_ssh_password="e2e-" + uuid.uuid4().hex, pexip_node_location=LOCATION,
                              pexip_node_subnet_id=env["LAB_SUBNET_A"], pexip_node_public_ip="none",
                              pexip_locations=[{"name": LOCATION, "dns_servers": ["127.0.0.53"], "ntp_servers": ["127.0.0.123"]}])


def expiring_certificate(days):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, FQDN)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=days))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(FQDN)]), critical=False)
            .sign(key, hashes.SHA256()))
    return (cert.public_bytes(serialization.Encoding.PEM).decode(),
            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode())


@pytest.fixture(scope="module")
def platform(lab_env, tmp_path_factory):
    api = Api(lab_env)
    certificate, key = expiring_certificate(days=10)
    response = api.session.post(api.base + "configuration/v1/tls_certificate/", json={"certificate": certificate, "private_key": key},
                                timeout=30)
    assert response.status_code == 201, response.text
    directory = tmp_path_factory.mktemp("alarm-report")

    def write(name, **host_vars):
        path = str(directory / name)
        with open(path, "w", encoding="utf-8") as handle:
            yaml.safe_dump(inventory(lab_env, **host_vars), handle, sort_keys=False)
        return path

    control = lab_control(lab_env)
    yield dict(env=lab_env, api=api, control=control, inventory=write("inventory.yml"), write=write)
    config = api.node(NODE)
    if config:
        api.delete("configuration/v1/worker_vm/%d/" % config["id"])
    for cert in api.get("configuration/v1/tls_certificate/", subject_name=FQDN):
        api.delete("configuration/v1/tls_certificate/%d/" % cert["id"])
    ec2 = labenv.ec2_client(lab_env)
    ids = [i["InstanceId"] for i in instances(lab_env, NODE)]
    if ids:
        ec2.terminate_instances(InstanceIds=ids)
    for location_id in api.location_ids([LOCATION]):
        api.delete("configuration/v1/system_location/%d/" % location_id)


def reported(proc):
    """The lines of the alarm report in a playbook's output."""
    text = proc.stdout
    return text[text.index(REPORT):].split("TASK [", 1)[0] if REPORT in text else ""


def test_no_image_of_the_version_stops_before_anything_is_created(platform):
    # An explicit version wins over the Management Node's; without an image of it in the node's region the run stops
    # and names it, before the security group and the location are made (issue 28: checked with the declaration).
    env = platform["env"]
    proc, _recap = run_playbook(env, platform["write"]("v35.yml", pexip_node_version="35.0.0"),
                                playbook="playbooks/deploy.yml")
    assert proc.returncode != 0, output(proc)
    assert 'no image "Pexip Infinity Conferencing Node 35 build *"' in proc.stdout, output(proc)
    assert "region %s" % env["AWS_REGION"] in " ".join(proc.stdout.split()), output(proc)
    assert "pexip_node_version" in proc.stdout and "pexip_node_ami" in proc.stdout, output(proc)
    assert instances(env, NODE) == []
    groups = labenv.ec2_client(env).describe_security_groups(Filters=[{"Name": "group-name", "Values": [NODE]}])["SecurityGroups"]
    assert groups == [] and list(platform["api"].location_ids([LOCATION])) == [], (groups, output(proc))


def test_deploy_reports_the_alarms_of_the_new_node(platform):
    since = platform["control"].last_ts()
    proc, recap = run_playbook(platform["env"], platform["inventory"], playbook="playbooks/deploy.yml")
    assert proc.returncode == 0 and recap[NODE]["failed"] == 0, output(proc)
    report = reported(proc)
    assert EXPIRING in report and FQDN in report, output(proc)
    # The image of the Management Node's version, read once.
    [instance] = instances(platform["env"], NODE)
    assert instance["ImageId"] == LAB_IMAGE_34
    paths = [e["path"] for e in platform["control"].requests_log(since) if e["target"] == "mgmt"]
    assert len([p for p in paths if "status/v1/management_vm" in p]) == 1, paths
    assert len([p for p in paths if "status/v1/alarm" in p]) == 1, paths


def test_noop_run_reads_no_alarm(platform):
    since = platform["control"].last_ts()
    proc, recap = run_playbook(platform["env"], platform["inventory"], playbook="playbooks/deploy.yml")
    assert proc.returncode == 0 and recap[NODE]["changed"] == 0, output(proc)
    assert REPORT not in proc.stdout
    paths = [e["path"] for e in platform["control"].requests_log(since) if e["target"] == "mgmt"]
    assert [p for p in paths if "status/v1/alarm" in p or "management_vm" in p] == [], paths


def test_restart_reports_the_alarms_of_the_restarted_node(platform):
    env = platform["env"]
    [instance] = instances(env, NODE)
    ec2 = labenv.ec2_client(env)
    ec2.stop_instances(InstanceIds=[instance["InstanceId"]])
    ec2.get_waiter("instance_stopped").wait(InstanceIds=[instance["InstanceId"]], WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    proc, recap = run_playbook(env, platform["inventory"], "-e", "nodes=" + NODE, playbook="playbooks/restart.yml")
    assert proc.returncode == 0 and recap[NODE]["failed"] == 0, output(proc)
    report = reported(proc)
    assert EXPIRING in report and FQDN in report, output(proc)
    # The node reported again before the alarms were read: it has lost no contact any more.
    assert "Connectivity lost" not in report, output(proc)
