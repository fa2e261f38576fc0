# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pexip.infinity.batch_facts: the facts the hosts of a batch noted, for one run_once read or write."""

import os
import re

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.pexip.infinity.plugins.filter.batch import batch_facts

HOSTVARS = {
    "a": {"name": "node-a", "fqdn": "a.example.com", "wait": True, "in_sync": False, "ip": "10.0.0.1"},
    "b": {"name": "node-b", "fqdn": "b.example.com", "wait": False, "in_sync": True, "ip": "10.0.0.2"},
    "c": {"name": "node-c", "fqdn": "c.example.com", "in_sync": False},  # no ip yet, never said whether to wait
    "d": {},  # a host of the batch that did not take the role's path
}


def test_values_of_the_hosts_that_set_the_fact_in_host_order():
    assert batch_facts(["c", "d", "a", "b"], HOSTVARS, "name") == ["node-c", "node-a", "node-b"]
    assert batch_facts(["a", "b"], HOSTVARS, "ip") == ["10.0.0.1", "10.0.0.2"]
    assert batch_facts(["d"], HOSTVARS, "name") == []
    assert batch_facts([], HOSTVARS, "name") == []


def test_when_keeps_the_hosts_that_set_it_true():
    assert batch_facts(["a", "b", "c", "d"], HOSTVARS, "name", when="wait") == ["node-a"]


def test_unless_keeps_the_hosts_that_set_it_false():
    assert batch_facts(["a", "b", "c", "d"], HOSTVARS, "name", unless="in_sync") == ["node-a", "node-c"]


def test_several_facts_fact_by_fact_and_missing_ones_left_out():
    assert batch_facts(["a", "b", "c"], HOSTVARS, ["name", "fqdn", "ip"], unless="in_sync") == [
        "node-a", "node-c", "a.example.com", "c.example.com", "10.0.0.1"]


@pytest.mark.parametrize("fact", [[], None, 3, ["name", 3]])
def test_a_bad_fact_name_is_refused(fact):
    with pytest.raises(AnsibleFilterError, match="batch_facts"):
        batch_facts(["a"], HOSTVARS, fact)


def test_roles_and_playbooks_take_a_batch_s_facts_through_batch_facts():
    """The one batch idiom (issue 25). A template whose value is a list of hostvars is turned into text and parsed
    back, templating every variable of every host of the batch, the batch-wide reads included: a no-op deploy.yml
    cost more per node at 100 nodes than at 30 (issue 28, docs/bench.md)."""
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
    found = []
    for top in ("roles", "playbooks"):
        for folder, _dirs, files in os.walk(os.path.join(repo, top)):
            for name in files:
                if name.endswith((".yml", ".yaml")):
                    path = os.path.join(folder, name)
                    with open(path, encoding="utf-8") as handle:
                        text = handle.read()
                    if re.search(r"ansible_play_(batch|hosts)\s*\|\s*map\('extract',\s*hostvars\)", text):
                        found.append(os.path.relpath(path, repo))
    assert found == []


def test_by_groups_the_values_by_another_fact_each_once():
    """A fleet over several regions: one read per region, each for that region's nodes (issue 28)."""
    hostvars = {"a": {"n": "a", "r": "eu-west-1"}, "b": {"n": "b", "r": "eu-central-1"}, "c": {"n": "c", "r": "eu-west-1"},
                "d": {"n": "a", "r": "eu-west-1"}, "e": {"n": "e"}, "f": {"r": "eu-west-1"}}
    assert batch_facts(list(hostvars), hostvars, "n", by="r") == {"eu-west-1": ["a", "c"], "eu-central-1": ["b"]}
    assert batch_facts(["b"], hostvars, "n", by="r", when="n") == {"eu-central-1": ["b"]}
    assert batch_facts([], hostvars, "n", by="r") == {}
