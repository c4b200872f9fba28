"""Is the sender's own clock fit to be the reference of the time checks?

Every answer to a time check is judged against the time the sender stamped on the question (cloud.rules.clock_check):
a sender host whose clock ran `clock_behind_minutes` ahead would find every answering station behind and void every
station's day. The sender therefore asks only while its host's kernel reports the clock synchronised by NTP (the
same test a station agent applies to its own readings), unless the operator turns the test off for a host whose
kernel cannot tell (some sandboxes and VMs keep the clock right from outside and report it unsynchronised).
"""

from typing import Literal

from hostclock import KernelClock

ReferenceCheck = Literal["ntp", "off"]


def reference_problem(mode: ReferenceCheck, kernel: KernelClock | None) -> str | None:
    """Why the sender's clock cannot be the reference now, or None. Pure: the caller reads the kernel. A kernel that
    cannot be asked (not Linux) is not held against the clock, as on a station."""
    if mode == "off" or kernel is None or kernel.synced:
        return None
    return ("the host's kernel reports its clock as not synchronised by NTP: its time cannot be the reference a "
            "station's answer is judged against (start an NTP client, e.g. systemd-timesyncd or chrony, or pass "
            "ELDERCARE_REFERENCE_CLOCK=off if the clock is kept right by other means)")
