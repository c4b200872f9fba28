"""Whether the time a phone says a sign-in or sign-out happened can be believed. Pure.

A caregiver's phone queues a scan taken without a connection and sends it later with the time it was taken, so the
server cannot use its own clock for the visit. It takes the phone's time unless that time is in the future (a phone
clock set ahead would lengthen a visit) or older than a queue can plausibly be (a scan "found" days later is how
a visit that never happened would be made up). A refusal names its reason; nothing is stored for it.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class PhoneTimeLimits:
    # Phone clocks drift; network time keeps them within seconds, and a few minutes of slack costs nothing.
    max_ahead: timedelta = timedelta(minutes=5)
    # A phone out of signal in a village for a weekend still gets its scans in; older ones need the provider.
    max_age: timedelta = timedelta(hours=72)


def time_problem(taken_at: datetime, received_at: datetime, limits: PhoneTimeLimits) -> str | None:
    """Why `taken_at` (the phone's time, aware) cannot be the time of a scan received at `received_at`, or None."""
    if taken_at.tzinfo is None:
        return "the time has no UTC offset"
    if taken_at > received_at + limits.max_ahead:
        ahead = taken_at - received_at
        return f"the time is {_span(ahead)} in the future: check the phone's clock"
    if taken_at < received_at - limits.max_age:
        return (f"the time is {_span(received_at - taken_at)} old, more than the {_span(limits.max_age)} an offline "
                "scan may wait")
    return None


def _span(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes < 120:
        return f"{minutes} min"
    hours = minutes // 60
    return f"{hours} h" if hours < 72 else f"{hours // 24} days"
