# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Tastypie list behaviour: filters with lookups, ordering and limit/offset pagination over rendered objects."""

import re
from urllib.parse import urlencode

from .resources import ALL, LOOKUPS

RESERVED_PARAMS = ('limit', 'offset', 'format', 'order_by')
DEFAULT_LIMIT = 20


class ListError(Exception):
    """A bad list query; rendered as 400 {"error": message}."""


def _parse_bool(text):
    lowered = text.lower()
    if lowered in ('true', '1'):
        return True
    if lowered in ('false', '0'):
        return False
    raise ValueError(text)


def _coerce(field, text):
    if field.related:
        match = re.search(r'(\d+)/?$', text)
        if not match:
            raise ValueError(text)
        return int(match.group(1))
    if field.ftype == 'integer':
        return int(text)
    if field.ftype == 'boolean':
        return _parse_bool(text)
    return text


def _obj_value(field, value):
    # Rendered relations are URIs; filters compare their ids.
    if field.related and isinstance(value, str):
        match = re.search(r'/(\d+)/$', value)
        return int(match.group(1)) if match else value
    return value


def _matches(field, lookup, raw, value):
    value = _obj_value(field, value)
    if lookup == 'isnull':
        return (value is None) == _parse_bool(raw)
    if lookup == 'in':
        return value in [_coerce(field, part) for part in raw.split(',')]
    if lookup in ('exact', 'lt', 'lte', 'gt', 'gte'):
        wanted = _coerce(field, raw)
        if lookup == 'exact':
            return value == wanted
        if value is None:
            return False
        try:
            return {'lt': value < wanted, 'lte': value <= wanted, 'gt': value > wanted, 'gte': value >= wanted}[lookup]
        except TypeError:
            return False
    if value is None:
        return False
    text = str(value)
    if lookup.startswith('i'):
        text, raw = text.lower(), raw.lower()
        lookup = lookup[1:]
    if lookup == 'exact':
        return text == raw
    if lookup == 'contains':
        return raw in text
    if lookup == 'startswith':
        return text.startswith(raw)
    return text.endswith(raw)


def parse_filters(resource, query):
    filters = []
    for key, raw in query.items():
        if key in RESERVED_PARAMS:
            continue
        name, _sep, lookup = key.partition('__')
        lookup = lookup or 'exact'
        field = resource.fields.get(name)
        if field is None or not field.filtering:
            raise ListError("The '%s' field does not allow filtering." % name)
        if lookup not in LOOKUPS or (field.filtering != ALL and lookup not in field.filtering):
            raise ListError("'%s' is not an allowed filter on the '%s' field." % (lookup, name))
        if lookup in ('exact', 'in', 'lt', 'lte', 'gt', 'gte', 'isnull'):
            try:
                for part in raw.split(',') if lookup == 'in' else [raw]:
                    if lookup == 'isnull':
                        _parse_bool(part)
                    else:
                        _coerce(field, part)
            except ValueError:
                raise ListError("Invalid value '%s' for the '%s' filter." % (raw, key)) from None
        filters.append((field, lookup, raw))
    return filters


def _sort_key(value):
    # None sorts before any value so columns that mix null and values can still be ordered.
    return (value is not None, value if value is not None else 0)


def apply_list(resource, objects, query, base_path):
    """Filter, order and paginate rendered ``objects``; return the Tastypie list document."""
    filters = parse_filters(resource, query)
    selected = [obj for obj in objects if all(_matches(f, lookup, raw, obj.get(f.name)) for f, lookup, raw in filters)]
    order_by = query.get('order_by')
    if order_by:
        name = order_by.lstrip('-')
        if name not in resource.ordering:
            raise ListError("No matching '%s' field for ordering on." % name)
        field = resource.fields[name]
        selected.sort(key=lambda obj: _sort_key(_obj_value(field, obj.get(name))), reverse=order_by.startswith('-'))
    try:
        limit = int(query.get('limit', DEFAULT_LIMIT))
        if limit < 0:
            raise ValueError(limit)
    except ValueError:
        raise ListError("Invalid limit '%s' provided. Please provide a positive integer." % query.get('limit')) from None
    try:
        offset = int(query.get('offset', 0))
        if offset < 0:
            raise ValueError(offset)
    except ValueError:
        raise ListError("Invalid offset '%s' provided. Please provide a positive integer >= 0." % query.get('offset')) from None
    total = len(selected)
    page = selected[offset:] if limit == 0 else selected[offset:offset + limit]

    def link(new_offset):
        params = [(k, v) for k, v in query.items() if k not in ('limit', 'offset')]
        params += [('limit', limit), ('offset', new_offset)]
        return '%s?%s' % (base_path, urlencode(params))

    next_link = link(offset + limit) if limit and offset + limit < total else None
    previous_link = link(max(offset - limit, 0)) if limit and offset > 0 else None
    return {
        'meta': {'limit': limit, 'next': next_link, 'offset': offset, 'previous': previous_link, 'total_count': total},
        'objects': page,
    }
