# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Simulator state and its JSON persistence.

What persists: configuration objects and id counters, per-worker_vm metadata (bootstrap secret, last config
change) and per-instance node records (configured flag, boot and report times).  Calls, faults, the request log
and timing knobs are runtime-only.
"""

import json
import os
import threading

from .resources import CONFIG_RESOURCES


def _int_keys(mapping):
    return {int(key): value for key, value in mapping.items()}


class Store:
    """All persistent state behind one re-entrant lock; every writer saves while holding it."""

    def __init__(self, path=None, seed=None):
        self.lock = threading.RLock()
        self.path = path
        # seed(data) adds what a freshly installed Management Node already has (its management_vm, its certificate).
        self.seed = seed
        self.data = self.empty()
        if path and os.path.exists(path):
            self.load()

    def empty(self):
        objects = {name: {} for name in CONFIG_RESOURCES}
        for resource in CONFIG_RESOURCES.values():
            if resource.singleton:  # global/1/, autobackup/1/
                singleton = {name: field.initial() for name, field in resource.fields.items() if not field.readonly}
                singleton['id'] = 1
                objects[resource.name][1] = singleton
        data = {
            'objects': objects,
            'next_id': {name: 1 for name in CONFIG_RESOURCES},
            'worker_meta': {},
            'nodes': {},
        }
        if self.seed:
            self.seed(data)
        return data

    def reset(self):
        with self.lock:
            nodes = self.data['nodes']
            self.data = self.empty()
            # The instances still exist in EC2: keep their records but forget that they were ever configured.
            for record in nodes.values():
                record.update(configured=False, worker_vm_id=None, configured_at=None, last_updated=None, boot_time=None)
            self.data['nodes'] = nodes
            self.save()

    def load(self):
        with open(self.path, 'r', encoding='utf-8') as handle:
            raw = json.load(handle)
        data = self.empty()
        for name, objs in raw.get('objects', {}).items():
            if name in data['objects']:
                data['objects'][name] = _int_keys(objs) if CONFIG_RESOURCES[name].key == 'id' else dict(objs)
        data['next_id'].update(raw.get('next_id', {}))
        data['worker_meta'] = _int_keys(raw.get('worker_meta', {}))
        data['nodes'] = raw.get('nodes', {})
        with self.lock:
            self.data = data

    def save(self):
        if not self.path:
            return
        with self.lock:
            text = json.dumps(self.data, indent=1, sort_keys=True)
            tmp = '%s.tmp' % self.path
            with open(tmp, 'w', encoding='utf-8') as handle:
                handle.write(text)
            os.replace(tmp, self.path)

    # Object access; callers hold the lock when they combine several calls.
    def objects(self, resource):
        return self.data['objects'][resource]

    def get(self, resource, oid):
        return self.data['objects'].get(resource, {}).get(oid)

    def sorted_objects(self, resource):
        objs = self.objects(resource)
        return [objs[oid] for oid in sorted(objs)]

    def new_id(self, resource):
        oid = self.data['next_id'][resource]
        self.data['next_id'][resource] = oid + 1
        return oid

    def exists(self, resource, oid):
        return self.get(resource, oid) is not None

    def is_taken(self, resource, field, value, exclude_id):
        return any(obj.get(field) == value and oid != exclude_id for oid, obj in self.objects(resource).items())

    def worker_meta(self, oid):
        return self.data['worker_meta'].setdefault(oid, {})

    @property
    def nodes(self):
        return self.data['nodes']

    @property
    def global_settings(self):
        return self.data['objects']['global'][1]
