"""Spot checks judged from the timeline, the audited random draw, and the veto (一票否决)."""

import random
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from enum import StrEnum
from zoneinfo import ZoneInfo

from cloud.rules.config import RulesConfig
from cloud.rules.day import DayResult
from cloud.rules.intervals import intersect, merge, total


class SpotResult(StrEnum):
    PASS = "pass"  # noqa: S105 (a result, not a password)
    FAIL = "fail"  # closed when it should be open
    EXCUSED = "excused"  # an approved closure, or the window is outside its working hours
    UNVERIFIABLE = "unverifiable"  # devices offline: neither open nor closed can be shown


@dataclass(frozen=True, slots=True)
class SpotJudgement:
    result: SpotResult
    reason: str
    checked_minutes: int
    open_minutes: int
    closed_minutes: int
    unknown_minutes: int


def judge(day: DayResult, start: time, end: time, timezone: str, config: RulesConfig) -> SpotJudgement:
    """Judge one station in the window [start, end) of `day` (local time) from its timeline."""
    zone = ZoneInfo(timezone)
    d = day.plan.day
    window = [(datetime.combine(d, start, zone).timestamp(), datetime.combine(d, end, zone).timestamp())]
    checked = intersect(merge(day.plan.sessions), window)
    checked_s = total(checked)

    def minutes(seconds: float) -> int:
        return round(seconds / 60)

    if day.plan.working is None:
        return SpotJudgement(SpotResult.UNVERIFIABLE, day.plan.national.name or "calendar unknown", 0, 0, 0, 0)
    if day.plan.excused is not None:
        return SpotJudgement(SpotResult.EXCUSED, f"approved closure: {day.plan.excused}", minutes(checked_s), 0, 0, 0)
    if checked_s == 0:
        why = "not a working day" if not day.plan.working else "window outside the station's working hours"
        return SpotJudgement(SpotResult.EXCUSED, why, 0, 0, 0, 0)
    known_s = total(intersect(day.timeline.known, checked))
    open_s = total(intersect(day.timeline.open, checked))
    unknown_s = checked_s - known_s
    counts = (minutes(checked_s), minutes(open_s), minutes(known_s - open_s), minutes(unknown_s))
    if unknown_s > config.spot_check_unknown_share * checked_s:
        return SpotJudgement(SpotResult.UNVERIFIABLE, "devices offline during the check", *counts)
    if open_s >= config.spot_check_open_share * known_s:
        return SpotJudgement(SpotResult.PASS, "open during the check", *counts)
    return SpotJudgement(SpotResult.FAIL, "closed during working hours", *counts)


def draw(station_ids: Iterable[str], sample: int, seed: int) -> list[str]:
    """An auditable random draw: the same stations and seed always give the same sorted sample."""
    population = sorted(set(station_ids))
    chosen = random.Random(seed).sample(population, min(sample, len(population)))
    return sorted(chosen)


@dataclass(frozen=True, slots=True)
class VetoStatus:
    station: str
    year: int
    failed: int
    veto: bool
    failed_dates: tuple[str, ...]


def vetoes(results: Sequence[tuple[str, date, SpotResult]], config: RulesConfig) -> list[VetoStatus]:
    """Failed checks per station per year (one per station and check); `veto_failures` or more sets the veto."""
    failed: Counter[tuple[str, int]] = Counter()
    dates: dict[tuple[str, int], list[str]] = {}
    for station, day, result in results:
        key = (station, day.year)
        failed[key] += 0
        dates.setdefault(key, [])
        if result is SpotResult.FAIL:
            failed[key] += 1
            dates[key].append(day.isoformat())
    return [
        VetoStatus(station, year, n, n >= config.veto_failures, tuple(sorted(dates[(station, year)])))
        for (station, year), n in sorted(failed.items())
    ]
