"""`eldercare cloud record-loss`: record by hand a window in which the platform lost the stations' messages.

The ingester records the windows it can see (a broker session gone). One it cannot see is a store restored from a
backup: what was committed after the backup was acknowledged to the stations, which deleted it from their outboxes,
and the restore took it away. Recorded here, such a window is read like the ingester's own (docs/derivations.md,
"Messages the platform lost"): every station's days in it are re-derived and flagged, and no spot check in it is
judged on the sensors, so the loss is not held against any station.
"""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import click

from cloud.ingest.losses import Loss, record
from cloud.store.options import data_dir_option, database_url, open_store

RESTORED = "restored_from_backup"
LONGEST = timedelta(days=366)
CLOCK_SLACK = timedelta(minutes=5)


def parse_instant(text: str, option: str) -> datetime:
    """An ISO 8601 time with its offset (`2026-12-01T03:00+08:00`, `…Z`): a bare local time is refused, since the
    window is compared with every station's clock, whatever their zones."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(f"{text!r} is not an ISO 8601 time (e.g. 2026-12-01T03:00+08:00)",
                                 param_hint=option) from None
    if moment.tzinfo is None:
        raise click.BadParameter(f"{text!r} has no offset: write it as {text}+08:00 (Shanghai) or {text}Z (UTC)",
                                 param_hint=option)
    return moment.astimezone(UTC)


@click.command("record-loss")
@click.option("--from", "lost_from", required=True, help="Start of the window (ISO 8601 with offset): for a restore, "
              "when the backup was taken.")
@click.option("--to", "lost_to", required=True, help="End of the window (ISO 8601 with offset): for a restore, when "
              "the platform took messages again.")
@click.option("--reason", default=RESTORED, show_default=True, help="Stored with the window, for the record.")
@data_dir_option
def record_loss(lost_from: str, lost_to: str, reason: str, data_dir: Path | None) -> None:
    """Record that the stations' messages received between --from and --to were lost by the platform."""
    start, end = parse_instant(lost_from, "--from"), parse_instant(lost_to, "--to")
    now = datetime.now(UTC)
    if end <= start:
        raise click.BadParameter("must be after --from", param_hint="--to")
    if end > now + CLOCK_SLACK:
        raise click.BadParameter("is in the future: a loss is recorded once it has happened", param_hint="--to")
    if end - start > LONGEST:
        raise click.BadParameter(f"the window is longer than {LONGEST.days} days", param_hint="--from/--to")
    if not reason.strip() or len(reason) > 100:
        raise click.BadParameter("give a short reason (1-100 characters)", param_hint="--reason")
    engine = open_store(database_url(data_dir))
    try:
        if not record(engine, Loss("operator", start, end, reason.strip()), now):
            raise click.ClickException("the store refused the window (see the log line above); nothing was recorded")
    finally:
        engine.dispose()
    click.echo(f"recorded: messages received {start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC lost by the platform "
               f"({reason.strip()}); every station's days in it are re-derived by the worker")
