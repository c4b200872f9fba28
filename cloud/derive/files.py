"""Reading the audit inputs of `cloud derive`: protocol events as JSON lines, the spot-check plan CSV, the
windows in which the platform lost messages and the time checks the cloud sent."""

import csv
import io
import json
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from cloud.convert import AGENT_NAMESPACE, sent_at
from cloud.rules.observations import Obs, from_message, sort_key
from cloud.rules.unanswered import Ask
from station_protocol import Event, ProtocolError, decode
from station_protocol.codec import clock_fault


@dataclass
class EventFile:
    """Observations per station (sorted, one per event id), clock faults per station-day, and bad lines."""

    obs: dict[str, list[Obs]] = field(default_factory=dict)
    clock_faults: dict[str, dict[date, int]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    lines: int = 0
    duplicates: int = 0


MAX_INGESTER_NAME = 256  # an MQTT client id; the ingester's default is eldercare-ingest-<host name>


def read_events(lines: Iterable[str], zones: dict[str, ZoneInfo], default_zone: ZoneInfo,
                now: datetime | None = None, progress: Callable[[int], None] | None = None) -> EventFile:
    """Decode every line with the protocol's receiver rules; bad lines become problems with their line number.
    `progress(lines so far)` is called every 100,000 lines."""
    out = EventFile()
    seen: set[str] = set()
    by_station: dict[str, list[Obs]] = defaultdict(list)
    faults: dict[str, dict[date, int]] = defaultdict(lambda: defaultdict(int))
    run_now = now or datetime.now(UTC)
    for number, line in enumerate(lines, start=1):
        out.lines = number
        if progress is not None and number % 100_000 == 0:
            progress(number)
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            if not isinstance(record, dict) or "topic" not in record or "payload" not in record:
                raise ValueError("expected an object with 'topic' and 'payload'")
            if not isinstance(record["topic"], str) or not isinstance(record["payload"], dict):
                raise ValueError("'topic' must be a string and 'payload' an object")
            raw = json.dumps(record["payload"], ensure_ascii=False, sort_keys=True)
            decoded = decode(record["topic"], raw, now=run_now)
            received_at = _received_at(record.get("received_at"))
            received_by = _received_by(record.get("received_by"))
        except ProtocolError as exc:
            out.problems.append(f"line {number}: {'; '.join(exc.problems)}")
            continue
        except ValueError as exc:
            out.problems.append(f"line {number}: not a protocol event line: {exc}")
            continue
        message = decoded.message
        if isinstance(message, Event):
            event_id = str(message.id)
        else:
            # Status and heartbeat carry no id: the same deterministic id ingest gives them, so replays dedupe alike.
            ts_text = message.ts.isoformat()
            event_id = str(uuid.uuid5(AGENT_NAMESPACE, f"{decoded.topic.station}/{decoded.topic.kind}/{ts_text}"))
        if event_id in seen:
            out.duplicates += 1  # the idempotency key: stored once however often it arrives
            continue
        seen.add(event_id)
        ts = getattr(message, "ts", None)
        station = decoded.topic.station
        # The store judges clock faults at receipt: with the line's `received_at` (an export of the store) so does
        # the audit; without it, the agent's own send time stands in for the receipt.
        receipt = received_at or sent_at(message)
        fault = decoded.clock_fault or (clock_fault(ts, receipt) if ts is not None and receipt is not None else None)
        if fault is not None and ts is not None:
            faults[station][ts.astimezone(zones.get(station, default_zone)).date()] += 1
            continue
        obs = from_message(message, event_id, received_at, received_by)
        if obs is not None:
            by_station[station].append(obs)
    out.obs = {station: sorted(items, key=sort_key) for station, items in by_station.items()}
    out.clock_faults = {station: dict(days) for station, days in faults.items()}
    return out


def _received_by(value: object) -> str | None:
    """A line's optional `received_by` (the ingester that received the event, as the store keeps it): with two
    ingesters, what one of them received late while it was stopped is the cloud's delay, not the station's."""
    if value is None:
        return None
    if not isinstance(value, str) or not 0 < len(value) <= MAX_INGESTER_NAME:
        raise ValueError(f"'received_by' must be an ingester's name of 1 to {MAX_INGESTER_NAME} characters")
    return value


def _received_at(value: object) -> datetime | None:
    """A line's optional `received_at` (when the cloud received the event, RFC 3339 with an offset, as the store
    keeps it): lets an audit set aside what a station held back and sent late."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError("'received_at' must be an RFC 3339 time with an offset")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"'received_at' {value!r} is not an RFC 3339 time") from None
    if parsed.tzinfo is None:
        raise ValueError(f"'received_at' {value!r} has no UTC offset")
    return parsed


PLANNERS = ("bureau", "town")


@dataclass(frozen=True, slots=True)
class SpotCheck:
    day: date
    start: time
    end: time
    station: str | None  # None: every station
    planner: str = "bureau"  # whose check: the veto counts the bureau's (a town's own only if the rules say so)


def csv_table(text: str) -> tuple[list[str], Iterator[tuple[int, dict[str, str]]]]:
    """A plan or decisions CSV as the bureau's spreadsheet saves it: its header (names trimmed, lower case; a leading
    byte-order mark dropped) and its non-blank rows as (line number, cells by header name, trimmed)."""
    reader = csv.DictReader(io.StringIO(text.removeprefix("\ufeff")))
    header = [name.strip().lower() for name in reader.fieldnames or []]

    def rows() -> Iterator[tuple[int, dict[str, str]]]:
        for row in reader:
            cells = {k.strip().lower(): (v or "").strip() for k, v in row.items() if k is not None}
            if any(cells.values()):
                yield reader.line_num, cells

    return header, rows()


def csv_window(cells: dict[str, str], what: str, line: int) -> tuple[date, time, time]:
    """A row's `date`, `start` and `end`; raises ValueError naming the file kind and line."""
    try:
        return (date.fromisoformat(cells["date"]), time.fromisoformat(cells["start"]),
                time.fromisoformat(cells["end"]))
    except ValueError as exc:
        raise ValueError(f"{what} CSV line {line}: {exc} (date YYYY-MM-DD, times HH:MM)") from None


