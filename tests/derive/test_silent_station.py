"""Stations that go silent, through the worker (SQLite and PostgreSQL): a good Monday morning and then the Pi
unplugged, and an agent that never connected. Nothing they send marks their later days for recompute, yet each day
must end up derived as over, judged by the calendar (the Mid-Autumn and National Day holidays owe nothing), and
counted in its month; a spot check on a silent day is judged on the evidence, none. Unplugging must never leave a
station better off than staying connected and being shown closed."""

from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Engine, select

from cloud.alerts.kinds import AlertKind
from cloud.derive.catchup import CatchUp
from cloud.derive.plans import create_plan
from cloud.derive.runner import Partition
from cloud.derive.verdicts import store_veto
from cloud.registry.csv_rows import parse_station_csv
from cloud.rules.calendar import days, plan_day
from cloud.rules.config import RulesConfig
from cloud.rules.records import MonthRecord
from cloud.rules.rollup import year_compliance
from cloud.store.db import make_session_factory
from cloud.store.derived import SpotCheckResult, Veto
from cloud.store.models import Alert
from cloud.store.onsite import SpotCheckVisit
from tests.derive.silent import (
    at,
    closed_after_morning,
    daily,
    days_rows,
    good_morning,
    live,
    month_record,
    open_day,
    register,
    shut_day,
)
from tests.rules.scenario import STATION_CSV

CONFIG = RulesConfig()
MONDAY = date(2026, 9, 21)  # Friday the 25th to Sunday the 27th: Mid-Autumn; 1 to 7 October: National Day
SEPTEMBER = days(date(2026, 9, 1), date(2026, 9, 30))
SCHEDULE = parse_station_csv(STATION_CSV)[0][0].schedule


def working(day: date) -> bool:
    return bool(plan_day(SCHEDULE, day).working)


def over(day: date) -> datetime:
    return at(day + timedelta(days=1), time(0))


def alerts(engine: Engine, kind: AlertKind, station: str) -> set[str]:
    with make_session_factory(engine)() as session:
        return {a.cause_key for a in session.scalars(select(Alert).where(Alert.kind == kind.value,
                                                                      Alert.station_id == station))}


def plan(engine: Engine, day: date, start: time) -> int:
    with make_session_factory(engine)() as session:
        made = create_plan(session, day=day, start=start, end=time(start.hour + 1), scope="all",
                           created_by="bureau", now=datetime(2026, 9, 1, tzinfo=UTC))
        session.commit()
        return made.id


def test_a_silent_week_is_judged_day_by_day(engine: Engine) -> None:
    register(engine, at(MONDAY, time(0)))
    plan_id = plan(engine, date(2026, 9, 23), time(9))
    passes = [at(MONDAY, time(9)), at(MONDAY, time(11, 50)), at(MONDAY, time(15)),
              *daily(MONDAY + timedelta(days=1), date(2026, 10, 8))]
    catchup = CatchUp()  # as the worker keeps it from pass to pass
    live(engine, good_morning("qd-a", MONDAY), passes, CONFIG, catchup=catchup)  # qd-b: its agent never connected
    assert catchup.final == {"qd-a": date(2026, 10, 7), "qd-b": date(2026, 10, 7)}

    for station in ("qd-a", "qd-b"):
        rows = days_rows(engine, station)
        for day in days(MONDAY, date(2026, 10, 7)):
            row = rows[day]
            assert row.computed_at >= over(day), (station, day)  # derived as over, not as it ran
            assert row.record["verdict_so_far"] is None
            if working(day):
                # No evidence of opening: unknown, its hours owed and none served (compliance 0, never null).
                assert (row.verdict, row.working_day) == ("unknown", True), (station, day)
                if day > MONDAY or station == "qd-b":
                    assert (row.compliance, row.record["served_seconds"], row.record["known_seconds"]) == (0, 0, 0)
            else:  # the holidays, and the weekend
                assert (row.verdict, row.working_day) == ("not_scheduled", False), (station, day)
        month = month_record(engine, station, "2026-09")
        owed = [d for d in SEPTEMBER if working(d)]
        # Every working day of the month counted, the 30th (silent, after the last pass that ran on it) too.
        assert month["scheduled_minutes"] == 390 * len(owed), station
        assert month["verdicts"] == {"not_scheduled": 30 - len(owed), "unknown": len(owed)}
        assert month["served_minutes"] == (180 if station == "qd-a" else 0)
        assert month["compliance"] is None and month["complete"] is True

    # The Pi unplugged after a good morning: the day is flagged and the town alerted, as it is once over.
    monday = days_rows(engine, "qd-a")[MONDAY].record
    assert "equipment_off" in monday["flags"] and monday["compliance"] == round(180 / 390, 4)
    assert month_record(engine, "qd-a", "2026-09")["equipment_off_days"] == 1
    assert alerts(engine, AlertKind.EQUIPMENT_OFF, "qd-a") == {f"equipment-off:qd-a:{MONDAY}"}
    silent = {f"offline:qd-a:{d}" for d in days(MONDAY, date(2026, 10, 7)) if working(d)}
    assert silent <= alerts(engine, AlertKind.STATION_OFFLINE, "qd-a")

    # The spot check of the 23rd: judged on the evidence, none. Devices off cannot show the station open, and the
    # sensors alone cannot show it shut (DOMAIN.md: an offline station is unknown); the town is alerted to check on
    # site, and the inspector's finding, decided by the bureau, counts toward the veto.
    with make_session_factory(engine)() as session:
        judged = {r.station_id: r.record for r in session.scalars(
            select(SpotCheckResult).where(SpotCheckResult.plan_id == plan_id))}
        assert {s: (r["result"], r["reason_code"]) for s, r in judged.items()} == {
            "qd-a": ("unverifiable", "devices_off"), "qd-b": ("unverifiable", "devices_off")}
        assert judged["qd-a"]["unknown_minutes"] == 60
        now = at(date(2026, 10, 8), time(11))
        session.add(SpotCheckVisit(plan_id=plan_id, station_id="qd-a", found="closed", notes="shut, nobody there",
                                   visited_at=at(date(2026, 9, 23), time(9, 20)), recorded_by="inspector",
                                   recorded_at=now, decided_outcome="fail", decided_by="bureau", decided_at=now,
                                   decision_reason="found closed on site", sensor_at_decision="unverifiable"))
        session.flush()
        store_veto(session, "qd-a", [2026], CONFIG, now)
        session.commit()
        veto = session.get(Veto, ("qd-a", 2026))
        assert veto is not None and (veto.failed, veto.failed_dates) == (1, ["2026-09-23"])
    for station in ("qd-a", "qd-b"):
        assert alerts(engine, AlertKind.SPOT_CHECK_UNVERIFIABLE, station) == {f"spot:{plan_id}:{station}"}


