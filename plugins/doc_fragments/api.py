# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # Connection options shared by every module that talks to the Management Node.
    DOCUMENTATION = r"""
options:
  host:
    description:
      - Address of the Pexip Infinity Management Node, as C(name), C(name:port) or C(https://name[:port]).
      - C(http://) is refused unless O(allow_http=true).
      - If not set, the E(PEXIP_HOST) environment variable is used.
    type: str
    required: true
  username:
    description:
      - Web administration username (or LDAP account) on the Management Node.
      - If not set, the E(PEXIP_USERNAME) environment variable is used.
    type: str
    default: admin
  password:
    description:
      - Password of O(username).
      - If not set, the E(PEXIP_PASSWORD) environment variable is used.
    type: str
    required: true
  validate_certs:
    description:
      - Verify the Management Node's TLS certificate.
      - Only disable this for a new Management Node that still serves its self-signed certificate;
        prefer O(ca_path).
      - If not set, the E(PEXIP_VALIDATE_CERTS) environment variable is used.
    type: bool
    default: true
  ca_path:
    description:
      - PEM file of the CA (or the self-signed certificate) that signed the Management Node's certificate.
      - If not set, the E(PEXIP_CA_PATH) environment variable is used.
    type: path
  fingerprint:
    description:
      - SHA-256 fingerprint of the Management Node's certificate (64 hexadecimal digits, colons allowed) - only that
        certificate is accepted, whoever signed it and whatever host name it names; O(ca_path) and O(validate_certs)
        are then not used.
      - For a new Management Node, whose self-signed certificate no CA verifies, until its real certificate is
        uploaded (M(pexip.infinity.pexip_tls_certificate)); the certificate changes then, and so must this.
    type: str
  timeout:
    description:
      - Seconds to wait for each HTTP response.
      - If not set, the E(PEXIP_TIMEOUT) environment variable is used.
    type: int
    default: 30
  retries:
    description:
      - How many times a request is retried after a 429, 502, 503, 504 or a connection error,
        with jittered exponential backoff (a 429's C(Retry-After) is honoured).
    type: int
    default: 5
  allow_http:
    description:
      - Allow a O(host) of C(http://name[:port]), which sends the password in clear.
      - Only for a test server on a trusted network; a Management Node serves HTTPS.
      - Deliberately not read from the environment, as it weakens security; a task sets it explicitly.
    type: bool
    default: false
  allow_loopback_addresses:
    description:
      - Accept a loopback address (C(127.0.0.0/8)) as a node's address or gateway, which no real node has.
      - Only for a test lab whose VPC is on loopback; the playbooks set it from the inventory variable
        C(pexip_allow_loopback_addresses).
      - Deliberately not read from the environment; a task or the inventory sets it explicitly.
    type: bool
    default: false
requirements:
  - requests
notes:
  - All requests go to C(https://<host>/api/admin/); the Management Node is easily loaded,
    so the modules look objects up by filter instead of listing everything.
  - Requests go through the proxy of E(HTTPS_PROXY) (or E(HTTP_PROXY) for C(http://)), unless E(NO_PROXY) names
    the host, its domain or a network that holds its address (for example C(10.0.0.0/8)).
  - The modules follow the API's C(meta.next) pages and resource URIs only on O(host) itself, so the credentials
    go nowhere else.
"""
