"""Elders' faces corroborated by the people counter: photographs held up to the camera are not elders served."""

import uuid
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cloud.derive.files import read_events
from cloud.rules.alerts import anomalies
from cloud.rules.config import RulesConfig
from cloud.rules.corroborate import corroborate
from cloud.rules.day import DayResult
from cloud.rules.observations import Obs, sort_key
from cloud.rules.records import DayRecord, day_record
from cloud.rules.rollup import month_record
from cloud.rules.station import derive_days
from cloud.rules.visitors import FLAG_FACES_UNCHECKED, FLAG_FACES_UNCORROBORATED
from station_protocol import Face, Flow, encode
from station_protocol.topics import device_topic
from tests.rules.conftest import SCHEDULE, as_lines, derive
from tests.rules.scenario import StationDay, visits_every

TZ = ZoneInfo("Asia/Shanghai")
MONDAY = date(2026, 10, 12)
CONFIG = RulesConfig()
Message = tuple[str, bytes]


def at(day: date, clock: str) -> datetime:
    return datetime.combine(day, time.fromisoformat(clock), TZ)


def face(when: datetime, person: str, role: str = "elder") -> Message:
    model = Face.model_validate({"v": 1, "id": uuid.uuid4(), "station": "qd-a", "device": "cam-1", "seq": 0,
                                 "ts": when, "person": person, "role": role, "distance": 0.4})
    return str(device_topic("qd-a", "cam-1", "face")), encode(model)


def flow(when: datetime, entries: int = 0, exits: int = 0, period_s: int = 60) -> Message:
    """A count of the `period_s` seconds ending at `when`."""
    model = Flow.model_validate({"v": 1, "id": uuid.uuid4(), "station": "qd-a", "device": "counter-1", "seq": 0,
                                 "ts": when, "period_s": period_s, "in": entries, "out": exits})
    return str(device_topic("qd-a", "counter-1", "flow")), encode(model)


def counting(day: date, start: str, end: str, period_s: int = 60) -> list[Message]:
    """A counter reporting zeros every period from `start` to `end` (it is on: nobody crossed)."""
    out = []
    t, stop = at(day, start), at(day, end)
    while t <= stop:
        out.append(flow(t, period_s=period_s))
        t += timedelta(seconds=period_s)
    return out


def alive(day: date) -> list[Message]:
    """The agent's heartbeats all day: the station is up, nothing else."""
    return StationDay("qd-a", day).messages()


def day_of(messages: list[Message], config: RulesConfig = CONFIG) -> DayResult:
    return derive(messages, MONDAY, config=config)


def test_photographs_of_ten_elders_with_one_crossing_give_one_elder() -> None:
    # Someone holds up ten enrolled elders' photographs to the camera within a minute; one person walked in.
    photos = [face(at(MONDAY, "09:00:00") + timedelta(seconds=5 * i), f"e-{i:02d}") for i in range(10)]
    messages = alive(MONDAY) + counting(MONDAY, "08:30", "11:30") + photos + [flow(at(MONDAY, "09:01"), entries=1)]
    r = day_of(messages)
    assert len(r.visitors.elders) == 1
    assert len(r.visitors.uncorroborated) == 9
    assert r.visitors.elders.isdisjoint(r.visitors.uncorroborated)
    assert FLAG_FACES_UNCORROBORATED in r.flags
    record = day_record(r, "Asia/Shanghai")
    assert (record.elders, record.elders_uncorroborated) == (1, 9)
    assert len(record.uncorroborated_elder_ids) == 9
    found = [a for a in anomalies(r, [], camera_expected=True, config=CONFIG)
             if a.cause_key == "anomaly:faces-uncorroborated:qd-a:2026-10-12"]
    assert len(found) == 1 and found[0].level == "town"
    assert found[0].evidence["uncorroborated"] == 9 and found[0].evidence["served"] == 1


def test_staff_walking_in_once_with_ten_photographs_gets_at_most_one_elder() -> None:
    enter = at(MONDAY, "08:20:10")
    photos = [face(enter + timedelta(seconds=3 + 4 * i), f"e-{i:02d}") for i in range(10)]
    messages = (alive(MONDAY) + counting(MONDAY, "08:00", "11:30") + photos
                + [face(enter + timedelta(seconds=2), "s-1", "staff"), flow(at(MONDAY, "08:21"), entries=1)])
    r = day_of(messages)
    assert len(r.visitors.elders) <= 1
    assert len(r.visitors.elders) + len(r.visitors.uncorroborated) == 10


