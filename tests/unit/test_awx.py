# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""AWX artefacts: the credential types and the execution environment definition."""

import ast
import glob
import os
import re
import shutil
import subprocess
import sys

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "utils"))

import awx  # noqa: E402  pylint: disable=wrong-import-position

BIN = os.path.dirname(sys.executable)
API_TYPE = "credential_type_pexip.yml"
SSH_TYPE = "credential_type_pexip_node_ssh.yml"


def module_utils_env_names():
    """Every environment variable named in an env_fallback of plugins/module_utils (parsed, not imported)."""
    names = set()
    for path in glob.glob(os.path.join(ROOT, "plugins", "module_utils", "*.py")):
        with open(path, encoding="utf-8") as handle:
            tree = ast.parse(handle.read())
        for node in ast.walk(tree):
            if isinstance(node, ast.Tuple) and len(node.elts) == 2 and getattr(node.elts[0], "id", None) == "env_fallback":
                names.update(elt.value for elt in node.elts[1].elts)
    return names


def test_module_utils_fallbacks_are_found():
    # Guard for the parser above: the connection options are there.
    assert {"PEXIP_HOST", "PEXIP_USERNAME", "PEXIP_PASSWORD", "PEXIP_VALIDATE_CERTS", "PEXIP_CA_PATH"} <= module_utils_env_names()


def test_api_credential_injects_exactly_what_module_utils_reads():
    cred_type = awx.load_credential_type(API_TYPE)
    assert set(cred_type["injectors"]["env"]) == module_utils_env_names()


def test_node_ssh_credential_injects_what_the_deploy_role_reads():
    cred_type = awx.load_credential_type(SSH_TYPE)
    assert list(cred_type["injectors"]["env"]) == ["PEXIP_NODE_SSH_PASSWORD"]
    with open(os.path.join(ROOT, "roles", "conferencing_node", "defaults", "main.yml"), encoding="utf-8") as handle:
        assert "lookup('ansible.builtin.env', 'PEXIP_NODE_SSH_PASSWORD')" in handle.read()


@pytest.mark.parametrize("name", [API_TYPE, SSH_TYPE])
def test_credential_type_is_one_awx_accepts(name):
    cred_type = awx.load_credential_type(name)
    assert cred_type["kind"] == "cloud"
    fields = cred_type["inputs"]["fields"]
    ids = [f["id"] for f in fields]
    assert len(ids) == len(set(ids)) and "tower" not in ids
    for field in fields:
        assert set(field) <= {"id", "label", "type", "help_text", "secret", "multiline", "format", "choices", "ask_at_runtime"}
        assert re.match(r"^[a-zA-Z_]+[a-zA-Z0-9_]*$", field["id"]) and field["type"] in ("string", "boolean")
    assert set(cred_type["inputs"]["required"]) <= set(ids)
    # No ANSIBLE_* (AWX refuses them) nor any other name AWX reserves.
    for env_name in cred_type["injectors"]["env"]:
        assert awx.env_var_allowed(env_name), env_name
        assert not env_name.startswith("ANSIBLE_")
    assert set(cred_type["injectors"]) <= {"env", "file", "extra_vars"}
    # Secrets are marked secret.
    assert {f["id"] for f in fields if "password" in f["id"]} <= {f["id"] for f in fields if f.get("secret")}


def test_api_credential_renders_like_awx(tmp_path):
    cred_type = awx.load_credential_type(API_TYPE)
    env, safe = awx.inject_credential(cred_type, {
        "host": "mgr.example.com", "username": "ops", "password": "s3cret", "ca_cert": "-----BEGIN CERTIFICATE-----\nX\n",
        "timeout": "45"}, str(tmp_path))
    assert env["PEXIP_HOST"] == "mgr.example.com" and env["PEXIP_USERNAME"] == "ops" and env["PEXIP_PASSWORD"] == "s3cret"
    assert env["PEXIP_TIMEOUT"] == "45"
    # Verification stays on when the box was never ticked (AWX makes an unset boolean false).
    assert env["PEXIP_VALIDATE_CERTS"] == "true"
    assert os.path.dirname(env["PEXIP_CA_PATH"]) == str(tmp_path / "env")
    with open(env["PEXIP_CA_PATH"], encoding="utf-8") as handle:
        assert handle.read() == "-----BEGIN CERTIFICATE-----\nX\n"
    assert safe["PEXIP_PASSWORD"] == "**********"


