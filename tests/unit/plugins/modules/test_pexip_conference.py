# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pexip_conference: PINs are secrets (no_log, masked in the result, the diff and errors), ASCII digits only, and an
alias whose description changes is PATCHed in place."""

import pytest

from fakes import FakeApi, uri

from ansible_collections.pexip.infinity.plugins.module_utils.secrets import MASK
from ansible_collections.pexip.infinity.plugins.modules import pexip_conference as mod


def room(**fields):
    api = FakeApi({"conference": [], "conference_alias": []})
    api.add("conference", id=3, name="Board", service_type="conference", description="", pin="1234", guest_pin="", allow_guests=False,
            participant_limit=None, aliases=[dict(alias="board@example.com", description="Old", conference=uri("conference", 3))], **fields)
    api.add("conference_alias", id=9, alias="board@example.com", description="Old", conference=uri("conference", 3))
    return api


def test_pins_are_no_log():
    spec = mod.CONFERENCE.argument_spec()
    assert spec["pin"]["no_log"] is True and spec["guest_pin"]["no_log"] is True


def test_pins_are_masked_in_the_result_and_the_diff(module_run):
    api = room()
    result = module_run(mod, api, diff=True, name="Board", pin="98765", guest_pin="4321")
    assert result["changed"] and api.obj("conference", 3)["pin"] == "98765"
    assert result["conference"]["pin"] == MASK and result["conference"]["guest_pin"] == MASK
    assert result["diff"]["before"]["pin"] == MASK and result["diff"]["after"] == dict(pin=MASK, guest_pin=MASK)
    assert "98765" not in repr(result) and "4321" not in repr(result) and "1234" not in repr(result)
    again = module_run(mod, api, name="Board", pin="98765", guest_pin="4321")  # compared with the API's own PINs
    assert again["changed"] is False


@pytest.mark.parametrize("pin", ["12ab", "123", "\u0661\u0662\u0663\u0664", "1234\n", "\uff11\uff12\uff13\uff14"])
def test_a_pin_is_4_to_20_ascii_digits_and_the_error_does_not_show_it(module_run, pin):
    api = room()
    result = module_run(mod, api, name="Board", pin=pin)
    assert result["failed"] and "pin is not a PIN: use 4 to 20 digits 0-9" in result["msg"]
    assert pin.strip() not in result["msg"] and api.writes() == []


def test_a_changed_alias_description_is_patched_in_place(module_run):
    api = room()
    result = module_run(mod, api, name="Board", aliases=[dict(alias="board@example.com", description="New")])
    assert result["changed"]
    assert [(m, p) for m, p, dummy in api.writes()] == [("PATCH", uri("conference_alias", 9))]
    assert api.writes()[0][2] == dict(description="New")


def test_aliases_are_created_and_dropped_through_the_engine(module_run):
    api = room()
    result = module_run(mod, api, name="Board", aliases=["8001"])
    assert result["changed"]
    writes = api.writes()
    assert writes[0] == ("DELETE", uri("conference_alias", 9), None)
    assert writes[1][:2] == ("POST", "/api/admin/configuration/v1/conference_alias/")
    assert writes[1][2] == dict(alias="8001", description="", conference=uri("conference", 3))
