"""A station gaming its verdict, through the real path: Mosquitto -> `eldercare cloud ingest` -> `eldercare cloud
worker`, judged as a bureau reads it (day records, spot checks, alerts, dead letters).

Every gaming station is measured against an honest twin (`qd-twin`: an open Monday, a shut Tuesday with its agent
running), and one unannounced spot check on the Tuesday 09:00-10:00 covers them all. Each attack must leave the
verdict no better than the twin's, and be visible where it is not simply refused.
"""

import json
import os
import subprocess
import sys
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from cloud.derive.plans import create_plan
from cloud.store.db import make_session_factory
from cloud.store.derived import DayResult, SpotCheckResult
from cloud.store.models import Alert, DeadLetter, Event
from tests.faults.conftest import ROOT, ingester, registered_store
from tests.gaming.attacks import (
    ELDERS,
    FULL,
    Message,
    as_station,
    button_games,
    fresh_ids,
    heartbeat_flood,
    open_day,
    photographs,
    shifted,
    shut_day,
    visits,
)
from tests.ingest.conftest import publish
from tests.localservices import Mosquitto
from tests.rules.scenario import StationDay
from tests.wait import poll

MONDAY, TUESDAY = date(2026, 10, 12), date(2026, 10, 13)
STATIONS = ["qd-twin", "qd-replay", "qd-dup", "qd-sparse", "qd-door", "qd-calls", "qd-beats", "qd-photo",
            "qd-future", "qd-screen", "qd-counter-only"]


def _live() -> dict[str, list[Message]]:
    """What each station sent as it happened (an honest Monday for all; each Tuesday its own game)."""
    sent = {s: open_day(s, MONDAY) for s in STATIONS}
    for s in ("qd-twin", "qd-replay", "qd-dup", "qd-future"):
        sent[s] += shut_day(s, TUESDAY)
    # Heartbeats every 14 minutes (the agent's own setting): each closed stretch between two of them is shorter
    # than the spot check's 15 minutes' grace.
    sent["qd-sparse"] += shut_day("qd-sparse", TUESDAY, heartbeat_minutes=14)
    # The door propped open, the counter and the camera (which worked on Monday) unplugged.
    sent["qd-door"] += StationDay("qd-door", TUESDAY, door=FULL, counter=False, camera=False).messages()
    # The same at a station with a people counter and no camera.
    sent["qd-counter-only"] = (StationDay("qd-counter-only", MONDAY, door=FULL, visits=visits(MONDAY),
                                          camera=False).messages()
                               + StationDay("qd-counter-only", TUESDAY, door=FULL, counter=False,
                                            camera=False).messages())
    # Shut, the emergency button pressed and cancelled every quarter of an hour of the morning.
    sent["qd-calls"] += shut_day("qd-calls", TUESDAY, calls=button_games(TUESDAY, 12))
    # Shut, heartbeats flooding in every 10 seconds through the morning.
    sent["qd-beats"] += shut_day("qd-beats", TUESDAY) + heartbeat_flood("qd-beats", TUESDAY, time(8), 4)
    # The door open, the counter and camera off but for 09:00, when ten elders' photographs are held up to the camera
    # while one person walks in.
    sent["qd-photo"] += (StationDay("qd-photo", TUESDAY, door=FULL, counter=False, camera=False).messages()
                         + photographs("qd-photo", TUESDAY, time(9), [*ELDERS, "e-009", "e-010"], crossings=1))
    # The door shut, a screen before the camera showing a stranger's face every 25 minutes, the counter counting
    # nobody (zeros every minute).
    strangers = [(time(h, m), f"anon-{h:02d}{m:02d}", "unknown") for h in range(8, 17) for m in (0, 25, 50)]
    zeros = [m for m in StationDay("qd-screen", TUESDAY, door=[(time(8), time(17, 30))], camera=False).messages()
             if m[0].endswith("/flow")]
    sent["qd-screen"] += StationDay("qd-screen", TUESDAY, visits=strangers, counter=False).messages() + zeros
    return sent


