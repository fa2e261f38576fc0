# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The simulated Management Node API: auth, Tastypie conventions, validation, schemas, the bootstrap document."""

import xml.etree.ElementTree as ET

import pytest
import requests

CFG = '/api/admin/configuration/v1/'
STATUS = '/api/admin/status/v1/'


def _worker(helpers, loc, name='node1', address='127.20.1.10', **fields):
    return helpers.worker_body(name, address, loc, **fields)


# ----- authentication and routing -----------------------------------------------------------------------------

@pytest.mark.parametrize('auth', [None, ('admin', 'wrong'), ('someone', 'pexsim')])
def test_bad_credentials_get_401(api, auth):
    response = requests.get(api.url + CFG + 'system_location/', auth=auth, verify=api.ca_path, timeout=10)
    assert response.status_code == 401
    assert response.headers['WWW-Authenticate'].startswith('Basic')


def test_garbled_authorization_header_gets_401(api):
    response = requests.get(api.url + CFG, headers={'Authorization': 'Basic !!!notbase64'}, verify=api.ca_path, timeout=10)
    assert response.status_code == 401


def test_index_lists_resources(api):
    index = api.get(CFG).json()
    assert set(index) == {'system_location', 'worker_vm', 'dns_server', 'ntp_server', 'global', 'management_vm', 'licence', 'tls_certificate',
                          'ca_certificate', 'conference', 'conference_alias', 'system_backup', 'autobackup',
                          'certificate_signing_request'}
    assert index['worker_vm'] == {'list_endpoint': CFG + 'worker_vm/', 'schema': CFG + 'worker_vm/schema/'}
    status = api.get(STATUS).json()
    assert {'worker_vm', 'participant', 'conference_shard', 'cloud_node', 'cloud_monitored_location', 'cloud_overflow_location'} <= set(status)
    assert 'start_cloudnode' in api.get('/api/admin/command/v1/').json()


@pytest.mark.parametrize('path', [CFG + 'nope/', CFG + 'system_location/99/', CFG + 'system_location/abc/', CFG + 'system_location',
                                  '/api/admin/history/v1/', '/elsewhere/', STATUS + 'worker_vm/42/'])
def test_unknown_paths_and_ids_get_404(api, path):
    assert api.get(path).status_code == 404


def test_missing_objects_404_on_every_verb(api):
    assert api.patch(CFG + 'system_location/7/', json={'description': 'x'}).status_code == 404
    assert api.put(CFG + 'system_location/7/', json={'description': 'x'}).status_code == 404
    assert api.delete(CFG + 'system_location/7/').status_code == 404


@pytest.mark.parametrize('method,path', [
    ('PUT', CFG + 'system_location/'), ('DELETE', CFG + 'system_location/'), ('PATCH', CFG + 'worker_vm/'),
    ('POST', CFG + 'system_location/1/'), ('POST', CFG + 'global/'), ('DELETE', CFG + 'global/1/'),
    ('POST', STATUS + 'worker_vm/'), ('DELETE', STATUS + 'worker_vm/1/'), ('PATCH', STATUS + 'participant/'),
    ('POST', CFG + 'worker_vm/schema/'), ('POST', CFG), ('GET', '/api/admin/command/v1/platform/start_cloudnode/'),
])
def test_disallowed_verbs_get_405(api, helpers, method, path):
    helpers.location('loc')
    response = api.request(method, path, json={})
    assert response.status_code == 405
    assert 'Allow' in response.headers


# ----- create / read / update / delete ---------------------------------------------------------------------------

def test_create_returns_201_location_and_empty_body(api):
    response = api.post('system_location/', json={'name': 'Oslo', 'mtu': 1400})
    assert response.status_code == 201
    assert response.content == b''
    assert response.headers['Location'] == api.url + CFG + 'system_location/1/'
    obj = api.get('system_location/1/').json()
    assert obj['name'] == 'Oslo' and obj['mtu'] == 1400 and obj['id'] == 1
    assert obj['resource_uri'] == CFG + 'system_location/1/'
    assert obj['overflow_location1'] is None and obj['dns_servers'] == []


def test_patch_202_put_204_delete_204(api):
    api.post('system_location/', json={'name': 'Oslo'})
    response = api.patch('system_location/1/', json={'description': 'primary'})
    assert response.status_code == 202 and response.content == b''
    assert api.get('system_location/1/').json()['description'] == 'primary'
    response = api.put('system_location/1/', json={'name': 'Bergen', 'mtu': 1300})
    assert response.status_code == 204
    obj = api.get('system_location/1/').json()
    assert (obj['name'], obj['mtu'], obj['description']) == ('Bergen', 1300, 'primary')
    assert api.delete('system_location/1/').status_code == 204
    assert api.get('system_location/1/').status_code == 404


