"""The batch writer on each dialect, without a broker: what a batch leaves in the store, batch after batch.

The devices and the station-days a batch touches are upserted in one statement per batch on PostgreSQL and one
executemany on SQLite; both must fold a batch of many devices the same way, and a later batch must keep what an
earlier one set unless it knows better.
"""

import json
import uuid
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session

from cloud.convert import Accepted, Rejected, convert
from cloud.ingest.letters import Letter
from cloud.ingest.stations import StationCache
from cloud.ingest.writer import write_batch
from cloud.store.models import Alert, DeadLetter, Device, DirtyStationDay, Event
from station_protocol import Call, Door, Flow, Health, Status, encode, new_event_id
from tests.ingest.conftest import count

T0 = datetime(2026, 10, 12, 0, 30, tzinfo=UTC)  # 08:30 in Shanghai


def _common(station: str, device: str, seq: int, ts: datetime) -> dict[str, object]:
    return {"v": 1, "id": uuid.UUID(new_event_id()), "station": station, "device": device, "seq": seq, "ts": ts}


def _accept(stations: StationCache, topic: str, payload: bytes, received_at: datetime) -> Accepted:
    outcome = convert(topic, payload, received_at, stations)
    assert isinstance(outcome, Accepted), outcome
    return outcome


def _batch(stations: StationCache, messages: list[tuple[str, bytes]],
           received_at: datetime) -> list[tuple[Accepted, str, bytes]]:
    return [(_accept(stations, t, p, received_at), t, p) for t, p in messages]


def flow(station: str, device: str, seq: int, ts: datetime) -> tuple[str, bytes]:
    message = Flow(period_s=60, in_=1, out=0, **_common(station, device, seq, ts))  # type: ignore[arg-type]
    return f"eldercare/v1/{station}/{device}/flow", encode(message)


def door(station: str, seq: int, ts: datetime) -> tuple[str, bytes]:
    message = Door(state="open", **_common(station, "door-1", seq, ts))  # type: ignore[arg-type]
    return f"eldercare/v1/{station}/door-1/door", encode(message)


def health(station: str, device: str, ok: bool, seq: int, ts: datetime,
           error: str | None = None) -> tuple[str, bytes]:
    message = Health(ok=ok, error=error, detail={"uptime": 5, "note": "门 \"东\""},
                     **_common(station, device, seq, ts))  # type: ignore[arg-type]
    return f"eldercare/v1/{station}/{device}/health", encode(message)


def status(station: str, online: bool, ts: datetime) -> tuple[str, bytes]:
    return f"eldercare/v1/{station}/agent/status", encode(Status(v=1, station=station, online=online, ts=ts))


def devices(engine: Engine) -> dict[tuple[str, str], Device]:
    with Session(engine) as session:
        return {(d.station_id, d.device_id): d for d in session.scalars(select(Device))}


def dirty(engine: Engine) -> dict[tuple[str, date], int]:
    with engine.connect() as c:
        rows = c.execute(select(DirtyStationDay.station_id, DirtyStationDay.local_date, DirtyStationDay.generation))
        return {(s, d): g for s, d, g in rows}


