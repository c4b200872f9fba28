"""A station whose Pi's clock runs behind by a constant amount (its own NTP server on the station's network, or the
agent's clock check off and the time set by hand) moves its whole day earlier. Every message is received that long
after its time, steadily, as if the network were slow: nothing is prompt, so nothing is "heard live" for
`cloud.rules.late` to set late evidence aside against, and a reading received within `late_delivery_minutes` of its
time is never questioned (`cloud.rules.sequence`). A station that opens and closes 25 minutes late would be judged
open on time.

The cloud's time check closes it (`cloud.rules.clock_check`): the agent answers each check with a heartbeat stamped
by its clock, carrying the time the cloud asked; an answer stamped before the question shows the clock behind, and
the day is judged on nothing (unknown, its spot checks unverifiable, the town alerted). Through the rules with each
event's receipt time, as the worker and `cloud derive` judge it, and through Mosquitto, ingest and the worker."""

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from cloud.derive.files import read_events
from cloud.derive.plans import create_plan
from cloud.rules.alerts import offline_now
from cloud.rules.calendar import plan_day
from cloud.rules.config import RulesConfig
from cloud.rules.day import DayResult, Verdict
from cloud.rules.records import day_record
from cloud.rules.spotcheck import SpotReason, SpotResult, judge
from cloud.rules.station import derive_days
from cloud.rules.unanswered import Ask
from cloud.store.db import make_session_factory
from cloud.store.derived import DayResult as DayRow
from cloud.store.derived import SpotCheckResult
from cloud.store.models import Alert
from tests.faults.conftest import registered_store, worker_once
from tests.gaming.attacks import ELDERS, Message, answers, checks_every, received, shifted, ts_of
from tests.gaming.test_late_evidence import _Clock, _ingester, _stored
from tests.ingest.conftest import publish
from tests.localservices import Mosquitto
from tests.rules.conftest import SCHEDULE
from tests.rules.scenario import StationDay, visits_every
from tests.wait import poll

TUESDAY = date(2026, 10, 13)
CONFIG = RulesConfig()
TZ = "Asia/Shanghai"


def _late_station(station: str = "qd-a") -> list[Message]:
    """Really open 08:55-11:55 and 13:55-17:25 (hours 08:30-11:30, 13:30-17:00): 25 minutes late each session."""
    visits = (visits_every(time(9), time(11, 20), 10, ELDERS, day=TUESDAY)
              + visits_every(time(14), time(17, 20), 10, ELDERS, day=TUESDAY))
    return StationDay(station, TUESDAY, door=[(time(8, 55), time(11, 55)), (time(13, 55), time(17, 25))],
                      visits=visits).messages()


def _derive(lines: list[str], asked: list[datetime] | None = None) -> DayResult:
    """The day as the worker judges it; `asked`: the checks the sender recorded (`check-i` for the i-th, as
    `answers` echoes them), none if not given."""
    events = read_events(lines, {}, ZoneInfo(TZ))
    assert not events.problems, events.problems
    asks = [Ask(f"check-{i}", at.timestamp()) for i, at in enumerate(asked or [])]
    return derive_days("qd-a", SCHEDULE, {}, events.obs["qd-a"], TUESDAY, TUESDAY, CONFIG, asks=asks)[0]


def _checks(r: DayResult) -> tuple[SpotResult, SpotResult]:
    """An inspector at the door at the start of the morning and of the afternoon."""
    return (judge(r, time(8, 30), time(9, 30), TZ, CONFIG).result,
            judge(r, time(13, 30), time(14, 30), TZ, CONFIG).result)


def test_the_honest_late_station_fails_its_checks() -> None:
    r = _derive(received(_late_station(), lambda ts: ts + timedelta(seconds=2)))
    assert _checks(r) == (SpotResult.FAIL, SpotResult.FAIL)
    assert r.late_open_s >= 50 * 60


def _behind(station: str, behind: timedelta, asked: list[datetime]) -> list[Message]:
    """The late station with its Pi's clock `behind`, answering the cloud's checks asked at `asked` (real time)."""
    return shifted(_late_station(station), -behind) + answers(station, asked, behind)


def _arrive_after(behind: timedelta) -> Callable[[datetime], datetime]:
    """Every message received at the real time it was sent: its (behind) stamp plus `behind`, plus 2 s of link."""
    return lambda ts: ts + behind + timedelta(seconds=2)


