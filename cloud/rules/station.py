"""Derive a run of days for one station: the entry point both the worker and `cloud derive` call."""

from bisect import bisect_left
from collections.abc import Mapping, Sequence
from datetime import date

from cloud.rules.calendar import days, plan_day
from cloud.rules.config import RulesConfig
from cloud.rules.day import DayResult, derive_day
from cloud.rules.observations import Obs
from firmware_config.schedule import Schedule


def derive_days(
    station: str,
    schedule: Schedule,
    exceptions: Mapping[date, str],
    obs: Sequence[Obs],
    first: date,
    last: date,
    config: RulesConfig,
    clock_faults: Mapping[date, int] | None = None,
) -> list[DayResult]:
    """Every day from `first` to `last` of one station; `obs` sorted by `sort_key`, from at least the door lookback
    before `first` (earlier or later observations are ignored, so any superset gives the same answer)."""
    times = [o.t for o in obs]
    lookback = max(config.door_lookback_hours * 3600, config.liveness_minutes * 60)
    results = []
    for day in days(first, last):
        plan = plan_day(schedule, day, exceptions)
        lo = bisect_left(times, plan.start - lookback)
        hi = bisect_left(times, plan.end)
        faults = (clock_faults or {}).get(day, 0)
        results.append(derive_day(station, plan, obs[lo:hi], config, faults))
    return results
