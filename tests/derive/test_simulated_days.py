"""The rules against the simulators' station-day ground truth (simulators.scenario / simulators.day_events)."""

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from cloud.alerts import service
from cloud.derive.files import read_events
from cloud.derive.runner import Partition, run_pass
from cloud.registry.csv_rows import StationRecord
from cloud.registry.store import upsert_stations
from cloud.rules.calendar import DayKind
from cloud.rules.config import RulesConfig
from cloud.rules.day import DayResult, Verdict
from cloud.rules.station import derive_days
from cloud.store.db import make_session_factory
from cloud.store.models import Alert
from firmware_config.load import load_station
from firmware_config.station import StationConfig
from simulators.day_events import SimEvent, station_day
from simulators.scenario import DEFAULT_SCHEDULE, GroundTruth
from tests.derive.conftest import TZ

EXAMPLES = Path(__file__).resolve().parents[2] / "firmware_config" / "examples"
CONFIG = RulesConfig()
# Staff arrive up to 10 minutes before they open the door (each session); being inside is activity, so the station
# counts as open from then on (plus the counter's period). Derived lateness may be up to that much shorter than the
# door says, and the open share up to that much higher per session.
STAFF_EARLY_S = 12 * 60
AFTERNOON_LATE_S = 5 * 60 + 1


def simulate(name: str, day: date, seed: int) -> tuple[StationConfig, GroundTruth, list[SimEvent], DayResult]:
    config = load_station(EXAMPLES / f"{name}.yaml")
    truth, events = station_day(config, day, seed)
    lines = [json.dumps({"topic": e.topic, "payload": json.loads(e.payload)}) for e in events]
    parsed = read_events(lines, {}, TZ, now=datetime(2026, 12, 1, tzinfo=UTC))
    assert not parsed.problems
    schedule = config.schedule or DEFAULT_SCHEDULE
    result = derive_days(config.station, schedule, {}, parsed.obs.get(config.station, []), day, day, CONFIG)[0]
    return config, truth, events, result


def truth_open_share(truth: GroundTruth) -> float:
    scheduled = sum((e - s).total_seconds() for s, e in truth.scheduled)
    opened = sum(max(0.0, (min(e, oe) - max(s, os_)).total_seconds())
                 for s, e in truth.scheduled for os_, oe in truth.open_intervals)
    return opened / scheduled


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("name", ["qd-huilong-01", "qd-lvsi-02"])
def test_derived_day_matches_the_ground_truth(name: str, seed: int) -> None:
    _config, truth, _events, r = simulate(name, date(2026, 10, 13), seed)  # a Tuesday
    assert truth.working_day and r.plan.working
    assert r.unknown_s == 0  # the counter reports all day: every minute is known
    share = truth_open_share(truth)
    assert r.compliance is not None
    assert share - 1e-6 <= r.compliance <= share + len(truth.scheduled) * STAFF_EARLY_S / r.scheduled_s
    late_truth = truth.late_opening_min * 60
    # The truth's lateness is the morning's; the simulator also opens the afternoon up to 5 minutes late.
    assert late_truth - STAFF_EARLY_S <= r.late_open_s <= late_truth + AFTERNOON_LATE_S
    # The lunch break is outside the sessions: never closed time, whatever the door does.
    assert r.closed_s <= late_truth + AFTERNOON_LATE_S
    if r.visitors.has_camera:  # the camera knows the staff: their entries are taken off
        assert r.visitors.person_times == truth.to_json()["person_times"]
        # Elders the station did not enroll are seen as anonymous visitors, never as elders served.
        enrolled = {v.person for v in truth.visits if v.role == "elder" and v.enrolled}
        assert len(r.visitors.elders) == len(enrolled)
        assert len(r.visitors.elders) + len(r.visitors.anonymous) == len(truth.elders)
    else:  # no camera: the counter cannot tell staff from elders
        assert r.visitors.person_times == len(truth.visits) and r.visitors.person_times_basis == "counter"
    assert r.verdict is (Verdict.OPEN if r.compliance >= 0.9 else Verdict.PARTIAL)


def test_a_late_opening_from_the_simulator_is_measured() -> None:
    late = [simulate("qd-huilong-01", date(2026, 10, 13), seed) for seed in range(20)]
    late = [x for x in late if x[1].late_opening_min >= 20]
    assert late, "the simulator makes some days late"
    for _c, truth, _e, r in late:
        assert r.late_open_s >= (truth.late_opening_min - 11) * 60