def test_an_honest_day_counts_every_elder() -> None:
    visits = visits_every(time(8, 40), time(11, 20), 7, [f"e-{i}" for i in range(12)])
    r = day_of(StationDay("qd-a", MONDAY, door=[(time(8, 25), time(11, 35))], visits=visits).messages())
    assert len(r.visitors.elders) == 12
    assert r.visitors.uncorroborated == frozenset() and r.visitors.unchecked == frozenset()
    assert not {FLAG_FACES_UNCORROBORATED, FLAG_FACES_UNCHECKED} & set(r.flags)
    assert not [a for a in anomalies(r, [], camera_expected=True, config=CONFIG) if "faces" in a.cause_key]


def test_elders_arriving_together_each_need_their_own_crossing() -> None:
    # Three elders walk in together (three entries in one count), a fourth's photo is shown with them.
    faces = [face(at(MONDAY, "09:00:20"), p) for p in ("e-1", "e-2", "e-3", "e-4")]
    r = day_of(alive(MONDAY) + counting(MONDAY, "08:30", "11:30") + faces + [flow(at(MONDAY, "09:01"), entries=3)])
    assert len(r.visitors.elders) == 3 and len(r.visitors.uncorroborated) == 1
    assert FLAG_FACES_UNCORROBORATED not in r.flags  # one short on a day: below the alert's 3


def test_recognised_90_s_after_entering_or_only_when_leaving() -> None:
    messages = alive(MONDAY) + counting(MONDAY, "08:30", "11:30") + [
        flow(at(MONDAY, "09:00:30"), entries=1, period_s=30),  # e-late walked in between 09:00:00 and 09:00:30
        face(at(MONDAY, "09:02:00"), "e-late"),  # ... and faced the camera 90-120 s later: counted
        flow(at(MONDAY, "10:30"), entries=1),  # e-out came in, back to the camera ...
        flow(at(MONDAY, "11:00"), exits=1),  # ... and was recognised on the way out
        face(at(MONDAY, "10:59:40"), "e-out"),
        flow(at(MONDAY, "09:30:00"), entries=1, period_s=30),  # e-far: seen 200 s after the only crossing near
        face(at(MONDAY, "09:33:20"), "e-far"),
    ]
    r = day_of(messages)
    # e-out's entry (10:29-10:30) is 30 min from its face: its exit corroborates it. e-far is beyond the window.
    assert r.visitors.elders == {"e-late", "e-out"}
    assert r.visitors.uncorroborated == {"e-far"}
    wider = day_of(messages, RulesConfig(face_crossing_window_s=240))
    assert wider.visitors.elders == {"e-late", "e-out", "e-far"}


def test_one_crossing_each_is_found_whatever_order_faces_came_in() -> None:
    # e-a is seen at 09:00 and again at 10:00 (back from the garden, through the door); e-b at 09:00 too, and only
    # one person was counted then. Taking faces greedily in time order would give 09:00's crossing to e-a and leave
    # e-b out; the matching gives e-a the 10:00 crossing instead, and both are served.
    messages = alive(MONDAY) + counting(MONDAY, "08:30", "11:30") + [
        face(at(MONDAY, "09:00:05"), "e-a"), face(at(MONDAY, "09:00:10"), "e-b"),
        flow(at(MONDAY, "09:01"), entries=1), face(at(MONDAY, "10:00:05"), "e-a"),
        flow(at(MONDAY, "10:01"), entries=1)]
    assert day_of(messages).visitors.elders == {"e-a", "e-b"}


def test_a_long_counting_period_loosens_the_time_not_the_count() -> None:
    # A counter reporting every 15 minutes: two entries somewhere in 09:00-09:15, five faces in it.
    faces = [face(at(MONDAY, "09:02:00") + timedelta(minutes=2 * i), f"e-{i}") for i in range(5)]
    messages = alive(MONDAY) + counting(MONDAY, "08:45", "11:30", period_s=900) + faces
    messages.append(flow(at(MONDAY, "09:15"), entries=2, period_s=900))
    r = day_of(messages)
    assert len(r.visitors.elders) == 2 and len(r.visitors.uncorroborated) == 3


