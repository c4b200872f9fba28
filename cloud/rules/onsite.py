"""On-site spot checks beside the sensor verdict: when they agree, when the bureau must decide, and what counts.

An inspector's record never changes a sensor verdict by itself. When the two disagree the check is `disputed`, and
only the bureau's decision (with its reason) replaces the sensor's result in the veto: otherwise a town could clear
its own station's failed check, or a station's friend could mark it closed, by writing a record.
"""

from enum import StrEnum

from cloud.rules.spotcheck import SpotResult


class Found(StrEnum):
    """What the inspector found at the door."""

    OPEN = "open"  # open and serving
    CLOSED = "closed"  # shut during its working hours
    OTHER = "other"  # anything else (open but no staff, a different activity...): the notes say what


class Review(StrEnum):
    """Where a planned check of one station stands."""

    PENDING = "pending"  # not judged by the sensors yet (the window has not ended) and not visited
    SENSOR = "sensor"  # judged by the sensors, no on-site record: the sensor result counts
    NEEDS_VISIT = "needs_visit"  # the sensors cannot show open or closed: the town must check on site
    AWAITING_SENSOR = "awaiting_sensor"  # visited, the sensors have not judged the window yet
    AGREED = "agreed"  # the record and the sensor result say the same: the sensor result counts
    DISPUTED = "disputed"  # they disagree: the bureau must decide
    DECIDED = "decided"  # the bureau decided: its outcome counts


# The outcomes the bureau may decide: an inspector's doubt is settled as passed, failed or excused.
DECIDABLE = (SpotResult.PASS, SpotResult.FAIL, SpotResult.EXCUSED)


def agrees(sensor: SpotResult, found: Found) -> bool:
    """Whether an on-site record confirms the sensor result. An excused window (approved closure, outside working
    hours) needs no one to be there; `unverifiable` is never confirmed by a record alone (that is exactly the case
    a person must weigh), nor is `other`."""
    if sensor is SpotResult.EXCUSED:
        return found in (Found.OPEN, Found.CLOSED)
    return (sensor, found) in ((SpotResult.PASS, Found.OPEN), (SpotResult.FAIL, Found.CLOSED))


def review(sensor: SpotResult | None, found: Found | None, decided: SpotResult | None) -> Review:
    if decided is not None:
        return Review.DECIDED
    if found is None:
        if sensor is None:
            return Review.PENDING
        return Review.NEEDS_VISIT if sensor is SpotResult.UNVERIFIABLE else Review.SENSOR
    if sensor is None:
        return Review.AWAITING_SENSOR
    return Review.AGREED if agrees(sensor, found) else Review.DISPUTED


def outcome(sensor: SpotResult | None, decided: SpotResult | None) -> SpotResult | None:
    """The result that counts toward the veto: the bureau's decision when there is one, else the sensor's."""
    return decided if decided is not None else sensor


# Settled for the station's eyes: nothing is left for an inspector or the bureau to do.
SETTLED = frozenset({Review.SENSOR, Review.AGREED, Review.DECIDED})
