# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reliability: bad input is refused before anything is created, and a failure always says what to fix.

- The bad-input catalogue (CASES): each case is one inventory host whose declaration is wrong in one way. All cases run
  in ONE ansible-playbook invocation: the role entry point of each case runs in a block whose rescue records the
  failure message, so one refused case does not stop the others. Each case asserts that it failed, that the message
  names the bad value, and, for the whole run, that no EC2 instance was launched and no write reached the Management
  Node (the lab's request log). Cases whose role runs tasks once for the whole play (run_once) get a play of their own.
- deploy.yml with a typo'd location or an underscore in a hostname stops before the first instance is launched.
- A node-creation failure is shown, not hidden by no_log.
"""

import json
import os
import time
import uuid

import pytest
import yaml

import e2e  # pylint: disable=wrong-import-order
from e2e import REPO, WRITES  # pylint: disable=wrong-import-order

# The tests of this file share module-scoped fixtures: they stay on one worker (make integration: --dist loadfile).
pytestmark = pytest.mark.xdist_group("test_reliability")

SUFFIX = uuid.uuid4().hex[:6]
LOCATION = "Reliability %s" % SUFFIX
PEXIP_AMI = "ami-0e1a34c0788000001"  # "Pexip Infinity Conferencing Node 34 build 78800" in the lab's moto


def node(**overrides):
    """A Conferencing Node declaration that passes every check, with the given variables changed."""
    declared = {
        "pexip_node_domain": "lab.example.com",
        "pexip_node_role": "transcoding",
        "pexip_node_location": LOCATION,
        "pexip_node_instance_type": "c5.2xlarge",
        "pexip_node_subnet_id": "{{ lab_subnet }}",
        "pexip_node_public_ip": "elastic",
        "pexip_node_ssh_password": "reliability-ssh-password",
        # As the lab inventory: a new instance's bootstrap page is self-signed, and its private address is the VPC's.
        "pexip_node_bootstrap_validate_certs": False,
    }
    declared.update(overrides)
    # None: the variable is not declared at all.
    return {key: value for key, value in declared.items() if value is not None}


# (case id, role, tasks_from, host variables, substrings the failure message must contain). The host's name is
# "rel-<SUFFIX>-<case id>"; "{name}" in a substring stands for it. Roles read their pexip_* inventory variables.
CN = ("pexip.infinity.conferencing_node", "validate.yml")
CASES = [
    ("host-underscore", CN, node(pexip_node_hostname="cn_lon_1"), ["'cn_lon_1'", "no underscore"]),
    ("host-dot", CN, node(pexip_node_hostname="cn.lon"), ["'cn.lon'", "without the domain"]),
    ("host-leading-hyphen", CN, node(pexip_node_hostname="-cn1"), ["'-cn1'", "not a host name"]),
    ("host-trailing-hyphen", CN, node(pexip_node_hostname="cn1-"), ["'cn1-'", "not a host name"]),
    ("host-too-long", CN, node(pexip_node_hostname="h" * 64), ["'%s'" % ("h" * 64), "1 to 63"]),
    ("host-space", CN, node(pexip_node_hostname="cn 1"), ["'cn 1'", "not a host name"]),
    ("host-empty", CN, node(pexip_node_hostname=""), ["hostname ''", "not a host name"]),
    ("domain-underscore", CN, node(pexip_node_domain="lab_example.com"), ["'lab_example.com'", "no underscore"]),
    ("domain-leading-dot", CN, node(pexip_node_domain=".example.com"), ["'.example.com'", "not a DNS domain"]),
    ("domain-empty-label", CN, node(pexip_node_domain="lab..example.com"), ["'lab..example.com'", "not a DNS domain"]),
    ("domain-trailing-hyphen", CN, node(pexip_node_domain="lab-.example.com"), ["'lab-.example.com'", "not a DNS domain"]),
    ("domain-empty", CN, node(pexip_node_domain=""), ["domain ''", "not a DNS domain"]),
    ("name-too-long", CN, node(pexip_node_name="n" * 33, pexip_node_hostname="cn1"), ["'%s'" % ("n" * 33), "1 to 32 characters"]),
    ("name-trailing-space", CN, node(pexip_node_name="cn-rel ", pexip_node_hostname="cn1"), ["'cn-rel '", "trailing spaces"]),
    ("role-typo", CN, node(pexip_node_role="transcode"), ["'transcode'", "transcoding or proxying"]),
    ("public-ip-unknown", CN, node(pexip_node_public_ip="dynamic"), ["'dynamic'", "none, auto or elastic"]),
    ("public-ip-case", CN, node(pexip_node_public_ip="Elastic"), ["'Elastic'", "none, auto or elastic"]),
    # No silent auto: the public address mode must be chosen.
    ("public-ip-unset", CN, node(pexip_node_public_ip=None), ["public IP ''", "pexip_node_public_ip", "recommends elastic"]),
    ("bootstrap-address-typo", CN, node(pexip_node_bootstrap_address="vpn"), ["'vpn'", "private (over a VPN) or public"]),
    ("bootstrap-public-without-public-ip", CN, node(pexip_node_bootstrap_address="public", pexip_node_public_ip="none"),
     ["pexip_node_bootstrap_address: public", "pexip_node_public_ip: none"]),
    ("two-problems", CN, node(pexip_node_hostname="a_b", pexip_node_role="edge"), ["'a_b'", "'edge'"]),
    ("ssh-password-empty", CN, node(pexip_node_ssh_password=""), ["pexip_node_ssh_password"]),
    ("type-transcoding-large", CN, node(pexip_node_instance_type="c5.large"), ["'c5.large'", "transcoding"]),
    ("type-transcoding-xlarge", CN, node(pexip_node_instance_type="c5.xlarge"), ["'c5.xlarge'", "c5.2xlarge"]),
    ("type-36-vcpu", CN, node(pexip_node_instance_type="c5.9xlarge"), ["'c5.9xlarge'", "36 vCPU"]),
    ("type-c4-8xlarge", CN, node(pexip_node_instance_type="c4.8xlarge"), ["'c4.8xlarge'", "36 vCPU"]),
    ("type-metal", CN, node(pexip_node_instance_type="c5.metal"), ["'c5.metal'", "36 vCPU"]),
    ("type-uppercase", CN, node(pexip_node_instance_type="C5.2XLARGE"), ["'C5.2XLARGE'"]),
    ("type-no-dot", CN, node(pexip_node_instance_type="c5-2xlarge"), ["'c5-2xlarge'"]),
    ("subnet-unknown", CN, node(pexip_node_subnet_id="subnet-0123456789abcdef0"), ["'subnet-0123456789abcdef0'", "does not exist"]),
    ("subnet-other-vpc", CN, node(pexip_vpc_id="vpc-0000000000000bad0"), ["vpc-0000000000000bad0", "not in the platform VPC"]),
    ("location-typo", CN, node(pexip_node_location="Londn"), ["'Londn'", "does not exist on the Management Node"]),
    ("location-empty", CN, node(pexip_node_location=""), ["system location ''", "does not exist"]),
    ("location-case", CN, node(pexip_node_location=LOCATION.upper()), ["'%s'" % LOCATION.upper(), "does not exist"]),
    # Roles that act on an existing node: nothing is tagged for these names.
    ("maintenance-no-instance", ("pexip.infinity.maintenance", "main.yml"), {},
     ["{name}", "found none", "Nothing was changed"]),
    ("reinstate-no-instance", ("pexip.infinity.reinstate", "main.yml"), {}, ["{name}", "found none"]),
    ("resize-no-instance", ("pexip.infinity.instance_family", "main.yml"), {"pexip_node_instance_type": "c5.2xlarge"},
     ["{name}", "found none"]),
    ("resize-type-too-small", ("pexip.infinity.instance_family", "main.yml"),
     {"pexip_node_role": "transcoding", "instance_family_instance_type": "c5.large"}, ["'c5.large'", "transcoding"]),
    ("resize-type-typo", ("pexip.infinity.instance_family", "main.yml"), {"instance_family_instance_type": "c5.2xlarg"},
     ["'c5.2xlarg'"]),
    ("terminate-unconfirmed", ("pexip.infinity.decommission", "main.yml"), {}, ["{name}", "decommission_confirm={name}"]),
    # The test launches an instance tagged for this name (the leftover of a node the Management Node no longer has).
    ("terminate-orphan", ("pexip.infinity.decommission", "main.yml"), {"decommission_confirm": "{name}"},
     ["{name}", "does not exist on the Management Node", "decommission_orphan=true"]),
    ("convert-direction", ("pexip.infinity.bursting", "convert.yml"), {"bursting_convert_to": "sideways"},
     ["'sideways'", "overflow or always_on"]),
    ("convert-no-location", ("pexip.infinity.bursting", "convert.yml"),
     {"bursting_convert_to": "always_on", "bursting_convert_location": ""},
     ["bursting_convert_location", "(is '')"]),
    ("prestart-unknown-node", ("pexip.infinity.bursting", "prestart.yml"), {"bursting_prestart_nodes": ["no-such-burst-node"]},
     ["no-such-burst-node"]),
    ("prestart-peak-time", ("pexip.infinity.bursting", "prestart.yml"),
     {"bursting_prestart_nodes": [], "bursting_prestart_peak_time": "25:00"}, ["'25:00'", "HH:MM"]),
    ("sg-open-management", ("pexip.infinity.security_group", "main.yml"),
     {"pexip_management_cidr": "0.0.0.0/0", "pexip_security_group_name": "rel-sg-{name}"}, ["0.0.0.0/0", "refused"]),
    ("sg-empty-management", ("pexip.infinity.security_group", "main.yml"),
     {"pexip_management_cidr": "", "pexip_security_group_name": "rel-sg-{name}"}, ["pexip_management_cidr"]),
    ("sg-peer-no-mask", ("pexip.infinity.security_group", "main.yml"),
     {"pexip_management_cidr": "127.0.0.0/8", "pexip_ipsec_peers": ["10.20.0.0"], "pexip_security_group_name": "rel-sg-{name}"},
     ["10.20.0.0", "CIDR"]),
    ("sg-peer-open", ("pexip.infinity.security_group", "main.yml"),
     {"pexip_management_cidr": "127.0.0.0/8", "pexip_ipsec_peers": ["0.0.0.0/0"], "pexip_security_group_name": "rel-sg-{name}"},
     ["0.0.0.0/0", "other than /0"]),
    ("manager-broadcast-ip", ("pexip.infinity.management_node", "validate.yml"),
     {"pexip_manager_private_ip": "{broadcast}"}, ["{broadcast}", "broadcast address"]),
    ("manager-gateway-ip", ("pexip.infinity.management_node", "validate.yml"),
     {"pexip_manager_private_ip": "{gateway}"}, ["{gateway}", "gateway"]),
    ("manager-network-ip", ("pexip.infinity.management_node", "validate.yml"),
     {"pexip_manager_private_ip": "{network}"}, ["{network}", "network address"]),
    ("manager-outside-subnet", ("pexip.infinity.management_node", "validate.yml"),
     {"pexip_manager_private_ip": "192.0.2.10"}, ["192.0.2.10", "not in the subnet"]),
    ("manager-not-an-address", ("pexip.infinity.management_node", "validate.yml"),
     {"pexip_manager_private_ip": "10.0.0.300"}, ["10.0.0.300", "not an IPv4 address"]),
    ("manager-hostname-underscore", ("pexip.infinity.management_node", "validate.yml"),
     {"pexip_manager_hostname": "mgr_1"}, ["'mgr_1'"]),
    ("manager-subnet-unknown", ("pexip.infinity.management_node", "validate.yml"),
     {"pexip_manager_subnet_id": "subnet-0123456789abcdef1"}, ["'subnet-0123456789abcdef1'", "does not exist"]),
    # Issue #27: the bootstrap document never goes unverified to a public address; a yes/no confirms no terminate;
    # the installation wizard's DNS servers and domain are checked before the instance is launched.
    ("bootstrap-public-unverified", CN, node(pexip_node_bootstrap_address="public", pexip_node_public_ip="elastic",
                                             pexip_node_bootstrap_validate_certs=False),
     ["not sent unverified", "pexip_node_bootstrap_fingerprint"]),
    ("terminate-confirm-yes", ("pexip.infinity.decommission", "main.yml"), {"decommission_confirm": True},
     ["a yes/no is no confirmation", "decommission_confirm={name}"]),
    ("manager-dns-not-ip", ("pexip.infinity.management_node", "validate.yml"),
     {"pexip_dns_servers": ["dns.example.com"]}, ["dns.example.com", "not IPv4 addresses"]),
    ("manager-domain-label-too-long", ("pexip.infinity.management_node", "validate.yml"),
     {"pexip_manager_domain": "%s.example.com" % ("d" * 64)}, ["d" * 64, "labels of 1 to 63"]),
    # Issue #29: the tenancy, the key pair, and a route out of the subnet for NTP/DNS servers outside the VPC.
    ("tenancy-unknown", CN, node(pexip_instance_tenancy="host"), ["tenancy 'host'", "pexip_instance_tenancy"]),
    ("key-pair-unknown", CN, node(pexip_key_name="no-such-key-pair"), ["'no-such-key-pair'", "does not exist"]),
    ("manager-tenancy-unknown", ("pexip.infinity.management_node", "validate.yml"), {"pexip_manager_tenancy": "host"},
     ["tenancy 'host'", "pexip_manager_tenancy"]),
    ("manager-key-pair-unknown", ("pexip.infinity.management_node", "validate.yml"), {"pexip_key_name": "no-such-key-pair"},
     ["'no-such-key-pair'", "does not exist"]),
    ("location-ntp-no-route", CN, node(pexip_node_subnet_id="{isolated_subnet}",
                                       pexip_locations=[{"name": LOCATION, "ntp_servers": ["169.254.169.123", "0.pool.ntp.org"]}]),
     ["0.pool.ntp.org", "{isolated_subnet}", "no route to 0.0.0.0/0"]),
    ("manager-ntp-no-route", ("pexip.infinity.management_node", "validate.yml"),
     {"pexip_ntp_servers": ["169.254.169.123", "0.pool.ntp.org"], "pexip_manager_subnet_id": "{isolated_subnet}"},
     ["0.pool.ntp.org", "{isolated_subnet}", "no route to 0.0.0.0/0"]),
]

# Bursting validation runs parts of itself once per play (run_once): each of these cases gets a play of its own.
BURSTING = ("pexip.infinity.bursting", "validate.yml")
ISOLATED = [
    ("burst-overflow-is-always-on", BURSTING, {"pexip_bursting_location": "AWS burst R",
                                               "pexip_bursting_always_on_locations": ["AWS burst R"]},
     ["AWS burst R", "must not be one of the always-on locations"]),
    ("burst-threshold-zero", BURSTING, {"pexip_bursting_threshold": 0}, ["(is 0)", "threshold"]),
    ("burst-lifetime-short", BURSTING, {"pexip_bursting_min_lifetime": 3}, ["(is 3)", "minimum lifetime"]),
    ("burst-public-auto", BURSTING, {"pexip_node_public_ip": "auto"}, ["pexip_node_public_ip is auto"]),
    ("burst-wrong-location", BURSTING, {"pexip_node_location": "London R"}, ["London R", "overflow location"]),
]

# Modules, called directly with the case's arguments (case_args; one play per module).
MODULES = {
    "pexip.infinity.pexip_location": {"name": "{{ pexip_node_name }}", "dns_servers": "{{ case_args.dns_servers | default(omit) }}",
                                      "ntp_servers": "{{ case_args.ntp_servers | default(omit) }}"},
    "pexip.infinity.pexip_node": {"name": "{{ pexip_node_name }}", "hostname": "cn-rel", "domain": "lab.example.com",
                                  "address": "127.20.1.200", "netmask": "255.255.255.0",
                                  "gateway": "{{ case_args.gateway | default('127.20.1.1') }}",
                                  "static_nat_address": "{{ case_args.static_nat_address | default(omit) }}",
                                  "system_location": "{{ case_args.system_location }}", "ssh_password": "reliability-ssh-password"},
}
MODULE_CASES = [
    ("location-dns-not-ip", ("pexip.infinity.pexip_location", None), {"case_args": {"dns_servers": ["300.1.1.1"]}},
     ["'300.1.1.1'", "dns_servers"]),
    ("location-dns-hostname", ("pexip.infinity.pexip_location", None), {"case_args": {"dns_servers": ["dns.example.com"]}},
     ["'dns.example.com'", "not an IPv4 or IPv6 address"]),
    ("location-ntp-twice", ("pexip.infinity.pexip_location", None),
     {"case_args": {"ntp_servers": ["ntp.example.com", "ntp.example.com"]}}, ["'ntp.example.com'", "twice"]),
    ("location-ntp-bad-name", ("pexip.infinity.pexip_location", None), {"case_args": {"ntp_servers": ["bad_host!"]}},
     ["'bad_host!'", "ntp_servers"]),
    ("node-location-unknown", ("pexip.infinity.pexip_node", None), {"case_args": {"system_location": "Nowhere R"}},
     ["'Nowhere R'", "does not exist"]),
    # Issue #27: a gateway that is the subnet's broadcast address, a private static NAT address.
    ("node-gateway-broadcast", ("pexip.infinity.pexip_node", None),
     {"case_args": {"system_location": "Nowhere R", "gateway": "127.20.1.255"}}, ["127.20.1.255", "broadcast"]),
    ("node-nat-private", ("pexip.infinity.pexip_node", None),
     {"case_args": {"system_location": "Nowhere R", "static_nat_address": "10.1.2.3"}}, ["10.1.2.3", "private address"]),
    # Issue #27: a loopback node address, where the inventory does not say it is a lab on loopback.
    ("node-address-loopback", ("pexip.infinity.pexip_node", None),
     {"case_args": {"system_location": "Nowhere R"}, "pexip_allow_loopback_addresses": False},
     ["127.20.1.200", "is a loopback address", "pexip_allow_loopback_addresses"]),
]

# The whole inventory, checked once (conferencing_node's validate_platform.yml): two hosts share a node name, and one
# location gets a proxying node next to the transcoding ones.
PLATFORM_CASES = ["duplicate-name", "mixed-location"]

CASE_PLAYBOOK = """
- name: Whole-inventory checks
  hosts: conferencing_nodes
  gather_facts: false
  vars_files: ["%(repo)s/playbooks/vars/connection.yml"]
  module_defaults:
    group/aws: "{{ pexip_aws_module_defaults }}"
    group/pexip.infinity.pexip: "{{ pexip_api_module_defaults }}"
  tasks:
    - name: The whole inventory
      block:
        - name: Check the whole inventory
          ansible.builtin.include_role:
            name: pexip.infinity.conferencing_node
            tasks_from: validate_platform.yml
          run_once: true
      rescue:
        - name: Record the refusal
          ansible.builtin.set_fact:
            platform_msg: "{{ ansible_failed_result.msg | default(ansible_failed_result | string) }}"
          run_once: true
%(plays)s
- name: Collect the results
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Write them for the test
      ansible.builtin.copy:
        dest: "%(results)s"
        mode: "0600"
        content: >-
          {{ {'platform': hostvars[groups['conferencing_nodes'][0]].platform_msg | default(None),
              'cases': dict(groups['cases'] | zip(groups['cases'] | map('extract', hostvars)
                            | map(attribute='case_result', default=None)))} | to_json }}
"""

# A play of cases: each host runs the case's step and records in case_result whether it passed, or the refusal.
PLAY = """
- name: %(name)s
  hosts: "%(hosts)s"
  gather_facts: false
  vars_files: ["%(repo)s/playbooks/vars/connection.yml"]
  module_defaults:
    group/aws: "{{ pexip_aws_module_defaults }}"
    group/pexip.infinity.pexip: "{{ pexip_api_module_defaults }}"
  tasks:
    - name: Run the case
      block:
%(step)s
        - name: Record that it passed
          ansible.builtin.set_fact:
            case_result: {failed: false, msg: ""}
      rescue:
        - name: Record the refusal
          ansible.builtin.set_fact:
            case_result:
              failed: true
              msg: "{{ ansible_failed_result.msg | default(ansible_failed_result | string) }}"
              task: "{{ ansible_failed_task.name | default('') }}"
"""

# The step of a role case: the case's role entry point.
ROLE_STEP = """        - name: Run the role
          ansible.builtin.include_role:
            name: "{{ case_role }}"
            tasks_from: "{{ case_tasks_from }}\""""

# The step of a module case: the module with the case's arguments.
MODULE_STEP = """        - name: Call %(module)s
          %(module)s: %(args)s"""


def host_name(case_id):
    """A short unique node name per case (node names have at most 32 characters)."""
    ids = [c[0] for c in CASES + ISOLATED + MODULE_CASES] + ["duplicate-name", "dup-a", "dup-b", "mixed-location"]
    return "rel%s-%02d" % (SUFFIX, ids.index(case_id))


def subnet_addresses(env):
    """{name}, {network}, {gateway}, {broadcast} of a case: its host name and the lab subnet's reserved addresses."""
    import ipaddress  # pylint: disable=import-outside-toplevel

    import labenv  # pylint: disable=import-outside-toplevel

    cidr = labenv.ec2_client(env).describe_subnets(SubnetIds=[env["LAB_SUBNET_A"]])["Subnets"][0]["CidrBlock"]
    network = ipaddress.ip_network(cidr)
    return {"network": str(network.network_address), "gateway": str(network.network_address + 1),
            "broadcast": str(network.broadcast_address)}


def isolated_subnet(ec2, vpc_id, cidr="127.20.250.0/24"):
    """A subnet of the lab's VPC with a route table of its own, without a route to 0.0.0.0/0 (kept for the next run)."""
    found = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}, {"Name": "cidr-block", "Values": [cidr]}])["Subnets"]
    if found:
        return found[0]["SubnetId"]
    subnet_id = ec2.create_subnet(VpcId=vpc_id, CidrBlock=cidr)["Subnet"]["SubnetId"]
    table_id = ec2.create_route_table(VpcId=vpc_id)["RouteTable"]["RouteTableId"]
    ec2.associate_route_table(RouteTableId=table_id, SubnetId=subnet_id)
    return subnet_id


