# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Lab-only moto server with harness patches for moto 5.2 gaps.

Run: python tests/lab/moto_lab.py --listen 127.0.0.1:5555 [--amis-file F]

Every patch of moto lives here (never in roles); each one makes moto answer
like AWS does for a call the collection's roles make.
"""

from __future__ import annotations

import argparse
import functools
import ipaddress
import json
import os
import random
import re
import signal
import sys
import tempfile

PEXIP_OWNER = "686087431763"
# Fixed ids so that runs are reproducible; versions 34 (current) and 33 (older).
PEXIP_IMAGES = [
    ("ami-0e1a34c0788000001", "Pexip Infinity Conferencing Node 34 build 78800", "2024-06-03T10:00:00.000Z"),
    ("ami-0e1a34f0788000002", "Pexip Infinity Management Node 34 build 78800", "2024-06-03T10:00:00.000Z"),
    ("ami-0e1a33c0765000003", "Pexip Infinity Conferencing Node 33 build 76500", "2023-11-20T10:00:00.000Z"),
    ("ami-0e1a33f0765000004", "Pexip Infinity Management Node 33 build 76500", "2023-11-20T10:00:00.000Z"),
]

# Fake public addresses come from the RFC 2544 benchmarking range: never
# loopback (moto's own Elastic IP pool is 127.0.0.0/8) and never routable.
AUTO_PUBLIC_NET = ipaddress.ip_network("198.18.0.0/16")
ELASTIC_NET = ipaddress.ip_network("198.19.0.0/16")

# Protocols for which AWS takes a port range; any other protocol (ESP = 50,
# AH = 51, GRE = 47, ...) covers every port and is stored without ports.
PORTED_PROTOCOLS = {"tcp", "udp", "icmp", "icmpv6", "6", "17", "1", "58", "-1", "all"}


def pexip_images():
    """Pexip's public images as MOTO_AMIS_PATH entries (Ami() keyword arguments)."""
    images = []
    for ami_id, name, created in PEXIP_IMAGES:
        images.append({
            "ami_id": ami_id,
            "name": name,
            "description": name,
            "owner_id": PEXIP_OWNER,
            "public": True,
            "state": "available",
            "architecture": "x86_64",
            "virtualization_type": "hvm",
            "hypervisor": "xen",
            "root_device_type": "ebs",
            "root_device_name": "/dev/sda1",
            "image_type": "machine",
            "image_location": "%s/%s" % (PEXIP_OWNER, name),
            "sriov": "simple",
            "creation_date": created,
            "ena_support": True,
        })
    return images


def write_amis_file(path):
    """MOTO_AMIS_PATH replaces moto's default image list: keep those and add Pexip's."""
    from moto.utilities.utils import load_resource

    images = list(load_resource("ec2/resources/amis.json")) + pexip_images()
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(images, handle)
    return path


class AddressPool:
    """Hands out unique addresses of one network, at random like AWS."""

    def __init__(self, network):
        self.network = network
        self.issued = set()

    def take(self):
        size = self.network.num_addresses - 2
        if len(self.issued) >= size:
            raise RuntimeError("lab address pool %s exhausted" % self.network)
        while True:
            address = str(self.network.network_address + random.randint(1, size))
            if address not in self.issued:
                self.issued.add(address)
                return address


def patch_esp_rules():
    """(1) An ingress rule with IpProtocol 50 (ESP) and no ports made moto answer 500.

    SecurityGroupRule.__init__ calls int(from_port) for every protocol except -1,
    and ESP has no ports (TypeError on None). AWS stores such a rule with
    IpProtocol "50" and no FromPort/ToPort, so do the same.
    """
    from moto.ec2.models import security_groups

    original = security_groups.SecurityGroupRule.__init__

    def __init__(self, ec2_backend, ip_protocol, group_id, from_port, to_port, *args, **kwargs):
        portless = ip_protocol is not None and str(ip_protocol).lower() not in PORTED_PROTOCOLS
        if portless:
            from_port = to_port = 0  # placeholders for moto's int(); dropped below
        original(self, ec2_backend, ip_protocol, group_id, from_port, to_port, *args, **kwargs)
        if portless:
            self.from_port = self.to_port = None

    security_groups.SecurityGroupRule.__init__ = __init__

    # Revoking a group-pair rule (like the ESP one) only matched when the request
    # repeated the rule's description; AWS ignores descriptions when it matches.
    def __eq__(self, other):
        def pair(rule):
            return {k: v for k, v in rule.source_group.items() if k != "Description"}

        return (self.ip_protocol == other.ip_protocol
                and ("CidrIp" not in self.ip_range or self.ip_range.get("CidrIp") == other.ip_range.get("CidrIp"))
                and ("CidrIpv6" not in self.ip_range or self.ip_range.get("CidrIpv6") == other.ip_range.get("CidrIpv6"))
                and pair(self) == pair(other)
                and self.prefix_list_id == other.prefix_list_id
                and (self.ip_protocol == "-1" or (self.from_port, self.to_port) == (other.from_port, other.to_port)))

    security_groups.SecurityGroupRule.__eq__ = __eq__


