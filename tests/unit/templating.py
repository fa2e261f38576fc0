# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The role and playbook tests' templating: a role's or playbook's expressions templated as Ansible templates them."""

import os

import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.plugins.loader import init_plugin_loader
from ansible.template import Templar

try:  # ansible-core >= 2.19 templates only trusted strings
    from ansible.template import trust_as_template
except ImportError:  # pragma: no cover - ansible-core 2.18

    def trust_as_template(value):
        return value


# Lookups and filters (the roles read PEXIP_HOST with the env lookup when the inventory does not name the Management Node).
init_plugin_loader()

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def load(*parts):
    """The YAML file at ``parts`` below the repository."""
    with open(os.path.join(REPO, *parts), encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def trusted(values):
    return {key: trust_as_template(value) if isinstance(value, str) else value for key, value in values.items()}


def role_variables(role):
    """The role's defaults, then its vars, as Ansible's templating trusts them."""
    variables = trusted(load("roles", role, "defaults", "main.yml"))
    variables.update(trusted(load("roles", role, "vars", "main.yml")))
    return variables


def templated(expression, variables):
    return Templar(loader=DataLoader(), variables=variables).template(trust_as_template(expression))
