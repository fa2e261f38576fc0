# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The guides (docs/, README.md) and their examples match the code: every pexip_* variable they name is one the
collection reads, and the vault example is one consistent whole that every documented run command unlocks (issue #29)."""

import glob
import os
import re
import subprocess
import sys

import pytest
import yaml

import labcerts
from ansible_collections.pexip.infinity.plugins.module_utils import certificates

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)
DOCS = sorted(glob.glob(os.path.join(ROOT, "docs", "*.md"))) + [os.path.join(ROOT, "README.md")]
EXAMPLES = os.path.join(ROOT, "docs", "examples")
INVENTORY = os.path.join(EXAMPLES, "inventory.yml")
VAULT = os.path.join(EXAMPLES, "group_vars", "pexip_platform", "vault.yml")
NAME = re.compile(r"\bpexip_[a-z0-9_]*[a-z0-9]\b")


def read(path):
    with open(path, encoding="utf-8") as handle:
        return handle.read()


def relative(path):
    return os.path.relpath(path, ROOT)


def names_in(paths):
    return {name for path in paths for name in NAME.findall(read(path))}


def known_names():
    """Every pexip_* name the collection itself defines or reads: the roles' argument specs and defaults (where each
    role reads its inventory variables), the playbooks and their vars files, the host variables the inventory plugin
    sets, the variables the lab gives the integration targets; and, not variables but spelled alike, the modules and
    the inventory's groups."""
    sources = (glob.glob(os.path.join(ROOT, "roles", "*", "meta", "argument_specs.yml"))
               + glob.glob(os.path.join(ROOT, "roles", "*", "defaults", "*.yml"))
               + glob.glob(os.path.join(ROOT, "playbooks", "**", "*.yml"), recursive=True)
               + [os.path.join(ROOT, "site.yml")]
               + glob.glob(os.path.join(ROOT, "plugins", "inventory", "*.py")))
    known = names_in(sources)
    with open(os.path.join(ROOT, "tests", "lab", "lab.py"), encoding="utf-8") as handle:
        lab = handle.read()
    known |= set(NAME.findall(lab[lab.index("def integration_config("):lab.index("def integration_config_text(")]))
    known |= {os.path.basename(path)[:-3] for path in glob.glob(os.path.join(ROOT, "plugins", "modules", "*.py"))}
    known |= set(yaml.safe_load(read(INVENTORY))["all"]["children"])
    return known


def test_every_pexip_variable_the_docs_name_is_known():
    known = known_names()
    unknown = ["%s:%d: %s" % (relative(path), number, name)
               for path in DOCS + [INVENTORY, VAULT]
               for number, line in enumerate(read(path).splitlines(), 1)
               for name in NAME.findall(line) if name not in known]
    assert not unknown, (
        "These pexip_* names are in no role's argument_specs.yml or defaults, no playbook, and not set by the inventory "
        "plugin: rename the mention to the variable the code reads (or declare the variable where the role reads it):\n"
        + "\n".join(unknown))


def test_the_check_finds_an_unknown_name():
    assert "pexip_node_name" in known_names() and "pexip_node_nmae" not in known_names()


# --- The vault example --------------------------------------------------------------------------------------------
VAULT_NAME = re.compile(r"\bvault_pexip_[a-z0-9_]*[a-z0-9]\b")


def test_the_vault_file_holds_every_secret_the_example_inventory_names():
    vault = yaml.safe_load(read(VAULT))
    wanted = set(VAULT_NAME.findall(read(INVENTORY)))
    assert wanted == set(vault), "inventory.yml names %s; the vault example defines %s" % (sorted(wanted), sorted(vault))
    # The guides use the same names (vault_<the variable it fills>), never names of their own.
    stray = ["%s: %s" % (relative(path), name) for path in DOCS for name in VAULT_NAME.findall(read(path)) if name not in vault]
    assert not stray, stray