def _games(live: dict[str, list[Message]]) -> list[Message]:
    """What the stations sent afterwards to improve their record."""
    monday_replay = live["qd-replay"][:len(open_day("qd-replay", MONDAY))]
    ahead = datetime.now(UTC) + timedelta(days=2)  # the Pi's clock set two days ahead: "Tuesday" already done
    future_day = open_day("qd-future", ahead.date())
    return [
        # Monday replayed as it was (the same ids), twice, and again stamped as Tuesday (the same ids).
        *monday_replay, *monday_replay, *shifted(monday_replay, timedelta(days=1)),
        # Monday's counts and faces published again under fresh ids (the same seq, time and values).
        *fresh_ids(live["qd-dup"][:len(open_day("qd-dup", MONDAY))]),
        # An open day stamped two days ahead.
        *[m for m in future_day if not m[0].endswith("/heartbeat")],
        # An open Tuesday of qd-twin's, published by qd-sparse with qd-twin's name in the payloads.
        *as_station([(t.replace("/qd-twin/", "/qd-sparse/"), p) for t, p in open_day("qd-twin", TUESDAY)],
                    "qd-twin"),
        # An open Tuesday from a station nobody registered.
        *open_day("qd-ghost", TUESDAY),
    ]


def _worker_once(url: str) -> None:
    env = {**os.environ, "ELDERCARE_DATABASE_URL": url, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "eldercare", "cloud", "worker", "--once"], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]


def _events(engine: Engine, station: str | None = None) -> int:
    query = select(func.count()).select_from(Event)
    if station is not None:
        query = query.where(Event.station_id == station)
    with engine.connect() as c:
        return int(c.execute(query).scalar_one())


def _letters(engine: Engine) -> int:
    with engine.connect() as c:
        return int(c.execute(select(func.count()).select_from(DeadLetter)).scalar_one())


