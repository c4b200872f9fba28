"""Gaming a station's verdict, attack by attack, through the protocol decoder and the rules exactly as `cloud
derive` and the worker run them (the same streams go through Mosquitto, ingest and the worker in
test_through_the_cloud.py). Each test says what the station tried and what a bureau sees."""

import uuid
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from cloud.alerts.kinds import AlertKind
from cloud.rules.alerts import anomalies, equipment_off_alert, offline_alert
from cloud.rules.config import RulesConfig
from cloud.rules.day import DayResult, Verdict
from cloud.rules.records import MonthRecord, day_record
from cloud.rules.rollup import month_record
from cloud.rules.spotcheck import SpotResult, judge
from station_protocol import Door, encode
from tests.gaming.attacks import (
    ELDERS,
    FULL,
    Message,
    button_games,
    fresh_ids,
    heartbeat_flood,
    open_day,
    photographs,
    shut_day,
)
from tests.rules.conftest import derive
from tests.rules.scenario import StationDay, visits_every

MONDAY = date(2026, 10, 12)
CONFIG = RulesConfig()
TZ = "Asia/Shanghai"


def _month(days: list[DayResult]) -> MonthRecord:
    records = [day_record(d, TZ) for d in days]
    return month_record("qd-a", "2026-10", "3A", records, working_days_in_month=22, as_of=records[-1].date,
                        month_end=date(2026, 10, 31), config=CONFIG)


def spot(r: DayResult, start: time = time(9), end: time = time(10)) -> SpotResult:
    return judge(r, start, end, TZ, CONFIG).result


def town_alerts(r: DayResult, camera_expected: bool = True) -> set[str]:
    """The day's alerts the town sees: sensor anomalies at town level, equipment off, station offline."""
    found = {a.cause_key.split(":")[1] for a in anomalies(r, [], camera_expected, CONFIG) if a.level == "town"}
    if equipment_off_alert(r, TZ) is not None:
        found.add("equipment-off")
    if offline_alert(r, CONFIG) is not None:
        found.add("offline")
    return found


@pytest.mark.parametrize("every", range(1, 61))
def test_heartbeats_too_seldom_never_turn_a_shut_day_into_an_unflagged_unknown(every: int) -> None:
    # The agent's heartbeat interval is the station's own setting. A shut day must stay closed and fail the check,
    # or every unknown stretch is flagged as the equipment off and the town alerted.
    r = derive(shut_day("qd-a", MONDAY, heartbeat_minutes=every), MONDAY)
    assert r.compliance == 0.0
    if r.verdict is Verdict.CLOSED and spot(r) is SpotResult.FAIL:
        return
    assert "equipment_off" in r.flags and "equipment-off" in town_alerts(r), (every, r.verdict, spot(r))
    assert all(e - s >= CONFIG.equipment_off_minutes * 60 for s, e in r.equipment_off)


def test_a_last_will_every_few_minutes_does_not_cut_a_shut_day_below_the_grace() -> None:
    # The agent drops its connection for two minutes every ten (the broker publishes its last will each time).
    flaps = [(time(h, m), time(h, m + 2)) for h in range(24) for m in range(3, 60, 10)]
    r = derive(shut_day("qd-a", MONDAY, heartbeat_minutes=1, offline=flaps), MONDAY)
    assert (r.verdict, r.compliance, spot(r)) == (Verdict.CLOSED, 0.0, SpotResult.FAIL)


def test_the_same_readings_under_fresh_ids_count_once_and_are_flagged() -> None:
    honest = open_day("qd-a", MONDAY)
    r0 = derive(honest, MONDAY)
    for times in (1, 3):
        r = derive(honest + [m for _ in range(times) for m in fresh_ids(honest)], MONDAY)
        assert (r.visitors.entries, r.visitors.person_times, r.visitors.elders) == (
            r0.visitors.entries, r0.visitors.person_times, r0.visitors.elders)
        assert r.compliance == r0.compliance
        assert "readings_repeated" in r.flags and "readings_repeated" not in r0.flags
        assert "readings-repeated" in town_alerts(r)
        assert any("counted once" in n for n in day_record(r, TZ).notes)


