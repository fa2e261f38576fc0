# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""`make integration` runs pytest-xdist: the tests of one file share module fixtures (a deployed platform) and run in
file order, so a file must stay on one worker. `--dist loadfile` does that; `--dist loadgroup` with xdist_group marks
no longer does under pytest 9 + pytest-xdist 3.8 (seen: a file's tests spread over both workers, each worker built the
module fixture again, and the fault matrix's cases found a platform deployed on the other worker's lab)."""

import os
import re

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_integration_keeps_each_file_on_one_worker():
    with open(os.path.join(REPO, "Makefile"), encoding="utf-8") as handle:
        makefile = handle.read()
    runs = re.findall(r"pytest .*tests/integration", makefile)
    assert runs and all("--dist loadfile" in run for run in runs), runs
