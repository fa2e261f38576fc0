#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: pexip_node
short_description: Manage Pexip Infinity Conferencing Nodes (configuration-only deployment)
version_added: 0.1.0
author: pexip.infinity contributors (@pexip)
description:
  - Creates, updates and deletes Conferencing Nodes (C(configuration/v1/worker_vm)) on a Pexip Infinity Management Node.
  - A node is created as a I(Generic (configuration-only)) deployment; the Management Node answers with the node's
    XML bootstrap document. O(bootstrap_upload) sends it straight to the new instance's bootstrap page, so that it
    never leaves the module; otherwise it is written to O(config_dest) or, only when asked with
    O(return_content=true), returned as RV(bootstrap_config), to be uploaded with M(pexip.infinity.pexip_config_upload).
  - The bootstrap document can only be obtained when the node is created. The fields baked into it (O(address),
    O(netmask), O(gateway), O(hostname), O(domain)) are therefore never patched on an existing node; changing them
    needs O(recreate=true), which deletes the node and creates it again (its instance must then be bootstrapped again).
  - Puts nodes into maintenance mode and optionally waits until their calls have drained (O(wait)).
  - Deleting a node (O(state=absent)) only removes it from the Management Node; it does not touch its EC2 instance.
attributes:
  check_mode:
    description: Makes no change and does not wait for calls to drain; reads are still made.
  diff_mode:
    description: Shows the fields that would change; the SSH password is masked.