def patch_tenancy():
    """(2) RunInstances ignored Placement.Tenancy and always reported "default"."""
    from moto.ec2.responses.instances import InstanceResponse

    original = InstanceResponse.run_instances

    def run_instances(self):
        result = original(self)
        tenancy = self._get_param("Placement.Tenancy")
        if tenancy:
            for instance in result.result.instances:
                instance.placement.tenancy = tenancy
        return result

    InstanceResponse.run_instances = run_instances


def patch_public_ips():
    """(3) Public addresses: a fresh one on start, Elastic IPs kept, no loopback.

    moto's NetworkInterface dropped an associated Elastic IP on stop and put a
    random auto-assigned address over it on start. AWS keeps the Elastic IP
    across stop/start and gives an instance without one a new public address.
    moto also drew Elastic IPs from 127.0.0.0/8, which would alias the lab's
    loopback services, and could hand the same random address out twice.
    """
    from moto.ec2.models import elastic_ip_addresses, elastic_network_interfaces

    auto_pool = AddressPool(AUTO_PUBLIC_NET)
    elastic_pool = AddressPool(ELASTIC_NET)
    # Both modules imported the generator by name: replace it where it is looked up.
    elastic_network_interfaces.random_public_ip = auto_pool.take
    elastic_ip_addresses.random_ip = elastic_pool.take

    nic_class = elastic_network_interfaces.NetworkInterface

    def has_elastic_ip(nic):
        if not nic.public_ip:
            return False
        return bool(nic.ec2_backend.address_by_ip([nic.public_ip], fail_if_not_found=False))

    def stop(self):
        if self.public_ip_auto_assign and not has_elastic_ip(self):
            self.public_ip = None

    def start(self):
        # Cleared by stop() unless it is an Elastic IP; a running NIC keeps its address.
        if self.public_ip is None:
            self.check_auto_public_ip()

    nic_class.stop = stop
    nic_class.start = start


def patch_elastic_ip_details():
    """Elastic IP details that amazon.aws.ec2_eip and roles depend on.

    - Tags of an eipalloc-* were typed "vpc-elastic-ip"; AWS says "elastic-ip",
      and ec2_eip filters on it, so it reported changed on every run with tags.
    - An unassociated address listed InstanceId/NetworkInterfaceId as ""; AWS
      leaves the keys out.
    - Terminating an instance left its Elastic IP associated with it; AWS
      disassociates it (the address stays allocated).
    """
    from moto.ec2 import utils
    from moto.ec2.models import elastic_ip_addresses, instances

    utils.EC2_PREFIX_TO_RESOURCE["eipalloc"] = "elastic-ip"  # the dict tags.py imported

    address_class = elastic_ip_addresses.ElasticAddress
    address_class.instance_id = property(lambda self: self.instance.id if self.instance else None)
    address_class.network_interface_id = property(lambda self: self.eni.id if self.eni else None)

    original_terminate = instances.Instance.terminate

    def terminate(self):
        nic_ids = {nic.id for nic in self.nics.values()}
        for address in list(self.ec2_backend.addresses):
            if address.instance is self or (address.eni is not None and address.eni.id in nic_ids):
                self.ec2_backend.disassociate_address(address=address.public_ip)
        return original_terminate(self)

    instances.Instance.terminate = terminate


