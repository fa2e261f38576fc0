# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Backups: command/v1/platform/backup_create/, status/v1/backup_request/ and configuration/v1/system_backup/.

Lab conventions for what the published API leaves open (docs/lab.md, UNCONFIRMED):

- a backup runs as a background request: ``request`` must be true; the command answers 202 ``{"status": "success"}``;
- the request's ``state`` goes QUEUED -> RUNNING -> COMPLETED over the ``backup_delay`` timing knob (a third queued);
- the COMPLETED request's ``download_uri`` is the path of the backup's file on the Management Node (GET, admin
  credentials): ``<system_backup detail URI>download/``; the system_backup entry appears at completion;
- the file is the platform's configuration at the command (every configuration object but the backups, and the
  Conferencing Nodes' bootstrap secrets), sealed with the passphrase (``unseal`` opens it), ``type`` is ``manual``;
- ``command/v1/platform/backup_restore/`` takes a multipart/form-data form: the file in the field ``package``, the
  ``passphrase`` as a plain field (``form``); a JSON body is refused. The file must open with the passphrase and be of
  the version the Management Node runs (400 otherwise: nothing changes); then the answer is 202 ``{"status":
  "success"}``, the backup's configuration replaces the whole configuration (the backups list stays), and the
  Management Node restarts: for ``restore_delay`` seconds every API request has its connection dropped, and every
  Conferencing Node the backup names syncs again afterwards (``sync_delay`` after the restart).
"""

import base64
import email.parser
import email.policy
import hashlib
import hmac
import json
import os

from . import status
from .resources import CONFIG_RESOURCES
from .sim import ApiError

STATES = ('QUEUED', 'RUNNING', 'COMPLETED')
MAGIC = b'PEXSIM-BACKUP-1\n'
KDF_ROUNDS = 20000
BUILD = '78930.0.0'
DOWNLOAD = 'download'
PASSPHRASE_MAX = 1000
#: UNCONFIRMED (docs/lab.md): how backup_restore takes the file - a multipart form, the file in this field
PACKAGE_FIELD = 'package'


def _keystream(key, length):
    out, counter = bytearray(), 0
    while len(out) < length:
        out += hashlib.sha256(key + counter.to_bytes(8, 'big')).digest()
        counter += 1
    return bytes(out[:length])


def _key(passphrase, salt):
    return hashlib.pbkdf2_hmac('sha256', passphrase.encode('utf-8'), salt, KDF_ROUNDS)


def seal(payload, passphrase):
    """``payload`` encrypted and authenticated with the passphrase (a lab format, not Pexip's)."""
    salt = os.urandom(16)
    key = _key(passphrase, salt)
    body = bytes(a ^ b for a, b in zip(payload, _keystream(key, len(payload))))
    return MAGIC + salt + hmac.new(key, body, hashlib.sha256).digest() + body


def unseal(blob, passphrase):
    """The payload of a sealed file; ValueError when it is not one or the passphrase is wrong."""
    if not blob.startswith(MAGIC):
        raise ValueError('not a lab backup file')
    salt, tag, body = blob[len(MAGIC):len(MAGIC) + 16], blob[len(MAGIC) + 16:len(MAGIC) + 48], blob[len(MAGIC) + 48:]
    key = _key(passphrase, salt)
    if not hmac.compare_digest(tag, hmac.new(key, body, hashlib.sha256).digest()):
        raise ValueError('wrong passphrase or damaged file')
    return bytes(a ^ b for a, b in zip(body, _keystream(key, len(body))))


def configuration(sim):
    """The platform's configuration as a backup holds it: every configuration object but the backups."""
    objects = sim.store.data['objects']
    return {name: [objects[name][oid] for oid in sorted(objects[name], key=str)] for name in sorted(objects) if name != 'system_backup'}


def create(sim, data, now):
    """POST command/v1/platform/backup_create/: queue a backup request; the caller holds the lock."""
    passphrase = data.get('passphrase')
    if not isinstance(passphrase, str) or not passphrase:
        raise ApiError(400, {'backup_create': {'passphrase': ['This field is required.']}})
    if len(passphrase) > PASSPHRASE_MAX:
        raise ApiError(400, {'backup_create': {'passphrase': ['Ensure this value has at most %d characters (it has %d).' % (
            PASSPHRASE_MAX, len(passphrase))]}})
    if data.get('request') is not True:
        raise ApiError(400, {'error': 'The lab runs backups only as background requests: send "request": true.'})
    rid = len(sim.backup_requests) + 1
    stamp = status.iso(now).replace('-', '').replace(':', '').split('.')[0]
    secrets = {str(wid): meta['secret'] for wid, meta in sim.store.data['worker_meta'].items() if meta.get('secret')}
    payload = json.dumps({'format': 'pexsim-backup', 'version': sim.version, 'hostname': sim.mgmt_hostname, 'created': status.iso(now),
                          'configuration': configuration(sim), 'worker_secrets': secrets, 'next_id': dict(sim.store.data['next_id'])},
                         sort_keys=True).encode('utf-8')
    sim.backup_requests.append({'id': rid, 'created': now, 'filename': '%s_backup_%s_%d.pexbak' % (sim.mgmt_hostname, stamp, rid),
                                'file': seal(payload, passphrase), 'done': False})
    return rid


def _state(sim, request, now):
    delay = sim.timing['backup_delay']
    elapsed = now - request['created']
    if elapsed >= delay:
        return 'COMPLETED'
    return 'QUEUED' if elapsed < delay / 3.0 else 'RUNNING'


def advance(sim, now):
    """File every request that has completed by ``now`` as a system_backup entry; the caller holds the lock."""
    changed = False
    for request in sim.backup_requests:
        if not request['done'] and _state(sim, request, now) == 'COMPLETED':
            blob = request['file']
            sim.store.objects('system_backup')[request['filename']] = {
                'filename': request['filename'], 'date': status.iso(request['created'] + sim.timing['backup_delay']),
                'build': BUILD, 'version': sim.version, 'size': len(blob), 'sha256sum': hashlib.sha256(blob).hexdigest(),
                'type': 'manual', 'file': base64.b64encode(blob).decode('ascii')}
            request['done'] = True
            changed = True
    if changed:
        sim.store.save()


def download_uri(filename):
    return '/api/admin/configuration/v1/system_backup/%s/%s/' % (filename, DOWNLOAD)


def requests(sim, now):
    """status/v1/backup_request rows."""
    advance(sim, now)
    rows = []
    for request in sim.backup_requests:
        state = _state(sim, request, now)
        done = state == 'COMPLETED'
        # A backup deleted since has no file left to download.
        present = request['filename'] in sim.store.objects('system_backup')
        rows.append({'id': request['id'], 'created_at': status.iso(request['created']),
                     'updated_at': status.iso(request['created'] + (sim.timing['backup_delay'] if done else 0)),
                     'state': state, 'message': 'Backup completed.' if done else '',
                     'download_uri': download_uri(request['filename']) if done and present else None})
    return rows


def file_of(sim, filename):
    """The bytes of a stored backup; ApiError 404 when there is none."""
    backup = sim.store.objects('system_backup').get(filename)
    if backup is None:
        raise ApiError(404, None)
    return base64.b64decode(backup['file'])


def form(request):
    """The fields of a multipart/form-data body ({name: bytes}); ApiError 400 for anything else."""
    content_type = request.headers.get('Content-Type', '')
    if not content_type.startswith('multipart/form-data'):
        raise ApiError(400, {'error': 'backup_restore takes a multipart/form-data form: the backup file in the field "%s" and '
                                      'the "passphrase".' % PACKAGE_FIELD})
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b'Content-Type: ' + content_type.encode('latin-1') + b'\r\n\r\n' + request.body)
    if not message.is_multipart():
        raise ApiError(400, {'error': 'Malformed multipart/form-data body.'})
    return {part.get_param('name', header='content-disposition'): part.get_payload(decode=True) or b'' for part in message.iter_parts()}


