"""The exported sheets speak Chinese: every spot-check reason code and every month reason the rules produce has its
Chinese wording, and nothing of the English is left in it."""

import re
from datetime import date, time
from zoneinfo import ZoneInfo

import pytest

from cloud.api.names_zh import KINDS, SPOT_REASONS, VERDICTS, month_reason, spot_reason
from cloud.derive.files import read_events
from cloud.derive.shared import spot_line
from cloud.rules.config import RulesConfig
from cloud.rules.day import Verdict
from cloud.rules.records import day_record
from cloud.rules.rollup import NO_FACES, NOT_GRADED, coverage
from cloud.rules.spotcheck import SpotReason, judge
from cloud.rules.station import derive_days
from firmware_config.kind import KINDS as STATION_KINDS
from tests.rules.conftest import SCHEDULE, as_lines
from tests.rules.scenario import StationDay

LATIN = re.compile(r"[A-Za-z]")
MONDAY = date(2026, 10, 12)
CONFIG = RulesConfig()


def test_every_code_has_its_chinese() -> None:
    assert set(SPOT_REASONS) == {r.value for r in SpotReason}
    assert set(VERDICTS) == {v.value for v in Verdict}
    assert set(KINDS) == set(STATION_KINDS) and not any(LATIN.search(name) for name in KINDS.values())


def test_a_day_without_a_verdict_is_not_called_offline() -> None:
    # A day is unknown for a missing calendar, devices switched off or a clock at fault as much as for a station
    # offline: a sheet saying 离线 would send the bureau after the network, not after the station.
    assert "离线" not in VERDICTS[Verdict.UNKNOWN.value]


@pytest.mark.parametrize(("door", "exceptions", "expected"), [
    ([(time(8, 25), time(17, 5))], {}, "检查时段内开放"),
    ([], {}, "工作时间内未开放（08:30-11:30）"),
    ([], {MONDAY: "水管维修 =1+1"}, "已批准停业：水管维修 =1+1"),
])
def test_spot_check_reasons_as_the_judge_gives_them(door: list[tuple[time, time]], exceptions: dict[date, str],
                                                     expected: str) -> None:
    events = read_events(as_lines(StationDay("qd-a", MONDAY, door=door).messages()), {}, ZoneInfo("Asia/Shanghai"))
    result = derive_days("qd-a", SCHEDULE, exceptions, events.obs["qd-a"], MONDAY, MONDAY, CONFIG)[0]
    line = spot_line("qd-a", MONDAY, "09:00", "10:00", judge(result, time(9), time(10), "Asia/Shanghai", CONFIG))
    assert spot_reason(line) == expected


def test_an_unknown_code_keeps_the_english_rather_than_nothing() -> None:
    assert spot_reason({"reason_code": "new_code", "reason": "something new"}) == "something new"
    assert month_reason("a reason added later") == "a reason added later"


def test_every_month_reason_the_rules_give_is_translated() -> None:
    reasons = [NO_FACES, NOT_GRADED]
    silent = derive_days("qd-a", SCHEDULE, {}, [], MONDAY, MONDAY, CONFIG)  # nothing known
    records = [day_record(r, "Asia/Shanghai") for r in silent]
    reasons.append(str(coverage(records, CONFIG).reason))
    reasons.append(str(coverage([], CONFIG).reason))
    unknown_calendar = [r.model_copy(update={"working_day": None}) for r in records]
    reasons.append(str(coverage(unknown_calendar, CONFIG).reason))
    chinese = [month_reason(r) for r in reasons]
    assert all(not LATIN.search(c) for c in chinese), chinese
    assert "计划时长中仅 0% 有设备数据（至少需 50%）" in chinese