def fill(value, case_id, addresses):
    if not isinstance(value, str):
        return value
    for key, text in dict(addresses, name=host_name(case_id)).items():
        value = value.replace("{%s}" % key, text)
    return value


def run(env, inventory_file, playbook, *extra, timeout=600):
    """ansible-playbook ``playbook`` -e <extra>...: (rc, output)."""
    args = [arg for item in extra for arg in ("-e", item)]
    proc, _recap = e2e.run_playbook(env, inventory_file, *args, playbook=playbook, timeout=timeout, result_format="json")
    return proc.returncode, proc.stdout + proc.stderr


class Lab:
    def __init__(self, env):
        import labenv  # pylint: disable=import-outside-toplevel

        self.env = env
        self.ec2 = labenv.ec2_client(env)
        # The request log and the faults go through the lab's own client, as in every other test file.
        self.lab_control = e2e.lab_control(env)
        self.api = e2e.Api(env)

    def last_ts(self):
        return self.lab_control.last_ts()

    def writes(self, since):
        return [e for e in self.lab_control.requests_log(since, target="mgmt") if e["method"] in WRITES]

    def instance_ids(self):
        reservations = self.ec2.describe_instances()["Reservations"]
        return {i["InstanceId"] for r in reservations for i in r["Instances"]}

    def instances_tagged(self, names):
        reservations = self.ec2.describe_instances(Filters=[{"Name": "tag:pexip:node", "Values": list(names)}])["Reservations"]
        return [i for r in reservations for i in r["Instances"] if i["State"]["Name"] != "terminated"]

    def security_groups(self, prefix):
        groups = self.ec2.describe_security_groups()["SecurityGroups"]
        return [g["GroupName"] for g in groups if g["GroupName"].startswith(prefix)]

    def location(self, name):
        return self.api.location(name)

    def create_location(self, name):
        response = self.api.session.post(self.api.url("configuration/v1/system_location/"), json={"name": name}, timeout=30)
        assert response.status_code == 201, response.text

    def delete(self, uri):
        self.api.delete(uri)

    def worker(self, name):
        return self.api.node(name)

    def terminate_tagged(self, names):
        ids = [i["InstanceId"] for i in self.instances_tagged(names)]
        if ids:
            self.ec2.terminate_instances(InstanceIds=ids)

    def release_tagged_eips(self, names):
        for address in self.ec2.describe_addresses(Filters=[{"Name": "tag:pexip:node", "Values": list(names)}])["Addresses"]:
            if address.get("AssociationId"):
                self.ec2.disassociate_address(AssociationId=address["AssociationId"])
            self.ec2.release_address(AllocationId=address["AllocationId"])


