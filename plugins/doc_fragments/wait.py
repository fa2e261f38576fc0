# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # The options of module_utils.waiter.wait_argument_spec. A module documents what it waits for and its defaults.
    DOCUMENTATION = r"""
options:
  wait:
    description:
      - Wait until the module's target state is reached (see the module's description of O(wait)).
    type: bool
    default: false
  wait_timeout:
    description:
      - Seconds to wait with O(wait=true) before the module fails.
    type: int
    default: 600
  poll_interval:
    description:
      - Longest time in seconds between two checks while waiting. The first checks come sooner (after 1, 2, 4... seconds).
    type: float
    default: 10
"""
