# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a secret is, and how it is kept out of results, diffs and error texts: the collection's one definition.

A key is secret when its declaration says so (``Field(secret=True)``) or when its name says so (``SECRET_KEY``: the
API's own secrets such as a worker_vm's ``snmp_*_password``, a licence's ``entitlement_id``, a conference's PINs).
Secrets are masked in diffs; in results they are left out, except ``SHOWN_MASKED`` keys (PINs), which are returned
masked so that a result still says whether a PIN is set.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

MASK = "********"
#: API keys that are secret whatever the resource declares
SECRET_KEY = re.compile(r"secret|password|private_key|passphrase|community|entitlement|(^|_)pin$", re.I)
#: option names ansible-test expects an explicit ``no_log`` on (``no_log=False`` when they are not secret)
NO_LOG_HINT = re.compile(r"key|pass|secret|token", re.I)
#: secret keys returned masked rather than left out
SHOWN_MASKED = ("pin", "guest_pin")


def is_secret(key, declared=()):
    return key in declared or bool(SECRET_KEY.search(key))


def masked(data, declared=()):
    """``data`` with every secret value that is set replaced by ``MASK`` (for diffs)."""
    return dict((k, MASK if is_secret(k, declared) and v not in (None, "") else v) for k, v in (data or {}).items())


def public(obj, declared=()):
    """An API object as a module may return it: secrets left out, ``SHOWN_MASKED`` ones masked."""
    out = {}
    for key, value in (obj or {}).items():
        if not is_secret(key, declared):
            out[key] = value
        elif key in SHOWN_MASKED:
            out[key] = MASK if value not in (None, "") else value
    return out


def mask_text(text, values):
    """``text`` with every given secret value (None and "" ignored) replaced by ``MASK`` (for error messages)."""
    for value in sorted((v for v in values if v), key=len, reverse=True):
        text = text.replace(value, MASK)
    return text
