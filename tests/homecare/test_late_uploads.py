"""Visits habitually uploaded late (homecare_late_uploads): the pure rule at each of its boundaries, and the worker's
pass over a store on SQLite and PostgreSQL raising exactly one alert to the provider's town, with the visits' phone
and arrival times, for a habit; nothing for an occasional late upload; months cut at midnight in Shanghai."""

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import Engine, select

from cloud.api.scope import alert_condition
from cloud.homecare import supervise
from cloud.homecare.config import HomecareConfig
from cloud.homecare.fraud import late_uploads, signals, upload_lag
from cloud.homecare.records import Category, Elder, Visit
from cloud.homecare.store.visits import record_sign_in, record_sign_out
from cloud.store.db import make_session_factory
from cloud.store.models import Alert, Station
from cloud.store.users import User, UserTown
from tests.api.homecare_people import seed_homecare

CST = timezone(timedelta(hours=8))
CONFIG = HomecareConfig()
ZONE = "Asia/Shanghai"
ELDERS = {e: Elder(e, "张", Category.DISABLED, "汇龙镇", "p-a") for e in ("e-1", "e-2", "e-3")}
H = timedelta(hours=1)


def _v(vid: str, start: datetime, late: timedelta | None = None, *, caregiver: str = "K01", minutes: float = 75,
       elder: str = "e-1", sign_in_late: timedelta | None = None) -> Visit:
    """A visit whose scans reached the server a minute after the phone's times, or `late` after its end (both sent
    together from the queue); `sign_in_late`: the sign-in alone that long after its time."""
    end = start + timedelta(minutes=minutes)
    sign_in_received, sign_out_received = start + timedelta(minutes=1), end + timedelta(minutes=1)
    if late is not None:
        sign_in_received = sign_out_received = end + late
    if sign_in_late is not None:
        sign_in_received = start + sign_in_late
    return Visit(vid, elder, caregiver, "p-a", start, end, ("meal",), sign_in_received=sign_in_received,
                 sign_out_received=sign_out_received)


def _days(n: int, first: int = 1, hour: int = 9) -> list[datetime]:
    return [datetime(2026, 10, d, hour, tzinfo=CST) for d in range(first, first + n)]


def _keys(visits: list[Visit], config: HomecareConfig = CONFIG, **kw: Any) -> list[str]:
    return [s.cause_key for s in late_uploads(visits, ELDERS, config, **kw)]


def test_late_means_more_than_the_hours_after_either_scan() -> None:
    start = datetime(2026, 10, 5, 9, tzinfo=CST)
    assert upload_lag(_v("a", start)) == timedelta(minutes=1)
    assert upload_lag(_v("b", start, 24 * H)) == 24 * H + timedelta(minutes=75)  # the sign-in waited longest
    # The sign-in backdated two days and the sign-out sent at once: as late as its sign-in.
    assert upload_lag(_v("c", start, sign_in_late=48 * H)) == 48 * H
    assert upload_lag(Visit("d", "e-1", "K01", "p-a", start, None, sign_in_received=start)) is None
    assert upload_lag(Visit("e", "e-1", "K01", "p-a", start, start + 2 * H)) is None  # arrival unknown (a file)
    sent_after_end = 24 * H - timedelta(minutes=75)  # so that the sign-in arrives exactly 24 h after its time
    exactly = [_v(f"x{i}", d, sent_after_end) for i, d in enumerate(_days(6))]
    assert {upload_lag(v) for v in exactly} == {24 * H}
    assert _keys(exactly) == []  # 24 h is not more than 24 h
    over = [_v(f"x{i}", d, sent_after_end + timedelta(seconds=1)) for i, d in enumerate(_days(6))]
    assert _keys(over) == ["hc-late:caregiver:p-a:K01:2026-10"]


def test_one_late_upload_is_no_habit_and_the_habit_has_both_a_count_and_a_share() -> None:
    on_time = [_v(f"t{i}", d) for i, d in enumerate(_days(12, 1))]
    assert _keys([*on_time, _v("l0", datetime(2026, 10, 20, 9, tzinfo=CST), 60 * H)]) == []  # a phone without signal
    three = [_v(f"l{i}", d, 30 * H) for i, d in enumerate(_days(3, 20))]
    assert _keys(three) == []  # three of three: not enough visits
    four = [_v(f"l{i}", d, 30 * H) for i, d in enumerate(_days(4, 20))]
    [signal] = late_uploads([*on_time, *four], ELDERS, CONFIG)  # 4 of 16: 25 % is enough
    assert (signal.evidence["late"], signal.evidence["counted"], signal.evidence["share"]) == (4, 16, 0.25)
    assert _keys([*on_time, *four, _v("t12", datetime(2026, 10, 28, 9, tzinfo=CST))]) == []  # 4 of 17
    first = signal.evidence["visits"][0]
    assert first["visit"] == "l0" and first["hours_late"] == round(31.25, 1)  # 30 h after its end: 31 h 15 min
    assert datetime.fromisoformat(first["sign_out_received"]) - datetime.fromisoformat(first["sign_out"]) == 30 * H
    assert datetime.fromisoformat(first["sign_in_received"]) == datetime.fromisoformat(first["sign_out_received"])
    strict = HomecareConfig(late_upload_visits=5, late_upload_share=0.3, late_upload_hours=12)
    assert _keys([*on_time, *four], strict) == []
    assert _keys([*on_time[:8], *four, _v("l9", datetime(2026, 10, 29, 9, tzinfo=CST), 13 * H)], strict) != []


