# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The pure-Python SHA-512 crypt against Drepper's published vectors and, where present, the C library."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import importlib
import warnings

import pytest

from ansible_collections.pexip.infinity.plugins.module_utils.sha512_crypt import (
    ITOA64,
    is_sha512_crypt,
    new_salt,
    sha512_crypt,
)


def _system_crypt():
    """The deprecated ``crypt`` module (Python <= 3.12 on Unix) or None."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            module = importlib.import_module("crypt")
        except ImportError:
            return None
    if module.crypt("x", "$6$abc") is None or not module.crypt("x", "$6$abc").startswith("$6$"):
        return None  # a libc without SHA-512 crypt
    return module


CRYPT = _system_crypt()

# From U. Drepper, "Unix crypt using SHA-256 and SHA-512" (the reference test vectors):
# (password, salt, rounds, expected hash part). glibc writes "rounds=5000" when the salt asked for it;
# sha512_crypt() writes it only for non-default rounds, so only the hash part is compared for that one.
VECTORS = [
    ("Hello world!", "saltstring", 5000,
     "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1"),
    ("Hello world!", "saltstringsaltstring", 10000,
     "$6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/UrjmM0Dp8vOuZeHBy/YTBmSK6H9qs/y3RnOaw5v."),
    ("This is just a test", "toolongsaltstring", 5000,
     "$6$toolongsaltstrin$lQ8jolhgVRVhY4b5pZKaysCLi0QBxGoNeKQzQ3glMhwllF7oGDZxUhx1yxdYcz/e1JSbq3y6JMxxl8audkUEm0"),
    ("a very much longer text to encrypt.  This one even stretches over morethan one line.", "anotherlongsaltstring", 1400,
     "$6$rounds=1400$anotherlongsalts$POfYwTEok97VWcjxIiSOjiykti.o/pQs.wPvMxQ6Fm7I6IoYN3CmLs66x9t0oSwbtEW7o7UmJEiDwGqd8p4ur1"),
    ("we have a short salt string but not a short password", "short", 77777,
     "$6$rounds=77777$short$WuQyW2YR.hBNpjjRhpYD/ifIw05xdfeEyQoMxIXbkvr0gge1a1x3yRULJ5CCaUeOxFmtlcGZelFl5CxtgfiAc0"),
    ("a short string", "asaltof16chars..", 123456,
     "$6$rounds=123456$asaltof16chars..$BtCwjqMJGx5hrJhZywWvt0RLE8uZ4oPwcelCjmw2kSYu.Ec6ycULevoBK25fs2xXgMNrCzIMVcgEJAstJeonj1"),
    ("the minimum number is still observed", "roundstoolow", 10,
     "$6$rounds=1000$roundstoolow$kUMsbe306n21p9R.FRkW3IGn.S9NPN0x50YhH1xhLsPuWGsUSklZt58jaTfF4ZEQpyUNGc0dqbpBYYBaHHrsX."),
]


@pytest.mark.parametrize("password,salt,rounds,expected", VECTORS)
def test_known_vectors(password, salt, rounds, expected):
    assert sha512_crypt(password, salt, rounds) == expected


def test_default_rounds_omits_prefix():
    assert sha512_crypt("Hello world!", "saltstring").startswith("$6$saltstring$")


def test_random_salt():
    first, second = sha512_crypt("pw"), sha512_crypt("pw")
    assert first != second
    salt = first.split("$")[2]
    assert len(salt) == 16 and all(c in ITOA64 for c in salt)
    assert sha512_crypt("pw", salt) == first
    assert len(new_salt(8)) == 8


def test_shape_and_detection():
    value = sha512_crypt("secret", "abcdefgh")
    assert is_sha512_crypt(value)
    assert len(value.split("$")[3]) == 86
    assert not is_sha512_crypt("secret")
    assert not is_sha512_crypt(None)


@pytest.mark.parametrize("value", [
    sha512_crypt("pw", "abcdefgh"), sha512_crypt("pw", "0123456789abcdef"), sha512_crypt("pw", "./AZaz09", 6543),
    sha512_crypt("pw", "s"), sha512_crypt("pw", ""),
])
def test_a_whole_hash_is_recognised(value):
    assert is_sha512_crypt(value)


@pytest.mark.parametrize("value", [
    "$6$MyPlainPassword",                                      # a password that happens to start with $6$
    "$6$salt$short",                                           # hash too short
    "$6$salt$" + "a" * 87,                                     # hash too long
    "$6$" + "s" * 17 + "$" + "a" * 86,                         # salt over 16 characters
    "$6$sa!t$" + "a" * 86,                                     # salt outside [./0-9A-Za-z]
    "$6$salt$" + "a" * 85 + "!",                               # hash outside the alphabet
    "$6$rounds=$salt$" + "a" * 86,                             # rounds without a number
    "$6$salt$" + "a" * 86 + "\n",                              # a trailing newline
    "$5$salt$" + "a" * 43,                                     # SHA-256 crypt
])
def test_a_password_that_only_looks_like_a_hash_is_not_one(value):
    assert not is_sha512_crypt(value)


@pytest.mark.skipif(CRYPT is None, reason="the crypt module (Python <= 3.12, SHA-512 capable libc) is not available")
@pytest.mark.parametrize("password", ["", "a", "pexip", "Pässwörd ✓", "x" * 17, "y" * 64, "z" * 200, "with space and $ and :"])
@pytest.mark.parametrize("salt,rounds", [("saltsalt", 5000), ("s", 5000), ("0123456789abcdef", 5000), ("./AZaz09", 1000), ("r0unds", 6543)])
def test_matches_system_crypt(password, salt, rounds):
    setting = "$6$%s" % salt if rounds == 5000 else "$6$rounds=%d$%s" % (rounds, salt)
    assert sha512_crypt(password, salt, rounds) == CRYPT.crypt(password, setting)


@pytest.mark.skipif(CRYPT is None, reason="the crypt module is not available")
def test_system_crypt_verifies_random_salt():
    value = sha512_crypt("Conferencing-Node-1")
    assert CRYPT.crypt("Conferencing-Node-1", value) == value
