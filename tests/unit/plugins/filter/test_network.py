# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pexip.infinity.netmask / first_usable: the subnet arithmetic of a Conferencing Node's network settings."""

import ipaddress

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.pexip.infinity.plugins.filter import network
from ansible_collections.pexip.infinity.plugins.module_utils import nodes


@pytest.mark.parametrize("cidr,mask,gateway", [
    ("172.31.0.0/20", "255.255.240.0", "172.31.0.1"),  # the guide's example
    ("127.20.1.0/24", "255.255.255.0", "127.20.1.1"),
    ("10.0.16.7/20", "255.255.240.0", "10.0.16.1"),  # host bits ignored
    ("10.0.0.0/16", "255.255.0.0", "10.0.0.1"),
    ("10.0.0.0/30", "255.255.255.252", "10.0.0.1"),
])
def test_netmask_and_gateway(cidr, mask, gateway):
    assert network.netmask(cidr) == mask
    assert network.first_usable(cidr) == gateway


@pytest.mark.parametrize("value", ["10.0.0.1", "", None, "not/a/net", "10.0.0.0/33", "2001:db8::/64"])
def test_bad_input(value):
    with pytest.raises(AnsibleFilterError):
        network.netmask(value)
    with pytest.raises(AnsibleFilterError):
        network.first_usable(value)


@pytest.mark.parametrize("value", ["10.0.0.0/31", "10.0.0.5/32"])
def test_no_usable_address(value):
    with pytest.raises(AnsibleFilterError, match="no usable host address"):
        network.first_usable(value)


@pytest.mark.parametrize("address, problem", [
    ("10.0.1.10", ""),
    ("10.0.1.254", ""),
    ("10.0.1.0", "is the network address of 10.0.1.0/24"),
    ("10.0.1.1", "is the gateway (router) address of 10.0.1.0/24"),
    ("10.0.1.2", "is reserved by AWS (DNS) in 10.0.1.0/24"),
    ("10.0.1.3", "is reserved by AWS in 10.0.1.0/24"),
    ("10.0.1.255", "is the broadcast address of 10.0.1.0/24"),
    ("10.0.2.10", "is not in the subnet 10.0.1.0/24"),
    ("10.0.1.300", "is not an IPv4 address"),
    ("", "is not an IPv4 address"),
])
def test_host_address_problem(address, problem):
    assert network.host_address_problem(address, "10.0.1.0/24") == problem


def test_one_rule_for_the_filter_and_the_module():
    # The module's rule (module_utils/nodes.py), with AWS's reserved addresses on top.
    subnet = ipaddress.IPv4Network("10.0.1.0/24")
    for address in ("10.0.1.0", "10.0.1.255", "10.0.1.10", "224.0.0.1", "0.0.0.1"):
        assert network.host_address_problem(address, "10.0.1.0/24") == nodes.host_address_problem(address, subnet, reserved=nodes.AWS_RESERVED)
    assert network.host_address_problem("224.0.1.10", "224.0.1.0/24") == "is a multicast address"
    assert network.host_address_problem("0.0.1.10", "0.0.1.0/24") == "is in 0.0.0.0/8 ('this network'), not a host address"


def test_filters_registered():
    assert set(network.FilterModule().filters()) == {"netmask", "first_usable", "host_address_problem"}


def test_a_loopback_node_address_is_refused_unless_the_lab_says_so():
    """Issue #27: no real node has a loopback address; the lab (VPC 127.20.0.0/16) says so explicitly, with the modules'
    allow_loopback_addresses and the roles' pexip_allow_loopback_addresses (never the environment, which harnesses strip)."""
    problem = network.host_address_problem("127.20.1.10", "127.20.1.0/24")
    assert problem.startswith("is a loopback address") and "pexip_allow_loopback_addresses: true" in problem
    assert "give the instance's address in its VPC subnet" in problem
    assert network.host_address_problem("127.20.1.10", "127.20.1.0/24", True) == ""
    assert network.host_address_problem("127.20.1.10", "127.20.1.0/24", "true") == ""  # as a template may pass it
    assert network.host_address_problem("127.20.1.10", "127.20.1.0/24", False) == problem
    # pexip_node's validation: the address and the gateway, the option as the module's parameters carry it.
    params = {"address": "127.20.1.10", "gateway": "127.20.1.1", "netmask": "255.255.255.0"}
    errors = nodes.validate_node(params)
    assert errors == ["address 127.20.1.10 " + nodes.LOOPBACK_PROBLEM, "gateway 127.20.1.1 " + nodes.LOOPBACK_PROBLEM]
    assert nodes.validate_node(dict(params, allow_loopback_addresses=True)) == []
    # A loopback static NAT address stays refused as a private one.
    assert "private address" in nodes.static_nat_problem("127.0.0.2")
