# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Small helpers of the initial-configuration modules (licences, certificates, Management Node, VMRs)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.pexip.infinity.plugins.module_utils.api import PexipError


def read_text(module, option, file_option):
    """The value of ``option``, or the content of the file ``file_option`` names (PEM from a file or a vault string)."""
    p = module.params
    if p.get(option) is not None:
        return p[option]
    path = p.get(file_option)
    if path is None:
        return None
    try:
        with open(path, "r") as handle:
            return handle.read()
    except (IOError, OSError) as exc:
        module.fail("cannot read %s %s: %s." % (file_option, path, exc))


def primary_management_vm(module):
    """The primary configuration/v1/management_vm object (the Management Node the API runs on); raises if none."""
    found = [vm for vm in module.client.list("management_vm") if vm.get("primary")]
    if not found:
        raise PexipError("the Management Node lists no primary management_vm (configuration/v1/management_vm/).")
    return found[0]