@pytest.fixture(scope="module")
def lab(lab_env):
    made = Lab(dict(lab_env))
    made.create_location(LOCATION)
    yield made
    location = made.location(LOCATION)
    if location:
        made.delete(location["resource_uri"])


def base_vars(env):
    return {
        "ansible_connection": "local",
        "ansible_python_interpreter": "{{ ansible_playbook_python }}",
        "pexip_region": env["AWS_REGION"],
        "pexip_vpc_id": env["LAB_VPC_ID"],
        "pexip_key_name": env["LAB_KEY_NAME"],
        "lab_subnet": env["LAB_SUBNET_A"],
        # The lab's VPC is on loopback (a case below takes the permission away).
        "pexip_allow_loopback_addresses": True,
        # The Management Node role's required settings (management_node cases).
        "pexip_manager_subnet_id": env["LAB_SUBNET_A"],
        "pexip_manager_hostname": "mgr",
        "pexip_manager_domain": "lab.example.com",
        "pexip_manager_os_password": "reliability-os-password",
        "pexip_manager_private_key_file": env["LAB_KEY_FILE"],
        "pexip_locations": [],
    }


def catalogue_inventory(env, addresses):
    cases, conferencing, bursting = {}, {}, {}
    for case_id, (role, tasks_from), variables, _expected in CASES + ISOLATED + MODULE_CASES:
        name = host_name(case_id)
        host = {"case_role": role, "case_tasks_from": tasks_from, "pexip_node_name": name, "pexip_node_hostname": "cn-rel"}
        host.update({k: fill(v, case_id, addresses) for k, v in variables.items()})
        cases[name] = host
        if role == CN[0]:
            conferencing[name] = None
        if role == BURSTING[0] and tasks_from == "validate.yml":
            bursting[name] = None
    # The whole-inventory cases: valid hosts, but together wrong.
    platform = {
        host_name("dup-a"): node(pexip_node_name=host_name("duplicate-name"), pexip_node_hostname="dup-a"),
        host_name("dup-b"): node(pexip_node_name=host_name("duplicate-name"), pexip_node_hostname="dup-b"),
        host_name("mixed-location"): node(pexip_node_role="proxying", pexip_node_instance_type="c5.xlarge"),
    }
    conferencing.update(platform)
    return {"all": {
        "vars": base_vars(env),
        "hosts": dict({"localhost": None}, **platform),
        "children": {
            "cases": {"hosts": cases},
            "conferencing_nodes": {"hosts": conferencing},
            "bursting_nodes": {"hosts": bursting},
        },
    }}