def test_dns_and_ntp_servers_are_written_as_uris_and_returned_nested(api):
    api.post('dns_server/', json={'address': '127.0.0.53', 'description': 'resolver'})
    api.post('ntp_server/', json={'address': 'ntp.lab.example'})
    api.post('system_location/', json={'name': 'Oslo', 'dns_servers': [CFG + 'dns_server/1/'], 'ntp_servers': [CFG + 'ntp_server/1/']})
    obj = api.get('system_location/1/').json()
    assert obj['dns_servers'] == [{'id': 1, 'address': '127.0.0.53', 'description': 'resolver', 'resource_uri': CFG + 'dns_server/1/'}]
    assert obj['ntp_servers'][0]['address'] == 'ntp.lab.example'
    # Deleting a DNS server takes it out of the location, as a many-to-many relation does.
    assert api.delete('dns_server/1/').status_code == 204
    assert api.get('system_location/1/').json()['dns_servers'] == []


def test_location_in_use_cannot_be_deleted(api, helpers):
    loc = helpers.location('Oslo')
    overflow = helpers.location('Burst')
    api.patch(loc, json={'overflow_location1': overflow})
    helpers.worker('node1', '127.20.1.10', loc)
    response = api.delete(loc)
    assert response.status_code == 400
    assert 'node1' in response.json()['error']
    # An overflow reference does not block deletion; it is cleared.
    assert api.delete(overflow).status_code == 204
    assert api.get(loc).json()['overflow_location1'] is None


# ----- validation ----------------------------------------------------------------------------------------------

def test_required_fields(api):
    response = api.post('worker_vm/', json={})
    assert response.status_code == 400
    errors = response.json()['worker_vm']
    for field in ('name', 'hostname', 'domain', 'address', 'netmask', 'gateway', 'system_location', 'password'):
        assert errors[field] == ['This field is required.']
    assert 'node_type' not in errors


@pytest.mark.parametrize('resource,body,field,fragment', [
    ('system_location', {'name': 'x' * 251}, 'name', 'at most 250 characters'),
    ('system_location', {'name': 'a', 'mtu': 511}, 'mtu', 'greater than or equal to 512'),
    ('system_location', {'name': 'a', 'mtu': 1501}, 'mtu', 'less than or equal to 1500'),
    ('system_location', {'name': 'a', 'media_qos': 64}, 'media_qos', 'less than or equal to 63'),
    ('system_location', {'name': 'a', 'signalling_qos': -1}, 'signalling_qos', 'greater than or equal to 0'),
    ('system_location', {'name': 'a', 'mtu': 'big'}, 'mtu', 'must be an integer'),
    ('system_location', {'name': 'a', 'overflow_location1': CFG + 'system_location/99/'}, 'overflow_location1', 'Could not find'),
    ('system_location', {'name': 'a', 'dns_servers': [CFG + 'dns_server/5/']}, 'dns_servers', 'Could not find'),
    ('system_location', {'name': 'a', 'dns_servers': CFG + 'dns_server/5/'}, 'dns_servers', 'list'),
    ('system_location', {'name': 'a', 'policy_server': CFG + 'policy_server/1/'}, 'policy_server', 'Could not find'),
    ('system_location', {'name': None}, 'name', 'cannot be null'),
    ('system_location', {'name': ''}, 'name', 'cannot be blank'),
    ('dns_server', {'address': 'not-an-ip'}, 'address', 'valid IPv4 or IPv6'),
    ('worker_vm', {'name': 'x' * 33}, 'name', 'at most 32'),
    ('worker_vm', {'hostname': 'h' * 64}, 'hostname', 'at most 63'),
    ('worker_vm', {'address': '127.20.1.300'}, 'address', 'valid IPv4'),
    ('worker_vm', {'netmask': 'ffff'}, 'netmask', 'valid IPv4'),
    ('worker_vm', {'node_type': 'TRANSCODING'}, 'node_type', 'not a valid choice'),
    ('worker_vm', {'enable_ssh': 'MAYBE'}, 'enable_ssh', 'not a valid choice'),
    ('worker_vm', {'maintenance_mode': 'perhaps'}, 'maintenance_mode', 'True or False'),
    ('worker_vm', {'system_location': '/api/admin/configuration/v1/system_location/42/'}, 'system_location', 'Could not find'),
    ('worker_vm', {'system_location': 'Oslo'}, 'system_location', 'Could not find'),
    ('worker_vm', {'deployment_type': 'MANUAL-ESXI'}, 'deployment_type', 'Only MANUAL-PROVISION-ONLY'),
    ('worker_vm', {'deployment_type': 'FLOPPY'}, 'deployment_type', 'not a valid choice'),
])
def test_field_errors(api, helpers, resource, body, field, fragment):
    if resource == 'worker_vm':
        loc = helpers.location('Oslo')
        body = dict(_worker(helpers, loc), **body)
    response = api.post(resource + '/', json=body)
    assert response.status_code == 400, response.text
    messages = response.json()[resource][field]
    assert any(fragment in message for message in messages), messages
    assert api.get(resource + '/').json()['meta']['total_count'] == 0, 'a refused write stores nothing'


