# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The initial platform configuration's resources: management_vm, licences, certificates, VMRs and aliases, alarms."""

import pytest

import labcerts
from pexsim.sim import LAB_ENTITLEMENTS

CFG = '/api/admin/configuration/v1/'
STATUS = '/api/admin/status/v1/'
PORTS = 'LAB-PORT-0010-7F3A'


def _path(response, api):
    return response.headers['Location'].split(api.url, 1)[1]


@pytest.fixture(scope='module')
def ca():
    return labcerts.make_ca()


# ----- management_vm ------------------------------------------------------------------------------------------

def test_primary_management_vm_describes_the_lab_node_on_its_default_certificate(api):
    listed = api.get('management_vm/').json()
    assert listed['meta']['total_count'] == 1
    mgr = listed['objects'][0]
    assert mgr['primary'] is True and mgr['hostname'] == 'mgr-lab' and mgr['domain'] == 'lab.example.com'
    assert mgr['address'] == '127.0.0.1' and mgr['tls_certificate'] == CFG + 'tls_certificate/1/'
    assert mgr['dns_servers'] == [] and mgr['snmp_mode'] == 'DISABLED'
    default = api.get('tls_certificate/1/').json()
    assert default['subject_name'] == 'mgr-lab.lab.example.com' and default['issuer_name'] == default['subject_name']
    assert 'private_key' not in default
    status = api.get(STATUS + 'management_vm/').json()['objects']
    assert status[0]['primary'] is True and status[0]['version'] and status[0]['configuration_id'] == 1


def test_management_vm_dns_ntp_nat_and_readonly_primary(api):
    dns = _path(api.post('dns_server/', json={'address': '192.0.2.53'}), api)
    ntp = _path(api.post('ntp_server/', json={'address': 'ntp.lab.example.com'}), api)
    response = api.patch('management_vm/1/', json={'dns_servers': [dns], 'ntp_servers': [ntp], 'static_nat_address': '198.51.100.7',
                                                   'primary': False})
    assert response.status_code == 202
    mgr = api.get('management_vm/1/').json()
    assert [s['address'] for s in mgr['dns_servers']] == ['192.0.2.53'] and mgr['ntp_servers'][0]['resource_uri'] == ntp
    assert mgr['static_nat_address'] == '198.51.100.7' and mgr['primary'] is True
    assert api.patch('management_vm/1/', json={'static_nat_address': 'nat'}).json() == {
        'management_vm': {'static_nat_address': ['Enter a valid IPv4 address.']}}
    assert api.patch('management_vm/1/', json={'snmp_mode': 'LOUD'}).status_code == 400
    assert api.delete('management_vm/1/').status_code == 400


def test_a_deleted_server_leaves_the_management_node_and_the_locations(api):
    ntp = _path(api.post('ntp_server/', json={'address': '192.0.2.123'}), api)
    location = _path(api.post('system_location/', json={'name': 'NTP user', 'ntp_servers': [ntp]}), api)
    assert api.patch('management_vm/1/', json={'ntp_servers': [ntp]}).status_code == 202
    assert api.delete(ntp).status_code == 204
    assert api.get('management_vm/1/').json()['ntp_servers'] == []
    assert api.get(location).json()['ntp_servers'] == []
    assert api.delete(location).status_code == 204


def test_alternative_fqdn_must_be_in_the_certificate(api, ca):
    response = api.patch('management_vm/1/', json={'alternative_fqdn': 'pexip.lab.example.com'})
    assert response.status_code == 400 and 'alternative_fqdn' in response.json()['management_vm']
    pair = labcerts.issue(ca, 'mgr-lab.lab.example.com', extra_names=('pexip.lab.example.com',))
    cert = _path(api.post('tls_certificate/', json={'certificate': pair.cert_pem, 'private_key': pair.key_pem}), api)
    assert api.patch('management_vm/1/', json={'tls_certificate': cert, 'alternative_fqdn': 'pexip.lab.example.com'}).status_code == 202
    assert api.delete(cert).json() == {'error': "Cannot delete TLS certificate 'mgr-lab.lab.example.com': it is in use by mgr-lab."}


