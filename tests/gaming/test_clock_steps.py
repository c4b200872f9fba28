"""A station that cuts its network for the opening, puts its Pi's clock back (its own NTP server, or `date -s` then
NTP), opens late, and sets the clock right before it reconnects is not reached by the cloud's time check
(`cloud.rules.clock_check`): its morning arrives later as an ordinary backlog, stamped as the wrong clock said, and
opens on time.

What still shows it is the heartbeats the agent kept meanwhile: each carries the boot it was stamped in and the
seconds since that boot (`cloud.rules.clock_steps`). Within one boot `ts - boot_s` moves only when the wall clock is
stepped, so the day holding the step is judged on nothing, like a clock found behind. The honest cases (a first NTP
sync after boot, slow drift, an agent restart, a reboot, heartbeats delivered late and out of order) are not flagged.
Through the rules with each event's receipt time, as the worker and `cloud derive` judge it."""

import json
import random
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

import pytest

from cloud.derive.files import read_events
from cloud.rules.alerts import anomalies
from cloud.rules.clock_steps import FLAG_CLOCK_STEPPED
from cloud.rules.config import RulesConfig
from cloud.rules.day import DayResult, Verdict
from cloud.rules.records import day_record
from cloud.rules.spotcheck import SpotReason, SpotResult, judge
from cloud.rules.station import derive_days
from station_protocol import Heartbeat, encode
from station_protocol.topics import agent_topic
from tests.gaming.attacks import ELDERS, Message, shifted, ts_of
from tests.rules.conftest import SCHEDULE
from tests.rules.scenario import StationDay, visits_every

TZ = "Asia/Shanghai"
ZONE = ZoneInfo(TZ)
TUESDAY = date(2026, 10, 13)
WEDNESDAY = TUESDAY + timedelta(days=1)
CONFIG = RulesConfig()
BOOT = "0f5c2a31-6a4e-4b1e-9d7c-1a2b3c4d5e6f"
REBOOT = "7d1e9b20-3c5f-4e8a-8b6d-9f0e1d2c3b4a"
BOOTED = datetime.combine(TUESDAY - timedelta(days=3), time(6), ZONE)  # up since Saturday


def no_shift(_real: datetime) -> timedelta:
    return timedelta(0)


def at(t: time, day: date = TUESDAY) -> datetime:
    return datetime.combine(day, t, ZONE)


def _late_morning(station: str = "qd-a", day: date = TUESDAY) -> list[Message]:
    """Really open 09:00-11:55 (hours 08:30-11:30: half an hour late) and 13:30-17:05 (on time); no heartbeats."""
    visits = (visits_every(time(9, 5), time(11, 20), 10, ELDERS, day=day)
              + visits_every(time(13, 35), time(16, 50), 10, ELDERS, day=day))
    messages = StationDay(station, day, door=[(time(9), time(11, 55)), (time(13, 30), time(17, 5))],
                          visits=visits).messages()
    return [m for m in messages if not m[0].endswith("/heartbeat")]


def beats(station: str, real: list[datetime], shift: Callable[[datetime], timedelta] = no_shift,
          boot: str = BOOT, booted: datetime = BOOTED,
          unsynced: Callable[[datetime], bool] = lambda _real: False) -> list[Message]:
    """The agent's heartbeats at the real moments `real`: each stamped by its clock (`shift` off the real time), with
    the boot it ran in and the seconds since that boot, `clock: unsynced` while the clock was not trusted."""
    out = []
    for r in real:
        beat = Heartbeat(v=1, station=station, ts=r + shift(r), version="1.0", uptime_s=1.0, outbox=0,
                         boot=UUID(boot), boot_s=(r - booted).total_seconds(),
                         clock="unsynced" if unsynced(r) else None)
        out.append((str(agent_topic(station, "heartbeat")), encode(beat)))
    return out


def every_minute(start: datetime, end: datetime) -> list[datetime]:
    out, t = [], start
    while t < end:
        out.append(t)
        t += timedelta(minutes=1)
    return out


def _lines(messages: list[tuple[Message, datetime]]) -> list[str]:
    """`cloud derive` lines of (message, received at), in the order given."""
    return [json.dumps({"topic": m[0], "payload": json.loads(m[1]), "received_at": got.isoformat()})
            for m, got in messages]