def patch_private_ip_reuse():
    """A private address is the instance's while it lives, as on AWS (replace_node.yml relaunches at the same address).

    - moto freed an instance's subnet address only when Python collected the instance, which it never does (it keeps
      terminated instances): a new instance at a terminated one's address failed. AWS frees it with the termination.
    - A launch at an address in use was a bare Exception (HTTP 500); AWS answers InvalidIPAddress.InUse.
    """
    from moto.ec2.exceptions import EC2ClientError
    from moto.ec2.models import instances, subnets

    original_request = subnets.Subnet.request_ip

    def request_ip(self, ip, instance):
        if ip in self._subnet_ips:
            raise EC2ClientError("InvalidIPAddress.InUse", "Address %s is in use." % ip)
        return original_request(self, ip, instance)

    subnets.Subnet.request_ip = request_ip
    original_terminate = instances.Instance.terminate

    def terminate(self):
        result = original_terminate(self)
        for nic in self.nics.values():
            if nic.subnet is not None:
                nic.subnet.del_subnet_ip(nic.private_ip_address)  # an address it does not hold is ignored
        return result

    instances.Instance.terminate = terminate


def patch_instance_attributes():
    """ModifyInstanceAttribute for InstanceType and EnaSupport, as AWS does it.

    - moto changed the type of a running instance; AWS refuses until it is stopped.
    - EnaSupport was not handled: the call fell through to the security-group
      handler and silently emptied the instance's security groups. AWS needs
      the instance stopped; DescribeInstanceAttribute enaSupport was unknown.
    """
    from moto.core.responses import EmptyResult
    from moto.ec2.exceptions import EC2ClientError
    from moto.ec2.models import instances
    from moto.ec2.responses.instances import InstanceResponse

    instances.Instance.VALID_ATTRIBUTES.add("enaSupport")
    original = InstanceResponse.modify_instance_attribute

    def modify_instance_attribute(self):
        instance_id = self._get_param("InstanceId")
        ena = self._get_param("EnaSupport.Value")
        attribute = self._get_param("Attribute")
        changes_type = self._get_param("InstanceType.Value") is not None or attribute == "instanceType"
        instance = self.ec2_backend.get_instance(instance_id)
        if ena is not None or changes_type or attribute == "enaSupport":
            if instance.state != "stopped":
                raise EC2ClientError("IncorrectInstanceState",
                                     "The instance '%s' is not in the 'stopped' state." % instance_id)
        if ena is not None:
            self.error_on_dryrun()
            instance.ena_support = str(ena).lower() == "true"
            return EmptyResult()
        return original(self)

    InstanceResponse.modify_instance_attribute = modify_instance_attribute


def patch_ami_extras():
    """Let MOTO_AMIS_PATH entries carry EnaSupport and a non-Amazon owner.

    moto's Ami() has no ena_support argument, and the loader stamps every
    image with owner alias "amazon"; Pexip's images have no alias on AWS.
    """
    from moto.ec2.models import amis, instances

    original = amis.Ami.__init__

    def __init__(self, ec2_backend, ami_id, *args, **kwargs):
        ena_support = kwargs.pop("ena_support", None)
        original(self, ec2_backend, ami_id, *args, **kwargs)
        if ena_support is not None:
            self.ena_support = ena_support
        if self.owner_id == PEXIP_OWNER:
            self.owner_alias = None

    amis.Ami.__init__ = __init__

    # An instance launched from an ENA image reports EnaSupport like AWS.
    original_instance = instances.Instance.__init__

    def instance_init(self, ec2_backend, image_id, *args, **kwargs):
        original_instance(self, ec2_backend, image_id, *args, **kwargs)
        image = ec2_backend.amis.get(self.image_id)
        # AWS lists EnaSupport only when it is true.
        self.ena_support = True if getattr(image, "ena_support", None) else None

    instances.Instance.__init__ = instance_init


CONSOLE_OUTPUT = {}  # instance id -> console text the simulator printed (harness: /_lab/console_output)


def patch_console_output():
    """GetConsoleOutput: moto answers every instance with one fixed kernel log. An instance whose console the lab
    printed to (``POST /_lab/console_output``: a Management Node instance printing its SSH host keys, as cloud-init
    images do) answers with that text; any other keeps moto's log."""
    from moto.ec2.responses.general import General
    from moto.ec2.utils import Base64EncodedString

    original = General.get_console_output

    def get_console_output(self):
        result = original(self)
        text = CONSOLE_OUTPUT.get(self._get_param("InstanceId"))
        if text is not None:
            result.result["Output"] = Base64EncodedString.from_raw_string(text)
        return result

    General.get_console_output = get_console_output