def test_many_devices_in_one_batch_then_a_later_batch(engine: Engine) -> None:
    stations = StationCache(engine)
    now = T0 + timedelta(hours=1)
    first = [flow(s, f"flow-{i}", i, T0 + timedelta(minutes=i)) for s in ("qd-a", "qd-b") for i in range(1, 6)]
    first += [health("qd-a", "door-1", False, 10, T0 + timedelta(minutes=2), error="wire cut"),
              health("qd-a", "door-1", True, 11, T0 + timedelta(minutes=1)),  # older in the same batch: loses
              door("qd-a", 12, T0 + timedelta(minutes=9)),
              status("qd-b", True, T0 + timedelta(minutes=3)),
              flow("qd-b", "flow-1", 99, T0 - timedelta(hours=1))]  # 07:30 in Shanghai: the same local day
    result = write_batch(engine, _batch(stations, first, now), [], now)
    assert (result.stored, result.duplicates, result.letters) == (len(first), 0, [])

    seen = devices(engine)
    assert len(seen) == 12  # 5 counters at each station, qd-a's door, qd-b's agent
    assert seen["qd-b", "flow-1"].first_seen_at == seen["qd-b", "flow-1"].last_seen_at == T0 + timedelta(minutes=1)
    assert seen["qd-a", "flow-5"].kind == "flow" and seen["qd-a", "flow-5"].last_health is None
    door_1 = seen["qd-a", "door-1"]
    assert door_1.kind == "door" and door_1.last_seen_at == T0 + timedelta(minutes=9)
    assert door_1.last_health_ok is False and door_1.last_health_at == T0 + timedelta(minutes=2)
    assert door_1.last_health == {"ok": False, "error": "wire cut", "detail": {"uptime": 5, "note": "门 \"东\""}}
    assert seen["qd-b", "agent"].online is True and seen["qd-b", "agent"].kind == "agent"
    assert dirty(engine) == {("qd-a", date(2026, 10, 12)): 1, ("qd-b", date(2026, 10, 12)): 1}

    # A later batch: an older health report and an older status change nothing; the next day is marked too.
    second = [health("qd-a", "door-1", True, 20, T0 + timedelta(minutes=1)),
              status("qd-b", False, T0 + timedelta(minutes=2)),
              flow("qd-a", "flow-1", 21, T0 + timedelta(days=1))]
    write_batch(engine, _batch(stations, second, now + timedelta(days=1)), [], now + timedelta(days=1))
    seen = devices(engine)
    assert seen["qd-a", "door-1"].last_health_ok is False
    assert seen["qd-a", "door-1"].last_seen_at == T0 + timedelta(minutes=9)  # never moved back
    assert seen["qd-b", "agent"].online is True
    assert seen["qd-a", "flow-1"].first_seen_at == T0 + timedelta(minutes=1)
    assert seen["qd-a", "flow-1"].last_seen_at == T0 + timedelta(days=1)
    assert dirty(engine) == {("qd-a", date(2026, 10, 12)): 2, ("qd-b", date(2026, 10, 12)): 2,
                             ("qd-a", date(2026, 10, 13)): 1}

    # A newer one wins.
    third = [health("qd-a", "door-1", True, 30, T0 + timedelta(minutes=30)),
             status("qd-b", False, T0 + timedelta(minutes=30))]
    write_batch(engine, _batch(stations, third, now), [], now)
    seen = devices(engine)
    assert seen["qd-a", "door-1"].last_health_ok is True and seen["qd-a", "door-1"].last_health is not None
    assert seen["qd-a", "door-1"].last_health["error"] is None
    assert seen["qd-b", "agent"].online is False
    # A batch of only its health reports leaves a door a door (the station page names the device by its kind).
    assert seen["qd-a", "door-1"].kind == "door"


def test_a_device_heard_first_by_its_health_takes_its_kind_from_its_readings(engine: Engine) -> None:
    stations = StationCache(engine)
    now = T0 + timedelta(hours=1)
    # A counter that failed at start: its health comes first, then in the same batch and a later one, its counts.
    write_batch(engine, _batch(stations, [health("qd-a", "flow-7", False, 1, T0, error="no response"),
                                          flow("qd-a", "flow-7", 2, T0 + timedelta(minutes=1)),
                                          health("qd-a", "flow-7", True, 3, T0 + timedelta(minutes=2))], now), [], now)
    assert devices(engine)["qd-a", "flow-7"].kind == "flow"
    write_batch(engine, _batch(stations, [health("qd-a", "flow-8", False, 1, T0, error="no response")], now), [], now)
    assert devices(engine)["qd-a", "flow-8"].kind == "health"  # nothing else heard from it yet
    write_batch(engine, _batch(stations, [flow("qd-a", "flow-8", 2, T0 + timedelta(minutes=1))], now), [], now)
    assert devices(engine)["qd-a", "flow-8"].kind == "flow"


def test_a_refused_row_in_the_middle_loses_none_of_the_others(engine: Engine) -> None:
    stations = StationCache(engine)
    now = T0 + timedelta(hours=1)
    batch = _batch(stations, [flow("qd-a", "flow-1", i, T0 + timedelta(seconds=i)) for i in range(1, 8)], now)
    # A row the store cannot hold (seq beyond BIGINT), as a broken converter might build: only it is refused.
    bad, topic, payload = batch[3]
    batch[3] = (Accepted(bad.decoded, bad.station, {**bad.row, "seq": 2**70}, bad.local_date, bad.payload_text),
                topic, payload)
    letter = Letter("eldercare/v1/qd-a/x/bogus", b"{}", now, Rejected("invalid", "bad topic", "qd-a"))
    result = write_batch(engine, batch, [letter], now)
    assert result.fell_back
    assert result.stored == 6 and [lt.rejected.category for lt in result.letters] == ["invalid", "store_refused"]
    with engine.connect() as c:
        stored = set(c.execute(select(Event.seq)).scalars())
        reasons = list(c.execute(select(DeadLetter.reason)).scalars())
    assert stored == {1, 2, 3, 5, 6, 7}
    assert len(reasons) == 2 and any(r.startswith("store refused the event") for r in reasons)
    assert count(engine, Event) == 6



