"""A station's evidence for an audit: the raw files `eldercare cloud derive` reads, downloaded from the platform.

A verdict that can take a station's subsidy must be reproducible by whoever disputes it. These routes give, for one
station and a range of its local days, exactly what the worker judged those days from:

- `events.jsonl`: the stored events as `derive --events` reads them (topic, payload as stored, `received_at`,
  `received_by`), streamed row by row from the database (a year of a busy station is hundreds of megabytes), and
  with the events before the first day the worker also looks at (a door left open over midnight, the liveness
  window) and the counts just after the last (a face just before midnight), and for each device with a reading
  received late its nearest readings received promptly before and after those (the anchors its sequence numbers must
  fit between, `cloud.rules.sequence`);
- `station.csv`: the station's registry row with the hours and grade in force on those days (`derive --stations`);
- `time-checks.csv`: the cloud's time checks sent to the station in those days, as the sender recorded them
  (`derive --time-checks`): a day with none answered while the station was heard live counts nowhere;
- `spot-checks.csv`: the checks of the station whose window has ended (`derive --spot-checks`), with whose check
  each was, so the audit's veto counts the checks the platform's counts.

Approved closures, the bureau's decisions on disputed on-site checks and the appeals have their own exports
(`/closures/exceptions.csv`, `/onsite/decisions.csv?station=`, `/appeals/decisions.csv`).

Scope: the bureau any station, a town officer its towns' stations (another's answers 404, as one that does not
exist), station staff their own station's events and registry row: their own sensors' data and hours, nothing they
did not send or know. Spot checks are never shown to station staff (403): they are unannounced.
"""

import csv
import heapq
import io
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from itertools import islice
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, HTTPException, Query, Response, status
from fastapi.responses import StreamingResponse
from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session, sessionmaker

from cloud.api.deps import ConfigDep, RulesDep, RuntimeDep, SessionDep, StationViewer, SupervisorUser
from cloud.api.moments import Day
from cloud.api.onsite_view import plans_for
from cloud.api.schemas import StationIdParam
from cloud.api.scope import get_visible_station
from cloud.api.sheets import safe_row
from cloud.derive.files import TIME_CHECK_COLUMNS
from cloud.derive.storeio import anchor_rows, trusted_beats
from cloud.derive.verdicts import window_end
from cloud.rules import sequence
from cloud.rules.config import RulesConfig
from cloud.rules.losses import READINGS
from cloud.store.derived import SpotCheckPlan
from cloud.store.models import Event, Station
from cloud.store.schedules import StationSchedule
from cloud.store.time_checks import ask_rows
from station_protocol.topics import Kind, Topic

router = APIRouter(prefix="/exports/stations", tags=["exports"])

# An audit covers at most a year of days (a leap year's 366): enough for a year's veto, and a bound on one download.
MAX_DAYS = 366
ROWS_PER_CHUNK = 2000  # rows fetched from the database, and lines sent, at a time

FirstDay = Annotated[Day, Query(alias="from", description="first local day of the station, YYYY-MM-DD")]
LastDay = Annotated[Day, Query(alias="to", description="last local day, YYYY-MM-DD (inclusive)")]
STATION_COLUMNS = ["station_id", "name", "town", "grade", "weekdays", "hours", "open_on_holidays", "address",
                   "timezone", "kind"]
CHECK_COLUMNS = ["date", "start", "end", "station", "planner"]
RESPONSES: dict[int | str, dict[str, Any]] = {403: {}, 404: {}, 409: {}, 422: {}}


def check_range(first: date, last: date) -> None:
    """422 for a range that ends before it starts or covers more than MAX_DAYS days (each day lies in the years a
    store can hold already: `moments.Day`)."""
    if last < first:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"'to' {last} is before 'from' {first}")
    if (last - first).days + 1 > MAX_DAYS:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            f"{first}..{last} is {(last - first).days + 1} days: export at most {MAX_DAYS} at a time")


