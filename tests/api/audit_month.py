"""A realistic October 2025 of two stations of 汇龙镇 in a store, as ingest stored it and the worker derived it.

Events are protocol messages an agent publishes (tests/rules/scenario.py), stored through ingest's own conversion
and batch writer, each with the moment the cloud received it and the ingester that did. The month holds what makes
an audit awkward:

- the National Day holiday (1-8 October) and its make-up Saturday (11 October), on which hl-01 opens;
- hl-02's door opened at 16:00 on 30 September and left open until 09:00 on 1 October (before the audited month);
- hl-01's door opened at 13:25 on 13 October and left open over midnight until 11:35 on the 14th;
- an elder seen at hl-01 at 23:59:35 on 31 October, counted in the minute that ends at midnight (a count of
  1 November corroborates a face of the audited month);
- spot checks of the bureau on hl-02: failed on the 15th and 16th; on the 17th its agent was off (unverifiable),
  the town's inspector found it shut and the bureau decided `fail`; failed on the 20th but the appeal was upheld;
  a town's own check failed on the 21st (not the veto's); the 22nd was an approved closure (excused);
- evidence hl-02 withheld on the 23rd (a shut day, heard live) and published two days later: set aside;
- hl-01's counts and faces of the 24th published again under fresh ids, and one message sent twice;
- a door event of hl-01 stamped a day ahead of its receipt (a clock fault);
- on the 27th, 10:20-10:30, the devices' ingester came back to a broker that no longer had its session: its share
  of both stations' messages then is lost, the loss recorded; a bureau check of hl-01 10:00-11:00 spans it;
- on the 29th hl-01's Pi clock ran 25 minutes behind all day (every message received 25 minutes after its stamp),
  its answers to the cloud's time checks stamped before they were asked; hl-02 answered them with a right clock; a
  bureau check of hl-01 09:00-10:00 that day;
- on the 30th hl-02's agent, heard live all day, answered none of the cloud's time checks: the day counts nowhere,
  and a bureau check of hl-02 09:00-10:00 that day is unverifiable. (The sender recorded the checks of the 29th and
  the 30th only: the other days predate the record.)
- on the 30th hl-01 cut its network from 06:50 to 12:05, put its Pi's clock back 30 minutes at 07:00 and right again
  at 12:00, and opened 30 minutes late: its morning arrived at 12:05 as a backlog that opens on time, but the
  heartbeats its agent kept meanwhile show the clock stepped within one boot; a bureau check of hl-01 09:00-10:00.
"""

import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, select

from cloud.convert import Accepted, StationInfo, convert
from cloud.derive.plans import create_plan
from cloud.derive.runner import Partition, run_pass
from cloud.ingest.losses import LOST_WHILE_AWAY, Loss, record
from cloud.ingest.writer import write_batch
from cloud.rules.config import RulesConfig
from cloud.store.closures import excuse
from cloud.store.db import make_session_factory
from cloud.store.models import Station
from cloud.store.time_checks import record_asked
from station_protocol import Door, Heartbeat, encode
from station_protocol.topics import agent_topic, device_topic
from tests.rules.scenario import StationDay, visits_every

ZONE = ZoneInfo("Asia/Shanghai")
FIRST, LAST = date(2025, 10, 1), date(2025, 10, 31)
NOW = datetime(2025, 11, 3, 10, 0, tzinfo=ZONE)  # the worker's and the API's clock: the Monday after
ELDERS = ["e-001", "e-002", "e-003", "e-004", "anon-5c1d"]
OPEN = [(time(8, 25), time(11, 35)), (time(13, 25), time(17, 5))]
HOLIDAYS = {date(2025, 10, d) for d in range(1, 9)}
MAKEUP = date(2025, 10, 11)
LIVE = "eldercare-ingest-a"  # heartbeats and status
DEVICES = "eldercare-ingest-b"  # the devices' events (two ingesters share the subscription)
Message = tuple[str, bytes]
# Local 10:20-10:30 on 27 October: the devices' ingester's share of the messages then never reached the store.
LOST = (datetime(2025, 10, 27, 10, 20, tzinfo=ZONE), datetime(2025, 10, 27, 10, 30, tzinfo=ZONE))


