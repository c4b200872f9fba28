"""Retention over a real store (SQLite and PostgreSQL), fed through ingest: the purge removes what is due and nothing
else, the worker runs it on its injected clock, and a recompute after it changes no verdict or elder count."""

import json
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from click import ClickException
from click.testing import CliRunner
from sqlalchemy import Engine, delete, func, select
from sqlalchemy.engine import make_url

from cloud.convert import Accepted, Rejected, convert
from cloud.derive.rederive import rederive_store
from cloud.derive.runner import Partition, run_pass
from cloud.ingest.letters import Letter
from cloud.ingest.writer import write_batch
from cloud.rules.config import RulesConfig
from cloud.store.db import make_session_factory
from cloud.store.derived import DayResult, MonthResult
from cloud.store.models import Alert, DeadLetter, DirtyStationDay, Event, Station
from cloud.store.retention import PURGED_PERSON, Purger, Retention, first_kept_day, purge
from eldercare.cli import cli
from station_protocol import Door, Face, Flow, encode, new_event_id
from tests.derive.conftest import TZ, feed, lookup

CONFIG = RulesConfig()
NOW = datetime(2027, 3, 1, 2, 0, tzinfo=UTC)


def _common(device: str, ts: datetime) -> dict[str, object]:
    return {"v": 1, "id": uuid.UUID(new_event_id()), "station": "qd-a", "device": device, "seq": 1, "ts": ts}


def _face(person: str, age: timedelta, ts: datetime | None = None) -> tuple[str, bytes]:
    message = Face(person=person, role="elder", distance=0.4,
                   **_common("cam-1", ts or NOW - age))  # type: ignore[arg-type]
    return "eldercare/v1/qd-a/cam-1/face", encode(message)


def _flow(age: timedelta) -> tuple[str, bytes]:
    message = Flow(period_s=60, in_=2, out=1, **_common("flow-1", NOW - age))  # type: ignore[arg-type]
    return "eldercare/v1/qd-a/flow-1/flow", encode(message)


def _store(engine: Engine, messages: list[tuple[str, bytes]], received: datetime = NOW) -> None:
    batch = []
    for topic, payload in messages:
        outcome = convert(topic, payload, received, lookup)
        assert isinstance(outcome, Accepted), outcome
        batch.append((outcome, topic, payload))
    assert write_batch(engine, batch, [], received).stored == len(messages)


def _letter(topic: str, payload: bytes, age: timedelta) -> Letter:
    return Letter(topic, payload, NOW - age, Rejected("invalid", "distance is required but missing", "qd-a"))


def _derived(engine: Engine) -> None:
    """As after a worker pass: no station-day waits for derivation."""
    with engine.begin() as connection:
        connection.execute(delete(DirtyStationDay))


def _sqlite_bytes(engine: Engine) -> bytes:
    path = Path(str(make_url(str(engine.url)).database))
    return b"".join(p.read_bytes() for p in path.parent.iterdir() if p.name.startswith(path.name))


