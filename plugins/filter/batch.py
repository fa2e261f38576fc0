# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The facts the hosts of a batch set for a run_once task (the roles' one batch idiom; docs in batch_facts.yml).

Jinja's ``hosts | map('extract', hostvars) | selectattr(...) | list`` yields host variable objects; a template whose
result is such a list is turned into text and parsed back, which templates every variable of every host, the
batch-wide reads included: a cost that grows with the square of the batch. This filter returns the facts only.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError


def batch_facts(hosts, hostvars, fact, when=None, unless=None, by=None):
    """The values of ``fact`` (a name or a list of names) of the ``hosts`` that set it, host by host, and for a list
    fact by fact; with ``when``, only of the hosts that set that fact true; with ``unless``, that set it false. With
    ``by``, a dict instead: for each value of the fact ``by`` (a region), the values of those hosts, each once."""
    names = [fact] if isinstance(fact, str) else fact
    if not isinstance(names, list) or not names or not all(isinstance(name, str) for name in names):
        raise AnsibleFilterError("batch_facts: fact must be a fact's name or a list of names, not %r" % (fact,))
    chosen = []
    for host in hosts:
        facts = hostvars[host]
        if when is not None and not (when in facts and facts[when]):
            continue
        if unless is not None and not (unless in facts and not facts[unless]):
            continue
        chosen.append(facts)
    if by is None:
        return [facts[name] for name in names for facts in chosen if name in facts]
    grouped = {}
    for name in names:
        for facts in chosen:
            if name in facts and by in facts:
                values = grouped.setdefault(facts[by], [])
                if facts[name] not in values:
                    values.append(facts[name])
    return grouped


class FilterModule(object):
    def filters(self):
        return {"batch_facts": batch_facts}
