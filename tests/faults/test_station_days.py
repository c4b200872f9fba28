"""Whole-system station days with faults, through Mosquitto -> `eldercare cloud ingest` -> `eldercare cloud worker`.

- A clock that jumped back to 1970 after a power loss: its events are stored flagged (clock_fault) and counted on no
  day, neither 1970's nor the real one.
- A station's devices partly failing (door magnet stuck at "closed", people counter stuck at zero) while the other
  devices show people coming in: sensor alerts, not a false "closed" verdict.
"""

import os
import subprocess
import sys
import uuid
from datetime import UTC, date, datetime, time
from pathlib import Path

from sqlalchemy import Engine, select

from cloud.store.db import make_session_factory
from cloud.store.derived import DayResult, MonthResult
from cloud.store.models import Alert, Event
from station_protocol import Door, Face, Flow, encode
from tests.faults.conftest import ROOT, ingester, registered_store
from tests.ingest.conftest import publish
from tests.localservices import Mosquitto
from tests.rules.scenario import TZ, StationDay, visits_every
from tests.wait import poll

DAY = date(2026, 10, 12)  # a Monday, a working day
ELDERS = [f"e-{i:03d}" for i in range(1, 9)]
OPEN = [(time(8, 25), time(11, 35)), (time(13, 25), time(17, 5))]
STATIONS = ["qd-ok", "qd-clock", "qd-door", "qd-counter"]


def _visits() -> list[tuple[time, str, str]]:
    return (visits_every(time(8, 40), time(11, 20), 10, ELDERS, day=DAY)
            + visits_every(time(13, 40), time(16, 50), 10, ELDERS, day=DAY))


def _common(station: str, device: str, seq: int, ts: datetime) -> dict[str, object]:
    return {"v": 1, "id": uuid.uuid4(), "station": station, "device": device, "seq": seq, "ts": ts}


def _clock_1970() -> list[tuple[str, bytes]]:
    """After a power cut the agent's clock says 1970 (no RTC, no NTP yet) and it publishes anyway (clock check off,
    or a vendor's device): a visitor nobody else saw and a count of 40 people."""
    zero = datetime(1970, 1, 1, 0, 5, tzinfo=UTC)
    face = Face.model_validate({**_common("qd-clock", "cam-1", 10_000, zero), "person": "e-1970", "role": "elder",
                                "distance": 0.3})
    flow = Flow.model_validate({**_common("qd-clock", "counter-1", 10_000, zero), "period_s": 60, "in": 40, "out": 0})
    return [("eldercare/v1/qd-clock/cam-1/face", encode(face)), ("eldercare/v1/qd-clock/counter-1/flow", encode(flow))]


def _messages() -> list[tuple[str, bytes]]:
    ok = StationDay("qd-ok", DAY, door=OPEN, visits=_visits()).messages()
    clock = StationDay("qd-clock", DAY, door=OPEN, visits=_visits()).messages() + _clock_1970()
    # Door magnet stuck: one "closed" before opening time, never "open", while counter and camera see everyone.
    door = StationDay("qd-door", DAY, visits=_visits()).messages()
    stuck = Door.model_validate({**_common("qd-door", "door-1", 0, datetime.combine(DAY, time(7, 0), TZ)),
                                 "state": "closed"})
    door.append(("eldercare/v1/qd-door/door-1/door", encode(stuck)))
    # Counter stuck at zero: it reports every minute the door is open, always 0 in, while faces arrive all day.
    counter = StationDay("qd-counter", DAY, door=OPEN, visits=_visits())
    zeroed = []
    for topic, payload in counter.messages():
        if topic.endswith("/flow"):
            payload = payload.replace(b'"in":1,', b'"in":0,').replace(b'"in":2,', b'"in":0,')
        zeroed.append((topic, payload))
    return ok + clock + door + zeroed


def _worker_once(url: str) -> None:
    env = {**os.environ, "ELDERCARE_DATABASE_URL": url, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "eldercare", "cloud", "worker", "--once"], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]


def _days(engine: Engine) -> dict[tuple[str, date], dict[str, object]]:
    with make_session_factory(engine)() as session:
        return {(r.station_id, r.local_date): r.record for r in session.scalars(select(DayResult))}


def test_clock_at_1970_and_failing_devices_through_the_cloud(mosquitto: Mosquitto, tmp_path: Path) -> None:
    engine = registered_store(f"sqlite:///{tmp_path / 'store.db'}", STATIONS)
    messages = _messages()
    with ingester(mosquitto.port, str(engine.url), "ing-days", tmp_path / "ing.log"):
        publish(mosquitto, messages)
        poll(lambda: _count(engine) >= len(messages), timeout=60, what="every message stored")
    _worker_once(str(engine.url))
    days = _days(engine)

    # The clock fault really reached the store, stamped 1970, and flagged.
    with engine.connect() as c:
        faulty = c.execute(select(Event.ts, Event.clock_fault).where(Event.station_id == "qd-clock",
                                                                     Event.seq == 10_000)).all()
    assert len(faulty) == 2 and all(f and "before 2020" in f and ts.year == 1970 for ts, f in faulty)
    # ... and counted on no day: no 1970 result, the real day equal to the healthy twin station's.
    assert not [k for k in days if k[1].year < 2020]
    with make_session_factory(engine)() as session:
        months = {(r.station_id, r.month) for r in session.scalars(select(MonthResult))}
    assert not [m for m in months if m[1] < "2020"]
    clock_day, ok_day = days[("qd-clock", DAY)], days[("qd-ok", DAY)]
    assert "e-1970" not in clock_day["elder_ids"]  # type: ignore[operator]
    for field in ("verdict", "elders", "person_times", "entries"):
        assert clock_day[field] == ok_day[field], field
    assert ok_day["verdict"] == "open" and ok_day["elders"] == len(ELDERS)

    # Devices partly failing: the evidence really is contradictory (door never open; counter all zeros)...
    door_day, counter_day = days[("qd-door", DAY)], days[("qd-counter", DAY)]
    assert door_day["evidence"]["door_open"] == []  # type: ignore[index]
    assert door_day["entries"] > 10 and door_day["face_visits"] > 10  # type: ignore[operator]
    assert counter_day["entries"] == 0 and counter_day["face_visits"] > 10  # type: ignore[operator]
    # ... and the platform says "a sensor is wrong", not "the station was closed".
    for day in (door_day, counter_day):
        assert day["verdict"] != "closed", day
    with make_session_factory(engine)() as session:
        anomalies = {(a.station_id, a.cause_key.split(":")[1]) for a in session.scalars(select(Alert))
                     if a.kind == "sensor_anomaly"}
    assert ("qd-door", "door-closed-entries") in anomalies
    assert ("qd-counter", "counter-zero") in anomalies
    # With no crossing counted, no elder's face is corroborated: none served that day, and the town is told.
    assert (counter_day["elders"], counter_day["elders_uncorroborated"]) == (0, len(ELDERS))
    assert ("qd-counter", "faces-uncorroborated") in anomalies
    assert not [a for a in anomalies if a[0] in ("qd-ok", "qd-clock")]


def _count(engine: Engine) -> int:
    with engine.connect() as c:
        return len(c.execute(select(Event.id)).all())