def _derive(lines: list[str], first: date = TUESDAY, last: date = TUESDAY,
            config: RulesConfig = CONFIG) -> list[DayResult]:
    events = read_events(lines, {}, ZONE)
    assert not events.problems, events.problems
    return derive_days("qd-a", SCHEDULE, {}, events.obs["qd-a"], first, last, config)


def _checks(r: DayResult) -> list[tuple[SpotResult, str]]:
    """An inspector at the door at the start of the morning and of the afternoon."""
    return [(j.result, j.code.value) for j in (judge(r, time(8, 30), time(9, 30), TZ, CONFIG),
                                               judge(r, time(13, 30), time(14, 30), TZ, CONFIG))]


OFFLINE = (at(time(6, 50)), at(time(12, 5)))  # the network cut for the opening, back after it


def _offline_day(shift: Callable[[datetime], timedelta]) -> list[tuple[Message, datetime]]:
    """The late morning with the link cut 06:50-12:05 (real time): everything made meanwhile, readings and kept
    heartbeats, delivered at 12:05 as a backlog; the rest 2 s after it was made. `shift`: the clock's error."""
    real = [*_late_morning(), *beats("qd-a", every_minute(at(time(0)), at(time(0), WEDNESDAY)))]
    out = []
    for message in real:
        made = ts_of(message)  # the real moment (readings are made with the heartbeats' clock)
        got = OFFLINE[1] if OFFLINE[0] <= made < OFFLINE[1] else made + timedelta(seconds=2)
        out.append(((shifted([message], shift(made))[0] if shift(made) else message), got))
    return out


def _back_30_from_7_to_12(real: datetime) -> timedelta:
    # 7 s over the half hour: a heartbeat is identified by its time, and these beat on the minute (an agent's times
    # have microseconds), so the times said twice stay two heartbeats.
    return -timedelta(minutes=30, seconds=7) if at(time(7)) <= real < at(time(12)) else timedelta(0)


def test_the_honest_twin_offline_for_the_morning_fails_its_check_and_is_not_flagged() -> None:
    [r] = _derive(_lines(_offline_day(no_shift)))
    assert FLAG_CLOCK_STEPPED not in r.flags and not r.clock_steps
    assert _checks(r) == [(SpotResult.FAIL, "closed"), (SpotResult.PASS, "open")]
    assert r.late_open_s >= 25 * 60
    assert day_record(r, TZ).clock_stepped_minutes is None


def test_the_clock_set_back_offline_for_the_opening_is_found_by_its_kept_heartbeats() -> None:
    """Back 30 minutes at 07:00 (offline), forward again at 12:00 before reconnecting at 12:05: the morning's
    readings say 08:30-11:25, on time, and arrive as an ordinary backlog. The kept heartbeats show both steps."""
    lines = _lines(_offline_day(_back_30_from_7_to_12))
    without_boot = RulesConfig(clock_step_minutes=10_000)  # what the day would be without the rule: open on time
    [fooled] = _derive(lines, config=without_boot)
    assert fooled.verdict == Verdict.OPEN and fooled.late_open_s == 0
    [r] = _derive(lines)
    assert FLAG_CLOCK_STEPPED in r.flags
    assert (r.verdict, r.compliance, r.open_s) == (Verdict.UNKNOWN, 0.0, 0.0)
    assert r.visitors.elders == frozenset() and r.visitors.entries == 0
    assert [round(s.seconds / 60) for s in r.clock_steps] == [-30, 30]
    # When, by the time since boot: three days and an hour after the Saturday 06:00 boot, and six hours after that.
    assert [s.after_boot_s for s in r.clock_steps] == [(at(time(7)) - BOOTED).total_seconds(),
                                                      (at(time(12)) - BOOTED).total_seconds()]
    notes = [n for n in r.notes if "clock was set" in n]
    assert len(notes) == 2
    assert "set back by 30 min between 72h59m and 73h00m after the Pi booted" in notes[0]
    assert "set forward by 30 min between 77h59m and 78h00m after the Pi booted" in notes[1]
    assert day_record(r, TZ).clock_stepped_minutes == 30.1
    assert _checks(r) == [(SpotResult.UNVERIFIABLE, "clock_stepped")] * 2
    assert SpotReason.CLOCK_STEPPED.value == "clock_stepped"
    [alert] = anomalies(r, [], True, CONFIG)
    assert alert.cause_key == "anomaly:clock-stepped:qd-a:2026-10-13"
    assert (alert.kind.value, alert.level.value) == ("sensor_anomaly", "town")
    assert alert.evidence["step_minutes"] == -30.1 and alert.evidence["steps"] == 2