@dataclass
class Plans:
    """The ids of the month's spot-check plans."""

    shared: int  # 15th, bureau, hl-01 and hl-02
    failed: int  # 16th, bureau, hl-02
    disputed: int  # 17th, bureau, hl-02: unverifiable, the bureau decides
    appealed: int  # 20th, bureau, hl-02: failed, appeal upheld
    town: int  # 21st, the town's own, hl-02
    closure: int  # 22nd, bureau, hl-02: an approved closure
    lost: int  # 27th, bureau, hl-01: messages lost by the platform during it
    behind: int  # 29th, bureau, hl-01: its clock found behind that day
    unanswered: int  # 30th, bureau, hl-02: no time check answered that day
    stepped: int  # 30th, bureau, hl-01: its clock set back while offline for the opening


def _visits(day: date) -> list[tuple[time, str, str]]:
    return (visits_every(time(8, 40), time(11, 20), 20, ELDERS, day=day)
            + visits_every(time(13, 40), time(16, 50), 20, ELDERS, day=day) + [(time(8, 28), "staff-1", "staff")])


def _working(day: date) -> bool:
    return day == MAKEUP or (day.isoweekday() <= 5 and day not in HOLIDAYS)


def _door(station: str, at: datetime, state: str, seq: int) -> Message:
    door = Door.model_validate({"v": 1, "id": uuid.uuid4(), "station": station, "device": "door-1", "seq": seq,
                                "ts": at, "state": state})
    return str(device_topic(station, "door-1", "door")), encode(door)


def _at(day: date, clock: time) -> datetime:
    return datetime.combine(day, clock, ZONE)


BEHIND_DAY, BEHIND = date(2025, 10, 29), timedelta(minutes=25)
UNANSWERED_DAY = date(2025, 10, 30)


def _asked(day: date) -> list[datetime]:
    """When the cloud asked for the time on `day`: every quarter of an hour from 07:00 to 19:00."""
    return [_at(day, time(7)) + timedelta(minutes=15 * i) for i in range(49)]


def _answers(station: str, day: date, behind: timedelta) -> list[Message]:
    """The agent's answers to the day's time checks, each stamped by its clock a second after it was asked."""
    out = []
    for i, asked in enumerate(_asked(day)):
        beat = Heartbeat(v=1, station=station, ts=asked + timedelta(seconds=1) - behind, version="1.0", uptime_s=1.0,
                         outbox=0, check=f"{station}-{i}", asked=asked)
        out.append((str(agent_topic(station, "heartbeat")), encode(beat)))
    return out


STEPPED_DAY, STEPPED = date(2025, 10, 30), timedelta(minutes=30, seconds=7)
BOOT = UUID("0f5c2a31-6a4e-4b1e-9d7c-1a2b3c4d5e6f")


def stepped_day() -> list[tuple[Message, datetime]]:
    """hl-01's 30th with each message's receipt: open 30 minutes late (08:55), its clock put back 30 minutes (and
    7 s: a heartbeat is identified by its time) from 07:00 to 12:00 while its network was cut from 06:50 to 12:05;
    its agent's heartbeats every minute, each with its boot, those of the outage kept and sent with the backlog."""
    day = STEPPED_DAY
    sd = StationDay("hl-01", day, door=[(time(8, 55), time(11, 55)), (time(13, 25), time(17, 5))],
                    visits=[(t, who, role) for t, who, role in _visits(day) if t >= time(9)])
    booted = _at(day, time(5, 58))
    real = [m for m in sd.messages() if not m[0].endswith("/heartbeat")]
    beat = _at(day, time(0, 0, 13))
    while beat.date() == day:
        hb = Heartbeat(v=1, station="hl-01", ts=beat, version="1.0", uptime_s=1.0, outbox=0, boot=BOOT,
                       boot_s=(beat - booted).total_seconds() + 86400)
        real.append((str(agent_topic("hl-01", "heartbeat")), encode(hb)))
        beat += timedelta(minutes=1)
    out = []
    for topic, payload in sorted(real, key=lambda m: _ts(m[1])):
        made = _ts(payload)
        back = _at(day, time(7)) <= made < _at(day, time(12))
        received = _at(day, time(12, 5)) if _at(day, time(6, 50)) <= made < _at(day, time(12, 5)) else made
        out.append(((topic, _restamp(payload, -STEPPED) if back else payload), received + timedelta(seconds=3)))
    return out