@pytest.mark.parametrize('field,value', [('name', 'node1'), ('hostname', 'node1'), ('address', '127.20.1.10')])
def test_unique_worker_fields(api, helpers, field, value):
    loc = helpers.location('Oslo')
    helpers.worker('node1', '127.20.1.10', loc)
    body = _worker(helpers, loc, name='node2', address='127.20.1.11', hostname='node2')
    body[field] = value
    response = api.post('worker_vm/', json=body)
    assert response.status_code == 400
    assert response.json()['worker_vm'][field] == ['Worker vm with this %s already exists.' % field.capitalize()]


def test_unique_check_ignores_the_object_itself(api, helpers):
    loc = helpers.location('Oslo')
    assert api.patch(loc, json={'name': 'Oslo', 'description': 'same name'}).status_code == 202
    helpers.location('Bergen')
    response = api.patch(loc, json={'name': 'Bergen'})
    assert response.status_code == 400
    assert response.json()['system_location']['name'] == ['System location with this Name already exists.']


def test_malformed_json_and_wrong_content_type(api):
    response = api.post('system_location/', data='{"name": ', headers={'Content-Type': 'application/json'})
    assert response.status_code == 400 and 'Malformed JSON' in response.json()['error']
    response = api.post('system_location/', data='[1, 2]', headers={'Content-Type': 'application/json'})
    assert response.status_code == 400 and 'error' in response.json()
    response = api.post('system_location/', data='name=x', headers={'Content-Type': 'application/x-www-form-urlencoded'})
    assert response.status_code == 400 and 'deserialization' in response.json()['error']


def test_unknown_fields_are_ignored_unless_strict(api, lab):
    assert api.post('system_location/', json={'name': 'Oslo', 'colour': 'blue'}).status_code == 201
    assert 'colour' not in api.get('system_location/1/').json()
    lab.set_timing(strict_fields=True)
    response = api.post('system_location/', json={'name': 'Bergen', 'colour': 'blue'})
    assert response.status_code == 400 and 'colour' in response.json()['system_location']


def test_readonly_fields_are_ignored_on_write(api):
    api.post('system_location/', json={'name': 'Oslo', 'id': 77, 'resource_uri': '/elsewhere/'})
    assert api.get('system_location/1/').json()['id'] == 1


# ----- worker_vm specifics ---------------------------------------------------------------------------------------

def test_worker_defaults_and_secrets_never_returned(api, helpers):
    loc = helpers.location('Oslo')
    wid, _document = helpers.worker('node1', '127.20.1.10', loc)
    obj = api.get('worker_vm/%d/' % wid).json()
    assert 'password' not in obj and 'deployment_type' not in obj
    assert obj['node_type'] == 'CONFERENCING' and obj['enable_ssh'] == 'GLOBAL'
    assert obj['enable_distributed_database'] is True and obj['maintenance_mode'] is False
    assert obj['system_location'] == loc
    listed = api.get('worker_vm/').json()['objects'][0]
    assert 'password' not in listed and 'deployment_type' not in listed


def test_bootstrap_document_on_create(api, helpers):
    loc = helpers.location('Oslo')
    response = api.post('worker_vm/', json=_worker(helpers, loc, name='node1', hostname='conf01', node_type='PROXYING'))
    assert response.status_code == 201
    assert response.headers['Content-Type'].startswith('text/xml')
    assert response.headers['Content-Disposition'] == 'attachment; filename=pexip-conf01.lab.example.xml'
    assert response.headers['Location'].endswith(CFG + 'worker_vm/1/')
    root = ET.fromstring(response.content)
    node = root.find('node')
    assert node.findtext('hostname') == 'conf01' and node.findtext('address') == '127.20.1.10'
    assert node.findtext('node-type') == 'PROXYING' and node.findtext('system-location') == 'Oslo'
    assert root.find('management-node').get('address') == '127.0.0.1'
    assert len(root.findtext('secret')) >= 32
    # The document cannot be fetched again.
    assert api.get('worker_vm/1/').headers['Content-Type'] == 'application/json'