@pytest.mark.parametrize("behind", [timedelta(minutes=25), timedelta(hours=2)])
def test_a_clock_behind_is_found_by_the_time_check_and_the_day_counts_nowhere(behind: timedelta) -> None:
    # The clock says 08:30 when it is 08:55: every message stamped `behind` early, received at the real time; the
    # cloud asks every quarter of an hour, at random moments in production.
    lines = received(_behind("qd-a", behind, checks_every(TUESDAY, 15)), _arrive_after(behind))
    r = _derive(lines)
    assert "clock_behind" in r.flags
    assert (r.verdict, r.compliance, r.open_s) == (Verdict.UNKNOWN, 0.0, 0.0)
    assert r.visitors.elders == frozenset() and r.visitors.entries == 0  # the day's elders are counted nowhere either
    assert round(max(b.seconds for b in r.clock_behind)) == behind.total_seconds() - 1  # answered 1 s after asked
    assert any("clock was found behind" in n for n in r.notes)
    record = day_record(r, TZ)
    in_day = sum(1 for a in checks_every(TUESDAY, 15) if (a + timedelta(seconds=1) - behind).date() == TUESDAY)
    assert record.time_checks == in_day and record.clock_behind_minutes == round((behind.total_seconds() - 1) / 60, 1)
    for start, end in ((time(8, 30), time(9, 30)), (time(13, 30), time(14, 30))):
        spot = judge(r, start, end, TZ, CONFIG)
        assert (spot.result, spot.code) == (SpotResult.UNVERIFIABLE, SpotReason.CLOCK_BEHIND)


def test_a_clock_put_behind_only_around_the_opening_is_caught_by_the_check_in_that_stretch() -> None:
    """The shift kept short to move one opening: behind by 25 minutes from 08:50 to 09:20 real time only (the
    morning's "open" at 08:55 stamped 08:30), right again after. The checks a quarter of an hour apart (in production
    never more than 1.5 times that) land in it."""
    behind = timedelta(minutes=25)
    real = _late_station("qd-a")
    lo, hi = datetime.combine(TUESDAY, time(8, 50), ZoneInfo(TZ)), datetime.combine(TUESDAY, time(9, 20), ZoneInfo(TZ))
    inside = [m for m in real if lo <= ts_of(m) < hi]
    outside = [m for m in real if not lo <= ts_of(m) < hi]
    asked = checks_every(TUESDAY, 15)
    messages = (outside + shifted(inside, -behind) + answers("qd-a", [a for a in asked if not lo <= a < hi])
                + answers("qd-a", [a for a in asked if lo <= a < hi], behind))
    r = _derive(received(messages, lambda ts: ts + timedelta(seconds=2)))
    assert "clock_behind" in r.flags and r.verdict == Verdict.UNKNOWN
    assert len(r.clock_behind) == 2  # 09:00 and 09:15
    assert _checks(r) == (SpotResult.UNVERIFIABLE, SpotResult.UNVERIFIABLE)


# Not whole minutes: a heartbeat is identified by its time, and the scenario's beat every five minutes on the minute.
@pytest.mark.parametrize("late", [timedelta(seconds=2), timedelta(minutes=40, seconds=7),
                                  timedelta(hours=6, seconds=7)])
def test_an_honest_clock_is_never_found_behind_however_slow_the_link(late: timedelta) -> None:
    """The honest late station answering every check: received 2 s, 40 minutes (an ingester falling behind) or six
    hours (a station offline, answering a check it got late: stamped when it got it) after it was sent. Nothing is
    flagged, and its checks fail as they should."""
    asked = checks_every(TUESDAY, 15)
    messages = _late_station() + answers("qd-a", asked, delay=late)
    r = _derive(received(messages, lambda ts: ts + (timedelta(seconds=2) if late < timedelta(hours=1) else late)),
                asked)
    assert "clock_behind" not in r.flags and not r.clock_behind
    assert "clock_unanswered" not in r.flags  # answered, if late (after six hours, the evening's the next day)
    in_day = sum(1 for a in asked if (a + late).date() == TUESDAY)  # an answer is placed by its own time
    assert (day_record(r, TZ).time_checks, day_record(r, TZ).clock_behind_minutes) == (in_day, None)
    assert _checks(r) == (SpotResult.FAIL, SpotResult.FAIL)


def test_a_clock_behind_by_less_than_the_margin_is_not_flagged() -> None:
    """`clock_behind_minutes` (5) allows for the cloud's own clock; four minutes behind moves the opening four."""
    behind = timedelta(minutes=4)
    r = _derive(received(_behind("qd-a", behind, checks_every(TUESDAY, 15)), _arrive_after(behind)))
    assert "clock_behind" not in r.flags
    events = read_events(received(_behind("qd-a", behind, checks_every(TUESDAY, 15)), _arrive_after(behind)), {},
                         ZoneInfo(TZ))
    tight = derive_days("qd-a", SCHEDULE, {}, events.obs["qd-a"], TUESDAY, TUESDAY,
                        RulesConfig(clock_behind_minutes=3))[0]
    assert "clock_behind" in tight.flags


