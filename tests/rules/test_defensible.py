"""Verdicts a station cannot turn and that are fair to it: each case a station or a bureau could dispute, through
the protocol decoder and the rules, as `cloud derive` and the worker run them."""

from datetime import date, time, timedelta
from zoneinfo import ZoneInfo

from cloud.alerts.kinds import AlertKind
from cloud.derive.files import read_events
from cloud.rules.alerts import anomalies, equipment_off_alert
from cloud.rules.config import RulesConfig
from cloud.rules.day import DayResult, Verdict
from cloud.rules.records import DayRecord, day_record
from cloud.rules.rollup import month_record
from cloud.rules.spotcheck import SpotResult, judge, vetoes
from cloud.rules.station import derive_days
from tests.rules.conftest import SCHEDULE, as_lines, derive
from tests.rules.scenario import StationDay, visits_every

MONDAY = date(2026, 10, 12)
CONFIG = RulesConfig()
TZ = "Asia/Shanghai"
ELDERS = ["e-001", "e-002", "e-003", "e-004"]
FULL = [(time(8, 25), time(11, 35)), (time(13, 25), time(17, 5))]


def record(r: DayResult) -> DayRecord:
    return day_record(r, TZ)


def spot(r: DayResult, start: time, end: time, config: RulesConfig = CONFIG) -> SpotResult:
    return judge(r, start, end, TZ, config).result


def unplugged_at_1350(last_will: bool) -> DayResult:
    """Door open all morning and a busy morning; the agent unplugged at 13:50 (it never came back that day)."""
    sd = StationDay("qd-a", MONDAY, door=FULL, visits=visits_every(time(8, 40), time(11, 20), 20, ELDERS),
                    offline=[(time(13, 50), time(23, 59))])
    messages = sd.messages()
    if not last_will:  # pulled out hard: no `online: false` from the broker either
        messages = [m for m in messages if not (m[0].endswith("/status") and b'"online":false' in m[1])]
    return derive(messages, MONDAY)


def test_unplugging_the_agent_after_a_good_morning_is_not_an_open_day() -> None:
    for last_will in (True, False):
        r = unplugged_at_1350(last_will)
        rec = record(r)
        assert r.verdict is not Verdict.OPEN, last_will
        assert rec.compliance is not None and rec.compliance < 0.6  # about 200 of 390 scheduled minutes
        assert rec.known_share is not None and rec.compliance <= rec.known_share
        assert 180 <= rec.unknown_minutes <= 190
        # The silence after the station was seen that day is evidence, and a town alert.
        assert rec.equipment_off and rec.equipment_off[0].startswith(("13:5", "14:0")), rec.equipment_off
        assert rec.equipment_off[0].endswith("17:00") and "equipment_off" in rec.flags
        alert = equipment_off_alert(r, TZ)
        assert alert is not None and (alert.kind, alert.level) == (AlertKind.EQUIPMENT_OFF, "town")
        assert alert.cause_key == "equipment-off:qd-a:2026-10-12" and alert.evidence["minutes"] >= 180


def test_equipment_off_is_not_raised_for_the_hours_still_to_come() -> None:
    sd = StationDay("qd-a", MONDAY, door=FULL, visits=visits_every(time(8, 40), time(11, 20), 20, ELDERS))
    now = sd.at(time(10, 0)).timestamp()
    obs = read_events(as_lines(sd.messages()), {}, ZoneInfo(TZ)).obs["qd-a"]
    # At 10:00 the worker has the morning's events so far, nothing later.
    r = derive_days("qd-a", SCHEDULE, {}, [o for o in obs if o.t <= now], MONDAY, MONDAY, CONFIG, until=now)[0]
    assert r.equipment_off == [] and r.verdict is Verdict.UNKNOWN  # the afternoon is not off, just not yet
    assert r.verdict_so_far is Verdict.OPEN and r.compliance_so_far == 1.0


def closed_day(day: date) -> DayResult:
    return derive(StationDay("qd-a", day).messages(), day)  # online all day, door shut, nobody