# ----- licences -------------------------------------------------------------------------------------------------

def test_licence_activation_keyed_by_fulfillment_id_and_deactivation(api):
    response = api.post('licence/', json={'entitlement_id': PORTS, 'offline_mode': False})
    assert response.status_code == 201 and response.content == b''
    path = _path(response, api)
    licence = api.get(path).json()
    assert path == CFG + 'licence/%s/' % licence['fulfillment_id'] and licence['resource_uri'] == path
    assert 'entitlement_id' not in licence and 'id' not in licence
    assert licence['concurrent'] == LAB_ENTITLEMENTS[PORTS]['concurrent'] and licence['status'] == 'ACTIVE'
    totals = api.get(STATUS + 'licensing/').json()['objects'][0]
    assert totals['port_total'] == 10 and totals['vmr_total'] == 0
    again = api.post('licence/', json={'entitlement_id': PORTS, 'offline_mode': False})
    assert again.status_code == 400 and licence['fulfillment_id'] in again.json()['licence']['entitlement_id'][0]
    assert api.patch(path, json={'offline_mode': True}).status_code == 405  # immutable once activated
    assert api.delete(path).status_code == 204
    assert api.get(path).status_code == 404
    assert api.get(STATUS + 'licensing/').json()['objects'][0]['port_total'] == 0


@pytest.mark.parametrize('body', [{'entitlement_id': 'NOT-A-REAL-ID'}, {'offline_mode': False}, {'entitlement_id': ''}])
def test_unknown_or_missing_entitlement_is_400_and_nothing_is_activated(api, body):
    response = api.post('licence/', json=body)
    assert response.status_code == 400 and 'entitlement_id' in response.json()['licence']
    assert api.get('licence/').json()['meta']['total_count'] == 0


# ----- certificates ------------------------------------------------------------------------------------------------

def test_tls_certificate_fields_are_parsed_by_the_server(api, ca):
    pair = labcerts.issue(ca, 'cn-lon-1.lab.example.com', extra_names=('cn-lon-1',), passphrase='s3cret pass')
    body = {'certificate': pair.cert_pem + ca.cert_pem, 'private_key': pair.key_pem, 'private_key_passphrase': 's3cret pass',
            'subject_name': 'ignored: read-only'}
    path = _path(api.post('tls_certificate/', json=body), api)
    cert = api.get(path).json()
    assert cert['subject_name'] == 'cn-lon-1.lab.example.com' and cert['issuer_name'] == 'Pexip lab operator CA'
    assert cert['subject_alt_names'] == 'cn-lon-1.lab.example.com, cn-lon-1'
    assert cert['serial_no'] == format(pair.cert.serial_number, 'x') and cert['raw_issuer'] == 'CN=Pexip lab operator CA'
    assert cert['end_date'].startswith(pair.cert.not_valid_after_utc.strftime('%Y-%m-%d')) and cert['nodes'] == []
    assert 'private_key' not in cert and 'private_key_passphrase' not in cert
    listed = api.get('tls_certificate/?subject_name=cn-lon-1.lab.example.com').json()['objects']
    assert [c['resource_uri'] for c in listed] == [path]


@pytest.mark.parametrize('case', ['mismatched key', 'garbage certificate', 'garbage key', 'wrong passphrase', 'missing passphrase'])
def test_bad_certificates_are_400_and_nothing_is_stored(api, ca, case):
    pair = labcerts.issue(ca, 'x.lab.example.com', passphrase='right' if 'passphrase' in case else None)
    other = labcerts.issue(ca, 'y.lab.example.com')
    body = {'certificate': pair.cert_pem, 'private_key': pair.key_pem}
    if case == 'mismatched key':
        body['private_key'] = other.key_pem
    elif case == 'garbage certificate':
        body['certificate'] = 'not a certificate'
    elif case == 'garbage key':
        body['private_key'] = '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n'
    elif case == 'wrong passphrase':
        body['private_key_passphrase'] = 'wrong'
    response = api.post('tls_certificate/', json=body)
    assert response.status_code == 400, response.text
    errors = response.json()['tls_certificate']
    assert list(errors) == ['certificate' if 'certificate' in case else 'private_key']
    assert api.get('tls_certificate/').json()['meta']['total_count'] == 1  # only the default one


