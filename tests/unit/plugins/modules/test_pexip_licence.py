# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pexip_licence decides idempotency from the licence list, never from the wording of an error."""

from fakes import CONF, FakeApi, response

from ansible_collections.pexip.infinity.plugins.modules import pexip_licence as mod

SECRET = "ENT-SECRET-0001"


class LicenceApi(FakeApi):
    """Licences keyed by fulfillment ID, as the Management Node keys them (Location .../licence/FID-n/)."""

    def request(self, method, url, timeout=None, verify=None, params=None, json=None, data=None, headers=None):  # pylint: disable=redefined-outer-name
        path = url.split("?")[0].replace("https://mgr.example.com", "")
        if method == "POST" and path == CONF + "licence/":
            self.log.append((method, path, json))
            fid = "FID-%d" % (len(self.tables.setdefault("licence", [])) + 1)
            self.add("licence", fulfillment_id=fid, product_id="pexip-port", concurrent=10, status="ACTIVE",
                     resource_uri=CONF + "licence/%s/" % fid)
            return response(201, text="", headers={"Location": "https://mgr.example.com" + CONF + "licence/%s/" % fid})
        match = path.startswith(CONF + "licence/FID-")
        if match and method == "GET":
            self.log.append((method, path, params))
            fid = path.rstrip("/").split("/")[-1]
            return response(200, next(o for o in self.tables["licence"] if o["fulfillment_id"] == fid))
        return FakeApi.request(self, method, url, timeout=timeout, verify=verify, params=params, json=json, data=data, headers=headers)


def with_licences(*fids):
    api = LicenceApi()
    for fid in fids:
        api.add("licence", fulfillment_id=fid, product_id="pexip-port", concurrent=50, status="ACTIVE", resource_uri=CONF + "licence/%s/" % fid)
    return api


def posts(api):
    return [body for method, dummy, body in api.writes() if method == "POST"]


def test_activates_when_no_licence_is_listed_and_returns_the_fulfillment_id(module_run):
    api = with_licences()
    result = module_run(mod, api, diff=True, entitlement_id=SECRET)
    assert result["changed"] and result["licence"]["fulfillment_id"] == "FID-1"
    assert posts(api) == [dict(entitlement_id=SECRET, offline_mode=False)]
    assert result["diff"]["after"] == dict(entitlement_id="********", offline_mode=False)
    assert any("FID-1" in w and "fulfillment_id" in w for w in api.warnings)
    assert SECRET not in repr(result)


def test_does_not_activate_again_when_it_cannot_tell(module_run):
    """Licences are listed and no fulfillment ID is given: no POST (a multi-unit entitlement would be consumed again)."""
    api = with_licences("FID-7")
    for check_mode in (False, True):
        result = module_run(mod, api, check_mode=check_mode, entitlement_id=SECRET)
        assert not result.get("failed") and result["changed"] is False and result["licence"] == {}
        assert api.writes() == []
        assert any("FID-7" in w and "nothing is activated" in w for w in api.warnings)


def test_force_activates_beside_other_licences(module_run):
    api = with_licences("FID-7")
    result = module_run(mod, api, entitlement_id=SECRET, force=True)
    assert result["changed"] and result["licence"]["fulfillment_id"] == "FID-2" and len(posts(api)) == 1


def test_fulfillment_id_decides(module_run):
    api = with_licences("FID-7")
    result = module_run(mod, api, check_mode=True, entitlement_id=SECRET, fulfillment_id="FID-7")
    assert result["changed"] is False and result["licence"]["fulfillment_id"] == "FID-7"
    result = module_run(mod, api, entitlement_id=SECRET, fulfillment_id="FID-7")
    assert result["changed"] is False and api.writes() == []
    result = module_run(mod, api, entitlement_id=SECRET, fulfillment_id="FID-9")  # not active: activate it
    assert result["changed"] and len(posts(api)) == 1


def test_a_refusal_is_an_error_whatever_its_wording_and_never_shows_the_entitlement(module_run):
    api = FakeApi({"licence": []})
    api.faults.append(lambda method, path: response(400, {"licence": {"entitlement_id": ["%s: already in use" % SECRET]}})
                      if method == "POST" else None)
    result = module_run(mod, api, entitlement_id=SECRET)
    assert result["failed"] and "refused the entitlement ID" in result["msg"] and SECRET not in result["msg"]
