"""`eldercare cloud backup FILE`: a consistent copy of the embedded SQLite store while the platform runs.

Copying `eldercare.db` with `cp` is not a backup: in WAL mode the latest commits live in `eldercare.db-wal` until a
checkpoint, and a copy taken during a write can be torn. SQLite's online backup copies the database as one
transaction sees it, WAL included, while the ingester and worker go on writing. A PostgreSQL store is backed up with
`pg_dump` (docs/operations.md); this command says so rather than guess at a server's credentials.
"""

import os
import sqlite3
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import click
from sqlalchemy.engine import make_url

from cloud.store.options import data_dir_option, database_url

PAGES_PER_STEP = 4096  # ~16 MB a step at SQLite's 4 KiB pages: the writers wait at most one step at a time


def backup_sqlite(source: Path, target: Path, progress: Callable[[int, int], None] | None = None) -> int:
    """Copy `source` into a new file `target` (mode 0600: it holds elders' ids and users' password hashes),
    written beside it first and renamed when whole and checked, so a failed backup never leaves a file that looks
    like one. `progress(pages copied, pages in all)` after each step. Returns the copy's size in bytes. Raises
    ValueError when the copy fails SQLite's integrity check."""
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.close(fd)
    try:
        with closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True)) as src, \
                closing(sqlite3.connect(partial)) as dst:
            def step(status: int, remaining: int, total: int) -> None:
                if progress is not None:
                    progress(total - remaining, total)

            src.backup(dst, pages=PAGES_PER_STEP, progress=step)
            dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
            (verdict,) = dst.execute("PRAGMA integrity_check").fetchone()
        if verdict != "ok":
            raise ValueError(f"the copy failed SQLite's integrity check: {verdict}")
        partial.rename(target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return target.stat().st_size


@click.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@data_dir_option
def backup(file: Path, data_dir: Path | None) -> None:
    """Write a consistent copy of the embedded SQLite store to FILE (new; never overwritten), while it runs."""
    url = make_url(database_url(data_dir))
    if url.get_backend_name() != "sqlite":
        raise click.ClickException(
            f"the store is {url.render_as_string(hide_password=True)}: back up PostgreSQL with pg_dump "
            "(docs/operations.md), e.g. pg_dump --format=custom --file eldercare.dump DATABASE")
    source = Path(url.database or "")
    if not source.is_file():
        raise click.ClickException(f"no database at {source}: pass the --data-dir `eldercare serve` runs with")
    if file.exists():
        raise click.ClickException(f"{file} exists: name a new file (a backup never overwrites another)")
    if not file.parent.is_dir():
        raise click.ClickException(f"{file.parent} is not a directory")
    try:
        with closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True)) as db:
            (pages,) = db.execute("PRAGMA page_count").fetchone()
        with click.progressbar(length=max(1, pages), label=f"backing up {source}",
                               file=click.get_text_stream("stderr")) as bar:
            size = backup_sqlite(source, file, lambda done, _: bar.update(done - bar.pos))
    except (sqlite3.Error, OSError, ValueError) as exc:
        raise click.ClickException(f"backup of {source} failed: {exc}") from None
    click.echo(f"{file}: {size / 1e6:.1f} MB, integrity ok. Keep it with {source.parent / 'secret_key'} and "
               f"{source.parent / 'broker'} (docs/operations.md); it holds personal data: store it as such.")
