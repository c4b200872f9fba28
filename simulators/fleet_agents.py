"""The simulated fleet's agents once it is live: a heartbeat every `heartbeat_s`, and an answer to each of the cloud's
time checks, as a real station's agent sends them (`edge.agent`, `edge.timecheck`), each with its station's boot id
and seconds since that boot (`edge.boot`).

Without them every simulated station-day would read "time checks: 0", which a real fleet never shows. The answers
are honest: stamped by the fleet's live clock, which is the cloud's in a demo on the real clock. The replayed history
gets none: those days had no checks asked (the fleet subscribes to its commands only once it is live, so a check
sent while it replays is dropped by the broker, as for an agent that is away).

A command is validated with the protocol's models before anything is read from it: a malformed one, or one for
another station, is logged and counted, never answered and never fatal. Commands other than `time-check` (a
`call-ack`: the simulated stations have no LED to light) are counted as ignored.
"""

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import datetime
from importlib.metadata import PackageNotFoundError, version
from uuid import UUID, uuid4

from firmware_config.station import AgentConfig
from simulators.day_events import SimEvent
from simulators.publisher import FleetPublisher
from station_protocol import Heartbeat, ProtocolError, TimeCheck, decode, encode
from station_protocol.topics import Kind, agent_topic

log = logging.getLogger(__name__)

TIME_CHECK = "time-check"
DEFAULT_HEARTBEAT_S: float = AgentConfig.model_fields["heartbeat_s"].default  # the real agent's default


def sim_version() -> str:
    """What the simulated agents report as their version: the package's, marked as a simulation (a PEP 440 local
    label, so an operator reading a heartbeat sees it came from no real agent)."""
    try:
        return f"{version('eldercare-monitor')}+sim"
    except PackageNotFoundError:
        return "dev+sim"


class LiveAgents:
    """Heartbeats and time-check answers for `stations`, over the fleet publisher's clients (one per station).

    `now`: the fleet's live clock, which stamps both. `answer_checks=False` (a demo on a clock set to another day than
    the platform's, whose every answer would read as a clock behind) receives and counts the checks, and answers none.
    """

    def __init__(self, publisher: FleetPublisher, stations: Iterable[str], now: Callable[[], datetime],
                 heartbeat_s: float = DEFAULT_HEARTBEAT_S, answer_checks: bool = True) -> None:
        if heartbeat_s <= 0:
            raise ValueError("heartbeat_s must be positive")
        self.publisher = publisher
        self.stations = list(stations)
        self.now = now
        self.heartbeat_s = heartbeat_s
        self.answer_checks = answer_checks
        self.version = sim_version()
        self.started = time.monotonic()
        # One boot per station, begun when the fleet went live, and its time taken from the fleet's clock: so
        # `ts - boot_s` stays put, as on a Pi whose clock is never stepped (cloud.rules.clock_steps finds no step).
        self._boots: dict[str, tuple[UUID, datetime]] = {}
        # heartbeats (periodic ones), answered, unanswered (answer_checks=False), ignored (valid commands other than
        # a time check), malformed; counted from the heartbeat thread and every client's network thread.
        self.counts: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Subscribe each station to its commands and start the heartbeats (the first at once, as an agent sends one
        on connecting)."""
        began = self.now()
        self._boots = {station: (uuid4(), began) for station in self.stations}
        for station in self.stations:
            self.publisher.listen(station, f"eldercare/v1/{station}/cmd/#", self.on_command)
        self._thread = threading.Thread(target=self._beat, name="fleet-heartbeats", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def summary(self) -> str:
        c = self.counts
        return (f"live agents: {c['heartbeats']:,} heartbeats, {c['answered']:,} time checks answered"
                + (f", {c['unanswered']:,} not answered" if c["unanswered"] else "")
                + f", {c['ignored']:,} other commands ignored, {c['malformed']:,} malformed commands refused")

    def _count(self, what: str) -> None:
        with self._lock:
            self.counts[what] += 1

    def _beat(self) -> None:
        while True:
            for station in self.stations:
                if self._stop.is_set():
                    return
                self.send_heartbeat(station)
                self._count("heartbeats")
            if self._stop.wait(self.heartbeat_s):
                return

    def send_heartbeat(self, station: str, check: TimeCheck | None = None) -> None:
        """Publish `station`'s heartbeat now; with `check` it answers that time check (its id, and its `ts` echoed
        as `asked`)."""
        now = self.now()
        boot = self._boots.get(station)  # none before `start`
        beat = Heartbeat(v=1, station=station, ts=now, version=self.version,
                         uptime_s=round(time.monotonic() - self.started, 1),
                         # The fleet publishes straight to the broker: nothing waits in an outbox.
                         outbox=0,
                         check=check.check if check else None, asked=check.ts if check else None,
                         boot=boot[0] if boot else None,
                         boot_s=round((now - boot[1]).total_seconds(), 3) if boot else None)
        self.publisher.publish(SimEvent(now, str(agent_topic(station, Kind.HEARTBEAT)), encode(beat)), station)

    def on_command(self, station: str, topic: str, payload: bytes) -> None:
        """A command received by `station`'s client (on its network thread: it must not raise)."""
        try:
            decoded = decode(topic, payload, now=self.now())
            if decoded.topic.station != station:
                raise ProtocolError([f"topic is for station {decoded.topic.station!r}, received by {station!r}"])
        except ProtocolError as exc:
            self._count("malformed")
            log.warning("%s: refused command on %s: %s", station, topic, exc)
            return
        message = decoded.message
        if decoded.topic.command != TIME_CHECK or not isinstance(message, TimeCheck):
            self._count("ignored")
            # A real agent acts on it (a call-ack lights the call button's LED); the simulated station has no device.
            log.info("%s: command %r received; the simulated station has no device to act on it", station,
                     decoded.topic.command)
            return
        if not self.answer_checks:
            self._count("unanswered")
            log.info("%s: time check %s not answered: the fleet's clock is set to another day than the platform's",
                     station, message.check)
            return
        self.send_heartbeat(station, message)
        self._count("answered")
