# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Management Node's first boot over SSH (AWS guide, "Deploying a Management Node in AWS", steps 12-14).

Transport-free: ``run_first_boot`` drives sessions that a caller opens (paramiko channels in the module, fakes in
the unit tests). Every prompt is recognised by its text, waited for with a timeout, and answered once; anything
else fails with the prompt and what to fix. Every channel call runs under ``call``, so none can block for ever.
Secrets never appear in a message (``mask``).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import re
import socket
import threading
import time

from ansible_collections.pexip.infinity.plugins.module_utils.nodes import is_ipv4, netmask_prefix
from ansible_collections.pexip.infinity.plugins.module_utils.servers import valid_address, valid_ip
from ansible_collections.pexip.infinity.plugins.module_utils.secrets import MASK

# (key, pattern on the last output line, stripped). Order matters: "Retype new UNIX password" before "new password".
PROMPTS = (
    ("retype_password", r"^retype new (unix )?password:$"),
    ("new_password", r"^(enter )?new (unix )?password:$"),
    ("sudo", r"^\[sudo\] password for \S+:$"),
    ("ip_address", r"^ip address( \[[^\]]*\])?:$"),
    ("netmask", r"^network mask( \[[^\]]*\])?:$"),
    ("gateway", r"^(default )?gateway( \[[^\]]*\])?:$"),
    ("hostname", r"^hostname( \[[^\]]*\])?:$"),
    ("domain", r"^domain suffix( \[[^\]]*\])?:$"),
    ("dns_servers", r"^dns servers?( \[[^\]]*\])?:$"),
    ("ntp_servers", r"^ntp servers?( \[[^\]]*\])?:$"),
    ("web_username", r"^web administration username( \[[^\]]*\])?:$"),
    ("web_password_again", r"^(re-?enter|confirm|retype)( the)? web administration password:$"),
    ("web_password", r"^web administration password:$"),
    ("incident_reporting", r"^enable incident reporting.*:$"),
    # Asked only after "yes" to incident reporting (Pexip's provider: contact_email_address); the text is UNCONFIRMED.
    ("contact_email_address", r"^(contact )?e-?mail address.*:$"),
    ("usage_statistics", r"^send deployment and usage statistics.*:$"),
    ("shell", r"^\S+@\S+:.*[$#]$"),
)
WIZARD = ("ip_address", "netmask", "gateway", "hostname", "domain", "dns_servers", "ntp_servers", "web_username",
          "web_password", "web_password_again", "incident_reporting", "contact_email_address", "usage_statistics")
LABELS = {
    "new_password": "new UNIX password", "retype_password": "retyped UNIX password",
    "ip_address": "IP address", "netmask": "network mask", "gateway": "gateway", "hostname": "hostname",
    "domain": "domain suffix", "dns_servers": "DNS servers", "ntp_servers": "NTP servers",
    "web_username": "web administration username", "web_password": "web administration password",
    "web_password_again": "web administration password (again)", "incident_reporting": "incident reporting",
    "contact_email_address": "contact e-mail address", "usage_statistics": "usage statistics",
}
SECRET_KEYS = ("new_password", "retype_password", "sudo", "web_password", "web_password_again")
# A line that waits for input although no known prompt matched it.
LOOKS_LIKE_PROMPT = re.compile(r"[:?\]>)]$")
# Seconds a read waits for output before the prompt loop looks at its timeouts again.
READ_POLL = 0.2


class FirstBootError(Exception):
    """The first boot cannot go on; ``msg`` says what happened and what to fix."""

    def __init__(self, msg, prompt=None):
        super(FirstBootError, self).__init__(msg)
        self.msg = msg
        self.prompt = prompt


SLOW_NODE = "raise prompt_timeout if the node is only slow"