def test_a_statutory_holiday_is_not_scheduled_even_if_the_simulator_opens() -> None:
    # qd-huilong-01 works Monday to Saturday and does not open on holidays; the simulator knows no holidays.
    _c, truth, _e, r = simulate("qd-huilong-01", date(2026, 10, 1), 0)
    assert truth.working_day and r.plan.working is False and r.verdict is Verdict.NOT_SCHEDULED
    assert r.visitors.entries == len(truth.visits)  # visits still count toward the month


def test_station_open_on_holidays_is_judged_on_a_holiday() -> None:
    _c, _t, _e, r = simulate("qd-lvsi-02", date(2026, 10, 1), 0)
    assert r.plan.working is True and r.verdict in (Verdict.OPEN, Verdict.PARTIAL)


def test_makeup_sunday_the_simulator_kept_closed_is_a_closed_day() -> None:
    # qd-nanyang-07 works Monday to Friday mornings; 2026-09-20 is a Sunday worked instead (调休). The simulated
    # station stays shut (its counter reports zeros all day): the rules must call that a closed working day.
    _c, truth, events, r = simulate("qd-nanyang-07", date(2026, 9, 20), 0)
    assert not truth.working_day and events
    assert r.plan.working is True and r.plan.national.kind is DayKind.MAKEUP
    assert r.verdict is Verdict.CLOSED and r.compliance == 0.0 and r.unknown_s == 0


def test_offline_hour_in_a_simulated_day_is_unknown_not_closed() -> None:
    config = load_station(EXAMPLES / "qd-lvsi-02.yaml")
    day = date(2026, 10, 13)
    _truth, events = station_day(config, day, 1)
    gap = (datetime(2026, 10, 13, 9, 0, tzinfo=TZ), datetime(2026, 10, 13, 10, 0, tzinfo=TZ))
    kept = [e for e in events if not gap[0] <= e.at < gap[1]]
    lines = [json.dumps({"topic": e.topic, "payload": json.loads(e.payload)}) for e in kept]
    obs = read_events(lines, {}, TZ, now=datetime(2026, 12, 1, tzinfo=UTC)).obs[config.station]
    schedule = config.schedule or DEFAULT_SCHEDULE
    full = simulate("qd-lvsi-02", day, 1)[3]
    r = derive_days(config.station, schedule, {}, obs, day, day, CONFIG)[0]
    assert 50 * 60 <= r.unknown_s <= 60 * 60
    assert r.closed_s <= full.closed_s  # the missing hour never turns into closed time
    # Unknown minutes are not open either: compliance drops by at most the missing hour's share.
    assert full.compliance is not None and r.compliance is not None
    assert full.compliance - r.unknown_s / r.scheduled_s - 1e-6 <= r.compliance <= full.compliance


def _register(engine: Engine, config: StationConfig) -> None:
    upsert_stations(engine, [StationRecord(id=config.station, name=config.name, town=config.town,
                                           grade=config.grade, schedule=config.schedule or DEFAULT_SCHEDULE)])


def test_simulated_emergencies_one_acknowledged_one_escalated(store: Engine) -> None:
    from cloud.convert import Accepted, StationInfo, convert
    from cloud.ingest.writer import write_batch

    config = load_station(EXAMPLES / "qd-huilong-01.yaml")
    _register(store, config)
    info = StationInfo(config.station, config.town, config.grade, TZ)
    factory = make_session_factory(store)
    keys = []
    for day, acknowledge in ((date(2026, 10, 13), True), (date(2026, 10, 14), False)):
        truth, events = station_day(config, day, seed=3)
        press = truth.presses[0]
        batch = []
        for e in events:
            if e.at <= press.at:  # what has arrived by the time of the press
                out = convert(e.topic, e.payload, press.at.astimezone(UTC), lambda s: info)
                assert isinstance(out, Accepted)
                batch.append((out, e.topic, e.payload))
        write_batch(store, batch, [], press.at.astimezone(UTC))
        key = f"call:{config.station}:{press.call}"
        keys.append(key)
        with factory() as session:
            alert = session.scalars(select(Alert).where(Alert.cause_key == key)).one()
            if acknowledge:
                service.acknowledge(session, alert.id, by="站长", now=press.at + timedelta(minutes=2))
                session.commit()
        run_pass(factory, Partition(), CONFIG, press.at.astimezone(UTC) + timedelta(minutes=6))
    with factory() as session:
        acked, escalated = (session.scalars(select(Alert).where(Alert.cause_key == k)).one() for k in keys)
    assert (acked.status, acked.level, acked.acknowledged_by) == ("acknowledged", "station", "站长")
    assert (escalated.status, escalated.level) == ("raised", "dispatch")