def test_three_windows_on_one_closed_day_are_one_failure() -> None:
    r = closed_day(MONDAY)
    windows = [(time(9, 0), time(10, 0)), (time(10, 0), time(11, 0)), (time(14, 0), time(15, 0))]
    results = [("qd-a", MONDAY, spot(r, s, e)) for s, e in windows]
    assert [x[2] for x in results] == [SpotResult.FAIL] * 3
    (status,) = vetoes(results, CONFIG)
    assert (status.failed, status.veto, status.failed_dates) == (1, False, ("2026-10-12",))
    # Three different closed days do set the veto.
    more = [("qd-a", MONDAY + timedelta(days=n), spot(closed_day(MONDAY + timedelta(days=n)), time(9), time(10)))
            for n in (1, 2)]
    (status,) = vetoes([*results, *more], CONFIG)
    assert (status.failed, status.veto) == (3, True)
    assert status.failed_dates == ("2026-10-12", "2026-10-13", "2026-10-14")


def test_a_late_opening_fails_whatever_window_is_chosen() -> None:
    # Opens at 09:30: an inspector at the door at 09:10 would have found it shut.
    sd = StationDay("qd-a", MONDAY, door=[(time(9, 30), time(11, 35)), (time(13, 25), time(17, 5))],
                    visits=visits_every(time(9, 35), time(11, 20), 20, ELDERS))
    r = derive(sd.messages(), MONDAY)
    assert spot(r, time(9, 0), time(10, 0)) is SpotResult.FAIL  # 30 of 60 minutes open
    assert spot(r, time(8, 30), time(11, 30)) is SpotResult.FAIL  # 120 of 180 minutes open
    judgement = judge(r, time(8, 30), time(11, 30), TZ, CONFIG)
    assert judgement.stretches == ("08:30-09:30",)
    assert spot(r, time(10, 0), time(11, 0)) is SpotResult.PASS  # after it opened: open throughout
    # Ten minutes late is within the grace period; the grace is configuration.
    sd10 = StationDay("qd-a", MONDAY, door=[(time(8, 40), time(11, 35)), (time(13, 25), time(17, 5))])
    r10 = derive(sd10.messages(), MONDAY)
    assert spot(r10, time(8, 30), time(9, 30)) is SpotResult.PASS
    assert spot(r10, time(8, 30), time(9, 30), RulesConfig(spot_check_grace_minutes=5)) is SpotResult.FAIL


def winter_day(exits: list[tuple[time, int]] | None = None) -> StationDay:
    """Door shut all day; ten elders counted in at 08:31 and out at 11:31, again 13:31 to 17:01; the camera reports
    each person once per visit."""
    people = [f"e-{i:03d}" for i in range(10)]
    visits = [(time(8, 31), p, "elder") for p in people] + [(time(13, 31), p, "elder") for p in people]
    leaving = [(time(11, 31), 10), (time(17, 1), 10)] if exits is None else exits
    return StationDay("qd-a", MONDAY, door=[], visits=visits, exits=leaving)


def test_elders_behind_a_shut_winter_door_keep_the_station_open() -> None:
    r = derive(winter_day().messages(), MONDAY)
    assert r.verdict is Verdict.OPEN and r.timeline.door_open == []
    assert r.compliance is not None and r.compliance > 0.98
    assert spot(r, time(10, 40), time(11, 20)) is SpotResult.PASS
    assert r.count_balance == 0 and "counts_unbalanced" not in r.flags
    # From the count that reported them in (at the end of its minute) until counted out or the session ends.
    assert record(r).evidence.presence == ["08:32-11:30", "13:32-17:00"]


