"""The demo's simulated fleet still serves its elders under the counter's corroboration: every simulated face comes
with the counter's crossing of that person (15-minute counts), so elders served are the enrolled elders who came, and
the station serving a small circle stays below its threshold while the others do not."""

import json
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from cloud.derive.files import read_events
from cloud.rules.config import RulesConfig
from cloud.rules.records import day_record
from cloud.rules.rollup import month_record
from cloud.rules.station import derive_days
from simulators.fleet import _shape, build_fleet, fleet_events
from simulators.scenario import DEFAULT_SCHEDULE, plan_day

SHANGHAI = ZoneInfo("Asia/Shanghai")
FIRST, LAST = date(2026, 11, 2), date(2026, 11, 13)  # two working weeks
CONFIG = RulesConfig()


def test_the_fleets_elders_are_all_corroborated_and_the_threshold_story_holds() -> None:
    now = datetime(2026, 11, 14, 4, tzinfo=UTC)
    fleet = build_fleet(4, FIRST, LAST, now, offline_hours=1)
    lines = [json.dumps({"topic": e.topic, "payload": json.loads(e.payload)})
             for e in fleet_events(fleet, FIRST, LAST)]
    parsed = read_events(lines, {}, SHANGHAI, now=now)
    assert not parsed.problems
    figures = {}
    for config in fleet.stations:
        if not any(d.type == "camera" for d in config.devices):
            continue
        schedule = config.schedule or DEFAULT_SCHEDULE
        results = derive_days(config.station, schedule, {}, parsed.obs[config.station], FIRST, LAST, CONFIG)
        records = [day_record(r, schedule.timezone) for r in results]
        enrolled: set[str] = set()
        for r in results:
            truth = _shape(plan_day(config, r.plan.day), fleet)
            came = {v.person for v in truth.visits if v.role == "elder" and v.enrolled}
            enrolled |= came
            assert r.visitors.uncorroborated == frozenset(), (config.station, r.plan.day)
            assert r.visitors.elders == came, (config.station, r.plan.day)
            assert not {"faces_uncorroborated", "faces_unchecked"} & set(r.flags)
        month = month_record(config.station, "2026-11", config.grade, records, working_days_in_month=21,
                             as_of=LAST, month_end=date(2026, 11, 30), config=CONFIG)
        assert month.elders == len(enrolled) and month.elders_uncorroborated == 0
        figures[config.station] = month
    below = figures[fleet.below_threshold]
    assert below.met is False and below.elders <= 25
    assert [s for s, m in figures.items() if s != fleet.below_threshold and m.projection is not None
            and m.threshold is not None and m.projection < m.threshold] == []