def _month(days: list[date], messages: list[Message], config: RulesConfig = CONFIG) -> tuple[list[DayRecord], int]:
    events = read_events(as_lines(messages), {}, TZ)
    assert not events.problems
    results = derive_days("qd-a", SCHEDULE, {}, events.obs["qd-a"], days[0], days[-1], config)
    records = [day_record(r, "Asia/Shanghai") for r in results]
    month = month_record("qd-a", "2026-10", "2A", records, working_days_in_month=22, as_of=days[-1],
                         month_end=date(2026, 10, 31), config=config)
    assert month.elders_uncorroborated == len(set().union(*(r.uncorroborated_elder_ids for r in records))
                                              - set().union(*(r.elder_ids for r in records)))
    return records, month.elders


def test_a_crossing_the_counter_missed_costs_a_regular_elder_nothing_in_the_month() -> None:
    monday, tuesday = MONDAY, MONDAY + timedelta(days=1)
    messages: list[Message] = []
    for day in (monday, tuesday):
        visits = visits_every(time(8, 40), time(9, 40), 15, ["e-1", "e-2", "e-3", "e-4"], day=day)
        messages += StationDay("qd-a", day, door=[(time(8, 25), time(11, 35))], visits=visits).messages()
    # Tuesday: the counter missed e-2 walking in (two abreast at the door).
    e2 = at(tuesday, "08:55")
    missed = [(topic, payload) for topic, payload in messages if not (
        topic.endswith("/flow") and Flow.model_validate_json(payload).ts == e2 + timedelta(minutes=1))]
    assert len(missed) == len(messages) - 1
    records, served = _month([monday, tuesday], missed)
    assert records[1].uncorroborated_elder_ids == ["e-2"] and records[1].elders == 3
    assert served == 4  # corroborated on Monday: served this month


def test_face_just_after_midnight_is_corroborated_by_a_crossing_just_before() -> None:
    # A station open round the clock over a festival night: someone counted in at 23:59:50 is recognised at
    # 00:00:30. The day boundary is not a door: the crossing corroborates the face on the new day.
    sunday = MONDAY - timedelta(days=1)
    messages = alive(sunday) + alive(MONDAY) + counting(sunday, "23:50", "23:59") + counting(MONDAY, "00:01", "00:10")
    messages += [flow(at(sunday, "23:59:50"), entries=1, period_s=50), face(at(MONDAY, "00:00:30"), "e-night")]
    records, served = _month([sunday, MONDAY], messages)
    assert records[1].elder_ids == ["e-night"] and served == 1
    # Beyond the window (crossing before 23:58:30) it is not.
    late = [(t, p) for t, p in messages if b"e-night" not in p] + [face(at(MONDAY, "00:02:10"), "e-night")]
    records, served = _month([sunday, MONDAY], late)
    assert records[1].uncorroborated_elder_ids == ["e-night"] and served == 0


def no_counter_day(day: date) -> list[Message]:
    visits = visits_every(time(8, 40), time(11, 0), 10, ["e-1", "e-2", "e-3", "e-4"], day=day)
    return StationDay("qd-a", day, door=[(time(8, 25), time(11, 35))], visits=visits, counter=False).messages()


def test_a_day_without_counter_data_does_not_count_faces_by_default() -> None:
    r = day_of(no_counter_day(MONDAY))
    assert r.visitors.elders == frozenset()
    assert r.visitors.uncorroborated == r.visitors.unchecked == {"e-1", "e-2", "e-3", "e-4"}
    assert FLAG_FACES_UNCORROBORATED in r.flags and FLAG_FACES_UNCHECKED not in r.flags
    spec = [a for a in anomalies(r, [], True, CONFIG) if "faces-uncorroborated" in a.cause_key]
    assert [a.level for a in spec] == ["town"]
    assert (spec[0].evidence["uncorroborated"], spec[0].evidence["unchecked"], spec[0].evidence["served"]) == (4, 4, 0)