def call(operation, seconds, func, *args, hint=SLOW_NODE):
    """``func(*args)``, waited for at most ``seconds``: paramiko waits without a timeout for some replies (get_pty,
    invoke_shell), so every channel call runs in a worker thread. A call that does not return raises a FirstBootError
    naming ``operation`` and the timeout (the caller closes the connection, which ends the worker)."""
    outcome = {}

    def run():
        try:
            outcome["value"] = func(*args)
        except BaseException as exc:  # pylint: disable=broad-except
            outcome["error"] = exc

    worker = threading.Thread(target=run, name="first-boot %s" % operation)
    worker.daemon = True
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        raise FirstBootError(stalled(operation, seconds, hint))
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")


def stalled(operation, seconds, hint=SLOW_NODE):
    return ("%s did not complete within %s seconds: the SSH connection to the Management Node stalled. Check that the "
            "instance runs and is not overloaded (EC2 > Instance > Monitor and troubleshoot > Get system log) and run again, "
            "or %s." % (operation, seconds, hint))


# Everything the module types at a prompt; a control character (a newline would answer the next prompt) is refused.
ANSWER_PARAMETERS = ("os_password", "ip_address", "netmask", "gateway", "hostname", "domain", "dns_servers", "ntp_servers",
                     "username", "password", "contact_email_address")
SECRET_PARAMETERS = ("os_password", "password")
CONTROL = re.compile(r"[\x00-\x1f\x7f]")
LABEL = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")
EMAIL = re.compile(r"^[^@\s]+@[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)+$")


def answer_errors(params):
    """What is wrong with the answers, before anything is connected to (secret values are never shown)."""
    errors = []
    for name in ANSWER_PARAMETERS:
        value = params.get(name)
        values = value if isinstance(value, list) else [value]
        for index, item in enumerate(values):
            found = CONTROL.search(item) if isinstance(item, str) else None
            if not found:
                continue
            where = "%s[%d]" % (name, index) if isinstance(value, list) else name
            shown_value = "" if name in SECRET_PARAMETERS else " (%s)" % ascii(item)
            errors.append("%s%s contains the control character U+%04X at position %d: an answer is typed at a prompt, and a "
                          "newline, carriage return or other control character would end it early or answer the next prompt; "
                          "remove it" % (where, shown_value, ord(found.group()), found.start() + 1))
    if not errors:  # a value with a control character is named once
        errors.extend(network_errors(params))
    email = params.get("contact_email_address")
    if email and not CONTROL.search(email) and not EMAIL.match(email):
        errors.append("contact_email_address '%s' is not an e-mail address (name@example.com)" % email)
    if params.get("incident_reporting") and not email:
        errors.append("incident_reporting is enabled, and the installation wizard then asks for the contact e-mail address "
                      "that incident reports are sent with: give contact_email_address")
    return errors


def domain_problem(name):
    """Why ``name`` is not a DNS name whose labels the wizard takes (None when it is one)."""
    labels = (name[:-1] if name.endswith(".") else name).split(".")
    if len(name) > 253:
        return "is %d characters long; a DNS name has at most 253" % len(name)
    for label in labels:
        if len(label) > 63:
            return "has the label '%s' of %d characters; a label has at most 63" % (label, len(label))
        if not LABEL.match(label):
            return ("has the label '%s': a label is letters, digits and hyphens, neither starting nor ending with a hyphen" % label
                    if label else "has an empty label (two dots, or a leading dot)")
    return None