def share_botocore_loader():
    """Start-up speed only: moto makes many boto3 Sessions, and each one parsed
    botocore's endpoint and service JSON again (half of moto's start-up CPU).
    One loader per data path lets them share the parsed, read-only data.
    """
    import botocore.session

    botocore.session.create_loader = functools.lru_cache(maxsize=None)(botocore.session.create_loader)


def apply_patches():
    patch_esp_rules()
    patch_tenancy()
    patch_public_ips()
    patch_elastic_ip_details()
    patch_private_ip_reuse()
    patch_instance_attributes()
    patch_ami_extras()
    patch_console_output()


def lab_instances(query):
    """``GET /_lab/instances?region=R&state=S...`` (harness only): the region's instances in one of the states asked
    for, read from moto's memory, for the simulator's EC2 watcher (which names the states it wants: moto keeps every
    terminated instance). It polls twice a second per lab; DescribeInstances through moto's XML rendering and boto3's
    parsing cost a lab with 30 instances about 13 % of a core, this costs almost nothing."""
    import calendar

    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ec2.models import ec2_backends

    backend = ec2_backends[DEFAULT_ACCOUNT_ID][(query.get("region") or ["us-east-1"])[0]]
    states = set(query.get("state") or [])
    found = []
    for instance in backend.all_instances():
        if instance.state not in states:
            continue
        found.append({"id": instance.id, "state": instance.state, "private_ip": instance.private_ip,
                      "tags": {tag["key"]: tag["value"] for tag in instance.get_tags()}, "image_id": instance.image_id,
                      "key_name": instance.key_name, "public_ip": instance.public_ip,
                      "launch_time": calendar.timegm(instance.launch_time.utctimetuple()) if instance.launch_time else None})
    return found


