"""The on-site rules: when a record confirms the sensors, when the bureau must decide, and what counts."""

import itertools

import pytest

from cloud.rules.onsite import DECIDABLE, SETTLED, Found, Review, agrees, outcome, review
from cloud.rules.spotcheck import SpotResult

P, F, E, U = SpotResult.PASS, SpotResult.FAIL, SpotResult.EXCUSED, SpotResult.UNVERIFIABLE


@pytest.mark.parametrize(("sensor", "found", "agreed"), [
    (P, Found.OPEN, True), (P, Found.CLOSED, False), (P, Found.OTHER, False),
    (F, Found.CLOSED, True), (F, Found.OPEN, False), (F, Found.OTHER, False),
    (E, Found.OPEN, True), (E, Found.CLOSED, True), (E, Found.OTHER, False),
    # The sensors could not tell: only the bureau turns an inspector's word into a result.
    (U, Found.OPEN, False), (U, Found.CLOSED, False), (U, Found.OTHER, False),
])
def test_agreement(sensor: SpotResult, found: Found, agreed: bool) -> None:
    assert agrees(sensor, found) is agreed
    assert review(sensor, found, None) is (Review.AGREED if agreed else Review.DISPUTED)


def test_a_record_never_changes_what_counts_without_a_decision() -> None:
    for sensor, found in itertools.product([*SpotResult, None], [*Found, None]):
        assert outcome(sensor, None) is sensor, (sensor, found)  # the record plays no part
        for decided in DECIDABLE:
            assert outcome(sensor, decided) is decided
            assert review(sensor, found, decided) is Review.DECIDED


def test_the_states_before_a_record() -> None:
    assert review(None, None, None) is Review.PENDING
    assert review(U, None, None) is Review.NEEDS_VISIT
    assert [review(s, None, None) for s in (P, F, E)] == [Review.SENSOR] * 3
    assert review(None, Found.OPEN, None) is Review.AWAITING_SENSOR
    # Settled for the station's eyes: nothing left for an inspector or the bureau.
    assert {Review.SENSOR, Review.AGREED, Review.DECIDED} == SETTLED
    assert U not in DECIDABLE
