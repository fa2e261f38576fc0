# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""SHA-512 crypt (``$6$``), as Pexip expects for a Conferencing Node's SSH password.

Pure Python because the ``crypt`` module is deprecated and gone from Python 3.13.
Algorithm: U. Drepper, "Unix crypt using SHA-256 and SHA-512".
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import os
import re

ITOA64 = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
# Which digest bytes make up each group of four output characters.
TRIPLES = ((0, 21, 42), (22, 43, 1), (44, 2, 23), (3, 24, 45), (25, 46, 4), (47, 5, 26), (6, 27, 48),
           (28, 49, 7), (50, 8, 29), (9, 30, 51), (31, 52, 10), (53, 11, 32), (12, 33, 54), (34, 55, 13),
           (56, 14, 35), (15, 36, 57), (37, 58, 16), (59, 17, 38), (18, 39, 60), (40, 61, 19), (62, 20, 41))
DEFAULT_ROUNDS = 5000
# The whole of what sha512_crypt (and glibc) writes: a password that merely starts with $6$ is not a hash.
SHA512_CRYPT = re.compile(r"^\$6\$(rounds=[0-9]{1,9}\$)?[./0-9A-Za-z]{0,16}\$[./0-9A-Za-z]{86}\Z")


def _b64(value, count):
    out = ""
    for dummy in range(count):
        out += ITOA64[value & 0x3F]
        value >>= 6
    return out


def _repeat(block, length):
    return (block * (length // len(block) + 1))[:length]


def new_salt(size=16):
    return "".join(ITOA64[b & 0x3F] for b in bytearray(os.urandom(size)))


def sha512_crypt(password, salt=None, rounds=DEFAULT_ROUNDS):
    """Return ``$6$[rounds=N$]salt$hash`` for ``password``."""
    pw = password.encode("utf-8")
    salt_text = (salt if salt is not None else new_salt())[:16]
    salt_bytes = salt_text.encode("ascii")
    rounds = max(1000, min(999999999, rounds))

    alternate = hashlib.sha512(pw + salt_bytes + pw).digest()
    ctx = hashlib.sha512(pw + salt_bytes)
    ctx.update(_repeat(alternate, len(pw)))
    length = len(pw)
    while length:
        ctx.update(alternate if length & 1 else pw)
        length >>= 1
    digest = ctx.digest()

    p_bytes = _repeat(hashlib.sha512(pw * len(pw)).digest(), len(pw))
    s_bytes = _repeat(hashlib.sha512(salt_bytes * (16 + bytearray(digest)[0])).digest(), len(salt_bytes))
    for i in range(rounds):
        ctx = hashlib.sha512(p_bytes if i & 1 else digest)
        if i % 3:
            ctx.update(s_bytes)
        if i % 7:
            ctx.update(p_bytes)
        ctx.update(digest if i & 1 else p_bytes)
        digest = ctx.digest()

    d = bytearray(digest)
    encoded = "".join(_b64((d[a] << 16) | (d[b] << 8) | d[c], 4) for a, b, c in TRIPLES) + _b64(d[63], 2)
    prefix = "$6$" if rounds == DEFAULT_ROUNDS else "$6$rounds=%d$" % rounds
    return "%s%s$%s" % (prefix, salt_text, encoded)


def is_sha512_crypt(value):
    """Whether ``value`` is a complete ``$6$[rounds=N$]salt$hash`` (else it is a password, to be hashed)."""
    return isinstance(value, str) and bool(SHA512_CRYPT.match(value))
