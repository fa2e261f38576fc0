# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""playbooks/restore.yml's guards, templated as Ansible templates them: what confirms a restore, what counts as live
calls, which nodes it waits for. tests/integration/test_e2e_restore.py runs the playbook against the lab."""

import pytest
from templating import load, templated, trust_as_template

BACKUP = "/srv/pexip-backups/pexip-backup-20261207T150000Z.pexbak"


def play():
    return load("playbooks", "restore.yml")[0]


def task(name):
    return next(t for t in play()["tasks"] if t["name"].startswith(name))


def render(expression, **facts):
    variables = {key: trust_as_template(value) for key, value in play()["vars"].items()}
    variables.update(restore_backup=BACKUP, **facts)
    return templated(expression, variables)


def check(name, **facts):
    assertion = task(name)["ansible.builtin.assert"]
    variables = dict((key, trust_as_template(value)) for key, value in task(name).get("vars", {}).items())
    variables.update(facts)
    return render("{{ %s }}" % assertion["that"], **variables), render(assertion["fail_msg"], **variables)


@pytest.mark.parametrize("confirm", [True, "true", "yes", "", BACKUP, "pexip-backup-20261207T150000Z", "other.pexbak"])
def test_only_the_file_name_confirms(confirm):
    ok, message = check("Refuse unless restore_confirm", restore_confirm=confirm)
    assert ok is False
    assert "Nothing was changed" in message and "-e restore_confirm=pexip-backup-20261207T150000Z.pexbak" in message


def test_the_file_name_confirms():
    assert check("Refuse unless restore_confirm", restore_confirm="pexip-backup-20261207T150000Z.pexbak")[0] is True


def test_live_calls_are_counted_and_named():
    nodes = [dict(name="cn-1", participants=0), dict(name="cn-2", participants=3), dict(name="cn-3", participants=1)]
    ok, message = check("Refuse while calls are live", _restore_before=dict(nodes=nodes))
    assert ok is False and "4 participant(s) are live on cn-2, cn-3" in " ".join(message.split())
    assert check("Refuse while calls are live", _restore_before=dict(nodes=nodes[:1]))[0] is True
    assert check("Refuse while calls are live", _restore_before=dict(nodes=[]))[0] is True


def test_waits_for_the_nodes_not_in_maintenance_unless_told():
    wait = task("Wait until the Conferencing Nodes have synced")
    after = dict(nodes=[dict(name="cn-1", maintenance_mode=False), dict(name="cn-2", maintenance_mode=True)])
    assert render(wait["vars"]["_restore_wait_for"], _restore_after=after) == ["cn-1"]
    assert render(wait["vars"]["_restore_wait_for"], _restore_after=after, restore_sync_nodes=["cn-2"]) == ["cn-2"]


def test_the_passphrase_is_never_shown_and_defaults_to_the_backup_one():
    assert render("{{ _restore_passphrase }}", backup_passphrase="s3cret") == "s3cret"
    assert render("{{ _restore_passphrase }}", backup_passphrase="s3cret", restore_passphrase="other") == "other"
    assert render("{{ _restore_marker }}") == BACKUP + ".restored"
    assert "_restore_passphrase" not in task("Check the passphrase")["ansible.builtin.assert"]["fail_msg"]
