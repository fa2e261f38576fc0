# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from textwrap import indent

# How a new instance's bootstrap page is reached and trusted (module_utils.bootstrap.page_client): options of
# pexip_config_upload, suboptions of pexip_node's bootstrap_upload. One text for both; %(o)s is the prefix by which it
# names an option beside it (O(fingerprint) there, O(bootstrap_upload.fingerprint) here).
_PAGE = r"""port:
  description:
    - Port of the bootstrap page.
  type: int
  default: 8443
validate_certs:
  description:
    - Verify the instance's TLS certificate. A new instance serves a self-signed certificate; pin it with
      O(%(o)sfingerprint), give its CA with O(%(o)sca_path), or set V(false) to trust whoever answers at O(%(o)saddress).
    - V(false) is refused unless O(%(o)saddress) is a private (RFC 1918) or loopback address, or O(%(o)sfingerprint) is set,
      because the document holds the credentials the node joins the platform with. Over a private address it trusts
      the network (the VPC and the VPN to it).
  type: bool
  default: true
ca_path:
  description:
    - PEM file of the CA (or certificate) to trust for the instance's certificate.
    - The certificate's chain is checked, not its host name (the page is reached by address).
  type: path
fingerprint:
  description:
    - SHA-256 fingerprint of the instance's certificate, as hexadecimal digits with or without colons (the output of
      C(openssl x509 -noout -fingerprint -sha256) is accepted).
    - When set, the instance is trusted by this fingerprint alone (neither a CA nor the host name is checked, and
      O(%(o)svalidate_certs) and O(%(o)sca_path) are not used); a different certificate fails before the document is sent.
  type: str
  version_added: 0.2.0
"""

# pexip_node's own suboptions (its merge with this fragment takes bootstrap_upload's suboptions whole).
_NODE = r"""address:
  description:
    - Address of the instance's bootstrap page (its private IPv4 address over a VPN, or its public address).
  type: str
  required: true
wait_timeout:
  description:
    - Seconds to keep trying while the instance cannot be reached (it boots).
  type: int
  default: 300
"""


class ModuleDocFragment(object):
    # pexip_config_upload's options.
    DOCUMENTATION = "options:\n" + indent(_PAGE % dict(o=""), " " * 2)

    # The suboptions of pexip_node's bootstrap_upload (the module documents the option itself).
    NODE = "options:\n  bootstrap_upload:\n    suboptions:\n" + indent(_NODE + _PAGE % dict(o="bootstrap_upload."), " " * 6)
