"""A backlog sent after a network outage while the platform was losing messages.

The station was cut off from the network all Monday; its agent kept everything and sends Monday's messages, oldest
first, when the network comes back on Tuesday morning. While it sends them, an ingester's session is lost: a window
of lost messages on Tuesday morning, in the time they were *sent*. What was lost is Monday's afternoon. The platform
knows it from what it did receive: the last of Monday's readings received before the window and the first received
after it lie hours apart in Monday's time. That stretch is judged like the window: the day is flagged with a note, and
a spot check touching it is unverifiable for the platform's loss. Without that, Monday afternoon had no door "open",
no counts, no faces and no heartbeats: the station's own equipment was taken to have been off (a flag, a town alert,
the check unverifiable as `devices_off`), and where its heartbeats got through, a station open all afternoon failed
its check.
"""

import json
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from cloud.derive.files import read_events
from cloud.rules.config import RulesConfig
from cloud.rules.day import DayResult
from cloud.rules.intervals import Interval
from cloud.rules.losses import FLAG_PLATFORM_LOST, backlog_gaps
from cloud.rules.observations import Obs
from cloud.rules.records import day_record
from cloud.rules.spotcheck import SpotReason, SpotResult, judge
from cloud.rules.station import derive_days
from tests.rules.conftest import SCHEDULE
from tests.rules.scenario import StationDay, visits_every

TZ = ZoneInfo("Asia/Shanghai")
MONDAY = date(2026, 10, 12)
TUESDAY = MONDAY + timedelta(days=1)
CONFIG = RulesConfig()
ELDERS = ["e-001", "e-002", "e-003"]
BACK = datetime.combine(TUESDAY, time(9, 30), TZ)  # the network is back: the outbox starts sending
RATE = timedelta(milliseconds=100)  # ten messages a second


def at(day: date, clock: time) -> datetime:
    return datetime.combine(day, clock, TZ)


def station_day(day: date, seq: dict[str, int]) -> StationDay:
    """Open both sessions (the door shut over lunch), elders every 20 minutes; each device's numbers go on from
    `seq` (as one agent's do from day to day)."""
    visits = (visits_every(time(8, 40), time(11, 20), 20, ELDERS, day=day)
              + visits_every(time(13, 40), time(16, 50), 20, ELDERS, day=day))
    return StationDay("qd-a", day, door=[(time(8, 20), time(11, 40)), (time(13, 20), time(17, 10))], visits=visits,
                      _seq=seq)


def stamped(payload: bytes) -> datetime:
    return datetime.fromisoformat(json.loads(payload)["ts"])


def replayed() -> list[tuple[str, bytes, datetime]]:
    """Every message with the time it was received: those stamped before the network came back in one backlog,
    oldest first at ten a second; the rest live, a second after their time."""
    seq: dict[str, int] = {}
    messages = sorted(station_day(MONDAY, seq).messages() + station_day(TUESDAY, seq).messages(),
                      key=lambda m: stamped(m[1]))
    backlog = [m for m in messages if stamped(m[1]) < BACK]
    live = [m for m in messages if stamped(m[1]) >= BACK]
    return ([(t, p, BACK + i * RATE) for i, (t, p) in enumerate(backlog)]
            + [(t, p, stamped(p) + timedelta(seconds=1)) for t, p in live])


def window_over(received: list[tuple[str, bytes, datetime]], first: datetime, last: datetime) -> Interval:
    """The window (in time received) in which the messages stamped from `first` to `last` were being sent."""
    times = [got for _, p, got in received if first <= stamped(p) < last]
    return (min(times) - RATE / 2).timestamp(), (max(times) + RATE / 2).timestamp()


def lines(received: list[tuple[str, bytes, datetime]], lost: Interval | None) -> list[str]:
    """`derive --events` lines of what reached the platform: those sent inside the window never did."""
    return [json.dumps({"topic": t, "payload": json.loads(p), "received_at": got.astimezone(UTC).isoformat()})
            for t, p, got in received if lost is None or not lost[0] <= got.timestamp() <= lost[1]]


def derive(text: list[str], first: date, last: date, losses: list[Interval]) -> list[DayResult]:
    events = read_events(text, {}, TZ)
    assert not events.problems, events.problems
    return derive_days("qd-a", SCHEDULE, {}, events.obs.get("qd-a", []), first, last, CONFIG, losses=losses)


def afternoon_lost() -> tuple[list[str], Interval]:
    received = replayed()
    lost = window_over(received, at(MONDAY, time(13, 0)), at(MONDAY, time(15, 0)))
    return lines(received, lost), lost