def test_purge_removes_what_is_due_and_nothing_else(store: Engine) -> None:
    day, minute = timedelta(days=1), timedelta(minutes=1)
    _store(store, [
        _face("keep-30d", 30 * day), _face("keep-31d-less-1m", 31 * day - minute),
        _face("blank-31d-1m", 31 * day + minute), _face("blank-399d", 399 * day), _face("gone-401d", 401 * day),
        _flow(399 * day), _flow(401 * day), _flow(2 * day),
    ])
    # Stamped 1970 by a reset clock: they age from their receipt, not from 1970 (nor from a date years ahead).
    reset = datetime(1970, 1, 1, 0, 5, tzinfo=UTC)
    _store(store, [_face("clock-reset-now", 0 * day, ts=reset)], received=NOW - day)
    _store(store, [_face("clock-reset-32d", 0 * day, ts=reset), _face("clock-ahead-32d", 0 * day, ts=NOW + 900 * day)],
           received=NOW - 32 * day)
    _store(store, [_face("clock-reset-401d", 0 * day, ts=reset)], received=NOW - 401 * day)
    _store(store, [_face("awaiting-40d", 40 * day)])
    _derived(store)  # the worker derived every day so far...
    awaiting = (NOW - 40 * day).astimezone(TZ).date()  # ...but this one, dirty again from a late replay
    face_letter = json.dumps({"v": 1, "station": "qd-a", "person": "letter-face-7", "role": "elder"}).encode()
    write_batch(store, [], [
        _letter("eldercare/v1/qd-a/cam-1/face", face_letter, 32 * day),  # emptied, kept with size and hash
        _letter("eldercare/v1/qd-a/door-1/door", b'{"v": 1, "state": "ajar"}', 32 * day),  # kept whole
        _letter("eldercare/v1/qd-a/door-1/door", b'{"v": 1, "state": "old"}', 91 * day),  # deleted
        _letter("eldercare/v1/qd-a/door-1/door", b'{"v": 1, "state": "89"}', 89 * day),  # kept
    ], NOW)
    old_day = (NOW - 500 * day).date()
    with make_session_factory(store).begin() as session:  # derived results and alerts of long ago: kept
        session.add(DayResult(station_id="qd-a", local_date=old_day, working_day=True, verdict="open", compliance=1.0,
                              person_times=12, elders=3, record={"elder_ids": ["e-1", "e-2", "e-3"]}))
        session.add(MonthResult(station_id="qd-a", month=f"{old_day:%Y-%m}", elders=3, person_times=12, threshold=50,
                                met=False, at_risk=False, compliance=1.0, record={"elders": 3}))
        session.add(Alert(kind="emergency_call", station_id="qd-a", cause_key="call:qd-a:old", status="resolved",
                          level="station", raised_at=NOW - 500 * day))
        for dirty_day in ((NOW - 402 * day).date(), awaiting, (NOW - 2 * day).date()):
            session.add(DirtyStationDay(station_id="qd-a", local_date=dirty_day, generation=1, marked_at=NOW))

    report = purge(store, Retention(), NOW)

    assert (report.events, report.dead_letters, report.persons, report.face_letters) == (3, 1, 4, 1)
    with store.connect() as c:
        faces = dict(c.execute(select(Event.ts, Event.payload).where(Event.kind == "face",
                                                                     Event.clock_fault.is_(None))).tuples().all())
        faulty = sorted(c.execute(select(Event.payload).where(Event.clock_fault.is_not(None))).scalars(),
                        key=lambda p: str(p["ts"]))
        flows = sorted(NOW - ts for ts in c.execute(select(Event.ts).where(Event.kind == "flow")).scalars())
        letters = {r.payload_sha256: r for r in c.execute(select(DeadLetter))}
        derived = (c.execute(select(DayResult.record)).scalar_one(), c.execute(select(MonthResult.elders)).scalar_one(),
                   c.execute(select(Alert.cause_key)).scalar_one())
        dirty = set(c.execute(select(DirtyStationDay.local_date)).scalars())
    persons = {NOW - ts: payload["person"] for ts, payload in faces.items()}
    assert persons == {30 * day: "keep-30d", 31 * day - minute: "keep-31d-less-1m", 31 * day + minute: PURGED_PERSON,
                       399 * day: PURGED_PERSON, 40 * day: "awaiting-40d"}  # blanked once its day is derived
    assert all(p["role"] == "elder" and p["distance"] == 0.4 for p in faces.values())  # the visit itself stays
    assert sorted(p["person"] for p in faulty) == ["", "", "clock-reset-now"]
    assert flows == [2 * day, 399 * day]
    assert len(letters) == 3
    emptied = next(r for r in letters.values() if r.topic.endswith("/face"))
    assert (bytes(emptied.payload), emptied.payload_size) == (b"", len(face_letter))
    assert sorted(bytes(r.payload) for r in letters.values() if r.topic.endswith("/door")) == [
        b'{"v": 1, "state": "89"}', b'{"v": 1, "state": "ajar"}']
    assert derived == ({"elder_ids": ["e-1", "e-2", "e-3"]}, 3, "call:qd-a:old")
    assert (NOW - 402 * day).date() not in dirty and (NOW - 2 * day).date() in dirty  # a final day is not redone
    if store.dialect.name == "sqlite":  # the file no longer holds the blanked ids anywhere, free pages included
        written = _sqlite_bytes(store)
        assert b"keep-30d" in written
        for gone in (b"blank-31d-1m", b"blank-399d", b"gone-401d", b"letter-face-7", b"clock-reset-401d",
                     b"clock-reset-32d", b"clock-ahead-32d"):
            assert gone not in written, gone
    assert not purge(store, Retention(), NOW)  # nothing more is due
    _derived(store)
    assert purge(store, Retention(), NOW).persons == 1  # the replayed day, now derived


