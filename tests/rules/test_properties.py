"""Property tests over random event streams: bounds, arrival-order independence, exceptions never hurt."""

import json
import random
import uuid
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cloud.derive.files import read_events
from cloud.rules.config import RulesConfig
from cloud.rules.day import DayResult, Verdict
from cloud.rules.intervals import intersect, subtract
from cloud.rules.records import DayRecord, day_record
from cloud.rules.rollup import month_record
from cloud.rules.spotcheck import SpotResult, judge
from cloud.rules.station import derive_days
from tests.rules.conftest import SCHEDULE

TZ = ZoneInfo("Asia/Shanghai")
DAY = date(2026, 10, 12)
START = datetime(2026, 10, 12, 0, 0, tzinfo=TZ)
CONFIG = RulesConfig()


def _payload(kind: str, minute: int, seq: int, extra: dict[str, object]) -> tuple[str, dict[str, object]]:
    ts = (START + timedelta(minutes=minute)).isoformat()
    if kind in ("heartbeat", "status"):
        body = {"v": 1, "station": "qd-a", "ts": ts, **extra}
        if kind == "heartbeat":
            body.update(version="1", uptime_s=1.0, outbox=0)
        return f"eldercare/v1/qd-a/agent/{kind}", body
    device = {"flow": "counter-1", "door": "door-1", "face": "cam-1"}[kind]
    body = {"v": 1, "id": str(uuid.UUID(int=seq + 1)), "station": "qd-a", "device": device, "seq": seq, "ts": ts,
            **extra}
    return f"eldercare/v1/qd-a/{device}/{kind}", body


event: st.SearchStrategy[tuple[str, int, dict[str, object]]] = st.one_of(
    st.tuples(st.just("door"), st.integers(0, 1439), st.fixed_dictionaries({"state": st.sampled_from(
        ["open", "closed", "fault"])})),
    st.tuples(st.just("flow"), st.integers(0, 1439), st.fixed_dictionaries({
        "period_s": st.just(60), "in": st.integers(0, 5), "out": st.integers(0, 5)})),
    st.tuples(st.just("face"), st.integers(0, 1439), st.fixed_dictionaries({
        "person": st.sampled_from(["e-1", "e-2", "anon-1", "s-1"]),
        "role": st.sampled_from(["elder", "unknown", "staff"]), "distance": st.just(0.4)})),
    st.tuples(st.just("heartbeat"), st.integers(0, 1439), st.just({})),
    st.tuples(st.just("status"), st.integers(0, 1439), st.fixed_dictionaries({"online": st.booleans()})),
)


# A stream of up to 60 events takes tens of milliseconds to draw; on a loaded machine that trips Hypothesis's "input
# generation is slow" check before any property is checked. Drawing speed is not under test, so only that check is off.
SLOW_INPUTS = [HealthCheck.too_slow]


def _lines(events: list[tuple[str, int, dict[str, object]]]) -> list[str]:
    out = []
    agent_seen: set[tuple[str, int]] = set()
    for seq, (kind, minute, extra) in enumerate(events):
        if kind in ("status", "heartbeat"):
            # Protocol v1 gives these no id; ingest derives one from (station, type, ts), so two of them with the
            # same ts are one message to the store. A real agent never sends two at once; neither do we.
            if (kind, minute) in agent_seen:
                continue
            agent_seen.add((kind, minute))
        topic, payload = _payload(kind, minute, seq, extra)
        out.append(json.dumps({"topic": topic, "payload": payload}))
    return out


def _record(lines: list[str], exceptions: dict[date, str] | None = None) -> DayRecord:
    obs = read_events(lines, {}, TZ).obs.get("qd-a", [])
    result = derive_days("qd-a", SCHEDULE, exceptions or {}, obs, DAY, DAY, CONFIG)[0]
    return day_record(result, "Asia/Shanghai")


@settings(max_examples=60, deadline=None, suppress_health_check=SLOW_INPUTS)
@given(st.lists(event, max_size=60))
def test_compliance_is_a_share(events: list[tuple[str, int, dict[str, object]]]) -> None:
    record = _record(_lines(events))
    compliance = record.compliance
    assert compliance is None or 0.0 <= compliance <= 1.0
    minutes = record.open_minutes + record.closed_minutes + record.unknown_minutes
    assert abs(minutes - record.scheduled_minutes) <= 2


@settings(max_examples=80, deadline=None, suppress_health_check=SLOW_INPUTS)
@given(st.lists(event, max_size=60))
def test_compliance_never_exceeds_the_known_share(events: list[tuple[str, int, dict[str, object]]]) -> None:
    """Unknown minutes are never open: switching the equipment off can only lower compliance."""
    record = _record(_lines(events))
    assert record.compliance is not None and record.known_share is not None  # a working Monday
    assert record.compliance <= record.known_share
    assert record.verdict is not Verdict.OPEN or record.known_share >= CONFIG.open_share


