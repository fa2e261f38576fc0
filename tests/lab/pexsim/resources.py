# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Resource definitions: one declarative field table per resource.

The same table produces the schema document, validates writes and renders objects, so a rule lives in one place.
"""

import copy
import ipaddress
import re

CONFIG_BASE = '/api/admin/configuration/v1/'
STATUS_BASE = '/api/admin/status/v1/'
COMMAND_BASE = '/api/admin/command/v1/'

NO_DEFAULT = object()
NO_DEFAULT_TEXT = 'No default provided.'
ALL = 1  # Tastypie's ALL: every lookup is allowed on the field
EXACT = ['exact', 'in']
LOOKUPS = ('exact', 'iexact', 'contains', 'icontains', 'startswith', 'istartswith', 'endswith', 'iendswith',
           'in', 'lt', 'lte', 'gt', 'gte', 'isnull')

MANUAL_PROVISION = 'MANUAL-PROVISION-ONLY'

_TASTYPIE_HELP = {
    'string': 'Unicode string data. Ex: "Hello World"',
    'integer': 'Integer data. Ex: 2673',
    'boolean': 'Boolean data. Ex: True',
    'float': 'Floating point numeric data. Ex: 26.73',
    'datetime': 'A date & time as a string. Ex: "2010-11-10T03:07:43"',
    'to_one': 'A single related resource. Can be either a URI or set of nested resource data.',
    'to_many': 'Many related resources. Can be either a list of URIs or list of individually nested resource data.',
}


class FieldError(Exception):
    """A value that a field rejects; the message goes into the 400 body."""


class Field:
    """One field of a resource, as the schema shows it and as writes are checked against it."""

    def __init__(self, name, ftype='string', required=False, nullable=False, blank=False, readonly=False, unique=False,
                 default=NO_DEFAULT, help_text='', choices=None, max_length=None, min_value=None, max_value=None,
                 fmt=None, related=None, to_many=False, full=False, write_only=False, filtering=None, computed=False):
        self.name = name
        self.ftype = ftype
        self.required = required
        self.nullable = nullable
        self.blank = blank
        self.readonly = readonly
        self.unique = unique
        self.default = default
        self.help_text = help_text
        self.choices = choices
        self.max_length = max_length
        self.min_value = min_value
        self.max_value = max_value
        self.fmt = fmt
        self.related = related
        self.to_many = to_many
        self.full = full
        self.write_only = write_only
        self.filtering = filtering
        self.computed = computed

    @property
    def verbose_name(self):
        return self.name.replace('_', ' ').capitalize()

    def initial(self):
        """The value a create stores when the field is not given."""
        if self.default is not NO_DEFAULT:
            return copy.deepcopy(self.default)
        if self.to_many:
            return []
        if self.nullable:
            return None
        if self.ftype == 'string' and self.blank:
            return ''
        return None

    def schema(self):
        if self.default is not NO_DEFAULT:
            default = self.default
        else:
            default = [] if self.to_many else NO_DEFAULT_TEXT
        doc = {
            'blank': self.blank,
            'default': default,
            'help_text': self.help_text or _TASTYPIE_HELP['to_many' if self.to_many else 'to_one' if self.related else self.ftype],
            'nullable': self.nullable,
            'readonly': self.readonly,
            'type': 'related' if self.related else self.ftype,
            'unique': self.unique,
        }
        if self.choices:
            doc['valid_choices'] = list(self.choices)
        if self.related:
            doc['related_type'] = 'to_many' if self.to_many else 'to_one'
        return doc

    def clean(self, value, ctx):
        """Check one written value; return what is stored (related URIs become ids)."""
        if value is None:
            if self.nullable:
                return None
            raise FieldError('This field cannot be null.')
        if self.related:
            if self.to_many:
                if not isinstance(value, list):
                    raise FieldError('Expected a list of resource URIs.')
                ids = []
                for item in value:
                    rid = self._resolve(item, ctx)
                    if rid not in ids:
                        ids.append(rid)
                return ids
            return self._resolve(value, ctx)
        value = self._clean_type(value)
        if self.choices and value not in self.choices:
            raise FieldError('Value %r is not a valid choice.' % (value,))
        return value

    def _clean_type(self, value):
        if self.ftype == 'string':
            if not isinstance(value, str):
                raise FieldError('Expected a string, got %s.' % type(value).__name__)
            if value == '':
                if self.blank:
                    return value
                raise FieldError('This field cannot be blank.')
            if self.max_length is not None and len(value) > self.max_length:
                raise FieldError('Ensure this value has at most %d characters (it has %d).' % (self.max_length, len(value)))
            if self.fmt == 'ipv4':
                try:
                    ipaddress.IPv4Address(value)
                except ValueError:
                    raise FieldError('Enter a valid IPv4 address.') from None
            elif self.fmt == 'ipv6':
                try:
                    ipaddress.IPv6Address(value)
                except ValueError:
                    raise FieldError('Enter a valid IPv6 address.') from None
            elif self.fmt == 'ip':
                try:
                    ipaddress.ip_address(value)
                except ValueError:
                    raise FieldError('Enter a valid IPv4 or IPv6 address.') from None
            return value
        if self.ftype == 'integer':
            if isinstance(value, bool) or not isinstance(value, (int, str)):
                raise FieldError("'%s' value must be an integer." % (value,))
            try:
                value = int(value)
            except ValueError:
                raise FieldError("'%s' value must be an integer." % (value,)) from None
            if self.min_value is not None and value < self.min_value:
                raise FieldError('Ensure this value is greater than or equal to %d.' % self.min_value)
            if self.max_value is not None and value > self.max_value:
                raise FieldError('Ensure this value is less than or equal to %d.' % self.max_value)
            return value
        if self.ftype == 'boolean':
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.lower() in ('true', 'false'):
                return value.lower() == 'true'
            raise FieldError("'%s' value must be either True or False." % (value,))
        return value

    def _resolve(self, uri, ctx):
        if isinstance(uri, dict):
            raise FieldError('Nested resource data is not supported by the simulator; give the resource URI.')
        match = re.match(r'^%s%s/(\d+)/$' % (re.escape(CONFIG_BASE), re.escape(self.related)), uri) if isinstance(uri, str) else None
        if not match or not ctx.exists(self.related, int(match.group(1))):
            raise FieldError("Could not find the provided object via resource URI '%s'." % (uri,))
        return int(match.group(1))


class Resource:
    """A configuration or status resource: its fields, verbs and list behaviour."""

    def __init__(self, name, api, fields, verbose_name, list_methods=('get', 'post'), detail_methods=('get', 'put', 'patch', 'delete'),
                 singleton=False, ordering=None, id_type='integer', check=None, key='id'):
        self.name = name
        self.api = api
        self.verbose_name = verbose_name
        self.list_methods = list(list_methods)
        self.detail_methods = list(detail_methods)
        self.singleton = singleton
        self.id_type = id_type
        self.check = check
        # The field that names an object in its detail path: `id`, or a field of its own (licence: fulfillment_id).
        self.key = key
        self.fields = {}
        implicit = [Field('resource_uri', readonly=True, help_text='The URI of this object.')]
        if key == 'id':
            implicit.insert(0, Field('id', id_type, readonly=True, unique=True,
                                     filtering=EXACT + ['lt', 'lte', 'gt', 'gte'] if id_type == 'integer' else EXACT))
        for field in list(fields) + implicit:
            self.fields[field.name] = field
        self.ordering = list(ordering) if ordering is not None else [n for n, f in self.fields.items() if f.filtering]

    @property
    def base(self):
        return '/api/admin/%s/v1/%s/' % (self.api, self.name)

    def uri(self, oid):
        return '%s%s/' % (self.base, oid)

    def schema(self):
        return {
            'allowed_detail_http_methods': list(self.detail_methods),
            'allowed_list_http_methods': list(self.list_methods),
            'default_format': 'application/json',
            'default_limit': 20,
            'fields': {name: field.schema() for name, field in self.fields.items()},
            'filtering': {name: field.filtering for name, field in self.fields.items() if field.filtering},
            'ordering': list(self.ordering),
        }

    def validate(self, data, ctx, existing=None, strict=False):
        """Check a write; return (values to store, errors by field). ``existing`` is the stored object on update."""
        errors = {}
        values = copy.deepcopy(existing) if existing is not None else {}
        for name, field in self.fields.items():
            if field.readonly:
                continue
            if name in data:
                try:
                    values[name] = field.clean(data[name], ctx)
                except FieldError as exc:
                    errors.setdefault(name, []).append(str(exc))
            elif existing is None:
                if field.required:
                    errors[name] = ['This field is required.']
                else:
                    values[name] = field.initial()
        if strict:
            for key in data:
                if key not in self.fields:
                    errors.setdefault(key, []).append('Unknown field (the simulator runs with strict field checking).')
        own_id = existing.get(self.key) if existing else None
        for name, field in self.fields.items():
            if field.unique and not field.readonly and name not in errors and values.get(name) not in (None, ''):
                if ctx.is_taken(self.name, name, values[name], own_id):
                    errors.setdefault(name, []).append('%s with this %s already exists.' % (self.verbose_name, field.verbose_name))
        if self.check:
            self.check(values, data, existing, errors, ctx)
        return values, errors

    def render(self, obj, ctx):
        """The object as GET shows it: write-only fields left out, relations as URIs or nested objects."""
        out = {}
        for name, field in self.fields.items():
            if field.write_only:
                continue
            if name == 'resource_uri':
                out[name] = self.uri(obj[self.key])
            elif field.computed:
                out[name] = ctx.computed(self.name, name, obj)
            elif field.related:
                value = obj.get(name)
                if field.to_many:
                    if field.full:
                        out[name] = [ctx.render_related(field.related, rid) for rid in value or []]
                    else:
                        out[name] = ['%s%s/%s/' % (CONFIG_BASE, field.related, rid) for rid in value or []]
                else:
                    out[name] = '%s%s/%s/' % (CONFIG_BASE, field.related, value) if value is not None else None
            else:
                out[name] = obj.get(name)
        return out


def _check_worker_vm(values, data, existing, errors, ctx):  # pylint: disable=unused-argument
    if 'deployment_type' in data and 'deployment_type' not in errors and data['deployment_type'] not in (None, MANUAL_PROVISION):
        errors.setdefault('deployment_type', []).append('Only %s is supported on AWS: the simulator has no hypervisor to deploy to.' % MANUAL_PROVISION)


def _check_location(values, data, existing, errors, ctx):  # pylint: disable=unused-argument
    if existing is None:
        return
    for name in ('overflow_location1', 'overflow_location2', 'transcoding_location'):
        if name in data and name not in errors and values.get(name) == existing['id']:
            errors.setdefault(name, []).append('A location cannot refer to itself.')


def _s(name, **kw):
    return Field(name, 'string', **kw)


SYSTEM_LOCATION = Resource('system_location', 'configuration', [
    _s('name', required=True, max_length=250, unique=True, filtering=ALL, help_text='The name of the location.'),
    _s('description', blank=True, default='', max_length=250, filtering=ALL),
    Field('mtu', 'integer', default=1500, min_value=512, max_value=1500, filtering=EXACT,
          help_text='Maximum transmission unit for nodes in this location (512-1500).'),
    Field('media_qos', 'integer', nullable=True, default=None, min_value=0, max_value=63, help_text='DSCP value for media (0-63).'),
    Field('signalling_qos', 'integer', nullable=True, default=None, min_value=0, max_value=63, help_text='DSCP value for signalling (0-63).'),
    Field('dns_servers', related='dns_server', to_many=True, full=True, help_text='DNS servers for nodes in this location.'),
    Field('ntp_servers', related='ntp_server', to_many=True, full=True, help_text='NTP servers for nodes in this location.'),
    Field('syslog_servers', related='syslog_server', to_many=True),
    Field('overflow_location1', related='system_location', nullable=True, default=None, filtering=EXACT,
          help_text='Primary overflow location; bursting nodes start only for a primary overflow location.'),
    Field('overflow_location2', related='system_location', nullable=True, default=None, filtering=EXACT, help_text='Secondary overflow location.'),
    Field('transcoding_location', related='system_location', nullable=True, default=None),
    Field('policy_server', related='policy_server', nullable=True, default=None),
    Field('sip_proxy', related='sip_proxy', nullable=True, default=None),
    Field('h323_gatekeeper', related='h323_gatekeeper', nullable=True, default=None),
    Field('http_proxy', related='http_proxy', nullable=True, default=None),
    Field('stun_server', related='stun_server', nullable=True, default=None),
    Field('turn_server', related='turn_server', nullable=True, default=None),
    Field('client_stun_servers', related='stun_server', to_many=True),
    Field('client_turn_servers', related='turn_server', to_many=True),
    Field('event_sinks', related='event_sink', to_many=True),
    _s('local_mssip_domain', blank=True, default='', max_length=255),
    Field('use_relay_candidates_only', 'boolean', default=False),
], 'System location', check=_check_location)

DNS_SERVER = Resource('dns_server', 'configuration', [
    _s('address', required=True, unique=True, fmt='ip', max_length=255, filtering=ALL, help_text='IPv4 or IPv6 address of the DNS server.'),
    _s('description', blank=True, default='', max_length=250, filtering=ALL),
], 'Dns server')

NTP_SERVER = Resource('ntp_server', 'configuration', [
    _s('address', required=True, unique=True, max_length=255, filtering=ALL, help_text='Address or FQDN of the NTP server.'),
    _s('description', blank=True, default='', max_length=250, filtering=ALL),
], 'Ntp server')

# The SNMP settings of a Conferencing Node (worker_vm) and of a Management Node (management_vm) alike.
SNMP_FIELDS = [
    _s('snmp_mode', default='DISABLED', choices=['DISABLED', 'STANDARD', 'AUTHPRIV']),
    _s('snmp_community', default='public', max_length=16),
    _s('snmp_username', blank=True, default='', max_length=100),
    _s('snmp_authentication_password', blank=True, default='', max_length=100),
    _s('snmp_privacy_password', blank=True, default='', max_length=100),
    _s('snmp_system_contact', default='admin@domain.com', max_length=70),
    _s('snmp_system_location', default='Virtual machine', max_length=70),
]

WORKER_VM = Resource('worker_vm', 'configuration', [
    _s('name', required=True, max_length=32, unique=True, filtering=ALL, help_text='The name of the Conferencing Node.'),
    _s('hostname', required=True, max_length=63, unique=True, filtering=ALL),
    _s('domain', required=True, max_length=192, filtering=ALL),
    _s('address', required=True, unique=True, fmt='ipv4', filtering=ALL, help_text="The node's private IPv4 address."),
    _s('netmask', required=True, fmt='ipv4'),
    _s('gateway', required=True, fmt='ipv4'),
    _s('ipv6_address', nullable=True, default=None, fmt='ipv6'),
    _s('ipv6_gateway', nullable=True, default=None, fmt='ipv6'),
    _s('secondary_address', nullable=True, default=None, fmt='ipv4', help_text='Leave empty on AWS.'),
    _s('secondary_netmask', nullable=True, default=None, fmt='ipv4', help_text='Leave empty on AWS.'),
    _s('static_nat_address', nullable=True, default=None, fmt='ipv4', filtering=ALL),
    Field('system_location', related='system_location', required=True, filtering=EXACT),
    _s('node_type', default='CONFERENCING', choices=['CONFERENCING', 'PROXYING'], filtering=EXACT,
       help_text='CONFERENCING (transcoding) or PROXYING (Proxying Edge Node).'),
    Field('transcoding', 'boolean', default=True, help_text='Deprecated: use node_type.'),
    _s('deployment_type', nullable=True, default=None, write_only=True,
       choices=['MANUAL-PROVISION-ONLY', 'MANUAL-ESXI', 'MANUAL-HYPERV', 'MANUAL-KVM', 'MANUAL-XEN', 'VMWARE', 'HYPERV'],
       help_text='MANUAL-PROVISION-ONLY ("Generic (configuration-only)") answers the create with the bootstrap XML document.'),
    _s('password', required=True, write_only=True, max_length=255,
       help_text='SSH password for user admin; a SHA-512 crypt string ($6$...) is expected. Never returned.'),
    Field('maintenance_mode', 'boolean', default=False, filtering=EXACT),
    _s('maintenance_mode_reason', blank=True, default='', max_length=250),
    Field('enable_distributed_database', 'boolean', default=True, filtering=EXACT, help_text='Disable for bursting nodes.'),
    _s('enable_ssh', default='GLOBAL', choices=['GLOBAL', 'ON', 'OFF']),
    Field('ssh_authorized_keys', related='ssh_authorized_key', to_many=True),
    Field('ssh_authorized_keys_use_cloud', 'boolean', default=True),
    Field('static_routes', related='static_route', to_many=True),
    Field('tls_certificate', related='tls_certificate', nullable=True, default=None),
    _s('alternative_fqdn', blank=True, default='', max_length=255),
    _s('description', blank=True, default='', max_length=250, filtering=ALL),
    Field('media_priority_weight', 'integer', nullable=True, default=None, min_value=0),
    Field('vm_cpu_count', 'integer', default=4, min_value=1),
    Field('vm_system_memory', 'integer', default=4096, min_value=1),
    *SNMP_FIELDS,
    Field('tls_client_certificate', related='tls_certificate', nullable=True, default=None),
    Field('cloud_bursting', 'boolean', readonly=True, computed=True, default=False,
          help_text='Set by Infinity: the node is an EC2 instance tagged pexip-cloud with the bursting tag value.'),
], 'Worker vm', check=_check_worker_vm)

GLOBAL = Resource('global', 'configuration', [
    Field('bursting_enabled', 'boolean', default=False, help_text='Enable bursting to the cloud.'),
    Field('bursting_threshold', 'integer', default=5, min_value=1, help_text='Free HD calls at or below which an overflow node is started.'),
    Field('bursting_min_lifetime', 'integer', default=50, min_value=5, help_text='Minutes an overflow node stays up at least.'),
    _s('cloud_provider', default='AWS', choices=['AWS', 'AZURE', 'GCP']),
    _s('aws_access_key', blank=True, default='', max_length=40),
    _s('aws_secret_key', blank=True, default='', max_length=100, write_only=True, help_text='Write-only: never returned.'),
    _s('deployment_uuid', blank=True, default='', max_length=64),
], 'Global', list_methods=('get',), detail_methods=('get', 'put', 'patch'), singleton=True, ordering=[])

PIN_RE = re.compile(r'^\d{4,20}#?$')


def _check_pins(values, errors):
    for name in ('pin', 'guest_pin'):
        if values.get(name) and name not in errors and not PIN_RE.match(values[name]):
            errors.setdefault(name, []).append('PINs are 4 to 20 digits (a terminal # allowed), got %r.' % values[name])
    if values.get('guest_pin') and not values.get('pin'):
        errors.setdefault('guest_pin', []).append('A Guest PIN needs a Host PIN.')
    elif values.get('guest_pin') and values['guest_pin'] == values.get('pin'):
        errors.setdefault('guest_pin', []).append('The Guest PIN must differ from the Host PIN.')


def _check_conference(values, data, existing, errors, ctx):  # pylint: disable=unused-argument
    _check_pins(values, errors)


def _check_certificate(values, data, existing, errors, ctx):  # pylint: disable=unused-argument
    from . import certs  # pylint: disable=import-outside-toplevel
    if errors:
        return
    try:
        chain = certs.load_chain(values['certificate'])
        if 'private_key' in values:
            certs.check_key(chain[0], values['private_key'], values.get('private_key_passphrase'))
    except certs.CertError as exc:
        errors.setdefault('private_key' if 'key' in str(exc) else 'certificate', []).append(str(exc))
        return
    values.update(certs.describe(chain[0]))


def _check_management_vm(values, data, existing, errors, ctx):  # pylint: disable=unused-argument
    fqdn = values.get('alternative_fqdn')
    if not fqdn or errors:
        return
    cert = ctx.store.get('tls_certificate', values.get('tls_certificate')) if values.get('tls_certificate') else None
    names = {cert['subject_name']} | set(cert['subject_alt_names'].split(', ')) if cert else set()
    if fqdn not in names:
        errors.setdefault('alternative_fqdn', []).append("'%s' is not an identity in the Management Node's TLS certificate." % fqdn)


MANAGEMENT_VM = Resource('management_vm', 'configuration', [
    _s('name', required=True, max_length=32, unique=True, filtering=ALL),
    _s('description', blank=True, default='', max_length=250),
    _s('address', required=True, fmt='ipv4', filtering=ALL),
    _s('netmask', required=True, fmt='ipv4'),
    _s('gateway', required=True, fmt='ipv4'),
    _s('hostname', required=True, max_length=63, filtering=ALL),
    _s('domain', required=True, max_length=192, filtering=ALL),
    _s('alternative_fqdn', blank=True, default='', max_length=255, help_text='Must match an identity in its TLS certificate.'),
    _s('ipv6_address', nullable=True, default=None, fmt='ipv6'),
    _s('ipv6_gateway', nullable=True, default=None, fmt='ipv6'),
    Field('mtu', 'integer', default=1500, min_value=512, max_value=1500),
    _s('static_nat_address', nullable=True, default=None, fmt='ipv4'),
    Field('dns_servers', related='dns_server', to_many=True, full=True),
    Field('ntp_servers', related='ntp_server', to_many=True, full=True),
    Field('syslog_servers', related='syslog_server', to_many=True),
    Field('static_routes', related='static_route', to_many=True),
    Field('event_sinks', related='event_sink', to_many=True),
    Field('http_proxy', related='http_proxy', nullable=True, default=None),
    Field('tls_certificate', related='tls_certificate', nullable=True, default=None),
    Field('tls_client_certificate', related='tls_certificate', nullable=True, default=None),
    _s('enable_ssh', default='GLOBAL', choices=['GLOBAL', 'ON', 'OFF']),
    Field('ssh_authorized_keys', related='ssh_authorized_key', to_many=True),
    Field('ssh_authorized_keys_use_cloud', 'boolean', default=True),
    _s('secondary_config_passphrase', blank=True, default='', max_length=100),
    *SNMP_FIELDS,
    Field('snmp_network_management_system', related='snmp_network_management_system', nullable=True, default=None),
    Field('initializing', 'boolean', readonly=True, default=False),
    Field('primary', 'boolean', readonly=True, default=False, filtering=EXACT, help_text='The Management Node the API runs on.'),
], 'Management vm', check=_check_management_vm)

LICENCE = Resource('licence', 'configuration', [
    _s('entitlement_id', required=True, write_only=True, max_length=100, help_text='Activates the licence; never returned.'),
    Field('offline_mode', 'boolean', default=False),
    _s('fulfillment_id', readonly=True, filtering=EXACT),
    _s('fulfillment_type', readonly=True), _s('product_id', readonly=True), _s('license_type', readonly=True),
    _s('features', readonly=True),
    Field('concurrent', 'integer', readonly=True), Field('concurrent_overdraft', 'integer', readonly=True),
    Field('activatable', 'integer', readonly=True), Field('activatable_overdraft', 'integer', readonly=True),
    Field('hybrid', 'integer', readonly=True), Field('hybrid_overdraft', 'integer', readonly=True),
    _s('start_date', readonly=True), _s('expiration_date', readonly=True), _s('status', readonly=True),
    _s('trust_flags', readonly=True), _s('repair', readonly=True), _s('server_chain', readonly=True),
    _s('vendor_dictionary', readonly=True),
], 'Licence', detail_methods=('get', 'delete'), id_type='string', key='fulfillment_id')

_PARSED = ('start_date', 'end_date', 'subject_name', 'subject_hash', 'subject_alt_names', 'raw_subject', 'issuer_name',
           'issuer_hash', 'raw_issuer', 'serial_no', 'key_id', 'issuer_key_id', 'text')
_FILTERED = ('subject_name', 'issuer_name', 'serial_no', 'subject_hash', 'issuer_hash')


def _parsed_fields():
    return [_s(name, readonly=True, filtering=ALL if name in _FILTERED else None) for name in _PARSED]


TLS_CERTIFICATE = Resource('tls_certificate', 'configuration', [
    _s('certificate', required=True, help_text='PEM; may carry the chain after the server certificate.'),
    _s('private_key', required=True, write_only=True, help_text='PEM; never returned.'),
    _s('private_key_passphrase', blank=True, default='', max_length=100, write_only=True),
    _s('parameters', blank=True, default='', max_length=1000),
    Field('nodes', related='worker_vm', to_many=True, readonly=True,
          help_text='Always empty: a certificate is attached by setting the tls_certificate of a worker_vm or management_vm.'),
] + _parsed_fields(), 'Tls certificate', check=_check_certificate)


def _check_signing_request(values, data, existing, errors, ctx):  # pylint: disable=unused-argument
    """A new request: the Management Node makes the key (kept in the record, never returned) and the CSR. A signed
    certificate written back must be for that key."""
    from . import certs  # pylint: disable=import-outside-toplevel
    if errors:
        return
    if existing is None:
        if values['private_key_type'] == 'UPLOAD':
            errors.setdefault('private_key_type', []).append('The simulator makes its own keys; UPLOAD is not simulated.')
            return
        try:
            values['private_key'], values['csr'] = certs.signing_request(values)
        except ValueError as exc:
            errors.setdefault('dn', []).append(str(exc))
        return
    if data.get('certificate'):
        try:
            certs.check_key(certs.load_chain(values['certificate'])[0], values['private_key'], None)
        except certs.CertError as exc:
            errors.setdefault('certificate', []).append(str(exc))


CERTIFICATE_SIGNING_REQUEST = Resource('certificate_signing_request', 'configuration', [
    _s('subject_name', required=True, max_length=250, filtering=ALL),
    _s('dn', blank=True, default='', max_length=250),
    _s('additional_subject_alt_names', blank=True, default='', help_text='Comma-separated.'),
    _s('private_key_type', default='RSA2048', choices=['RSA2048', 'RSA4096', 'ECDSAP256', 'UPLOAD']),
    _s('private_key', blank=True, default='', write_only=True, help_text='PEM, only with UPLOAD; the generated key stays here.'),
    _s('private_key_passphrase', blank=True, default='', max_length=100, write_only=True),
    Field('ad_compatible', 'boolean', default=False),
    Field('eku_client_auth', 'boolean', default=False),
    Field('eku_server_auth', 'boolean', default=True),
    Field('tls_certificate', related='tls_certificate', nullable=True, default=None, help_text='The certificate this CSR renews.'),
    _s('csr', readonly=True, help_text='The generated CSR (PEM).'),
    _s('certificate', blank=True, default='', help_text='The signed certificate (PEM), written back.'),
], 'Certificate signing request', detail_methods=('get', 'patch', 'delete'), check=_check_signing_request)

CA_CERTIFICATE = Resource('ca_certificate', 'configuration', [
    _s('certificate', required=True),
    Field('trusted_intermediate', 'boolean', default=False),
] + _parsed_fields(), 'Ca certificate', check=_check_certificate)

SERVICE_TYPES = ['conference', 'lecture', 'two_stage_dialing', 'test_call', 'media_playback']
CONFERENCE = Resource('conference', 'configuration', [
    _s('name', required=True, max_length=250, unique=True, filtering=ALL),
    _s('service_type', default='conference', choices=SERVICE_TYPES, filtering=EXACT),
    _s('description', blank=True, default='', max_length=250),
    _s('pin', blank=True, default='', max_length=21, help_text='4-20 digits, a terminal # allowed.'),
    _s('guest_pin', blank=True, default='', max_length=21, help_text='Needs a host PIN and must differ from it.'),
    Field('allow_guests', 'boolean', default=False),
    Field('aliases', related='conference_alias', to_many=True, full=True, computed=True,
          help_text='Nested {alias, description} objects; written as a list replaces all aliases.'),
    Field('participant_limit', 'integer', nullable=True, default=None, min_value=0),
    _s('host_view', default='one_main_seven_pips', max_length=50),
    _s('guest_view', nullable=True, default=None, max_length=50),
    _s('call_type', default='video', choices=['video', 'video-only', 'audio']),
    _s('crypto_mode', nullable=True, default=None, choices=['besteffort', 'on', 'off']),
    Field('max_callrate_in', 'integer', nullable=True, default=None, min_value=0),
    Field('max_callrate_out', 'integer', nullable=True, default=None, min_value=0),
    _s('primary_owner_email_address', blank=True, default='', max_length=100),
    Field('ivr_theme', related='ivr_theme', nullable=True, default=None),
    _s('creation_time', readonly=True),
], 'Conference', check=_check_conference)

CONFERENCE_ALIAS = Resource('conference_alias', 'configuration', [
    _s('alias', required=True, max_length=250, unique=True, filtering=ALL, help_text='Unique across the platform.'),
    Field('conference', related='conference', required=True, filtering=EXACT),
    _s('description', blank=True, default='', max_length=250),
    _s('creation_time', readonly=True),
], 'Conference alias')

# A backup file on the Management Node, made by command/v1/platform/backup_create/ (pexsim/backup.py); keyed by filename
# as Pexip's SDK does. Downloading its file is UNCONFIRMED: the lab serves it at its backup request's download_uri.
SYSTEM_BACKUP = Resource('system_backup', 'configuration', [
    _s('filename', readonly=True, filtering=ALL), _s('date', readonly=True), _s('build', readonly=True),
    _s('version', readonly=True), Field('size', 'integer', readonly=True), _s('sha256sum', readonly=True),
    _s('type', readonly=True),
], 'System backup', list_methods=('get',), detail_methods=('get', 'delete'), id_type='string', key='filename', ordering=[])


def _check_autobackup(values, data, existing, errors, ctx):  # pylint: disable=unused-argument
    url = values.get('autobackup_upload_url') or ''
    if 'autobackup_upload_url' in data and 'autobackup_upload_url' not in errors and url and not re.match(r'^ftps?://[^/\s]+', url, re.I):
        errors.setdefault('autobackup_upload_url', []).append('Only FTP and FTPS upload URLs are supported (ftp://host/path or ftps://...).')
    if values.get('autobackup_enabled') and not values.get('autobackup_passphrase') and 'autobackup_enabled' not in errors:
        errors.setdefault('autobackup_passphrase', []).append('A passphrase is required when automatic backups are enabled.')


# Whether a GET returns the passphrase and the password is not published: the lab never returns them (the stricter reading).
AUTOBACKUP = Resource('autobackup', 'configuration', [
    Field('autobackup_enabled', 'boolean', default=False),
    Field('autobackup_interval', 'integer', default=24, min_value=1, max_value=24, help_text='Hours between backups (1-24).'),
    Field('autobackup_start_hour', 'integer', default=1, min_value=0, max_value=23, help_text='Hour of the first backup (0-23, UTC).'),
    _s('autobackup_passphrase', blank=True, default='', max_length=100, write_only=True),
    _s('autobackup_upload_url', blank=True, default='', max_length=255, help_text='FTP or FTPS only.'),
    _s('autobackup_upload_username', blank=True, default='', max_length=100),
    _s('autobackup_upload_password', blank=True, default='', max_length=100, write_only=True),
], 'Autobackup', list_methods=('get',), detail_methods=('get', 'put', 'patch'), singleton=True, ordering=[], check=_check_autobackup)

CONFIG_RESOURCES = {r.name: r for r in (SYSTEM_LOCATION, WORKER_VM, DNS_SERVER, NTP_SERVER, GLOBAL, MANAGEMENT_VM, LICENCE,
                                        TLS_CERTIFICATE, CA_CERTIFICATE, CONFERENCE, CONFERENCE_ALIAS, SYSTEM_BACKUP, AUTOBACKUP,
                                        CERTIFICATE_SIGNING_REQUEST)}


def _ro(name, ftype='string', filtering=None, **kw):
    return Field(name, ftype, readonly=True, nullable=kw.pop('nullable', True), filtering=filtering, **kw)


def _status(name, fields, verbose, id_type='integer'):
    return Resource(name, 'status', fields, verbose, list_methods=('get',), detail_methods=('get',), id_type=id_type)


LICENSING_FIELDS = ('port_count', 'port_total', 'audio_count', 'audio_total', 'system_count', 'system_total', 'vmr_count', 'vmr_total')
STATUS_RESOURCES = {r.name: r for r in (
    _status('worker_vm', [
        _ro('name', filtering=ALL), _ro('node_type', filtering=EXACT), _ro('system_location', filtering=ALL),
        _ro('configuration_id', 'integer', filtering=EXACT), _ro('boot_time', 'datetime'), _ro('last_attempted_contact', 'datetime'),
        _ro('last_updated', 'datetime', filtering=['isnull']), _ro('deploy_status', filtering=EXACT), _ro('sync_status', filtering=EXACT),
        _ro('upgrade_status'), _ro('version'), _ro('maintenance_mode', 'boolean', filtering=EXACT), _ro('maintenance_mode_reason'),
        _ro('media_load', 'integer'), _ro('media_tokens_used', 'integer'), _ro('signaling_count', 'integer'),
        _ro('max_hd_calls', 'integer'), _ro('max_sd_calls', 'integer'), _ro('max_audio_calls', 'integer'), _ro('max_full_hd_calls', 'integer'),
        _ro('cpu_count', 'integer'), _ro('total_ram', 'integer', help_text='RAM in MiB (unit UNCONFIRMED).'), _ro('hypervisor'),
    ], 'Worker vm'),
    _status('participant', [
        _ro('media_node', filtering=ALL), _ro('signalling_node', filtering=ALL), _ro('proxy_node', filtering=ALL),
        _ro('conference', filtering=ALL), _ro('system_location', filtering=ALL), _ro('call_uuid', filtering=EXACT),
        _ro('protocol', filtering=EXACT), _ro('role', filtering=EXACT), _ro('connect_time', 'datetime'),
    ], 'Participant', id_type='string'),
    _status('conference_shard', [
        _ro('node', filtering=ALL), _ro('conference', filtering=ALL), _ro('system_location', filtering=ALL),
        _ro('is_started', 'boolean', filtering=EXACT), _ro('start_time', 'datetime'),
    ], 'Conference shard', id_type='string'),
    _status('cloud_node', [
        _ro('cloud_instance_id', filtering=EXACT), _ro('cloud_instance_ip', filtering=ALL), _ro('cloud_instance_name', filtering=ALL),
        _ro('cloud_instance_state', filtering=EXACT), _ro('cloud_instance_launch_time', 'datetime'), _ro('max_hd_calls', 'integer'),
        _ro('media_load', 'integer'), _ro('workervm_configuration_id', 'integer', filtering=EXACT),
        _ro('workervm_configuration_name', filtering=ALL), _ro('workervm_configuration_location_name', filtering=ALL),
    ], 'Cloud node', id_type='string'),
    _status('cloud_monitored_location', [
        _ro('name', filtering=ALL), _ro('free_hd_calls', 'integer'), _ro('max_hd_calls', 'integer'), _ro('media_load', 'integer'),
        _ro('overflow_location', filtering=ALL),
    ], 'Cloud monitored location'),
    _status('management_vm', [
        _ro('name', filtering=ALL), _ro('primary', 'boolean', filtering=EXACT), _ro('configuration_id', 'integer', filtering=EXACT),
        _ro('version'), _ro('sync_status', filtering=EXACT), _ro('upgrade_status'), _ro('last_updated', 'datetime'),
        _ro('last_attempted_contact', 'datetime'),
    ], 'Management vm'),
    _status('licensing', [_ro(name, 'integer') for name in LICENSING_FIELDS] + [_ro('customlayouts_active', 'boolean')], 'Licensing'),
    _status('alarm', [
        _ro('level', filtering=EXACT), _ro('name', filtering=ALL), _ro('details'), _ro('instance', filtering=ALL), _ro('node', filtering=ALL),
        _ro('acknowledged', 'boolean', filtering=EXACT), _ro('time_raised', 'datetime'),
    ], 'Alarm'),
    _status('cloud_overflow_location', [
        _ro('name', filtering=ALL), _ro('free_hd_calls', 'integer'), _ro('max_hd_calls', 'integer'), _ro('media_load', 'integer'),
        _ro('systemlocation_id', 'integer', filtering=EXACT),
    ], 'Cloud overflow location'),
    # State values are UNCONFIRMED: the lab's are pexsim/backup.py's STATES.
    _status('backup_request', [
        _ro('created_at', 'datetime'), _ro('updated_at', 'datetime'), _ro('state'), _ro('message'), _ro('download_uri'),
    ], 'Backup request'),
)}

RESOURCES = {'configuration': CONFIG_RESOURCES, 'status': STATUS_RESOURCES}