def catalogue_playbook(results):
    # One play per role entry point: a dynamic include is shared by the hosts that reach it together, so hosts of one
    # play must include the same role and tasks file.
    entry_points = []
    for case in CASES:
        if case[1] not in entry_points:
            entry_points.append(case[1])
    role_hosts = [":".join(host_name(c[0]) for c in CASES if c[1] == entry) for entry in entry_points] + [host_name(c[0]) for c in ISOLATED]
    plays = [PLAY % {"name": "Cases %s" % hosts, "hosts": hosts, "repo": REPO, "step": ROLE_STEP} for hosts in role_hosts]
    plays += [PLAY % {"name": "Cases of %s" % module, "repo": REPO, "step": MODULE_STEP % {"module": module, "args": json.dumps(args)},
                      "hosts": ":".join(host_name(c[0]) for c in MODULE_CASES if c[1][0] == module)}
              for module, args in MODULES.items()]
    return CASE_PLAYBOOK % {"repo": REPO, "plays": "".join(plays), "results": results}


@pytest.fixture(scope="module")
def catalogue(lab, tmp_path_factory):
    directory = tmp_path_factory.mktemp("reliability")
    inventory_file = str(directory / "inventory.yml")
    playbook = str(directory / "catalogue.yml")
    results_file = str(directory / "results.json")
    # A subnet of the lab's VPC whose own route table has no route out (the lab's main table has one).
    addresses = dict(subnet_addresses(lab.env), isolated_subnet=isolated_subnet(lab.ec2, lab.env["LAB_VPC_ID"]))
    with open(inventory_file, "w", encoding="utf-8") as handle:
        yaml.safe_dump(catalogue_inventory(lab.env, addresses), handle, sort_keys=False)
    with open(playbook, "w", encoding="utf-8") as handle:
        handle.write(catalogue_playbook(results_file))
    names = [host_name(c[0]) for c in CASES + ISOLATED + MODULE_CASES]
    orphan = host_name("terminate-orphan")
    lab.ec2.run_instances(ImageId=PEXIP_AMI, InstanceType="c5.2xlarge", MinCount=1, MaxCount=1, SubnetId=lab.env["LAB_SUBNET_A"],
                          TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "pexip:node", "Value": orphan}]}])
    before = lab.instance_ids()
    since = lab.last_ts()
    started = time.monotonic()
    rc, output = run(lab.env, inventory_file, playbook)
    seconds = time.monotonic() - started
    try:
        assert rc == 0, output[-6000:]
        with open(results_file, encoding="utf-8") as handle:
            results = json.load(handle)
        yield dict(results=results, output=output, seconds=seconds, writes=lab.writes(since), addresses=addresses,
                   new_instances=[i["InstanceId"] for i in lab.instances_tagged(names) if i["InstanceId"] not in before],
                   orphan_instances=lab.instances_tagged([orphan]),
                   security_groups=lab.security_groups("rel-sg-"))
    finally:
        lab.terminate_tagged(names)
        lab.release_tagged_eips(names)