def network_errors(params):
    """The wizard's network answers: checked here, before the first SSH write, not refused by the node half-way."""
    errors = []
    ip, netmask, gateway = params.get("ip_address"), params.get("netmask"), params.get("gateway")
    for name, value in (("ip_address", ip), ("gateway", gateway)):
        if value and not is_ipv4(value):
            errors.append("%s '%s' is not an IPv4 address (for example 10.0.0.10)" % (name, value))
    if netmask and netmask_prefix(netmask) is None:
        errors.append("netmask '%s' is not a valid IPv4 network mask (contiguous ones, for example 255.255.255.0)" % netmask)
    if not errors and ip and netmask:
        network = ipaddress.IPv4Interface("%s/%s" % (ip, netmask)).network
        special = {network.network_address: "network", network.broadcast_address: "broadcast"} if network.prefixlen <= 30 else {}
        for name, value in (("ip_address", ip), ("gateway", gateway)):
            if value and ipaddress.IPv4Address(value) in special:
                errors.append("%s %s is the %s address of %s, not a host address" % (name, value, special[ipaddress.IPv4Address(value)], network))
        if gateway and ipaddress.IPv4Address(gateway) not in network:
            errors.append("gateway %s is not inside the network %s of ip_address %s and netmask %s" % (gateway, network, ip, netmask))
        elif gateway == ip:
            errors.append("gateway %s is ip_address itself" % gateway)
    hostname = params.get("hostname")
    if hostname is not None and not LABEL.match(hostname):
        errors.append("hostname '%s' is not a host name: at most 63 letters, digits and hyphens, not starting or ending with a "
                      "hyphen, no dots (the domain goes into domain)" % hostname)
    domain = params.get("domain")
    problem = domain_problem(domain) if domain is not None else None
    if problem:
        errors.append("domain '%s' %s" % (domain, problem))
    for index, server in enumerate(params.get("dns_servers") or []):
        if not is_ipv4(server):
            errors.append("dns_servers[%d] '%s' is not an IPv4 address (the wizard takes DNS servers by address)" % (index, server))
    for index, server in enumerate(params.get("ntp_servers") or []):
        if not is_ipv4(server) and (valid_ip(server) or not valid_address(server) or domain_problem(server)):
            errors.append("ntp_servers[%d] '%s' is neither an IPv4 address nor a host name" % (index, server))
    return errors


def mask(text, secrets):
    for secret in secrets:
        if secret:
            text = text.replace(secret, MASK)
    return text


def last_line(text):
    return text.replace("\r", "").split("\n")[-1].strip()


def classify(line):
    """Key of the known prompt ``line`` is, or None."""
    for key, pattern in PROMPTS:
        if re.match(pattern, line, re.I):
            return key
    return None


def tail(text, lines=6):
    """The last few non-empty output lines, for messages."""
    kept = [line.strip() for line in text.replace("\r", "").split("\n") if line.strip()]
    return " | ".join(kept[-lines:])


