"""Each fraud signal from the simulated month: exactly the planted patterns, none of the honest visits; and each
signal at its boundary."""

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from cloud.homecare.config import HomecareConfig
from cloud.homecare.fraud import Signal, distance_m, double_booked, far_away, no_sign_out, qr_rate, signals
from cloud.homecare.records import Category, Elder, Location, Visit
from cloud.homecare.simulate import simulate

CST = timezone(timedelta(hours=8))
CONFIG = HomecareConfig()


@pytest.mark.parametrize(("first", "days", "seed"), [(date(2026, 10, 1), 31, 17), (date(2026, 11, 3), 28, 5),
                                                     (date(2027, 1, 20), 35, 99)])
def test_the_simulated_month_shows_exactly_the_planted_patterns(first: date, days: int, seed: int) -> None:
    sim = simulate(first, days, seed)
    now = datetime.combine(sim.last + timedelta(days=2), datetime.min.time(), UTC)
    found: dict[str, list[str]] = defaultdict(list)
    for signal in signals(sim.visits, {e.id: e for e in sim.elders}, CONFIG, now):
        found[signal.kind].append(signal.cause_key)
        assert signal.provider == "p-kangle" and signal.evidence  # the honest provider raises nothing
    assert dict(found) == {k: sorted(v) for k, v in sim.planted.items() if v}
    assert set(found) == {"homecare_double_booked", "homecare_just_long_enough", "homecare_far_away",
                          "homecare_qr_rate", "homecare_no_sign_out", "homecare_late_uploads"}


def _v(vid: str, elder: str, start: datetime, minutes: float | None, caregiver: str = "K01",
       where: Location | None = None) -> Visit:
    return Visit(vid, elder, caregiver, "p-a", start, None if minutes is None else start + timedelta(minutes=minutes),
                 ("meal",), sign_in_at=where, sign_out_at=where)


def test_two_homes_at_once_beyond_the_tolerance_only() -> None:
    at = datetime(2026, 10, 5, 10, tzinfo=CST)
    touching = [_v("a", "e-1", at, 60), _v("b", "e-2", at + timedelta(minutes=59, seconds=30), 60)]
    assert double_booked(touching, CONFIG) == []  # 30 s: two phones' clocks, not two homes
    overlapping = [_v("a", "e-1", at, 60), _v("b", "e-2", at + timedelta(minutes=58), 60)]
    [signal] = double_booked(overlapping, CONFIG)
    assert signal.evidence["overlap_minutes"] == 2.0 and signal.cause_key == "hc-double:K01:a:b"
    other_caregiver = [_v("a", "e-1", at, 60), _v("b", "e-2", at, 60, caregiver="K02")]
    assert double_booked(other_caregiver, CONFIG) == []


def test_far_from_home_beyond_the_phones_accuracy() -> None:
    home = Location(31.81, 121.655)
    elder = {"e-1": Elder("e-1", "张", Category.HIGH_AGE, "汇龙镇", "p-a", home=home)}
    at = datetime(2026, 10, 5, 10, tzinfo=CST)
    near = Location(31.81 + 450 / 111_195, 121.655, 10)  # 450 m north
    far = Location(31.81 + 600 / 111_195, 121.655, 50)  # 600 m north, give or take 50
    vague = Location(31.81 + 600 / 111_195, 121.655, 150)  # 600 m give or take 150: could be at home's limit
    assert round(distance_m(home, near)) == 450
    assert far_away([_v("a", "e-1", at, 60, where=near)], elder, CONFIG) == []
    assert [s.cause_key for s in far_away([_v("b", "e-1", at, 60, where=far)], elder, CONFIG)] == ["hc-far:b"]
    assert far_away([_v("c", "e-1", at, 60, where=vague)], elder, CONFIG) == []
    assert far_away([_v("d", "e-1", at, 60)], elder, CONFIG) == []  # no location shared: nothing to compare


