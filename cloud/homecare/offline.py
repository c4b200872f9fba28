"""`cloud derive --elders --visits`: home care's audit lines from the bureau's files, by the functions the running
platform uses."""

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

from cloud.csv_records import decode_csv_bytes, parse_csv
from cloud.homecare.config import HomecareConfig
from cloud.homecare.counting import month_lines
from cloud.homecare.csv_files import category, day_cell, parse_elders, parse_visits
from cloud.homecare.months import months_between, visit_months
from cloud.homecare.records import CategoryVersion, Elder, MadeUpMonth, Visit, is_month
from cloud.homecare.service_period import outside_period


@dataclass
class HomecareFiles:
    elders: list[Elder]
    visits: list[Visit]
    made_up: dict[str, set[str]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def _made_up_row(cell: dict[str, str]) -> MadeUpMonth:
    month = cell["month"]
    if not is_month(month):
        raise ValueError(f"month {month!r} must be YYYY-MM")
    if not cell["elder_id"]:
        raise ValueError("elder_id is empty")
    return MadeUpMonth(elder=cell["elder_id"], month=month, reason=cell.get("reason", ""))


def _voided_row(cell: dict[str, str]) -> tuple[str, str]:
    if not cell["visit_id"]:
        raise ValueError("visit_id is empty")
    return cell["visit_id"], cell.get("reason", "")


def _category_row(cell: dict[str, str]) -> tuple[str, CategoryVersion]:
    if not cell["elder_id"]:
        raise ValueError("elder_id is empty")
    day = day_cell(cell["from"], "from")
    if day is None:
        raise ValueError("from is empty")
    return cell["elder_id"], CategoryVersion(day, category(cell["category"]))


def read_files(elders_path: Path, visits_path: Path, made_up_path: Path | None = None,
               voided_path: Path | None = None, categories_path: Path | None = None) -> HomecareFiles:
    """The files parsed; problems (bad rows, visits of elders not in the elders file) are kept with file and line.
    `categories_path`: the elders' category histories (`elder_id,from,category`); an elder without a row there is
    owed by its elders-file category on every day. Raises ValueError when a file cannot be read at all or has no
    valid elder."""
    problems: list[str] = []

    def text(path: Path) -> str:
        try:
            return decode_csv_bytes(path.read_bytes())
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from None

    elders, bad = parse_elders(text(elders_path))
    problems += [f"{elders_path}: {p}" for p in bad]
    if not elders:
        raise ValueError(f"{elders_path}: no valid elder rows")
    visits, bad = parse_visits(text(visits_path))
    problems += [f"{visits_path}: {p}" for p in bad]
    if categories_path is not None:
        versions, bad = parse_csv(text(categories_path), (("elder_id", "from", "category"), ()), _category_row,
                                  lambda r: f"{r[0]} {r[1].effective_from.isoformat()}", "version")
        problems += [f"{categories_path}: {p}" for p in bad]
        history: dict[str, list[CategoryVersion]] = {}
        for elder_id, version in versions:
            history.setdefault(elder_id, []).append(version)
        elders = [replace(e, categories=tuple(history.get(e.id, ()))) for e in elders]
    known = {e.id for e in elders}
    unknown = sorted({v.elder for v in visits} - known)
    if unknown:
        problems.append(f"{visits_path}: visits of {len(unknown)} elder(s) not in {elders_path.name} ignored: "
                        f"{', '.join(unknown[:10])}")
    made_up: dict[str, set[str]] = {}
    if made_up_path is not None:
        rows, bad = parse_csv(text(made_up_path), (("elder_id", "month"), ("reason",)), _made_up_row,
                              lambda r: f"{r.elder} {r.month}", "month")
        problems += [f"{made_up_path}: {p}" for p in bad]
        for row in rows:
            made_up.setdefault(row.elder, set()).add(row.month)
    voided: dict[str, str] = {}
    if voided_path is not None:
        rows_v, bad = parse_csv(text(voided_path), (("visit_id",), ("reason",)), _voided_row, lambda r: r[0],
                                "visit")
        problems += [f"{voided_path}: {p}" for p in bad]
        voided = dict(rows_v)
        missing = sorted(set(voided) - {v.id for v in visits})
        if missing:
            problems.append(f"{voided_path}: {len(missing)} voided visit(s) not in {visits_path.name}: "
                            f"{', '.join(missing[:10])}")
    kept = [replace(v, voided=True, void_reason=voided[v.id]) if v.id in voided else v
            for v in visits if v.elder in known]
    return HomecareFiles(elders, kept, made_up, problems)


def homecare_lines(files: HomecareFiles, config: HomecareConfig, now: datetime, first: date | None = None,
                   last: date | None = None) -> Iterator[dict[str, Any]]:
    """elder_month lines, then provider_month lines, then outside_period lines (orders signed in outside their
    elder's service period), for every month the visits span (or, with `first`/`last`, every month overlapping
    those dates). A month outside an elder's service period has no elder_month line: it is not judged."""
    by_id = {e.id: e for e in files.elders}
    span = visit_months(by_id, files.visits)
    low = f"{first.year:04d}-{first.month:02d}" if first else (span[0] if span else None)
    high = f"{last.year:04d}-{last.month:02d}" if last else (span[-1] if span else None)
    if low is None or high is None:
        return
    months = months_between(low, high)
    elder_lines, provider_lines = month_lines(files.elders, files.visits, months, files.made_up, config, now)
    yield from (line.model_dump(mode="json") for line in elder_lines)
    yield from (line.model_dump(mode="json") for line in provider_lines)
    yield from (line.model_dump(mode="json") for line in outside_period(by_id, files.visits, months))