def test_periods_are_configurable(store: Engine) -> None:
    _store(store, [_face("seven-days", timedelta(days=7, minutes=1)), _face("six-days", timedelta(days=6))])
    _derived(store)
    assert purge(store, Retention(events_days=30, dead_letters_days=30, person_days=7), NOW).persons == 1
    with store.connect() as c:
        assert sorted(p["person"] for p in c.execute(select(Event.payload)).scalars()) == ["", "six-days"]


def test_the_worker_purges_on_its_clock_and_a_late_event_changes_no_elder_count(
        store: Engine, messages: list[tuple[str, bytes]]) -> None:
    factory = make_session_factory(store)
    assert feed(store, messages) == len(messages)
    first = datetime(2026, 10, 16, 15, 30, tzinfo=UTC)
    assert run_pass(factory, Partition(), CONFIG, first).errors == 0
    with store.connect() as c:
        before_days = {d: r for d, r in c.execute(select(DayResult.local_date, DayResult.record)
                                                 .where(DayResult.station_id == "qd-a")).tuples()}
        before_month = c.execute(select(MonthResult.record).where(MonthResult.station_id == "qd-a",
                                                                  MonthResult.month == "2026-10")).scalar_one()
    assert before_days[date(2026, 10, 13)]["elders"] > 0 and before_month["elders"] == 6

    # 31 days after 15 October 00:00 in Shanghai: the faces of 1 to 14 October are due, those of 15 and 16 are not.
    purger = Purger(store, Retention(), every=timedelta(hours=1))
    later = datetime(2026, 11, 14, 16, 0, tzinfo=UTC)
    stats = run_pass(factory, Partition(), CONFIG, later, purger=purger)
    assert stats.errors == 0 and stats.purged is not None and stats.purged.persons > 0
    with store.connect() as c:
        faces = c.execute(select(Event.ts, Event.payload).where(Event.kind == "face",
                                                                Event.station_id == "qd-a")).tuples().all()
    due = [p for ts, p in faces if ts.astimezone(TZ).date() < date(2026, 10, 15)]
    kept = [p for ts, p in faces if ts.astimezone(TZ).date() >= date(2026, 10, 15)]
    assert len(due) == stats.purged.persons and all(p["person"] == PURGED_PERSON for p in due)
    assert kept and all(p["person"] != PURGED_PERSON for p in kept)
    assert run_pass(factory, Partition(), CONFIG, later + timedelta(minutes=30), purger=purger).purged is None

    # An outbox replays a late flow reading for 13 October: the day is recomputed from blanked faces.
    late = Door(state="open", **_common("door-1", datetime(2026, 10, 13, 1, 30, tzinfo=UTC)))  # type: ignore[arg-type]
    assert feed(store, [("eldercare/v1/qd-a/door-1/door", encode(late))], received_at=later) == 1
    assert run_pass(factory, Partition(), CONFIG, later + timedelta(hours=2), purger=purger).errors == 0
    with store.connect() as c:
        after_day = c.execute(select(DayResult.record).where(DayResult.station_id == "qd-a", DayResult.local_date
                                                             == date(2026, 10, 13))).scalar_one()
        after_month = c.execute(select(MonthResult.record).where(MonthResult.station_id == "qd-a",
                                                                 MonthResult.month == "2026-10")).scalar_one()
    assert after_day["elder_ids"] == before_days[date(2026, 10, 13)]["elder_ids"]
    assert after_day["elders"] == before_days[date(2026, 10, 13)]["elders"]
    assert (after_month["elders"], after_month["met"]) == (before_month["elders"], before_month["met"])

    # 400 days on, the raw events go; a replay for a day that old (between two purges) is not allowed to re-derive
    # it from the one event left.
    much_later = later + timedelta(days=400)
    stats = run_pass(factory, Partition(), CONFIG, much_later, purger=purger)
    assert stats.errors == 0 and stats.purged is not None and stats.purged.events > 0
    with store.connect() as c:
        left = c.execute(select(func.count()).select_from(Event).where(Event.ts < much_later - timedelta(days=400)))
        assert left.scalar_one() == 0
    replay = Door(state="closed", **_common("door-1", datetime(2026, 10, 13, 2, 0, tzinfo=UTC)))  # type: ignore[arg-type]
    assert feed(store, [("eldercare/v1/qd-a/door-1/door", encode(replay))], received_at=much_later) == 1
    stats = run_pass(factory, Partition(), CONFIG, much_later + timedelta(minutes=10), purger=purger)
    assert stats.errors == 0 and stats.purged is None  # the purge ran ten minutes ago
    with store.connect() as c:
        final_day = c.execute(select(DayResult.record).where(DayResult.station_id == "qd-a", DayResult.local_date
                                                             == date(2026, 10, 13))).scalar_one()
        final_month = c.execute(select(MonthResult.record).where(MonthResult.station_id == "qd-a",
                                                                 MonthResult.month == "2026-10")).scalar_one()
        assert c.execute(select(DirtyStationDay).where(DirtyStationDay.local_date < date(2026, 11, 1))).all() == []
    assert final_day == after_day and final_month == after_month