def test_only_counted_visits_are_judged() -> None:
    short = [_v(f"s{i}", d, 30 * H, minutes=59) for i, d in enumerate(_days(6))]  # void: paid nothing
    voided = [Visit(v.id, v.elder, v.caregiver, v.provider, v.sign_in, v.sign_out, v.items, voided=True,
                    sign_in_received=v.sign_in_received, sign_out_received=v.sign_out_received)
              for v in (_v(f"v{i}", d, 30 * H) for i, d in enumerate(_days(6, 10)))]
    assert _keys([*short, *voided]) == []


def test_late_uploads_spread_over_caregivers_are_the_providers_habit() -> None:
    visits = []
    for n, caregiver in enumerate(("K01", "K02", "K03", "K04")):  # one late of three each: none a habit alone
        days = _days(3, 1 + 5 * n)
        visits += [_v(f"{caregiver}-late", days[0], 30 * H, caregiver=caregiver),
                   *(_v(f"{caregiver}-{i}", d, caregiver=caregiver) for i, d in enumerate(days[1:]))]
    [signal] = late_uploads(visits, ELDERS, CONFIG)
    assert signal.cause_key == "hc-late:provider:p-a:2026-10" and signal.provider == "p-a"
    assert (signal.evidence["scope"], signal.evidence["late"], signal.evidence["counted"]) == ("provider", 4, 12)
    assert signal.evidence["caregivers"]["K02"] == {"counted": 3, "late": 1}
    # One caregiver's own habit is raised once, as theirs; the rest of the provider is clean.
    habit = [_v(f"h{i}", d, 30 * H, caregiver="K09", elder="e-2") for i, d in enumerate(_days(5, 1, 15))]
    honest = [_v(f"o{i}", d, caregiver="K08", elder="e-3") for i, d in enumerate(_days(20, 1))]
    assert _keys([*habit, *honest]) == ["hc-late:caregiver:p-a:K09:2026-10"]
    # A caregiver raised apart and late uploads spread over the others: both, each counted once.
    keys = _keys([*habit, *visits])
    assert keys == ["hc-late:caregiver:p-a:K09:2026-10", "hc-late:provider:p-a:2026-10"]
    provider = late_uploads([*habit, *visits], ELDERS, CONFIG)[1]
    assert provider.evidence["caregivers_raised_apart"] == ["K09"] and provider.evidence["late"] == 4


def test_the_month_ends_at_midnight_in_shanghai() -> None:
    october = [_v(f"o{i}", d, 30 * H) for i, d in enumerate(_days(3, 20))]
    before_midnight = _v("eve", datetime(2026, 10, 31, 23, 50, tzinfo=CST), 30 * H, minutes=61)  # 15:50 UTC
    after_midnight = _v("dawn", datetime(2026, 11, 1, 0, 10, tzinfo=CST), 30 * H, minutes=61)  # 16:10 UTC, 31 Oct
    assert _keys([*october, before_midnight]) == ["hc-late:caregiver:p-a:K01:2026-10"]
    assert _keys([*october, after_midnight]) == []  # three in October, one in November
    # A month that begins before the visits read is not judged: its first days are missing.
    assert _keys([*october, before_midnight], whole_from=datetime(2026, 10, 2, tzinfo=CST)) == []
    assert _keys([*october, before_midnight], whole_from=datetime(2026, 10, 1, tzinfo=CST)) != []


def test_signals_reads_the_whole_months_for_the_habit() -> None:
    habit = [_v(f"h{i}", d, 30 * H) for i, d in enumerate(_days(4, 1))]
    now = datetime(2026, 11, 20, 9, tzinfo=CST)
    found = signals(habit[2:], ELDERS, CONFIG, now, month_visits=habit)
    assert [s.kind for s in found] == ["homecare_late_uploads"] and found[0].evidence["late"] == 4


# --- the worker's pass over the store, on SQLite and PostgreSQL ----------------------------------------------


def _officer(town: str) -> User:
    user = User(name=f"officer-{town}", role="town", password_hash="x")
    user.towns = [UserTown(town=town)]
    return user


def _store_visit(engine: Engine, key: str, caregiver: str, elder: str, start: datetime, late: timedelta | None,
                 minutes: float = 75) -> None:
    """A visit through the store's own sign-in and sign-out, each received a minute after the phone's time or both
    `late` after the visit's end."""
    end, key = start + timedelta(minutes=minutes), f"visit-{key}"  # a phone's key: at least 8 characters
    with make_session_factory(engine).begin() as session:
        sent = None if late is None else end + late
        record_sign_in(session, key=key, elder_id=elder, caregiver_id=caregiver, at=start, by=caregiver,
                       now=sent or start + timedelta(minutes=1))
        record_sign_out(session, key=key, at=end, now=sent or end + timedelta(minutes=1), items=["meal"])


