# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A Pexip Infinity simulator for the lab: Management Node API, Conferencing Node bootstrap pages, EC2 bursting."""

from .server import PexSim

__all__ = ['PexSim']