def test_a_day_without_counter_data_counts_faces_flagged_when_configured() -> None:
    config = RulesConfig(count_faces_without_counter=True)
    r = day_of(no_counter_day(MONDAY), config)
    assert r.visitors.elders == r.visitors.unchecked == {"e-1", "e-2", "e-3", "e-4"}
    assert r.visitors.uncorroborated == frozenset()
    assert FLAG_FACES_UNCHECKED in r.flags
    spec = [a for a in anomalies(r, [], True, config) if "faces-uncorroborated" in a.cause_key]
    assert len(spec) == 1 and spec[0].level == "town" and spec[0].evidence["counted_unchecked"] == 4
    record = day_record(r, "Asia/Shanghai")
    assert record.elders == 4 and record.elders_unchecked == 4


@pytest.mark.parametrize("permissive", [False, True])
def test_unplugging_the_counter_for_the_afternoon(permissive: bool) -> None:
    # The counter reports all morning, then goes silent; photographs are shown in the afternoon.
    config = RulesConfig(count_faces_without_counter=permissive)
    morning = visits_every(time(8, 40), time(9, 40), 20, ["e-1", "e-2", "e-3"])
    messages = StationDay("qd-a", MONDAY, door=[(time(8, 25), time(11, 35))], visits=morning).messages()
    messages += [face(at(MONDAY, "14:00:00") + timedelta(seconds=10 * i), f"p-{i}") for i in range(6)]
    r = day_of(messages, config)
    assert r.visitors.unchecked == {f"p-{i}" for i in range(6)}
    if permissive:
        assert len(r.visitors.elders) == 9 and FLAG_FACES_UNCHECKED in r.flags
    else:
        assert r.visitors.elders == {"e-1", "e-2", "e-3"}
        assert r.visitors.uncorroborated == r.visitors.unchecked and FLAG_FACES_UNCORROBORATED in r.flags


def test_staff_and_anonymous_faces_are_not_matched() -> None:
    # Staff greeting the elder at the door do not take the elder's crossing; nor does a visitor not enrolled.
    messages = alive(MONDAY) + counting(MONDAY, "08:30", "11:30") + [
        face(at(MONDAY, "09:00:02"), "s-1", "staff"), face(at(MONDAY, "09:00:03"), "anon-1a2b3c4d5e6f", "unknown"),
        face(at(MONDAY, "09:00:10"), "e-1"), flow(at(MONDAY, "09:01"), entries=1)]
    r = day_of(messages)
    assert r.visitors.elders == {"e-1"} and r.visitors.anonymous == {"anon-1a2b3c4d5e6f"}


def test_records_stored_before_corroboration_still_load() -> None:
    record = day_record(day_of(no_counter_day(MONDAY), RulesConfig(count_faces_without_counter=True)),
                        "Asia/Shanghai").model_dump(mode="json")
    for key in ("elders_uncorroborated", "elders_unchecked", "uncorroborated_elder_ids", "unchecked_elder_ids"):
        del record[key]
    old = DayRecord.model_validate(record)
    assert old.elders == 4 and old.uncorroborated_elder_ids == [] and old.elders_uncorroborated == 0
    month = month_record("qd-a", "2026-10", "2A", [old], working_days_in_month=22, as_of=MONDAY,
                         month_end=date(2026, 10, 31), config=CONFIG)
    assert month.elders == 4 and month.elders_uncorroborated == 0 and month.elders_unchecked == 0


faces_st = st.lists(st.tuples(st.integers(0, 3599), st.sampled_from([f"e-{i}" for i in range(8)])), max_size=20)
flows_st = st.lists(st.tuples(st.integers(0, 3700), st.sampled_from([30, 60, 300, 900]), st.integers(0, 3),
                              st.integers(0, 2)), max_size=12)


def _obs(faces: list[tuple[int, str]], flows: list[tuple[int, int, int, int]]) -> list[Obs]:
    base = 1_760_000_000.0
    out = [Obs(base + t, "face", "cam-1", f"f{i}", state="elder", ref=ref) for i, (t, ref) in enumerate(faces)]
    out += [Obs(base + t, "flow", "counter-1", f"c{i}", entries=n_in, exits=n_out, period_s=p)
            for i, (t, p, n_in, n_out) in enumerate(flows)]
    return sorted(out, key=sort_key)


