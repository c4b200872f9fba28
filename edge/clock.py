"""Is the wall clock trustworthy? A Pi has no RTC: it boots with the last shutdown time until NTP syncs.

The kernel knows whether NTP disciplined the clock (`hostclock`, adjtimex(2)); this module judges what it says.
"""

import logging
from datetime import UTC, datetime
from typing import Literal

from hostclock import KernelClock

log = logging.getLogger(__name__)

EARLIEST = datetime(2020, 1, 1, tzinfo=UTC)
ClockCheck = Literal["ntp", "year", "off"]


def clock_problem(now: datetime, mode: ClockCheck, kernel: KernelClock | None) -> str | None:
    """Why timestamps taken now cannot be trusted, or None. Pure: the caller passes the kernel's state."""
    if mode == "off":
        return None
    if now < EARLIEST:
        return f"the clock says {now:%Y-%m-%d}, before 2020: not set yet"
    if mode == "ntp" and kernel is not None and not kernel.synced:
        return "the kernel reports the clock as not synchronised by NTP yet"
    return None
