"""A station that answers none of the cloud's time checks (cloud.rules.unanswered): the day holding the checks sent
while it was heard live, none answered, is judged on nothing, as one whose clock was found behind. Through the rules
with each message's receipt time, as the worker and `cloud derive` judge it."""

import json
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from cloud.derive.files import read_events, read_time_checks
from cloud.rules.alerts import anomalies
from cloud.rules.config import RulesConfig
from cloud.rules.day import DayResult, Verdict
from cloud.rules.records import day_record
from cloud.rules.spotcheck import SpotReason, SpotResult, judge
from cloud.rules.station import derive_days
from cloud.rules.unanswered import Ask
from tests.gaming.attacks import Message, answers, checks_every, open_day, received, shifted
from tests.rules.conftest import SCHEDULE

TUESDAY = date(2026, 10, 13)
TZ = "Asia/Shanghai"
SHANGHAI = ZoneInfo(TZ)
CONFIG = RulesConfig()
# The sender's default: a check about every 15 minutes (from 00:07, when the day's first heartbeats have come).
QUARTERLY = checks_every(TUESDAY, 15, time(0, 7))


def _asks(asked: list[datetime]) -> list[Ask]:
    """The checks as the sender records them: `check-i` for the i-th, as `answers` echoes them."""
    return [Ask(f"check-{i}", at.timestamp()) for i, at in enumerate(asked)]


def _derive(messages: list[Message], asks: list[Ask], config: RulesConfig = CONFIG,
            when: Callable[[datetime], datetime] = lambda ts: ts + timedelta(seconds=2),
            day: date = TUESDAY) -> DayResult:
    events = read_events(received(messages, when), {}, SHANGHAI)
    assert not events.problems, events.problems
    return derive_days("qd-a", SCHEDULE, {}, events.obs.get("qd-a", []), day, day, config, asks=asks)[0]


def _flagged(r: DayResult) -> bool:
    return "clock_unanswered" in r.flags


def test_an_agent_that_answers_is_not_flagged() -> None:
    r = _derive([*open_day("qd-a", TUESDAY), *answers("qd-a", QUARTERLY)], _asks(QUARTERLY))
    assert not _flagged(r) and r.verdict is Verdict.OPEN
    record = day_record(r, TZ)
    assert (record.time_checks, record.time_checks_asked, record.time_checks_unanswered) == (96, 96, 0)


def test_a_station_heard_live_all_day_that_answers_nothing_counts_nowhere() -> None:
    """Open all day by its readings, its agent connected (heartbeats every 5 minutes), yet no check answered: the
    clock may be behind, and the day is judged as if it were found so."""
    r = _derive(open_day("qd-a", TUESDAY), _asks(QUARTERLY))
    assert _flagged(r) and "clock_behind" not in r.flags
    assert r.verdict is Verdict.UNKNOWN and r.open_s == 0 and r.visitors.person_times == 0
    record = day_record(r, TZ)
    assert (record.time_checks, record.time_checks_asked, record.time_checks_unanswered) == (0, 96, 96)
    assert any("answered none of the cloud's time checks" in n for n in record.notes)
    spot = judge(r, time(9), time(10), TZ, CONFIG)
    assert (spot.result, spot.code) == (SpotResult.UNVERIFIABLE, SpotReason.CLOCK_UNANSWERED)
    [alert] = anomalies(r, [], camera_expected=True, config=CONFIG)
    assert alert.cause_key == "anomaly:clock-unanswered:qd-a:2026-10-13" and alert.level.value == "town"
    assert alert.evidence["checks_unanswered"] == 96


def test_the_same_station_behind_and_silent_is_flagged_by_its_receipts() -> None:
    """Its clock 25 minutes behind: every stamp early, every receipt at the real time. Heard live is judged on the
    receipts, so the checks count as sent to a connected agent."""
    behind = timedelta(minutes=25)
    r = _derive(shifted(open_day("qd-a", TUESDAY), -behind), _asks(QUARTERLY),
                when=lambda ts: ts + behind + timedelta(seconds=2))
    assert _flagged(r) and r.verdict is Verdict.UNKNOWN


def test_checks_sent_while_the_agent_was_away_do_not_count() -> None:
    """No message received from 07:00 to 19:00 (the agent away; the broker dropped the checks then): only the
    checks of the hours heard live count, and a handful below the threshold flags nothing."""
    away = [m for m in open_day("qd-a", TUESDAY)
            if not time(7) <= datetime.fromisoformat(_ts(m)).astimezone(SHANGHAI).time() < time(19)]
    asked = checks_every(TUESDAY, 15, time(7), time(19))
    r = _derive(away, _asks(asked))
    assert not _flagged(r) and r.asked.live == 0
    # One more hour heard live with its checks unanswered: at the threshold, flagged.
    asked = [*asked, *checks_every(TUESDAY, 15, time(5), time(5, 50))]
    r = _derive(away, _asks(asked))
    assert _flagged(r) and r.asked.live == 4


