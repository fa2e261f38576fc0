# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""secrets: the one definition of a secret key and of its masking."""

import pytest

from ansible_collections.pexip.infinity.plugins.module_utils import resource, secrets
from ansible_collections.pexip.infinity.plugins.module_utils.secrets import MASK


@pytest.mark.parametrize("key", ["pin", "guest_pin", "entitlement_id", "password", "aws_secret_key", "private_key",
                                 "private_key_passphrase", "snmp_community", "snmp_privacy_password", "secondary_config_passphrase"])
def test_secret_keys(key):
    assert secrets.is_secret(key)


@pytest.mark.parametrize("key", ["name", "pinned", "spin", "ping_interval", "allow_guests", "aws_access_key", "fulfillment_id"])
def test_not_secret_keys(key):
    assert not secrets.is_secret(key)


def test_declared_keys_are_secret_too():
    assert secrets.is_secret("token", declared=("token",)) and not secrets.is_secret("token")


def test_masked_public_and_text():
    data = dict(name="r", pin="1234", guest_pin="", password="pw", token="t")
    assert secrets.masked(data, ("token",)) == dict(name="r", pin=MASK, guest_pin="", password=MASK, token=MASK)
    # results leave secrets out, but say whether a PIN is set
    assert secrets.public(data, ("token",)) == dict(name="r", pin=MASK, guest_pin="")
    assert secrets.mask_text("bad 'abc' and 'abcdef'", ["abc", "abcdef", None, ""]) == "bad '%s' and '%s'" % (MASK, MASK)


def test_one_mask():
    assert resource.secrets.MASK is MASK
    assert not hasattr(resource, "SECRET_KEY")