def test_the_vault_file_reaches_the_hosts_beside_the_inventory():
    """group_vars/ beside the inventory: ansible-inventory gives the Management Node host the vault's values."""
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"))
    result = subprocess.run([os.path.join(BIN, "ansible-inventory"), "-i", INVENTORY, "--host", "pexmgr"], capture_output=True,
                            text=True, cwd=ROOT, env=env, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    host = yaml.safe_load(result.stdout)
    assert host["vault_pexip_manager_private_key_passphrase"] == ""
    assert host["pexip_manager_private_key_passphrase"] == "{{ vault_pexip_manager_private_key_passphrase }}"


def test_an_empty_key_passphrase_is_no_passphrase():
    """The example's passphrase lines are "" for a key without one: that must not break such a key."""
    vault = yaml.safe_load(read(VAULT))
    assert vault["vault_pexip_manager_private_key_passphrase"] == "" and vault["vault_pexip_node_tls_private_key_passphrase"] == ""
    # The Management Node's SSH key: the role leaves an empty passphrase out (default(omit, true)).
    tasks = yaml.safe_load(read(os.path.join(ROOT, "roles", "management_node", "tasks", "main.yml")))
    first_boot = next(task["pexip.infinity.pexip_management_node_first_boot"] for task in tasks
                      if "pexip.infinity.pexip_management_node_first_boot" in task)
    assert first_boot["private_key_passphrase"] == "{{ management_node_private_key_passphrase | default(omit, true) }}"
    # A TLS key: pexip_tls_certificate takes "" as no passphrase.
    pair = labcerts.issue(labcerts.make_ca(), "pexmgr.example.com")
    certificates.check_key(pair.cert, pair.key_pem, "")


def commands():
    """Every ansible-playbook command of the guides (in code blocks, continued lines joined, and inline code)."""
    found = []
    for path in DOCS:
        text = read(path)
        block = None
        for line in text.splitlines():
            if line.lstrip().startswith("```") and block is None:
                block = []
            elif line.lstrip().startswith("```"):
                found += [(relative(path), command) for command in blocked_commands(block)]
                block = None
            elif block is not None:
                block.append(line)
        found += [(relative(path), inline) for inline in re.findall(r"`(ansible-playbook [^`]+)`", text)]
    return found


def blocked_commands(lines):
    joined = "\n".join(lines).replace("\\\n", " ")
    return [line.split(" #")[0].strip() for line in joined.splitlines() if line.strip().startswith("ansible-playbook ")]


def test_every_documented_run_on_your_inventory_unlocks_the_vault():
    """A command on the user's inventory (the vaulted example's, not the lab's) or with a vault file passes the vault
    password: --ask-vault-pass, --vault-id or --vault-password-file."""
    missing = []
    for path, command in commands():
        words = command.split()
        inventory = words[words.index("-i") + 1] if "-i" in words else None
        own = inventory is not None and not inventory.startswith(".lab/") and "lab" not in os.path.basename(inventory)
        vaulted = any(word.startswith("@") and "vault" in word for word in words)
        if (own or vaulted) and not re.search(r"--ask-vault-pass(word)?\b|--vault-id\b|--vault-password-file\b", command):
            missing.append("%s: %s" % (path, command))
    assert not missing, "Add --ask-vault-pass (the example's secrets are in a vault) to:\n" + "\n".join(missing)


@pytest.mark.parametrize("command, flagged", [
    ("ansible-playbook -i inventory.yml site.yml", True),
    ("ansible-playbook -i inventory.yml site.yml --ask-vault-pass", False),
    ("ansible-playbook -i .lab/inventory.yml site.yml", False),
    ("ansible-playbook playbooks/backup.yml -e @vault.yml", True),
])
def test_the_vault_check_reads_commands(monkeypatch, tmp_path, command, flagged):
    page = tmp_path / "page.md"
    page.write_text("```sh\n%s\n```\n" % command)
    monkeypatch.setattr(sys.modules[__name__], "DOCS", [str(page)])
    if flagged:
        with pytest.raises(AssertionError):
            test_every_documented_run_on_your_inventory_unlocks_the_vault()
    else:
        test_every_documented_run_on_your_inventory_unlocks_the_vault()


# --- The docs site ------------------------------------------------------------------------------------------------
def test_the_docs_site_lists_every_guide_once_users_first():
    """docs/site/index.rst: the guides in the order a user meets them, the development pages in a section of their own
    (issue #26); a page of docs/ in neither list would break `make docs` (Sphinx: not in any toctree)."""
    text = read(os.path.join(ROOT, "docs", "site", "index.rst"))
    sections = {}
    for caption, body in re.findall(r":caption: (\w+)\n\n((?:   \S+\n)+)", text):
        sections[caption] = [line.strip()[len("guides/"):] for line in body.splitlines() if line.strip().startswith("guides/")]
    pages = sorted(os.path.basename(path)[:-3] for path in DOCS if os.path.dirname(path).endswith("docs"))
    listed = sections.get("Guides", []) + sections.get("Development", [])
    assert sorted(listed) == pages, "add the page to a toctree of docs/site/index.rst (Guides or Development)"
    guides = sections["Guides"]
    assert guides[0] == "deploy"
    order = [page for page in ("deploy", "initial_configuration", "operations", "day2", "bursting", "awx") if page in guides]
    assert [page for page in guides if page in order] == order
    assert {"lab", "molecule", "bench"} <= set(sections["Development"])
