"""A small fleet's real derived state: protocol events stored as ingest stores them, then the worker's recompute.

Stations (see conftest.STATIONS): hl-01 and nh-02 open normally, hl-02 online but closed, nh-01 silent (offline:
its days are unknown, and the worker's live check raises its offline alert).
A spot check of every station on 2026-10-09 09:00-10:00 fails hl-02; nh-01 presses its emergency button.
"""

import uuid
from collections.abc import Iterator, Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, select

from cloud.derive.plans import create_plan
from cloud.derive.recompute import recompute_station
from cloud.derive.runner import live_offline
from cloud.rules.config import RulesConfig
from cloud.store.db import make_session_factory
from cloud.store.models import Alert, Device, Event, Station

ZONE = ZoneInfo("Asia/Shanghai")
DAYS = [date(2026, 10, 8), date(2026, 10, 9), date(2026, 10, 12)]
TODAY = date(2026, 10, 12)
NOW = datetime(2026, 10, 12, 10, 0, tzinfo=ZONE)
OPEN = ("hl-01", "nh-02")
CLOSED = ("hl-02",)
ELDERS = ["e-001", "e-002", "e-003", "anon-7f3a"]


def _event(station: str, device: str, kind: str, at: datetime, seq: int, **fields: Any) -> Event:
    event_id = uuid.uuid4()
    payload = {"v": 1, "station": station, "ts": at.isoformat(), **fields}
    if kind not in ("heartbeat", "status"):
        payload |= {"id": str(event_id), "device": device, "seq": seq}
    return Event(id=event_id, ts=at.astimezone(UTC), station_id=station, device_id=device, kind=kind,
                 local_date=at.astimezone(ZONE).date(), seq=seq if kind not in ("heartbeat", "status") else None,
                 payload=payload)


def _day(station: str, day: date, *, open_: bool, until: datetime | None) -> Iterator[Event]:
    start = datetime.combine(day, time(8, 0), ZONE)
    end = min(datetime.combine(day, time(17, 30), ZONE), until or datetime.max.replace(tzinfo=ZONE))
    at, seq = start, 0
    while at <= end:
        seq += 1
        yield _event(station, "agent", "heartbeat", at, seq, version="1.0", uptime_s=seq * 300.0, outbox=0)
        at += timedelta(minutes=5)
    yield _event(station, "door-1", "door", start + timedelta(minutes=20), 1,
                 state="open" if open_ else "closed")
    if not open_:
        return
    at, seq = datetime.combine(day, time(8, 30), ZONE), 0
    while at <= end:
        seq += 1
        yield _event(station, "counter-1", "flow", at, seq, period_s=600, **{"in": 3, "out": 3})
        if seq <= len(ELDERS):
            yield _event(station, "camera-1", "face", at + timedelta(seconds=5), seq, person=ELDERS[seq - 1],
                         role="elder", distance=0.4)
        at += timedelta(minutes=10)
    if end.time() >= time(17, 5):
        yield _event(station, "door-1", "door", datetime.combine(day, time(17, 5), ZONE), 2, state="closed")


def register_kinds(engine: Engine, kinds: Mapping[str, str]) -> None:
    """Make these fleet stations care centres or neighbourhood points (no grade) before `build` derives them."""
    with make_session_factory(engine)() as session:
        for sid, kind in kinds.items():
            station = session.get(Station, sid)
            assert station is not None
            station.kind, station.grade = kind, None
        session.commit()


def build(engine: Engine) -> None:
    """Store the fleet's events, plan the spot check, recompute every station as the worker does, raise a call."""
    sessions = make_session_factory(engine)
    with sessions() as session:
        for station in (*OPEN, *CLOSED):
            for day in DAYS:
                session.add_all(_day(station, day, open_=station in OPEN, until=NOW if day == TODAY else None))
        create_plan(session, day=date(2026, 10, 9), start=time(9, 0), end=time(10, 0), scope="all",
                    created_by="admin", now=NOW)
        session.commit()
        config = RulesConfig()
        for registered in session.scalars(select(Station)):
            recompute_station(session, registered, DAYS, TODAY, config, NOW)
        # The devices table as ingest keeps it: hl-01's camera reports a fault.
        seen = datetime.combine(TODAY, time(9, 55), ZONE)
        session.add_all([
            Device(station_id="hl-01", device_id="agent", kind="agent", last_seen_at=seen, online=True),
            Device(station_id="hl-01", device_id="counter-1", kind="flow", last_seen_at=seen, last_health_ok=True),
            Device(station_id="hl-01", device_id="camera-1", kind="face", last_seen_at=seen, last_health_ok=False,
                   last_health={"ok": False, "error": "lens covered"}),
            Device(station_id="nh-01", device_id="agent", kind="agent", last_seen_at=seen - timedelta(days=5),
                   online=False),
        ])
        session.flush()
        # The worker's live check: nh-01, silent for days, is offline in today's working hours.
        live_offline(session, list(session.scalars(select(Station))), config, NOW)
        # The button pressed at the fleet's now (the API's injected clock), not at the machine's.
        session.add(Alert(kind="emergency_call", station_id="nh-01", cause_key="call:nh-01:c-1", status="raised",
                          level="station", raised_at=NOW.astimezone(UTC), call_id="c-1",
                          evidence={"device": "button-1"}))
        session.commit()
