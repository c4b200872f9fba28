"""adjtimex(2), read-only (no privileges): returns TIME_ERROR while the clock is unsynchronised, and its `offset` is
the current estimated error. No subprocess, no D-Bus; inside a container it reads the host's kernel state."""

import ctypes
import ctypes.util
from dataclasses import dataclass
from functools import cache

TIME_ERROR = 5
STA_NANO = 0x2000


class _Timeval(ctypes.Structure):
    _fields_ = (("tv_sec", ctypes.c_long), ("tv_usec", ctypes.c_long))


class _Timex(ctypes.Structure):
    # struct timex from <sys/timex.h> (Linux, LP64 and ILP32 alike: longs and ints in this order).
    _fields_ = (
        ("modes", ctypes.c_uint), ("offset", ctypes.c_long), ("freq", ctypes.c_long), ("maxerror", ctypes.c_long),
        ("esterror", ctypes.c_long), ("status", ctypes.c_int), ("constant", ctypes.c_long),
        ("precision", ctypes.c_long), ("tolerance", ctypes.c_long), ("time", _Timeval), ("tick", ctypes.c_long),
        ("ppsfreq", ctypes.c_long), ("jitter", ctypes.c_long), ("shift", ctypes.c_int), ("stabil", ctypes.c_long),
        ("jitcnt", ctypes.c_long), ("calcnt", ctypes.c_long), ("errcnt", ctypes.c_long), ("stbcnt", ctypes.c_long),
        ("tai", ctypes.c_int), ("_pad", ctypes.c_int * 11),
    )


@dataclass(frozen=True, slots=True)
class KernelClock:
    """The kernel's view: synchronised by NTP or not, and the estimated offset in milliseconds."""

    synced: bool
    offset_ms: float


@cache
def _libc() -> ctypes.CDLL | None:
    # Found once: find_library runs `ldconfig -p` (a few ms), and the agent and the sender ask every few seconds.
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        return ctypes.CDLL(name, use_errno=True)
    except OSError:
        return None


def kernel_clock() -> KernelClock | None:
    """adjtimex(2) read-only, or None where it is unavailable (not Linux)."""
    libc = _libc()
    if libc is None:
        return None
    try:
        timex = _Timex()
        state = libc.adjtimex(ctypes.byref(timex))
    except AttributeError:
        return None
    if state < 0:
        return None
    scale = 1e6 if timex.status & STA_NANO else 1e3
    return KernelClock(synced=state != TIME_ERROR, offset_ms=timex.offset / scale)
