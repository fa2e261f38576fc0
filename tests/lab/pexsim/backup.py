# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Backups: command/v1/platform/backup_create/, status/v1/backup_request/ and configuration/v1/system_backup/.

Lab conventions for what the published API leaves open (docs/lab.md, UNCONFIRMED):

- a backup runs as a background request: ``request`` must be true; the command answers 202 ``{"status": "success"}``;
- the request's ``state`` goes QUEUED -> RUNNING -> COMPLETED over the ``backup_delay`` timing knob (a third queued);
- the COMPLETED request's ``download_uri`` is the path of the backup's file on the Management Node (GET, admin
  credentials): ``<system_backup detail URI>download/``; the system_backup entry appears at completion;
- the file is the platform's configuration at the command (every configuration object but the backups), sealed with
  the passphrase (``unseal`` opens it; a restore would), ``type`` is ``manual``.
"""

import base64
import hashlib
import hmac
import json
import os

from . import status
from .sim import ApiError

STATES = ('QUEUED', 'RUNNING', 'COMPLETED')
MAGIC = b'PEXSIM-BACKUP-1\n'
KDF_ROUNDS = 20000
BUILD = '78930.0.0'
DOWNLOAD = 'download'
PASSPHRASE_MAX = 1000


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
    payload = json.dumps({'format': 'pexsim-backup', 'version': sim.version, 'hostname': sim.mgmt_hostname, 'created': status.iso(now),
                          'configuration': configuration(sim)}, sort_keys=True).encode('utf-8')
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
