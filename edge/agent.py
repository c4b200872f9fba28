"""The station agent: drivers -> durable outbox -> publisher, plus heartbeat, clock guard and cloud commands.

The agent's wall clock is injected (`now`): heartbeats, answers to the cloud's time checks and the clock guard all read
it (drivers stamp readings with the host's), so a test can run an agent whose clock is behind without touching the
host's.

An outbox that fails while the agent runs (a damaged file, or any SQLite error reading it) stops the agent with one
`ERROR` line naming the file and the reason, and `run` raises `OutboxFailed` (`eldercare edge run` exits with status
1, and systemd's `Restart=always` starts it again): the check at start then moves a damaged file aside and salvages
what still reads (edge/outbox_repair.py). The readings that waited in memory are written to a side file beside the
outbox before it stops (also when it is stopped while a full card keeps readings in memory), and stored in the
outbox again at the next start (edge/pending.py). A full card does not stop it (edge/keeper.py).
"""

import asyncio
import logging
import sqlite3
import time
from collections.abc import Callable
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from edge.boot import Boot, boot_clock
from edge.clock import ClockCheck, clock_problem
from edge.dispatch import CommandTable
from edge.drivers.base import Driver, EntryListener, Reading, health
from edge.drivers.registry import Buses, build_drivers
from edge.keeper import OUTBOX_DEVICE, Keeper
from edge.outbox_repair import is_damage, open_outbox
from edge.pending import Pending, line, restore, save, side_file
from edge.publisher import Publisher
from edge.spill import Spill
from edge.supervise import supervise
from edge.timecheck import TimeCheckAnswer
from firmware_config.station import StationConfig
from hostclock import KernelClock, kernel_clock
from station_protocol import Heartbeat, encode
from station_protocol.topics import Kind, agent_topic

log = logging.getLogger(__name__)


class OutboxFailed(RuntimeError):
    """The outbox failed while the agent ran; the message says which file and why."""


def utc_now() -> datetime:
    return datetime.now(UTC)


def agent_version() -> str:
    try:
        return version("eldercare-monitor")
    except PackageNotFoundError:
        return "dev"


