# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Schema conformance: the simulator serves only the published API (tests/lab/api_schema.yml).

Checked three ways: each resource's field table (schema documents), each served object after one of everything is
created, and the request log's record of the fields a client named (tests/integration/test_targets.py applies that to
every module target).
"""

import copy

import pytest

import apischema
import labcerts
from pexsim import resources

CFG = '/api/admin/configuration/v1/'
STATUS = '/api/admin/status/v1/'
SCHEMA = apischema.load()


def table_violations(schema, tables):
    """Fields of the simulator's resource tables outside the published API, or flagged differently."""
    found = []
    for api, by_name in tables.items():
        for name, resource in by_name.items():
            entry = apischema.spec(schema, api, name)
            if entry is None:
                found.append('%s/%s: not a published resource' % (api, name))
                continue
            for field_name, field in resource.fields.items():
                if field_name not in apischema.allowed(entry):
                    found.append('%s/%s.%s: not a published field' % (api, name, field_name))
                elif api == 'configuration' and field.write_only != (field_name in entry.get('write_only', [])):
                    found.append('%s/%s.%s: write-only in one and not the other' % (api, name, field_name))
                elif api == 'configuration' and field_name in entry.get('read_only', []) and not field.readonly:
                    found.append('%s/%s.%s: read-only in the API, writable in the simulator' % (api, name, field_name))
    return found


def test_every_resource_table_follows_the_published_api():
    assert table_violations(SCHEMA, resources.RESOURCES) == []


def test_an_invented_field_fails_the_check():
    # The check must be able to fail: the field this issue removed, put back, is reported.
    tables = copy.deepcopy(resources.RESOURCES)
    tables['configuration']['global'].fields['cloud_bursting_tag_value'] = resources.Field('cloud_bursting_tag_value', readonly=True)
    assert table_violations(SCHEMA, tables) == ['configuration/global.cloud_bursting_tag_value: not a published field']
    served = {'bursting_enabled': False, 'cloud_bursting_tag_value': 'mgr'}
    assert apischema.object_violations(SCHEMA, 'configuration', 'global', served) == ['configuration/global.cloud_bursting_tag_value']
    log = [{'method': 'PATCH', 'path': CFG + 'global/1/', 'fields': ['bursting_enabled', 'cloud_bursting_tag_value']},
           {'method': 'GET', 'path': CFG + 'worker_vm/?name__iexact=x&tag=y', 'fields': ['name', 'tag']}]
    assert apischema.request_violations(SCHEMA, log) == [
        'PATCH %sglobal/1/: cloud_bursting_tag_value' % CFG, 'GET %sworker_vm/?name__iexact=x&tag=y: tag' % CFG]


def test_schema_documents_list_only_published_fields(api):
    for api_name, base in (('configuration', CFG), ('status', STATUS)):
        for name in api.get(base).json():
            fields = api.get('%s%s/schema/' % (base, name)).json()['fields']
            entry = apischema.spec(SCHEMA, api_name, name)
            assert entry is not None, name
            assert set(fields) <= apischema.allowed(entry), (name, set(fields) - apischema.allowed(entry))


@pytest.mark.ec2
def test_served_objects_carry_only_published_fields(api, helpers, lab):
    """One of everything, then every list of both APIs checked field by field (nested objects too)."""
    loc = helpers.location('Schema', dns_servers=[], ntp_servers=[])
    dns = api.post('dns_server/', json={'address': '192.0.2.53'}).headers['Location']
    ntp = api.post('ntp_server/', json={'address': 'ntp.lab.example.com'}).headers['Location']
    api.patch('system_location/1/', json={'dns_servers': [dns.split(api.url, 1)[1]], 'ntp_servers': [ntp.split(api.url, 1)[1]]})
    _iid, address = helpers.launch()
    helpers.worker('schema-1', address, loc)
    ca = labcerts.make_ca()
    pair = labcerts.issue(ca, 'mgr-lab.lab.example.com', days=10)  # expires within 30 days: an alarm
    assert api.post('tls_certificate/', json={'certificate': pair.cert_pem, 'private_key': pair.key_pem}).status_code == 201
    assert api.post('ca_certificate/', json={'certificate': ca.cert_pem}).status_code == 201
    assert api.post('certificate_signing_request/', json={'subject_name': 'csr.lab.example.com', 'private_key_type': 'ECDSAP256'}).status_code == 201
    assert api.post('licence/', json={'entitlement_id': 'LAB-PORT-0010-7F3A', 'offline_mode': False}).status_code == 201
    assert api.post('conference/', json={'name': 'Schema VMR', 'pin': '1234', 'aliases': [{'alias': 'schema@lab'}]}).status_code == 201
    lab.place_calls(address, count=1, force=True)
    api.post('/_lab/timing', json={'backup_delay': 0})
    assert api.post('/api/admin/command/v1/platform/backup_create/', json={'passphrase': 'p', 'request': True}).status_code == 202
    found = []
    for api_name, base in (('configuration', CFG), ('status', STATUS)):
        for name in api.get(base).json():
            objects = api.get('%s%s/?limit=0' % (base, name)).json()['objects']
            found += apischema.object_violations(SCHEMA, api_name, name, objects[0]) if objects else []
            assert objects or name in ('cloud_node', 'cloud_monitored_location', 'cloud_overflow_location', 'alarm'), name
    assert found == []


def test_request_log_names_the_fields_a_client_sent(api):
    api.post('system_location/', json={'name': 'Logged', 'invented_field': 1})
    api.get('system_location/?name__iexact=logged&order_by=-mtu')
    log = [entry for entry in api.get('/_lab/requests').json() if 'system_location' in entry['path']]
    assert [entry['fields'] for entry in log] == [['invented_field', 'name'], ['mtu', 'name']]
    assert apischema.request_violations(SCHEMA, log) == ['POST %ssystem_location/: invented_field' % CFG]
    api.delete('/_lab/requests')
    assert [entry['fields'] for entry in api.get('/_lab/fields').json()] == [['invented_field', 'name'], ['mtu', 'name']]
