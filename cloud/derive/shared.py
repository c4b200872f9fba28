"""Glue both runners share so the worker and `cloud derive` give identical answers: months, spot checks, vetoes."""

from calendar import monthrange
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from cloud.rules.calendar import PACKAGE, Calendar, days, plan_day
from cloud.rules.config import RulesConfig
from cloud.rules.records import DayRecord, MonthRecord
from cloud.rules.rollup import month_record
from cloud.rules.schedules import ScheduleHistory, schedule_on
from cloud.rules.spotcheck import SpotJudgement, VetoStatus
from firmware_config.schedule import Schedule


def month_span(day: date) -> tuple[date, date]:
    return day.replace(day=1), day.replace(day=monthrange(day.year, day.month)[1])


def month_line(
    station: str,
    grade: str | None,
    schedule: Schedule | ScheduleHistory,
    exceptions: Mapping[date, str],
    month_start: date,
    day_records: Sequence[DayRecord],
    as_of: date,
    config: RulesConfig,
    calendar: Calendar = PACKAGE,
    kind: str = "station",
    today: date | None = None,
) -> MonthRecord:
    """The month line from the month's day records up to `as_of`; its working days each by the schedule in force
    on it (`schedule`: one, or the station's history). `grade` and `kind`: those in force on the month's last day.
    `today`: the station's date now, before which no day is still running (`cloud.rules.rollup.coverage`)."""
    first, last = month_span(month_start)
    working = sum(1 for d in days(first, last) if plan_day(schedule_on(schedule, d), d, exceptions, calendar).working)
    in_range = [r for r in day_records if first <= r.date <= as_of]
    record = month_record(station, f"{first:%Y-%m}", grade, in_range, working_days_in_month=working,
                          as_of=min(as_of, last), month_end=last, config=config, kind=kind, today=today)
    seen_from = min((r.date for r in in_range), default=None)
    # A month seen only from its middle (`--from` inside it) is not complete, even once its last day has passed.
    return record.model_copy(update={"first_day": seen_from.isoformat() if seen_from else None,
                                     "complete": record.complete and seen_from == first})


def spot_line(station: str, day: date, start: str, end: str, judgement: SpotJudgement) -> dict[str, Any]:
    return {
        "type": "spot_check",
        "station": station,
        "date": day.isoformat(),
        "start": start,
        "end": end,
        "result": judgement.result.value,
        "reason_code": judgement.code.value,
        "reason": judgement.reason,
        "checked_minutes": judgement.checked_minutes,
        "open_minutes": judgement.open_minutes,
        "closed_minutes": judgement.closed_minutes,
        "unknown_minutes": judgement.unknown_minutes,
        "stretches": list(judgement.stretches),
    }


def veto_line(status: VetoStatus) -> dict[str, Any]:
    return {
        "type": "veto",
        "station": status.station,
        "year": status.year,
        "failed": status.failed,
        "veto": status.veto,
        "failed_dates": list(status.failed_dates),
    }
