# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Backups in the simulator: backup_create, backup_request states, system_backup, the download, autobackup."""

import hashlib
import json

import pytest
import requests

from conftest import wait_for
from pexsim import backup

CFG = '/api/admin/configuration/v1/'
STATUS = '/api/admin/status/v1/'
CREATE = '/api/admin/command/v1/platform/backup_create/'


def _requests(api):
    return api.get(STATUS + 'backup_request/').json()['objects']


def test_backup_request_goes_through_its_states_and_files_the_configuration(api, pexsim):
    api.post('/_lab/timing', json={'backup_delay': 0.9})
    assert api.post('system_location/', json={'name': 'Backed up'}).status_code == 201
    answer = api.post(CREATE, json={'passphrase': 'correct horse', 'request': True})
    assert answer.status_code == 202
    first = _requests(api)
    assert len(first) == 1 and first[0]['state'] in ('QUEUED', 'RUNNING') and first[0]['download_uri'] is None
    assert api.get('system_backup/').json()['objects'] == []
    seen = {first[0]['state']}
    done = wait_for(lambda: seen.add(_requests(api)[0]['state']) or _requests(api)[0]['state'] == 'COMPLETED' and _requests(api)[0],
                    timeout=5, interval=0.1)
    assert 'RUNNING' in seen
    listed = api.get('system_backup/').json()['objects']
    assert len(listed) == 1
    entry = listed[0]
    assert set(entry) == {'filename', 'date', 'build', 'version', 'size', 'sha256sum', 'type', 'resource_uri'}
    assert done['download_uri'] == entry['resource_uri'] + 'download/'
    assert api.get('system_backup/%s/' % entry['filename']).json() == entry
    blob = api.get(done['download_uri']).content
    assert len(blob) == entry['size'] and hashlib.sha256(blob).hexdigest() == entry['sha256sum']
    # the file holds the configuration (a restore could put it back), sealed with the passphrase
    content = json.loads(backup.unseal(blob, 'correct horse'))
    assert 'Backed up' in [loc['name'] for loc in content['configuration']['system_location']]
    assert b'Backed up' not in blob
    with pytest.raises(ValueError):
        backup.unseal(blob, 'wrong')
    # the file download needs the admin credentials
    assert api.get(done['download_uri'], auth=('admin', 'nope')).status_code == 401


def test_backup_create_refuses_a_missing_passphrase_and_a_foreground_request(api):
    assert api.post(CREATE, json={'request': True}).status_code == 400
    assert api.post(CREATE, json={'passphrase': 'x' * 1001, 'request': True}).status_code == 400
    assert api.post(CREATE, json={'passphrase': 'p'}).status_code == 400
    assert api.get(CREATE).status_code == 405
    assert _requests(api) == []


def test_a_deleted_backup_is_gone_with_its_file(api):
    api.post('/_lab/timing', json={'backup_delay': 0})
    api.post(CREATE, json={'passphrase': 'p', 'request': True})
    done = wait_for(lambda: _requests(api)[0]['state'] == 'COMPLETED' and _requests(api)[0])
    name = api.get('system_backup/').json()['objects'][0]['filename']
    assert api.delete('system_backup/%s/' % name).status_code == 204
    assert api.get('system_backup/').json()['objects'] == []
    assert api.get(done['download_uri']).status_code == 404
    assert _requests(api)[0]['download_uri'] is None
    assert api.delete('system_backup/%s/' % name).status_code == 404
    assert api.post('system_backup/', json={}).status_code == 405


def test_autobackup_singleton_validates_and_never_returns_secrets(api):
    settings = api.get('autobackup/1/').json()
    assert settings['autobackup_enabled'] is False and settings['autobackup_interval'] == 24 and settings['autobackup_start_hour'] == 1
    assert 'autobackup_passphrase' not in settings and 'autobackup_upload_password' not in settings
    assert api.patch('autobackup/1/', json={'autobackup_upload_url': 'sftp://backup.example.com/x'}).status_code == 400
    assert api.patch('autobackup/1/', json={'autobackup_enabled': True}).status_code == 400  # no passphrase
    assert api.patch('autobackup/1/', json={'autobackup_interval': 25}).status_code == 400
    assert api.patch('autobackup/1/', json={'autobackup_enabled': True, 'autobackup_passphrase': 'p', 'autobackup_interval': 6,
                                            'autobackup_upload_url': 'ftps://backup.example.com/pexip/', 'autobackup_upload_password': 'pw'}).status_code == 202
    settings = api.get('autobackup/1/').json()
    assert settings['autobackup_enabled'] is True and settings['autobackup_upload_url'] == 'ftps://backup.example.com/pexip/'
    assert 'pw' not in json.dumps(settings) and 'autobackup_passphrase' not in settings
    # the stored passphrase still counts: a later PATCH need not repeat it
    assert api.patch('autobackup/1/', json={'autobackup_interval': 12}).status_code == 202
    assert api.post('autobackup/', json={}).status_code == 405