def events_queries(station: Station, first: date, last: date, rules: RulesConfig) -> list[Select[Any]]:
    """The events the worker reads to judge the station's days `first`..`last` (`cloud.derive.recompute.derive_run`):
    every event from the liveness (or face-crossing) window before the first midnight to the face-crossing window
    after the last, and before that only door states, as far back as the door lookback (a door open at midnight);
    and the station's reading just before those and just after (a backlog of the days sent later, part of it lost
    in a window of lost messages: `cloud.rules.losses.backlog_gaps`), and its nearest trusted heartbeat with a boot
    before those and after, within `clock_step_context_days` (a step of its clock next to the days:
    `cloud.rules.clock_steps`). Clock faults are included: the day counts them, and `derive` tells them by
    `received_at` as ingest did."""
    zone = ZoneInfo(station.timezone)
    start = datetime.combine(first, time(0), zone).astimezone(UTC)
    end = datetime.combine(last + timedelta(days=1), time(0), zone).astimezone(UTC)
    window = timedelta(seconds=rules.face_crossing_window_s)
    live = max(timedelta(minutes=rules.liveness_minutes), window)
    lookback = max(timedelta(hours=rules.door_lookback_hours), live)
    columns = (Event.ts, Event.id, Event.kind, Event.device_id, Event.payload, Event.received_at, Event.received_by,
               Event.clock_fault)
    readings = (Event.station_id == station.id, Event.kind.in_(sorted(READINGS)), Event.clock_fault.is_(None))
    # The last reading not in the file already (a door state of the lookback may be later: then it is the one).
    before = (select(*columns).where(*readings, Event.ts < start - live,
                                     or_(Event.kind != "door", Event.ts < start - lookback))
              .order_by(Event.ts.desc(), Event.id.desc()).limit(1))
    days = (select(*columns)
            .where(Event.station_id == station.id, Event.ts >= start - lookback,
                   Event.ts < end + window + timedelta(seconds=1),
                   or_(Event.ts >= start - live, Event.kind == "door"))
            .order_by(Event.ts, Event.id))
    after = (select(*columns).where(*readings, Event.ts >= end + window + timedelta(seconds=1))
             .order_by(Event.ts, Event.id).limit(1))
    reach = timedelta(days=rules.clock_step_context_days)
    beats = trusted_beats(station.id)
    beat_before = (select(*columns).where(*beats, Event.ts < start - live, Event.ts >= start - reach)
                   .order_by(Event.ts.desc(), Event.id.desc()).limit(1))
    beat_after = (select(*columns)
                  .where(*beats, Event.ts >= end + window + timedelta(seconds=1), Event.ts < end + reach)
                  .order_by(Event.ts, Event.id).limit(1))
    return [before, days, after, beat_before, beat_after]


def event_line(station: str, kind: str, device: str, payload: dict[str, Any], received_at: datetime,
               received_by: str | None) -> str:
    """One line of `derive --events`: the topic the event came on, its stored payload and its receipt."""
    line: dict[str, Any] = {"topic": str(Topic(station=station, kind=Kind(kind), device=device)), "payload": payload,
                            "received_at": received_at.astimezone(UTC).isoformat()}
    if received_by is not None:
        line["received_by"] = received_by
    return json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n"


def full_edges(station: Station, first: date, last: date, rules: RulesConfig) -> tuple[float, float]:
    """The edges (epoch seconds) of what `events_queries` reads in full: beyond them door states, the station's
    nearest readings and the sequence anchors."""
    zone = ZoneInfo(station.timezone)
    start = datetime.combine(first, time(0), zone).astimezone(UTC)
    end = datetime.combine(last + timedelta(days=1), time(0), zone).astimezone(UTC)
    live = max(rules.liveness_minutes * 60, rules.face_crossing_window_s)
    return start.timestamp() - live, end.timestamp() + rules.face_crossing_window_s + 1