def test_the_step_is_found_whatever_order_the_heartbeats_arrive_in() -> None:
    lines = _lines(_offline_day(_back_30_from_7_to_12))
    random.Random(7).shuffle(lines)
    [r] = _derive(lines)
    assert [round(s.seconds / 60) for s in r.clock_steps] == [-30, 30]


def test_a_step_across_midnight_flags_both_days() -> None:
    """Set back 30 minutes at 00:10 Wednesday (real): the heartbeats of 00:10-00:39 say Tuesday 23:40-00:09. Each day
    alone, given what the worker loads around it, and the two together, hold the step."""
    real = every_minute(at(time(20)), at(time(4), WEDNESDAY))
    messages = beats("qd-a", real, lambda r: -timedelta(minutes=30, seconds=7) if r >= at(time(0, 10), WEDNESDAY)
                     else timedelta(0))
    lines = _lines([(m, ts_of(m) + timedelta(seconds=2)) for m in messages])
    both = _derive(lines, TUESDAY, WEDNESDAY)
    assert [FLAG_CLOCK_STEPPED in r.flags for r in both] == [True, True]
    assert all(r.verdict == Verdict.UNKNOWN for r in both)
    assert [FLAG_CLOCK_STEPPED in r.flags for r in (_derive(lines, TUESDAY, TUESDAY)[0],
                                                   _derive(lines, WEDNESDAY, WEDNESDAY)[0])] == [True, True]
    # Forward across midnight, too: 23:50 Tuesday made 00:20 Wednesday (offline: a time ahead received live would be
    # a clock fault), set right before the link is back at 05:00.
    messages = beats("qd-a", real, lambda r: timedelta(minutes=30) if at(time(23, 50)) <= r < at(time(3), WEDNESDAY)
                     else timedelta(0))
    lines = _lines([(m, at(time(5), WEDNESDAY)) for m in messages])
    assert [FLAG_CLOCK_STEPPED in r.flags for r in _derive(lines, TUESDAY, WEDNESDAY)] == [True, True]


def test_the_day_before_sees_a_step_at_its_edge_through_the_next_days_first_heartbeat() -> None:
    """The pair that shows a step may be the last heartbeat of one day and the first of the next: each day looks at
    the station's nearest heartbeat before and after it, within `clock_step_context_days`."""
    real = [at(time(22)), at(time(10), WEDNESDAY)]  # the agent stopped overnight, the clock put back meanwhile
    messages = beats("qd-a", real, lambda r: -timedelta(hours=1) if r.date() == WEDNESDAY else timedelta(0))
    lines = _lines([(m, ts_of(m) + timedelta(seconds=2)) for m in messages])
    assert [FLAG_CLOCK_STEPPED in r.flags for r in _derive(lines, TUESDAY, WEDNESDAY)] == [True, True]
    far = RulesConfig(clock_step_context_days=1 / 24)  # an hour: each neighbour is further from the other's day
    assert [FLAG_CLOCK_STEPPED in r.flags for r in _derive(lines, TUESDAY, WEDNESDAY, far)] == [False, False]


def test_honest_first_ntp_sync_after_boot_is_not_a_step() -> None:
    """A Pi without a real-time clock boots at 06:00 with the time it shut down with (Monday 22:00) and NTP sets it
    at 06:03: the heartbeats before say `clock: unsynced` and are left out. The boot before (Monday) is another."""
    booted = at(time(6))
    monday = beats("qd-a", every_minute(at(time(18), TUESDAY - timedelta(days=1)),
                                        at(time(22), TUESDAY - timedelta(days=1))))
    sync = at(time(6, 3))
    stale = at(time(22), TUESDAY - timedelta(days=1)) - booted
    tuesday = beats("qd-a", every_minute(booted + timedelta(seconds=30), at(time(18))),
                    lambda r: stale if r < sync else timedelta(0), boot=REBOOT, booted=booted - timedelta(seconds=20),
                    unsynced=lambda r: r < sync)
    lines = _lines([(m, ts_of(m) + timedelta(seconds=2)) for m in [*monday, *tuesday]])
    days = _derive(lines, TUESDAY - timedelta(days=1), TUESDAY)
    assert not any(FLAG_CLOCK_STEPPED in r.flags for r in days)
    # Had the agent not said so, the sync would be a step of eight hours on both days: the mark is what tells them.
    marked = [json.dumps({**json.loads(line), "payload": {k: v for k, v in json.loads(line)["payload"].items()
                                                          if k != "clock"}}) for line in lines]
    assert all(FLAG_CLOCK_STEPPED in r.flags for r in _derive(marked, TUESDAY - timedelta(days=1), TUESDAY))


