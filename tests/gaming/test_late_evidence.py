"""Filling in a judged day after the fact: evidence a connected agent held back and published long after its time
is set aside (cloud.rules.late), while an honest outbox replay after a network outage still counts.

Through the rules with each event's receipt time (`cloud derive` lines with `received_at`), and through Mosquitto,
an ingester whose clock is the test's, and `eldercare cloud worker`."""

import json
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, func, select

from cloud.derive.files import read_events
from cloud.derive.plans import create_plan
from cloud.ingest.config import IngestConfig
from cloud.ingest.metrics import IngestMetrics
from cloud.ingest.service import Ingester
from cloud.ingest.stations import StationCache
from cloud.rules.alerts import anomalies
from cloud.rules.config import RulesConfig
from cloud.rules.day import DayResult, Verdict
from cloud.rules.records import day_record
from cloud.rules.rollup import month_record
from cloud.rules.spotcheck import SpotResult, judge
from cloud.rules.station import derive_days
from cloud.store.db import make_session_factory
from cloud.store.derived import DayResult as DayRow
from cloud.store.derived import SpotCheckResult
from cloud.store.models import Alert, Event
from station_protocol import Heartbeat, encode
from station_protocol.topics import agent_topic
from tests.faults.conftest import registered_store, worker_once
from tests.gaming.attacks import (
    ELDERS,
    Message,
    door_open_all_day,
    open_day,
    photographs,
    received,
    shut_day,
    ts_of,
)
from tests.ingest.conftest import publish
from tests.localservices import Mosquitto
from tests.rules.conftest import SCHEDULE, as_lines
from tests.rules.scenario import TZ, StationDay
from tests.wait import poll

TUESDAY = date(2026, 10, 13)
CONFIG = RulesConfig()
NIGHT = datetime.combine(TUESDAY, time(22), TZ)  # when the station publishes what it "forgot"
FULL = [(time(8, 25), time(11, 35)), (time(13, 25), time(17, 5))]
OUTAGE = (time(9), time(12))


def _derive(lines: list[str], day: date = TUESDAY) -> DayResult:
    events = read_events(lines, {}, ZoneInfo("Asia/Shanghai"))
    assert not events.problems, events.problems
    return derive_days("qd-a", SCHEDULE, {}, events.obs["qd-a"], day, day, CONFIG)[0]


def _prompt(ts: datetime) -> datetime:
    return ts + timedelta(seconds=2)


def _spot(r: DayResult) -> SpotResult:
    return judge(r, time(9), time(10), "Asia/Shanghai", CONFIG).result


def test_a_shut_day_filled_in_at_night_stays_closed_and_is_flagged() -> None:
    live = received(shut_day("qd-a", TUESDAY), _prompt)
    for filler in (door_open_all_day("qd-a", TUESDAY), open_day("qd-a", TUESDAY)):
        r = _derive(live + received(filler, lambda _ts: NIGHT))
        assert (r.verdict, r.compliance, _spot(r)) == (Verdict.CLOSED, 0.0, SpotResult.FAIL)
        assert not r.visitors.elders and r.visitors.entries == 0
        assert "late_evidence" in r.flags
        assert any("set aside" in n for n in day_record(r, "Asia/Shanghai").notes)
        found = [a for a in anomalies(r, [], True, CONFIG) if a.cause_key.startswith("anomaly:late-evidence:")]
        assert len(found) == 1 and found[0].level == "town"


def test_the_same_evidence_sent_live_counts() -> None:
    r = _derive(received(shut_day("qd-a", TUESDAY) + door_open_all_day("qd-a", TUESDAY), _prompt))
    assert r.verdict is Verdict.OPEN and "late_evidence" not in r.flags


