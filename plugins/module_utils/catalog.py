# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Management Node objects the modules manage, declared once for the CRUD modules and their ``_info`` modules."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.pexip.infinity.plugins.module_utils.bursting import GLOBAL_URI
from ansible_collections.pexip.infinity.plugins.module_utils.api import PexipValidationError, object_id, resource_path
from ansible_collections.pexip.infinity.plugins.module_utils.resource import PAGE, Field, Resource, ref_uri

LOCATION = Resource("system_location", label="system location", fields=(
    Field("description"),
    Field("mtu", type="int"),
    Field("media_qos", type="int"),
    Field("signalling_qos", type="int"),
    Field("dns_servers", many="dns_server"),
    Field("ntp_servers", many="ntp_server"),
    Field("overflow_location1", relation="system_location", label="primary overflow location", aliases=["primary_overflow_location"]),
    Field("overflow_location2", relation="system_location", label="secondary overflow location", aliases=["secondary_overflow_location"]),
    Field("transcoding_location", relation="system_location", label="transcoding location"),
))

#: the platform's DNS and NTP servers, by module option (the same names as the location fields)
SERVERS = dict((f.name, Resource(f.many, key="address", label=f.many.replace("_", " "), fields=(Field("description"),)))
               for f in LOCATION.fields if f.many)

ROLES = {"transcoding": "CONFERENCING", "proxying": "PROXYING"}
SSH_MODES = {"global": "GLOBAL", "on": "ON", "off": "OFF"}
#: what a module returns of a worker_vm (the API object also carries SNMP secrets)
NODE_OUTPUT = ("id", "name", "hostname", "domain", "address", "netmask", "gateway", "static_nat_address", "node_type",
               "enable_distributed_database", "enable_ssh", "maintenance_mode", "maintenance_mode_reason", "description",
               "system_location", "system_location_name", "tls_certificate", "resource_uri")

#: a node's or the Management Node's certificate: by subject name (or its resource URI); a name several certificates
#: share fails and asks for the URI (no silent choice between them)
TLS_CERTIFICATE = Field("tls_certificate", relation="tls_certificate", relation_key="subject_name", label="TLS certificate")

NODE = Resource("worker_vm", label="Conferencing Node", output=NODE_OUTPUT, fields=(
    Field("hostname"),
    Field("domain"),
    Field("address"),
    Field("netmask"),
    Field("gateway"),
    Field("node_type", option="role", choices=ROLES, restarts=True, label="role"),
    Field("system_location", relation="system_location", restarts=True),
    Field("static_nat_address", clear=None),
    Field("enable_distributed_database", type="bool"),
    Field("enable_ssh", choices=SSH_MODES),
    Field("maintenance_mode", type="bool"),
    Field("maintenance_mode_reason"),
    Field("description"),
    TLS_CERTIFICATE,
    Field("password", option="ssh_password", secret=True, write_only=True),
))

SNMP_MODES = {"disabled": "DISABLED", "standard": "STANDARD", "authpriv": "AUTHPRIV"}
#: the primary Management Node (pexip_management_node reads it from the whole, short, list: whether the API filters on
#: ``primary`` is not documented)
MANAGEMENT_NODE = Resource("management_vm", key="primary", label="Management Node", fields=(
    Field("dns_servers", many="dns_server", label="DNS servers"),
    Field("ntp_servers", many="ntp_server", label="NTP servers"),
    Field("static_nat_address", clear=None),
    TLS_CERTIFICATE,
    Field("alternative_fqdn"),
    Field("description"),
    Field("enable_ssh", choices=SSH_MODES),
    Field("snmp_mode", choices=SNMP_MODES),
    Field("snmp_community", secret=True),
    Field("snmp_username"),
    Field("snmp_authentication_password", secret=True),
    Field("snmp_privacy_password", secret=True),
    Field("snmp_system_contact"),
    Field("snmp_system_location"),
))

#: a trusted CA certificate, found by its identity (serial number and issuer: pexip_ca_certificate), not by a key field
CA_CERTIFICATE = Resource("ca_certificate", key=None, label="CA certificate", fields=(
    Field("trusted_intermediate", type="bool"),
))

PROVIDERS = {"aws": "AWS", "azure": "AZURE", "gcp": "GCP"}
BURST_SETTINGS = Resource("global", singleton=GLOBAL_URI, label="Cloud Bursting", fields=(
    Field("bursting_enabled", option="enabled", type="bool"),
    Field("bursting_threshold", option="threshold", type="int"),
    Field("bursting_min_lifetime", option="min_lifetime", type="int"),
    Field("cloud_provider", option="provider", choices=PROVIDERS),
    Field("aws_access_key"),
    Field("aws_secret_key", secret=True, write_only=True),
))


