# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What AWX does around a job, without AWX: credential injection, inventory import, the private data dir.

Follows AWX's own code (awx/main/models/credential: ``CredentialType.inject_credential``; the built-in
``aws`` injector; the inventory update, which runs ``ansible-inventory --list`` on the inventory source and
hands the imported hosts, groups and variables to jobs as an inventory script) closely enough that a job
run here by ansible-runner sees what it would see in AWX: credentials only as environment variables,
survey answers and job template variables as extra vars, inventory variables in the inventory.
"""

import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile

import yaml
from jinja2.sandbox import ImmutableSandboxedEnvironment

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
BIN = os.path.dirname(sys.executable)
AWX_DIR = os.path.join(REPO, "extensions", "awx")

# awx/main/fields.py CredentialTypeInjectorField: names a custom credential may not inject.
ENV_BLOCKLIST = frozenset((
    "VIRTUAL_ENV", "PATH", "PYTHONPATH", "JOB_ID", "INVENTORY_ID", "INVENTORY_SOURCE_ID", "INVENTORY_UPDATE_ID",
    "AD_HOC_COMMAND_ID", "REST_API_URL", "REST_API_TOKEN", "MAX_EVENT_RES", "CALLBACK_QUEUE", "CALLBACK_CONNECTION",
    "CACHE", "JOB_CALLBACK_DEBUG", "INVENTORY_HOSTVARS", "AWX_HOST", "PROJECT_REVISION", "SUPERVISOR_CONFIG_PATH",
))


class InjectionRefused(ValueError):
    pass


def load_credential_type(name):
    with open(os.path.join(AWX_DIR, name), encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def env_var_allowed(name):
    return not name.startswith("ANSIBLE_") and name not in ENV_BLOCKLIST


def check_inputs(cred_type, inputs):
    """AWX refuses a credential without its required inputs or with unknown ones."""
    fields = {f["id"]: f for f in cred_type["inputs"]["fields"]}
    missing = [f for f in cred_type["inputs"].get("required", []) if inputs.get(f) in (None, "")]
    unknown = sorted(set(inputs) - set(fields))
    if missing or unknown:
        raise InjectionRefused("missing %s, unknown %s" % (missing, unknown))
    for key, value in inputs.items():
        if (fields[key]["type"] == "boolean") != isinstance(value, bool):
            raise InjectionRefused("%s: wrong type" % key)


def inject_credential(cred_type, inputs, private_data_dir):
    """(env, safe_env) as AWX builds them for a job; file injectors are written under private_data_dir/env."""
    check_inputs(cred_type, inputs)
    secret = {f["id"] for f in cred_type["inputs"]["fields"] if f.get("secret")}

    class TowerNamespace:  # pylint: disable=too-few-public-methods
        pass

    tower = TowerNamespace()
    namespace, safe_namespace = {"tower": tower}, {"tower": tower}
    for key, value in inputs.items():
        if isinstance(value, bool):
            namespace[key] = safe_namespace[key] = value
            continue
        if key in secret:
            safe_namespace[key] = "**********"
        elif len(value):
            safe_namespace[key] = value
        if len(value):
            namespace[key] = value
    for field in cred_type["inputs"]["fields"]:
        # AWX: a boolean the credential does not set is False.
        if field["type"] == "boolean" and field["id"] not in inputs:
            namespace[field["id"]] = safe_namespace[field["id"]] = False

    sandbox = ImmutableSandboxedEnvironment()
    injectors = cred_type.get("injectors", {})
    env_dir = os.path.join(private_data_dir, "env")
    os.makedirs(env_dir, exist_ok=True)
    for label, template in injectors.get("file", {}).items():
        data = sandbox.from_string(template).render(**namespace)
        handle, path = tempfile.mkstemp(dir=env_dir)
        with os.fdopen(handle, "w") as out:
            out.write(data)
        os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)
        if "." not in label:
            tower.filename = path
        else:
            if not hasattr(tower, "filename"):
                tower.filename = TowerNamespace()
            setattr(tower.filename, label.split(".", 1)[1], path)
    env, safe_env = {}, {}
    for name, template in injectors.get("env", {}).items():
        if not env_var_allowed(name):
            raise InjectionRefused("AWX refuses to inject %s" % name)
        env[name] = sandbox.from_string(template).render(**namespace)
        safe_env[name] = sandbox.from_string(template).render(**safe_namespace)
    if injectors.get("extra_vars"):
        raise InjectionRefused("this helper only models env and file injectors")
    return env, safe_env


def aws_credential_env(access_key, secret_key, security_token=None):
    """AWX's built-in "Amazon Web Services" credential (awx/main/models/credential/injectors.py aws)."""
    env = {"AWS_ACCESS_KEY_ID": access_key, "AWS_SECRET_ACCESS_KEY": secret_key}
    if security_token:
        env["AWS_SECURITY_TOKEN"] = env["AWS_SESSION_TOKEN"] = security_token
    return env


