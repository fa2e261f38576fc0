# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The published API (api_schema.yml) and the checks against it: what the simulator serves, what clients send."""

import os
import re

import yaml

SCHEMA_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'api_schema.yml')
_PATH = re.compile(r'^/api/admin/(configuration|status|history|command)/v1/([a-z_]+)/(?:([a-z_]+)/)?')


def load(path=SCHEMA_PATH):
    with open(path, encoding='utf-8') as handle:
        return yaml.safe_load(handle)


def spec(schema, api, resource):
    """The entry of one resource, or None when the published API has no such resource."""
    return (schema.get(api) or {}).get(resource)


def allowed(entry):
    """Every field name of a resource, with the implicit `resource_uri` and (unless keyed otherwise) `id`."""
    names = set(entry['fields']) | {'resource_uri'}
    if 'key' not in entry:
        names.add('id')
    return names


def object_violations(schema, api, resource, obj):
    """Fields of a served object (and of its nested objects) outside the published API."""
    entry = spec(schema, api, resource)
    if entry is None:
        return ['%s/%s: not a published resource' % (api, resource)]
    found = ['%s/%s.%s' % (api, resource, name) for name in sorted(set(obj) - allowed(entry))]
    nested = {'dns_servers': 'dns_server', 'ntp_servers': 'ntp_server', 'aliases': 'conference_alias'}
    for name, related in nested.items():
        for item in obj.get(name) or []:
            if isinstance(item, dict):
                found += object_violations(schema, 'configuration', related, item)
    return found


def request_violations(schema, entries):
    """Fields that logged API requests named (filters, ordering, body keys) outside the published API, one line each."""
    found = []
    for entry in entries:
        match = _PATH.match(entry['path'])
        if not match or not entry.get('fields'):
            continue
        api, first, second = match.groups()
        resource = '%s/%s' % (first, second) if api == 'command' else first
        published = spec(schema, api, resource)
        if published is None:
            found.append('%s %s: not a published resource' % (entry['method'], entry['path']))
            continue
        extra = sorted(set(entry['fields']) - allowed(published))
        if extra:
            found.append('%s %s: %s' % (entry['method'], entry['path'], ', '.join(extra)))
    return found
