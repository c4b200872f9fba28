"""The worker over a real store (SQLite and PostgreSQL), fed through ingest: same answers as `cloud derive`,
whatever the arrival order, with late outbox replays, and recomputed from scratch."""

import json
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from click.testing import CliRunner
from sqlalchemy import Engine, delete, select

from cloud.derive.plans import create_plan
from cloud.derive.runner import Partition, run_pass
from cloud.rules.config import RulesConfig
from cloud.store.db import make_session_factory
from cloud.store.derived import DayResult, MonthResult, SpotCheckResult, Veto
from cloud.store.models import DirtyStationDay, StationException
from eldercare.cli import cli
from tests.derive.conftest import AuditFiles, feed

NOW = datetime(2026, 10, 16, 15, 30, tzinfo=UTC)  # 23:30 in Shanghai, the last day of the audit range
CONFIG = RulesConfig()


def derive_lines(files: AuditFiles) -> list[dict[str, Any]]:
    result = CliRunner().invoke(cli, [
        "cloud", "derive", "--stations", str(files.stations), "--events", str(files.events), "--from", "2026-10-01",
        "--to", "2026-10-16", "--spot-checks", str(files.checks), "--exceptions", str(files.exceptions)],
        catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def prepare(engine: Engine) -> None:
    """The exception and the spot-check plans of the audit files, as the API would record them."""
    with make_session_factory(engine)() as session:
        session.add(StationException(station_id="qd-b", date=date(2026, 10, 16),
                                     reason="renovation approved by the town", approved_by="town"))
        for day, start, scope, stations in ((date(2026, 10, 14), time(9), "all", None),
                                            (date(2026, 10, 15), time(9), "stations", ["qd-a"]),
                                            (date(2026, 10, 13), time(14), "all", None)):
            create_plan(session, day=day, start=start, end=time(start.hour + 1), scope=scope, created_by="bureau",
                        now=NOW, stations=stations)
        session.commit()


def stored(engine: Engine) -> dict[str, Any]:
    with make_session_factory(engine)() as session:
        days = {(r.station_id, r.local_date.isoformat()): r.record for r in session.scalars(select(DayResult))}
        months = {(r.station_id, r.month): r.record for r in session.scalars(select(MonthResult))}
        spots = {(r.station_id, r.record["date"], r.record["start"]): {k: v for k, v in r.record.items() if k != "plan"}
                 for r in session.scalars(select(SpotCheckResult))}
        vetoes = {(r.station_id, r.year): (r.failed, r.veto) for r in session.scalars(select(Veto))}
    return {"day": days, "month": months, "spot_check": spots, "veto": vetoes}


def from_derive(lines: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "day": {(ln["station"], ln["date"]): ln for ln in lines if ln["type"] == "day"},
        "month": {(ln["station"], ln["month"]): ln for ln in lines if ln["type"] == "month"},
        "spot_check": {(ln["station"], ln["date"], ln["start"]): ln for ln in lines if ln["type"] == "spot_check"},
        "veto": {(ln["station"], ln["year"]): (ln["failed"], ln["veto"]) for ln in lines if ln["type"] == "veto"},
    }


def test_worker_and_derive_agree(store: Engine, audit_files: AuditFiles, messages: list[tuple[str, bytes]]) -> None:
    prepare(store)
    assert feed(store, messages) == len(messages)
    stats = run_pass(make_session_factory(store), Partition(), CONFIG, NOW)
    assert stats.errors == 0, stats.messages
    expected = from_derive(derive_lines(audit_files))
    got = stored(store)
    assert got["day"] == expected["day"]
    assert got["month"] == expected["month"]
    assert got["spot_check"] == expected["spot_check"]
    assert got["veto"] == expected["veto"]
    with make_session_factory(store)() as session:
        assert session.scalars(select(DirtyStationDay)).all() == []

    # Recompute from scratch: forget every result, mark every station-day dirty, same answer.
    with make_session_factory(store)() as session:
        for table in (DayResult, MonthResult, SpotCheckResult, Veto):
            session.execute(delete(table))
        session.add_all(DirtyStationDay(station_id=s, local_date=d, generation=1)
                        for s, d in [("qd-a", date(2026, 10, 16)), ("qd-b", date(2026, 10, 3))])
        session.commit()
    assert run_pass(make_session_factory(store), Partition(), CONFIG, NOW).errors == 0
    assert stored(store) == got


def test_late_outbox_replay_gives_the_same_answer(store: Engine, audit_files: AuditFiles,
                                                  messages: list[tuple[str, bytes]]) -> None:
    prepare(store)
    # The morning of 15 October arrives days late (the station's network was down; its outbox replays it).
    late = [m for m in messages if '"ts":"2026-10-15T0' in m[1].decode()]
    assert late
    early = [m for m in messages if m not in late]
    feed(store, early)
    factory = make_session_factory(store)
    run_pass(factory, Partition(), CONFIG, datetime(2026, 10, 15, 8, 0, tzinfo=UTC))
    run_pass(factory, Partition(), CONFIG, NOW)
    before = stored(store)["day"][("qd-a", "2026-10-15")]
    feed(store, late, received_at=datetime(2026, 10, 18, tzinfo=UTC))
    assert run_pass(factory, Partition(), CONFIG, NOW).errors == 0
    after = stored(store)
    assert after["day"][("qd-a", "2026-10-15")] != before
    expected = from_derive(derive_lines(audit_files))
    assert after["day"] == expected["day"] and after["month"] == expected["month"]
    assert after["spot_check"] == expected["spot_check"]


def test_partitions_split_the_stations(store: Engine, messages: list[tuple[str, bytes]]) -> None:
    feed(store, messages)
    parts = [Partition(1, 2), Partition(2, 2)]
    owners = {s: [p.index for p in parts if p.owns(s)] for s in ("qd-a", "qd-b")}
    assert all(len(v) == 1 for v in owners.values())
    factory = make_session_factory(store)
    run_pass(factory, parts[0], CONFIG, NOW)
    first = {s for s, _ in stored(store)["day"]}
    assert first == {s for s, v in owners.items() if v == [1]}
    run_pass(factory, parts[1], CONFIG, NOW)
    assert {s for s, _ in stored(store)["day"]} == {"qd-a", "qd-b"}


def test_partition_syntax() -> None:
    assert Partition.parse("2/3") == Partition(2, 3)
    for bad in ("0/3", "4/3", "x", "1/0"):
        try:
            Partition.parse(bad)
        except ValueError as exc:
            assert "partition" in str(exc)
        else:
            raise AssertionError(f"{bad} accepted")


def test_store_order_is_the_rules_order(store: Engine, messages: list[tuple[str, bytes]]) -> None:
    """The worker trusts ORDER BY (ts, id) to be `sort_key` order (time, then the id's text) on both dialects."""
    from cloud.derive.storeio import load_obs
    from cloud.rules.observations import sort_key

    same_second = [(t, p.replace(p[p.index(b'"ts":"') + 6:p.index(b'"', p.index(b'"ts":"') + 6)],
                                 b"2026-10-12T09:00:00+08:00")) for t, p in messages if b'"id"' in p][:200]
    feed(store, same_second)
    with make_session_factory(store)() as session:
        obs, _ = load_obs(session, "qd-a", 0, 2e9)
    assert len({o.t for o in obs}) == 1 and len(obs) > 50
    assert obs == sorted(obs, key=sort_key)


def test_exception_recorded_later_excuses_the_day(store: Engine, messages: list[tuple[str, bytes]]) -> None:
    from cloud.derive.storeio import mark_dirty

    feed(store, messages)
    factory = make_session_factory(store)
    run_pass(factory, Partition(), CONFIG, NOW)
    assert stored(store)["day"][("qd-a", "2026-10-14")]["verdict"] == "closed"
    with factory() as session:
        session.add(StationException(station_id="qd-a", date=date(2026, 10, 14), reason="typhoon"))
        mark_dirty(session, "qd-a", [date(2026, 10, 14)], NOW)
        session.commit()
    run_pass(factory, Partition(), CONFIG, NOW)
    day = stored(store)["day"][("qd-a", "2026-10-14")]
    assert (day["verdict"], day["excused"], day["compliance"]) == ("excused", "typhoon", 1.0)


def test_equipment_off_in_working_hours_is_a_town_alert_until_the_data_covers_it(store: Engine) -> None:
    from cloud.alerts.kinds import AlertKind
    from cloud.store.models import Alert
    from tests.rules.scenario import StationDay, visits_every

    day = date(2026, 10, 20)  # a Tuesday
    sd = StationDay("qd-a", day, door=[(time(8, 25), time(11, 35)), (time(13, 25), time(17, 5))],
                    visits=visits_every(time(8, 40), time(11, 20), 20, ["e-1", "e-2"], day=day))
    messages = sd.messages()
    afternoon = [m for m in messages if any(f'"ts":"2026-10-20T{h}' in m[1].decode() for h in (14, 15, 16, 17))]
    assert afternoon  # 14:00-17:59 local: the agent was unplugged at 14:00
    evening = datetime(2026, 10, 20, 12, 0, tzinfo=UTC)  # 20:00 local: the day is over
    feed(store, [m for m in messages if m not in afternoon], received_at=evening)
    factory = make_session_factory(store)
    assert run_pass(factory, Partition(), CONFIG, evening).errors == 0
    with factory() as session:
        alert = session.scalars(select(Alert).where(Alert.kind == AlertKind.EQUIPMENT_OFF)).one()
        assert (alert.station_id, alert.level, alert.status) == ("qd-a", "town", "raised")
        # Last heard at 13:59: alive for the liveness window after it, then nothing until the sessions' end.
        assert alert.cause_key == "equipment-off:qd-a:2026-10-20"
        assert (alert.evidence or {}).get("off") == ["14:09-17:00"]
        row = session.get(DayResult, ("qd-a", day))
        assert row is not None and row.record["equipment_off"] == ["14:09-17:00"] and row.verdict == "partial"
    # The afternoon turns up after all (the agent's outbox): the day is recomputed and the alert resolved.
    feed(store, afternoon, received_at=datetime(2026, 10, 21, tzinfo=UTC))
    assert run_pass(factory, Partition(), CONFIG, evening + timedelta(days=1)).errors == 0
    with factory() as session:
        alert = session.scalars(select(Alert).where(Alert.kind == AlertKind.EQUIPMENT_OFF)).one()
        assert alert.status == "resolved" and "covers" in (alert.notes or "")
        row = session.get(DayResult, ("qd-a", day))
        assert row is not None and row.record["equipment_off"] == [] and row.verdict == "open"


def test_a_loss_recorded_later_rederives_every_stations_days_and_derive_agrees(
        store: Engine, audit_files: AuditFiles, messages: list[tuple[str, bytes]]) -> None:
    """An ingester finds its session gone and records the window (14 October 09:30-09:40 in Shanghai): every
    station's day is derived again, flagged, and the check of that morning no longer fails qd-a (shut) nor passes
    qd-b (open): both are unverifiable, for the town to go on site. `cloud derive --losses` gives the same."""
    from cloud.ingest.losses import LOST_WHILE_AWAY, Loss, record

    prepare(store)
    feed(store, messages)
    factory = make_session_factory(store)
    assert run_pass(factory, Partition(), CONFIG, NOW).errors == 0
    before = stored(store)
    assert before["spot_check"][("qd-a", "2026-10-14", "09:00")]["result"] == "fail"
    assert before["spot_check"][("qd-b", "2026-10-14", "09:00")]["result"] == "pass"
    lost = Loss("ingest-b", datetime(2026, 10, 14, 1, 30, tzinfo=UTC), datetime(2026, 10, 14, 1, 40, tzinfo=UTC),
                LOST_WHILE_AWAY)
    assert record(store, lost, NOW)
    with factory() as session:  # and the day after, into which a door state from before it may be carried
        assert {(d.station_id, d.local_date) for d in session.scalars(select(DirtyStationDay))} == {
            (s, date(2026, 10, d)) for s in ("qd-a", "qd-b") for d in (14, 15)}
    assert run_pass(factory, Partition(), CONFIG, NOW).errors == 0
    after = stored(store)
    for station in ("qd-a", "qd-b"):
        spot = after["spot_check"][(station, "2026-10-14", "09:00")]
        assert (spot["result"], spot["reason_code"], spot["stretches"]) == (
            "unverifiable", "platform_lost_messages", ["09:30-09:40"]), station
        day = after["day"][(station, "2026-10-14")]
        assert "platform_lost_messages" in day["flags"] and day["verdict"] == before["day"][(station, "2026-10-14")][
            "verdict"]
        assert day["platform_lost"] == ["2026-10-14 09:30 to 2026-10-14 09:40"]
        assert any("(Asia/Shanghai)" in note and "09:30" in note for note in day["notes"])
        assert "platform_lost_messages" not in after["day"][(station, "2026-10-13")]["flags"]
    # The failure of the 14th no longer counts toward qd-a's veto.
    assert after["veto"][("qd-a", 2026)][0] == before["veto"][("qd-a", 2026)][0] - 1
    # The auditor's recompute with the export's windows gives every stored row.
    losses = audit_files.events.parent / "losses.csv"
    losses.write_text("client_id,lost_from,lost_to,reason\n"
                      "ingest-b,2026-10-14T01:30:00+00:00,2026-10-14T01:40:00+00:00,lost_while_away\n",
                      encoding="utf-8")
    result = CliRunner().invoke(cli, [
        "cloud", "derive", "--stations", str(audit_files.stations), "--events", str(audit_files.events), "--from",
        "2026-10-01", "--to", "2026-10-16", "--spot-checks", str(audit_files.checks), "--exceptions",
        str(audit_files.exceptions), "--losses", str(losses)], catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    expected = from_derive([json.loads(line) for line in result.stdout.splitlines()])
    assert after == expected