@pytest.mark.parametrize("case", CASES + ISOLATED + MODULE_CASES, ids=[c[0] for c in CASES + ISOLATED + MODULE_CASES])
def test_bad_input_is_refused_naming_the_value(catalogue, case):
    case_id, _role, _variables, expected = case
    name = host_name(case_id)
    result = catalogue["results"]["cases"].get(name)
    assert result is not None, "case %s did not run:\n%s" % (case_id, catalogue["output"][-4000:])
    assert result["failed"], "case %s was accepted" % case_id
    for text in expected:
        assert fill(text, case_id, catalogue["addresses"]) in result["msg"], (case_id, result)


def test_whole_inventory_is_checked_once(catalogue):
    message = catalogue["results"]["platform"]
    assert message, catalogue["output"][-4000:]
    assert host_name("duplicate-name") in message and "more than once" in message
    assert LOCATION in message and "both transcoding and proxying" in message
    assert host_name("mixed-location") in message
    # Run once for the whole inventory, not once per host.
    assert catalogue["output"].count("TASK [pexip.infinity.conferencing_node : Check that no node is declared twice") == 1


def test_catalogue_created_nothing(catalogue):
    """No instance launched (the orphan is the test's own), no Management Node write, no security group."""
    assert catalogue["new_instances"] == []
    assert len(catalogue["orphan_instances"]) == 1
    assert catalogue["writes"] == [], catalogue["writes"]
    assert catalogue["security_groups"] == []
    print("catalogue: %d cases + %d whole-inventory cases in one ansible-playbook run, %.1fs"
          % (len(CASES) + len(ISOLATED) + len(MODULE_CASES), len(PLATFORM_CASES), catalogue["seconds"]))