def test_node_certificate_is_set_through_worker_vm(api, helpers, ca):
    loc = helpers.location('Certs')
    wid, _doc = helpers.worker('cn-cert', '127.20.9.10', loc, domain='lab.example.com')
    pair = labcerts.issue(ca, 'cn-cert.lab.example.com')
    cert = _path(api.post('tls_certificate/', json={'certificate': pair.cert_pem, 'private_key': pair.key_pem}), api)
    assert api.patch('worker_vm/%d/' % wid, json={'tls_certificate': cert}).status_code == 202
    assert api.get('worker_vm/%d/' % wid).json()['tls_certificate'] == cert
    assert api.patch('worker_vm/%d/' % wid, json={'tls_certificate': CFG + 'tls_certificate/99/'}).status_code == 400


def test_tls_certificate_is_replaced_in_place(api, ca):
    """PATCH of a tls_certificate: a renewed certificate and its key, same URI, so the Management Node keeps it."""
    renewed = labcerts.issue(ca, 'mgr-lab.lab.example.com', days=400)
    assert api.patch('tls_certificate/1/', json={'certificate': renewed.cert_pem}).status_code == 400  # the old key is not its key
    assert api.patch('tls_certificate/1/', json={'certificate': renewed.cert_pem, 'private_key': renewed.key_pem}).status_code == 202
    cert = api.get('tls_certificate/1/').json()
    assert cert['serial_no'] == format(renewed.cert.serial_number, 'x') and cert['issuer_name'] == 'Pexip lab operator CA'
    assert api.get('management_vm/1/').json()['tls_certificate'] == CFG + 'tls_certificate/1/'


def test_signing_request_keeps_its_key_and_installs_the_signed_certificate(api, ca):
    from cryptography import x509  # pylint: disable=import-outside-toplevel
    body = {'subject_name': 'mgr-lab.lab.example.com', 'additional_subject_alt_names': 'pexip.lab.example.com',
            'private_key_type': 'ECDSAP256', 'tls_certificate': CFG + 'tls_certificate/1/'}
    path = _path(api.post('certificate_signing_request/', json=body), api)
    request = api.get(path).json()
    assert 'private_key' not in request and request['certificate'] == ''
    csr = x509.load_pem_x509_csr(request['csr'].encode())
    names = csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName)
    assert names == ['mgr-lab.lab.example.com', 'pexip.lab.example.com']
    other = labcerts.issue(ca, 'mgr-lab.lab.example.com')
    assert list(api.patch(path, json={'certificate': other.cert_pem}).json()['certificate_signing_request']) == ['certificate']
    signed = labcerts.sign(ca, request['csr'], days=300)
    assert api.patch(path, json={'certificate': signed}).status_code == 202
    cert = api.get('tls_certificate/1/').json()  # UNCONFIRMED: replaced in place (sim.SIGNED_CERTIFICATE_REPLACES_IN_PLACE)
    assert cert['issuer_name'] == 'Pexip lab operator CA' and cert['subject_alt_names'] == 'mgr-lab.lab.example.com, pexip.lab.example.com'
    assert api.get('tls_certificate/').json()['meta']['total_count'] == 1
    assert api.post('certificate_signing_request/', json={'subject_name': 'x', 'dn': 'not a dn'}).status_code == 400


def test_ca_certificate(api, ca):
    path = _path(api.post('ca_certificate/', json={'certificate': ca.cert_pem, 'trusted_intermediate': False}), api)
    obj = api.get(path).json()
    assert obj['subject_name'] == 'Pexip lab operator CA' and obj['trusted_intermediate'] is False and 'nodes' not in obj
    assert api.post('ca_certificate/', json={'certificate': '-----BEGIN CERTIFICATE-----\nxx\n-----END CERTIFICATE-----'}).status_code == 400