def hl01() -> tuple[list[Message], list[Message], list[tuple[Message, datetime]], list[tuple[Message, datetime]]]:
    """hl-01: (messages received live, those republished under fresh ids, clock faults with their receipt, the day
    of a clock behind with each message's receipt)."""
    live: list[Message] = []
    behind: list[tuple[Message, datetime]] = []
    day = date(2025, 9, 29)
    while day <= date(2025, 11, 1):
        if day == STEPPED_DAY:
            pass  # stepped_day()
        elif day == BEHIND_DAY:  # every stamp 25 minutes early, received at the real time
            sd = StationDay("hl-01", day, door=OPEN, visits=_visits(day))
            real = [*sd.messages(), *_answers("hl-01", day, timedelta(0))]
            behind = [(m, _ts(m[1]) + timedelta(seconds=3)) for m in real]
            behind = [((topic, _restamp(payload, -BEHIND)), at) for (topic, payload), at in behind]
        elif day == date(2025, 10, 13):
            sd = StationDay("hl-01", day, door=[(time(8, 25), time(11, 35)), (time(13, 25), time(23, 50))],
                            visits=_visits(day))
            live += [m for m in sd.messages() if not (b'"state":"closed"' in m[1] and b"T23:50" in m[1])]
        elif day == date(2025, 10, 14):
            sd = StationDay("hl-01", day, door=[(time(13, 25), time(17, 5))], visits=_visits(day))
            live += [*sd.messages(), _door("hl-01", _at(day, time(11, 35)), "closed", 900)]
        elif day == date(2025, 10, 31):
            sd = StationDay("hl-01", day, door=OPEN, visits=[*_visits(day), (time(23, 59, 30), "e-004", "elder")])
            live += sd.messages()
        elif _working(day):
            live += StationDay("hl-01", day, door=OPEN, visits=_visits(day)).messages()
        else:
            live += StationDay("hl-01", day).messages()
        day += timedelta(days=1)
    # The 24th's counts and faces again under fresh ids (a replay tool), and one message sent twice.
    replayed = []
    for topic, payload in live:
        body = json.loads(payload)
        if body["ts"].startswith("2025-10-24T") and topic.endswith(("/flow", "/face")):
            replayed.append((topic, json.dumps({**body, "id": str(uuid.uuid4())}).encode()))
    replayed.append(next(m for m in live if m[0].endswith("/flow") and b"2025-10-24T" in m[1]))
    fault = (_door("hl-01", _at(date(2025, 10, 28), time(10)), "open", 901), _at(date(2025, 10, 27), time(10)))
    return live, replayed, [fault], behind


def _restamp(payload: bytes, by: timedelta) -> bytes:
    """The message as a clock `by` off would have stamped it (an answer's `asked` is the cloud's: kept)."""
    body = json.loads(payload)
    body["ts"] = (datetime.fromisoformat(body["ts"]) + by).isoformat()
    return json.dumps(body).encode()


def hl02() -> tuple[list[Message], list[Message]]:
    """hl-02: (messages received live, the 23rd's door and counts published two days late)."""
    shut = {date(2025, 10, d) for d in (15, 16, 20, 21, 22)}
    live: list[Message] = []
    late: list[Message] = []
    day = date(2025, 9, 29)
    while day <= date(2025, 11, 1):
        if day == date(2025, 9, 30):
            sd = StationDay("hl-02", day, door=[(time(8, 25), time(11, 35)), (time(13, 25), time(15, 0))],
                            visits=_visits(day))
            live += [*sd.messages(), _door("hl-02", _at(day, time(16)), "open", 900)]
        elif day == date(2025, 10, 1):
            live += [*StationDay("hl-02", day).messages(), _door("hl-02", _at(day, time(9)), "closed", 901)]
        elif day == date(2025, 10, 17):  # the agent off all morning, open in the afternoon
            sd = StationDay("hl-02", day, door=[(time(13, 25), time(17, 5))], visits=_visits(day)[8:],
                            offline=[(time(7, 0), time(12, 30))])
            live += sd.messages()
        elif day == date(2025, 10, 23):
            sd = StationDay("hl-02", day, door=OPEN, visits=_visits(day))
            for message in sd.messages():
                (live if message[0].endswith("/heartbeat") else late).append(message)
        elif _working(day) and day not in shut and day != MAKEUP:
            live += StationDay("hl-02", day, door=OPEN, visits=_visits(day)).messages()
            if day == BEHIND_DAY:
                live += _answers("hl-02", day, timedelta(0))
        else:
            live += StationDay("hl-02", day).messages()
        day += timedelta(days=1)
    return live, late


def _lookup(station: str) -> StationInfo | None:
    grades = {"hl-01": "3A", "hl-02": "2A"}
    return StationInfo(station, "汇龙镇", grades[station], ZONE) if station in grades else None


