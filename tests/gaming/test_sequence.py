"""A day fabricated and published after the next day was heard live, as if it were the outbox's replay of a network
outage: its readings' device sequence numbers cannot fit between those heard live around it (cloud.rules.sequence),
so they are set aside, the day flagged and the town alerted, whichever way the agent numbered them. An honest
outage's replay fits and counts.

Monday and Wednesday are open days heard live; on Tuesday the agent was switched off (nothing reached the cloud),
and on Wednesday night it publishes an open Tuesday with its heartbeats. Through the rules (`cloud derive` lines
with their receipt times), and through Mosquitto, an ingester whose clock is the test's and `eldercare cloud
worker`'s pass, whose verdict `cloud derive` reproduces from the evidence export."""

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from cloud.api.routes.evidence import events_queries, full_edges, stream_events
from cloud.derive.files import read_events
from cloud.derive.plans import create_plan
from cloud.derive.runner import Partition, run_pass
from cloud.rules.alerts import anomalies
from cloud.rules.config import RulesConfig
from cloud.rules.day import DayResult, Verdict
from cloud.rules.records import day_record
from cloud.rules.spotcheck import SpotResult, judge
from cloud.rules.station import derive_days
from cloud.store.db import make_session_factory
from cloud.store.derived import DayResult as DayRow
from cloud.store.derived import SpotCheckResult
from cloud.store.models import Alert, Station
from tests.faults.conftest import registered_store
from tests.gaming.attacks import FULL, Message, received, ts_of, visits
from tests.gaming.test_late_evidence import _Clock, _distinct_before, _ingester, _round, _stored
from tests.ingest.conftest import publish
from tests.localservices import Mosquitto
from tests.rules.conftest import SCHEDULE
from tests.rules.scenario import TZ, StationDay
from tests.wait import poll

MONDAY, TUESDAY, WEDNESDAY = date(2026, 10, 12), date(2026, 10, 13), date(2026, 10, 14)
NIGHT = datetime.combine(WEDNESDAY, time(22), TZ)  # Wednesday heard live, the station publishes its "Tuesday"
JUDGED = datetime.combine(WEDNESDAY + timedelta(days=1), time(10), TZ)  # the worker's clock
CONFIG = RulesConfig()
WAYS = ("reused", "above", "low")  # the fake's numbers: Wednesday's again, above Wednesday's, restarted from 0
DEVICES = ("door-1", "counter-1", "cam-1")


def _open(station: str, day: date, seqs: dict[str, int]) -> list[Message]:
    """An honest open day, numbered on from `seqs` (each device's last number, updated)."""
    return StationDay(station, day, door=FULL, visits=visits(day), heartbeat_minutes=10, _seq=seqs).messages()


def _prompt(ts: datetime) -> datetime:
    return ts + timedelta(seconds=2)


def fabricated(station: str, way: str) -> list[tuple[Message, datetime]]:
    """Monday and Wednesday heard live (the agent has numbered each device's readings up to 4999 before Monday),
    Tuesday off, and at Wednesday night an open Tuesday numbered `way`."""
    seqs = dict.fromkeys(DEVICES, 4999)
    monday = _open(station, MONDAY, seqs)
    after_monday = dict(seqs)
    wednesday = _open(station, WEDNESDAY, seqs)
    numbering = {"reused": after_monday, "above": dict(seqs), "low": {}}[way]
    fake = _open(station, TUESDAY, numbering)
    return [(m, _prompt(ts_of(m))) for m in monday + wednesday] + [(m, NIGHT) for m in fake]


def outage(station: str) -> list[tuple[Message, datetime]]:
    """The same three days honestly: the agent ran through Tuesday with the network down from Monday 20:00 to
    Wednesday 07:00; the outbox (heartbeats kept too) delivered all of it when the network came back."""
    seqs = dict.fromkeys(DEVICES, 4999)
    gone, back = datetime.combine(MONDAY, time(20), TZ), datetime.combine(WEDNESDAY, time(7), TZ)
    days = [m for day in (MONDAY, TUESDAY, WEDNESDAY) for m in _open(station, day, seqs)]
    return [(m, back + timedelta(seconds=30) if gone <= ts_of(m) < back else _prompt(ts_of(m))) for m in days]


def _lines(arrivals: list[tuple[Message, datetime]]) -> list[str]:
    def at(when: datetime) -> Callable[[datetime], datetime]:
        return lambda _ts: when

    return [line for message, when in arrivals for line in received([message], at(when))]


def _derive(lines: list[str], station: str) -> DayResult:
    events = read_events(lines, {}, ZoneInfo("Asia/Shanghai"))
    assert not events.problems, events.problems
    results = derive_days(station, SCHEDULE, {}, events.obs[station], MONDAY, WEDNESDAY, CONFIG)
    assert [r.verdict for r in results[::2]] == [Verdict.OPEN, Verdict.OPEN]  # Monday and Wednesday as heard
    return results[1]


def _spot(r: DayResult) -> SpotResult:
    return judge(r, time(9), time(10), "Asia/Shanghai", CONFIG).result


@pytest.mark.parametrize("way", WAYS)
def test_a_day_fabricated_after_the_next_was_heard_is_set_aside(way: str) -> None:
    r = _derive(_lines(fabricated("qd-a", way)), "qd-a")
    # Its heartbeats say the agent was alive (life only, never set aside): known, and closed, as a shut day.
    assert (r.verdict, r.compliance, _spot(r)) == (Verdict.CLOSED, 0.0, SpotResult.FAIL)
    assert r.visitors.entries == 0 and not r.visitors.elders and r.timeline.door_open == []
    assert "readings_out_of_sequence" in r.flags and "late_evidence" not in r.flags
    assert any("sequence numbers contradict" in n for n in day_record(r, "Asia/Shanghai").notes)
    found = [a for a in anomalies(r, [], True, CONFIG)
             if a.cause_key.startswith("anomaly:readings-out-of-sequence:")]
    assert len(found) == 1 and found[0].level == "town"