def stream_events(sessions: sessionmaker[Session], station: str, queries: list[Select[Any]], rules: RulesConfig,
                  edges: tuple[float, float]) -> Iterator[bytes]:
    """The lines of `events_queries` (each ordered by time and id) in one order, in chunks, from a session of the
    stream's own: the request's session is closed before a long response ends, and the rows are fetched a chunk at a
    time (a server-side cursor on PostgreSQL), never all held. Then the anchors outside `edges` of the devices with a
    reading of the days' query received late, as the worker looks them up (`cloud.derive.recompute.derive_run`):
    `derive` sorts its lines, so they may come last."""
    late: set[str] = set()
    outside: set[Any] = set()  # the lines sent from outside the edges (an anchor may be one of them: sent once)

    def tagged(rows: Any, days: bool) -> Iterator[tuple[bool, Any]]:
        return ((days, row) for row in rows)

    def line(days: bool, row: Any) -> str:
        ts, event_id, kind, device, payload, received_at, received_by, fault = row
        if not edges[0] <= ts.timestamp() < edges[1]:
            outside.add(event_id)
        if days and fault is None and sequence.late_reading(kind, (received_at - ts).total_seconds(),
                                                            payload.get("seq"), rules):
            late.add(device)
        return event_line(station, kind, device, payload, received_at, received_by)

    with sessions() as session:
        streams = [tagged(session.execute(query.execution_options(yield_per=ROWS_PER_CHUNK)), i == 1)
                   for i, query in enumerate(queries)]
        rows = heapq.merge(*streams, key=lambda tagged_row: (tagged_row[1][0], str(tagged_row[1][1])))
        while chunk := list(islice(rows, ROWS_PER_CHUNK)):
            yield "".join(line(days, row) for days, row in chunk).encode("utf-8")
        if late:
            anchors = anchor_rows(session, station, late, *edges, rules)
            yield "".join(event_line(station, kind, device, payload, received_at, received_by)
                          for _, kind, device, event_id, payload, _, _, received_at, received_by in anchors
                          if event_id not in outside).encode("utf-8")