@settings(max_examples=60, deadline=None, suppress_health_check=SLOW_INPUTS)
@given(st.lists(event, max_size=60), st.randoms(use_true_random=False))
def test_arrival_order_does_not_matter(events: list[tuple[str, int, dict[str, object]]], rnd: random.Random) -> None:
    lines = _lines(events)
    shuffled = list(lines)
    rnd.shuffle(shuffled)
    # Replays too: some lines arrive twice.
    replayed = shuffled + shuffled[: len(shuffled) // 3]
    assert _record(replayed) == _record(lines)


@settings(max_examples=60, deadline=None, suppress_health_check=SLOW_INPUTS)
@given(st.lists(event, max_size=60))
def test_an_approved_exception_never_lowers_compliance(events: list[tuple[str, int, dict[str, object]]]) -> None:
    lines = _lines(events)
    plain = _record(lines).compliance
    excused = _record(lines, {DAY: "typhoon"}).compliance
    if plain is not None:
        assert excused is not None and excused >= plain


@settings(max_examples=60, deadline=None, suppress_health_check=SLOW_INPUTS)
@given(st.lists(event, max_size=60), st.integers(8 * 60, 16 * 60), st.integers(10, 120))
def test_offline_time_is_never_closed(events: list[tuple[str, int, dict[str, object]]], start: int,
                                      length: int) -> None:
    """The agent's last will at `start`, then nothing for `length` minutes: none of that time is closed."""
    end = start + length
    kept = [e for e in events if not start <= e[1] < end + 2 and e[0] != "status"]
    lines = _lines([*kept, ("status", start, {"online": False})])
    obs = read_events(lines, {}, TZ).obs.get("qd-a", [])
    result = derive_days("qd-a", SCHEDULE, {}, obs, DAY, DAY, CONFIG)[0]
    window = [((START + timedelta(minutes=start)).timestamp(), (START + timedelta(minutes=end)).timestamp())]
    closed = subtract(intersect(result.timeline.known, window), result.timeline.open)
    assert closed == []
    assert intersect(result.timeline.known, window) == []


def _day(lines: list[str], exceptions: dict[date, str] | None = None) -> DayResult:
    obs = read_events(lines, {}, TZ).obs.get("qd-a", [])
    return derive_days("qd-a", SCHEDULE, exceptions or {}, obs, DAY, DAY, CONFIG)[0]


minute_of_day = st.integers(7 * 60, 18 * 60)


@settings(max_examples=80, deadline=None, suppress_health_check=SLOW_INPUTS)
@given(st.lists(event, max_size=60), minute_of_day, st.integers(1, 240), st.integers(1, 239),
       st.sampled_from([0.0, 5.0, 15.0, 40.0]))
def test_splitting_a_check_window_never_turns_a_fail_into_a_pass(
        events: list[tuple[str, int, dict[str, object]]], start: int, length: int, cut: int, grace: float) -> None:
    """A window that fails has at least one failing part however it is cut; a part that fails fails the whole."""
    day = _day(_lines(events))
    config = RulesConfig(spot_check_grace_minutes=grace)
    end = min(start + length, 24 * 60 - 1)
    middle = start + cut % max(1, end - start)

    def at(minute: int) -> time:
        return time(minute // 60, minute % 60)

    whole = judge(day, at(start), at(end), "Asia/Shanghai", config).result
    parts = [judge(day, at(a), at(b), "Asia/Shanghai", config).result for a, b in ((start, middle), (middle, end))
             if a < b]
    if whole is SpotResult.FAIL:
        assert SpotResult.FAIL in parts
    if SpotResult.FAIL in parts:
        assert whole is SpotResult.FAIL
    if whole is SpotResult.PASS:
        assert all(p in (SpotResult.PASS, SpotResult.EXCUSED) for p in parts)


@settings(max_examples=40, deadline=None, suppress_health_check=SLOW_INPUTS)
@given(st.lists(st.lists(event, max_size=30), min_size=2, max_size=4), st.data())
def test_an_approved_closure_never_lowers_month_compliance(days_events: list[list[tuple[str, int, dict[str, object]]]],
                                                           data: st.DataObject) -> None:
    """Any run of days, any of them excused: the month's compliance never goes down (and never goes from judged
    to unjudged)."""
    records, excused = [], []
    for n, events in enumerate(days_events):
        lines = [json.dumps({**json.loads(line), "payload": _shift(json.loads(line)["payload"], n)})
                 for line in _lines(events)]
        day = DAY + timedelta(days=n)
        obs = read_events(lines, {}, TZ).obs.get("qd-a", [])
        records.append(day_record(derive_days("qd-a", SCHEDULE, {}, obs, day, day, CONFIG)[0], "Asia/Shanghai"))
        closure = {day: "typhoon"} if data.draw(st.booleans()) else {}
        excused.append(day_record(derive_days("qd-a", SCHEDULE, closure, obs, day, day, CONFIG)[0], "Asia/Shanghai"))

    def month(days: list[DayRecord]) -> float | None:
        return month_record("qd-a", "2026-10", "2A", days, working_days_in_month=22, as_of=days[-1].date,
                            month_end=date(2026, 10, 31), config=CONFIG).compliance

    plain, with_closures = month(records), month(excused)
    if plain is not None:
        assert with_closures is not None and with_closures >= plain


def _shift(payload: dict[str, object], days: int) -> dict[str, object]:
    """The same event `days` later (Monday to Thursday of the same week: all working days)."""
    ts = datetime.fromisoformat(str(payload["ts"])) + timedelta(days=days)
    return {**payload, "ts": ts.isoformat()}
