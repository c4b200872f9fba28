"""An honest station's agent, its broker connection and its clock: what the broker and a Pi without a clock battery do
must not flag the station's day as filled in after the fact, nor alert its town.

- The MQTT last will (`online: false`) is fixed when the agent connects, stamped with that moment; the broker publishes
  it whenever the connection dies without a goodbye (a power cut, a Wi-Fi drop, the agent reconnecting over a
  half-open socket), hours or days later.
- A Pi boots with the time fake-hwclock last saved (up to an hour before a power cut) until NTP sets the clock: its
  first heartbeat and `online: true` carry that time. Readings it takes meanwhile are held and re-stamped by the agent;
  those of a boot that ended before NTP answered cannot be, and go out marked `"clock": "unsynced"`.

Through the rules with each message's receipt time (`cloud derive` lines with `received_at`), as the worker judges the
store's rows.
"""

import json
import uuid
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from cloud.derive.files import read_events
from cloud.rules.alerts import anomalies
from cloud.rules.config import RulesConfig
from cloud.rules.day import DayResult, Verdict
from cloud.rules.spotcheck import SpotResult, judge
from cloud.rules.station import derive_days
from station_protocol import Flow, Heartbeat, Status, decode, encode
from station_protocol.topics import agent_topic, device_topic
from tests.gaming.attacks import FULL, Message, door_open_all_day, received, shut_day, ts_of, visits
from tests.rules.conftest import SCHEDULE
from tests.rules.scenario import TZ, StationDay

MONDAY = date(2026, 10, 12)
TUESDAY = MONDAY + timedelta(days=1)
WEDNESDAY = MONDAY + timedelta(days=2)
CONFIG = RulesConfig()
SHANGHAI = ZoneInfo("Asia/Shanghai")


def _at(day: date, h: int, m: int = 0, s: int = 0, ms: int = 0) -> datetime:
    return datetime.combine(day, time(h, m, s, ms * 1000), TZ)


def _open_day(day: date) -> list[Message]:
    """An open day as the agent sends it: heartbeats every minute (its default), door open through both sessions,
    elders coming in all day."""
    return StationDay("qd-a", day, door=FULL, visits=visits(day), heartbeat_minutes=1).messages()


def _status(online: bool, at: datetime) -> Message:
    return str(agent_topic("qd-a", "status")), encode(Status(v=1, station="qd-a", online=online, ts=at))


def _heartbeat(at: datetime) -> Message:
    beat = Heartbeat(v=1, station="qd-a", ts=at, version="1.0", uptime_s=9.0, outbox=3)
    return str(agent_topic("qd-a", "heartbeat")), encode(beat)


def _prompt(ts: datetime) -> datetime:
    return ts + timedelta(seconds=1)


def _derive(lines: list[str], day: date) -> DayResult:
    events = read_events(lines, {}, SHANGHAI)
    assert not events.problems, events.problems
    return derive_days("qd-a", SCHEDULE, {}, events.obs["qd-a"], day, day, CONFIG)[0]


def _town_alerts(r: DayResult) -> set[str]:
    return {a.cause_key.split(":")[1] for a in anomalies(r, [], True, CONFIG) if a.level == "town"}


def _judged(r: DayResult) -> tuple[Verdict, float | None, int, SpotResult]:
    return r.verdict, r.compliance, len(r.visitors.elders), judge(r, time(9), time(10), "Asia/Shanghai", CONFIG).result


def test_a_last_will_delivered_days_after_the_connection_it_was_set_on_flags_nothing() -> None:
    # Monday 07:00 the Wi-Fi drops for a minute; the agent reconnects (its new last will stamped 07:00:00.400) and
    # says `online: true`. Wednesday 09:00 the Pi loses power; the broker notices 1.5 keep-alives later and publishes
    # that will, 50 hours after its time. Monday was heard live throughout.
    monday = _open_day(MONDAY)
    reconnect = [_status(True, _at(MONDAY, 7, 0, 0, 600))]
    will = [_status(False, _at(MONDAY, 7, 0, 0, 400))]
    heard = _derive(received(monday + reconnect, _prompt), MONDAY)
    r = _derive(received(monday + reconnect, _prompt) + received(will, lambda _ts: _at(WEDNESDAY, 9, 1, 30)),
                MONDAY)
    assert "late_evidence" not in r.flags and "late-evidence" not in _town_alerts(r)
    assert not any("set aside" in n for n in r.notes)
    assert _judged(r) == _judged(heard) == (Verdict.OPEN, 1.0, 8, SpotResult.PASS)


def test_the_first_heartbeat_after_a_power_cut_stamped_before_ntp_flags_nothing() -> None:
    # Monday open, heard live; the power is switched off at the main at 17:10. Tuesday 08:20 the Pi boots with the
    # time fake-hwclock saved at 16:17 on Monday and connects before NTP answers: its `online: true` and first
    # heartbeat say 16:17:3x Monday (a moment Monday was heard live) and reach the cloud at 08:20 on Tuesday. From
    # 08:21 the clock is right.
    monday = [m for m in _open_day(MONDAY) if ts_of(m) < _at(MONDAY, 17, 10)]
    boot = [_status(True, _at(MONDAY, 16, 17, 31)), _heartbeat(_at(MONDAY, 16, 17, 31, 200))]
    tuesday = [m for m in _open_day(TUESDAY) if ts_of(m) >= _at(TUESDAY, 8, 21)]
    lines = (received(monday, _prompt) + received(boot, lambda _ts: _at(TUESDAY, 8, 20, 30))
             + received(tuesday, _prompt))
    heard = _derive(received(monday, _prompt), MONDAY)
    r = _derive(lines, MONDAY)
    assert "late_evidence" not in r.flags and "late-evidence" not in _town_alerts(r)
    assert _judged(r) == _judged(heard) == (Verdict.OPEN, 1.0, 8, SpotResult.PASS)
    assert _judged(_derive(lines, TUESDAY)) == (Verdict.OPEN, 1.0, 8, SpotResult.PASS)