class Session(object):
    """Prompts on one interactive channel (anything with recv, sendall, settimeout, closed, exit_status_ready)."""

    def __init__(self, channel, prompt_timeout, secrets=(), quiet=1.0, clock=time.monotonic):
        self.channel = channel
        self.prompt_timeout = prompt_timeout
        self.secrets = [s for s in secrets if s]
        self.quiet = quiet
        self.clock = clock
        self.output = ""        # everything read (the node never echoes a password)
        self.pending = ""       # read since the last prompt was returned
        self.last_answered = None
        self.deadline = None    # clock value by which the whole first boot must be done (run_first_boot sets it)
        channel.settimeout(READ_POLL)

    def _recv(self):
        """Some output, "" for nothing yet, None once the node closed the session."""
        try:
            data = call("reading from the SSH session", self.prompt_timeout, self.channel.recv, 4096)
        except socket.timeout:
            return ""
        except (OSError, EOFError):
            return None
        if not data:
            return None
        return data.decode("utf-8", "replace")

    def expect(self):
        """Wait for the next prompt: (key, prompt line, output before it). key "closed" when the session ends."""
        started = self.clock()
        quiet_since = self.clock()
        while True:
            line = last_line(self.pending)
            key = classify(line) if line else None
            if key:
                before = self.pending[:self.pending.rfind(line)] if line in self.pending else self.pending
                self.pending = ""
                return key, line, before
            self.check_deadline(line)
            data = self._recv()
            if data is None:
                before, self.pending = self.pending, ""
                return "closed", None, before
            if data:
                self.output += data
                self.pending += data
                quiet_since = self.clock()
                if quiet_since - started >= self.prompt_timeout and not classify(last_line(self.pending)):
                    self.no_prompt(line)  # output that never ends in a prompt
                continue
            now = self.clock()
            if line and LOOKS_LIKE_PROMPT.search(line) and now - quiet_since >= self.quiet:
                raise FirstBootError(
                    "the Management Node asked %s, which this module does not know (output before it: %s). Answer it in "
                    "an SSH session of your own (ssh admin@<address>) and run again, or report the prompt so that it "
                    "can be supported." % (self.quote(line), self.quote(tail(before_prompt(self.pending)))), prompt=line)
            if now - started >= self.prompt_timeout:
                self.no_prompt(line)

    def no_prompt(self, line):
        after = ("after the answer to the %s prompt" % LABELS.get(self.last_answered, self.last_answered)
                 if self.last_answered else "after logging in")
        raise FirstBootError(
            "no prompt came from the Management Node within %s seconds %s (last output: %s). The node may "
            "still be starting or be overloaded: raise prompt_timeout, or look at the instance's console "
            "(EC2 > Instance > Monitor and troubleshoot > Get system log)." % (
                self.prompt_timeout, after, self.quote(tail(self.output) or "nothing")), prompt=line or None)

    def check_deadline(self, line):
        if self.deadline is not None and self.clock() >= self.deadline:
            raise FirstBootError(
                "the first boot did not finish within %s seconds (the last answer was to the %s prompt; last output: %s): the node "
                "keeps talking or asking without coming to an end. Look at the instance's console (EC2 > Instance > Monitor and "
                "troubleshoot > Get system log); raise prompt_timeout if the node is only slow." % (
                    self.budget, LABELS.get(self.last_answered, self.last_answered or "no"), self.quote(tail(self.output) or "nothing")),
                prompt=line or None)

    def answer(self, key, text):
        self.last_answered = key
        operation = "sending the answer to the %s prompt" % LABELS.get(key, key)
        # The short read timeout would also cut a send that waits for the SSH window.
        self.channel.settimeout(self.prompt_timeout)
        try:
            call(operation, self.prompt_timeout, self.channel.sendall, (text + "\n").encode("utf-8"))
        except socket.timeout:
            raise FirstBootError(stalled(operation, self.prompt_timeout))
        except (OSError, EOFError) as exc:
            raise FirstBootError("the Management Node closed the SSH session before the answer to the %s prompt was sent (%s); "
                                 "run again." % (LABELS.get(key, key), exc))
        finally:
            self.channel.settimeout(READ_POLL)

    def quote(self, text):
        return "'%s'" % mask(text, self.secrets)


def before_prompt(text):
    lines = text.replace("\r", "").split("\n")
    return "\n".join(lines[:-1])


def wizard_answers(params):
    """The wizard's answers by prompt key; "" accepts the default the wizard shows."""
    def listed(values):
        return " ".join(values) if values else ""

    return {
        "ip_address": params.get("ip_address") or "",
        "netmask": params.get("netmask") or "",
        "gateway": params.get("gateway") or "",
        "hostname": params["hostname"],
        "domain": params["domain"],
        "dns_servers": listed(params.get("dns_servers")),
        "ntp_servers": listed(params.get("ntp_servers")),
        "web_username": params["username"],
        "web_password": params["password"],
        "web_password_again": params["password"],
        "incident_reporting": "yes" if params.get("incident_reporting") else "no",
        "contact_email_address": params.get("contact_email_address") or "",
        "usage_statistics": "yes" if params.get("usage_statistics") else "no",
    }


def shown(key, value):
    return MASK if key in SECRET_KEYS else "'%s'" % value


def deadline_seconds(connect_timeout, prompt_timeout):
    """The whole first boot: two logins and every prompt once."""
    return 2 * connect_timeout + (len(PROMPTS) + 2) * prompt_timeout