def test_an_outage_replay_fits_its_numbers_and_counts() -> None:
    r = _derive(_lines(outage("qd-a")), "qd-a")
    assert (r.verdict, _spot(r)) == (Verdict.OPEN, SpotResult.PASS)
    assert r.visitors.elders and r.visitors.entries > 0
    assert "readings_out_of_sequence" not in r.flags and "late_evidence" not in r.flags


def test_the_same_day_sent_live_counts() -> None:
    # What is set aside is the fake's lateness against its numbers, not the readings: sent live, they count.
    arrivals = [(m, _prompt(ts_of(m))) for m, _ in fabricated("qd-a", "low")]
    r = _derive(_lines(arrivals), "qd-a")
    assert r.verdict is Verdict.OPEN and "readings_out_of_sequence" not in r.flags


@pytest.mark.timeout(600)
def test_a_fabricated_day_through_the_cloud_and_its_audit(mosquitto: Mosquitto, tmp_path: Path) -> None:
    stations = [f"qd-{way}" for way in WAYS]
    engine = registered_store(f"sqlite:///{tmp_path / 'store.db'}", [*stations, "qd-outage"])
    clock = _Clock()
    arrivals = [a for way, s in zip(WAYS, stations, strict=True) for a in fabricated(s, way)] + outage("qd-outage")
    by_time: dict[datetime, list[Message]] = {}
    for message, at in arrivals:
        by_time.setdefault(_round(at), []).append(message)
    # A bureau spot check of every station on Tuesday 09:00-10:00. The worker passes on Wednesday evening, before the
    # fake arrives (the month's days derived as heard), and on Thursday morning: then only Tuesday and Wednesday are
    # derived again, and Monday's numbers, which the restarted-low fake is below, are looked up outside them.
    sessions = make_session_factory(engine)
    with sessions() as session:
        create_plan(session, day=TUESDAY, start=time(9), end=time(10), scope="all", created_by="bureau", now=JUDGED)
        session.commit()
    with _ingester(mosquitto, engine, clock):
        for at in sorted(by_time):
            if at >= NIGHT and clock.now < NIGHT:
                evening = (NIGHT - timedelta(hours=1)).astimezone(UTC)
                assert run_pass(sessions, Partition(), CONFIG, evening).errors == 0
            clock.now = at.astimezone(UTC)
            publish(mosquitto, by_time[at])
            expected = _distinct_before(arrivals, at)
            poll(lambda: _stored(engine) >= expected, timeout=60,  # noqa: B023 (called before the loop moves on)
                 what=f"the messages delivered at {at:%a %H:%M} stored")
    assert run_pass(sessions, Partition(), CONFIG, JUDGED.astimezone(UTC)).errors == 0
    with sessions() as session:
        days = {r.station_id: r.record for r in session.scalars(select(DayRow).where(DayRow.local_date == TUESDAY))}
        spots = {r.station_id: r.result for r in session.scalars(select(SpotCheckResult))}
        alerts = {(a.station_id, a.cause_key.split(":")[1]): a.level for a in session.scalars(select(Alert))
                  if a.kind == "sensor_anomaly"}
        registry = {s: session.get(Station, s) for s in [*stations, "qd-outage"]}
    for station in stations:
        day = days[station]
        assert (day["verdict"], day["compliance"], day["elders"], day["entries"]) == ("closed", 0.0, 0, 0), station
        assert spots[station] == "fail", station
        assert "readings_out_of_sequence" in day["flags"], station
        assert alerts.get((station, "readings-out-of-sequence")) == "town", station
    honest = days["qd-outage"]
    assert honest["verdict"] == "open" and spots["qd-outage"] == "pass" and honest["elders"] > 0
    assert "readings_out_of_sequence" not in honest["flags"] and "late_evidence" not in honest["flags"]

    # The audit: Tuesday's evidence export, read by `cloud derive`, reaches the worker's verdict. It holds the
    # readings heard live just outside the day that the late ones must fit between (Monday's last and Wednesday's
    # first), though the day's window does not.
    for station, place in registry.items():
        assert place is not None
        queries = events_queries(place, TUESDAY, TUESDAY, CONFIG)
        edges = full_edges(place, TUESDAY, TUESDAY, CONFIG)
        lines = b"".join(stream_events(sessions, station, queries, CONFIG, edges)).decode().splitlines()
        events = read_events(lines, {}, ZoneInfo("Asia/Shanghai"))
        assert not events.problems and events.duplicates == 0, station
        outside = [o for o in events.obs[station] if not edges[0] <= o.t < edges[1]]
        if station != "qd-outage":
            assert {o.device for o in outside} == set(DEVICES), station
        r = derive_days(station, SCHEDULE, {}, events.obs[station], TUESDAY, TUESDAY, CONFIG,
                        events.clock_faults.get(station))[0]
        record = day_record(r, "Asia/Shanghai").model_dump(mode="json")
        stored = days[station]
        assert {k: stored.get(k) for k in ("verdict", "compliance", "flags", "notes", "entries", "elder_ids")} == \
            {k: record.get(k) for k in ("verdict", "compliance", "flags", "notes", "entries", "elder_ids")}, station
