"""A worker's weeks over stations that go silent: messages delivered live as their moments pass, a pass of the worker
at each moment given (its clock injected), both through the real ingest path."""

import json
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Engine, select

from cloud.derive.catchup import CatchUp
from cloud.derive.runner import Partition, PassStats, run_pass
from cloud.registry.csv_rows import parse_station_csv
from cloud.registry.store import upsert_stations
from cloud.rules.config import RulesConfig
from cloud.store.db import make_session_factory
from cloud.store.derived import DayResult, MonthResult
from station_protocol import Status, encode
from station_protocol.topics import agent_topic
from tests.derive.conftest import feed_received
from tests.rules.scenario import STATION_CSV, TZ, StationDay

Message = tuple[str, bytes]
SESSIONS = ((time(8, 30), time(11, 30)), (time(13, 30), time(17, 0)))  # STATION_CSV's hours: 390 minutes a day


def at(day: date, clock: time) -> datetime:
    return datetime.combine(day, clock, TZ)


def stamped(message: Message) -> datetime:
    return datetime.fromisoformat(json.loads(message[1])["ts"])


def register(engine: Engine, when: datetime) -> None:
    """qd-a and qd-b of STATION_CSV (same hours), registered at `when`."""
    records, problems = parse_station_csv(STATION_CSV)
    assert not problems
    upsert_stations(engine, records, now=when)


def open_day(station: str, day: date) -> list[Message]:
    """Open all its hours, an elder in the morning, the agent connected all day."""
    return StationDay(station, day, door=[(time(8, 25), time(17, 5))], visits=[(time(9, 0), "e-001", "elder")],
                      flow_period_s=600).messages()


def good_morning(station: str, day: date, unplugged: time = time(11, 40)) -> list[Message]:
    """Open from 08:25 to 11:35, then the Pi unplugged at `unplugged`: nothing after it but the broker's last will."""
    messages = [m for m in StationDay(station, day, door=[(time(8, 25), time(11, 35))],
                                      visits=[(time(9, 0), "e-001", "elder")], flow_period_s=600).messages()
                if stamped(m) < at(day, unplugged)]
    will = Status(v=1, station=station, online=False, ts=at(day, unplugged))
    return [*messages, (str(agent_topic(station, "status")), encode(will))]


def closed_after_morning(station: str, day: date) -> list[Message]:
    """The same good morning, and then, still connected, the door shut for the rest of the day."""
    return StationDay(station, day, door=[(time(8, 25), time(11, 35))], visits=[(time(9, 0), "e-001", "elder")],
                      flow_period_s=600).messages()


def shut_day(station: str, day: date) -> list[Message]:
    """Connected all day, the door never opened: closed, and shown so."""
    return StationDay(station, day, flow_period_s=600).messages()


def live(engine: Engine, messages: Iterable[Message], passes: Sequence[datetime], config: RulesConfig,
         partition: Partition | None = None, catchup: CatchUp | None = None) -> list[PassStats]:
    """Deliver each message a second after its moment and run a pass of the worker at each of `passes` (with the
    worker's memory of the days final so far, `catchup`, kept from pass to pass as the worker keeps it)."""
    pending = sorted(messages, key=stamped)
    factory = make_session_factory(engine)
    out = []
    for when in sorted(passes):
        due = [m for m in pending if stamped(m) < when]
        pending = pending[len(due):]
        if due:
            feed_received(engine, [(topic, payload, stamped((topic, payload)) + timedelta(seconds=1))
                                   for topic, payload in due])
        stats = run_pass(factory, partition or Partition(), config, when.astimezone(UTC), catchup=catchup)
        assert stats.errors == 0, stats.messages
        out.append(stats)
    return out


def days_rows(engine: Engine, station: str) -> dict[date, DayResult]:
    with make_session_factory(engine)() as session:
        return {r.local_date: r for r in session.scalars(select(DayResult).where(DayResult.station_id == station))}


def month_record(engine: Engine, station: str, month: str) -> dict[str, object]:
    with make_session_factory(engine)() as session:
        row = session.get(MonthResult, (station, month))
        assert row is not None, f"no month {month} for {station}"
        return row.record


def daily(first: date, last: date, clocks: Sequence[time] = (time(0, 5), time(10, 0))) -> list[datetime]:
    """A pass at each of `clocks` (Shanghai) on every day from `first` to `last`."""
    return [at(first + timedelta(days=n), c) for n in range((last - first).days + 1) for c in clocks]

