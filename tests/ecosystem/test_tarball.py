# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection as users get it: `ansible-galaxy collection build` in the checkout (with its .venv, .nox, .lab,
build/ and test output around, as in CI), install the tarball into an empty collections path, then use it (not this
checkout) against the lab. Catches files that build_ignore drops or lets in, and what meta/runtime.yml forgets.

ECO_EXTRA_BUILD_IGNORE="plugins/module_utils/catalog.py" (a comma-separated list) builds instead from a copy of the
checkout's git files with those entries added to galaxy.yml's build_ignore, to see this test fail.
"""

import json
import os
import random
import shutil
import subprocess
import sys
import uuid

import pytest
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
BIN = os.path.dirname(sys.executable)


def _run(args, env=None, cwd=None):
    result = subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True, timeout=600, check=False)
    output = result.stdout + result.stderr
    assert result.returncode == 0, "%s failed (%d):\n%s" % (" ".join(args), result.returncode, output)
    return result


def _tracked_tree(destination):
    """The checkout's files as git would ship them (tracked + new, not ignored), galaxy.yml build_ignore extended."""
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=REPO, check=True,
                           capture_output=True).stdout.decode().split("\0")
    for name in filter(None, files):
        source = os.path.join(REPO, name)
        if os.path.isfile(source):
            os.makedirs(os.path.dirname(os.path.join(destination, name)), exist_ok=True)
            shutil.copy2(source, os.path.join(destination, name))
    extra = [entry for entry in os.environ.get("ECO_EXTRA_BUILD_IGNORE", "").split(",") if entry]
    if extra:
        with open(os.path.join(destination, "galaxy.yml"), encoding="utf-8") as handle:
            galaxy = yaml.safe_load(handle)
        galaxy["build_ignore"] = galaxy.get("build_ignore", []) + extra
        with open(os.path.join(destination, "galaxy.yml"), "w", encoding="utf-8") as handle:
            yaml.safe_dump(galaxy, handle)


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """Build the tarball from the checkout's files and install it alone into an empty collections path."""
    work = tmp_path_factory.mktemp("tarball")
    source, built, collections = work / "source", work / "built", work / "collections"
    if os.environ.get("ECO_EXTRA_BUILD_IGNORE"):
        _tracked_tree(str(source))
    else:
        source = REPO
    # No repo ansible.cfg (it points collections_path at the checkout): a configuration of the installed tarball only.
    config = work / "ansible.cfg"
    config.write_text("[defaults]\ncollections_path = %s\n[inventory]\nenable_plugins = pexip.infinity.infinity\n"
                      % collections)
    env = dict(os.environ, ANSIBLE_CONFIG=str(config))
    env.pop("ANSIBLE_COLLECTIONS_PATH", None)
    _run([os.path.join(BIN, "ansible-galaxy"), "collection", "build", "--output-path", str(built), str(source)],
         env=env)
    with open(os.path.join(REPO, "galaxy.yml"), encoding="utf-8") as handle:
        version = yaml.safe_load(handle)["version"]
    tarball = built / ("pexip-infinity-%s.tar.gz" % version)
    assert tarball.is_file(), sorted(os.listdir(built))
    # --no-deps: amazon.aws comes from the `ansible` package, as in the execution environment.
    _run([os.path.join(BIN, "ansible-galaxy"), "collection", "install", "--no-deps", "-p", str(collections),
          str(tarball)], env=env)
    return {"tarball": tarball, "collections": collections, "work": work, "config": config}


def _collection_env(installed, lab_env):  # pylint: disable=redefined-outer-name
    """The lab's environment, with only the installed tarball on the collection path (no repo, no ansible.cfg)."""
    env = dict(os.environ)
    env.update(lab_env)
    env.pop("ANSIBLE_COLLECTIONS_PATH", None)
    env.update(ANSIBLE_CONFIG=str(installed["config"]), ANSIBLE_ROLES_PATH=str(installed["work"]))
    return env


def test_tarball_holds_no_development_files(installed):  # pylint: disable=redefined-outer-name
    listing = _run(["tar", "-tzf", str(installed["tarball"])]).stdout.split()
    names = {name.lstrip("./") for name in listing}
    assert "MANIFEST.json" in names and "meta/runtime.yml" in names
    unwanted = (".venv/", ".lab", ".nox/", ".pytest_cache/", "tests/output/", "build/", "Makefile",
                "ansible-navigator.log", "changelogs/.plugin-cache.yaml", ".git/")
    leaked = sorted(name for name in names if name.startswith(unwanted))
    assert not leaked, "add to galaxy.yml build_ignore: %s" % leaked[:20]


