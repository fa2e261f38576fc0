# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bursting helpers: the tag value and API timestamps."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime

import pytest

from ansible_collections.pexip.infinity.plugins.module_utils.bursting import bursting_tag_value, parse_time

from fakes import CONF, FakeApi


def test_tag_value_is_the_primary_management_vm_hostname():
    api = FakeApi({"management_vm": [{"hostname": "mgr-secondary", "primary": False}, {"hostname": "mgr01", "primary": True}]})
    assert bursting_tag_value(api.client()) == "mgr01"
    assert [(method, path) for method, path, _params in api.log] == [("GET", CONF + "management_vm/")]


@pytest.mark.parametrize("vms", [[], [{"hostname": "mgr-secondary", "primary": False}], [{"hostname": "", "primary": True}]])
def test_no_primary_hostname_is_none_never_unknown(vms):
    assert bursting_tag_value(FakeApi({"management_vm": vms}).client()) is None


@pytest.mark.parametrize("text,expected", [
    ("2024-05-02T08:50:03", datetime.datetime(2024, 5, 2, 8, 50, 3)),
    ("2024-05-02T08:50:03.123456", datetime.datetime(2024, 5, 2, 8, 50, 3, 123456)),
    ("2024-05-02T08:50:03.1234567", datetime.datetime(2024, 5, 2, 8, 50, 3, 123456)),
    ("2024-05-02T08:50:03.5Z", datetime.datetime(2024, 5, 2, 8, 50, 3, 500000)),
    ("2024-05-02 08:50:03+00:00", datetime.datetime(2024, 5, 2, 8, 50, 3)),
    ("2024-05-02T10:50:03+02:00", datetime.datetime(2024, 5, 2, 8, 50, 3)),
    ("2024-05-02T03:20:03-0530", datetime.datetime(2024, 5, 2, 8, 50, 3)),
    ("2024-05-02T08:50", datetime.datetime(2024, 5, 2, 8, 50)),
    (None, None),
    ("", None),
    ("Never", None),
    (12, None),
])
def test_parse_time(text, expected):
    assert parse_time(text) == expected
