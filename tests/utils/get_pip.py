# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Stand-in for the get-pip.py that ansible-test downloads from ci-files.testing.ansible.com.

That host is not reachable from this project's machines (only PyPI is), so `make sanity` places this
file in ansible-test's cache. Same contract: bootstrap pip into the running (empty) venv from the
wheel bundled with Python (ensurepip), then `pip install` the arguments it was given.
"""

import ensurepip
import os
import subprocess
import sys

# get-pip.py options that `pip install` does not know.
GET_PIP_ONLY = ("--no-setuptools", "--no-wheel")

# ensurepip points PIP_CONFIG_FILE at /dev/null in os.environ; the install must see the machine's pip config.
ENV = dict(os.environ)
ensurepip.bootstrap(upgrade=True)
subprocess.check_call([sys.executable, "-m", "pip", "install"] + [a for a in sys.argv[1:] if a not in GET_PIP_ONLY], env=ENV)