@pytest.mark.timeout(600)
def test_gaming_stations_get_no_better_verdict_than_their_honest_twin(mosquitto: Mosquitto, tmp_path: Path) -> None:
    engine = registered_store(f"sqlite:///{tmp_path / 'store.db'}", STATIONS)
    live = _live()
    games = _games(live)
    expected_letters = sum(1 for t, _ in games if "/qd-ghost/" in t or "/qd-sparse/" in t)
    log = tmp_path / "ingest.log"
    with ingester(mosquitto.port, str(engine.url), "ing-gaming", log) as ing:
        every_live = [m for messages in live.values() for m in messages]
        publish(mosquitto, every_live)
        poll(lambda: _events(engine) >= _events_expected(every_live), timeout=120, what="the live messages stored")
        stored_live = {s: _events(engine, s) for s in STATIONS}
        publish(mosquitto, games)
        poll(lambda: _letters(engine) >= expected_letters, timeout=120, what="the refused messages dead-lettered")
        stopped = ing.terminate()
    with make_session_factory(engine)() as session:
        create_plan(session, day=TUESDAY, start=time(9), end=time(10), scope="all", created_by="bureau",
                    now=datetime.now(UTC))
        session.commit()
    _worker_once(str(engine.url))

    with make_session_factory(engine)() as session:
        days = {(r.station_id, r.local_date): r.record for r in session.scalars(select(DayResult))}
        spots = {r.station_id: r.result for r in session.scalars(select(SpotCheckResult))}
        alerts = [(a.station_id, a.kind, a.cause_key, a.level, a.status, a.resolved_by)
                  for a in session.scalars(select(Alert))]
        letters = [(d.station_id, d.reason) for d in session.scalars(select(DeadLetter))]
    anomalies = {(s, key.split(":")[1]): level for s, kind, key, level, *_ in alerts if kind == "sensor_anomaly"}
    twin_mon, twin_tue = days[("qd-twin", MONDAY)], days[("qd-twin", TUESDAY)]
    assert twin_mon["verdict"] == "open" and twin_mon["elders"] == len(ELDERS)
    assert twin_tue["verdict"] == "closed" and spots["qd-twin"] == "fail"

    def same_as_twin(station: str, day: date, fields: tuple[str, ...] = ("verdict", "compliance", "elders",
                                                                         "person_times", "entries")) -> None:
        mine, twin = days[(station, day)], days[("qd-twin", day)]
        for name in fields:
            assert mine[name] == twin[name], (station, day, name, mine[name], twin[name])

    # Replays (the same ids, as sent or stamped a day later) are stored once: nothing new, Tuesday still shut.
    assert _events(engine, "qd-replay") == stored_live["qd-replay"] == stored_live["qd-twin"]
    same_as_twin("qd-replay", MONDAY)
    same_as_twin("qd-replay", TUESDAY)
    assert spots["qd-replay"] == "fail"
    assert _stopped(stopped)["duplicates"] >= 3 * len([m for m in open_day("x", MONDAY)
                                                       if not m[0].endswith("/heartbeat")])

    # The same readings under fresh ids count once, and the day says so (the town is told).
    same_as_twin("qd-dup", MONDAY)
    assert "readings_repeated" in days[("qd-dup", MONDAY)]["flags"]
    assert anomalies.get(("qd-dup", "readings-repeated")) == "town"

    # Heartbeats too seldom for a closed stretch to reach the grace: still a closed day and a failed check.
    same_as_twin("qd-sparse", TUESDAY, ("verdict", "compliance"))
    assert spots["qd-sparse"] == "fail"

    # A propped door with the counter and camera silenced: the door's minutes count, but the town is alerted.
    assert days[("qd-door", TUESDAY)]["verdict"] == "open" and spots["qd-door"] == "pass"
    assert anomalies.get(("qd-door", "door-unwatched")) == "town"
    assert anomalies.get(("qd-counter-only", "door-unwatched")) == "town"

    # Button games are not activity: still shut and failed; every press is an alert on record.
    same_as_twin("qd-calls", TUESDAY, ("verdict", "compliance"))
    assert spots["qd-calls"] == "fail"
    presses = [a for a in alerts if a[0] == "qd-calls" and a[1] == "emergency_call"]
    assert len(presses) == 12 and all(a[4] == "resolved" and a[5] == "elder" for a in presses)

    # A heartbeat flood proves the agent alive, never the station open.
    same_as_twin("qd-beats", TUESDAY, ("verdict", "compliance"))
    assert spots["qd-beats"] == "fail"

    # A screen of faces: its minutes count, but the day is flagged and the town alerted.
    screen = days[("qd-screen", TUESDAY)]
    assert screen["entries"] == 0 and "faces_unbacked" in screen["flags"]
    assert anomalies.get(("qd-screen", "faces-unbacked")) == "town"

    # Ten photographs, one crossing: one elder served, and the town is told of the rest.
    photo = days[("qd-photo", TUESDAY)]
    assert (photo["elders"], photo["elders_uncorroborated"]) == (1, 9)
    assert anomalies.get(("qd-photo", "faces-uncorroborated")) == "town"

    # A clock set ahead: flagged, and on no day, neither the claimed one nor today.
    with engine.connect() as c:
        faults = c.execute(select(Event.clock_fault).where(Event.station_id == "qd-future",
                                                           Event.clock_fault.is_not(None))).scalars().all()
    assert faults and all(f is not None and "ahead of the receiver's clock" in f for f in faults)
    assert not [d for (s, d), r in days.items() if s == "qd-future" and d > TUESDAY and r["elders"]]
    same_as_twin("qd-future", TUESDAY)

    # Another station's name in the payload, or a station not registered: dead letters with the reason, and the
    # station whose name was borrowed keeps its own (shut) Tuesday.
    spoofed = [r for s, r in letters if s == "qd-sparse"]
    assert spoofed and all("payload says 'qd-twin' but the topic is for station 'qd-sparse'" in r for r in spoofed)
    ghost = [r for s, r in letters if s == "qd-ghost"]
    assert ghost and all("unknown station 'qd-ghost'" in r for r in ghost)
    assert len(letters) == expected_letters
    assert _events(engine, "qd-ghost") == 0


def _events_expected(messages: list[Message]) -> int:
    """Distinct events among `messages` (heartbeats and statuses take their id from their time)."""
    keys = set()
    for topic, payload in messages:
        data = json.loads(payload)
        keys.add(data.get("id") or f"{topic}/{data['ts']}")
    return len(keys)


def _stopped(log: str) -> dict[str, Any]:
    for line in reversed(log.splitlines()):
        if '"msg": "stopped"' in line:
            found: dict[str, Any] = json.loads(line)
            return found
    raise AssertionError(f"no 'stopped' line in the ingester's log: {log[-2000:]}")