def test_qr_rate_limits() -> None:
    elder = {"e-1": Elder("e-1", "张", Category.DISABLED, "汇龙镇", "p-a")}
    at = datetime(2026, 10, 5, 8, tzinfo=CST)
    two = [_v("a", "e-1", at, 60), _v("b", "e-1", at + timedelta(hours=3), 60)]
    assert qr_rate(two, elder, CONFIG) == []
    three = [*two, _v("c", "e-1", at + timedelta(hours=6), 60)]
    assert [s.evidence["sign_ins"] for s in qr_rate(three, elder, CONFIG)] == [3]
    close = [_v("a", "e-1", at, 30), _v("b", "e-1", at + timedelta(minutes=59), 60)]
    assert [s.evidence["close_pairs"] for s in qr_rate(close, elder, CONFIG)] == [[["a", "b"]]]
    # Two sign-ins either side of local midnight are two days, not one.
    late = [_v("a", "e-1", datetime(2026, 10, 5, 23, 50, tzinfo=CST), 5)]
    assert qr_rate([*late, _v("b", "e-1", datetime(2026, 10, 6, 1, tzinfo=CST), 60)], elder, CONFIG) == []


def test_no_sign_out_after_twelve_hours() -> None:
    at = datetime(2026, 10, 5, 8, tzinfo=CST)
    visit = [_v("a", "e-1", at, None)]
    assert no_sign_out(visit, CONFIG, at + timedelta(hours=11, minutes=59)) == []
    assert [s.cause_key for s in no_sign_out(visit, CONFIG, at + timedelta(hours=12))] == ["hc-nosignout:a"]
    assert no_sign_out([_v("b", "e-1", at, 60)], CONFIG, at + timedelta(days=3)) == []


def test_just_long_enough_needs_a_pattern_not_one_visit() -> None:
    elder = {"e-1": Elder("e-1", "张", Category.DISABLED, "汇龙镇", "p-a")}
    days = [datetime(2026, 10, d, 9, tzinfo=CST) for d in range(1, 11)]
    from cloud.homecare.fraud import just_long_enough
    seven = [_v(f"v{i}", "e-1", d, 61) for i, d in enumerate(days[:7])]
    assert just_long_enough(seven, elder, CONFIG) == []
    eight = [_v(f"v{i}", "e-1", d, 61) for i, d in enumerate(days[:8])]
    assert len(just_long_enough(eight, elder, CONFIG)) == 1
    mixed = eight + [_v(f"w{i}", "e-1", d + timedelta(hours=3), 90) for i, d in enumerate(days[:3])]
    assert just_long_enough(mixed, elder, CONFIG) == []  # 8 of 11 is below 80 %


def test_a_month_cut_by_the_window_is_judged_just_long_enough_on_all_its_visits() -> None:
    """On 20 November the fraud window reaches back to 16 October only. A caregiver whose October had 13 visits of
    90 minutes before the 16th and 8 of 61 after it has 8 of 21 just long enough (below 80 %), not 8 of 8."""
    elder = {"e-1": Elder("e-1", "张", Category.DISABLED, "汇龙镇", "p-a")}
    early = [_v(f"e{d}", "e-1", datetime(2026, 10, d, 9, tzinfo=CST), 90) for d in range(1, 14)]
    late = [_v(f"l{d}", "e-1", datetime(2026, 10, d, 9, tzinfo=CST), 61) for d in range(17, 25)]
    now = datetime(2026, 11, 20, 9, tzinfo=CST)
    months = [*early, *late]

    def kinds(found: list[Signal]) -> list[str]:
        return [s.kind for s in found if s.kind == "homecare_just_long_enough"]

    assert kinds(signals(late, elder, CONFIG, now, month_visits=months)) == []
    assert kinds(signals(late, elder, CONFIG, now)) == ["homecare_just_long_enough"]  # the cut month alone
    clockwatched = [_v(f"c{d}", "e-1", datetime(2026, 10, d, 9, tzinfo=CST), 61) for d in range(1, 14)]
    assert kinds(signals(late, elder, CONFIG, now, month_visits=[*clockwatched, *late])) == [
        "homecare_just_long_enough"]  # 21 of 21: the whole month's habit is still seen