class Agent:
    """Everything one station runs. `run()` until cancelled."""

    def __init__(self, config: StationConfig, *, outbox_path: Path | None = None,
                 clock_check: ClockCheck | None = None, heartbeat_s: float | None = None,
                 fsync: bool = True, kernel: Callable[[], KernelClock | None] = kernel_clock,
                 clock_poll_s: float = 5.0, now: Callable[[], datetime] = utc_now,
                 boot: Callable[[], Boot | None] = boot_clock) -> None:
        self.config = config
        self.station = config.station
        self.clock_check: ClockCheck = clock_check or config.agent.clock_check
        self.heartbeat_s = heartbeat_s or config.agent.heartbeat_s
        self.kernel = kernel
        self.now = now
        self.boot = boot
        trusted = clock_problem(now(), self.clock_check, kernel()) is None
        self.outbox, self.repair = open_outbox(
            Path(outbox_path or config.agent.outbox), config.station, check_s=config.agent.outbox_check_s,
            clock_trusted=trusted, max_events=config.agent.outbox_max_events, fsync=fsync)
        # Before any driver starts: a counter resumes from the state of a reading kept at the last stop.
        self.side_file = side_file(self.outbox.path)
        self.pending: Pending | None = restore(self.outbox, self.side_file)
        self.spill = Spill(config.agent.outbox_memory_events)
        self.keeper = Keeper(self.outbox, self.spill, resume_bytes=config.agent.outbox_resume_kb * 1024)
        self.buses = Buses()
        self.drivers: list[Driver] = build_drivers(config.devices, self.buses)
        self.time_checks = TimeCheckAnswer(now=now, distrust=self._distrust, answer=self._heartbeat,
                                           warn_behind_s=config.agent.clock_behind_warn_s)
        self.commands = CommandTable([*self.drivers, self.time_checks])
        self.entry_listeners: list[EntryListener] = [d for d in self.drivers if isinstance(d, EntryListener)]
        self.publisher = Publisher(config.station, config.mqtt, self.outbox, on_command=self._command,
                                   on_connect=self._on_connect, backoff_base_s=config.mqtt.reconnect_min_s,
                                   backoff_cap_s=config.mqtt.reconnect_max_s, spill=self.spill)
        self.keeper.inflight = lambda: self.publisher.spill_cursor
        self.keeper.holding = lambda: self.clock_issue is not None
        self.keeper.on_damage = self._outbox_damaged
        self.damage: sqlite3.Error | None = None  # the first sign that the outbox file is damaged
        self._damaged = asyncio.Event()
        self.clock_issue: str | None = None
        self.clock_poll_s = clock_poll_s
        self.started = time.monotonic()
        self._tasks: set[asyncio.Task[None]] = set()

    async def emit(self, reading: Reading) -> None:
        """Store a reading durably (held while the clock is not trusted), then wake the publisher."""
        self.keeper.put(reading, held=self.clock_issue is not None)
        self.publisher.notify(urgent=reading.urgent)
        if reading.kind is Kind.FLOW and reading.fields.get("in", 0) > 0:
            # The counter's entries are the camera's second cheap gate: someone came in, look for a face.
            for camera in self.entry_listeners:
                camera.on_entries()

    def _command(self, topic: str, payload: bytes) -> None:
        task = asyncio.create_task(self.commands.dispatch(topic, payload))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _on_connect(self) -> None:
        self._heartbeat()

    def _heartbeat(self, check: str | None = None, asked: datetime | None = None,
                   ts: datetime | None = None) -> None:
        """Publish a heartbeat now; with `check` and `asked` it answers that time check. It carries this boot's id and
        the seconds since it began, read with its time (edge.boot), and `clock: unsynced` while the clock is not
        trusted: the cloud compares the two clocks only between heartbeats stamped by a trusted one."""
        kernel = self.kernel()
        stamped = ts or self.now()
        boot = self.boot()
        beat = Heartbeat(
            v=1, station=self.station, ts=stamped, version=agent_version(),
            uptime_s=round(time.monotonic() - self.started, 1), outbox=self.keeper.depth,
            clock_offset_ms=kernel.offset_ms if kernel is not None and kernel.synced else None,
            check=check, asked=asked,
            boot=boot.id if boot is not None else None, boot_s=boot.seconds if boot is not None else None,
            clock="unsynced" if self._distrust() is not None else None,
        )
        topic, payload = str(agent_topic(self.station, Kind.HEARTBEAT)), encode(beat)
        if check is not None:
            # An answer to a time check goes through the outbox: acknowledged by the broker and sent again after a
            # dropped connection, so the network cannot shed the answers that would show a clock behind. Directly
            # only if the outbox cannot take it (a full card).
            dropped = self.keeper.heartbeats_dropped
            self.keeper.put_heartbeat(topic, payload)
            if self.keeper.heartbeats_dropped == dropped:
                self.publisher.notify()
                return
        if not self.publisher.publish_direct(topic, payload) and self.clock_issue is None:
            # Not connected: kept for later, as proof of life through the outage (not while the clock is untrusted:
            # its time would name the wrong moment).
            self.keeper.put_heartbeat(topic, payload)

    def _distrust(self) -> str | None:
        """Why this clock's time cannot be given to the cloud now (the guard's last finding, or a fresh look)."""
        return self.clock_issue or clock_problem(self.now(), self.clock_check, self.kernel())

    async def _heartbeats(self) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_s)
            self._heartbeat()

    def check_clock(self) -> None:
        """Hold events while the clock is untrusted; on recovery re-stamp and release them."""
        problem = clock_problem(self.now(), self.clock_check, self.kernel())
        if problem and not self.clock_issue:
            log.warning("holding events: %s", problem)
        if self.clock_issue and not problem:
            try:
                released = self.outbox.release_held()
            except sqlite3.Error as exc:  # a full card: try again at the next poll
                if is_damage(exc):
                    self._outbox_damaged(exc)
                    return
                log.warning("clock trusted again, but the held events could not be released yet: %s", exc)
                return
            log.info("clock trusted again: released %d held events", released)
            self.publisher.rewind()
        self.clock_issue = problem

    async def _clock_guard(self) -> None:
        while True:
            await asyncio.sleep(self.clock_poll_s)
            self.check_clock()

    async def _retry_kept(self) -> None:
        """Store what waits in memory as soon as the outbox takes it again (a reading also tries, but a door-only
        station may be quiet for hours)."""
        while True:
            await asyncio.sleep(self.config.agent.outbox_retry_s)
            if len(self.spill) or self.keeper.problem:
                self.keeper.retry()
                self.publisher.notify()

    async def _report_outbox(self) -> None:
        """The outbox's health at start: a damaged file replaced, or fine again after an earlier report."""
        pending = self.pending.detail() if self.pending is not None else {}
        if self.repair is not None:
            await self.emit(health(OUTBOX_DEVICE, False, self.repair.message(),
                                   {"moved_to": str(self.repair.moved_to), "salvaged": self.repair.salvaged,
                                    **pending}))
        elif self.pending is not None and (self.pending.skipped or self.pending.problem):
            problem = self.pending.problem or f"{self.pending.skipped} lines skipped"
            await self.emit(health(OUTBOX_DEVICE, False, f"readings kept at the last stop in "
                                   f"{self.pending.path.name}: {problem}", pending))
        elif self.pending is not None or OUTBOX_DEVICE in self.outbox.seqs():
            await self.emit(health(OUTBOX_DEVICE, True, None, pending or None))

    def _outbox_damaged(self, exc: sqlite3.Error) -> None:
        """Called where a damaged file was caught (a write kept in memory, a release to retry): stop the agent."""
        if self.damage is None:
            self.damage = exc
        self._damaged.set()

    async def _watch_outbox(self) -> None:
        await self._damaged.wait()
        assert self.damage is not None
        raise self.damage

    def _keep_pending(self) -> str:
        """Write what waits in memory to the side file for the next start; what the stop's line says of it."""
        waiting = list(self.spill)
        if not waiting:
            return "no readings waiting in memory"
        try:
            kept = save(self.side_file, (line(entry, self.outbox) for entry in waiting))
        except (OSError, ValueError) as exc:  # a full or read-only card
            return (f"readings waiting in memory could not be kept in {self.side_file} ({type(exc).__name__}: "
                    f"{exc}), lost: {len(waiting)}")
        return f"readings waiting in memory kept in {self.side_file} for the next start: {kept}"

    def _failure(self, exc: BaseException) -> str:
        """The one line that says why the agent stops."""
        what = "is damaged" if isinstance(exc, sqlite3.Error) and is_damage(exc) else "failed"
        return (f"outbox {self.outbox.path} {what} while running ({type(exc).__name__}: {exc}): stopping with exit "
                "status 1 so that the service restarts and the check at start moves a damaged file aside and "
                f"salvages what still reads; {self._keep_pending()}")

    async def run(self) -> None:
        failure: str | None = None
        try:
            self.check_clock()
            if self.clock_issue is None and self.outbox.held_count():
                self.outbox.release_held()  # held before a restart, clock fine now
            log.info("station %s: %d devices, %d events waiting in the outbox", self.station, len(self.drivers),
                     self.outbox.depth)
            await self._report_outbox()
            async with asyncio.TaskGroup() as group:
                group.create_task(self._watch_outbox(), name="outbox-watch")
                group.create_task(self.publisher.run(), name="publisher")
                group.create_task(self._heartbeats(), name="heartbeat")
                group.create_task(self._clock_guard(), name="clock")
                group.create_task(self._retry_kept(), name="outbox-retry")
                for driver in self.drivers:
                    group.create_task(supervise(driver, self.emit, self.keeper.state), name=driver.device_id)
        except* sqlite3.Error as failed:
            # Damage does not heal while the file is open, and a failing read leaves nothing to send: stop, so that
            # the service restarts and the check at start replaces the file. What waited in memory goes to the side
            # file, to be stored in the outbox at the next start.
            failure = self._failure(failed.exceptions[0])
            log.error("%s", failure)
        finally:
            if failure is None and len(self.spill):
                # Stopped (systemctl stop or restart) while a full card kept readings in memory: kept the same way.
                log.warning("stopping with readings the outbox could not store: %s", self._keep_pending())
            self.buses.close()
            self.outbox.close()
        if failure is not None:
            raise OutboxFailed(failure)