def test_each_event_keeps_the_ingester_that_received_it(engine: Engine) -> None:
    # The late-evidence rule judges each ingester's share on its own; a refused row's fallback path keeps it too.
    stations = StationCache(engine)
    now = T0 + timedelta(minutes=5)
    write_batch(engine, _batch(stations, [door("qd-a", 1, T0), status("qd-a", True, T0)], now), [], now,
                "eldercare-ingest-1")
    write_batch(engine, _batch(stations, [door("qd-a", 2, T0 + timedelta(minutes=1))], now), [], now,
                "eldercare-ingest-2")
    write_batch(engine, _batch(stations, [door("qd-a", 3, T0 + timedelta(minutes=2))], now), [], now)
    with engine.connect() as c:
        by = {seq: who for seq, who in c.execute(select(Event.seq, Event.received_by).where(Event.kind == "door"))}
        agent = c.execute(select(Event.received_by).where(Event.kind == "status")).scalar_one()
    assert by == {1: "eldercare-ingest-1", 2: "eldercare-ingest-2", 3: None} and agent == "eldercare-ingest-1"


def _call(station: str, call: str, event_id: uuid.UUID, ts: datetime) -> tuple[str, bytes]:
    message = Call(action="pressed", call=call, **{**_common(station, "call-1", 1, ts), "id": event_id})  # type: ignore[arg-type]
    return f"eldercare/v1/{station}/call-1/call", encode(message)


def _with(topic_payload: tuple[str, bytes], **fields: object) -> tuple[str, bytes]:
    """The same message with some fields changed (its id kept): a replay someone edited."""
    topic, payload = topic_payload
    return topic, json.dumps({**json.loads(payload), **fields}).encode()


def test_a_replayed_event_id_has_no_side_effects(engine: Engine) -> None:
    # A duplicate (a QoS 1 redelivery, an outbox replayed, or a copy someone edited and sent again) is not stored
    # again; nor may it raise an alert, change a device's health or last-seen time, or mark a day for recompute.
    stations = StationCache(engine)
    now = T0 + timedelta(minutes=10)
    press = _call("qd-a", "c-1", uuid.UUID(new_event_id()), T0)
    fault = health("qd-a", "door-1", False, 1, T0, error="wire cut")
    result = write_batch(engine, _batch(stations, [press, fault], now), [], now)
    assert (result.stored, result.alerts) == (2, 1)
    with Session(engine) as session:
        alert = session.scalars(select(Alert)).one()
        alert.status, alert.resolved_by, alert.resolved_at = "resolved", "wang", now
        session.commit()
    fixed = health("qd-a", "door-1", True, 2, T0 + timedelta(minutes=5))
    write_batch(engine, _batch(stations, [fixed], now), [], now)
    with engine.begin() as connection:
        connection.execute(delete(DirtyStationDay))

    later = T0 + timedelta(days=3)  # another local day, so a mark on it would show
    replays = [press, fault,
               _with(press, call="c-2", ts=later.isoformat()),  # the press's id, another call
               _with(fault, ts=later.isoformat()),  # the fault's id, newer than the repair
               flow("qd-a", "flow-1", 5, T0 + timedelta(minutes=7))]  # and one new event among them
    result = write_batch(engine, _batch(stations, replays, later), [], later)
    assert (result.stored, result.duplicates, result.alerts) == (1, 4, 0)
    with Session(engine) as session:
        alerts = [(a.cause_key, a.status) for a in session.scalars(select(Alert))]
    assert alerts == [("call:qd-a:c-1", "resolved")]
    door_1 = devices(engine)["qd-a", "door-1"]
    assert (door_1.last_health_ok, door_1.last_health_at) == (True, T0 + timedelta(minutes=5))
    assert door_1.last_seen_at == T0 + timedelta(minutes=5)
    assert devices(engine)["qd-a", "call-1"].last_seen_at == T0
    # Only the new flow reading marked its day; the new reading's device was recorded.
    assert dirty(engine) == {("qd-a", date(2026, 10, 12)): 1}
    assert devices(engine)["qd-a", "flow-1"].last_seen_at == T0 + timedelta(minutes=7)
    with engine.connect() as c:
        assert c.execute(select(Event.payload).where(Event.kind == "call")).scalar_one()["call"] == "c-1"


def test_a_batch_of_only_replays_and_of_one_id_twice_has_no_side_effects(engine: Engine) -> None:
    stations = StationCache(engine)
    now = T0 + timedelta(minutes=10)
    first = _call("qd-a", "c-1", uuid.UUID(new_event_id()), T0)
    # One id twice in one batch: the first copy is stored and raises its alert, the edited second one nothing.
    result = write_batch(engine, _batch(stations, [first, _with(first, call="c-9")], now), [], now)
    assert (result.stored, result.duplicates, result.alerts) == (1, 1, 1)
    result = write_batch(engine, _batch(stations, [_with(first, call="c-8")], now), [], now)
    assert (result.stored, result.duplicates, result.alerts) == (0, 1, 0)
    with Session(engine) as session:
        assert [a.cause_key for a in session.scalars(select(Alert))] == ["call:qd-a:c-1"]
