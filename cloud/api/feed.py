"""One poller per API process that notices alerts raised or changed, for every live stream of that process.

The alerts table is written by ingesters, workers and other API processes, so the only common signal is the table
itself. One query per interval finds what changed (with an overlap, so a commit that lands late is still seen);
each stream then loads just those alerts through its own scoped query. Idle streams cost nothing.
"""

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from cloud.store.models import Alert

log = logging.getLogger(__name__)

# Commits of other processes can land after a poll that started later than their timestamps: look back this far.
OVERLAP = timedelta(seconds=10)
Fingerprint = tuple[object, ...]


def changed_since(session: Session, since: datetime) -> dict[int, Fingerprint]:
    """Alerts raised or changed at or after `since`, each with what identifies its current state."""
    rows = session.execute(
        select(Alert.id, Alert.status, Alert.level, Alert.escalated_at, Alert.acknowledged_at, Alert.resolved_at,
               Alert.notes)
        .where(or_(Alert.raised_at >= since, Alert.escalated_at >= since, Alert.acknowledged_at >= since,
                   Alert.resolved_at >= since))
        .order_by(Alert.id)
        .limit(5000)
    ).tuples()
    return {row[0]: tuple(row[1:]) for row in rows}


class AlertFeed:
    """Publishes the recently changed alerts (id -> state fingerprint) to any number of waiting streams."""

    def __init__(self, sessions: Callable[[], Session], interval_s: float) -> None:
        self._sessions = sessions
        self._interval = interval_s
        self._changed: dict[int, Fingerprint] = {}
        self._version = 0
        self._wake = asyncio.Event()  # replaced by a fresh one at every change; waiters hold the one they saw
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.closed = False

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._task = asyncio.create_task(self._run(), name="alert-feed")

    def end_streams(self) -> None:
        """End every live stream at once; safe from a signal handler or another thread. The server calls it as its
        stop begins: a stream never ends by itself, and the server waits for open responses before it stops."""
        if self._loop is not None:
            # A second Ctrl-C may come once the loop has closed: nothing is left to end then.
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(self._close)

    def _close(self) -> None:
        self.closed = True
        self._wake.set()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._close()

    def _poll(self, since: datetime) -> dict[int, Fingerprint]:
        with self._sessions() as session:
            return changed_since(session, since)

    async def _run(self) -> None:
        since = datetime.now(UTC) - OVERLAP
        while True:
            polled_at = datetime.now(UTC)
            try:
                changed = await run_in_threadpool(self._poll, since)
            except SQLAlchemyError as exc:  # a locked or restarting database: try again next round
                log.warning("alert feed poll failed: %s", str(exc).splitlines()[0])
            else:
                since = polled_at - OVERLAP
                if changed != self._changed:
                    self._changed = changed
                    self._version += 1
                    wake, self._wake = self._wake, asyncio.Event()
                    wake.set()
            await asyncio.sleep(self._interval)

    def snapshot(self) -> tuple[int, dict[int, Fingerprint]]:
        return self._version, self._changed

    async def wait(self, version: int, patience_s: float) -> tuple[int, dict[int, Fingerprint]]:
        """The next snapshot after `version`, or the current one after `patience_s` seconds (or at shutdown)."""
        if self._version == version and not self.closed:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), patience_s)
        return self._version, self._changed