def _ts(payload: bytes) -> datetime:
    return datetime.fromisoformat(json.loads(payload)["ts"])


def ingest(engine: Engine, messages: Iterable[tuple[Message, datetime]], ingester: str) -> int:
    """Store messages through ingest's conversion and batch writer, each received at its own moment, by
    `ingester`, in order of receipt; returns how many were stored."""
    ordered = sorted(messages, key=lambda m: m[1])
    stored = 0
    for i in range(0, len(ordered), 1000):
        batch = []
        for (topic, payload), received in ordered[i:i + 1000]:
            outcome = convert(topic, payload, received, _lookup)
            assert isinstance(outcome, Accepted), outcome
            batch.append((outcome, topic, payload))
        stored += write_batch(engine, batch, [], ordered[i:i + 1000][-1][1], received_by=ingester).stored
    return stored


def _prompt(messages: Iterable[Message]) -> list[tuple[Message, datetime]]:
    return [(m, _ts(m[1]) + timedelta(seconds=3)) for m in messages]


def build(engine: Engine) -> Plans:
    """The month in the store (registered stations of tests/api/conftest.py), its plans and closure, derived by
    the worker at NOW."""
    a_live, a_replayed, a_faults, a_behind = hl01()
    b_live, b_late = hl02()
    agent = [m for m in [*a_live, *b_live] if m[0].endswith(("/heartbeat", "/status"))]
    devices = [m for m in [*a_live, *b_live] if not m[0].endswith(("/heartbeat", "/status"))
               and not LOST[0] <= _ts(m[1]) < LOST[1]]
    ingest(engine, _prompt(agent), LIVE)
    ingest(engine, _prompt(devices), DEVICES)
    replay_at = _at(date(2025, 10, 24), time(18))
    assert ingest(engine, [(m, replay_at) for m in a_replayed], DEVICES) == len(a_replayed) - 1  # one was stored
    ingest(engine, a_faults, DEVICES)
    ingest(engine, a_behind, DEVICES)
    ingest(engine, stepped_day(), DEVICES)
    ingest(engine, [(m, _at(date(2025, 10, 25), time(12))) for m in b_late], LIVE)
    sessions = make_session_factory(engine)
    with sessions() as session:
        def plan(day: int, start: int, stations: list[str], by: str = "admin", role: str = "bureau") -> int:
            made = create_plan(session, day=date(2025, 10, day), start=time(start), end=time(start + 1),
                               scope="stations", stations=stations, created_by=by, now=NOW, planner_role=role)
            session.flush()
            return made.id

        plans = Plans(shared=plan(15, 9, ["hl-01", "hl-02"]), failed=plan(16, 14, ["hl-02"]),
                      disputed=plan(17, 9, ["hl-02"]), appealed=plan(20, 9, ["hl-02"]),
                      town=plan(21, 9, ["hl-02"], by="town-hl", role="town"), closure=plan(22, 9, ["hl-02"]),
                      lost=plan(27, 10, ["hl-01"]), behind=plan(29, 9, ["hl-01"]),
                      unanswered=plan(30, 9, ["hl-02"]), stepped=plan(30, 9, ["hl-01"]))
        excuse(session, "hl-02", [date(2025, 10, 22)], "汛期停业 (approved by the town)", "town-hl", NOW)
        # The checks the sender sent (and the broker confirmed): both stations on the 29th, hl-02 on the 30th.
        for station in ("hl-01", "hl-02"):
            for i, asked in enumerate(_asked(BEHIND_DAY)):
                record_asked(session, station, f"{station}-{i}", asked.astimezone(UTC))
        for i, asked in enumerate(_asked(UNANSWERED_DAY)):
            record_asked(session, "hl-02", f"hl-02-30-{i}", asked.astimezone(UTC))
        session.commit()
    # What the ingester records when it finds its session gone (with every station's days in it marked dirty).
    assert record(engine, Loss(DEVICES, LOST[0].astimezone(UTC), LOST[1].astimezone(UTC), LOST_WHILE_AWAY),
                  LOST[1].astimezone(UTC))
    stats = run_pass(sessions, Partition(), RulesConfig(), NOW.astimezone(UTC))
    assert stats.errors == 0, stats.messages
    return plans


def registered(engine: Engine) -> list[str]:
    with make_session_factory(engine)() as session:
        return list(session.scalars(select(Station.id).order_by(Station.id)))


def day_fields(record: dict[str, Any], keys: Iterable[str]) -> dict[str, Any]:
    return {k: record.get(k) for k in keys}
