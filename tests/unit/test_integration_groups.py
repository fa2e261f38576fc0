# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""`make integration` runs pytest-xdist with --dist loadgroup: a test file whose tests share a module-scoped fixture
must keep them on one worker (pytestmark xdist_group), or each worker builds the fixture again (a whole deployment)."""

import glob
import os
import re

import pytest

INTEGRATION = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "integration")
FILES = sorted(glob.glob(os.path.join(INTEGRATION, "test_*.py")))


@pytest.mark.parametrize("path", FILES, ids=os.path.basename)
def test_module_fixtures_stay_on_one_worker(path):
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    if re.search(r"scope=[\"'](module|package|session)[\"']", text):
        name = os.path.splitext(os.path.basename(path))[0]
        assert re.search(r"^pytestmark = pytest\.mark\.xdist_group\([\"']%s[\"']\)" % name, text, re.M), (
            "%s has a module-scoped fixture: add pytestmark = pytest.mark.xdist_group(\"%s\")" % (name, name))