def test_honest_drift_agent_restarts_reboots_and_small_ntp_steps_are_not_steps() -> None:
    """A crystal 500 ppm fast (43 s a day), NTP stepping it back by a second or two now and then, the agent stopped
    for five minutes at 10:00 (same boot), the Pi rebooted at 15:00 (a new boot id, its seconds from zero), the
    heartbeats of the morning kept through an outage and delivered out of order."""
    def drift(r: datetime) -> timedelta:
        since = (r - at(time(0))).total_seconds()
        return timedelta(seconds=since * 500e-6 - 2 * (since // 7200))

    morning = [r for r in every_minute(at(time(0)), at(time(15))) if not at(time(10)) <= r < at(time(10, 5))]
    rebooted = at(time(15)) + timedelta(seconds=40)
    afternoon = every_minute(rebooted + timedelta(seconds=50), at(time(0), WEDNESDAY))
    messages = [*beats("qd-a", morning, drift), *beats("qd-a", afternoon, boot=REBOOT, booted=rebooted)]
    received = [(m, max(ts_of(m), at(time(9))) + timedelta(seconds=2)) for m in messages]
    random.Random(3).shuffle(received)
    [r] = _derive(_lines(received))
    assert FLAG_CLOCK_STEPPED not in r.flags and not r.clock_steps


def test_older_agents_and_unsynced_heartbeats_are_left_out() -> None:
    """Heartbeats without a boot (an agent from before it) show nothing; one marked unsynced in the middle of a boot
    (its clock said 1970s-like nonsense for a moment) is not compared."""
    old = [(("eldercare/v1/qd-a/agent/heartbeat", encode(Heartbeat(
        v=1, station="qd-a", ts=r - timedelta(minutes=30 if at(time(7)) <= r < at(time(12)) else 0),
        version="0.9", uptime_s=1.0, outbox=0))), r) for r in every_minute(at(time(0)), at(time(18)))]
    [r] = _derive(_lines(old))
    assert FLAG_CLOCK_STEPPED not in r.flags
    odd = at(time(9))
    marked = beats("qd-a", every_minute(at(time(6)), at(time(12))),
                   lambda real: -timedelta(hours=3) if real == odd else timedelta(0), unsynced=lambda real: real == odd)
    [r] = _derive(_lines([(m, ts_of(m) + timedelta(seconds=2)) for m in marked]))
    assert FLAG_CLOCK_STEPPED not in r.flags


def test_a_step_under_the_margin_is_not_flagged_and_the_margin_is_configuration() -> None:
    lines = _lines([(m, ts_of(m) + timedelta(seconds=2)) for m in beats(
        "qd-a", every_minute(at(time(6)), at(time(12))),
        lambda r: -timedelta(minutes=4) if r >= at(time(8)) else timedelta(0))])
    assert FLAG_CLOCK_STEPPED not in _derive(lines)[0].flags
    assert FLAG_CLOCK_STEPPED in _derive(lines, config=RulesConfig(clock_step_minutes=3))[0].flags


@pytest.mark.parametrize("half", [{"boot_s": 5.0}, {"boot": BOOT}])
def test_a_hand_edited_file_with_half_the_boot_fields_is_a_clear_problem(half: dict[str, object]) -> None:
    line = json.dumps({"topic": "eldercare/v1/qd-a/agent/heartbeat",
                       "payload": {"v": 1, "station": "qd-a", "ts": at(time(9)).isoformat(), "version": "1",
                                   "uptime_s": 1.0, "outbox": 0, **half},
                       "received_at": at(time(9)).isoformat()})
    events = read_events([line], {}, ZONE)
    assert any("boot and boot_s go together" in p for p in events.problems), events.problems