def test_monday_afternoon_lost_from_the_backlog_cannot_fail_its_check() -> None:
    text, lost = afternoon_lost()
    assert datetime.fromtimestamp(lost[0], TZ).date() == TUESDAY  # the window is Tuesday's, in time sent
    # Without the window known, the afternoon is blamed on the station's equipment.
    [blind] = derive(text, MONDAY, MONDAY, [])
    assert judge(blind, time(14, 0), time(14, 30), "Asia/Shanghai", CONFIG).code is SpotReason.DEVICES_OFF
    assert "equipment_off" in blind.flags
    [day] = derive(text, MONDAY, MONDAY, [lost])
    judgement = judge(day, time(14, 0), time(14, 30), "Asia/Shanghai", CONFIG)
    assert (judgement.result, judgement.code) == (SpotResult.UNVERIFIABLE, SpotReason.PLATFORM_LOST_MESSAGES)
    assert "were being sent from the station's outbox after an outage" in judgement.reason
    # The stretch runs from the last reading received before the window (the door shut at 11:40) to the first
    # received after it (a count of the minute to 15:00).
    record = day_record(day, "Asia/Shanghai")
    assert FLAG_PLATFORM_LOST in record.flags and "equipment_off" not in record.flags
    assert record.backlog_lost == ["11:40-15:00"]
    assert record.platform_lost == []  # the window itself touches Tuesday only
    assert any("outbox" in note and "11:40-15:00" in note and "Asia/Shanghai" in note for note in record.notes)
    # What the day shows is what was received: the verdict and compliance are those of the received data.
    assert day.verdict == blind.verdict and day.compliance == blind.compliance


def test_the_rest_of_monday_is_judged_as_before() -> None:
    text, lost = afternoon_lost()
    [day] = derive(text, MONDAY, MONDAY, [lost])
    for start, end in ((time(9, 0), time(10, 0)), (time(15, 30), time(16, 30))):
        assert judge(day, start, end, "Asia/Shanghai", CONFIG).result is SpotResult.PASS, (start, end)


def test_tuesday_live_is_not_a_backlog() -> None:
    """Tuesday's readings after 09:30 are live: the window is the platform's (Tuesday is flagged for it, as every
    station's day touching one), but nothing of Tuesday's is a lost backlog."""
    text, lost = afternoon_lost()
    [_, tuesday] = derive(text, MONDAY, TUESDAY, [lost])
    assert tuesday.backlog_lost == [] and tuesday.platform_lost == [lost]


def test_a_run_of_days_and_each_day_alone_agree() -> None:
    """The worker derives a run of dirty days, or one: the stretch is the same either way."""
    text, lost = afternoon_lost()
    run = derive(text, MONDAY, TUESDAY, [lost])
    alone = [derive(text, d, d, [lost])[0] for d in (MONDAY, TUESDAY)]
    assert [r.backlog_lost for r in run] == [r.backlog_lost for r in alone]
    assert [day_record(r, "Asia/Shanghai") for r in run] == [day_record(r, "Asia/Shanghai") for r in alone]


def test_the_whole_rest_of_the_day_lost_is_found_from_the_next_days_first_reading() -> None:
    """The window took Monday from 13:00 to its end: the first reading received after it is Tuesday's. Monday's
    derivation reads it (the station's first reading after the day) and flags the afternoon through midnight."""
    received = replayed()
    lost = window_over(received, at(MONDAY, time(13, 0)), at(TUESDAY, time(0, 0)))
    [day] = derive(lines(received, lost), MONDAY, MONDAY, [lost])
    assert day_record(day, "Asia/Shanghai").backlog_lost == ["11:40-00:00"]
    judgement = judge(day, time(16, 0), time(16, 30), "Asia/Shanghai", CONFIG)
    assert judgement.code is SpotReason.PLATFORM_LOST_MESSAGES


def obs(t: float, lag: float, kind: str = "flow") -> Obs:
    return Obs(t, kind, "counter-1", f"id-{t}", lag=lag)


def test_only_a_backlog_makes_a_stretch() -> None:
    late = CONFIG.late_delivery_minutes * 60
    window = [(10_000.0, 10_100.0)]
    # Live on both sides of the window: the window says it all.
    assert backlog_gaps([obs(9_900, 1), obs(10_150, 1)], window, late) == []
    # Sent late, received on both sides of it: the stretch between their own times.
    assert backlog_gaps([obs(10, 9_985), obs(200, 9_910)], window, late) == [(10, 200)]
    # Sent late but both before the window, or both after: nothing lost between them.
    assert backlog_gaps([obs(10, 9_900), obs(20, 9_905)], window, late) == []
    assert backlog_gaps([obs(10, 10_200), obs(20, 10_195)], window, late) == []
    # The last of the backlog before it, the first live message after it.
    assert backlog_gaps([obs(10, 9_985), obs(10_150, 1)], window, late) == [(10, 10_150)]
    # Received without times (`derive` lines without `received_at`): never a backlog.
    assert backlog_gaps([obs(10, 0), obs(200, 0)], window, late) == []
    # No window, nothing to do.
    assert backlog_gaps([obs(10, 9_985), obs(200, 9_910)], [], late) == []