def test_rederive_refuses_days_whose_raw_events_are_past_retention(
        store: Engine, messages: list[tuple[str, bytes]], monkeypatch: pytest.MonkeyPatch) -> None:
    feed(store, messages)
    run_pass(make_session_factory(store), Partition(), CONFIG, datetime(2026, 10, 16, 15, 30, tzinfo=UTC))
    with store.connect() as c:
        before = c.execute(select(DayResult.record).where(DayResult.local_date == date(2026, 10, 12))).scalars().all()
    monkeypatch.setenv("ELDERCARE_DATABASE_URL", store.url.render_as_string(hide_password=False))
    monkeypatch.setenv("ELDERCARE_RETENTION_EVENTS_DAYS", "30")  # October 2026 is further back than that
    refused = CliRunner().invoke(cli, ["cloud", "rederive", "--from", "2026-10-12", "--to", "2026-10-13"])
    assert refused.exit_code != 0 and "past retention (ELDERCARE_RETENTION_EVENTS_DAYS=30)" in refused.stderr
    with store.connect() as c:
        after = c.execute(select(DayResult.record).where(DayResult.local_date == date(2026, 10, 12))).scalars().all()
    assert after == before and len(before) == 2


def test_rederive_counts_retention_in_the_stations_days_after_midnight_in_shanghai(
        store: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    # 01:00 on 2 December in Shanghai, still 1 December in UTC. Thirty days back is 01:00 on 2 November there: that
    # day's first hour may be purged already, so the first day that can be re-derived whole is 3 November.
    just_after_midnight = datetime(2026, 12, 1, 17, 0, tzinfo=UTC)
    assert first_kept_day(just_after_midnight, 30, "Asia/Shanghai") == date(2026, 11, 3)
    assert first_kept_day(datetime(2026, 12, 1, 15, 0, tzinfo=UTC), 30, "Asia/Shanghai") == date(2026, 11, 2)
    monkeypatch.setenv("ELDERCARE_DATABASE_URL", store.url.render_as_string(hide_password=False))
    monkeypatch.setenv("ELDERCARE_RETENTION_EVENTS_DAYS", "30")
    with pytest.raises(ClickException, match="start at 2026-11-03 or later"):
        rederive_store(date(2026, 11, 2), date(2026, 11, 5), [], RulesConfig(), None, lambda _: None,
                       now=just_after_midnight)
    assert rederive_store(date(2026, 11, 3), date(2026, 11, 5), [], RulesConfig(), None, lambda _: None,
                          now=just_after_midnight) >= 0


# 23:30 on 1 December in Shanghai, then 00:30 on 2 December there (still 1 December in UTC). Thirty days back is 23:30
# on 1 November, then 00:30 on 2 November: that day's first half hour may be purged, so it turns final at midnight.
BEFORE_MIDNIGHT = datetime(2026, 12, 1, 15, 30, tzinfo=UTC)
AFTER_MIDNIGHT = datetime(2026, 12, 1, 16, 30, tzinfo=UTC)
NOVEMBER = [date(2026, 11, 1), date(2026, 11, 2), date(2026, 11, 3)]


def _mark(engine: Engine, days: list[date]) -> None:
    """Dirty marks on `days` for both stations. qd-b keeps its days in UTC: a station's own zone counts, not the
    deployment's."""
    with make_session_factory(engine).begin() as session:
        session.get_one(Station, "qd-b").timezone = "UTC"
        session.execute(delete(DirtyStationDay))
        for station in ("qd-a", "qd-b"):
            for day in days:
                session.add(DirtyStationDay(station_id=station, local_date=day, generation=1, marked_at=NOW))


def _rederived(engine: Engine, now: datetime) -> set[tuple[str, date]]:
    """The November days the pass at `now` derived; a final day's mark must be gone all the same."""
    with engine.connect() as c:
        assert not c.execute(select(DirtyStationDay).where(DirtyStationDay.local_date.in_(NOVEMBER))).all()
        return set(c.execute(select(DayResult.station_id, DayResult.local_date)
                             .where(DayResult.local_date.in_(NOVEMBER), DayResult.computed_at == now)).tuples())


def test_the_worker_counts_final_days_in_each_stations_zone_around_midnight_in_shanghai(store: Engine) -> None:
    factory = make_session_factory(store)
    retention = Retention(events_days=30)
    _mark(store, NOVEMBER)  # derived once, without retention: every November day has its result
    assert run_pass(factory, Partition(), CONFIG, BEFORE_MIDNIGHT - timedelta(hours=1)).errors == 0
    _mark(store, NOVEMBER)  # a late replay marks them again
    assert run_pass(factory, Partition(), CONFIG, BEFORE_MIDNIGHT, retention=retention).errors == 0
    assert _rederived(store, BEFORE_MIDNIGHT) == {("qd-a", date(2026, 11, 2)), ("qd-a", date(2026, 11, 3)),
                                                  ("qd-b", date(2026, 11, 2)), ("qd-b", date(2026, 11, 3))}
    _mark(store, NOVEMBER)
    assert run_pass(factory, Partition(), CONFIG, AFTER_MIDNIGHT, retention=retention).errors == 0
    # In Shanghai 2 November has turned final; in UTC it is still 1 December and 2 November is whole.
    assert _rederived(store, AFTER_MIDNIGHT) == {("qd-a", date(2026, 11, 3)),
                                                 ("qd-b", date(2026, 11, 2)), ("qd-b", date(2026, 11, 3))}


def test_the_purge_drops_the_marks_of_final_days_in_each_stations_zone_around_midnight_in_shanghai(
        store: Engine) -> None:
    retention = Retention(events_days=30)
    for now, kept in ((BEFORE_MIDNIGHT, {("qd-a", date(2026, 11, 2)), ("qd-a", date(2026, 11, 3)),
                                         ("qd-b", date(2026, 11, 2)), ("qd-b", date(2026, 11, 3))}),
                      (AFTER_MIDNIGHT, {("qd-a", date(2026, 11, 3)),
                                        ("qd-b", date(2026, 11, 2)), ("qd-b", date(2026, 11, 3))})):
        _mark(store, NOVEMBER)
        purge(store, retention, now)
        with store.connect() as c:
            marks = set(c.execute(select(DirtyStationDay.station_id, DirtyStationDay.local_date)).tuples())
        assert marks == kept, now
