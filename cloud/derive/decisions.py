"""The bureau's decisions on disputed on-site checks, as `cloud derive --decisions` reads them: the CSV the API
exports (`GET /api/v1/onsite/decisions.csv`), so an audit recompute counts the same outcomes as the platform."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from cloud.derive.files import SpotCheck, csv_table, csv_window
from cloud.rules.onsite import DECIDABLE
from cloud.rules.spotcheck import SpotResult

HEADER = ["station", "date", "start", "end", "outcome", "reason", "decided_by", "sensor_result", "found"]
Key = tuple[str, date, str, str]  # station, local date, window start and end (HH:MM)


@dataclass(frozen=True, slots=True)
class Decision:
    outcome: SpotResult
    reason: str
    decided_by: str
    sensor_result: str
    found: str


def read_decisions(text: str) -> dict[Key, Decision]:
    """The decisions CSV; raises ValueError naming the line (a bad outcome, date or time, or two different
    decisions on one check)."""
    header, rows = csv_table(text)
    if header[:5] != HEADER[:5]:
        raise ValueError(f"decisions CSV line 1: header must start {','.join(HEADER[:5])} (got {','.join(header)})")
    out: dict[Key, Decision] = {}
    allowed = {r.value for r in DECIDABLE}
    for line, cells in rows:
        day, start, end = csv_window(cells, "decisions", line)
        if cells["outcome"] not in allowed:
            raise ValueError(f"decisions CSV line {line}: outcome {cells['outcome']!r} is not one of "
                             f"{', '.join(sorted(allowed))}")
        if not cells["station"]:
            raise ValueError(f"decisions CSV line {line}: no station")
        key = (cells["station"], day, f"{start:%H:%M}", f"{end:%H:%M}")
        decision = Decision(SpotResult(cells["outcome"]), cells.get("reason", ""), cells.get("decided_by", ""),
                            cells.get("sensor_result", ""), cells.get("found", ""))
        if key in out and out[key].outcome is not decision.outcome:
            raise ValueError(f"decisions CSV line {line}: a different decision on the same check is already given")
        out[key] = decision
    return out


def unmatched(decisions: Mapping[Key, Decision], checks: Sequence[SpotCheck]) -> list[str]:
    """Decisions on checks the spot-check CSV does not plan: the audit would not count them."""
    planned = [(c.station, c.day, f"{c.start:%H:%M}", f"{c.end:%H:%M}") for c in checks]
    problems = []
    for station, day, start, end in sorted(decisions):
        if not any(s in (None, station) and (d, a, b) == (day, start, end) for s, d, a, b in planned):
            problems.append(f"decision on {station} {day} {start}-{end} matches no spot check of --spot-checks")
    return problems


def apply(line: dict[str, Any], decision: Decision | None) -> dict[str, Any]:
    """A spot-check line with the bureau's decision: `result` is what counts, `sensor_result` what the sensors
    said. Without a decision the line is unchanged."""
    if decision is None:
        return line
    return {**line, "result": decision.outcome.value, "sensor_result": line["result"],
            "decision": {"outcome": decision.outcome.value, "reason": decision.reason, "by": decision.decided_by,
                         "found": decision.found}}