def test_worker_without_deployment_type_gets_no_document(api, helpers):
    loc = helpers.location('Oslo')
    body = _worker(helpers, loc)
    del body['deployment_type']
    response = api.post('worker_vm/', json=body)
    assert response.status_code == 201 and response.content == b''


def test_plain_password_is_accepted(api, helpers):
    loc = helpers.location('Oslo')
    assert api.post('worker_vm/', json=_worker(helpers, loc, password='plain-text')).status_code == 201


# ----- lists: pagination, filters, ordering -----------------------------------------------------------------------

def test_pagination_over_45_objects(api):
    for index in range(45):
        assert api.post('system_location/', json={'name': 'loc-%02d' % index}).status_code == 201
    first = api.get('system_location/').json()
    assert first['meta'] == {'limit': 20, 'offset': 0, 'total_count': 45, 'previous': None,
                             'next': CFG + 'system_location/?limit=20&offset=20'}
    assert [o['name'] for o in first['objects']] == ['loc-%02d' % i for i in range(20)]
    second = api.get(first['meta']['next']).json()
    assert second['meta']['offset'] == 20 and len(second['objects']) == 20
    assert second['meta']['previous'] == CFG + 'system_location/?limit=20&offset=0'
    third = api.get(second['meta']['next']).json()
    assert len(third['objects']) == 5 and third['meta']['next'] is None
    page = api.get('system_location/?limit=10&offset=40').json()
    assert [o['name'] for o in page['objects']] == ['loc-%02d' % i for i in range(40, 45)]
    assert page['meta']['previous'] == CFG + 'system_location/?limit=10&offset=30'
    everything = api.get('system_location/?limit=0').json()
    assert len(everything['objects']) == 45 and everything['meta']['next'] is None
    beyond = api.get('system_location/?offset=100').json()
    assert beyond['objects'] == [] and beyond['meta']['total_count'] == 45


def test_next_link_keeps_filters(api):
    for index in range(25):
        api.post('system_location/', json={'name': 'site-%02d' % index})
    meta = api.get('system_location/?name__startswith=site&limit=10').json()['meta']
    assert meta['next'] == CFG + 'system_location/?name__startswith=site&limit=10&offset=10'


@pytest.mark.parametrize('query', ['limit=-1', 'limit=abc', 'offset=-5', 'offset=x'])
def test_bad_pagination_params_get_400(api, query):
    response = api.get('system_location/?' + query)
    assert response.status_code == 400 and 'error' in response.json()


def test_filters(api, helpers):
    oslo = helpers.location('Oslo')
    bergen = helpers.location('Bergen')
    helpers.worker('Oslo-Conf-1', '127.20.1.10', oslo, hostname='oslo-conf-1')
    helpers.worker('Oslo-Edge-1', '127.20.1.11', oslo, hostname='oslo-edge-1', node_type='PROXYING')
    helpers.worker('Bergen-Conf-1', '127.20.1.12', bergen, hostname='bergen-conf-1', maintenance_mode=True)

    def names(query):
        response = api.get('worker_vm/?' + query)
        assert response.status_code == 200, response.text
        return sorted(o['name'] for o in response.json()['objects'])

    assert names('name=Oslo-Conf-1') == ['Oslo-Conf-1']
    assert names('name=oslo-conf-1') == []
    assert names('name__iexact=oslo-conf-1') == ['Oslo-Conf-1']
    assert names('name__icontains=conf') == ['Bergen-Conf-1', 'Oslo-Conf-1']
    assert names('name__contains=conf') == []
    assert names('name__startswith=Oslo') == ['Oslo-Conf-1', 'Oslo-Edge-1']
    assert names('hostname=bergen-conf-1') == ['Bergen-Conf-1']
    assert names('hostname__icontains=EDGE') == ['Oslo-Edge-1']
    assert names('address=127.20.1.11') == ['Oslo-Edge-1']
    assert names('address__icontains=1.1') == ['Bergen-Conf-1', 'Oslo-Conf-1', 'Oslo-Edge-1']
    assert names('address__startswith=127.20.1.1') == ['Bergen-Conf-1', 'Oslo-Conf-1', 'Oslo-Edge-1']
    assert names('id=2') == ['Oslo-Edge-1']
    assert names('system_location=%s' % bergen.rstrip('/').rsplit('/', 1)[1]) == ['Bergen-Conf-1']
    assert names('system_location=%s' % oslo) == ['Oslo-Conf-1', 'Oslo-Edge-1']
    assert names('node_type=PROXYING') == ['Oslo-Edge-1']
    assert names('maintenance_mode=true') == ['Bergen-Conf-1']
    assert names('maintenance_mode=false&name__startswith=Oslo') == ['Oslo-Conf-1', 'Oslo-Edge-1']
    assert names('order_by=-name&limit=1') == ['Oslo-Edge-1']
    ordered = api.get('worker_vm/?order_by=-name').json()['objects']
    assert [o['name'] for o in ordered] == ['Oslo-Edge-1', 'Oslo-Conf-1', 'Bergen-Conf-1']


