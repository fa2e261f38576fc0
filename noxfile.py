# SPDX-License-Identifier: GPL-3.0-or-later
"""nox sessions: antsibull-nox's (antsibull-nox.toml) plus ansible-test sanity per supported ansible-core.

Run from the project venv so the collections the `ansible` package ships (amazon.aws) are found:
`make nox`, or `.venv/bin/nox -R -e <session>` (`-R` reuses the session venvs).
"""

import os
from pathlib import Path

import ansible
import antsibull_nox

# No container engine on CI: ansible-test sanity runs in its own venvs (--venv) rather than antsibull-nox's --docker.
# Every ansible-core meta/runtime.yml's requires_ansible admits (tests/ecosystem checks the two agree).
SANITY_ANSIBLE_CORE = ["2.18", "2.19"]
SANITY_PYTHON = "3.11"


def _expose_dependencies():
    """Galaxy is out of reach: let antsibull-nox find amazon.aws where the `ansible` package installed it.

    antsibull-nox lists collections with each session's own ansible-galaxy (ansible-core only), so the
    collections of the venv running nox go on ANSIBLE_COLLECTIONS_PATH through a small tree of links.
    """
    shipped = Path(ansible.__file__).resolve().parent.parent / "ansible_collections"
    tree = Path(__file__).resolve().parent / ".nox" / "dependencies"
    for name in ("amazon.aws",):
        namespace, collection = name.split(".")
        link = tree / "ansible_collections" / namespace / collection
        link.parent.mkdir(parents=True, exist_ok=True)
        if not link.is_symlink():
            link.symlink_to(shipped / namespace / collection)
    paths = [str(tree)] + [p for p in os.environ.get("ANSIBLE_COLLECTIONS_PATH", "").split(os.pathsep) if p]
    os.environ["ANSIBLE_COLLECTIONS_PATH"] = os.pathsep.join(paths)


_expose_dependencies()
antsibull_nox.load_antsibull_nox_toml()


def _offline_get_pip():
    """ansible-test bootstraps pip in its venvs with get-pip.py from a host CI cannot reach: use our copy."""
    cache = Path.home() / ".ansible" / "test" / "cache"
    cache.mkdir(parents=True, exist_ok=True)
    source = Path(__file__).parent / "tests" / "utils" / "get_pip.py"
    for pip_version in ("24_2",):  # the pip both ansible-test 2.18 and 2.19 bootstrap
        (cache / f"get_pip_{pip_version}.py").write_bytes(source.read_bytes())


def _make_output_dirs():
    """antsibull-nox copies ansible-test's tests/output back walking bottom-up without creating parents:
    create the directory tree first (runs in the session's copy of the collection)."""
    repo_output = Path(__file__).resolve().parent / "tests" / "output"
    for directory in Path("tests/output").rglob("*"):
        if directory.is_dir():
            (repo_output / directory.relative_to("tests/output")).mkdir(parents=True, exist_ok=True)


# pylint (two thirds of a sanity run's CPU) runs with the newest ansible-core's rules only; every other sanity test
# runs on each version.
PYLINT_ON = SANITY_ANSIBLE_CORE[-1]

for _minor in SANITY_ANSIBLE_CORE:
    antsibull_nox.add_ansible_test_session(
        name=f"ansible-test-sanity-{_minor}",
        description=f"ansible-test sanity with ansible-core {_minor}.x (--venv, Python {SANITY_PYTHON})",
        ansible_test_params=["sanity", "--venv", "--python", SANITY_PYTHON, "--color", "no"]
        + ([] if _minor == PYLINT_ON else ["--skip-test", "pylint"]),
        default=False,
        ansible_core_version=_minor,
        ansible_core_source="pypi",
        callback_before=_offline_get_pip,
        callback_after=_make_output_dirs,
        register_name="sanity",
    )
