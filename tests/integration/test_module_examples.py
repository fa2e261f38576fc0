# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every module's EXAMPLES, run against the lab in one ansible-playbook run (issue #11).

The EXAMPLES of plugins/modules/*.py are read as ansible-doc reads them (``ast``, the module is not imported). PLAN
puts their tasks in an order where prerequisites come first (locations before nodes, bursting enabled before the
overflow nodes are started, ...), with the test's own set-up tasks (named ``setup: ...``) in between: instances in
moto, the overflow nodes, the certificates the examples upload. The variables the examples use (``vault_*``,
``secure_dir``, ``instance``, ...) are play variables made from the lab, as a vault and earlier tasks would give them;
the connection settings come from the lab's PEXIP_* / AWS_* environment and ``module_defaults``.

Every example task of every module must be in PLAN exactly once: a new module, or a new example task, fails
test_every_example_is_planned until it is placed.

The run changes the lab the other test files of this worker share, so it is put back afterwards: the instances launched
are terminated, the objects created deleted, and the primary Management Node's settings (which pexip_management_node
and the first boot's wizard rewrite), the bursting settings, the licence and the DNS/NTP servers (which
pexip_system_servers purges) restored. Objects that were there before keep what the examples did to them (London, the
VMR "Lab meeting room", which an example removes); the Conferencing Nodes named by the examples are removed first.
"""

import ast
import os
import uuid

import pytest
import yaml

import labcerts
from e2e import REPO, Api, output, run_playbook, writable

# The run's fixture is module-scoped: the file stays on one worker (make integration: --dist loadfile).
pytestmark = pytest.mark.xdist_group("test_module_examples")

MODULES_DIR = os.path.join(REPO, "plugins", "modules")
RUN = uuid.uuid4().hex[:6]
PASSPHRASE = "pass-" + uuid.uuid4().hex[:12]
# The subject of the certificate the lab's Management Node serves, which the CSR example renews.
MANAGER_SUBJECT = "mgr-lab.lab.example.com"
# The Conferencing Node names the examples use: removed before the run, so that a node another test file left on the
# lab (site.yml deploys cn-lon-1 and cn-lon-2 at other addresses) cannot turn a create into a refused change.
EXAMPLE_NODES = ("cn-lon-1", "cn-lon-2", "cn-lon-3", "cn-burst-lon-1", "cn-burst-lon-2")
# Configuration objects a run may create; whatever is new afterwards is deleted, in this order (the last three once the
# primary Management Node no longer refers to them).
CREATED = ("certificate_signing_request", "worker_vm", "conference", "dns_server", "ntp_server", "tls_certificate", "ca_certificate", "system_location")
BURSTING = ("bursting_enabled", "bursting_threshold", "bursting_min_lifetime", "cloud_provider", "aws_access_key")

# ---- the test's own tasks ----------------------------------------------------------------------------------------

SETUP_LOCATIONS = """
- name: "setup: the locations the examples refer to (the overflow location, a move's destination, one to delete)"
  pexip.infinity.pexip_location:
    name: "{{ item }}"
  loop: [AWS burst, London-2, Old site]
"""

SETUP_NODE_CERTIFICATE = """
- name: "setup: cn-lon-1's own certificate, which pexip_node's example serves by subject name"
  pexip.infinity.pexip_tls_certificate:
    certificate_file: "{{ lab_dir }}/certs/cn-lon-1.example.com.pem"
    private_key_file: "{{ lab_dir }}/certs/cn-lon-1.example.com.key"
"""

IMAGES = """
- name: "setup: Pexip's images"
  amazon.aws.ec2_ami_info:
    owners: ["686087431763"]
    filters:
      name: Pexip Infinity * build *
  register: setup_images

- name: "setup: the newest Conferencing Node and Management Node images"
  ansible.builtin.set_fact:
    setup_node_image: "{{ (setup_images.images | selectattr('name', 'search', 'Conferencing') | sort(attribute='creation_date') | last).image_id }}"
    setup_mgr_image: "{{ (setup_images.images | selectattr('name', 'search', 'Management') | sort(attribute='creation_date') | last).image_id }}"
"""

SETUP_NODE_INSTANCE = IMAGES + """
- name: "setup: the instance of cn-lon-1, registered as pexip_config_upload's example expects it"
  amazon.aws.ec2_instance:
    name: "examples-cn-lon-1-{{ run_id }}"
    image_id: "{{ setup_node_image }}"
    instance_type: c5.2xlarge
    vpc_subnet_id: "{{ lab_subnet_a }}"
    key_name: "{{ lab_key_name }}"
    tags:
      pexip-examples: "{{ run_id }}"
    state: running
    wait: true
  register: setup_instance

- name: "setup: instance"
  ansible.builtin.set_fact:
    instance: "{{ setup_instance.instances[0] }}"
"""

# pexip_system_servers' purge refuses to delete servers that locations or the Management Node use (other test files
# leave the lab's 127.0.0.12x there): take them out first, as an operator would. restore() puts the primary's back.
SETUP_NTP_UNUSED = """
- name: "setup: the locations"
  pexip.infinity.pexip_location_info:
  register: setup_locations

- name: "setup: no location uses an NTP server the purge example does not list"
  pexip.infinity.pexip_location:
    name: "{{ item.name }}"
    ntp_servers: "{{ item.ntp_server_addresses | intersect(['169.254.169.123', '0.pool.ntp.org', '1.pool.ntp.org']) }}"
  loop: "{{ setup_locations.locations }}"
  loop_control:
    label: "{{ item.name }}"

- name: "setup: nor the Management Node"
  pexip.infinity.pexip_management_node:
    ntp_servers: []
"""

# pexip_licence's first example activates on a Management Node without licences (with one, the module cannot tell
# whether the entitlement is active and activates nothing); restore() activates the lab's licence again.
SETUP_NO_LICENCE = """
- name: "setup: the licences active before"
  pexip.infinity.pexip_licence_info:
  register: setup_licences

- name: "setup: none active, as on a new Management Node"
  pexip.infinity.pexip_licence:
    fulfillment_id: "{{ item }}"
    state: absent
  loop: "{{ setup_licences.licences | map(attribute='fulfillment_id') | list }}"
"""

SETUP_OLD_CERTIFICATE = """
- name: "setup: an old certificate for pexip_tls_certificate's example to remove"
  pexip.infinity.pexip_tls_certificate:
    certificate_file: "{{ lab_dir }}/certs/old.pem"
    private_key_file: "{{ lab_dir }}/certs/old.key"
"""

# Launched and bootstrapped early, so that they boot while the examples before pexip_burst_settings' run.
SETUP_OVERFLOW_NODES = """
- name: "setup: the instances of two overflow nodes"
  amazon.aws.ec2_instance:
    name: "examples-{{ item }}-{{ run_id }}"
    image_id: "{{ setup_node_image }}"
    instance_type: c5.2xlarge
    vpc_subnet_id: "{{ lab_subnet_b }}"
    key_name: "{{ lab_key_name }}"
    tags:
      pexip-examples: "{{ run_id }}"
    state: running
    wait: true
  loop: [cn-burst-lon-1, cn-burst-lon-2]
  register: setup_overflow

- name: "setup: their Conferencing Nodes in the overflow location"
  pexip.infinity.pexip_node:
    name: "{{ item.item }}"
    hostname: "{{ item.item }}"
    domain: example.com
    address: "{{ item.instances[0].private_ip_address }}"
    netmask: 255.255.255.0
    gateway: "{{ item.instances[0].private_ip_address | regex_replace('[.][0-9]+$', '.1') }}"
    system_location: AWS burst
    enable_distributed_database: false
    ssh_password: "{{ vault_node_ssh_password }}"
    config_dest: "{{ secure_dir }}/pexip-{{ item.item }}.xml"
  loop: "{{ setup_overflow.results }}"
  loop_control:
    label: "{{ item.item }}"

- name: "setup: bootstrap them"
  pexip.infinity.pexip_config_upload:
    address: "{{ item.instances[0].private_ip_address }}"
    src: "{{ secure_dir }}/pexip-{{ item.item }}.xml"
    ca_path: "{{ secure_dir }}/pexip-node-ca.pem"
  loop: "{{ setup_overflow.results }}"
  loop_control:
    label: "{{ item.item }}"
"""


def setup_joined(*names):
    """Until the nodes have joined. The examples wait with `delay: 10`: this wait polls every second, so that theirs
    succeeds at its first check."""
    return """
- name: "setup: until %s joined"
  pexip.infinity.pexip_node_info:
    name: "{{ item }}"
  register: setup_joined
  until: setup_joined.nodes | length == 1 and setup_joined.nodes[0].synced
  retries: 60
  delay: 1
  loop: %s
""" % (" and ".join(names) + (" have" if len(names) > 1 else " has"), list(names))


SETUP_OVERFLOW_NODES_JOINED = setup_joined("cn-burst-lon-1", "cn-burst-lon-2") + """
- name: "setup: overflow_instance_ids (pexip_burst_settings' example tags them)"
  ansible.builtin.set_fact:
    overflow_instance_ids: "{{ setup_overflow.results | map(attribute='instances') | map('first') | map(attribute='instance_id') | list }}"
"""

SETUP_STOP_OVERFLOW_NODES = """
- name: "setup: stop the overflow nodes, as Infinity does once they are idle"
  amazon.aws.ec2_instance:
    instance_ids: "{{ overflow_instance_ids }}"
    state: stopped
    wait: true

- name: "setup: until the Management Node sees them stopped"
  pexip.infinity.pexip_cloud_node_info:
    location: AWS burst
  register: setup_cloud
  until: >-
    setup_cloud.cloud_nodes | selectattr('cloud_instance_id', 'in', overflow_instance_ids)
    | selectattr('cloud_instance_state', 'equalto', 'stopped') | list | length == 2
  retries: 30
  delay: 1

- name: "setup: overflow_instance_id (pexip_cloud_node's example starts it by id, after pexip_cloud_node_info's did)"
  ansible.builtin.set_fact:
    overflow_instance_id: "{{ overflow_instance_ids[1] }}"
"""

SETUP_MANAGEMENT_NODES = IMAGES + """
- name: "setup: two new Management Node instances, one for each first boot example"
  amazon.aws.ec2_instance:
    name: "examples-mgr{{ item }}-{{ run_id }}"
    image_id: "{{ setup_mgr_image }}"
    instance_type: m5.xlarge
    vpc_subnet_id: "{{ lab_subnet_b }}"
    key_name: "{{ lab_key_name }}"
    tags:
      pexip-examples: "{{ run_id }}"
    state: running
    wait: true
  loop: [1, 2]
  register: setup_mgrs

- name: "setup: their addresses"
  ansible.builtin.set_fact:
    setup_mgr_ids: "{{ setup_mgrs.results | map(attribute='instances') | map('first') | map(attribute='instance_id') | list }}"
    setup_mgr_ips: "{{ setup_mgrs.results | map(attribute='instances') | map('first') | map(attribute='private_ip_address') | list }}"

# (by instance id: moto gives a terminated instance's address to a new one, and the lab keeps the old one's record)
- name: "setup: until the lab plays them (their host keys)"
  ansible.builtin.uri:
    url: "{{ lab_control_url }}/firstboot"
    ca_path: "{{ lab_ca_path }}"
    use_proxy: false
  register: setup_firstboot
  until: setup_firstboot.json.nodes | selectattr('instance_id', 'in', setup_mgr_ids) | selectattr('ssh_listening') | list | length == 2
  retries: 60
  delay: 1

- name: "setup: mgr_private_ip, the first instance (the lab's APIs answer on LAB_MGMT_PORT, not 443: the address carries it)"
  ansible.builtin.set_fact:
    mgr_private_ip: "{{ setup_mgr_ips[0] }}:{{ lab_mgmt_port }}"
"""

SETUP_SECOND_MANAGEMENT_NODE = """
- name: "setup: mgr_private_ip and mgr_instance_id, the second instance"
  ansible.builtin.set_fact:
    mgr_private_ip: "{{ setup_mgr_ips[1] }}:{{ lab_mgmt_port }}"
    mgr_instance_id: "{{ setup_mgr_ids[1] }}"

- name: "setup: the lab's new instances print their host keys to the console output, as cloud-init images do"
  ansible.builtin.uri:
    url: "{{ lab_control_url }}/firstboot"
    ca_path: "{{ lab_ca_path }}"
    use_proxy: false
    method: POST
    body_format: json
    body: {console_host_keys: true}
"""

SETUP_CONSOLE_HOST_KEYS_OFF = """
- name: "setup: back to the lab's default (no host keys on the console)"
  ansible.builtin.uri:
    url: "{{ lab_control_url }}/firstboot"
    ca_path: "{{ lab_ca_path }}"
    use_proxy: false
    method: POST
    body_format: json
    body: {console_host_keys: false}
"""

SETUP_UPGRADE_PACKAGE = """
- name: "setup: an upgrade package for 35.0.0 (the lab reads the version from the first line: docs/lab.md)"
  ansible.builtin.copy:
    content: "PEXSIM-UPGRADE 35.0.0\\n"
    dest: "{{ secure_dir }}/pexip-upgrade-35.0.0.tar"
    mode: "0600"

- name: "setup: upgrade_package"
  ansible.builtin.set_fact:
    upgrade_package: "{{ secure_dir }}/pexip-upgrade-35.0.0.tar"
"""

SETUP_UPGRADE_RESET = """
- name: "setup: the lab back on its first version (the rest of the examples and the other tests expect it)"
  ansible.builtin.uri:
    url: "{{ lab_control_url }}/upgrade"
    ca_path: "{{ lab_ca_path }}"
    use_proxy: false
    method: POST
    body_format: json
    body: {reset: true}
"""

# ---- the order ---------------------------------------------------------------------------------------------------

# A module name: all its examples; (module, [indexes]): some of them; a string with a newline: the test's own tasks.
# pexip_node's bootstrap_upload example: an instance of its own (the one above is cn-lon-1's).
SETUP_NODE_INSTANCE_3 = SETUP_NODE_INSTANCE.replace("cn-lon-1", "cn-lon-3").replace(
    "setup_instance", "setup_instance_3").replace("pexip_config_upload's example", "pexip_node's bootstrap_upload example")

PLAN = [
    SETUP_LOCATIONS,
    "pexip_location",
    "pexip_location_info",
    ("pexip_system_servers", [0]),
    SETUP_NTP_UNUSED,
    ("pexip_system_servers", [1]),         # purges the NTP servers it does not list: restore() brings them back
    "pexip_ca_certificate",
    ("pexip_tls_certificate", [0]),        # the Management Node's certificate, before pexip_management_node serves it
    "pexip_management_node",
    "pexip_management_node_info",
    SETUP_NO_LICENCE,
    ("pexip_licence", [0, 1]),
    "pexip_licence_info",                  # asserts that ports are licensed: before the deactivation
    ("pexip_licence", [2]),
    "pexip_conference",
    "pexip_autobackup",                    # ends with automatic backups disabled
    "pexip_backup",                        # takes and downloads one (to backup_dir), prunes, deletes it by name
    SETUP_NODE_CERTIFICATE,
    ("pexip_node", [0, 2, 3, 4, 5, 6, 7]),  # ends with cn-lon-2 created and cn-lon-1 removed
    SETUP_NODE_INSTANCE_3,
    ("pexip_node", [1]),                   # cn-lon-3, created and bootstrapped on its instance
    setup_joined("cn-lon-3"),
    SETUP_NODE_INSTANCE,
    SETUP_OVERFLOW_NODES,
    ("pexip_config_upload", [0, 1]),       # cn-lon-1 again, on a real instance
    setup_joined("cn-lon-1"),
    ("pexip_config_upload", [2]),
    "pexip_node_info",
    ("pexip_tls_certificate", [1, 2]),     # both nodes exist now; [2] renews the Management Node's certificate in place
    SETUP_OLD_CERTIFICATE,
    ("pexip_tls_certificate", [3]),
    "pexip_tls_certificate_info",
    "pexip_certificate_signing_request",   # renews the Management Node's certificate again, through a CSR
    "pexip_alarm_info",
    SETUP_UPGRADE_PACKAGE,
    "pexip_upgrade",                       # 34.0.0 -> 35.0.0 and the nodes' rolling upgrade, watched
    SETUP_UPGRADE_RESET,
    SETUP_OVERFLOW_NODES_JOINED,
    "pexip_burst_settings",                # enables bursting, tags the overflow instances, ..., disables bursting
    SETUP_STOP_OVERFLOW_NODES,
    ("pexip_cloud_node", [0]),             # starts cn-burst-lon-1 and waits for it
    "pexip_cloud_node_info",               # starts the other one, still stopped
    ("pexip_cloud_node", [1]),
    "ec2_ena_support",                     # stops cn-lon-1's instance
    # Last: the wizard rewrites the primary Management Node (hostname, so the bursting tag value, DNS, NTP).
    SETUP_MANAGEMENT_NODES,
    ("pexip_management_node_first_boot", [0]),
    SETUP_SECOND_MANAGEMENT_NODE,
    "ec2_console_host_keys",               # reads the second instance's host keys from its console output
    ("pexip_management_node_first_boot", [1]),
    SETUP_CONSOLE_HOST_KEYS_OFF,
]


def module_names():
    return sorted(name[:-3] for name in os.listdir(MODULES_DIR) if name.endswith(".py") and not name.startswith("_"))


def examples(module):
    """The tasks of a module's EXAMPLES, read without importing it (as ansible-doc does)."""
    with open(os.path.join(MODULES_DIR, module + ".py"), encoding="utf-8") as handle:
        tree = ast.parse(handle.read())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(target, ast.Name) and target.id == "EXAMPLES" for target in node.targets):
            return yaml.safe_load(node.value.value) or []
    return []


def plan_steps():
    """PLAN as (module or None, index or None, task)."""
    steps = []
    for entry in PLAN:
        if isinstance(entry, str) and "\n" in entry:
            steps += [(None, None, task) for task in yaml.safe_load(entry)]
            continue
        module, indexes = (entry, None) if isinstance(entry, str) else entry
        tasks = examples(module)
        for index in range(len(tasks)) if indexes is None else indexes:
            steps.append((module, index, tasks[index]))
    return steps


def playbook(steps, play_vars, module_defaults, lab_node_port=8443):
    tasks = []
    for module, index, task in steps:
        task = dict(task)
        if module:
            task["name"] = "%s example %d: %s" % (module, index + 1, task.get("name", ""))
            # The lab's bootstrap pages listen on a port of their own (8443 on AWS); module_defaults cannot reach a
            # suboption.
            for args in task.values():
                if isinstance(args, dict) and isinstance(args.get("bootstrap_upload"), dict):
                    args["bootstrap_upload"] = dict(args["bootstrap_upload"], port=lab_node_port)
        tasks.append(task)
    return [{"name": "The modules' EXAMPLES against the lab", "hosts": "localhost", "connection": "local", "gather_facts": False,
             "vars": play_vars, "module_defaults": module_defaults, "tasks": tasks}]


def test_every_example_is_planned():
    """Each module has examples, and each example task is run once."""
    wanted = {(module, index) for module in module_names() for index in range(len(examples(module)))}
    planned = [(module, index) for module, index, _task in plan_steps() if module]
    assert sorted({module for module, _index in planned}) == module_names(), "a module without examples, or missing from PLAN"
    assert sorted(planned) == sorted(wanted), "example tasks missing from PLAN, or planned twice"
    for module, index, task in plan_steps():
        assert module is None or task.get("name"), "%s example %d has no name" % (module, index + 1)


# ---- the lab, before and after -------------------------------------------------------------------------------------

def key(resource, obj):
    return obj["fulfillment_id"] if resource == "licence" else obj["id"]


def snapshot(api):
    state = {resource: {key(resource, obj): obj for obj in api.get("configuration/v1/%s/" % resource)} for resource in CREATED + ("licence",)}
    state["primary"] = api.primary()
    state["global"] = api.get("configuration/v1/global/1/")
    state["autobackup"] = api.get("configuration/v1/autobackup/1/")
    return state


def restore(api, env, before):
    """Put the lab back as ``before`` found it (see the module docstring); returns what could not be done."""
    problems = []

    def call(method, path, **kwargs):
        response = api.session.request(method, api.base + path, timeout=30, **kwargs)
        if response.status_code >= 400:
            problems.append("%s %s: %s %s" % (method, path, response.status_code, response.text[:300]))
        return response

    def delete_created(resources):
        for resource in resources:
            for obj_id in sorted(set(key(resource, obj) for obj in api.get("configuration/v1/%s/" % resource)) - set(before[resource])):
                call("DELETE", "configuration/v1/%s/%s/" % (resource, obj_id))

    # Certificates go once the PATCH below has taken the primary off the one the run uploaded (the lab refuses to delete
    # a certificate in use); DNS and NTP servers before it, since it replaces the primary's lists.
    delete_created(CREATED[:-3])
    # DNS and NTP servers that a purge deleted come back (under new ids), so that the primary can refer to them again.
    uris = {}
    for resource in ("dns_server", "ntp_server"):
        path = "configuration/v1/%s/" % resource
        missing = {obj["address"]: obj for obj in before[resource].values()}
        for obj in api.get(path):
            missing.pop(obj["address"], None)
        for obj in missing.values():
            call("POST", path, json={"address": obj["address"], "description": obj["description"]})
        now = {obj["address"]: obj["resource_uri"] for obj in api.get(path)}
        uris.update((obj["resource_uri"], now.get(obj["address"], obj["resource_uri"])) for obj in before[resource].values())
    primary = before["primary"]
    settings = writable(primary)
    for name in ("dns_servers", "ntp_servers"):
        settings[name] = [uris.get(uri, uri) for uri in settings[name]]
    call("PATCH", "configuration/v1/management_vm/%d/" % primary["id"], json=settings)
    call("PATCH", "configuration/v1/global/1/", json={name: before["global"][name] for name in BURSTING})
    call("PATCH", "configuration/v1/autobackup/1/", json=dict((k, v) for k, v in before["autobackup"].items() if k.startswith("autobackup_")))
    delete_created(CREATED[-3:])
    if set(before["licence"]) - set(key("licence", obj) for obj in api.get("configuration/v1/licence/")):
        call("POST", "configuration/v1/licence/", json={"entitlement_id": env["PEXIP_LICENCE_ENTITLEMENT"], "offline_mode": False})
    return problems


def terminate_instances(env):
    import labenv  # pylint: disable=import-outside-toplevel

    ec2 = labenv.ec2_client(env)
    ids = [i["InstanceId"] for r in ec2.describe_instances(Filters=[{"Name": "tag:pexip-examples", "Values": [RUN]}])["Reservations"]
           for i in r["Instances"]]
    if ids:
        ec2.terminate_instances(InstanceIds=ids)


def make_certificates(cert_dir, passphrase):
    """What the examples upload besides the lab's own certificates, signed by the lab's operator CA."""
    ca = labcerts.load_or_make_ca(cert_dir)
    labcerts.ensure(cert_dir, ["cn-lon-1.example.com"])
    # Its subject is not cn-lon-1's own certificate's, which pexip_node's example looks up by subject name.
    labcerts.issue(ca, "cn-lon-2.example.com", ["cn-lon-1.example.com"], passphrase=passphrase).write(cert_dir, "conferencing")
    labcerts.issue(ca, "old.example.com").write(cert_dir, "old")
    labcerts.issue(ca, "mgr-lab.lab.example.com", days=900).write(cert_dir, "mgr-lab-renewed")


def secret(label):
    return "%s-%s" % (label, uuid.uuid4().hex[:12])


def play_vars(env, tmp):
    """What the examples' variables would be on a real platform: a vault's secrets and earlier tasks' results."""
    with open(env["LAB_KEY_FILE"], encoding="utf-8") as handle:
        key_pair = handle.read()
    with open(os.path.join(env["LAB_CERT_DIR"], "mgr-lab.lab.example.com.key"), encoding="utf-8") as handle:
        mgr_key = handle.read()
    return {
        "ansible_python_interpreter": "{{ ansible_playbook_python }}",
        "run_id": RUN,
        "lab_dir": env["LAB_DIR"],
        "lab_subnet_a": env["LAB_SUBNET_A"],
        "lab_subnet_b": env["LAB_SUBNET_B"],
        "lab_key_name": env["LAB_KEY_NAME"],
        "lab_mgmt_port": env["LAB_MGMT_PORT"],
        "lab_control_url": env["LAB_CONTROL_URL"],
        "lab_ca_path": env["PEXIP_CA_PATH"],
        "secure_dir": str(tmp / "secure"),
        "vault_node_ssh_password": secret("ssh"),
        "vault_pexip_port_entitlement": env["PEXIP_LICENCE_ENTITLEMENT"],
        "vault_mgr_private_key": mgr_key,
        "vault_conferencing_key_passphrase": PASSPHRASE,
        "vault_snmp_auth": secret("auth"),
        "vault_snmp_priv": secret("priv"),
        "bursting_access_key_id": "AKIAEXAMPLESBURST001",
        "vault_bursting_secret_access_key": secret("burst"),
        "vault_new_secret_access_key": secret("burst"),
        "vault_web_admin_password": secret("web"),
        "vault_mgr_os_password": secret("os"),
        "vault_pexip_key": key_pair,
        "mgr_key_file": env["LAB_KEY_FILE"],
        "mgr_ca_file": env["PEXIP_CA_PATH"],
        "backup_dir": str(tmp / "backups"),
        "vault_backup_passphrase": secret("backup"),
        "vault_new_backup_passphrase": secret("backup"),
        "vault_ftp_password": secret("ftp"),
    }


@pytest.fixture(scope="module")
def run(lab_env, tmp_path_factory):
    """The one ansible-playbook run of all the examples; the lab is put back afterwards."""
    env = dict(lab_env)
    tmp = tmp_path_factory.mktemp("examples")
    api = Api(env)
    for name in EXAMPLE_NODES:
        node = api.node(name)
        if node:
            api.delete("configuration/v1/worker_vm/%d/" % node["id"])
    # The CSR example names the Management Node's certificate by its subject: other files of this worker (site.yml's
    # new Management Node shares the worker's platform model) may have left more with that subject, which the module
    # rightly refuses as ambiguous. Those no node or Management Node uses go first.
    in_use = {w.get("tls_certificate") for w in api.get("configuration/v1/worker_vm/") + api.get("configuration/v1/management_vm/")}
    for certificate in api.get("configuration/v1/tls_certificate/"):
        if certificate.get("subject_name") == MANAGER_SUBJECT and certificate["resource_uri"] not in in_use:
            api.delete("configuration/v1/tls_certificate/%d/" % certificate["id"])
    # pexip_system_servers' purge deletes the DNS/NTP servers it does not list, and with them their references
    # (locations, the primary Management Node): restore() brings them back.
    before = snapshot(api)
    make_certificates(env["LAB_CERT_DIR"], PASSPHRASE)
    (tmp / "secure").mkdir(mode=0o700)
    (tmp / "backups").mkdir(mode=0o700)
    # The nodes' self-signed certificates as the lab collects them, including those of the nodes the examples start.
    os.symlink(os.path.join(env["LAB_DIR"], "tls", "node-ca.pem"), str(tmp / "secure" / "pexip-node-ca.pem"))
    module_defaults = {
        # The lab's bootstrap pages and SSH listen on ports of their own (8443 and 22 on AWS); the first boot must not
        # touch ~/.ssh/known_hosts.
        "pexip.infinity.pexip_config_upload": {"port": int(env["LAB_NODE_PORT"])},
        # The lab's VPC is on loopback: its instances' addresses are node addresses there.
        "pexip.infinity.pexip_node": {"allow_loopback_addresses": True},
        "pexip.infinity.pexip_management_node_first_boot": {
            "ssh_port": int(env["LAB_SSH_PORT"]), "known_hosts_file": str(tmp / "known_hosts")},
    }
    steps = plan_steps()
    path = tmp / "examples.yml"
    path.write_text(yaml.safe_dump(playbook(steps, play_vars(env, tmp), module_defaults, int(env["LAB_NODE_PORT"])), sort_keys=False,
                                   width=1000))
    try:
        proc, recap = run_playbook(env, None, playbook=str(path), timeout=900, tmp=str(tmp))
        yield dict(proc=proc, recap=recap, steps=steps)
    finally:
        terminate_instances(env)
        problems = restore(api, env, before)
        assert not problems, problems


def test_examples_run(run):
    proc, recap = run["proc"], run["recap"]
    assert proc.returncode == 0 and recap.get("localhost", {}).get("failed") == 0, output(proc)
    # Every example task ran (a task skipped by its own `when` still shows its header).
    for module, index, _task in run["steps"]:
        if module:
            assert "TASK [%s example %d: " % (module, index + 1) in proc.stdout, "%s example %d did not run" % (module, index + 1)