def _pass(engine: Engine, now: datetime) -> list[Alert]:
    with make_session_factory(engine).begin() as session:
        supervise.homecare_pass(session, CONFIG, now, ZONE)
    with make_session_factory(engine)() as session:
        return list(session.scalars(select(Alert).where(Alert.kind == "homecare_late_uploads")))


@pytest.mark.parametrize("fourth", ["before_midnight", "after_midnight"])
def test_the_worker_raises_one_alert_to_the_providers_town(engine: Engine, fourth: str) -> None:
    seed_homecare(engine)
    # HL001 (汇龙镇): five of eight October visits sent 30 h after they ended: a habit.
    for day in range(1, 9):
        _store_visit(engine, f"hl1-{day:02d}", "HL001", "E-HL-1" if day % 2 else "E-HL-2",
                     datetime(2026, 10, day, 9, tzinfo=CST), 30 * H if day <= 5 else None)
    # NH001 (南阳镇): one of six sent two days late: a phone without signal, no habit.
    for day in range(1, 7):
        _store_visit(engine, f"nh1-{day:02d}", "NH001", "E-NH-1", datetime(2026, 10, day, 14, tzinfo=CST),
                     48 * H if day == 3 else None)
    # HL002: three late in October, and a fourth signed in ten minutes either side of midnight in Shanghai.
    for day in (10, 12, 14):
        _store_visit(engine, f"hl2-{day:02d}", "HL002", "E-HL-2", datetime(2026, 10, day, 15, tzinfo=CST), 30 * H)
    at = datetime(2026, 10, 31, 23, 50, tzinfo=CST) if fourth == "before_midnight" else datetime(
        2026, 11, 1, 0, 10, tzinfo=CST)
    _store_visit(engine, "hl2-midnight", "HL002", "E-HL-1", at, 30 * H, minutes=61)
    now = datetime(2026, 11, 3, 9, tzinfo=CST)
    alerts = _pass(engine, now)
    expected = {"hc-late:caregiver:p-hl:HL001:2026-10"}
    if fourth == "before_midnight":
        expected.add("hc-late:caregiver:p-hl:HL002:2026-10")
    assert {a.cause_key for a in alerts} == expected
    alert = next(a for a in alerts if a.cause_key == "hc-late:caregiver:p-hl:HL001:2026-10")
    assert (alert.town, alert.station_id, alert.level) == ("汇龙镇", None, "town")
    evidence = alert.evidence
    assert evidence is not None and evidence["provider"] == "p-hl" and evidence["caregiver"] == "HL001"
    assert (evidence["month"], evidence["counted"], evidence["late"]) == ("2026-10", 8, 5)
    assert [v["visit"] for v in evidence["visits"]] == [f"visit-hl1-{d:02d}" for d in range(1, 6)]
    for v in evidence["visits"]:
        assert datetime.fromisoformat(v["sign_out_received"]) - datetime.fromisoformat(v["sign_out"]) == 30 * H
        assert datetime.fromisoformat(v["sign_in_received"]) - datetime.fromisoformat(v["sign_in"]) == 30 * H + \
            timedelta(minutes=75)
    with make_session_factory(engine)() as session:
        def seen(user: User) -> set[str]:
            query = select(Alert.cause_key).outerjoin(Station, Station.id == Alert.station_id)
            return set(session.scalars(query.where(alert_condition(user), Alert.kind == "homecare_late_uploads")))

        assert seen(_officer("汇龙镇")) == expected
        assert seen(_officer("南阳镇")) == set()
        assert seen(User(name="p", role="provider", password_hash="x", provider_id="p-hl")) == set()
    assert {a.cause_key for a in _pass(engine, now + timedelta(minutes=5))} == expected  # raised once


def test_the_month_at_the_windows_edge_is_judged_whole(engine: Engine) -> None:
    """On 20 November the fraud window reaches back to 16 October only; October is still judged on all its visits:
    13 sent on time early in the month and 4 late after the 16th are 4 of 17 (below 25 %), not 4 of 4."""
    seed_homecare(engine)
    for day in range(1, 14):
        _store_visit(engine, f"early-{day:02d}", "HL001", "E-HL-1" if day % 2 else "E-HL-2",
                     datetime(2026, 10, day, 9, tzinfo=CST), None)
    for day in range(20, 24):
        _store_visit(engine, f"late-{day:02d}", "HL001", "E-HL-1", datetime(2026, 10, day, 9, tzinfo=CST), 30 * H)
    assert _pass(engine, datetime(2026, 11, 20, 9, tzinfo=CST)) == []
    _store_visit(engine, "late-25", "HL001", "E-HL-2", datetime(2026, 10, 25, 9, tzinfo=CST), 30 * H)  # 5 of 18
    [alert] = _pass(engine, datetime(2026, 11, 20, 9, 5, tzinfo=CST))
    assert alert.evidence is not None and (alert.evidence["late"], alert.evidence["counted"]) == (5, 18)