# ----- deploy.yml: refused before the first instance, and failures are shown -------------------------------------


def deploy_inventory(env, nodes):
    """An inventory for playbooks/deploy.yml: {short name: overrides of node()}; names are unique per test run."""
    hosts = {}
    for short, overrides in nodes.items():
        name = "reldep%s-%s" % (SUFFIX, short)
        declared = dict(pexip_node_name=name, pexip_node_hostname=name, pexip_node_subnet_id=env["LAB_SUBNET_A"],
                        pexip_node_bootstrap_ca_path=os.path.join(env["LAB_DIR"], "tls", "node-ca.pem"),
                        pexip_node_bootstrap_port=int(env["LAB_NODE_PORT"]), pexip_node_bootstrap_timeout=60,
                        pexip_node_sync_timeout=60, pexip_node_sync_poll=1)
        declared.update(overrides)
        hosts[name] = node(**declared)
    variables = base_vars(env)
    variables.update(pexip_security_group_name="reldep-sg-%s" % SUFFIX, pexip_management_cidr="127.0.0.0/8",
                     pexip_locations=[{"name": LOCATION}])
    return {"all": {"vars": variables, "children": {"conferencing_nodes": {"hosts": hosts}}}}


def write_inventory(tmp_path, data):
    path = str(tmp_path / "inventory.yml")
    with open(path, "w", encoding="utf-8") as handle:
        yaml.safe_dump(data, handle, sort_keys=False)
    return path