def test_the_day_is_caught_up_at_midnight_where_the_station_is(engine: Engine) -> None:
    register(engine, at(MONDAY, time(0)))
    before = at(MONDAY, time(23, 59, 59))
    after = at(MONDAY + timedelta(days=1), time(0, 0, 1))
    assert after.astimezone(UTC).date() == MONDAY  # still Monday in UTC: only the station's zone says it is over
    live(engine, good_morning("qd-a", MONDAY), [at(MONDAY, time(9)), at(MONDAY, time(11, 50)), before], CONFIG)
    running = days_rows(engine, "qd-a")[MONDAY]
    assert running.computed_at < over(MONDAY) and "equipment_off" not in running.record["flags"]
    assert [stats.caught_up for stats in live(engine, [], [after], CONFIG)] == [2]  # qd-a's Monday, and silent qd-b's
    ended = days_rows(engine, "qd-a")[MONDAY]
    assert ended.computed_at == after and "equipment_off" in ended.record["flags"]


def test_a_partitioned_worker_catches_up_only_its_own_stations(engine: Engine) -> None:
    mine = next(p for p in (Partition(1, 3), Partition(2, 3), Partition(3, 3)) if p.owns("qd-a"))
    assert not mine.owns("qd-b")
    register(engine, at(MONDAY, time(0)))
    catchup = CatchUp()
    live(engine, good_morning("qd-a", MONDAY), [at(MONDAY, time(9)), *daily(date(2026, 9, 29), date(2026, 10, 1))],
         CONFIG, partition=mine, catchup=catchup)
    assert set(catchup.final) == {"qd-a"}
    assert days_rows(engine, "qd-b") == {}
    rows = days_rows(engine, "qd-a")
    assert all(rows[d].computed_at >= over(d) for d in days(MONDAY, date(2026, 9, 30)))


def _september(engine: Engine, station: str) -> MonthRecord:
    return MonthRecord.model_validate(month_record(engine, station, "2026-09"))


def test_unplugging_the_pi_never_beats_being_shown_closed(engine: Engine) -> None:
    """qd-a stays connected and is shown closed from Monday noon to the month's end; qd-b, open the same weeks and
    the same Monday morning, unplugs its Pi then. Neither may be better off for it."""
    register(engine, at(date(2026, 9, 1), time(0)))
    plan_id = plan(engine, date(2026, 9, 29), time(9))
    monday = date(2026, 9, 28)
    weeks = [d for d in days(date(2026, 9, 1), date(2026, 9, 24)) if working(d)]
    messages = [m for d in weeks for s in ("qd-a", "qd-b") for m in open_day(s, d)]
    honest = closed_after_morning("qd-a", monday)
    honest += [m for d in (date(2026, 9, 29), date(2026, 9, 30)) for m in shut_day("qd-a", d)]
    gamed = good_morning("qd-b", monday)
    passes = [at(date(2026, 9, 25), time(0, 5)), at(monday, time(9)), at(monday, time(11, 50)),
              at(monday, time(15)), *daily(date(2026, 9, 29), date(2026, 10, 2))]
    live(engine, [*messages, *honest, *gamed], passes, CONFIG)

    fair, tried = _september(engine, "qd-a"), _september(engine, "qd-b")
    assert fair.compliance is not None
    assert tried.scheduled_minutes == fair.scheduled_minutes  # every owed day counted, silent or not
    assert tried.served_minutes is not None and fair.served_minutes is not None
    assert tried.served_minutes <= fair.served_minutes
    assert tried.compliance is None or tried.compliance <= fair.compliance
    assert tried.verdicts.get("open", 0) <= fair.verdicts.get("open", 0)
    share = CONFIG.month_min_known_share
    year_tried, year_fair = year_compliance([tried], share), year_compliance([fair], share)
    assert year_fair is not None and (year_tried is None or year_tried <= year_fair)
    with make_session_factory(engine)() as session:
        results = {r.station_id: r.result for r in session.scalars(
            select(SpotCheckResult).where(SpotCheckResult.plan_id == plan_id))}
    assert results == {"qd-a": "fail", "qd-b": "unverifiable"}  # never a pass; an on-site check decides qd-b's
    assert alerts(engine, AlertKind.SPOT_CHECK_UNVERIFIABLE, "qd-b") == {f"spot:{plan_id}:qd-b"}