def test_api_credential_defaults(tmp_path):
    env, _safe = awx.inject_credential(awx.load_credential_type(API_TYPE), {
        "host": "mgr", "username": "admin", "password": "p", "skip_tls_verify": True}, str(tmp_path))
    assert env["PEXIP_VALIDATE_CERTS"] == "false"
    # No CA: an empty value, which the modules and the inventory plugin read as "the system's trust store".
    assert env["PEXIP_CA_PATH"] == ""
    assert env["PEXIP_TIMEOUT"] == "30"


def test_api_credential_requires_host_and_password(tmp_path):
    with pytest.raises(awx.InjectionRefused):
        awx.inject_credential(awx.load_credential_type(API_TYPE), {"host": "mgr", "username": "admin"}, str(tmp_path))


def test_awx_refuses_ansible_names(tmp_path):
    bad = {"inputs": {"fields": [{"id": "x", "label": "x", "type": "string"}]}, "injectors": {"env": {"ANSIBLE_X": "{{ x }}"}}}
    with pytest.raises(awx.InjectionRefused):
        awx.inject_credential(bad, {"x": "1"}, str(tmp_path))


# -- execution environment ---------------------------------------------------------------------------
def load(path):
    with open(os.path.join(ROOT, path), encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def test_collection_declares_its_ee_dependencies():
    meta = load("meta/execution-environment.yml")
    assert meta["version"] == 1
    assert meta["dependencies"] == {"python": "requirements.txt", "system": "bindep.txt"}
    with open(os.path.join(ROOT, "requirements.txt"), encoding="utf-8") as handle:
        reqs = {re.split(r"[<>=!~ ]", line.strip())[0].lower() for line in handle if line.strip() and not line.startswith("#")}
    assert {"paramiko", "boto3", "requests", "requests-toolbelt", "cryptography"} <= reqs  # requests: the API client's transport


def test_builder_create_makes_a_build_context(tmp_path):
    """ansible-builder's own `create` step: validates the definition and writes the build context."""
    src = tmp_path / "src"
    src.mkdir()
    for name in ("execution-environment.yml", "requirements.txt", "bindep.txt"):
        shutil.copy(os.path.join(ROOT, name), src / name)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, ".venv", "collections"))
    build = subprocess.run([os.path.join(BIN, "ansible-galaxy"), "collection", "build", "--force", "--output-path",
                            str(src / "build"), ROOT], env=env, capture_output=True, text=True, timeout=300, check=False)
    assert build.returncode == 0, build.stderr
    context = tmp_path / "context"
    proc = subprocess.run([os.path.join(BIN, "ansible-builder"), "create", "-f", str(src / "execution-environment.yml"),
                           "-c", str(context), "--output-filename", "Containerfile"],
                          cwd=str(src), env=env, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    containerfile = (context / "Containerfile").read_text()
    assert "ansible-galaxy collection install" in containerfile
    assert "mv /build/collections/pexip-infinity-*.tar.gz /build/collections/pexip-infinity.tar.gz" in containerfile
    galaxy = yaml.safe_load((context / "_build" / "requirements.yml").read_text())
    names = {c["name"] for c in galaxy["collections"]}
    assert {"amazon.aws", "/build/collections/pexip-infinity.tar.gz"} == names
    tarballs = list((context / "_build" / "collections").glob("pexip-infinity-*.tar.gz"))
    assert len(tarballs) == 1
    pip = (context / "_build" / "requirements.txt").read_text()
    for lib in ("paramiko", "boto3", "requests", "cryptography"):
        assert re.search(r"^%s\b" % lib, pip, re.M), pip
    assert "openssh-clients" in (context / "_build" / "bindep.txt").read_text()


def test_builder_introspection_finds_the_collection_dependencies(tmp_path):
    """What the EE's builder stage computes from the installed collections (meta/execution-environment.yml)."""
    collections = tmp_path / "ansible_collections"
    (collections / "pexip").mkdir(parents=True)
    os.symlink(ROOT, str(collections / "pexip" / "infinity"))
    proc = subprocess.run([os.path.join(BIN, "ansible-builder"), "introspect", str(tmp_path)],
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    data = yaml.safe_load(proc.stdout) or {}
    python = " ".join(data.get("python", []))
    assert "paramiko" in python and "boto3" in python, proc.stdout
    assert "openssh" in " ".join(data.get("system", [])), proc.stdout