@pytest.mark.parametrize("bad, expected", [
    ({"pexip_node_location": "Londn"}, ["'Londn'", "does not exist on the Management Node"]),
    ({"pexip_node_hostname": "cn_lon_1"}, ["'cn_lon_1'", "no underscore"]),
], ids=["typo-location", "underscore-hostname"])
def test_deploy_refuses_bad_node_before_any_instance_is_launched(lab, tmp_path, bad, expected):
    """Once deploy.yml launched a dedicated instance first and failed afterwards, at node creation. Now one bad node
    stops the whole run (the good one too) before the security group, the locations or any instance is created."""
    inventory_file = write_inventory(tmp_path, deploy_inventory(lab.env, {"good": {}, "bad": bad}))
    names = ["reldep%s-good" % SUFFIX, "reldep%s-bad" % SUFFIX]
    since = lab.last_ts()
    before = lab.instance_ids()
    try:
        rc, output = run(lab.env, inventory_file, os.path.join(REPO, "playbooks", "deploy.yml"))
        assert rc != 0, output[-4000:]
        for text in expected:
            assert text in output, output[-4000:]
        assert lab.instance_ids() == before
        assert lab.instances_tagged(names) == []
        assert lab.writes(since) == []
        assert lab.security_groups("reldep-sg-%s" % SUFFIX) == []
        assert "Launch the instance" not in output
    finally:
        lab.terminate_tagged(names)
        lab.release_tagged_eips(names)