def _unsynced(message: Message) -> Message:
    data = json.loads(message[1])
    return message[0], json.dumps({**data, "clock": "unsynced"}).encode()


def test_readings_an_agent_could_not_re_stamp_count_on_no_day() -> None:
    # Tuesday 08:20 the Pi boots with Monday 16:17 on its clock and the 4G router not up yet; at 08:50 a loose plug
    # cuts its power again, before NTP ever answered. Its held readings of those 30 minutes (the door opened, two
    # elders in) cannot be re-stamped in the next boot: they go out marked "unsynced", stamped Monday 16:17-16:47.
    monday = _open_day(MONDAY)
    first_boot = StationDay("qd-a", MONDAY, door=[(time(16, 17), time(16, 46))], camera=False,
                            visits=[(time(16, 30), "e-001", "elder"), (time(16, 40), "e-002", "elder")]).messages()
    held = [_unsynced(m) for m in first_boot if not m[0].endswith(("/heartbeat", "/status"))]
    assert decode(held[0][0], held[0][1], now=_at(TUESDAY, 8, 56)).clock_fault is not None
    lines = received(monday, _prompt) + received(held, lambda _ts: _at(TUESDAY, 8, 56))
    events = read_events(lines, {}, SHANGHAI)
    assert events.clock_faults["qd-a"] == {MONDAY: len(held)}
    r = derive_days("qd-a", SCHEDULE, {}, events.obs["qd-a"], MONDAY, MONDAY, CONFIG)[0]
    heard = _derive(received(monday, _prompt), MONDAY)
    assert "late_evidence" not in r.flags and "late-evidence" not in _town_alerts(r)
    assert r.visitors.entries == heard.visitors.entries  # counted on no day, not on Monday
    assert _judged(r) == _judged(heard)


# What a station trying to game its day could do with the same messages: nothing.

def _offline_at_each_heartbeat(day: list[Message]) -> list[Message]:
    return [_status(False, ts_of(m)) for m in day if m[0].endswith("/heartbeat")]


def test_an_offline_status_stamped_with_each_heartbeat_does_not_make_a_shut_day_unknown() -> None:
    # `online: false` published with the very time of every heartbeat, live or at night after the day was judged:
    # evidence of the same moment wins, the day stays closed and the check failed.
    shut = shut_day("qd-a", TUESDAY)
    for when in (_prompt, lambda _ts: _at(TUESDAY, 22)):
        r = _derive(received(shut, _prompt) + received(_offline_at_each_heartbeat(shut), when), TUESDAY)
        assert _judged(r) == (Verdict.CLOSED, 0.0, 0, SpotResult.FAIL)


def test_late_heartbeats_with_a_filled_in_day_still_leave_it_closed() -> None:
    # A shut day heard live; at night the door "open all day", counts, and heartbeats and statuses for the day.
    shut = shut_day("qd-a", TUESDAY)
    counts = [(str(device_topic("qd-a", "counter-1", "flow")),
               encode(Flow.model_validate({"v": 1, "id": uuid.uuid4(), "station": "qd-a",
                                           "device": "counter-1", "seq": 5000 + i, "ts": _at(TUESDAY, 9, i),
                                           "period_s": 60, "in": 1, "out": 0})))
              for i in range(1, 50, 7)]
    life = [_heartbeat(_at(TUESDAY, 9, m, 30)) for m in range(60)] + [_status(True, _at(TUESDAY, 9, 0, 30))]
    filler = door_open_all_day("qd-a", TUESDAY) + counts + life + _offline_at_each_heartbeat(shut)
    r = _derive(received(shut, _prompt) + received(filler, lambda _ts: _at(TUESDAY, 22)), TUESDAY)
    assert _judged(r) == (Verdict.CLOSED, 0.0, 0, SpotResult.FAIL)
    assert r.visitors.entries == 0 and "late_evidence" in r.flags and "late-evidence" in _town_alerts(r)


def test_a_shut_day_with_the_network_cut_is_known_closed_by_the_heartbeats_kept_through_it() -> None:
    # The agent left on, the router unplugged all Tuesday: it keeps its heartbeats and sends them with the outbox's
    # replay at 07:00 on Wednesday. Nothing was heard live that day; the day is known and closed, the check failed,
    # as with the network up. Without those heartbeats the same day was unknown and the check unverifiable.
    shut = shut_day("qd-a", TUESDAY)
    replayed = _derive(received(shut, lambda _ts: _at(WEDNESDAY, 7)), TUESDAY)
    assert _judged(replayed) == (Verdict.CLOSED, 0.0, 0, SpotResult.FAIL)
    assert "late_evidence" not in replayed.flags
    nothing = derive_days("qd-a", SCHEDULE, {}, [], TUESDAY, TUESDAY, CONFIG)[0]
    assert _judged(nothing)[3] is SpotResult.UNVERIFIABLE