@settings(max_examples=150, deadline=None)
@given(faces_st, flows_st, st.integers(0, 3700), st.sampled_from([30, 60, 900]))
def test_never_more_elders_than_crossings_and_a_crossing_more_never_costs_one(
        faces: list[tuple[int, str]], flows: list[tuple[int, int, int, int]], extra_at: int, extra_period: int) -> None:
    start, end = 1_760_000_000.0, 1_760_000_000.0 + 3600
    got = corroborate(_obs(faces, flows), start, end, CONFIG)
    assert len(got.served) <= got.crossings
    assert got.served | got.uncorroborated == {ref for _, ref in faces}
    assert not got.served & got.uncorroborated
    more = corroborate(_obs(faces, [*flows, (extra_at, extra_period, 1, 0)]), start, end, CONFIG)
    assert len(more.served) >= len(got.served)
    assert len(more.served) <= len(got.served) + 1  # one crossing, at most one elder more


def _most_elders(faces: list[tuple[int, str]], flows: list[tuple[int, int, int, int]], window: float) -> int:
    """The most elders any assignment of crossings can serve: every subset of elders tried, each crossing one elder
    (Hall's condition checked by brute force over the subset's crossings)."""
    base = 1_760_000_000.0
    slots = [i for i, (_, _, n_in, n_out) in enumerate(flows) for _ in range(n_in + n_out)]

    def reaches(ref: str, i: int) -> bool:
        t_flow, period = base + flows[i][0], flows[i][1]
        return any(t_flow >= base + t - window and t_flow - period < base + t + window for t, r in faces if r == ref)

    elders = sorted({ref for _, ref in faces})
    best = 0
    for mask in range(1 << len(elders)):
        chosen = [e for j, e in enumerate(elders) if mask >> j & 1]
        if len(chosen) > best and _placeable(chosen, slots, set(), reaches):
            best = len(chosen)
    return best


def _placeable(chosen: list[str], slots: list[int], taken: set[int], reaches: Callable[[str, int], bool]) -> bool:
    """A crossing (slot) for each of `chosen`, none used twice, none in `taken`."""
    if not chosen:
        return True
    for s, i in enumerate(slots):
        if s not in taken and reaches(chosen[0], i) and _placeable(chosen[1:], slots, taken | {s}, reaches):
            return True
    return False


small_faces = st.lists(st.tuples(st.integers(0, 900), st.sampled_from([f"e-{i}" for i in range(5)])), max_size=8)
small_flows = st.lists(st.tuples(st.integers(0, 1000), st.sampled_from([30, 60, 300]), st.integers(0, 2),
                                 st.integers(0, 1)), max_size=6)


@settings(max_examples=150, deadline=None)
@given(small_faces, small_flows)
def test_as_many_elders_are_served_as_any_assignment_of_crossings_allows(
        faces: list[tuple[int, str]], flows: list[tuple[int, int, int, int]]) -> None:
    """The matching is maximum: no honest elder is lost to the order faces and crossings came in."""
    got = corroborate(_obs(faces, flows), 1_760_000_000.0, 1_760_000_000.0 + 3600, CONFIG)
    assert len(got.served) == _most_elders(faces, flows, CONFIG.face_crossing_window_s)


def test_a_hostile_day_of_thousands_of_elders_is_judged_without_exhausting_the_stack() -> None:
    """An agent that sends two distinct elders on every counting period's edge, all day: each pair reaches that
    period's single crossing and the next one's, so every search for a crossing runs back through the whole day
    (a chain thousands of elders long). It is judged, and as many elders are served as there are crossings."""
    base = 1_760_000_000.0
    n = 3000
    obs = [Obs(base + 60 * (j - 1), "face", "cam-1", f"f{j:05d}{who}", state="elder", ref=f"e-{j:05d}{who}")
           for j in range(1, n + 1) for who in "ab"]
    obs += [Obs(base + 60 * k, "flow", "counter-1", f"c{k:05d}", entries=1, period_s=60) for k in range(n + 1)]
    got = corroborate(sorted(obs, key=sort_key), base, base + 60 * (n + 1), RulesConfig(face_crossing_window_s=1))
    assert len(got.served) == n + 1 and len(got.uncorroborated) == n - 1