options:
  name:
    description:
      - Name of the Conferencing Node (at most 32 characters, unique). Identifies the node.
    type: str
    required: true
  state:
    description:
      - V(present) creates or updates the node; V(absent) deletes it from the Management Node.
    type: str
    choices: [present, absent]
    default: present
  hostname:
    description:
      - Host name of the node, without the domain (at most 63 characters). Required to create a node.
      - Part of the bootstrap document; see O(recreate).
    type: str
  domain:
    description:
      - DNS domain of the node (at most 192 characters). Required to create a node.
      - Part of the bootstrap document; see O(recreate).
    type: str
  address:
    description:
      - IPv4 address of the node (on AWS, the instance's private address). Required to create a node.
      - Part of the bootstrap document; see O(recreate).
    type: str
  netmask:
    description:
      - IPv4 netmask of the node's subnet, as V(255.255.255.0) or as a prefix length (V(24)). Required to create a node.
      - Part of the bootstrap document; see O(recreate).
    type: str
  gateway:
    description:
      - IPv4 default gateway; must be inside O(address)/O(netmask). Required to create a node.
      - Part of the bootstrap document; see O(recreate).
    type: str
  role:
    description:
      - V(transcoding) (API C(node_type=CONFERENCING)) or V(proxying) (a Proxying Edge Node, C(node_type=PROXYING)).
      - New nodes default to V(transcoding).
      - A system location must not mix proxying and transcoding nodes; the module refuses such a change and names
        the nodes already there.
      - Changing the role of an existing node restarts it and drops its calls, so it is refused while the node carries
        calls unless O(force=true) (a warning is shown when it is done).
    type: str
    choices: [transcoding, proxying]
  system_location:
    description:
      - Name of the system location of the node. Required to create a node.
      - Changing it restarts the node and drops its calls, so it is refused while the node carries calls unless
        O(force=true) (a warning is shown when it is done).
    type: str
  static_nat_address:
    description:
      - Public IPv4 address the node is reachable at through static NAT (for example an Elastic IP).
      - V('') clears it.
    type: str
  enable_distributed_database:
    description:
      - Whether the node takes part in the distributed database (the API default is V(true); use V(false) for
        nodes that are often stopped, such as bursting nodes).
    type: bool
  enable_ssh:
    description:
      - SSH access to the node. V(global) follows the platform setting, V(on) or V(off) overrides it.
    type: str
    choices: ["global", "on", "off"]
  ssh_password:
    description:
      - Password of the node's C(admin) operating system account. Required to create a node.
      - A plain-text password is hashed (SHA-512 crypt, C($6$)) before it is sent; a value that already is such a
        hash is sent as it is.
      - The Management Node never returns it, so it cannot be compared; see O(update_password).
    type: str
  update_password:
    description:
      - V(on_create) sends O(ssh_password) only when the node is created.
      - V(always) also sends it on every run for an existing node, which then always reports a change.
    type: str
    choices: [on_create, always]
    default: on_create
  maintenance_mode:
    description:
      - Whether the node is in maintenance mode (accepts no new conferences).
    type: bool
  maintenance_mode_reason:
    description:
      - Why the node is in maintenance mode (at most 250 characters).
    type: str
  description:
    description:
      - Free-text description of the node (at most 250 characters).
    type: str
  tls_certificate:
    description:
      - TLS certificate of the node, by its subject name (the C(subject_name) the Management Node shows for a
        C(configuration/v1/tls_certificate), normally the certificate's common name such as V(cn-lon-1.example.com));
        upload it first with M(pexip.infinity.pexip_tls_certificate).
      - An unknown subject name fails and lists the subject names that exist. When several certificates have the
        subject name (for example a renewed certificate next to the old one), the module fails and asks for the
        resource URI of the one to use; it does not choose between them. M(pexip.infinity.pexip_management_node)
        resolves its O(pexip.infinity.pexip_management_node#module:tls_certificate) the same way.
      - For compatibility, the resource URI of the certificate (for example
        V(/api/admin/configuration/v1/tls_certificate/3/)) is also accepted; it must exist.
      - V('') removes the assignment.
    type: str
  recreate:
    description:
      - Allow a change of O(address), O(netmask), O(gateway), O(hostname) or O(domain) by deleting the node and
        creating it again, which gives a new bootstrap document. The node's instance must then be bootstrapped again
        (a configured instance refuses a new document, so replace the instance).
      - Without it, such a change fails and explains why.
      - A node that still carries calls is not recreated unless O(force=true).
    type: bool
    default: false
  force:
    description:
      - Delete (O(state=absent)), recreate, or change the O(role) or O(system_location) of a node (which restarts it)
        even though it still carries calls, which are dropped.
      - Without it, such a change of a node that carries calls fails, names the calls and nothing is written
        (also in check mode).
    type: bool
    default: false
  config_dest:
    description:
      - File to write the bootstrap document to when the node is created (mode 0600, written atomically).
      - When not set, the document is returned as RV(bootstrap_config) only with O(return_content=true); otherwise it
        is lost (a warning says so) and the node cannot be bootstrapped.
      - Nothing is written when the node already exists; the document cannot be fetched again
        (a warning says so when the file is missing).
    type: path
  bootstrap_upload:
    description:
      - Upload the bootstrap document of a node this run creates (or recreates) to its instance's bootstrap page,
        C(POST https://<address>:<port>/configuration/bootstrap), as M(pexip.infinity.pexip_config_upload) does. The
        document is then neither written to a file nor returned, and so never leaves the module.
      - A freshly launched instance refuses connections while it boots; the upload is retried with backoff for
        O(bootstrap_upload.wait_timeout) seconds.
      - When the upload fails, or the instance says it already holds a configuration (it was bootstrapped for another
        node), the module fails and the node stays created without a bootstrapped instance; delete it
        (O(state=absent)) and create it again for a new document (role C(pexip.infinity.conferencing_node) does so).
        When the answer to the upload was lost after the document went out, the instance may have taken it and be
        rebooting; the failure says so (RV(bootstrap_upload.maybe_sent)), and the node should be waited for until it
        syncs before it is deleted.
      - Nothing is uploaded when the node exists already, nor in check mode.
      - Mutually exclusive with O(config_dest) and O(return_content).
    type: dict
    suboptions:
      address:
        description:
          - Address of the instance's bootstrap page (its private IPv4 address over a VPN, or its public address).
        type: str
        required: true
      port:
        description:
          - Port of the bootstrap page.
        type: int
        default: 8443
      validate_certs:
        description:
          - Verify the instance's TLS certificate. A new instance serves a self-signed certificate; pin it with
            O(bootstrap_upload.fingerprint), give its CA with O(bootstrap_upload.ca_path), or set V(false) to trust
            whoever answers at O(bootstrap_upload.address).
          - V(false) is refused unless O(bootstrap_upload.address) is a private (RFC 1918) or loopback address, or
            O(bootstrap_upload.fingerprint) is set, because the document holds the credentials the node joins the
            platform with. Over a private address it trusts the network (the VPC and the VPN to it).
        type: bool
        default: true
      ca_path:
        description:
          - PEM file of the CA (or certificate) to trust for the instance's certificate.
          - The certificate's chain is checked, not its host name (the page is reached by address).
        type: path
      fingerprint:
        description:
          - SHA-256 fingerprint of the instance's certificate, as hexadecimal digits with or without colons.
          - When set, the instance is trusted by this fingerprint alone (neither a CA nor the host name is checked;
            O(bootstrap_upload.validate_certs) and O(bootstrap_upload.ca_path) are not used); a different certificate
            fails before the document is sent.
        type: str
        version_added: 0.2.0
      wait_timeout:
        description:
          - Seconds to keep trying while the instance cannot be reached (it boots).
        type: int
        default: 300
  return_content:
    description:
      - Return the bootstrap document of a node created by this run as RV(bootstrap_config) when O(config_dest) is
        not set. It holds the node's secrets, so by default it never appears in the task result; prefer O(config_dest).
      - The document is never part of a failure result, nor returned when O(config_dest) is set.
      - Up to version 0.1.0 the document was always returned when O(config_dest) was not set.
    type: bool
    default: false
  wait:
    description:
      - With O(maintenance_mode=true), wait until no live participant (as media, signalling or proxy node) and no
        conference shard is on the node's address any more.
      - Progress is logged and returned as RV(drain_log). On timeout the module fails with the number of calls still
        live and leaves maintenance mode on.
      - Not done in check mode.
    aliases: [wait_for_idle]
  wait_timeout:
    description:
      - Seconds to wait for the node to drain (O(wait)).
    aliases: [idle_timeout]
extends_documentation_fragment:
  - pexip.infinity.api
  - pexip.infinity.attributes
  - pexip.infinity.wait
notes:
  - The bootstrap document contains the node's secrets (among them the hashed SSH password and the credentials the
    node uses to join the Management Node). Prefer O(bootstrap_upload), which keeps it inside the module, or
    O(config_dest) and protect the file; with O(return_content=true), avoid printing or storing the registered result.
  - If the create request fails in flight but the node was created anyway, the document in its answer is lost; the
    module then deletes that node and creates it again so that a document is always obtained.
seealso:
  - module: pexip.infinity.pexip_node_info
  - module: pexip.infinity.pexip_config_upload
"""

EXAMPLES = r"""
- name: Create a transcoding node and keep its bootstrap document
  pexip.infinity.pexip_node:
    name: cn-lon-1
    hostname: cn-lon-1
    domain: example.com
    address: 10.0.1.10
    netmask: 255.255.255.0
    gateway: 10.0.1.1
    role: transcoding
    system_location: London
    static_nat_address: 203.0.113.10
    enable_distributed_database: true
    ssh_password: "{{ vault_node_ssh_password }}"
    config_dest: "{{ secure_dir }}/pexip-cn-lon-1.xml"

- name: Create a node and bootstrap its new instance with the document (which never leaves the module)
  pexip.infinity.pexip_node:
    name: cn-lon-3
    hostname: cn-lon-3
    domain: example.com
    address: "{{ instance.private_ip_address }}"
    netmask: 255.255.255.0
    gateway: "{{ instance.private_ip_address | regex_replace('[.][0-9]+$', '.1') }}"  # the subnet's router (AWS: first address)
    system_location: London
    ssh_password: "{{ vault_node_ssh_password }}"
    bootstrap_upload:
      address: "{{ instance.private_ip_address }}"
      ca_path: "{{ secure_dir }}/pexip-node-ca.pem"

- name: Drain a node before stopping its instance
  pexip.infinity.pexip_node:
    name: cn-lon-1
    maintenance_mode: true
    maintenance_mode_reason: instance stop
    wait: true
    wait_timeout: 1800

- name: Give a node a new address (new bootstrap document; the instance must be bootstrapped again)
  pexip.infinity.pexip_node:
    name: cn-lon-1
    hostname: cn-lon-1
    domain: example.com
    address: 10.0.1.20
    netmask: 255.255.255.0
    gateway: 10.0.1.1
    system_location: London
    ssh_password: "{{ vault_node_ssh_password }}"
    recreate: true
    config_dest: "{{ secure_dir }}/pexip-cn-lon-1.xml"

- name: Serve the node's own certificate (uploaded with pexip.infinity.pexip_tls_certificate), by subject name
  pexip.infinity.pexip_node:
    name: cn-lon-1
    tls_certificate: cn-lon-1.example.com

- name: Move a node to another location once it has drained (refused while it carries calls, unless force is set)
  pexip.infinity.pexip_node:
    name: cn-lon-1
    system_location: London-2

- name: Create a node and return its bootstrap document instead of writing it (it holds secrets; prefer config_dest)
  pexip.infinity.pexip_node:
    name: cn-lon-2
    hostname: cn-lon-2
    domain: example.com
    address: 10.0.1.11
    netmask: 255.255.255.0
    gateway: 10.0.1.1
    system_location: London
    ssh_password: "{{ vault_node_ssh_password }}"
    return_content: true
  register: cn_lon_2

- name: Remove a node from the Management Node (its EC2 instance is not touched)
  pexip.infinity.pexip_node:
    name: cn-lon-1
    state: absent
"""

RETURN = r"""
node:
  description:
    - The node's configuration (C(worker_vm)) after the change; the password is masked.
    - In check mode, the configuration it would have. Empty after O(state=absent).
  returned: always
  type: dict
  sample:
    id: 3
    name: cn-lon-1
    hostname: cn-lon-1
    domain: example.com
    address: 10.0.1.10
    netmask: 255.255.255.0
    gateway: 10.0.1.1
    node_type: CONFERENCING
    role: transcoding
    system_location: /api/admin/configuration/v1/system_location/1/
    maintenance_mode: false
    resource_uri: /api/admin/configuration/v1/worker_vm/3/
bootstrap_config:
  description:
    - The XML bootstrap document of a node created by this run, when O(config_dest) is not set.
    - It contains the node's secrets; do not print or store it.
  returned: only when a node was created (or recreated) by this run, O(config_dest) is not set and O(return_content=true); never
    in check mode or in a failure result
  type: str
bootstrap_upload:
  description: The bootstrap page's answer to the upload (O(bootstrap_upload)).
  returned: when a node was created (or recreated) and O(bootstrap_upload) is set; not in check mode
  type: dict
  contains:
    url:
      description: Where the document was sent.
      type: str
      sample: https://10.0.1.12:8443/configuration/bootstrap
    status:
      description: HTTP status of the page's answer.
      type: int
      sample: 200
    message:
      description: What the page answered.
      type: str
      sample: Configuration accepted; the node will now reboot.
    attempts:
      description: Requests needed (connection attempts while the instance booted included).
      type: int
      sample: 1
    maybe_sent:
      description: In a failure, true when the answer to the upload was lost after the document went out.
      type: bool
      returned: on a lost answer
config_dest:
  description: The file the bootstrap document was written to.
  returned: when a node was created (or recreated) and O(config_dest) is set
  type: str
  sample: /secure/pexip-cn-lon-1.xml
created:
  description: Whether the node was created (or would be, in check mode).
  returned: always
  type: bool
recreated:
  description: Whether an existing node was deleted and created again (O(recreate)).
  returned: always
  type: bool
calls:
  description:
    - Live calls on the node when it was last counted (before a delete, a recreate or a change of role or location, or
      while draining).
  returned: when calls were counted
  type: dict
  contains:
    participants:
      description: Participants whose media, signalling or proxy node is this node.
      type: int
    conference_shards:
      description: Conference shards hosted on this node.
      type: int
    total:
      description: Sum of both.
      type: int
drain_log:
  description: Progress lines written while waiting for the node to drain.
  returned: when O(wait) waited
  type: list
  elements: str
  sample: ["0s: node 10.0.1.10 carries 2 live call(s): 1 participant(s) and 1 conference shard(s)"]
"""

import os

from ansible_collections.pexip.infinity.plugins.module_utils import nodes
from ansible_collections.pexip.infinity.plugins.module_utils.bootstrap import Uploader, page_client, page_errors
from ansible_collections.pexip.infinity.plugins.module_utils.catalog import NODE, ROLES, location_nodes
from ansible_collections.pexip.infinity.plugins.module_utils.module import PexipModule
from ansible_collections.pexip.infinity.plugins.module_utils.resource import Engine
from ansible_collections.pexip.infinity.plugins.module_utils.sha512_crypt import is_sha512_crypt, sha512_crypt
from ansible_collections.pexip.infinity.plugins.module_utils.waiter import Waiter, wait_argument_spec, wait_errors

ARGUMENT_SPEC = NODE.argument_spec(
    netmask=dict(type="str"),
    update_password=dict(type="str", choices=["on_create", "always"], default="on_create", no_log=False),
    recreate=dict(type="bool", default=False),
    force=dict(type="bool", default=False),
    config_dest=dict(type="path"),
    return_content=dict(type="bool", default=False),
    bootstrap_upload=dict(type="dict", options=dict(
        address=dict(type="str", required=True),
        port=dict(type="int", default=8443),
        validate_certs=dict(type="bool", default=True),
        ca_path=dict(type="path"),
        fingerprint=dict(type="str"),
        wait_timeout=dict(type="int", default=300),
    )),
)
ARGUMENT_SPEC.update(wait_argument_spec(wait=False, wait_timeout=600, poll_interval=10,
                                        wait_aliases=["wait_for_idle"], wait_timeout_aliases=["idle_timeout"]))


class NodeModule(object):
    def __init__(self):
        self.module = PexipModule(argument_spec=ARGUMENT_SPEC, mutually_exclusive=[("bootstrap_upload", "config_dest"),
                                                                                   ("bootstrap_upload", "return_content")])
        self.params = self.module.params
        self.module.label = "pexip_node '%s'" % self.params["name"]
        self.engine = Engine(self.module, NODE)
        self.result = dict(changed=False, created=False, recreated=False, node={})
        self.diff = dict(before={}, after={})

    @property
    def client(self):
        return self.module.client

    def fail(self, msg, **kwargs):
        result = dict(self.result, **kwargs)
        result.pop("bootstrap_config", None)  # a secret: never part of a failure
        self.module.fail(msg, **result)

    # -- input ------------------------------------------------------------------------------
    def validate(self):
        p = self.params
        if p["netmask"] is not None:
            p["netmask"] = nodes.normalize_netmask(p["netmask"])
        errors = nodes.validate_node(p) + wait_errors(p)
        upload = p["bootstrap_upload"]
        if upload:
            page = page_errors(upload["address"], upload["port"], upload["validate_certs"], upload["ca_path"], fingerprint=upload["fingerprint"])
            errors += ["bootstrap_upload: " + e for e in page + wait_errors(dict(wait_timeout=upload["wait_timeout"]))]
        if p["wait"] and p["maintenance_mode"] is not True:
            errors.append("wait/wait_for_idle needs maintenance_mode: true (a node that is not in maintenance mode keeps taking new calls)")
        if errors:
            self.fail("invalid options: %s." % "; ".join(errors))

    def password_hash(self):
        password = self.params["ssh_password"]
        if is_sha512_crypt(password):
            return password
        hashed = sha512_crypt(password)
        self.module.no_log_values.add(hashed)  # derived from a secret: as secret as it
        return hashed

    def check_location_roles(self, location_uri, node_type):
        """A system location must not mix proxying and transcoding nodes."""
        others = location_nodes(self.client, {"resource_uri": location_uri})
        conflicts = nodes.role_conflicts(others, node_type, own_name=self.params["name"])
        if conflicts:
            location_name = self.client.name_for(location_uri)
            other_role = NODE.field("node_type").shown("PROXYING" if node_type == "CONFERENCING" else "CONFERENCING")
            self.fail("system location '%s' already holds %s node(s) %s; a location must not mix proxying and transcoding nodes: "
                      "use another location for this %s node." % (location_name, other_role, ", ".join(conflicts),
                                                                  NODE.field("node_type").shown(node_type)))

    def check_address_free(self):
        """The Management Node refuses a second node with an address, without naming it: name it and its node first."""
        address = self.params["address"]
        taken = sorted(n.get("name") for n in self.client.list(NODE.endpoint, address=address) if n.get("name") != self.params["name"])
        if taken:
            self.fail("address %s is already the address of node %s (the Management Node would refuse it: \"Worker vm with this "
                      "Address already exists\"). Give this node a free address, or delete that node first." % (address, ", ".join(taken)))

    def guard_calls(self, current, action):
        """Refuse to drop calls unless force (``action``: "delete the node", ...); returns the counts."""
        if self.params["force"] or not current.get("address"):
            return None
        counts = nodes.count_calls(self.client, current["address"])
        self.result["calls"] = counts
        if counts["total"]:
            self.fail("refusing to %s: it still carries %s. Drain it first (maintenance_mode: true, wait_for_idle: true) "
                      "or set force: true to drop the calls." % (action, nodes.calls_text(counts)))
        return counts

    # -- output -----------------------------------------------------------------------------
    def show(self, obj):
        obj = self.engine.public(obj)
        if obj.get("node_type"):
            obj["role"] = NODE.field("node_type").shown(obj["node_type"])
        return obj

    # -- actions ----------------------------------------------------------------------------
    def create(self, wanted):
        name = self.params["name"]
        extra = dict(deployment_type="MANUAL-PROVISION-ONLY")
        if "node_type" not in wanted:
            extra["node_type"] = ROLES["transcoding"]
        for dummy in range(3):
            outcome = self.engine.ensure(None, wanted, name, create_extra=extra, write_only=dict(password=self.password_hash()))
            if self.module.check_mode or outcome.response is not None:
                break
            # The POST failed in flight (timeout, reset, 5xx) but the lookup shows the node was created anyway.
            # Its answer was the bootstrap document, which the Management Node cannot hand out again: delete the
            # node just created and create it once more, so that the user always gets a document.
            self.module.warn("the create request of node '%s' failed in flight but the node was created; its bootstrap "
                             "document was lost, so the node was deleted and created again" % name)
            self.engine.remove(outcome.obj)
        else:
            self.fail("the node was created but its bootstrap document was lost several times in flight; "
                      "the node was deleted again. Check the connection to the Management Node and re-run.")
        self.diff = dict(before=self.diff["before"], after=outcome.diff["after"])
        self.result.update(changed=True, created=True, node=self.show(outcome.obj))
        if self.module.check_mode:
            return
        document = nodes.bootstrap_document(outcome.response)
        if not document:
            self.fail("the node was created but the Management Node answered without a bootstrap document (HTTP %s). "
                      "Delete the node (state: absent) and create it again." % outcome.response.status_code)
        dest = self.params["config_dest"]
        if self.params["bootstrap_upload"]:
            self.upload(document)
        elif dest:
            try:
                self.result["config_dest"] = nodes.write_private(dest, document)
            except (IOError, OSError) as exc:
                # The document must not end up in a failure result: without it the node is useless, so remove it.
                self.engine.remove(outcome.obj)
                self.result.update(created=False, node={})
                self.fail("the node was created but its bootstrap document could not be written to %s (%s); the node was deleted "
                          "again. Correct config_dest and run again." % (dest, exc))
        elif self.params["return_content"]:
            self.result["bootstrap_config"] = document
        else:
            self.module.warn("node '%s' was created but its bootstrap document was neither written (config_dest) nor returned "
                             "(return_content: true), and it cannot be fetched again: delete the node (state: absent) and create "
                             "it again with config_dest to bootstrap its instance" % name)

    def upload(self, document):
        """Send the new node's document to its instance (the node stays created when this fails: see the docs)."""
        b = self.params["bootstrap_upload"]
        client = page_client(self.module, b["address"], b["port"], b["validate_certs"], b["ca_path"], b["wait_timeout"], fingerprint=b["fingerprint"])

        def fail(msg, **result):
            if result.get("maybe_sent"):  # the advice is in msg: wait for the node, do not delete it yet
                self.fail("the node was created, and the upload of its bootstrap document to its instance may have got "
                          "through: %s" % msg, bootstrap_upload=result)
            self.fail("the node was created, but its bootstrap document could not be uploaded to its instance: %s. Delete "
                      "the node (state: absent) and create it again for a new document." % msg.rstrip("."), bootstrap_upload=result)

        answer = Uploader(client, fail, b["port"], b["wait_timeout"]).upload(document.encode("utf-8"))
        if not answer.pop("changed"):
            fail("instance %s says it is already configured (%s): it was bootstrapped for a node that no longer exists. "
                 "Terminate that instance first" % (b["address"], answer["message"]), **answer)
        self.result["bootstrap_upload"] = answer

    def present(self):
        p = self.params
        current = self.engine.lookup(p["name"])
        wanted = self.engine.wanted(p)
        location = NODE.field("system_location")
        if current is None:
            missing = nodes.missing_on_create(p)
            if missing:
                self.fail("the node does not exist yet; to create it, also give %s." % ", ".join(missing))
            self.check_location_roles(self.engine.uri_of(location, p["system_location"]), wanted.get("node_type", ROLES["transcoding"]))
            self.check_address_free()
            self.create(wanted)
            return self.drain(self.result["node"])

        keys = self.engine.changes(current, wanted)
        replace = [k for k in keys if k in nodes.REPLACE_FIELDS]
        restart = [k for k in keys if NODE.field(k).restarts]
        if restart or replace:
            node_type = wanted.get("node_type") or current.get("node_type") or ROLES["transcoding"]
            uri = self.engine.uri_of(location, wanted["system_location"]) if wanted.get("system_location") else current.get("system_location")
            self.check_location_roles(uri, node_type)
        if replace:
            return self.recreate(current, wanted, replace)
        if restart:
            what = " and ".join(NODE.field(k).label for k in restart)
            # the same check as a delete: a restart drops the calls as surely
            self.guard_calls(current, "change %s of the node, which restarts it" % what)
            self.module.warn("changing %s of node '%s' restarts the node and drops the calls it carries" % (what, p["name"]))
        write_only = dict(password=self.password_hash()) if p["update_password"] == "always" and p["ssh_password"] else None
        outcome = self.engine.ensure(current, wanted, write_only=write_only)
        self.result.update(changed=outcome.changed, node=self.show(outcome.obj))
        self.diff = outcome.diff
        if p["config_dest"] and not os.path.exists(p["config_dest"]):
            self.module.warn("node '%s' exists already: its bootstrap document is only produced when a node is created, "
                             "so nothing was written to %s" % (p["name"], p["config_dest"]))
        return self.drain(outcome.obj)

    def recreate(self, current, wanted, fields):
        p = self.params
        changes = ", ".join("%s %s -> %s" % (f, current.get(f), wanted[f]) for f in fields)
        if not p["recreate"]:
            self.fail("changing %s of an existing node needs a new bootstrap document (%s); set recreate: true to delete and "
                      "recreate the node (its instance must then be re-bootstrapped)." % (" and ".join(fields), changes))
        missing = nodes.missing_on_create(p)
        if missing:
            self.fail("recreating the node (%s) needs every option of a new node; also give %s." % (changes, ", ".join(missing)))
        if "address" in fields:
            self.check_address_free()
        self.guard_calls(current, "recreate the node")
        self.module.warn("node '%s' is deleted and created again (%s): bootstrap its instance again with the new document"
                         % (p["name"], changes))
        self.diff = self.engine.remove(current).diff
        self.result["recreated"] = True
        self.create(wanted)
        return self.drain(self.result["node"])

    def drain(self, node):
        p = self.params
        if not (p["wait"] and p["maintenance_mode"]) or self.module.check_mode:
            return
        address = node.get("address") or p["address"]
        waiter = Waiter(p["wait_timeout"], p["poll_interval"])
        idle, counts, lines = nodes.wait_until_idle(self.client, address, waiter, log=self.module.log)
        self.result.update(calls=counts, drain_log=lines)
        if not idle:
            self.fail("node is still carrying %s after %d seconds; it stays in maintenance mode. Wait longer (wait_timeout) "
                      "or end the calls." % (nodes.calls_text(counts), p["wait_timeout"]))

    def absent(self):
        current = self.engine.lookup(self.params["name"])
        if current is None:
            return
        self.guard_calls(current, "delete the node")
        outcome = self.engine.remove(current, shown=self.show(current))
        self.diff = outcome.diff
        self.result.update(changed=outcome.changed)

    def handle(self, dummy_module):
        if self.params["state"] == "absent":
            self.absent()
        else:
            self.present()
        return dict(self.result, diff=self.diff)


def main():
    node = NodeModule()
    node.validate()
    node.module.run(node.handle)


if __name__ == "__main__":
    main()
