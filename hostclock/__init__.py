"""The host's clock as its kernel knows it: synchronised by NTP or not (adjtimex(2), read-only).

Below both the edge and the cloud: a station agent holds its readings while its clock is not synchronised, and the
cloud's sender asks no station for its time while its own clock is not (its time is the reference the answers are
judged against).
"""

from hostclock.kernel import KernelClock, kernel_clock

__all__ = ["KernelClock", "kernel_clock"]
