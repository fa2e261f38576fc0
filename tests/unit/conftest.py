# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""tests/unit: the shared fakes (fakes.py) importable as ``fakes``, and its fixtures available to every test."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from fakes import module_run  # noqa: E402,F401  pylint: disable=wrong-import-position,unused-import