#: a backup file on the Management Node (pexip_backup): keyed by filename, as Pexip's SDK does; made by a command, never
#: written here, only deleted
SYSTEM_BACKUP = Resource("system_backup", key="filename", label="backup", fields=())

#: automatic backups (pexip_autobackup); the passphrase and the FTP password are sent, never read back or compared
AUTOBACKUP = Resource("autobackup", singleton=resource_path("autobackup", obj_id=1), label="automatic backup", fields=(
    Field("autobackup_enabled", option="enabled", type="bool"),
    Field("autobackup_interval", option="interval", type="int"),
    Field("autobackup_start_hour", option="start_hour", type="int"),
    Field("autobackup_passphrase", option="passphrase", secret=True, write_only=True),
    Field("autobackup_upload_url", option="upload_url"),
    Field("autobackup_upload_username", option="upload_username"),
    Field("autobackup_upload_password", option="upload_password", secret=True, write_only=True),
))


def nodes_in(nodes, location):
    """The worker_vm objects assigned to ``location`` (checked here: a server may ignore the filter)."""
    key = ref_uri(location["resource_uri"], LOCATION.endpoint)
    return [n for n in nodes if ref_uri(n.get("system_location"), LOCATION.endpoint) == key]


def location_nodes(client, location):
    """The Conferencing Nodes of ``location``: filtered by its id, or (if the filter is refused) every node."""
    try:
        nodes = client.list(NODE.endpoint, limit=PAGE, system_location=object_id(location["resource_uri"]))
    except PexipValidationError:
        nodes = client.list(NODE.endpoint, limit=PAGE)
    return nodes_in(nodes, location)


# -- secrets: the resources of pexip_conference, pexip_licence, pexip_tls_certificate -----------------------------------------------------

#: a PIN: 4 to 20 ASCII digits, a terminal hash allowed (global's min_pin_length; "\d" would take any script's digits)
PIN = r"^[0-9]{4,20}#?\Z"
SERVICE_TYPES = {"conference": "conference", "lecture": "lecture"}
CONFERENCE = Resource("conference", label="Virtual Meeting Room", fields=(
    Field("service_type", choices=SERVICE_TYPES),
    Field("description"),
    Field("pin", label="PIN", secret=True),
    Field("guest_pin", label="guest PIN", secret=True),
    Field("allow_guests", type="bool"),
    Field("participant_limit", type="int"),
))
#: an alias belongs to one room (given by name) and is unique across the platform
CONFERENCE_ALIAS = Resource("conference_alias", key="alias", label="conference alias", fields=(
    Field("conference", relation="conference", label="Virtual Meeting Room"),
    Field("description"),
))
LICENCE = Resource("licence", key="fulfillment_id", label="licence", fields=(
    Field("entitlement_id", secret=True, write_only=True),
    Field("offline_mode", type="bool"),
))
#: a server certificate: found by its identity (certificates.same_certificate), not by a key field
SERVER_CERTIFICATE = Resource("tls_certificate", key=None, label="TLS certificate", fields=(
    Field("certificate"),
    Field("private_key", secret=True, write_only=True),
    Field("private_key_passphrase", secret=True, write_only=True),
))
#: the objects a certificate is attached to, through their own tls_certificate field
CERTIFICATE_HOLDERS = {"worker_vm": NODE, "management_vm": Resource("management_vm", label="Management Node", fields=(TLS_CERTIFICATE,))}
#: a certificate signing request made on the Management Node (its key never leaves it), found by its subject name;
#: these fields make the key and the CSR, so they are set when it is created and never changed afterwards
KEY_TYPES = {"rsa2048": "RSA2048", "rsa4096": "RSA4096", "ecdsap256": "ECDSAP256"}
SIGNING_REQUEST = Resource("certificate_signing_request", key="subject_name", label="certificate signing request", fields=(
    Field("dn", label="DN"),
    Field("private_key_type", choices=KEY_TYPES, label="private key type"),
    Field("ad_compatible", type="bool", label="AD compatible"),
    Field("eku_client_auth", type="bool", label="client authentication EKU"),
    Field("eku_server_auth", type="bool", label="server authentication EKU"),
    Field("tls_certificate", relation="tls_certificate", relation_key="subject_name", label="TLS certificate"),
), output=("id", "subject_name", "dn", "additional_subject_alt_names", "private_key_type", "ad_compatible", "eku_client_auth",
           "eku_server_auth", "tls_certificate", "tls_certificate_name", "csr", "resource_uri"))
