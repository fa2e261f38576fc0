# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Cloud bursting helpers shared by pexip_burst_settings, pexip_cloud_node and pexip_cloud_node_info."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import re

GLOBAL_URI = "/api/admin/configuration/v1/global/1/"
TAG_NAME = "pexip-cloud"

_TIMESTAMP = re.compile(r"^(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d)(?::(\d\d)(?:\.(\d{1,6})\d*)?)?\s*(Z|[+-]\d\d:?\d\d)?$", re.I)


def bursting_tag_value(client):
    """Value of the ``pexip-cloud`` tag: the hostname of the primary Management Node (``configuration/v1/management_vm``).

    None when the Management Node reports no primary management_vm with a hostname: the caller must then stop
    (or take an explicit value) rather than tag instances with a value that bursting would never match.
    """
    primary = [vm for vm in client.list("management_vm") if vm.get("primary")]
    return primary[0].get("hostname") or None if primary else None


def parse_time(value):
    """An API timestamp (naive = UTC, or with Z / an offset) as a naive UTC datetime; None if absent or unreadable."""
    if not value or not isinstance(value, str):
        return None
    match = _TIMESTAMP.match(value.strip())
    if not match:
        return None
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    stamp = datetime.datetime(int(year), int(month), int(day), int(hour), int(minute), int(second or 0),
                              int((fraction or "0").ljust(6, "0")))
    if zone and zone.upper() != "Z":
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        stamp -= sign * datetime.timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    return stamp
