"""Which boot this is and how long since it began: what lets the cloud see the wall clock stepped within a boot.

The kernel's boot id (a UUID, new at every boot) and CLOCK_BOOTTIME (seconds since boot, counting suspend) go in
every heartbeat beside its `ts`. Within one boot, `ts - boot_s` stays put however NTP slews the clock; it moves only
when the wall clock is stepped (`date -s`, an NTP server that steps it), so a clock set back while the station was
offline and set right before it reconnected shows in the heartbeats it kept (cloud.rules.clock_steps).
"""

import time
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from uuid import UUID

BOOT_ID = Path("/proc/sys/kernel/random/boot_id")


@dataclass(frozen=True, slots=True)
class Boot:
    """This boot's id and the seconds since it began, read together with a heartbeat's time."""

    id: UUID
    seconds: float


@cache
def _boot_id() -> UUID | None:
    # The same for the agent's whole life (a process does not outlive its boot): read once.
    try:
        return UUID(BOOT_ID.read_text(encoding="ascii").strip())
    except (OSError, UnicodeDecodeError, ValueError):
        return None


def boot_clock() -> Boot | None:
    """The kernel's boot id and CLOCK_BOOTTIME now, or None where there are none (not Linux)."""
    boot_id = _boot_id()
    clock = getattr(time, "CLOCK_BOOTTIME", None)
    if boot_id is None or clock is None:
        return None
    return Boot(boot_id, round(time.clock_gettime(clock), 3))