# -- restore ---------------------------------------------------------------------------------------------------------
RESTORE = '/api/admin/command/v1/platform/backup_restore/'


def _take(api, passphrase='pp'):
    api.post('/_lab/timing', json={'backup_delay': 0})
    api.post(CREATE, json={'passphrase': passphrase, 'request': True})
    done = wait_for(lambda: _requests(api) and _requests(api)[-1]['state'] == 'COMPLETED' and _requests(api)[-1])
    return api.get(done['download_uri']).content


def _restore(api, blob, passphrase='pp'):
    return api.post(RESTORE, files={'package': ('b.pexbak', blob, 'application/octet-stream')}, data={'passphrase': passphrase})


def test_restore_replaces_the_configuration_then_the_management_node_restarts(api, pexsim):
    assert api.post('system_location/', json={'name': 'Before'}).status_code == 201
    blob = _take(api)
    assert api.post('system_location/', json={'name': 'After'}).status_code == 201
    api.delete('system_location/1/')
    api.post('/_lab/timing', json={'restore_delay': 0.6})
    answer = _restore(api, blob)
    assert answer.status_code == 202 and answer.json() == {'status': 'success'}
    # restarting: the connection drops, no answer at all
    with pytest.raises(requests.exceptions.ConnectionError):
        api.get('system_location/')
    names = wait_for(lambda: _answers(api, 'system_location/'), timeout=5, interval=0.1)
    assert [loc['name'] for loc in names] == ['Before']
    # the backups on the Management Node's disk are not configuration: they stay
    assert len(api.get('system_backup/').json()['objects']) == 1
    # new objects do not reuse restored ids
    assert api.post('system_location/', json={'name': 'Later'}).status_code == 201
    assert sorted(loc['id'] for loc in api.get('system_location/').json()['objects']) == [1, 3]


def _answers(api, path):
    try:
        return api.get(path).json()['objects']
    except requests.exceptions.ConnectionError:
        return None


@pytest.mark.parametrize('case', ['wrong passphrase', 'other version', 'json body', 'no file', 'no passphrase'])
def test_restore_refuses_and_changes_nothing(api, pexsim, case):
    api.post('system_location/', json={'name': 'Kept'})
    blob = _take(api)
    api.post('system_location/', json={'name': 'Newer'})
    if case == 'wrong passphrase':
        answer = _restore(api, blob, 'nope')
    elif case == 'other version':
        pexsim.sim.version = '35.0.0'
        answer = _restore(api, blob)
    elif case == 'json body':
        answer = api.post(RESTORE, json={'package': 'x', 'passphrase': 'pp'})
    elif case == 'no file':
        answer = api.post(RESTORE, files={'other': ('b', blob)}, data={'passphrase': 'pp'})
    else:
        answer = api.post(RESTORE, files={'package': ('b', blob)})
    assert answer.status_code == 400, answer.text
    assert {'other version': 'taken on version 34.0.0; this Management Node runs 35.0.0', 'wrong passphrase': 'could not be decrypted'}.get(
        case, '') in answer.text
    assert sorted(loc['name'] for loc in api.get('system_location/').json()['objects']) == ['Kept', 'Newer']


def test_fresh_install_forgets_the_configuration_but_not_the_nodes(api, pexsim):
    api.post('system_location/', json={'name': 'Gone'})
    pexsim.sim.store.nodes['i-1'] = {'instance_id': 'i-1', 'configured': True, 'worker_vm_id': 1, 'private_ip': '127.0.0.9', 'state': 'running'}
    pexsim.sim.fresh_install()
    assert api.get('system_location/').json()['objects'] == []
    assert [vm['primary'] for vm in api.get('management_vm/').json()['objects']] == [True]
    assert pexsim.sim.store.nodes['i-1']['configured'] is True


def test_restore_keeps_ids_going_and_orphans_the_nodes_the_backup_does_not_know(api, pexsim):
    for name in ('One', 'Two', 'Three'):
        api.post('system_location/', json={'name': name})
    api.delete('system_location/3/')
    blob = _take(api)
    store = pexsim.sim.store
    store.nodes['i-gone'] = {'instance_id': 'i-gone', 'configured': True, 'worker_vm_id': 7, 'private_ip': '127.0.0.9', 'state': 'terminated'}
    pexsim.sim.fresh_install()
    api.post('/_lab/timing', json={'restore_delay': 0})
    assert _restore(api, blob).status_code == 202
    # a fresh install started the ids again; the restore brings back the backup's: 3 is not handed out twice
    assert api.post('system_location/', json={'name': 'Four'}).status_code == 201
    assert sorted(loc['id'] for loc in api.get('system_location/').json()['objects']) == [1, 2, 4]
    assert store.nodes['i-gone']['configured'] is True and store.nodes['i-gone']['worker_vm_id'] is None