# ----- VMRs and aliases -----------------------------------------------------------------------------------------------

def test_conference_with_nested_aliases(api):
    response = api.post('conference/', json={'name': 'Board room', 'pin': '1234', 'guest_pin': '5678', 'allow_guests': True,
                                             'aliases': [{'alias': 'board@lab.example.com', 'description': 'SIP'}, {'alias': '8001'}]})
    assert response.status_code == 201, response.text
    path = _path(response, api)
    vmr = api.get(path).json()
    assert vmr['service_type'] == 'conference' and vmr['creation_time']
    assert [(a['alias'], a['description'], a['conference']) for a in vmr['aliases']] == [
        ('board@lab.example.com', 'SIP', path), ('8001', '', path)]
    # Aliases are unique across the platform, through either resource.
    taken = api.post('conference/', json={'name': 'Other', 'aliases': [{'alias': '8001'}]})
    assert taken.status_code == 400 and 'aliases' in taken.json()['conference']
    dup = api.post('conference_alias/', json={'alias': 'board@lab.example.com', 'conference': path})
    assert dup.json() == {'conference_alias': {'alias': ['Conference alias with this Alias already exists.']}}
    assert api.post('conference_alias/', json={'alias': '8002', 'conference': path}).status_code == 201
    assert api.patch(path, json={'aliases': [{'alias': '8003'}]}).status_code == 202
    assert [a['alias'] for a in api.get(path).json()['aliases']] == ['8003']
    assert api.delete(path).status_code == 204
    assert api.get('conference_alias/').json()['meta']['total_count'] == 0
    assert api.get('conference/').json()['meta']['total_count'] == 0


@pytest.mark.parametrize('body,field', [
    ({'pin': '12ab'}, 'pin'), ({'pin': '123'}, 'pin'), ({'guest_pin': '5678'}, 'guest_pin'),
    ({'pin': '1234', 'guest_pin': '1234'}, 'guest_pin'), ({'service_type': 'party'}, 'service_type'),
])
def test_bad_pins_are_400(api, body, field):
    response = api.post('conference/', json=dict(body, name='Bad'))
    assert response.status_code == 400 and field in response.json()['conference'], response.text
    assert api.get('conference/').json()['meta']['total_count'] == 0


def test_pin_with_terminal_hash_is_accepted(api):
    assert api.post('conference/', json={'name': 'Hash', 'pin': '123456#'}).status_code == 201


# ----- alarms -----------------------------------------------------------------------------------------------------------

def test_certificate_expiring_within_30_days_raises_an_alarm(api, ca):
    assert api.get(STATUS + 'alarm/').json()['objects'] == []
    pair = labcerts.issue(ca, 'soon.lab.example.com', days=20)
    api.post('tls_certificate/', json={'certificate': pair.cert_pem, 'private_key': pair.key_pem})
    alarms = api.get(STATUS + 'alarm/').json()['objects']
    assert len(alarms) == 1 and alarms[0]['level'] == 'warning' and alarms[0]['instance'] == 'soon.lab.example.com'
    assert alarms[0]['acknowledged'] is False and alarms[0]['time_raised']


@pytest.mark.ec2
def test_node_that_lost_contact_raises_an_alarm(api, helpers, ec2):
    loc = helpers.location('Alarms')
    iid, address, wid = helpers.deploy('cn-alarm', loc)
    assert api.get(STATUS + 'alarm/').json()['objects'] == []
    ec2.stop_instances(InstanceIds=[iid])
    helpers.wait_status(wid, lambda s: s['sync_status'] == 'UNKNOWN')
    alarms = api.get(STATUS + 'alarm/').json()['objects']
    assert [(a['level'], a['instance'], a['node']) for a in alarms] == [('error', 'cn-alarm', address)]