@pytest.mark.parametrize('query', ['colour=blue', 'password=x', 'node_type__icontains=PROX', 'name__regex=.*', 'id=abc',
                                   'maintenance_mode=perhaps', 'order_by=password'])
def test_bad_filters_get_400(api, query):
    response = api.get('worker_vm/?' + query)
    assert response.status_code == 400
    assert 'error' in response.json()


def test_status_lists_filter_and_paginate_too(api):
    assert api.get(STATUS + 'worker_vm/').json() == {
        'meta': {'limit': 20, 'next': None, 'offset': 0, 'previous': None, 'total_count': 0}, 'objects': []}
    assert api.get(STATUS + 'participant/?conference=x').status_code == 200
    assert api.get(STATUS + 'participant/?nonsense=x').status_code == 400


# ----- schema documents ----------------------------------------------------------------------------------------

def test_schema_documents(api):
    schema = api.get('worker_vm/schema/').json()
    assert schema['allowed_list_http_methods'] == ['get', 'post']
    assert schema['allowed_detail_http_methods'] == ['get', 'put', 'patch', 'delete']
    assert schema['default_format'] == 'application/json' and schema['default_limit'] == 20
    fields = schema['fields']
    assert fields['node_type']['valid_choices'] == ['CONFERENCING', 'PROXYING'] and fields['node_type']['default'] == 'CONFERENCING'
    assert fields['system_location']['type'] == 'related' and fields['system_location']['related_type'] == 'to_one'
    assert fields['name']['unique'] is True and fields['id']['readonly'] is True
    assert fields['enable_distributed_database']['default'] is True
    assert 'password' in fields and fields['password']['type'] == 'string'
    assert schema['filtering']['name'] == 1 and schema['filtering']['node_type'] == ['exact', 'in']
    location = api.get('system_location/schema/').json()['fields']
    assert location['dns_servers']['related_type'] == 'to_many'
    assert location['overflow_location1']['nullable'] is True
    glob = api.get('global/schema/').json()
    assert glob['allowed_list_http_methods'] == ['get'] and glob['allowed_detail_http_methods'] == ['get', 'put', 'patch']
    assert glob['fields']['bursting_min_lifetime']['default'] == 50
    assert 'cloud_bursting_tag_value' not in glob['fields']  # invented: the tag value is the primary management_vm's hostname
    assert glob['fields']['cloud_provider']['valid_choices'] == ['AWS', 'AZURE', 'GCP']
    status = api.get(STATUS + 'worker_vm/schema/').json()
    assert status['allowed_list_http_methods'] == ['get'] and all(f['readonly'] for f in status['fields'].values())


# ----- the global singleton -----------------------------------------------------------------------------------

def test_global_singleton(api):
    listed = api.get('global/').json()
    assert listed['meta']['total_count'] == 1
    obj = api.get('global/1/').json()
    assert obj == listed['objects'][0]
    assert obj['bursting_enabled'] is False and obj['bursting_min_lifetime'] == 50 and obj['cloud_provider'] == 'AWS'
    assert 'aws_secret_key' not in obj
    assert api.get('global/2/').status_code == 404
    response = api.patch('global/1/', json={'bursting_enabled': True, 'bursting_threshold': 3, 'aws_access_key': 'AKIA' + 'X' * 16,
                                            'aws_secret_key': 'secret'})
    assert response.status_code == 202
    obj = api.get('global/1/').json()
    assert obj['bursting_enabled'] is True and obj['bursting_threshold'] == 3 and 'aws_secret_key' not in obj
    assert api.put('global/1/', json={'bursting_min_lifetime': 10}).status_code == 204
    for body, field in [({'bursting_threshold': 0}, 'bursting_threshold'), ({'bursting_min_lifetime': 4}, 'bursting_min_lifetime'),
                        ({'cloud_provider': 'OCI'}, 'cloud_provider'), ({'aws_access_key': 'A' * 41}, 'aws_access_key')]:
        response = api.patch('global/1/', json=body)
        assert response.status_code == 400 and field in response.json()['global']