def test_repeated_counts_do_not_give_photographs_their_crossings() -> None:
    # One person walks in at 09:00 while three elders' photographs are shown; the count is re-sent twice more.
    door = StationDay("qd-a", MONDAY, door=FULL, counter=False, camera=False).messages()
    shown = photographs("qd-a", MONDAY, time(9), ELDERS[:3], crossings=1)
    counts = [m for m in shown if m[0].endswith("/flow")]
    r = derive(door + shown + fresh_ids(counts) + fresh_ids(counts), MONDAY)
    assert (len(r.visitors.elders), len(r.visitors.uncorroborated)) == (1, 2)


def _door_toggled(open_minutes: int, closed_minutes: int) -> list[Message]:
    """A script flips the door magnet: open for `open_minutes`, closed for `closed_minutes`, all day; the counter
    reports zeros every minute the door is open; there is no camera."""
    spans = []
    t = 8 * 60
    while t < 17 * 60 + 30:
        shut = min(t + open_minutes, 23 * 60 + 59)
        spans.append((time(t // 60, t % 60), time(shut // 60, shut % 60)))
        t += open_minutes + closed_minutes
    return StationDay("qd-a", MONDAY, door=spans, camera=False).messages()


@pytest.mark.parametrize(("open_minutes", "closed_minutes"), [(60, 1), (20, 10), (14, 14), (10, 20), (5, 1)])
def test_a_door_toggled_by_a_script_with_nobody_coming_is_never_silently_open(open_minutes: int,
                                                                             closed_minutes: int) -> None:
    r = derive(_door_toggled(open_minutes, closed_minutes), MONDAY)
    assert r.visitors.has_counter and r.visitors.entries == 0
    if r.verdict is Verdict.OPEN or spot(r) is SpotResult.PASS:
        assert "door_open_idle" in r.flags and "door-open-idle" in town_alerts(r)
    else:
        assert r.compliance is not None and r.compliance < CONFIG.open_share


def test_a_propped_door_with_the_counter_and_camera_unplugged_alerts_the_town() -> None:
    r = derive(StationDay("qd-a", MONDAY, door=FULL, counter=False, camera=False).messages(), MONDAY)
    assert r.verdict is Verdict.OPEN  # the door's minutes count as open ...
    assert "door-unwatched" in town_alerts(r, camera_expected=True)  # ... but the town sees them unwatched
    # The same when it is the counter that worked the week before (a station with no camera).
    assert "door-unwatched" in {a.cause_key.split(":")[1]
                                for a in anomalies(r, [], camera_expected=False, config=CONFIG, counter_expected=True)}
    # A station that never had a counter or a camera working is a door-only station: its door is all it can show.
    assert "door-unwatched" not in town_alerts(r, camera_expected=False)


def test_someone_walking_back_and_forth_adds_no_elder_served() -> None:
    # A member of staff walks in and out forty times, seen by the camera; then the same with the face hidden.
    back_and_forth = [(time(9 + i // 12, (i % 12) * 5), "s-1", "staff") for i in range(40)]
    seen = StationDay("qd-a", MONDAY, door=FULL, visits=back_and_forth,
                      exits=[(t, 1) for t, _, _ in back_and_forth]).messages()
    r = derive(seen, MONDAY)
    assert r.visitors.entries == 40 and r.visitors.person_times == 0 and not r.visitors.elders
    unseen = StationDay("qd-a", MONDAY, door=FULL, visits=back_and_forth, camera=False,
                        exits=[(t, 1) for t, _, _ in back_and_forth]).messages()
    r = derive(unseen, MONDAY)
    assert r.visitors.person_times == 40 and not r.visitors.elders  # person-times are reported, never elders
    month = _month([r])
    assert month.elders == 0 and not month.met  # a counter alone never meets the threshold


def test_an_in_only_counter_cannot_keep_the_station_open_past_its_session() -> None:
    # The counter's "out" beam is covered: one person counted in at 08:40, never out; the door stays shut.
    r = derive(StationDay("qd-a", MONDAY, visits=[(time(8, 40), "", "unknown")], camera=False).messages(), MONDAY)
    assert "counts_unbalanced" in r.flags and r.timeline.reconciled == 1
    assert r.verdict is not Verdict.OPEN  # open until 11:30 at most: the afternoon is closed
    assert spot(r, time(14), time(15)) is SpotResult.FAIL


@pytest.mark.parametrize("unplugged", ["counter", "camera", "door", "all three"])
def test_unplugging_a_sensor_on_a_shut_day_does_not_make_it_unknown(unplugged: str) -> None:
    # The agent keeps running (its heartbeats are how it is known): a shut day stays closed and failed. An unplugged
    # door magnet reports `fault` (its tamper loop); an unplugged counter or camera reports nothing.
    day = StationDay("qd-a", MONDAY, counter=unplugged not in ("counter", "all three"),
                     camera=unplugged not in ("camera", "all three"))
    messages = day.messages()
    if unplugged in ("door", "all three"):
        fault = Door(v=1, id=uuid.uuid4(), station="qd-a", device="door-1", seq=0, state="fault",
                     ts=datetime.combine(MONDAY, time(8), ZoneInfo(TZ)))
        messages.append(("eldercare/v1/qd-a/door-1/door", encode(fault)))
    r = derive(messages, MONDAY)
    assert (r.verdict, r.compliance, spot(r)) == (Verdict.CLOSED, 0.0, SpotResult.FAIL)


def test_unplugging_the_agent_for_a_shut_day_is_not_better_than_closed() -> None:
    # Monday and Wednesday open; Tuesday shut. The station either lets the agent run (closed) or unplugs it.
    tuesday = MONDAY + timedelta(days=1)
    honest = open_day("qd-a", MONDAY) + shut_day("qd-a", tuesday) + open_day("qd-a", tuesday + timedelta(days=1))
    pulled = open_day("qd-a", MONDAY) + open_day("qd-a", tuesday + timedelta(days=1))
    closed, unplugged = (derive(m, tuesday) for m in (honest, pulled))
    assert closed.verdict is Verdict.CLOSED and unplugged.verdict is Verdict.UNKNOWN
    assert unplugged.compliance == closed.compliance == 0.0  # unknown minutes are never open
    # It cannot fail a check the sensors judge, but the check is not passed either: the town is alerted to go.
    assert spot(closed) is SpotResult.FAIL and spot(unplugged) is SpotResult.UNVERIFIABLE
    assert offline_alert(unplugged, CONFIG) is not None  # the live check alerts the town within 30 minutes
    assert offline_alert(unplugged, CONFIG).kind is AlertKind.STATION_OFFLINE  # type: ignore[union-attr]
    # The month's compliance is the same either way.
    wednesday = tuesday + timedelta(days=1)
    with_closed = _month([derive(honest, MONDAY), closed, derive(honest, wednesday)])
    with_unplugged = _month([derive(pulled, MONDAY), unplugged, derive(pulled, wednesday)])
    assert with_closed.compliance is not None and with_closed.compliance < 0.7
    assert with_unplugged.compliance == with_closed.compliance


def test_a_heartbeat_flood_is_not_opening() -> None:
    r = derive(shut_day("qd-a", MONDAY) + heartbeat_flood("qd-a", MONDAY, time(8), 10, every_s=1), MONDAY)
    assert (r.verdict, r.compliance, spot(r), spot(r, time(14), time(15))) == (
        Verdict.CLOSED, 0.0, SpotResult.FAIL, SpotResult.FAIL)


def test_emergency_button_games_are_not_activity() -> None:
    r = derive(shut_day("qd-a", MONDAY, calls=button_games(MONDAY, 34)), MONDAY)
    assert (r.verdict, r.compliance, spot(r)) == (Verdict.CLOSED, 0.0, SpotResult.FAIL)
    assert r.visitors.person_times == 0 and not r.visitors.elders


def test_an_elder_walking_in_with_photographs_of_others_gets_one_elder() -> None:
    # The photo attack end to end on the decoder's path: elders visiting all day, plus twenty photographs shown
    # within a minute as one of them walks in.
    honest = StationDay("qd-a", MONDAY, door=FULL, visits=visits_every(time(8, 40), time(11, 20), 10, ELDERS[:4]))
    r0 = derive(honest.messages(), MONDAY)
    extra = photographs("qd-a", MONDAY, time(14), [f"e-{i:03d}" for i in range(100, 120)], crossings=1)
    r = derive(honest.messages() + extra, MONDAY)
    assert len(r.visitors.elders) <= len(r0.visitors.elders) + 1
    assert "faces_uncorroborated" in r.flags and "faces-uncorroborated" in town_alerts(r)


def test_acknowledging_old_calls_before_the_assessment_does_not_make_them_answered(tmp_path: Path) -> None:
    # A station's staff may acknowledge their own station's calls. One answered at once, one acknowledged a month
    # later to tidy the record, one pressed and cancelled by the elder: one answered.
    from cloud.api.yearfacts import year_facts
    from cloud.store.db import make_engine, make_session_factory
    from cloud.store.migrate import upgrade
    from cloud.store.models import Alert, Station

    engine = make_engine(f"sqlite:///{tmp_path / 'store.db'}")
    upgrade(engine)
    pressed = datetime(2026, 3, 2, 9, tzinfo=ZoneInfo(TZ))
    acks = [pressed + timedelta(minutes=2), pressed + timedelta(days=30), None]
    with make_session_factory(engine)() as session:
        station = Station(id="qd-a", name="A", town="汇龙镇", grade="3A", weekdays="1-5", hours="08:30-11:30",
                          open_on_holidays=False, timezone=TZ)
        session.add(station)
        session.flush()
        for n, ack in enumerate(acks):
            session.add(Alert(kind="emergency_call", station_id="qd-a", cause_key=f"call:qd-a:c-{n}",
                              status="resolved" if ack is None else "acknowledged", level="station",
                              raised_at=pressed + timedelta(hours=n), acknowledged_at=ack and ack + timedelta(hours=n),
                              call_id=f"c-{n}", evidence={}, resolved_by="elder" if ack is None else None))
        session.commit()
        (facts,) = year_facts(session, [station], 2026, timedelta(minutes=CONFIG.call_escalate_minutes))
    engine.dispose()
    assert (facts.calls, facts.calls_answered) == (3, 1)
    # The sheet says what "answered" means: acknowledged within the escalation time.
    from cloud.api.assessment import assessment

    sheet = assessment(facts, subsidy_cny=CONFIG.subsidy_cny, pass_score=CONFIG.pass_score,
                       min_known_share=CONFIG.month_min_known_share, answer_minutes=CONFIG.call_escalate_minutes)
    (row,) = [r for r in sheet.rows if "专用求助电话" in r[0]]
    assert row[1] == "1/3 次及时响应" and f"{CONFIG.call_escalate_minutes:g} 分钟内确认" in row[4]
    assert row[3] == "无法确认"  # the rubric asks for a help line, which the assessors see: evidence, not a verdict


def _strangers(every_minutes: int = 25) -> list[tuple[time, str, str]]:
    """A stranger's face before the camera every `every_minutes` minutes all day (a screen or a poster)."""
    return [(time(h, m), f"anon-{h:02d}{m:02d}", "unknown") for h in range(8, 17)
            for m in range(0, 60, every_minutes)]


@pytest.mark.parametrize("counter", ["reporting zeros", "unplugged"])
def test_a_screen_of_faces_before_the_camera_with_the_door_shut_is_flagged(counter: str) -> None:
    # Door shut all day; the camera sees a stranger every 25 minutes and nobody crosses the door. The counter either
    # reports zeros every minute or is unplugged.
    messages = StationDay("qd-a", MONDAY, visits=_strangers(), counter=False).messages()
    if counter == "reporting zeros":
        messages += [m for m in StationDay("qd-a", MONDAY, door=[(time(8), time(17, 30))], camera=False).messages()
                     if m[0].endswith("/flow")]
    r = derive(messages, MONDAY)
    assert r.visitors.entries == 0 and r.visitors.anonymous
    # The faces' minutes count (a counter stuck at zero in winter looks the same), but never silently:
    assert "faces_unbacked" in r.flags and "faces-unbacked" in town_alerts(r)
    assert day_record(r, TZ).faces_unbacked == ["08:30-11:30", "13:30-17:00"]


def test_visitors_who_walk_in_are_not_flagged_as_unbacked() -> None:
    # Winter: the door shut, elders walking in all day (counted and seen): open, and no flag.
    r = derive(StationDay("qd-a", MONDAY, visits=visits_every(time(8, 35), time(16, 55), 20, ELDERS)).messages(),
               MONDAY)
    assert r.verdict is Verdict.OPEN and "faces_unbacked" not in r.flags
