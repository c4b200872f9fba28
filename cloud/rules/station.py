"""Derive a run of days for one station: the entry point both the worker and `cloud derive` call."""

from bisect import bisect_left
from collections.abc import Mapping, Sequence
from datetime import date

from cloud.rules.calendar import PACKAGE, Calendar, days, plan_day
from cloud.rules.clock_check import found_behind
from cloud.rules.clock_steps import beats_of_day, found_steps, trusted_beats
from cloud.rules.config import RulesConfig
from cloud.rules.day import DayResult, derive_day
from cloud.rules.intervals import Interval, merge
from cloud.rules.losses import READINGS, backlog_gaps, overlapping
from cloud.rules.observations import Obs
from cloud.rules.schedules import ScheduleHistory, schedule_on
from cloud.rules.sequence import out_of_sequence
from cloud.rules.unanswered import Ask, Asked, judge_asks
from firmware_config.schedule import Schedule
from station_protocol.kinds import ANSWER


def derive_days(
    station: str,
    schedule: Schedule | ScheduleHistory,
    exceptions: Mapping[date, str],
    obs: Sequence[Obs],
    first: date,
    last: date,
    config: RulesConfig,
    clock_faults: Mapping[date, int] | None = None,
    calendar: Calendar = PACKAGE,
    until: float | None = None,
    losses: Sequence[Interval] = (),
    asks: Sequence[Ask] = (),
) -> list[DayResult]:
    """Every day from `first` to `last` of one station; `obs` sorted by `sort_key`, covering the days, the door
    events of the door lookback before `first`, everything in the liveness window (or the face-crossing window, if
    longer) before it and the counts in the face-crossing window after `last`, and, for each device with a reading
    received late, its nearest promptly received reading before and after those (the worker and the evidence export
    add them). Readings received late whose sequence numbers contradict their time are set aside first, judged on
    all of `obs` (cloud.rules.sequence): a reading heard live anywhere in `obs` may be the anchor a late one must fit,
    so only a superset that brings no prompt reading of such a device nearer to a late one gives the same answer
    (anything else beyond the windows above is ignored). `until`: the time the data runs to (now), for today.
    `schedule`: one for every day, or the station's history, each day judged by the version in force on it.
    `losses`: the windows in which the platform lost messages (epoch seconds), every station's alike, including those
    after the days (a backlog of the days sent later may have been lost in one): `obs` then also holds the station's
    last reading before the liveness window of the first day and its first after the counts after the last, between
    which such a backlog was sent. A day holding an answer to the cloud's time check stamped before it was asked is
    judged on nothing (cloud.rules.clock_check), and so is one with no answer at all to the checks the cloud sent
    while it heard the station live (`asks`: the station's checks the broker confirmed, any superset of the days';
    cloud.rules.unanswered), and one holding a step of the station's clock within one boot (cloud.rules.clock_steps):
    `obs` then also holds the station's nearest trusted heartbeat with a boot before the first day and after the
    last, within `clock_step_context_days` (the worker and the evidence export add them)."""
    # Judged on everything given, not day by day: the readings heard live around a day are what a late one must fit.
    obs, unfit = out_of_sequence(obs, config)
    unfit_times = [o.t for o in unfit]
    times = [o.t for o in obs]
    readings = [o for o in obs if o.kind in READINGS]
    reading_times = [o.t for o in readings]
    doors = [o for o in obs if o.kind == "door"]
    door_times = [o.t for o in doors]
    # Answers to the cloud's time checks (cloud.rules.clock_check); an inline compare, as this looks at every message.
    answers = [o for o in obs if o.state == ANSWER]
    answer_times = [o.t for o in answers]
    asks = sorted(asks, key=lambda a: a.at)
    ask_times = [a.at for a in asks]
    # Heartbeats that carry their boot, stamped by a trusted clock (cloud.rules.clock_steps).
    beats = trusted_beats(obs)
    beat_times = [o.t for o in beats]
    # Before the day only three things matter: evidence of life in the last `live` seconds, door states, and counts
    # near enough to corroborate a face just after midnight; after it, only counts near a face just before.
    window = config.face_crossing_window_s
    live = max(config.liveness_minutes * 60, window)
    lookback = max(config.door_lookback_hours * 3600, live)
    results = []
    for day in days(first, last):
        plan = plan_day(schedule_on(schedule, day), day, exceptions, calendar)
        lo = bisect_left(times, plan.start - live)
        hi = bisect_left(times, plan.end)
        prior = doors[bisect_left(door_times, plan.start - lookback):bisect_left(door_times, plan.start - live)]
        after = [o for o in obs[hi:bisect_left(times, plan.end + window)] if o.kind == "flow"]
        faults = (clock_faults or {}).get(day, 0)
        # Windows before the day matter too: a door state carried into it across one is not evidence.
        lost = overlapping(losses, plan.start - lookback, plan.end)
        # And windows after it: a backlog of the day sent later may have lost part of the day's readings.
        backlog = _backlog(readings, reading_times, doors, door_times, plan.start - lookback, plan.start - live,
                           plan.end + window, losses, config.late_delivery_minutes * 60) if losses else []
        unsequenced = unfit[bisect_left(unfit_times, plan.start):bisect_left(unfit_times, plan.end)]
        # A clock found behind by an answer stamped in the day: none of the day's readings can be placed in time.
        today = answers[bisect_left(answer_times, plan.start):bisect_left(answer_times, plan.end)]
        behind = found_behind(today, plan.start, plan.end, config) if today else []
        # The checks the cloud asked in the day, against what it received around them: by their stamps, from the
        # liveness window before the day to the face-crossing window after it (an answer to a check just before
        # midnight is stamped just after it), whatever else was loaded, so the worker and an audit agree.
        day_asks = asks[bisect_left(ask_times, plan.start):bisect_left(ask_times, plan.end)]
        asked = judge_asks(day_asks, obs[lo:bisect_left(times, plan.end + window)], len(today), config) \
            if day_asks else Asked()
        # A clock stepped within one boot, shown by heartbeats stamped in the day and its nearest before and after.
        near = beats_of_day(beats, beat_times, plan.start, plan.end, config) if beats else []
        steps = found_steps(near, plan.start, plan.end, config) if near else []
        results.append(derive_day(station, plan, [*prior, *obs[lo:hi], *after], config, faults, until, lost,
                                  backlog, unsequenced, behind, len(today), asked, steps=steps))
    return results


def _backlog(readings: Sequence[Obs], times: Sequence[float], doors: Sequence[Obs], door_times: Sequence[float],
             since: float, lo: float, hi: float, losses: Sequence[Interval], late_s: float) -> list[Interval]:
    """The stretches of a backlog a loss window may have taken (`backlog_gaps`) that a day looks at: between its
    readings from `lo` to `hi` (what the day and its margins read, with the last reading before and the first after),
    and, before `lo`, between its door readings from `since` (a door state carried into the day). Chosen by these
    bounds alone, so any superset of what the worker loads gives the same stretches."""
    first, end = bisect_left(times, lo), bisect_left(times, hi)
    near = readings[max(first - 1, 0):end + 1]
    before = doors[bisect_left(door_times, since):bisect_left(door_times, lo) + 1]
    return merge([*backlog_gaps(near, losses, late_s), *backlog_gaps(before, losses, late_s)])