def test_node_creation_failure_says_what_to_fix(lab, tmp_path):
    """The node-creation task once ran with no_log: its failure read "the output has been hidden due to no_log".
    Here the Management Node refuses the new node (an injected 400 naming the field); the run shows why."""
    control = lab.lab_control
    inventory_file = write_inventory(tmp_path, deploy_inventory(lab.env, {"nolog": {"pexip_node_public_ip": "none"}}))
    name = "reldep%s-nolog" % SUFFIX
    reason = "Hostname reldep-nolog is already used by another node"
    control.inject_fault(path="/configuration/v1/worker_vm/$", method="POST", count=0, status=400,
                         body={"worker_vm": {"hostname": [reason]}})
    try:
        rc, output = run(lab.env, inventory_file, os.path.join(REPO, "playbooks", "deploy.yml"))
        assert rc != 0, output[-4000:]
        assert "hidden due to" not in output, output[-4000:]
        assert reason in output, output[-4000:]
        # The module still hides the SSH password.
        assert "reliability-ssh-password" not in output
    finally:
        control.clear_faults()
        lab.terminate_tagged([name])
        lab.release_tagged_eips([name])
        worker = lab.worker(name)
        if worker:
            lab.delete(worker["resource_uri"])
        for group in lab.ec2.describe_security_groups(
                Filters=[{"Name": "group-name", "Values": ["reldep-sg-%s" % SUFFIX]}])["SecurityGroups"]:
            try:
                lab.ec2.delete_security_group(GroupId=group["GroupId"])
            except Exception:  # pylint: disable=broad-except
                pass  # still referenced by a terminating instance; harmless in the lab


# ----- security group: IPsec peers, hand-added rules kept unless purge -------------------------------------------

SG_PLAYBOOK = """
- name: The security group
  hosts: localhost
  gather_facts: false
  vars_files: ["%(repo)s/playbooks/vars/connection.yml"]
  module_defaults:
    group/aws: "{{ pexip_aws_module_defaults }}"
  tasks:
    - name: Create or update the group (purge as asked)
      ansible.builtin.include_role:
        name: pexip.infinity.security_group
      vars:
        security_group_purge: "{{ purge | default(false) }}"
    - name: Read it
      amazon.aws.ec2_security_group_info:
        filters:
          group-name: "{{ pexip_security_group_name }}"
      register: group_info
    - name: Write it for the test
      ansible.builtin.copy:
        dest: "%(out)s"
        mode: "0600"
        content: "{{ group_info.security_groups[0] | to_json }}"
"""


def ingress(group):
    """(protocol, from port, CIDR or group id) of each inbound rule."""
    rules = set()
    for permission in group["ip_permissions"]:
        for cidr in permission.get("ip_ranges", []):
            rules.add((permission["ip_protocol"], permission.get("from_port"), cidr["cidr_ip"]))
        for pair in permission.get("user_id_group_pairs", []):
            rules.add((permission["ip_protocol"], permission.get("from_port"), pair["group_id"]))
    return rules


def test_security_group_ipsec_peers_and_hand_added_rules(lab, tmp_path):
    """Peers get IKE (UDP 500) and ESP like the group itself; a rule added by hand survives a re-run, and only
    security_group_purge removes it."""
    name = "relsg-%s" % SUFFIX
    out = str(tmp_path / "group.json")
    playbook = str(tmp_path / "sg.yml")
    with open(playbook, "w", encoding="utf-8") as handle:
        handle.write(SG_PLAYBOOK % {"repo": REPO, "out": out})
    variables = base_vars(lab.env)
    variables.update(pexip_security_group_name=name, pexip_management_cidr="127.0.0.0/8",
                     pexip_ipsec_peers=["10.20.0.0/16"])
    inventory_file = write_inventory(tmp_path, {"all": {"vars": variables, "hosts": {"localhost": None}}})

    def read():
        with open(out, encoding="utf-8") as handle:
            return json.load(handle)

    try:
        rc, output = run(lab.env, inventory_file, playbook)
        assert rc == 0, output[-4000:]
        group = read()
        rules = ingress(group)
        assert ("udp", 500, "10.20.0.0/16") in rules and ("50", None, "10.20.0.0/16") in rules, rules
        assert ("udp", 500, group["group_id"]) in rules and ("50", None, group["group_id"]) in rules, rules

        hand = {"IpProtocol": "tcp", "FromPort": 9999, "ToPort": 9999, "IpRanges": [{"CidrIp": "198.51.100.0/24"}]}
        lab.ec2.authorize_security_group_ingress(GroupId=group["group_id"], IpPermissions=[hand])
        rc, output = run(lab.env, inventory_file, playbook)
        assert rc == 0, output[-4000:]
        assert ("tcp", 9999, "198.51.100.0/24") in ingress(read())

        rc, output = run(lab.env, inventory_file, playbook, "purge=true")
        assert rc == 0, output[-4000:]
        rules = ingress(read())
        assert ("tcp", 9999, "198.51.100.0/24") not in rules
        assert ("udp", 500, "10.20.0.0/16") in rules
    finally:
        for group in lab.ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": [name]}])["SecurityGroups"]:
            lab.ec2.delete_security_group(GroupId=group["GroupId"])
