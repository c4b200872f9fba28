"""`eldercare cloud derive` (offline audit recompute) and `eldercare cloud worker` (recompute over the store)."""

import json
import os
import sys
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TypeVar
from zoneinfo import ZoneInfo

import click

from cloud.derive.deployment import ConfigFileError, read_holidays, read_rules
from cloud.rules.calendar import PACKAGE, Calendar
from cloud.rules.config import RulesConfig
from cloud.store.options import data_dir_option


def _setting(name: str) -> Path | None:
    """A file setting (ELDERCARE_RULES_FILE, ELDERCARE_HOLIDAYS_FILE) for the offline commands, which need no other
    setting: read alone, so an unrelated bad setting does not stop an audit."""
    value = os.environ.get(f"ELDERCARE_{name.upper()}", "").strip()
    return Path(value) if value else None


def load_rules(path: Path | None) -> RulesConfig:
    """The rules: `--rules` if given, else the file of ELDERCARE_RULES_FILE, else the default values."""
    try:
        return read_rules(path if path is not None else _setting("rules_file"))
    except ConfigFileError as exc:
        raise click.ClickException(str(exc)) from None


def load_calendar_file(path: Path | None) -> Calendar:
    """The calendar: chinesecalendar with `--holidays` (else ELDERCARE_HOLIDAYS_FILE) on top, if any. Every problem of
    the file is printed, one per line."""
    chosen = path if path is not None else _setting("holidays_file")
    if chosen is None:
        return PACKAGE
    try:
        days, _ = read_holidays(chosen)
    except ConfigFileError as exc:
        raise click.ClickException(str(exc)) from None
    return Calendar.from_days(days)


RULES_OPTION = click.option("--rules", "rules_path", type=click.Path(dir_okay=False, path_type=Path),
                            help="Rules configuration (YAML/JSON, keys of RulesConfig); default: "
                                 "$ELDERCARE_RULES_FILE, else the built-in defaults.")
HOLIDAYS_OPTION = click.option("--holidays", "holidays_path", type=click.Path(dir_okay=False, path_type=Path),
                               help="Local holiday file, CSV date,kind,name (kind: holiday or workday), over the "
                                    "chinesecalendar package; default: $ELDERCARE_HOLIDAYS_FILE.")


