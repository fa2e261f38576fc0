# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Release notes: galaxy.yml's version is the newest release of changelogs/changelog.yaml, CHANGELOG.md/.rst are what
antsibull-changelog generates from it, and every fragment not yet released is valid (`antsibull-changelog lint`).

Releasing: add fragments, bump galaxy.yml's version, `antsibull-changelog release` (it writes both files and removes
the fragments it released; fragments added later stay for the next release).
"""

import os
import shutil
import subprocess
import sys

import yaml
from packaging.version import Version

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
CHANGELOG = os.path.join(os.path.dirname(sys.executable), "antsibull-changelog")


def _load(path):
    with open(os.path.join(REPO, path), encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def test_galaxy_version_is_the_newest_release():
    releases = _load("changelogs/changelog.yaml")["releases"]
    newest = max(releases, key=Version)
    assert _load("galaxy.yml")["version"] == newest, "bump galaxy.yml or run antsibull-changelog release"
    for name in ("CHANGELOG.md", "CHANGELOG.rst"):
        with open(os.path.join(REPO, name), encoding="utf-8") as handle:
            text = handle.read()
        assert "v%s" % newest in text.replace("\\.", "."), "%s lacks release %s" % (name, newest)


def test_changelog_files_are_generated_from_changelog_yaml(tmp_path):
    for path in ("galaxy.yml", "CHANGELOG.md", "CHANGELOG.rst"):
        shutil.copy(os.path.join(REPO, path), tmp_path / path)
    shutil.copytree(os.path.join(REPO, "changelogs"), tmp_path / "changelogs")
    subprocess.run([CHANGELOG, "generate"], cwd=tmp_path, check=True, capture_output=True, timeout=120)
    for name in ("CHANGELOG.md", "CHANGELOG.rst"):
        assert (tmp_path / name).read_text() == open(os.path.join(REPO, name), encoding="utf-8").read(), (
            "%s is out of date: run antsibull-changelog generate" % name)


def test_unreleased_fragments_are_valid():
    result = subprocess.run([CHANGELOG, "lint"], cwd=REPO, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0 and not result.stdout.strip(), result.stdout + result.stderr