def _outage_day(station: str = "qd-a") -> list[tuple[Message, datetime]]:
    """An open day with the network down 09:00-12:00: no heartbeats then, everything else kept in the outbox and
    delivered when the network came back at 12:00; the rest delivered as it happened."""
    visits = [(time(8, 40 + i), f"e-{i}", "elder") for i in range(10)] + [(time(10, 30), "e-20", "elder")]
    day = StationDay(station, TUESDAY, door=FULL, visits=visits)
    back = datetime.combine(TUESDAY, OUTAGE[1], TZ)
    gone = datetime.combine(TUESDAY, OUTAGE[0], TZ)
    out = []
    for message in day.messages():
        ts = ts_of(message)
        if gone <= ts < back:
            if message[0].endswith("/heartbeat"):
                continue  # heartbeats never enter the outbox
            out.append((message, back + timedelta(seconds=30)))
        else:
            out.append((message, _prompt(ts)))
    return out


def _at(when: datetime) -> Callable[[datetime], datetime]:
    return lambda _ts: when


def test_an_outbox_replay_after_a_network_outage_still_counts() -> None:
    lines = [line for message, at in _outage_day() for line in received([message], _at(at))]
    r = _derive(lines)
    assert r.verdict is Verdict.OPEN and r.unknown_s == 0 and "late_evidence" not in r.flags
    assert "e-20" in r.visitors.elders  # seen at 10:30, delivered at 12:00
    assert _spot(r) is SpotResult.PASS


def test_without_receipt_times_nothing_is_set_aside() -> None:
    # `cloud derive` on lines without `received_at` judges everything as sent (no receipt time, no lateness).
    r = _derive(as_lines(shut_day("qd-a", TUESDAY) + door_open_all_day("qd-a", TUESDAY)))
    assert r.verdict is Verdict.OPEN and "late_evidence" not in r.flags


def test_late_delivery_must_outlast_liveness() -> None:
    with pytest.raises(ValueError, match="late_delivery_minutes must be above liveness_minutes"):
        RulesConfig(late_delivery_minutes=10, liveness_minutes=10)