def test_a_drifting_counter_is_reconciled_at_closing_and_the_day_flagged() -> None:
    # Only seven of the ten counted out at 11:31, nobody comes in the afternoon: the three "still inside" do not keep
    # the station open after its morning session, and the day is flagged.
    morning = [(time(8, 31), f"e-{i:03d}", "elder") for i in range(10)]
    sd = StationDay("qd-a", MONDAY, door=[], visits=morning, exits=[(time(11, 31), 7)])
    r = derive(sd.messages(), MONDAY)
    assert r.verdict is Verdict.PARTIAL  # open until 11:30; closed all afternoon (no door, nobody seen)
    assert round(r.closed_s / 60) >= 210
    assert spot(r, time(14, 0), time(15, 0)) is SpotResult.FAIL
    assert r.count_balance == 3 and "counts_unbalanced" in r.flags  # 10 in, 7 out
    assert r.timeline.reconciled == 10  # all ten still counted in at 11:30, taken as gone


def test_a_staff_face_alone_does_not_make_the_station_open() -> None:
    staff = visits_every(time(8, 30), time(17, 0), 20, ["staff-1"], role="staff")
    sd = StationDay("qd-a", MONDAY, door=[], visits=staff, counter=False)
    r = derive(sd.messages(), MONDAY)
    assert r.verdict is Verdict.CLOSED and r.compliance == 0.0
    assert spot(r, time(9, 0), time(10, 0)) is SpotResult.FAIL


def test_staff_counted_in_do_not_count_as_visitors_present() -> None:
    # The counter sees staff-1 arrive at 08:20 and never leave; the camera knows staff-1: no one of the public.
    sd = StationDay("qd-a", MONDAY, door=[], visits=[(time(8, 20), "staff-1", "staff")])
    r = derive(sd.messages(), MONDAY)
    assert r.timeline.presence == [] and r.verdict is Verdict.CLOSED


def test_an_open_door_with_nobody_all_session_is_flagged_not_silently_open() -> None:
    sd = StationDay("qd-a", MONDAY, door=[(time(8, 20), time(17, 10))])  # counter reports zeros all day
    r = derive(sd.messages(), MONDAY)
    assert r.verdict is Verdict.OPEN  # the door is evidence; but it is flagged, for the town
    assert "door_open_idle" in r.flags and record(r).door_idle == ["08:30-11:30", "13:30-17:00"]
    found = anomalies(r, [], camera_expected=False, config=CONFIG)
    assert [(a.cause_key, a.level) for a in found] == [("anomaly:door-open-idle:qd-a:2026-10-12", "town")]
    # With visitors in both sessions, nothing is flagged.
    busy = derive(StationDay("qd-a", MONDAY, door=[(time(8, 20), time(17, 10))],
                             visits=[(time(9, 0), "e-001", "elder"), (time(14, 0), "e-002", "elder")]).messages(),
                  MONDAY)
    assert busy.door_idle == [] and "door_open_idle" not in busy.flags


def test_a_session_not_over_yet_is_not_judged_idle() -> None:
    # The door opened at 08:20 and nobody has come by 08:47: the morning has hours to go and the afternoon has not
    # begun. Neither is flagged, and no town alert is stamped 13:30 at a quarter to nine.
    sd = StationDay("qd-a", MONDAY, door=[(time(8, 20), time(17, 10))])
    obs = read_events(as_lines(sd.messages()), {}, ZoneInfo(TZ)).obs["qd-a"]
    for at, idle in ((time(8, 47), []), (time(12, 0), ["08:30-11:30"]), (time(17, 30), ["08:30-11:30", "13:30-17:00"])):
        now = sd.at(at).timestamp()
        r = derive_days("qd-a", SCHEDULE, {}, [o for o in obs if o.t <= now], MONDAY, MONDAY, CONFIG, until=now)[0]
        assert record(r).door_idle == idle, at
        assert ("door_open_idle" in r.flags) is bool(idle), at
        found = anomalies(r, [], camera_expected=False, config=CONFIG)
        assert [a.cause_key for a in found] == (["anomaly:door-open-idle:qd-a:2026-10-12"] if idle else []), at