def test_installed_collection_works_against_the_lab(installed, lab_env):  # pylint: disable=redefined-outer-name
    env = _collection_env(installed, lab_env)
    work = installed["work"]

    listed = json.loads(_run([os.path.join(BIN, "ansible-galaxy"), "collection", "list", "pexip.infinity",
                              "--format", "json"], env=env, cwd=str(work)).stdout)
    assert list(listed) == [str(installed["collections"] / "ansible_collections")], listed

    # The lab's Management Node has Conferencing Nodes only once a test deployed some: create one for the
    # inventory plugin with the installed collection's module.
    node = "smoke-%s" % uuid.uuid4().hex[:8]
    location = "Smoke %s" % node
    inventory = work / "lab.pexip.yml"
    inventory.write_text("plugin: pexip.infinity.infinity\nfilters:\n  name__startswith: %s\n" % node)
    address = "127.21.%d.%d" % (random.randint(0, 255), random.randint(2, 254))

    def play(name, state):
        path = work / ("%s.yml" % name)
        path.write_text(yaml.safe_dump([{
            "name": "%s the smoke test's location and Conferencing Node" % name, "hosts": "localhost",
            "gather_facts": False, "tasks": [
                {"name": "Location", "pexip.infinity.pexip_location": {"name": location, "state": state}},
                # Created by smoke_play.yml's role: only removed here.
                {"name": "Role's location", "pexip.infinity.pexip_location": {"name": location + " role",
                                                                              "state": "absent"}},
                {"name": "Node", "pexip.infinity.pexip_node": {
                    "name": node, "hostname": node, "domain": "lab.example.com", "address": address,
                    "netmask": "255.255.255.0", "gateway": address.rsplit(".", 1)[0] + ".1",
                    "system_location": location, "role": "transcoding", "state": state,
                    "ssh_password": "smoke-%s" % uuid.uuid4().hex,
                    "allow_loopback_addresses": True}},  # the lab's addresses are on loopback
            ][:: 1 if state == "present" else -1]}]))
        return path

    _run([os.path.join(BIN, "ansible-playbook"), str(play("setup", "present"))], env=env, cwd=str(work))
    try:
        env["SMOKE_LOCATION"] = location + " role"
        result = _run([os.path.join(BIN, "ansible-playbook"), "-i", str(inventory),
                       os.path.join(HERE, "smoke_play.yml")], env=env, cwd=str(work))
        assert "failed=0" in result.stdout and "%s " % node in result.stdout, result.stdout
    finally:
        _run([os.path.join(BIN, "ansible-playbook"), str(play("cleanup", "absent"))], env=env, cwd=str(work))


def test_installed_collection_builds_the_platform_from_a_project_of_its_own(installed, lab_env):  # pylint: disable=redefined-outer-name
    """What a user does after `ansible-galaxy collection install`: in a project directory outside the checkout, with
    only the installed collection and an inventory of their own, the whole site flow by the collection's playbook
    name (`pexip.infinity.site`). Once, and for a small platform of the user's own (the lab's Management Node, one
    always-on and one bursting node: every play of the flow has work): test_e2e_platform runs the same flow for the
    lab's whole platform from the checkout, twice (changed=0) and in check mode."""
    env = _collection_env(installed, lab_env)
    project = installed["work"] / "project"
    project.mkdir()
    # The project's own configuration: the installed collections and Ansible's default inventory plugins.
    (project / "ansible.cfg").write_text("[defaults]\ncollections_path = %s\n" % installed["collections"])
    env["ANSIBLE_CONFIG"] = str(project / "ansible.cfg")
    with open(os.path.join(lab_env["LAB_DIR"], "inventory.yml"), encoding="utf-8") as handle:
        inventory = yaml.safe_load(handle)
    groups = inventory["all"]["children"]["pexip_platform"]["children"]
    for group, keep in (("conferencing_nodes", "cn-lon-1"), ("bursting_nodes", "cn-burst-1")):
        assert keep in groups[group]["hosts"], groups[group]["hosts"]
        groups[group]["hosts"] = {keep: groups[group]["hosts"][keep]}
    # cn-lon-1 in location London, cn-burst-1 bursting for it: the edge location stays declared, with no node.
    with open(str(project / "inventory.yml"), "w", encoding="utf-8") as handle:
        yaml.safe_dump(inventory, handle, sort_keys=False)
    result = _run([os.path.join(BIN, "ansible-playbook"), "-i", "inventory.yml", "pexip.infinity.site"],
                  env=env, cwd=str(project))
    recap = [line for line in result.stdout.splitlines() if " : ok=" in line]
    assert len(recap) == 3, result.stdout[-6000:]
    assert all(" failed=0 " in line and " unreachable=0 " in line for line in recap), result.stdout[-6000:]
