"""What becomes of a work order: its state at a moment, whether it counts toward the elder's minimum, and whether
it lies over another order of the same caregiver at the same elder's. Pure functions of typed records and the
configuration.
"""

from collections.abc import Iterable
from datetime import datetime, timedelta
from enum import StrEnum

from cloud.homecare.config import HomecareConfig
from cloud.homecare.records import Visit


class OrderState(StrEnum):
    """What became of a work order."""

    COUNTED = "counted"  # signed out, long enough, not voided
    SHORT = "short"  # signed out before the minimum length: void (作废单)
    NO_SIGN_OUT = "no_sign_out"  # never signed out, and too long ago to still be running: void
    VOIDED = "voided"  # voided by the provider or the platform (quality)
    OPEN = "open"  # signed in, not signed out yet, still plausibly running


VOID_STATES = frozenset({OrderState.SHORT, OrderState.NO_SIGN_OUT, OrderState.VOIDED})


def order_state(visit: Visit, config: HomecareConfig, now: datetime) -> OrderState:
    """The state of one order at `now`. The length is measured exactly: 59 min 59 s is short of an hour."""
    if visit.voided:
        return OrderState.VOIDED
    if visit.sign_out is None:
        late = now - visit.sign_in >= timedelta(hours=config.no_sign_out_hours)
        return OrderState.NO_SIGN_OUT if late else OrderState.OPEN
    if visit.sign_out - visit.sign_in >= timedelta(minutes=config.min_visit_minutes):
        return OrderState.COUNTED
    return OrderState.SHORT


def counts(visit: Visit, config: HomecareConfig) -> bool:
    """True when the visit counts toward the elder's monthly minimum."""
    return (not visit.voided and visit.sign_out is not None
            and visit.sign_out - visit.sign_in >= timedelta(minutes=config.min_visit_minutes))


def overlapping_visit(start: datetime, end: datetime | None,
                      others: Iterable[tuple[str, datetime, datetime]]) -> str | None:
    """The key of the first of `others` (key, sign-in, sign-out: one caregiver's signed-out visits of one elder)
    whose span overlaps [start, end); with no `end`, the first that contains the instant `start`. One caregiver
    cannot be at the same elder's twice at once: a second order over the first is the same hour claimed twice.
    Back to back (one signed out the second the next is signed in) is no overlap."""
    for key, other_start, other_end in sorted(others, key=lambda o: (o[1], o[0])):
        if end is None:
            if other_start <= start < other_end:
                return key
        elif start < other_end and other_start < end:
            return key
    return None
