# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Cloud bursting helpers shared by pexip_burst_settings, pexip_cloud_node and pexip_cloud_node_info."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import re

GLOBAL_URI = "/api/admin/configuration/v1/global/1/"
TAG_NAME = "pexip-cloud"
# The API field that carries the bursting tag value is UNCONFIRMED (docs/pexip-api notes): the Administrator
# interface shows it read-only under Platform > Global Settings > Cloud Bursting. Correct it here only.
TAG_VALUE_FIELD = "cloud_bursting_tag_value"
UNKNOWN_TAG_VALUE = "unknown"

_TIMESTAMP = re.compile(r"^(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d)(?::(\d\d)(?:\.(\d{1,6})\d*)?)?\s*(Z|[+-]\d\d:?\d\d)?$", re.I)


def bursting_tag_value(settings):
    """Value of the ``pexip-cloud`` tag from the global settings; "unknown" when the Management Node has none.

    The deployment guide says to tag the instances "unknown" when the interface shows that value.
    """
    value = (settings or {}).get(TAG_VALUE_FIELD)
    return value if value else UNKNOWN_TAG_VALUE


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
