"""The outbox file's room: how SQLite says the card is full, what room is left, and a page cap that makes a test's
'card' full. What the agent does on a full card is edge/keeper.py's job."""

import shutil
import sqlite3
from pathlib import Path


def is_full(exc: BaseException) -> bool:
    """SQLITE_FULL: the disk (or the file's page cap) has no room for the write."""
    return isinstance(exc, sqlite3.Error) and getattr(exc, "sqlite_errorcode", 0) & 0xFF == sqlite3.SQLITE_FULL


def pages(db: sqlite3.Connection) -> int:
    """The file's size in pages (what `cap_pages` caps)."""
    return int(db.execute("PRAGMA page_count").fetchone()[0])


def room(db: sqlite3.Connection, folder: Path) -> int:
    """Bytes the outbox can still take: its free pages, plus what the file may grow by (the disk's free space in
    `folder`, or less under a page cap)."""
    page_size, count, cap, free = (int(db.execute(f"PRAGMA {name}").fetchone()[0]) for name in
                                   ("page_size", "page_count", "max_page_count", "freelist_count"))
    return free * page_size + min(shutil.disk_usage(folder).free, (cap - count) * page_size)


def cap_pages(db: sqlite3.Connection, limit: int | None) -> int:
    """Cap the file at `limit` pages (SQLite's max_page_count; None: no cap): past it every insert fails with
    SQLITE_FULL exactly as on a full disk. Tests fill the 'disk' with it. Returns the cap in force."""
    return int(db.execute(f"PRAGMA max_page_count = {int(limit or 2**31 - 2)}").fetchone()[0])