class AwsFaults:
    """Lab control for AWS errors (harness only, not a moto patch): ``POST /_lab/faults`` on moto's port with
    ``{"action": "StopInstances", "count": 1, "code": "UnauthorizedOperation", "status": 403, "message": "..."}``
    (or a list) makes the next ``count`` requests whose Action is ``action`` (``*``: any; ``count`` 0: all until
    cleared) fail with that AWS error before moto sees them. ``GET`` lists the faults, ``DELETE`` clears them.
    """

    def __init__(self, app):
        import threading

        self.app = app
        self.lock = threading.Lock()
        self.faults = []
        # Every AWS call the lab answered, for docs/examples/controller-iam-policy.json's test (GET /_lab/aws_calls).
        self.calls = []

    @staticmethod
    def _answer(start_response, status, body, content_type="application/json"):
        data = body.encode("utf-8")
        start_response("%d %s" % (status, "OK" if status < 400 else "Error"),
                       [("Content-Type", content_type), ("Content-Length", str(len(data)))])
        return [data]

    def control(self, environ, start_response):
        method = environ["REQUEST_METHOD"]
        with self.lock:
            if method == "POST":
                length = int(environ.get("CONTENT_LENGTH") or 0)
                try:
                    specs = json.loads(environ["wsgi.input"].read(length) or b"{}")
                    specs = specs if isinstance(specs, list) else [specs]
                    added = [{"action": str(spec.get("action", "*")), "count": int(spec.get("count", 1)),
                              "code": str(spec["code"]), "status": int(spec.get("status", 400)),
                              "message": str(spec.get("message") or "Injected fault: %s" % spec["code"])} for spec in specs]
                except (ValueError, KeyError, TypeError) as exc:
                    return self._answer(start_response, 400, json.dumps({"error": "bad fault: %s" % exc}))
                self.faults.extend(added)
                return self._answer(start_response, 200, json.dumps(added))
            if method == "DELETE":
                cleared, self.faults = len(self.faults), []
                return self._answer(start_response, 200, json.dumps({"cleared": cleared}))
            return self._answer(start_response, 200, json.dumps(self.faults))

    def take(self, action):
        with self.lock:
            for fault in self.faults:
                if fault["action"] in ("*", action):
                    if fault["count"] == 1:
                        self.faults.remove(fault)
                    elif fault["count"] > 1:
                        fault["count"] -= 1
                    return fault
        return None

    def __call__(self, environ, start_response):
        import io
        from urllib.parse import parse_qs
        from xml.sax.saxutils import escape

        if environ.get("PATH_INFO") == "/_lab/faults":
            return self.control(environ, start_response)
        if environ.get("PATH_INFO") == "/_lab/console_output" and environ["REQUEST_METHOD"] == "POST":
            length = int(environ.get("CONTENT_LENGTH") or 0)
            try:
                printed = json.loads(environ["wsgi.input"].read(length) or b"{}")
                CONSOLE_OUTPUT[str(printed["instance_id"])] = CONSOLE_OUTPUT.get(str(printed["instance_id"]), "") + str(printed["text"])
            except (ValueError, KeyError, TypeError) as exc:
                return self._answer(start_response, 400, json.dumps({"error": "bad console output: %s" % exc}))
            return self._answer(start_response, 200, json.dumps({"instance_id": printed["instance_id"]}))
        if environ.get("PATH_INFO") == "/_lab/instances":
            return self._answer(start_response, 200, json.dumps(lab_instances(parse_qs(environ.get("QUERY_STRING", "")))))
        if environ.get("PATH_INFO") == "/_lab/aws_calls":
            since = int((parse_qs(environ.get("QUERY_STRING", "")).get("since") or ["0"])[0])
            with self.lock:
                return self._answer(start_response, 200, json.dumps({"next": len(self.calls), "calls": self.calls[since:]}))
        # The query protocol (EC2, IAM, STS) names the operation in a form field; read the body and hand moto a copy.
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        fields = parse_qs(body.decode("utf-8", "replace")) if body else {}
        fields.update(parse_qs(environ.get("QUERY_STRING", "")))
        action = (fields.get("Action") or [""])[0] or environ.get("HTTP_X_AMZ_TARGET", "").rpartition(".")[2]
        # SigV4: Credential=<key id>/<date>/<region>/<service>/aws4_request
        scope = re.search(r"Credential=([^/]*)/[^/]*/[^/]*/([^/]*)/", environ.get("HTTP_AUTHORIZATION", ""))
        if scope and action:
            with self.lock:
                self.calls.append({"service": scope.group(2), "action": action, "key": scope.group(1),
                                   "agent": environ.get("HTTP_USER_AGENT", "")})
        if self.faults:
            fault = self.take(action)
            if fault:
                xml = ('<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>%s</Code><Message>%s</Message>'
                       '</Error></Errors><RequestID>lab-fault</RequestID></Response>' % (escape(fault["code"]), escape(fault["message"])))
                return self._answer(start_response, fault["status"], xml, "text/xml")
        return self.app(environ, start_response)


def parse_listen(value):
    host, dummy, port = value.rpartition(":")
    if not ipaddress.ip_address(host).is_loopback:
        raise argparse.ArgumentTypeError("the lab binds on loopback only, not %s" % host)
    return host, int(port)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--listen", type=parse_listen, default=("127.0.0.1", 5555), help="loopback host:port")
    parser.add_argument("--region", action="append", help="a region to prepare before serving (repeat for several; default $AWS_REGION)")
    parser.add_argument("--amis-file", help="where to write the image list (default: a temporary file)")
    args = parser.parse_args(argv)

    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    share_botocore_loader()
    amis_file = args.amis_file or os.path.join(tempfile.mkdtemp(prefix="moto-lab-"), "amis.json")
    # moto reads MOTO_AMIS_PATH when moto.ec2 is first imported: set it before that.
    os.environ["MOTO_AMIS_PATH"] = write_amis_file(amis_file)
    apply_patches()

    from werkzeug.serving import make_server
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app

    # Build the region's EC2 backend (service model, images) now, not on the first request.
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ec2.models import ec2_backends

    regions = args.region or [os.environ.get("AWS_REGION", "eu-west-1")]
    images = [len(ec2_backends[DEFAULT_ACCOUNT_ID][region].amis) for region in regions]

    host, port = args.listen
    server = make_server(host, port, AwsFaults(DomainDispatcherApplication(create_backend_app)), threaded=True,
                         request_handler=MotoRequestHandler)

    def on_term(_signum, _frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    try:
        print("moto_lab ready on http://%s:%d (%s images in %s)" % (host, port, images, ", ".join(regions)), flush=True)
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
