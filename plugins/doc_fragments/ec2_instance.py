# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # The option module_utils.ec2.instance_module adds: the collection's own EC2 modules work on one instance each.
    DOCUMENTATION = r"""
options:
  instance_id:
    description: The instance.
    type: str
    required: true
"""