def _field_error(field, text):
    return ApiError(400, {'backup_restore': {field: [text]}})


def restore(sim, fields, now):
    """POST command/v1/platform/backup_restore/: check the file, replace the configuration, restart; the caller holds the lock."""
    try:
        passphrase = (fields.get('passphrase') or b'').decode('utf-8')
    except UnicodeDecodeError:
        raise _field_error('passphrase', 'Not valid UTF-8.') from None
    if not passphrase:
        raise _field_error('passphrase', 'This field is required.')
    if len(passphrase) > PASSPHRASE_MAX:
        raise _field_error('passphrase', 'Ensure this value has at most %d characters (it has %d).' % (PASSPHRASE_MAX, len(passphrase)))
    package = fields.get(PACKAGE_FIELD)
    if not package:
        raise _field_error(PACKAGE_FIELD, 'No file was submitted.')
    try:
        content = json.loads(unseal(package, passphrase))
    except ValueError:
        raise ApiError(400, {'error': 'The backup could not be decrypted: the passphrase is wrong or the file is not a backup.'}) from None
    if content.get('version') != sim.version:
        raise ApiError(400, {'error': 'The backup was taken on version %s; this Management Node runs %s. A backup can only be restored '
                                      'on the version it was taken on.' % (content.get('version'), sim.version)})
    data = sim.store.data
    for name, resource in CONFIG_RESOURCES.items():
        if name == 'system_backup':
            continue  # files on this Management Node's disk, not configuration
        objects = {obj[resource.key]: obj for obj in content['configuration'].get(name, [])}
        data['objects'][name] = objects
        # Ids go on from where the backup's platform was (its database sequences come back with it).
        ids = [key for key in objects if isinstance(key, int)]
        data['next_id'][name] = max([data['next_id'].get(name, 1), content.get('next_id', {}).get(name, 1)] + [i + 1 for i in ids])
    back = now + sim.timing['restore_delay']
    data['worker_meta'] = {}
    for wid in data['objects']['worker_vm']:
        meta = sim.store.worker_meta(wid)
        meta['changed_at'] = back  # the restarted Management Node pushes the configuration to every node again
        secret = content.get('worker_secrets', {}).get(str(wid))
        if secret:
            meta['secret'] = secret
    for record in data['nodes'].values():
        if record.get('worker_vm_id') is not None and record['worker_vm_id'] not in data['objects']['worker_vm']:
            # A node the backup does not know stays configured but orphaned: it never reports, nor takes a later node's id.
            record['worker_vm_id'] = None
    sim.restarting_until = back
    sim.store.save()


def restarting(sim, now):
    """True while the Management Node restarts after a restore."""
    return now < (sim.restarting_until or 0)
