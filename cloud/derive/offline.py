"""`cloud derive` without its CLI: station records and decoded events in, JSON-able lines out; the worker's rules."""

from collections.abc import Collection, Iterator, Mapping, Sequence
from datetime import date
from typing import Any

from cloud.derive.decisions import Decision, Key, apply
from cloud.derive.files import EventFile, SpotCheck
from cloud.derive.shared import month_line, month_span, spot_line, veto_line
from cloud.registry.csv_rows import StationRecord
from cloud.rules.calendar import PACKAGE, Calendar
from cloud.rules.config import RulesConfig
from cloud.rules.day import DayResult
from cloud.rules.intervals import Interval
from cloud.rules.records import day_record
from cloud.rules.rollup import quarter_of, quarter_record
from cloud.rules.spotcheck import SpotResult, judge, vetoes
from cloud.rules.station import derive_days
from cloud.rules.unanswered import Ask
from firmware_config.kind import is_graded


def derive_lines(
    stations: Sequence[StationRecord],
    events: EventFile,
    first: date,
    last: date,
    config: RulesConfig,
    *,
    checks: Sequence[SpotCheck] = (),
    exceptions: Mapping[str, Mapping[date, str]] | None = None,
    decisions: Mapping[Key, Decision] | None = None,
    upheld: Collection[tuple[str, date, str, str]] = (),
    quarters: bool = False,
    calendar: Calendar = PACKAGE,
    until: float | None = None,
    losses: Sequence[Interval] = (),
    asks: Mapping[str, Sequence[Ask]] | None = None,
) -> Iterator[dict[str, Any]]:
    """Day lines, then month (and quarter) lines per station; then spot-check and veto lines. `until`: the time
    the data runs to (now), so the rest of today is not taken for equipment switched off. `decisions`: the bureau's
    decisions on disputed on-site checks, which count toward the veto instead of the sensor result. `upheld`: the
    checks (station, date, start, end) whose appeal was upheld: printed, but not counted toward the veto; nor are a
    town's own checks (`planner` town) unless `veto_counts_town_checks`. `losses`: the windows in which the platform
    lost messages (epoch seconds; the store's ingest_losses), as the worker reads them. `asks`: each station's time
    checks the cloud sent (the evidence export's time-checks.csv); none given, no day is judged on them."""
    exceptions = exceptions or {}
    results: dict[str, dict[date, DayResult]] = {}
    for station in stations:
        obs = events.obs.get(station.id, [])
        excused = exceptions.get(station.id, {})
        faults = events.clock_faults.get(station.id, {})
        derived = derive_days(station.id, station.schedule, excused, obs, first, last, config, faults,
                              calendar=calendar, until=until, losses=losses, asks=(asks or {}).get(station.id, ()))
        results[station.id] = {r.plan.day: r for r in derived}
        records = [day_record(r, station.schedule.timezone) for r in derived]
        yield from (r.model_dump(mode="json") for r in records)
        months = []
        month = month_span(first)[0]
        while month <= last:
            month_records = [r for r in records if (r.date.year, r.date.month) == (month.year, month.month)]
            line = month_line(station.id, station.grade, station.schedule, excused, month, month_records, last,
                              config, calendar, kind=station.kind)
            months.append(line)
            yield line.model_dump(mode="json", by_alias=True)
            month = date(month.year + month.month // 12, month.month % 12 + 1, 1)
        if quarters:
            for quarter in sorted({quarter_of(r.date) for r in records}):
                q_days = [r for r in records if quarter_of(r.date) == quarter]
                q_months = [m for m in months if quarter_of(date.fromisoformat(m.month + "-01")) == quarter]
                yield quarter_record(station.id, quarter, q_days, q_months, config).model_dump(mode="json")
    if not checks:
        return
    by_id = {s.id: s for s in stations}
    judged: list[tuple[str, date, SpotResult]] = []
    for check in checks:
        targets = [check.station] if check.station else sorted(by_id)
        for station_id in targets:
            station = by_id[station_id]
            day_result = results.get(station_id, {}).get(check.day)
            if day_result is None:  # a check outside --from/--to: derive that day too
                obs = events.obs.get(station_id, [])
                day_result = derive_days(station_id, station.schedule, exceptions.get(station_id, {}), obs,
                                         check.day, check.day, config, calendar=calendar, until=until,
                                         losses=losses, asks=(asks or {}).get(station_id, ()))[0]
            judgement = judge(day_result, check.start, check.end, station.schedule.timezone, config)
            start, end = f"{check.start:%H:%M}", f"{check.end:%H:%M}"
            spot = apply(spot_line(station_id, check.day, start, end, judgement),
                         (decisions or {}).get((station_id, check.day, start, end)))
            # A town's own check is its supervision: judged and printed, counted only when the rules say so.
            counts = check.planner == "bureau" or config.veto_counts_town_checks
            if counts and (station_id, check.day, start, end) not in upheld:
                judged.append((station_id, check.day, SpotResult(spot["result"])))
            yield spot
    # The veto applies to the graded kind only: a care centre's or neighbourhood point's closed checks are listed.
    not_graded = {(sid, day.year) for sid, day, _ in judged if not is_graded(by_id[sid].kind)}
    for status in vetoes(judged, config, not_graded):
        yield veto_line(status)


def check_stations(checks: Sequence[SpotCheck], stations: Sequence[StationRecord]) -> list[str]:
    """Problems: checks naming stations the CSV does not have."""
    known = {s.id for s in stations}
    return [f"spot check on {c.day} names unknown station {c.station!r}" for c in checks
            if c.station and c.station not in known]


def read_exceptions(text: str) -> dict[str, dict[date, str]]:
    """Approved closures CSV `station,date,reason`; raises ValueError naming the line."""
    import csv
    import io

    reader = csv.DictReader(io.StringIO(text))
    if [n.strip().lower() for n in reader.fieldnames or []][:3] != ["station", "date", "reason"]:
        raise ValueError("exceptions CSV line 1: header must be station,date,reason")
    out: dict[str, dict[date, str]] = {}
    for row in reader:
        try:
            day = date.fromisoformat((row.get("date") or "").strip())
        except ValueError as exc:
            raise ValueError(f"exceptions CSV line {reader.line_num}: {exc}") from None
        out.setdefault((row.get("station") or "").strip(), {})[day] = (row.get("reason") or "").strip() or "approved"
    return out


APPEAL_COLUMNS = ["station", "date", "start", "end", "outcome", "reason"]


def read_upheld_appeals(text: str) -> set[tuple[str, date, str, str]]:
    """The appeal decisions CSV `station,date,start,end,outcome,reason` (the dashboard's export): the checks whose
    appeal was upheld. Rejected and pending rows are read past. Raises ValueError naming the line."""
    import csv
    import io

    reader = csv.DictReader(io.StringIO(text.removeprefix("\ufeff")))
    if [n.strip().lower() for n in reader.fieldnames or []][:5] != APPEAL_COLUMNS[:5]:
        raise ValueError(f"appeals CSV line 1: header must be {','.join(APPEAL_COLUMNS)}")
    out: set[tuple[str, date, str, str]] = set()
    for row in reader:
        cells = {k: (row.get(k) or "").strip() for k in APPEAL_COLUMNS}
        if cells["outcome"] not in ("upheld", "rejected", "pending"):
            raise ValueError(f"appeals CSV line {reader.line_num}: outcome {cells['outcome']!r} "
                             "(expected upheld, rejected or pending)")
        try:
            day = date.fromisoformat(cells["date"])
        except ValueError as exc:
            raise ValueError(f"appeals CSV line {reader.line_num}: {exc}") from None
        if cells["outcome"] == "upheld":
            out.add((cells["station"], day, cells["start"], cells["end"]))
    return out