def _date(value: str, name: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date YYYY-MM-DD", param_hint=name) from None


T = TypeVar("T")


def _read_csv(path: Path | None, read: Callable[[str], T]) -> T | None:
    """An optional input CSV (a spreadsheet's UTF-8 with or without BOM) read by `read`; None when not given. A bad
    file stops the command with its name and the reader's reason."""
    if path is None:
        return None
    try:
        return read(path.read_text(encoding="utf-8-sig"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise click.ClickException(f"{path}: {exc}") from None


FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


@click.command()
@click.option("--stations", "stations_path", type=FILE,
              help="The station CSV (as imported by 'cloud stations'); with --events, --from and --to. A CSV has one "
                   "schedule and grade per station, used for every day: the store's worker judges each day by the "
                   "version in force on it.")
@click.option("--events", "events_path", type=FILE,
              help="Protocol events as JSON lines: {\"topic\": ..., \"payload\": {...}}. '-' is not accepted.")
@click.option("--from", "first", help="First local date, YYYY-MM-DD.")
@click.option("--to", "last", help="Last local date, YYYY-MM-DD (inclusive).")
@click.option("--spot-checks", "checks_path", type=FILE,
              help="Spot checks CSV: date,start,end,station[,planner] (empty station = all; planner bureau or "
                   "town, default bureau: the veto counts the bureau's checks, as the rules say).")
@click.option("--exceptions", "exceptions_path", type=FILE,
              help="Approved closures CSV: station,date,reason.")
@click.option("--decisions", "decisions_path", type=FILE,
              help="The bureau's decisions on disputed on-site checks (the dashboard's decisions CSV): "
                   "station,date,start,end,outcome,reason,...; they count toward the veto instead of the sensors.")
@click.option("--appeals", "appeals_path", type=FILE,
              help="Appeal decisions CSV: station,date,start,end,outcome,reason (the dashboard's export); "
                   "an upheld check does not count toward the veto.")
@click.option("--losses", "losses_path", type=FILE,
              help="Windows in which the platform lost messages, CSV client_id,lost_from,lost_to,reason (RFC 3339 "
                   "times; the evidence export's ingest-losses.csv): days touching one are flagged, spot checks "
                   "touching one are unverifiable, as the worker judges them.")
@click.option("--time-checks", "time_checks_path", type=FILE,
              help="The time checks the cloud sent, CSV station,check,asked_at (RFC 3339; the evidence export's "
                   "time-checks.csv): a day that answered none sent while the station was heard live counts nowhere, "
                   "as the worker judges it. Without it no day is judged on them.")
@click.option("--quarters", is_flag=True, help="Also print quarter roll-ups ({\"type\": \"quarter\"}).")
@click.option("--elders", "elders_path", type=FILE,
              help="Home care: the elders CSV elder_id,name,category,town,provider; with --visits.")
@click.option("--visits", "visits_path", type=FILE,
              help="Home care: the visits CSV visit_id,elder_id,caregiver_id,provider,sign_in,sign_out,items "
                   "(RFC 3339 times with offset, items separated by ';').")
@click.option("--made-up", "made_up_path", type=FILE,
              help="Home care: months missed for a recorded special reason, CSV elder_id,month[,reason].")
@click.option("--voided", "voided_path", type=FILE,
              help="Home care: orders voided for quality by the provider or the platform, CSV visit_id[,reason].")
@click.option("--categories", "categories_path", type=FILE,
              help="Home care: the elders' category histories, CSV elder_id,from,category (each version from that "
                   "day in the elder's zone); without it each elder's category applies on every day.")
@RULES_OPTION
@HOLIDAYS_OPTION
def derive(stations_path: Path | None, events_path: Path | None, first: str | None, last: str | None,
           checks_path: Path | None, exceptions_path: Path | None, decisions_path: Path | None,
           appeals_path: Path | None, losses_path: Path | None, time_checks_path: Path | None, quarters: bool,
           elders_path: Path | None,
           visits_path: Path | None,
           made_up_path: Path | None, voided_path: Path | None, categories_path: Path | None,
           rules_path: Path | None, holidays_path: Path | None) -> None:
    """Recompute day, month, spot-check and veto verdicts from raw files, with no server (for audits); with
    --elders and --visits, also home care's elder_month and provider_month lines.

    Prints JSON lines on stdout; bad event and visit lines are reported on stderr with their line number and
    counted.
    """
    homecare = elders_path is not None or visits_path is not None
    if homecare and (elders_path is None or visits_path is None):
        raise click.UsageError("--elders and --visits go together")
    if stations_path is None and events_path is None and homecare:
        _derive_homecare(elders_path, visits_path, made_up_path, voided_path, categories_path, first, last,
                         load_rules(rules_path))
        return
    for value, name in ((stations_path, "--stations"), (events_path, "--events"), (first, "--from"),
                        (last, "--to")):
        if value is None:
            raise click.UsageError(f"Missing option '{name}'.")
    assert stations_path is not None and events_path is not None and first is not None and last is not None
    from cloud.csv_records import decode_csv_bytes
    from cloud.derive.decisions import read_decisions, unmatched
    from cloud.derive.files import read_events, read_losses, read_spot_checks, read_time_checks
    from cloud.derive.offline import check_stations, derive_lines, read_exceptions, read_upheld_appeals
    from cloud.registry.csv_rows import parse_station_csv

    config = load_rules(rules_path)
    calendar = load_calendar_file(holidays_path)
    start, end = _date(first, "--from"), _date(last, "--to")
    if end < start:
        raise click.BadParameter("--to is before --from", param_hint="--to")
    try:
        records, problems = parse_station_csv(decode_csv_bytes(stations_path.read_bytes()))
    except ValueError as exc:
        raise click.ClickException(f"{stations_path}: {exc}") from None
    for problem in problems:
        click.echo(f"{stations_path}: {problem}", err=True)
    if not records:
        raise click.ClickException(f"{stations_path}: no valid station rows")
    checks = _read_csv(checks_path, read_spot_checks) or []
    if checks_path is not None:
        unknown = check_stations(checks, records)
        if unknown:
            raise click.ClickException(f"{checks_path}: {unknown[0]}")
    exceptions = _read_csv(exceptions_path, read_exceptions) or {}
    decisions = _read_csv(decisions_path, read_decisions) or {}
    if decisions_path is not None:
        unplanned = unmatched(decisions, checks)
        if unplanned:
            raise click.ClickException(f"{decisions_path}: {unplanned[0]}")
    upheld: set[tuple[str, date, str, str]] = set()
    if appeals_path is not None:
        try:
            upheld = read_upheld_appeals(appeals_path.read_text(encoding="utf-8-sig"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise click.ClickException(f"{appeals_path}: {exc}") from None
    losses = _read_csv(losses_path, read_losses) or []
    asks = _read_csv(time_checks_path, read_time_checks) or {}
    zones = {r.id: ZoneInfo(r.schedule.timezone) for r in records}
    with events_path.open(encoding="utf-8", errors="replace") as lines:
        events = read_events(lines, zones, ZoneInfo("Asia/Shanghai"),
                             progress=lambda n: click.echo(f"derive: {n:,} event lines read", err=True))
    for bad in events.problems:
        click.echo(f"{events_path}: {bad}", err=True)
    unknown_stations = sorted(set(events.obs) - set(zones))
    if unknown_stations:
        click.echo(f"{events_path}: events of {len(unknown_stations)} station(s) not in {stations_path.name} "
                   f"ignored: {', '.join(unknown_stations[:10])}", err=True)
    out = sys.stdout
    for line in derive_lines(records, events, start, end, config, checks=checks, exceptions=exceptions,
                             decisions=decisions, upheld=upheld, quarters=quarters, calendar=calendar,
                             until=time.time(), losses=losses, asks=asks):
        out.write(json.dumps(line, ensure_ascii=False) + "\n")
    click.echo(f"derive: {events.lines} event lines, {len(events.problems)} bad, {events.duplicates} duplicate, "
               f"{len(records)} stations, {start}..{end}", err=True)
    if homecare:
        _derive_homecare(elders_path, visits_path, made_up_path, voided_path, categories_path, first, last, config)


def _derive_homecare(elders_path: Path | None, visits_path: Path | None, made_up_path: Path | None,
                     voided_path: Path | None, categories_path: Path | None, first: str | None, last: str | None,
                     config: RulesConfig) -> None:
    """Home care's lines, by the same functions the API's figures use."""
    from cloud.homecare.offline import HomecareFiles, homecare_lines, read_files

    assert elders_path is not None and visits_path is not None
    try:
        files: HomecareFiles = read_files(elders_path, visits_path, made_up_path, voided_path, categories_path)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    for problem in files.problems:
        click.echo(problem, err=True)
    start = _date(first, "--from") if first else None
    end = _date(last, "--to") if last else None
    out = sys.stdout
    for line in homecare_lines(files, config.homecare, datetime.now(UTC), start, end):
        out.write(json.dumps(line, ensure_ascii=False) + "\n")
    click.echo(f"derive: {len(files.elders)} elders, {len(files.visits)} visits, {len(files.problems)} problem(s)",
               err=True)


@click.command()
@click.option("--partition", default="1/1", show_default=True,
              help="K/N: this worker handles the stations whose stable hash falls in part K of N (1-based).")
@click.option("--once", is_flag=True, help="Do one pass over the pending work and exit.")
@click.option("--interval", default=2.0, show_default=True, help="Seconds between passes.")
@RULES_OPTION
@data_dir_option
def worker(partition: str, once: bool, interval: float, rules_path: Path | None, data_dir: Path | None) -> None:
    """Recompute the station-days touched by new events and run the alert timers (call acknowledgements go out from
    'eldercare cloud sender')."""
    from cloud.derive.runner import run_worker

    config = load_rules(rules_path) if rules_path is not None else None  # else the setting, read by the worker
    run_worker(partition=partition, once=once, interval=interval, config=config, data_dir=data_dir)


@click.command()
@click.option("--from", "first", required=True, help="First local date, YYYY-MM-DD.")
@click.option("--to", "last", required=True, help="Last local date, YYYY-MM-DD (inclusive; later than today: today).")
@click.option("--station", "station_ids", multiple=True, help="Only this station (repeat for several).")
@RULES_OPTION
@data_dir_option
def rederive(first: str, last: str, station_ids: tuple[str, ...], rules_path: Path | None,
             data_dir: Path | None) -> None:
    """Recompute stored days, months, spot checks and vetoes of a date range after a change of the rules, the
    calendar or the approved closures. Reads the store the worker writes; progress goes to stderr."""
    from cloud.derive.rederive import rederive_store

    start, end = _date(first, "--from"), _date(last, "--to")
    if end < start:
        raise click.BadParameter("--to is before --from", param_hint="--to")
    config = load_rules(rules_path)
    rederive_store(start, end, list(station_ids), config, data_dir,
                   progress=lambda line: click.echo(f"rederive: {line}", err=True))