def test_a_session_not_over_yet_is_not_judged_unwatched() -> None:
    # The counter and camera are silent (they worked the week before) and the door opened at 08:20: at a quarter to
    # nine the counter may yet report, and the afternoon has not begun. The town hears of each session once it ends.
    sd = StationDay("qd-a", MONDAY, door=[(time(8, 20), time(17, 10))], counter=False, camera=False)
    obs = read_events(as_lines(sd.messages()), {}, ZoneInfo(TZ)).obs["qd-a"]
    for at, sessions in ((time(8, 47), 0), (time(12, 0), 1), (time(17, 30), 2)):
        now = sd.at(at).timestamp()
        r = derive_days("qd-a", SCHEDULE, {}, [o for o in obs if o.t <= now], MONDAY, MONDAY, CONFIG, until=now)[0]
        found = [a for a in anomalies(r, [], camera_expected=True, config=CONFIG) if "door-unwatched" in a.cause_key]
        judged = len(found[0].evidence["sessions"]) if found else 0
        assert judged == sessions, at
        assert all(a.raised_at.timestamp() <= now for a in found), at  # never an alert stamped in the future


def test_anonymous_faces_do_not_meet_the_threshold() -> None:
    faces = [(time(9, 0) if i < 30 else time(14, 0), f"anon-{i:04x}", "unknown") for i in range(60)]
    days = []
    for n in range(3):  # the same sixty strangers, three days
        day = MONDAY + timedelta(days=n)
        sd = StationDay("qd-a", day, door=FULL, visits=[(t, p, role) for t, p, role in faces])
        days.append(record(derive(sd.messages(), day)))
    month = month_record("qd-a", "2026-10", "2A", days, working_days_in_month=22, as_of=days[-1].date,
                         month_end=date(2026, 10, 31), config=CONFIG)
    assert (month.elders, month.anonymous_visitors, month.threshold) == (0, 60, 50)
    assert month.met is False and month.figure == 0
    assert days[0].elders == 0 and days[0].anonymous_visitors == 60
    counted = month_record("qd-a", "2026-10", "2A", days, working_days_in_month=22, as_of=days[-1].date,
                           month_end=date(2026, 10, 31),
                           config=RulesConfig(count_anonymous_visitors=True))
    assert counted.met is True and counted.basis == "elders+anonymous"


def test_staff_never_count_as_elders() -> None:
    visits = [(time(9, 0), "staff-1", "staff"), (time(9, 5), "e-001", "elder"), (time(9, 10), "anon-1", "unknown")]
    rec = record(derive(StationDay("qd-a", MONDAY, door=FULL, visits=visits).messages(), MONDAY))
    assert (rec.elders, rec.elder_ids, rec.anonymous_visitors, rec.staff_visits) == (1, ["e-001"], 1, 1)


def test_a_counter_only_station_cannot_have_its_threshold_confirmed() -> None:
    days = []
    for n in range(5):
        day = MONDAY + timedelta(days=n)
        sd = StationDay("qd-a", day, door=FULL, visits=visits_every(time(8, 40), time(16, 40), 5, ["x"]),
                        camera=False)
        days.append(record(derive(sd.messages(), day)))
    month = month_record("qd-a", "2026-10", "2A", days, working_days_in_month=22, as_of=days[-1].date,
                         month_end=date(2026, 10, 31), config=CONFIG)
    assert month.person_times > 50 * 5  # plenty of entries, which may all be one person
    assert month.met is None and month.met_reason and month.figure is None and month.basis == "unconfirmed"
    assert month.projection is None and month.at_risk is None


def test_a_month_of_unknown_days_is_not_compliant() -> None:
    # The agent dies at 08:45 every working day: every day unknown, and the month cannot be judged.
    days = []
    for n in range(5):
        day = MONDAY + timedelta(days=n)
        sd = StationDay("qd-a", day, door=FULL, offline=[(time(8, 45), time(23, 59))])
        days.append(record(derive(sd.messages(), day)))
    assert {d.verdict for d in days} == {Verdict.UNKNOWN}
    month = month_record("qd-a", "2026-10", "2A", days, working_days_in_month=22, as_of=days[-1].date,
                         month_end=date(2026, 10, 31), config=CONFIG)
    assert month.compliance is None and month.compliance_reason and "known" in month.compliance_reason
    assert month.known_share is not None and month.known_share < 0.1
    assert month.equipment_off_days == 5