def _attachment(name: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{name}"'}


@router.get("/{station_id}/events.jsonl", response_class=StreamingResponse,
            responses={200: {"content": {"application/x-ndjson": {}}}, **RESPONSES})
def export_events(station_id: StationIdParam, first: FirstDay, last: LastDay, user: StationViewer,
                  session: SessionDep, rules: RulesDep, runtime: RuntimeDep) -> StreamingResponse:
    """The station's stored events for the local days `from`..`to` as JSON lines, the file `eldercare cloud derive
    --events` reads (with what the worker looks at just outside the days)."""
    check_range(first, last)
    station = get_visible_station(session, user, station_id)
    queries = events_queries(station, first, last, rules)
    edges = full_edges(station, first, last, rules)
    return StreamingResponse(stream_events(runtime.sessions, station.id, queries, rules, edges),
                             media_type="application/x-ndjson; charset=utf-8",
                             headers=_attachment(f"events-{station.id}-{first}-{last}.jsonl"))


def versions_over(session: Session, station: Station, first: date, last: date) -> list[StationSchedule]:
    """The versions of the station's hours and grade in force on some day of `first`..`last`, oldest first (none when
    the station has no recorded history: its current values are its only version)."""
    rows = list(session.scalars(select(StationSchedule).where(StationSchedule.station_id == station.id)
                                .order_by(StationSchedule.effective_from)))
    if not rows:
        return []
    # The first in force is the latest effective on or before `first` (or the first, for days before the history).
    before = [r for r in rows if r.effective_from <= first]
    start = rows.index(before[-1]) if before else 0
    return [rows[start], *[r for r in rows[start + 1:] if r.effective_from <= last]]


@router.get("/{station_id}/station.csv", response_class=Response,
            responses={200: {"content": {"text/csv": {}}}, **RESPONSES})
def export_station(station_id: StationIdParam, first: FirstDay, last: LastDay, user: StationViewer,
                   session: SessionDep) -> Response:
    """The station's registry row with the hours, grade and kind in force on `from`..`to`: the file `eldercare cloud
    derive --stations` reads. A CSV holds one schedule: a range across a change of hours, grade or kind is 409, naming
    the days each version covers, to export and derive apart."""
    check_range(first, last)
    station = get_visible_station(session, user, station_id)
    versions = versions_over(session, station, first, last)
    if len(versions) > 1:
        spans = [f"from {max(v.effective_from, first)}" for v in versions]
        raise HTTPException(status.HTTP_409_CONFLICT,
                            f"the hours or grade of {station.id} changed within {first}..{last} ({'; '.join(spans)}): "
                            "export and derive each version's days apart")
    if versions:
        v = versions[0]
        weekdays, hours, holidays, grade, kind = v.weekdays, v.hours, v.open_on_holidays, v.grade, v.kind
    else:
        weekdays, hours, holidays = station.weekdays, station.hours, station.open_on_holidays
        grade, kind = station.grade, station.kind
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(STATION_COLUMNS)
    writer.writerow(safe_row([station.id, station.name, station.town, grade or "", weekdays, hours,
                              "yes" if holidays else "no", station.address or "", station.timezone, kind]))
    return Response(out.getvalue().encode("utf-8"), media_type="text/csv; charset=utf-8",
                    headers=_attachment(f"station-{station.id}-{first}-{last}.csv"))


@router.get("/{station_id}/time-checks.csv", response_class=Response,
            responses={200: {"content": {"text/csv": {}}}, **RESPONSES})
def export_time_checks(station_id: StationIdParam, first: FirstDay, last: LastDay, user: StationViewer,
                       session: SessionDep) -> Response:
    """The time checks the cloud sent the station in its local days `from`..`to` (the broker confirmed each), as
    `station,check,asked_at` (UTC, RFC 3339): the file `eldercare cloud derive --time-checks` reads. Past checks
    tell nothing of the next (each is drawn at random), so the station's staff may download their own."""
    check_range(first, last)
    station = get_visible_station(session, user, station_id)
    zone = ZoneInfo(station.timezone)
    start = datetime.combine(first, time(0), zone).astimezone(UTC)
    end = datetime.combine(last + timedelta(days=1), time(0), zone).astimezone(UTC)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(TIME_CHECK_COLUMNS)
    for check, asked_at in ask_rows(session, station.id, start, end):
        writer.writerow(safe_row([station.id, check, asked_at.astimezone(UTC).isoformat()]))
    return Response(out.getvalue().encode("utf-8"), media_type="text/csv; charset=utf-8",
                    headers=_attachment(f"time-checks-{station.id}-{first}-{last}.csv"))


@router.get("/{station_id}/spot-checks.csv", response_class=Response,
            responses={200: {"content": {"text/csv": {}}}, **RESPONSES})
def export_spot_checks(station_id: StationIdParam, first: FirstDay, last: LastDay, user: SupervisorUser,
                       session: SessionDep, config: ConfigDep, runtime: RuntimeDep) -> Response:
    """The spot checks of the station on `from`..`to` whose window has ended (the ones the worker judged), as
    `date,start,end,station,planner`: the file `eldercare cloud derive --spot-checks` reads. `planner` is whose check
    it was (`bureau` or `town`): the veto counts the bureau's (and a town's own only when the rules say so). A town
    sees the bureau's checks only once their window has ended, as everywhere."""
    check_range(first, last)
    station = get_visible_station(session, user, station_id)
    now = config.clock()
    plans = session.scalars(select(SpotCheckPlan).where(SpotCheckPlan.local_date.between(first, last))
                            .order_by(SpotCheckPlan.local_date, SpotCheckPlan.start, SpotCheckPlan.id))
    seen = plans_for(user, plans, now, runtime.settings.timezone)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CHECK_COLUMNS)
    for plan in seen:
        if station.id in plan.stations and window_end(plan, station.timezone) <= now:
            writer.writerow(safe_row([plan.local_date.isoformat(), plan.start, plan.end, station.id,
                                      plan.planner_role]))
    return Response(out.getvalue().encode("utf-8"), media_type="text/csv; charset=utf-8",
                    headers=_attachment(f"spot-checks-{station.id}-{first}-{last}.csv"))
