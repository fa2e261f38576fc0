# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pexip_management_node_info: the primary Management Node's version in one request."""

from fakes import FakeApi

from ansible_collections.pexip.infinity.plugins.modules import pexip_management_node_info


def test_version_of_the_primary_management_node(module_run):
    api = FakeApi(status={"management_vm": [
        {"id": 2, "name": "mgr-standby", "primary": False, "version": "33.0.0"},
        {"id": 1, "name": "mgr-lab", "primary": True, "version": "34.0.0", "sync_status": "SYNCED"},
    ]})
    result = module_run(pexip_management_node_info, api)
    assert not result.get("failed"), result
    assert result["changed"] is False and result["version"] == "34.0.0"
    assert [vm["name"] for vm in result["management_vms"]] == ["mgr-standby", "mgr-lab"]
    assert len(api.log) == 1 and api.writes() == []


def test_no_version_reported(module_run):
    result = module_run(pexip_management_node_info, FakeApi(status={"management_vm": []}))
    assert result["version"] == "" and result["management_vms"] == []