def run_first_boot(open_session, os_password, answers, secrets, timeout=None):
    """Drive the node from wherever it is to a finished wizard. Returns the steps done.

    ``open_session()`` logs in (key authentication) and returns a ``Session``; it is called again after the node
    drops the first session. ``timeout``: seconds for the whole first boot (a node that keeps asking or printing is
    given up on then).
    """
    steps = []
    deadline = []

    def login():
        session = open_session()
        if timeout is not None:
            deadline[:] = deadline or [session.clock() + timeout]
            session.deadline, session.budget = deadline[0], timeout
        return session

    session = login()
    key, line, before = session.expect()
    if key == "new_password":
        session.answer(key, os_password)
        key, line, before = session.expect()
        if key != "retype_password":
            raise FirstBootError("after the new UNIX password the node did not ask to retype it (it showed %s)." % session.quote(
                line or tail(before)), prompt=line)
        session.answer(key, os_password)
        key, line, before = session.expect()
        if key != "closed" or not re.search(r"updated successfully", before, re.I):
            raise FirstBootError(
                "the node did not accept the new UNIX password (%s). Choose an os_password the node's password rules "
                "accept (at least 8 characters, not based on a dictionary word) and run again." % session.quote(tail(before)), prompt=line)
        steps.append("unix_password")
        # "This will then log you out and terminate your SSH session." Log in again.
        session = login()
        key, line, before = session.expect()
    if key == "new_password":
        raise FirstBootError("the node asks for a new UNIX password again after it was set; log in by hand to see why.", prompt=line)
    if key == "shell":
        # Installed already (the wizard ran before): nothing to answer; the caller waits for the API.
        return steps
    if key != "sudo":
        raise FirstBootError("expected the '[sudo] password for admin:' prompt after logging in, but the node %s." % (
            "closed the session (%s)" % session.quote(tail(before)) if key == "closed" else "showed %s" % session.quote(line)), prompt=line)
    session.answer(key, os_password)
    key, line, before = session.expect()
    if key == "sudo":
        raise FirstBootError(
            "the node refused the UNIX password at the sudo prompt (%s): os_password is not the password that was set at the "
            "first login. Give that password (or, if it is lost, replace the instance) and run again." % session.quote(tail(before)), prompt=line)

    answered = []
    while key != "closed":
        if key not in WIZARD:
            raise FirstBootError("the installation wizard showed %s, which is not one of its known prompts; answer it by hand "
                                 "(ssh admin@<address>) and run again." % session.quote(line), prompt=line)
        # Each prompt is answered once (the web password's re-type is a prompt of its own): asked again, the wizard
        # refused an answer, or it cycles and would be answered for ever.
        if key in answered:
            previous = answered[-1]
            if key == previous or (key == "web_password" and previous == "web_password_again"):
                raise FirstBootError(
                    "the installation wizard refused the %s %s: %s. Correct the option and run again." % (
                        LABELS[previous], shown(previous, answers[previous]), session.quote(tail(before, 2))), prompt=line)
            raise FirstBootError(
                "the installation wizard asked for the %s again, after the %s (answered so far: %s; last output: %s): it refused "
                "an earlier answer or goes round in circles, and is not answered twice. Check the answers (%s was %s), answer the "
                "wizard by hand (ssh admin@<address>) to see why, and run again." % (
                    LABELS[key], LABELS[previous], ", ".join(LABELS[k] for k in answered), session.quote(tail(before, 2)),
                    LABELS[key], shown(key, answers[key])), prompt=line)
        session.answer(key, answers[key])
        answered.append(key)
        key, line, before = session.expect()
    if re.search(r"\b(error|failed|fail)\b", before, re.I):
        hint = ""
        if re.search(r"ntp", before, re.I):
            hint = (" The guide: the installation wizard fails if the NTP server address cannot be resolved and reached. Give "
                    "ntp_servers that the instance can reach (in a private VPC, for example the Amazon Time Sync Service "
                    "169.254.169.123; the default pool needs a public IP address) and run again: the wizard starts over.")
        raise FirstBootError("the installation wizard failed: %s.%s" % (session.quote(tail(before, 3)), hint))
    if answered[-1:] != ["usage_statistics"] or not re.search(r"reboot", before, re.I):
        raise FirstBootError("the node closed the session during the installation wizard (after the %s prompt; last output %s). "
                             "Run again: the wizard starts over." % (
                                 LABELS.get(answered[-1], "sudo") if answered else "sudo", session.quote(tail(before))))
    steps.append("installation_wizard")
    return steps
