from datetime import UTC, date, datetime, time, timedelta

from cloud.rules.alerts import anomalies, calls, escalation_due, offline_alert, offline_now
from cloud.rules.config import RulesConfig
from tests.rules.conftest import as_lines, derive
from tests.rules.scenario import StationDay, visits_every

MONDAY = date(2026, 10, 12)
CONFIG = RulesConfig()


def _obs(sd: StationDay):  # type: ignore[no-untyped-def]
    from zoneinfo import ZoneInfo

    from cloud.derive.files import read_events

    return read_events(as_lines(sd.messages()), {}, ZoneInfo("Asia/Shanghai")).obs.get(sd.station, [])


def test_call_pressed_then_cancelled() -> None:
    sd = StationDay("qd-a", MONDAY, calls=[(time(9, 0), "c-1", "pressed"), (time(9, 1), "c-1", "cancelled"),
                                           (time(10, 0), "c-2", "pressed")])
    found = calls("qd-a", _obs(sd))
    assert [(c.call, c.cancelled_at is not None) for c in found] == [("c-1", True), ("c-2", False)]


def test_escalation_after_the_configured_time() -> None:
    raised = datetime(2026, 10, 12, 1, 0, tzinfo=UTC)
    assert not escalation_due("raised", "station", raised, raised + timedelta(minutes=4), CONFIG)
    assert escalation_due("raised", "station", raised, raised + timedelta(minutes=5), CONFIG)
    assert not escalation_due("acknowledged", "station", raised, raised + timedelta(hours=1), CONFIG)
    assert escalation_due("raised", "station", raised, raised + timedelta(minutes=2),
                          RulesConfig(call_escalate_minutes=1))


def test_offline_stretch_in_working_hours_alerts() -> None:
    sd = StationDay("qd-a", MONDAY, door=[(time(8, 20), time(17, 10))], offline=[(time(9, 0), time(10, 0))])
    spec = offline_alert(derive(sd.messages(), MONDAY), CONFIG)
    assert spec is not None and spec.cause_key == "offline:qd-a:2026-10-12"
    short = StationDay("qd-a", MONDAY, door=[(time(8, 20), time(17, 10))], offline=[(time(9, 0), time(9, 20))])
    assert offline_alert(derive(short.messages(), MONDAY), CONFIG) is None


def test_offline_counts_only_up_to_now() -> None:
    sd = StationDay("qd-a", MONDAY, door=[(time(8, 20), time(9, 0))])
    early = [m for m in sd.messages() if '"ts":"2026-10-12T0' in m[1].decode()]  # heard until 09:55
    result = derive(early, MONDAY)
    at_1000 = datetime(2026, 10, 12, 2, 0, tzinfo=UTC).timestamp()
    assert offline_alert(result, CONFIG, now=at_1000) is None  # the rest of the day has not happened yet
    assert offline_alert(result, CONFIG, now=at_1000 + 3600) is not None


def test_offline_at_night_does_not_alert() -> None:
    sd = StationDay("qd-a", MONDAY, door=[(time(8, 20), time(17, 10))], offline=[(time(19, 0), time(23, 0))])
    assert offline_alert(derive(sd.messages(), MONDAY), CONFIG) is None


def test_live_offline_needs_a_session_and_silence() -> None:
    sessions = [(1000, 10000)]
    assert offline_now("x", sessions, last_seen=2000, now=2000 + 1800, config=CONFIG)
    assert not offline_now("x", sessions, last_seen=2000, now=2000 + 600, config=CONFIG)
    assert not offline_now("x", sessions, last_seen=2000, now=20000, config=CONFIG)


def test_entries_while_the_door_reported_closed_for_hours() -> None:
    visits = visits_every(time(9, 0), time(12, 0), 10, ["e-1", "e-2"])
    sd = StationDay("qd-a", MONDAY, door=[(time(8, 0), time(8, 30))], visits=visits)
    found = anomalies(derive(sd.messages(), MONDAY), _obs(sd), camera_expected=True, config=CONFIG)
    assert [a.cause_key for a in found] == ["anomaly:door-closed-entries:qd-a:2026-10-12"]


def test_counter_stuck_at_zero_with_faces() -> None:
    visits = visits_every(time(9, 0), time(11, 0), 10, ["e-1", "e-2", "e-3"])
    sd = StationDay("qd-a", MONDAY, door=[(time(8, 20), time(17, 10))], visits=visits)
    msgs = [(t, p.replace(b'"in":1', b'"in":0')) for t, p in sd.messages()]
    result = derive(msgs, MONDAY)
    found = anomalies(result, [], camera_expected=True, config=CONFIG)
    # The afternoon door stood open with nobody seen coming or going: flagged as well, for the town. And with no
    # crossing counted, the three elders' faces are not corroborated: not served that day, and the town is told.
    assert [(a.cause_key, a.level) for a in found] == [("anomaly:counter-zero:qd-a:2026-10-12", "station"),
                                                      ("anomaly:door-open-idle:qd-a:2026-10-12", "town"),
                                                      ("anomaly:faces-uncorroborated:qd-a:2026-10-12", "town")]
    assert result.visitors.elders == frozenset()
    assert result.visitors.uncorroborated == {"e-1", "e-2", "e-3"}


def test_silent_camera_only_when_one_is_expected() -> None:
    visits = visits_every(time(8, 40), time(16, 0), 15, ["e-1"])
    sd = StationDay("qd-a", MONDAY, door=[(time(8, 20), time(17, 10))], visits=visits, camera=False)
    result = derive(sd.messages(), MONDAY)
    assert [a.cause_key for a in anomalies(result, [], True, CONFIG)] == ["anomaly:camera-silent:qd-a:2026-10-12"]
    assert anomalies(result, [], False, CONFIG) == []


def test_normal_day_has_no_anomalies() -> None:
    visits = visits_every(time(8, 40), time(16, 0), 15, ["e-1"])
    sd = StationDay("qd-a", MONDAY, door=[(time(8, 20), time(17, 10))], visits=visits)
    assert anomalies(derive(sd.messages(), MONDAY), _obs(sd), True, CONFIG) == []
