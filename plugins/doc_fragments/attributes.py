# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # A module that changes things: full check mode and diff. A module may override a description.
    DOCUMENTATION = r"""
attributes:
  check_mode:
    description: Can run in check mode and return changed status prediction without modifying the target.
    support: full
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check mode), when in diff mode.
    support: full
  platform:
    description: Talks to the Pexip Infinity Management Node REST API; runs on the controller or any host that reaches it.
    support: full
    platforms: pexip
"""

    # A module that only reads.
    INFO = r"""
attributes:
  check_mode:
    description: Only reads, so it runs in check mode as it does otherwise.
    support: full
  diff_mode:
    description: Returns no diff; it changes nothing.
    support: none
  platform:
    description: Talks to the Pexip Infinity Management Node REST API; runs on the controller or any host that reaches it.
    support: full
    platforms: pexip
"""