def base_env():
    """The execution environment's own environment: the tools on PATH, the installed collections, nothing else."""
    return {
        "PATH": BIN + os.pathsep + "/usr/bin:/bin",
        "HOME": os.environ.get("HOME", "/root"),
        "LANG": "C.UTF-8",
        # The collections the execution environment has installed (the caller's, else the repo's .venv).
        "ANSIBLE_COLLECTIONS_PATH": os.environ.get("ANSIBLE_COLLECTIONS_PATH") or os.path.join(REPO, ".venv", "collections"),
    }


def inventory_update(source_file, cred_env, workdir):
    """AWX's inventory update: ``ansible-inventory -i <source> --list`` with the credentials' environment."""
    env = dict(base_env(), **cred_env)
    proc = subprocess.run([os.path.join(BIN, "ansible-inventory"), "-i", source_file, "--list"], cwd=workdir, env=env,
                          capture_output=True, text=True, timeout=300, check=False)
    if proc.returncode != 0:
        raise AssertionError("inventory update failed:\n" + proc.stdout[-3000:] + proc.stderr[-3000:])
    return json.loads(proc.stdout)


def write_inventory_script(private_data_dir, listing, inventory_vars):
    """AWX hands a job its inventory as a script printing the imported data, inventory variables under all."""
    data = json.loads(json.dumps(listing))
    data.setdefault("all", {}).setdefault("vars", {}).update(inventory_vars)
    data.setdefault("_meta", {}).setdefault("hostvars", {})
    inv_dir = os.path.join(private_data_dir, "inventory")
    os.makedirs(inv_dir, exist_ok=True)
    path = os.path.join(inv_dir, "hosts")
    with open(path, "w", encoding="utf-8") as out:
        out.write("#! %s\nimport json, sys\nprint(json.dumps(%r))\n" % (sys.executable, data))
    os.chmod(path, 0o700)
    return path


def static_listing(groups):
    """``ansible-inventory --list`` shape of a declared inventory ({group: {host: hostvars}})."""
    listing = {"_meta": {"hostvars": {}}, "all": {"children": sorted(groups)}}
    for group, hosts in groups.items():
        listing[group] = {"hosts": sorted(hosts)}
        listing["_meta"]["hostvars"].update(hosts)
    return listing


def prepare_project(private_data_dir, source=os.path.join(AWX_DIR, "project")):
    """The project checkout: AWX copies the project's files into the private data dir."""
    shutil.copytree(source, os.path.join(private_data_dir, "project"))


def run_job(private_data_dir, playbook, envvars, extravars, ident, timeout=900):
    """ansible-runner, as AWX's task runner calls it: env/envvars, env/extravars, inventory/, project/."""
    env_dir = os.path.join(private_data_dir, "env")
    os.makedirs(env_dir, exist_ok=True)
    with open(os.path.join(env_dir, "envvars"), "w", encoding="utf-8") as out:
        yaml.safe_dump(envvars, out)
    os.chmod(os.path.join(env_dir, "envvars"), 0o600)
    with open(os.path.join(env_dir, "extravars"), "w", encoding="utf-8") as out:
        yaml.safe_dump(extravars, out)
    cmd = [os.path.join(BIN, "ansible-runner"), "run", private_data_dir, "-p", playbook, "--ident", ident]
    proc = subprocess.run(cmd, cwd=private_data_dir, env=base_env(), capture_output=True, text=True, timeout=timeout,
                          check=False)
    artifacts = os.path.join(private_data_dir, "artifacts", ident)
    events = []
    events_dir = os.path.join(artifacts, "job_events")
    names = os.listdir(events_dir) if os.path.isdir(events_dir) else []
    # <counter>-<uuid>.json: the counter orders the events.
    for name in sorted(names, key=lambda n: int(n.split("-", 1)[0])):
        with open(os.path.join(events_dir, name), encoding="utf-8") as handle:
            events.append(handle.read())
    return proc, events, artifacts