@pytest.mark.parametrize("behind", [timedelta(minutes=25), timedelta(hours=2)])
def test_an_agent_that_answers_no_check_counts_nowhere(behind: timedelta) -> None:
    """An agent that answers no time check (one from before the check, or doctored), its clock behind: without the
    sender's record of the checks (an export from before it) its day moves and passes the checks its honest twin
    fails, as before the check existed; with the record, the checks asked while it was heard live went unanswered,
    and the day counts nowhere (cloud.rules.unanswered), as if its clock had been found behind."""
    lines = received(shifted(_late_station(), -behind), _arrive_after(behind))
    r = _derive(lines)
    assert _checks(r) == (SpotResult.PASS, SpotResult.PASS)
    assert (r.verdict, r.late_open_s) == (Verdict.OPEN, 0)
    assert "late_evidence" not in r.flags and "readings_out_of_sequence" not in r.flags
    assert day_record(r, TZ).time_checks == 0  # what the bureau sees of it: the day's clock was not checked
    r = _derive(lines, checks_every(TUESDAY, 15))
    assert "clock_unanswered" in r.flags and r.verdict is Verdict.UNKNOWN
    assert _checks(r) == (SpotResult.UNVERIFIABLE, SpotResult.UNVERIFIABLE)
    assert day_record(r, TZ).time_checks_unanswered >= 80


def test_what_the_town_sees_live_of_a_clock_behind() -> None:
    """Only a shift of `offline_alert_minutes` (30) or more makes the live check find the station silent (ingest's
    last-seen time is the newest event's time), so it raises `station_offline` in working hours while the day derives
    open; a shorter shift shows nothing at all."""
    now = datetime.combine(TUESDAY, time(10), ZoneInfo(TZ))
    sessions = plan_day(SCHEDULE, TUESDAY).sessions
    for behind, silent in ((timedelta(minutes=25), False), (timedelta(hours=2), True)):
        newest = (now - behind).timestamp()  # the newest message's time, received just now
        assert offline_now("qd-a", sessions, newest, now.timestamp(), CONFIG) is silent


@pytest.mark.timeout(300)
def test_a_clock_behind_through_the_cloud(mosquitto: Mosquitto, tmp_path: Path) -> None:
    """Through Mosquitto, an ingester whose clock is the test's (the real time) and `eldercare cloud worker`: two
    stations open 25 minutes late, both answering the cloud's time checks; qd-behind's Pi clock runs 25 minutes
    behind. Messages are delivered in five-minute rounds, each at its round's end in real time."""
    engine = registered_store(f"sqlite:///{tmp_path / 'store.db'}", ["qd-late", "qd-behind"])
    behind = timedelta(minutes=25)
    asked = checks_every(TUESDAY, 15, time(7), time(18))
    arrivals = ([(m, ts_of(m)) for m in _late_station("qd-late") + answers("qd-late", asked)]
                + [(m, ts_of(m) + behind) for m in _behind("qd-behind", behind, asked)])
    rounds: dict[datetime, list[Message]] = {}
    for message, real in arrivals:
        at = real.replace(second=0, microsecond=0) + timedelta(minutes=5 - real.minute % 5)
        rounds.setdefault(at, []).append(message)
    clock = _Clock()
    with _ingester(mosquitto, engine, clock):
        sent = 0
        for at in sorted(rounds):
            clock.now = at.astimezone(UTC)
            publish(mosquitto, rounds[at])
            sent += len(rounds[at])
            poll(lambda: _stored(engine) >= sent, timeout=60,  # noqa: B023 (called before the loop moves on)
                 what=f"the messages delivered at {at:%H:%M} stored")
    with make_session_factory(engine)() as session:
        create_plan(session, day=TUESDAY, start=time(8, 30), end=time(9, 30), scope="all", created_by="bureau",
                    now=datetime.now(UTC))
        session.commit()
    worker_once(engine)
    with make_session_factory(engine)() as session:
        days = {r.station_id: r.record for r in session.scalars(select(DayRow).where(DayRow.local_date == TUESDAY))}
        spots = {r.station_id: (r.result, r.record["reason_code"]) for r in session.scalars(select(SpotCheckResult))}
        tuesday = {a.cause_key: a for a in session.scalars(select(Alert).where(Alert.station_id == "qd-behind"))
                   if a.cause_key.endswith(TUESDAY.isoformat())}
    assert spots == {"qd-late": ("fail", "closed"), "qd-behind": ("unverifiable", "clock_behind")}
    assert days["qd-behind"]["verdict"] == "unknown" and "clock_behind" in days["qd-behind"]["flags"]
    assert days["qd-behind"]["elders"] == 0 and days["qd-behind"]["compliance"] == 0
    assert days["qd-late"]["late_open_minutes"] >= 50 and "clock_behind" not in days["qd-late"]["flags"]
    # The town is told to go on site, with what the check found.
    alert = tuesday[f"anomaly:clock-behind:qd-behind:{TUESDAY.isoformat()}"]
    assert (alert.kind, alert.level) == ("sensor_anomaly", "town")
    assert alert.evidence is not None and alert.evidence["behind_minutes"] == pytest.approx(25, abs=0.1)
