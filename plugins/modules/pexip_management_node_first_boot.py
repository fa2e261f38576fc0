#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: pexip_management_node_first_boot
short_description: Set the admin password and run the installation wizard of a new Pexip Infinity Management Node
version_added: 0.2.0
author: pexip.infinity contributors (@pexip)
description:
  - Does over SSH what the AWS deployment guide has you type after launching a Management Node instance
    ("Deploying a Management Node in AWS", steps 12 to 14) - log in as C(admin) with the instance's key pair, answer
    C(Enter new UNIX password) twice (the node then drops the session), log in again, answer
    C([sudo] password for admin), and answer the installation wizard - IP address, network mask and gateway
    (defaults accepted unless given), hostname, domain suffix, DNS servers, NTP servers, web administration
    username and password, incident reporting, usage statistics. The node then reboots.
  - Then, with O(wait), waits until the Management Node API accepts the web administration credentials.
  - Idempotent. When the API at O(host) already accepts O(username) and O(password), nothing is done and SSH is
    not used. A node whose password was set by an earlier, interrupted run continues at the sudo prompt; a wizard that
    failed (for example because NTP could not be reached) starts over on the next run.
  - Uses paramiko, not C(expect). Every prompt is recognised by its text and waited for at most O(prompt_timeout)
    seconds. A prompt the module does not know, a refused answer or a wizard error fails the task with the prompt
    or the node's message and what to fix.
  - The passwords are never written to the output, even at C(-vvv) (they are C(no_log), the node does not echo them,
    and messages mask them).
  - Answers are checked before anything is connected to, and a bad one is refused naming the option and its value (never a
    secret's) - a control character (a newline would answer the next prompt), an O(ip_address) or O(gateway) that is not
    an IPv4 address, an O(netmask) that is not a network mask, a gateway outside the network of O(ip_address) and
    O(netmask) or on its network or broadcast address, a O(hostname) or O(domain) label that is not 1 to 63 letters,
    digits and hyphens, a DNS server that is not an IPv4 address, an NTP server that is neither an IPv4 address nor a
    host name.
  - Each wizard prompt is answered once. A prompt asked again (the node refused an answer, or the wizard goes round in
    circles) fails the task, and so does a first boot that is not done within 2 x O(connect_timeout) plus
    O(prompt_timeout) for every prompt it knows.
extends_documentation_fragment:
  - pexip.infinity.api
  - pexip.infinity.attributes
  - pexip.infinity.wait
attributes:
  check_mode:
    description: In check mode only the API is asked; SSH is not used. C(changed) says whether the first boot would run.
  diff_mode:
    description: No diff is returned.
    support: none
  platform:
    description: Talks to the new Management Node over SSH and to its REST API; runs on the controller.
options:
  host:
    description:
      - Address of the Management Node's API once installed, as C(name), C(name:port) or C(https://name[:port])
        (normally the instance's private IP address). It is only asked, never configured, by this module.
      - If not set, the E(PEXIP_HOST) environment variable is used.
    type: str
    required: true
  username:
    description:
      - The web administration username to give the wizard, and to check against the API.
      - If not set, the E(PEXIP_USERNAME) environment variable is used.
    type: str
    default: admin
  password:
    description:
      - The web administration password to give the wizard, and to check against the API.
      - If not set, the E(PEXIP_PASSWORD) environment variable is used.
    type: str
    required: true
  address:
    description:
      - Address to SSH to; defaults to the host part of O(host).
    type: str
  ssh_port:
    description: SSH port of the node.
    type: int
    default: 22
  ssh_username:
    description: The OS account to log in with (the guide - C(admin)).
    type: str
    default: admin
  private_key_file:
    description:
      - Private key file of the key pair the instance was launched with.
      - One of O(private_key_file) and O(private_key) is needed unless the API already accepts the credentials.
    type: path
  private_key:
    description: The same private key, as text (for example from a vault).
    type: str
  private_key_passphrase:
    description: Passphrase of the private key, if it has one.
    type: str
  os_password:
    description:
      - The UNIX password of the node's C(admin) account - set at the first login, then given at the sudo prompt.
      - At least 8 characters. Keep it in a vault.
    type: str
    required: true
  host_key_policy:
    description:
      - How the node's SSH host key is trusted. A new instance's key is not known in advance.
      - V(accept_new) (like OpenSSH's C(StrictHostKeyChecking=accept-new)) trusts the key on first use, appends one
        line for it to O(known_hosts_file) (the rest of the file is never rewritten), and refuses a different key
        later (a replaced instance at the same address - remove the old line with
        C(ssh-keygen -R '[address]:port' -f known_hosts_file)).
      - V(strict) only connects when O(known_hosts_file) already holds the key.
      - O(host_key_fingerprint), when given, pins the key whatever the policy.
    type: str
    choices: [accept_new, strict]
    default: accept_new
  host_key_fingerprint:
    description:
      - The SHA256 fingerprint of the node's host key (C(SHA256:...)), as the instance prints it in its system log
        (EC2 console - Get system log, or C(aws ec2 get-console-output); M(pexip.infinity.ec2_console_host_keys) reads
        it). Several fingerprints, separated by commas, accept a key matching any of them (an instance has a key of
        each type). The connection is refused when the key does not match; O(known_hosts_file) is then neither read
        nor written.
    type: str
  known_hosts_file:
    description:
      - The known_hosts file read (and, with V(accept_new), appended to; created 0600, its directory 0700). Comments,
        hashed host names and C(@cert-authority) lines are kept as they are; a key marked C(@revoked) is refused. A
        line that cannot be read fails the task with its line number.
    type: path
    default: ~/.ssh/known_hosts
  ip_address:
    description: IPv4 address to give the wizard; by default the wizard's own (the instance's private address) is accepted.
    type: str
  netmask:
    description: Network mask for the wizard; by default the wizard's is accepted.
    type: str
  gateway:
    description: Gateway for the wizard; by default the wizard's is accepted.
    type: str
  hostname:
    description: Host name of the Management Node (without the domain).
    type: str
    required: true
  domain:
    description: Domain suffix of the Management Node.
    type: str
    required: true
  dns_servers:
    description:
      - DNS servers (IPv4 addresses) for the wizard. Without them the wizard's defaults are accepted, which are only
        reachable with a public IP address - override them in a private deployment.
    type: list
    elements: str
  ntp_servers:
    description:
      - NTP servers for the wizard. The wizard fails when they cannot be resolved and reached. Without them the
        wizard's defaults are accepted (reachable only with a public IP address).
    type: list
    elements: str
  incident_reporting:
    description:
      - Answer to "Enable incident reporting". When V(true), O(contact_email_address) is required.
    type: bool
    default: false
  contact_email_address:
    description:
      - The contact e-mail address the wizard asks for when incident reporting is enabled (Pexip's Terraform provider
        lists it as C(contact_email_address) among the wizard's answers). Required with O(incident_reporting); not
        asked otherwise.
    type: str
  usage_statistics:
    description: Answer to "Send deployment and usage statistics to Pexip".
    type: bool
    default: false
  connect_timeout:
    description:
      - Seconds to keep trying to reach SSH (a new instance takes a while before it answers). Each attempt is bounded
        too (TCP 10 s, banner 30 s, authentication 30 s).
    type: int
    default: 300
  prompt_timeout:
    description:
      - Seconds to wait for each prompt, and for each SSH channel operation (opening the session, the terminal and the
        shell, sending an answer, reading). An operation that does not complete in time fails the task with its name.
    type: int
    default: 60
  trust_on_first_use:
    description:
      - A new Management Node serves a self-signed certificate until its real one is uploaded, which no O(ca_path)
        verifies. With this set, when the certificate at O(host) does not verify, the one it presents is trusted on
        first use - its SHA-256 fingerprint is pinned for the rest of the module run and returned as RV(tls_fingerprint),
        for the next tasks to pin (O(fingerprint)) until the real certificate is uploaded.
      - Only for a O(host) that is a private IP address (RFC 1918, loopback, IPv6 ULA) or a name that resolves to private
        addresses only, that is over the VPC or a VPN; any other O(host) is refused before anything is done. Otherwise
        pin the certificate with O(fingerprint).
    type: bool
    default: false
  wait:
    description: After the wizard, wait until the API accepts O(username) and O(password) (the node reboots first).
    default: true
  wait_timeout:
    description: Seconds to wait for the API with O(wait).
    default: 900
requirements:
  - paramiko
notes:
  - Runs on the controller, which must reach the instance's SSH port (the security group's SSH rule from the
    management station) and the API.
seealso:
  - module: pexip.infinity.pexip_location
"""

EXAMPLES = r"""
- name: SSH into the Management Node, set the administrator password and complete the installation wizard
  pexip.infinity.pexip_management_node_first_boot:
    host: "{{ mgr_private_ip }}"
    username: admin
    password: "{{ vault_web_admin_password }}"
    ca_path: "{{ mgr_ca_file }}"  # the CA of the certificate uploaded next; until then the self-signed one:
    trust_on_first_use: true  # pinned over the private address, returned as tls_fingerprint
    private_key_file: "{{ mgr_key_file }}"  # the private key of the instance's key pair
    os_password: "{{ vault_mgr_os_password }}"
    hostname: mgr01
    domain: example.com
    dns_servers: [10.0.0.2]
    ntp_servers: [169.254.169.123]

- name: The same, pinning the host key printed in the instance's system log
  pexip.infinity.pexip_management_node_first_boot:
    host: "{{ mgr_private_ip }}"
    password: "{{ vault_web_admin_password }}"
    ca_path: "{{ mgr_ca_file }}"
    trust_on_first_use: true
    private_key: "{{ vault_pexip_key }}"
    os_password: "{{ vault_mgr_os_password }}"
    host_key_fingerprint: "{{ mgr_host_key_fingerprint }}"  # SHA256:...
    hostname: mgr01
    domain: example.com
    ntp_servers: [169.254.169.123, 0.pool.ntp.org, 1.pool.ntp.org]
"""

RETURN = r"""
steps:
  description:
    - What this run did - V(unix_password) (the first login), V(installation_wizard) and V(api_ready) (waited until
      the API accepted the credentials). Empty when the API already accepted them.
  returned: always
  type: list
  elements: str
  sample: [unix_password, installation_wizard, api_ready]
host_key_fingerprint:
  description: SHA256 fingerprint of the node's SSH host key, when SSH was used.
  returned: when SSH was used
  type: str
  sample: SHA256:Ew1ZtbUoKzo3rrSjHqx2m9XuYkyIeJbV5Mw9zyXbb5M
tls_trust:
  description:
    - How the API's certificate was trusted - V(verified) (O(ca_path) or the system's CAs), V(pinned) (O(fingerprint)),
      V(trust_on_first_use) (O(trust_on_first_use)) or V(not_verified) (O(validate_certs=false)).
  returned: always
  type: str
  sample: trust_on_first_use
tls_fingerprint:
  description: SHA-256 fingerprint (hexadecimal) of the certificate pinned, given or trusted on first use.
  returned: when a certificate was pinned
  type: str
  sample: 9f2c4a0d1e5b7c3a8f6e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a6f5e4d3c2b1a
api_ready:
  description: Whether the API accepts the web administration credentials at the end of the run.
  returned: always
  type: bool
  sample: true
"""

import socket
import ssl
from urllib.parse import urlsplit

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.pexip.infinity.plugins.module_utils.api import PexipApiError, PexipResponseError, PexipTLSError, resource_path
from ansible_collections.pexip.infinity.plugins.module_utils.bootstrap import certificate_fingerprint, is_private_address, normalize_fingerprint
from ansible_collections.pexip.infinity.plugins.module_utils.first_boot import (
    FirstBootError,
    answer_errors,
    deadline_seconds,
    mask,
    run_first_boot,
    wizard_answers,
)
from ansible_collections.pexip.infinity.plugins.module_utils.module import PexipModule
from ansible_collections.pexip.infinity.plugins.module_utils.ssh import HAS_PARAMIKO, PARAMIKO_IMPORT_ERROR, SshLogin, ssh_address
from ansible_collections.pexip.infinity.plugins.module_utils.waiter import Waiter, wait_argument_spec, wait_errors


def private_host(host):
    """Whether ``host`` is a private address, or a name that resolves to private addresses only."""
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except (OSError, UnicodeError):
        return False
    return bool(addresses) and all(is_private_address(address.split("%")[0]) for address in addresses)


def served_fingerprint(base, timeout):
    """SHA-256 of the certificate the server at ``base`` presents, not verified (trust on first use)."""
    parts = urlsplit(base)
    pem = ssl.get_server_certificate((parts.hostname, parts.port or 443), timeout=timeout)
    return certificate_fingerprint(ssl.PEM_cert_to_DER_cert(pem))


def trust_on_first_use(module, client, exc):
    """With trust_on_first_use, a certificate that does not verify on a private address is pinned for the rest of the
    run (and returned); anything else fails the module, saying what to set."""
    p = module.params
    if not p["trust_on_first_use"] or p["fingerprint"]:
        module.fail("%s A new Management Node serves a self-signed certificate until its real one is uploaded: pin it "
                    "(fingerprint) or, over its private address, trust it on first use (trust_on_first_use: true)." % exc.msg)
    try:
        p["fingerprint"] = served_fingerprint(client.base, min(p["timeout"], 10))
    except (OSError, ValueError) as error:
        module.fail("could not read the certificate %s presents, to trust it on first use: %s" % (client.base, error))
    module.tls_trust = "trust_on_first_use"


def api_state(module):
    """'accepted' (the API's JSON list), 'refused' (401: installed with other credentials), 'foreign' (a 2xx that is not
    the API's JSON: something else answers at host) or 'down'. A TLS failure fails the module, unless it is trusted on
    first use (then the certificate is pinned and asked again)."""
    client = module.new_client(timeout=min(module.params["timeout"], 10), retries=0)
    try:
        body = client.json(client.request("GET", resource_path("system_location"), params={"limit": 1}))
    except PexipTLSError as exc:
        trust_on_first_use(module, client, exc)
        return api_state(module)
    except PexipResponseError as exc:
        module.foreign = exc.msg
        return "foreign"
    except PexipApiError as exc:
        return "refused" if exc.status == 401 else "down"
    if not isinstance(body.get("objects"), list):
        module.foreign = "%s answered without the API's list of objects (keys: %s)" % (module.params["host"], ", ".join(sorted(body)) or "none")
        return "foreign"
    return "accepted"


def wait_for_api(module):
    p = module.params
    ready, state, dummy = Waiter(p["wait_timeout"], p["poll_interval"]).wait(lambda: api_state(module), lambda state: state == "accepted")
    if ready:
        return
    if state == "refused":
        module.fail("the Management Node API at %s answers but refuses user '%s' after %s seconds: the wizard was given "
                    "other credentials? Log in to the Administrator interface to check." % (p["host"], p["username"], p["wait_timeout"]))
    if state == "foreign":
        module.fail("the Management Node API at %s did not answer within %s seconds after the installation wizard; something else "
                    "answers there: %s. Check host (the instance's private address)." % (p["host"], p["wait_timeout"], module.foreign))
    module.fail("the Management Node API at %s did not answer within %s seconds after the installation wizard. The node may "
                "still be rebooting (raise wait_timeout), or the controller cannot reach HTTPS on it (security group)."
                % (p["host"], p["wait_timeout"]))


def main():
    argument_spec = dict(
        address=dict(type="str"),
        ssh_port=dict(type="int", default=22),
        ssh_username=dict(type="str", default="admin"),
        private_key_file=dict(type="path", no_log=False),
        private_key=dict(type="str", no_log=True),
        private_key_passphrase=dict(type="str", no_log=True),
        os_password=dict(type="str", required=True, no_log=True),
        host_key_policy=dict(type="str", default="accept_new", choices=["accept_new", "strict"], no_log=False),
        host_key_fingerprint=dict(type="str", no_log=False),
        known_hosts_file=dict(type="path", default="~/.ssh/known_hosts", no_log=False),
        ip_address=dict(type="str"),
        netmask=dict(type="str"),
        gateway=dict(type="str"),
        hostname=dict(type="str", required=True),
        domain=dict(type="str", required=True),
        dns_servers=dict(type="list", elements="str"),
        ntp_servers=dict(type="list", elements="str"),
        incident_reporting=dict(type="bool", default=False),
        contact_email_address=dict(type="str"),
        usage_statistics=dict(type="bool", default=False),
        connect_timeout=dict(type="int", default=300),
        prompt_timeout=dict(type="int", default=60),
        trust_on_first_use=dict(type="bool", default=False),
    )
    argument_spec.update(wait_argument_spec(wait=True, wait_timeout=900, poll_interval=10))
    module = PexipModule(argument_spec=argument_spec, mutually_exclusive=[("private_key_file", "private_key")])
    module.label = "pexip_management_node_first_boot %s" % ssh_address(module.params)
    if not HAS_PARAMIKO:
        module.fail_json(msg=missing_required_lib("paramiko"), exception=PARAMIKO_IMPORT_ERROR)
    module.run(first_boot)


def first_boot(module):
    p = module.params
    errors = wait_errors(p)
    if len(p["os_password"]) < 8:
        errors.append("os_password must have at least 8 characters (the node's password rules)")
    errors.extend(answer_errors(p))
    if p["trust_on_first_use"] and not private_host(urlsplit(module.client.base).hostname):
        errors.append("trust_on_first_use trusts only a private address (the VPC), and host %s is not one (or does not resolve "
                      "to private addresses only): pin the certificate (fingerprint) or give its CA (ca_path)" % p["host"])
    if errors:
        module.fail("; ".join(errors) + ".")
    module.tls_trust = "pinned" if p["fingerprint"] else "verified" if p["validate_certs"] else "not_verified"

    state = api_state(module)
    if state == "accepted":
        return dict(changed=False, steps=[], api_ready=True, **tls_result(module))
    if state == "refused":
        module.fail("the Management Node at %s is installed already but refuses user '%s': its web administration credentials "
                    "were set to something else. Give those (username/password); the wizard cannot be run again." % (p["host"], p["username"]))
    if module.check_mode:
        return dict(changed=True, steps=[], api_ready=False, msg="would set the UNIX password and run the installation wizard over SSH",
                    **tls_result(module))

    login = SshLogin(module)
    try:
        steps = run_first_boot(login, p["os_password"], wizard_answers(p), login.secrets,
                               timeout=deadline_seconds(p["connect_timeout"], p["prompt_timeout"]))
    except FirstBootError as exc:
        login.close()
        module.fail(mask(exc.msg, login.secrets), prompt=mask(exc.prompt or "", login.secrets), host_key_fingerprint=login.fingerprint)
    login.close()
    # Only waiting for a node installed earlier (it showed a shell) changes nothing.
    changed = bool(steps)
    if p["wait"]:
        wait_for_api(module)
        steps.append("api_ready")
    return dict(changed=changed, steps=steps, host_key_fingerprint=login.fingerprint, api_ready=p["wait"], **tls_result(module))


def tls_result(module):
    """How the API's certificate was trusted, and the pinned fingerprint (for the rest of the run) if one was."""
    result = dict(tls_trust=module.tls_trust)
    if module.params["fingerprint"]:
        result.update(tls_fingerprint=normalize_fingerprint(module.params["fingerprint"]))
    return result


if __name__ == "__main__":
    main()