class _Clock:
    """The ingester's clock, set by the test: what the cloud takes as the receipt time."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


def _start(broker: Mosquitto, engine: Engine, clock: _Clock, client_id: str, group: str) -> Ingester:
    cache = StationCache(engine, miss_interval=0.0)
    cache.refresh()
    ingester = Ingester(IngestConfig(port=broker.port, client_id=client_id, batch_ms=20, group=group),
                        engine, cache, IngestMetrics(), None, clock=clock)
    ingester.start(connect_timeout=10)
    return ingester


@contextmanager
def _ingester(broker: Mosquitto, engine: Engine, clock: _Clock) -> Iterator[Ingester]:
    name = uuid.uuid4().hex[:8]
    ingester = _start(broker, engine, clock, f"late-{name}", f"g{name}")
    try:
        yield ingester
    finally:
        ingester.stop()


def _check_and_judge(engine: Engine, start: time) -> None:
    """A bureau spot check of every station on Tuesday from `start` for an hour, then `eldercare cloud worker --once`
    judges the store."""
    with make_session_factory(engine)() as session:
        create_plan(session, day=TUESDAY, start=start, end=time(start.hour + 1), scope="all", created_by="bureau",
                    now=datetime.now(UTC))
        session.commit()
    worker_once(engine)


def _stored(engine: Engine, station: str | None = None) -> int:
    query = select(func.count()).select_from(Event)
    with engine.connect() as c:
        return int(c.execute(query if station is None else query.where(Event.station_id == station)).scalar_one())


def _heartbeat(station: str, at: datetime) -> Message:
    beat = Heartbeat(v=1, station=station, ts=at, version="1.0", uptime_s=1.0, outbox=0)
    return str(agent_topic(station, "heartbeat")), encode(beat)


@pytest.mark.timeout(300)
def test_filling_in_a_judged_day_through_the_cloud(mosquitto: Mosquitto, tmp_path: Path) -> None:
    engine = registered_store(f"sqlite:///{tmp_path / 'store.db'}", ["qd-shut", "qd-outage"])
    clock = _Clock()
    # What reached the cloud when: qd-shut's shut Tuesday live, qd-outage's open Tuesday with its outage replay,
    # then at night qd-shut's door "open all day" and a whole open day's counts and faces.
    arrivals = [(m, _prompt(ts_of(m))) for m in shut_day("qd-shut", TUESDAY)] + _outage_day("qd-outage")
    arrivals += [(m, NIGHT) for m in door_open_all_day("qd-shut", TUESDAY) + open_day("qd-shut", TUESDAY)
                 if not m[0].endswith("/heartbeat")]
    by_time: dict[datetime, list[Message]] = {}
    for message, at in arrivals:
        by_time.setdefault(_round(at), []).append(message)
    with _ingester(mosquitto, engine, clock):
        for at in sorted(by_time):
            clock.now = at.astimezone(UTC)
            publish(mosquitto, by_time[at])
            expected = _distinct_before(arrivals, at)
            poll(lambda: _stored(engine) >= expected, timeout=60,  # noqa: B023 (called before the loop moves on)
                 what=f"the messages delivered at {at:%H:%M} stored")
    _check_and_judge(engine, time(9))

    with make_session_factory(engine)() as session:
        days = {r.station_id: r.record for r in session.scalars(select(DayRow).where(DayRow.local_date == TUESDAY))}
        spots = {r.station_id: r.result for r in session.scalars(select(SpotCheckResult))}
        alerts = {(a.station_id, a.cause_key.split(":")[1]): a.level for a in session.scalars(select(Alert))
                  if a.kind == "sensor_anomaly"}
    shut, outage = days["qd-shut"], days["qd-outage"]
    assert (shut["verdict"], shut["compliance"], shut["elders"], shut["entries"]) == ("closed", 0.0, 0, 0)
    assert spots["qd-shut"] == "fail"
    assert "late_evidence" in shut["flags"] and alerts.get(("qd-shut", "late-evidence")) == "town"
    assert outage["verdict"] == "open" and spots["qd-outage"] == "pass"
    assert "late_evidence" not in outage["flags"] and "e-20" in outage["elder_ids"]


def _round(at: datetime) -> datetime:
    """Messages are delivered in ten-minute rounds, each at its round's end (a live message is at most ten minutes
    old when the ingester's clock reads it); the night's all at once."""
    return at if at == NIGHT else at.replace(second=0, microsecond=0) + timedelta(minutes=10 - at.minute % 10)


def _distinct_before(arrivals: list[tuple[Message, datetime]], until: datetime) -> int:
    """Distinct events among the messages delivered up to `until` (a heartbeat's id is its time)."""
    keys = set()
    for (topic, payload), at in arrivals:
        if _round(at) <= until:
            data = json.loads(payload)
            keys.add(data.get("id") or f"{topic}/{data['ts']}")
    return len(keys)


def test_a_judged_month_is_not_topped_up_with_elders_sent_after_it() -> None:
    # October judged: its days heard live. On 5 November the station publishes, for a shut Tuesday in October, ten
    # more enrolled elders walking in (each with a crossing), to reach the month's threshold after the fact.
    days = [TUESDAY - timedelta(days=1), TUESDAY, TUESDAY + timedelta(days=1)]
    live = [*open_day("qd-a", days[0]), *shut_day("qd-a", days[1]), *open_day("qd-a", days[2])]
    topped = [m for i in range(10) for m in photographs("qd-a", TUESDAY, time(9, 5 * i), [f"e-new-{i}"], crossings=1)]
    november = datetime(2026, 11, 5, 20, tzinfo=TZ)
    events = read_events(received(live, _prompt) + received(topped, _at(november)), {}, ZoneInfo("Asia/Shanghai"))
    results = derive_days("qd-a", SCHEDULE, {}, events.obs["qd-a"], days[0], days[-1], CONFIG)
    records = [day_record(r, "Asia/Shanghai") for r in results]
    month = month_record("qd-a", "2026-10", "2A", records, working_days_in_month=22, as_of=days[-1],
                         month_end=date(2026, 10, 31), config=CONFIG)
    assert (records[1].verdict, records[1].elders) == ("closed", 0) and "late_evidence" in records[1].flags
    assert month.elders == len(ELDERS) and month.compliance is not None and month.compliance < 0.7


def test_a_clock_set_a_day_back_cannot_move_a_good_day_onto_a_shut_one() -> None:
    # Monday shut, heard live. On Tuesday the station opens, with the Pi's clock set a day back so that Tuesday's
    # door, counts and faces land on Monday (received on Tuesday, a day after their time).
    monday = TUESDAY - timedelta(days=1)
    live_monday = received(shut_day("qd-a", monday), _prompt)
    moved = [(t, p) for t, p in open_day("qd-a", monday) if not t.endswith("/heartbeat")]
    lines = live_monday + received(moved, lambda ts: ts + timedelta(days=1, seconds=2))
    r = _derive(lines, monday)
    assert (r.verdict, r.compliance, r.visitors.entries) == (Verdict.CLOSED, 0.0, 0)
    assert "late_evidence" in r.flags


def _via(messages: list[Message], when: Callable[[Message], datetime], via: Callable[[int], str]) -> list[str]:
    """`cloud derive` lines with each message's receipt time and the ingester that received it."""
    return [json.dumps({"topic": topic, "payload": json.loads(payload), "received_at": when((topic, payload))
                        .isoformat(), "received_by": via(i)}) for i, (topic, payload) in enumerate(messages)]


def _one_ingester_stopped(i: int, message: Message) -> datetime:
    """Two ingesters share the stream (every other message each); `ingest-b` is stopped 09:00-12:00 and the broker
    queues its share, delivered when it starts again at 12:00. Everything else is received as it happens."""
    ts = ts_of(message)
    gone, back = (datetime.combine(TUESDAY, t, TZ) for t in OUTAGE)
    return back + timedelta(seconds=30) if i % 2 and gone <= ts < back else _prompt(ts)


def test_an_ingester_stopped_for_hours_costs_the_station_nothing() -> None:
    # The station was heard live all morning through ingest-a; ingest-b's share of 09:00-12:00 is the cloud's delay.
    day = open_day("qd-a", TUESDAY)
    arrival = {m: _one_ingester_stopped(i, m) for i, m in enumerate(day)}
    split = _derive(_via(day, arrival.__getitem__, lambda i: f"ingest-{'ab'[i % 2]}"))
    heard = _derive(received(day, _prompt))
    assert "late_evidence" not in split.flags
    assert (split.verdict, split.compliance, split.visitors.elders, split.visitors.entries) == (
        heard.verdict, heard.compliance, heard.visitors.elders, heard.visitors.entries)
    # The same receipt times through one ingester: what it heard live from 09:00 to 12:00 leaves no room for a delay
    # of the cloud's, so the late half is the station's and is set aside.
    one = _derive(_via(day, arrival.__getitem__, lambda _i: "ingest-a"))
    assert "late_evidence" in one.flags and one.visitors.entries < heard.visitors.entries


def test_a_filled_in_day_split_across_two_ingesters_is_still_set_aside() -> None:
    # Both ingesters heard the shut Tuesday live; what is published at night lands on both.
    live = shut_day("qd-a", TUESDAY)
    filler = [m for m in door_open_all_day("qd-a", TUESDAY) + open_day("qd-a", TUESDAY)
              if not m[0].endswith("/heartbeat")]
    lines = (_via(live, lambda m: _prompt(ts_of(m)), lambda i: f"ingest-{'ab'[i % 2]}")
             + _via(filler, lambda _m: NIGHT, lambda i: f"ingest-{'ab'[i % 2]}"))
    r = _derive(lines)
    assert (r.verdict, r.compliance, _spot(r)) == (Verdict.CLOSED, 0.0, SpotResult.FAIL)
    assert "late_evidence" in r.flags and r.visitors.entries == 0


def test_a_bad_ingester_name_is_a_problem_with_its_line() -> None:
    line = json.dumps({**json.loads(received(shut_day("qd-a", TUESDAY)[:1], _prompt)[0]), "received_by": 7})
    events = read_events([line], {}, ZoneInfo("Asia/Shanghai"))
    assert events.problems == ["line 1: not a protocol event line: 'received_by' must be an ingester's name of 1 to "
                               "256 characters"]


@pytest.mark.timeout(300)
def test_an_ingester_stopped_for_hours_through_the_cloud(mosquitto: Mosquitto, tmp_path: Path) -> None:
    """Two real ingesters on the shared subscription; `b` is stopped from 09:00 to 12:00 while the station is open, and
    Mosquitto queues its share of the station's messages for it. The day is judged as heard: open, the spot check
    passed, nothing set aside."""
    engine = registered_store(f"sqlite:///{tmp_path / 'store.db'}", ["qd-split", "qd-marker"])
    clock = _Clock()
    group = f"g{uuid.uuid4().hex[:8]}"
    day = open_day("qd-split", TUESDAY)
    rounds: dict[datetime, list[Message]] = {}
    for message in day:
        rounds.setdefault(_round(_prompt(ts_of(message))), []).append(message)
    gone, back = (datetime.combine(TUESDAY, t, TZ) for t in OUTAGE)
    a = _start(mosquitto, engine, clock, "ingest-a", group)
    b: Ingester | None = _start(mosquitto, engine, clock, "ingest-b", group)
    try:
        for at in sorted(rounds):
            clock.now = at.astimezone(UTC)
            if gone < at <= back and b is not None:
                b.stop()  # its session stays: the broker queues its share
                b = None
            elif at > back and b is None:
                b = _start(mosquitto, engine, clock, "ingest-b", group)  # receives its queue at once, late
            publish(mosquitto, rounds[at])
            if b is not None:  # both running: everything published so far is stored (a round's clock is its own)
                expected = _distinct_before([(m, _prompt(ts_of(m))) for m in day], at)
                poll(lambda: _stored(engine, "qd-split") >= expected, timeout=60,  # noqa: B023 (see below)
                     what=f"the messages delivered at {at:%H:%M} stored")
            else:
                # `a` alone receives: two markers after the round, one of which reaches it behind its share of the
                # round (a subscriber gets its messages in order); stored, the round is in, before the clock moves on.
                markers = _stored(engine, "qd-marker")
                publish(mosquitto, [_heartbeat("qd-marker", at), _heartbeat("qd-marker", at + timedelta(seconds=1))])
                poll(lambda: _stored(engine, "qd-marker") > markers, timeout=60,  # noqa: B023 (called in the loop)
                     what=f"ingest-a's share of the messages delivered at {at:%H:%M} stored")
    finally:
        a.stop()
        if b is not None:
            b.stop()
    with engine.connect() as c:
        by = {who: n for who, n in c.execute(select(Event.received_by, func.count())
                                             .where(Event.station_id == "qd-split").group_by(Event.received_by))}
        late = c.execute(select(func.count()).select_from(Event).where(
            Event.station_id == "qd-split", Event.received_by == "ingest-b", Event.ts >= gone.astimezone(UTC),
            Event.ts < back.astimezone(UTC),
            Event.received_at > back.astimezone(UTC))).scalar_one()
    assert set(by) == {"ingest-a", "ingest-b"} and sum(by.values()) == len(day)
    assert late > 10  # b's share of the morning arrived after 12:00
    _check_and_judge(engine, time(10))
    heard = _derive(received(open_day("qd-a", TUESDAY), _prompt))  # the same day, every message heard live
    with make_session_factory(engine)() as session:
        record = session.scalars(select(DayRow).where(DayRow.local_date == TUESDAY,
                                                      DayRow.station_id == "qd-split")).one().record
        spot = session.scalars(select(SpotCheckResult).where(SpotCheckResult.station_id == "qd-split")).one().result
    assert "late_evidence" not in record["flags"]
    assert (record["verdict"], record["entries"], record["elders"]) == (
        "open", heard.visitors.entries, len(heard.visitors.elders))
    assert spot == "pass"