def read_spot_checks(text: str) -> list[SpotCheck]:
    """The CSV `date,start,end,station[,planner]` (times HH:MM, empty station = all; planner `bureau` or `town`,
    empty or no column = `bureau`); raises ValueError naming the line."""
    header, rows = csv_table(text)
    if header[:4] != ["date", "start", "end", "station"]:
        raise ValueError(f"spot-check CSV line 1: header must be date,start,end,station (got {','.join(header)})")
    checks = []
    for line, cells in rows:
        day, start, end = csv_window(cells, "spot-check", line)
        if end <= start:
            raise ValueError(f"spot-check CSV line {line}: end {cells['end']} is not after start {cells['start']}")
        planner = cells.get("planner", "") or "bureau"
        if planner not in PLANNERS:
            raise ValueError(f"spot-check CSV line {line}: planner {planner!r} is not one of {', '.join(PLANNERS)}")
        checks.append(SpotCheck(day, start, end, cells["station"] or None, planner))
    return checks


LOSS_COLUMNS = ["client_id", "lost_from", "lost_to", "reason"]


def read_losses(text: str) -> list[tuple[float, float]]:
    """The CSV `client_id,lost_from,lost_to,reason` of windows in which the platform lost messages (the evidence
    export's ingest-losses.csv; times RFC 3339 with their offset): the windows as epoch seconds. Raises ValueError
    naming the line."""
    header, rows = csv_table(text)
    if header[:4] != LOSS_COLUMNS:
        raise ValueError(f"losses CSV line 1: header must be {','.join(LOSS_COLUMNS)} (got {','.join(header)})")
    windows = []
    for line, cells in rows:
        bounds = []
        for name in ("lost_from", "lost_to"):
            try:
                moment = datetime.fromisoformat(cells[name])
            except ValueError:
                raise ValueError(f"losses CSV line {line}: {name} {cells[name]!r} is not an RFC 3339 time") from None
            if moment.tzinfo is None:
                raise ValueError(f"losses CSV line {line}: {name} {cells[name]!r} has no offset (UTC is +00:00)")
            bounds.append(moment.timestamp())
        if bounds[1] < bounds[0]:
            raise ValueError(f"losses CSV line {line}: lost_to {cells['lost_to']} is before lost_from")
        windows.append((bounds[0], bounds[1]))
    return windows


TIME_CHECK_COLUMNS = ["station", "check", "asked_at"]


def read_time_checks(text: str) -> dict[str, list[Ask]]:
    """The CSV `station,check,asked_at` of the time checks the cloud sent (the evidence export's time-checks.csv;
    times RFC 3339 with their offset): each station's checks, in time order. Raises ValueError naming the line."""
    header, rows = csv_table(text)
    if header[:3] != TIME_CHECK_COLUMNS:
        raise ValueError(f"time checks CSV line 1: header must be {','.join(TIME_CHECK_COLUMNS)} "
                         f"(got {','.join(header)})")
    out: dict[str, list[Ask]] = defaultdict(list)
    for line, cells in rows:
        if not cells["station"] or not cells["check"]:
            raise ValueError(f"time checks CSV line {line}: station and check are required")
        try:
            moment = datetime.fromisoformat(cells["asked_at"])
        except ValueError:
            raise ValueError(f"time checks CSV line {line}: asked_at {cells['asked_at']!r} is not an RFC 3339 "
                             "time") from None
        if moment.tzinfo is None:
            raise ValueError(f"time checks CSV line {line}: asked_at {cells['asked_at']!r} has no offset "
                             "(UTC is +00:00)")
        out[cells["station"]].append(Ask(cells["check"], moment.timestamp()))
    return {station: sorted(asks, key=lambda a: a.at) for station, asks in out.items()}