def test_a_station_with_nothing_received_has_no_check_held_against_it() -> None:
    r = _derive([], _asks(QUARTERLY))
    assert not _flagged(r) and r.asked.live == 0


def test_one_answer_among_many_is_enough() -> None:
    """An agent whose clock became trusted at 16:00 answers from then on (here only its first): not this rule's to
    flag."""
    first = next(i for i, at in enumerate(QUARTERLY) if at.astimezone(SHANGHAI).time() >= time(16))
    r = _derive([*open_day("qd-a", TUESDAY), *answers("qd-a", QUARTERLY)[first:first + 1]], _asks(QUARTERLY))
    assert not _flagged(r) and r.asked.unanswered_n == 95 and r.verdict is Verdict.OPEN


def test_answers_received_late_through_the_outbox_count() -> None:
    """An honest agent whose link dropped at 09:00: its answers (stamped when it answered) and readings reach the
    cloud from its outbox at 12:00. Matched by the check's id, whenever they arrived."""
    reconnect = datetime.combine(TUESDAY, time(12), SHANGHAI)

    def when(ts: datetime) -> datetime:
        if datetime.combine(TUESDAY, time(9), SHANGHAI) <= ts < reconnect:
            return reconnect + timedelta(seconds=5)
        return ts + timedelta(seconds=2)

    r = _derive([*open_day("qd-a", TUESDAY), *answers("qd-a", QUARTERLY)], _asks(QUARTERLY), when=when)
    assert not _flagged(r) and r.asked.unanswered_n == 0


def test_threshold_zero_turns_the_rule_off_and_it_is_configurable() -> None:
    assert not _flagged(_derive(open_day("qd-a", TUESDAY), _asks(QUARTERLY),
                                RulesConfig(clock_unanswered_checks=0)))
    three = QUARTERLY[40:43]
    assert not _flagged(_derive(open_day("qd-a", TUESDAY), _asks(three)))
    assert _flagged(_derive(open_day("qd-a", TUESDAY), _asks(three), RulesConfig(clock_unanswered_checks=3)))


def test_checks_belong_to_the_local_day_they_were_asked_in() -> None:
    """Shanghai's midnight is 16:00 UTC: checks asked from 23:00 on the Monday (Shanghai) to 01:00 on the Tuesday
    are split between the two days by the station's zone, not by the UTC date."""
    monday = TUESDAY - timedelta(days=1)
    night = [datetime.combine(monday, time(23), SHANGHAI) + timedelta(minutes=15 * i) for i in range(8)]
    assert [at.astimezone(UTC).date() for at in night] == [monday] * 8  # all on Monday by UTC
    beats = [*open_day("qd-a", monday), *open_day("qd-a", TUESDAY)]
    tuesday = _derive(beats, _asks(night))
    monday_r = _derive(beats, _asks(night), day=monday)
    assert tuesday.asked.live == 4 and _flagged(tuesday)
    assert monday_r.asked.live == 4 and _flagged(monday_r)
    # An answer to the check at 23:59:59 stamped just after midnight is the Monday's answer.
    last = [datetime.combine(monday, time(23, 59, 59), SHANGHAI)]
    r = _derive([*beats, *answers("qd-a", last, delay=timedelta(seconds=2))], _asks(last),
                RulesConfig(clock_unanswered_checks=1), day=monday)
    assert not _flagged(r) and r.asked.live == 1 and r.asked.unanswered_n == 0


def test_the_time_checks_file_reads_and_refuses_bad_lines() -> None:
    asks = read_time_checks("station,check,asked_at\nqd-a,c-2,2026-10-13T02:00:00+00:00\n"
                            "qd-a,c-1,2026-10-13T01:00:00+00:00\n")
    assert asks == {"qd-a": [Ask("c-1", datetime(2026, 10, 13, 1, tzinfo=UTC).timestamp()),
                             Ask("c-2", datetime(2026, 10, 13, 2, tzinfo=UTC).timestamp())]}
    for bad, said in (("station,when\n", "header"), ("station,check,asked_at\nqd-a,c,2026-10-13T01:00\n", "offset"),
                      ("station,check,asked_at\nqd-a,c,yesterday\n", "line 2")):
        try:
            read_time_checks(bad)
        except ValueError as exc:
            assert said in str(exc)
        else:
            raise AssertionError(bad)


def _ts(message: Message) -> str:
    return str(json.loads(message[1])["ts"])
