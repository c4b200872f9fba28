"""The simulated fleet, once live, behaves towards the cloud as real agents do: heartbeats every `heartbeat_s`, and
an answer at once to each time check (`cmd/time-check`), echoing its `check` and `asked`; a malformed command is
refused and counted, never fatal. Against a real Mosquitto, on a clock fixed to a day so nothing depends on today."""

import json
import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from simulators.fleet import Fleet, build_fleet, stations_csv
from simulators.fleet_commands import Span, run_fleet
from simulators.publisher import BrokerTarget
from station_protocol import CallAck, Heartbeat, TimeCheck, decode, encode
from station_protocol.topics import command_topic
from tests.localservices import Mosquitto
from tests.provision.broker import credential, provisioned_broker
from tests.wait import poll

NOW = datetime(2026, 10, 13, 2, 30, tzinfo=UTC)  # 10:30 in Shanghai, a Tuesday
Clock = Callable[[], datetime]


Login = tuple[str, str] | None  # (user, password) on a provisioned broker; None on an anonymous one


def _client(port: int, name: str, login: Login) -> mqtt.Client:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=name, protocol=mqtt.MQTTv311)
    if login is not None:
        client.username_pw_set(*login)
    return client


class Cloud:
    """The cloud's side of the broker: reads every heartbeat (validated as the ingester does) and sends commands,
    as the ingester's and the command sender's accounts."""

    def __init__(self, port: int, now: Clock, reader: Login = None, writer: Login = None) -> None:
        self.now = now
        self.heartbeats: list[Heartbeat] = []
        self.refused: list[str] = []
        self.reader = _client(port, "test-ingest", reader)
        self.reader.on_message = self._on_message
        self.reader.connect("127.0.0.1", port)
        self.reader.subscribe("eldercare/v1/+/agent/heartbeat", qos=1)
        self.reader.loop_start()
        self.writer = _client(port, "test-sender", writer)
        self.writer.connect("127.0.0.1", port)
        self.writer.loop_start()

    def _on_message(self, _c: mqtt.Client, _u: object, message: mqtt.MQTTMessage) -> None:
        try:
            decoded = decode(message.topic, message.payload, now=self.now())
        except ValueError as exc:
            self.refused.append(str(exc))
            return
        assert isinstance(decoded.message, Heartbeat)
        self.heartbeats.append(decoded.message)

    def send(self, station: str, name: str, payload: bytes) -> None:
        info = self.writer.publish(str(command_topic(station, name)), payload, qos=1)
        info.wait_for_publish(10)
        assert info.is_published()

    def beats(self, station: str, answers: bool = False) -> list[Heartbeat]:
        return [h for h in list(self.heartbeats) if h.station == station and (h.check is not None) == answers]

    def close(self) -> None:
        for client in (self.reader, self.writer):
            client.loop_stop()
            client.disconnect()


def running_clock() -> Clock:
    """NOW, running on at real speed (the fleet's live clock, as the demo's --today gives it)."""
    started = datetime.now(UTC)
    return lambda: NOW + (datetime.now(UTC) - started)


def the_fleet() -> tuple[Span, Fleet]:
    """Three stations on NOW's day: the third is the one whose agent went offline."""
    span = Span.last_days(0, NOW)
    return span, build_fleet(3, span.first, span.last, span.now)


@dataclass
class Live:
    fleet: Fleet
    cloud: Cloud
    said: list[str]
    thread: threading.Thread
    stop_event: threading.Event

    def stop(self) -> None:
        self.stop_event.set()
        self.thread.join(30)
        assert not self.thread.is_alive(), "the fleet did not stop"


Start = Callable[..., Live]


@pytest.fixture
def fleets() -> Iterator[Start]:
    """`start(port, cloud=…, credentials=…, **run_fleet options)`: the fleet replayed at full speed up to NOW, then
    live; each stopped after the test."""
    started: list[Live] = []

    def start(port: int, reader: Login = None, writer: Login = None, credentials: Path | None = None,
              **options: Any) -> Live:
        now = running_clock()
        span, fleet = the_fleet()
        said: list[str] = []
        stop, caught_up = threading.Event(), threading.Event()
        cloud = Cloud(port, now, reader, writer)
        thread = threading.Thread(target=run_fleet, args=(fleet, BrokerTarget("127.0.0.1", port, credentials), span,
                                                          0, 0, stop, said.append, caught_up, now), kwargs=options)
        thread.start()
        started.append(Live(fleet, cloud, said, thread, stop))
        assert caught_up.wait(60), "the fleet never caught up with its clock"
        return started[-1]

    yield start
    for one in started:
        one.stop()
        one.cloud.close()


@pytest.fixture
def live(mosquitto: Mosquitto, fleets: Start) -> Start:
    """`fleets` on an anonymous Mosquitto."""
    return lambda **options: fleets(mosquitto.port, **options)


def test_the_live_fleet_heartbeats_and_answers_a_time_check_at_once(live: Start) -> None:
    run = live(heartbeat_s=0.2)
    fleet, cloud = run.fleet, run.cloud
    station = fleet.stations[0].station
    others = [s.station for s in fleet.stations if s.station not in (station, fleet.offline)]
    # Periodic heartbeats from every live station, as the real agent sends them.
    poll(lambda: all(len(cloud.beats(s.station)) >= 3 for s in fleet.stations if s.station != fleet.offline),
         timeout=30, what=lambda: f"3 heartbeats from each live station (got {len(cloud.heartbeats)})")
    beat = cloud.beats(station)[-1]
    assert beat.version.endswith("+sim") and beat.outbox == 0 and beat.uptime_s >= 0
    assert NOW <= beat.ts <= NOW + timedelta(minutes=5)  # the fleet's live clock, not the real one
    # Each station's own boot, as a real agent's heartbeats carry it, and a clock never stepped within it: the
    # heartbeat's time less its seconds since boot stays put (what the cloud's clock-step rule compares).
    live_stations = [s.station for s in fleet.stations if s.station != fleet.offline]
    assert all(h.boot is not None and h.boot_s is not None for s in live_stations for h in cloud.beats(s))
    boots = {s: {h.boot for h in cloud.beats(s)} for s in live_stations}
    assert all(len(b) == 1 for b in boots.values()) and len(set.union(*boots.values())) == len(boots), boots
    for s in live_stations:
        since_boot = [h.ts.timestamp() - (h.boot_s or 0) for h in cloud.beats(s)]
        assert max(since_boot) - min(since_boot) < 0.01, since_boot
    # The station whose agent went offline (its last will said so) stays silent.
    assert cloud.beats(fleet.offline) == []

    # The cloud asks one station for its time: the answer echoes the check and when it was asked.
    check = TimeCheck(v=1, check="tc-0001", ts=NOW)
    cloud.send(station, "time-check", encode(check))
    [answer] = poll(lambda: cloud.beats(station, answers=True), timeout=30, what="the answer to the time check")
    assert (answer.check, answer.asked) == ("tc-0001", NOW)
    assert answer.asked is not None and answer.ts >= answer.asked  # an honest clock: stamped after it was asked
    assert all(cloud.beats(s, answers=True) == [] for s in others)  # only the station asked answers

    # Malformed commands are refused and counted; the station goes on answering.
    cloud.send(station, "time-check", b"not json")
    cloud.send(station, "time-check", json.dumps({"v": 1, "check": "tc 2", "ts": "yesterday"}).encode())
    cloud.send(station, "call-ack", encode(check))  # a time check's body on another command's topic
    cloud.send(station, "time-check", encode(TimeCheck(v=1, check="tc-0002", ts=NOW)))
    poll(lambda: len(cloud.beats(station, answers=True)) == 2, timeout=30, what="the second answer")
    assert cloud.beats(station, answers=True)[1].check == "tc-0002"
    assert cloud.refused == []  # every heartbeat the fleet sent is valid protocol


def test_the_fleet_logs_and_counts_what_it_refused_and_says_so_when_it_stops(
        live: Start, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="simulators.fleet_agents")
    run = live(heartbeat_s=60)
    station = run.fleet.stations[1].station
    poll(lambda: run.cloud.beats(station), timeout=30, what="the first heartbeat")  # subscribed by now (same thread)
    run.cloud.send(station, "time-check", b'{"v": 1}')
    run.cloud.send(station, "call-ack", encode(CallAck(v=1, call="c-1", by="dispatch", ts=NOW)))
    run.cloud.send(station, "time-check", encode(TimeCheck(v=1, check="tc-0003", ts=NOW)))
    poll(lambda: run.cloud.beats(station, answers=True), timeout=30, what="the answer")
    [refused] = [r.getMessage() for r in caplog.records if "refused command" in r.getMessage()]
    assert refused.startswith(f"{station}: refused command on eldercare/v1/{station}/cmd/time-check: ") and \
        "check" in refused, refused
    run.stop()
    assert run.said[-1] == ("live agents: 2 heartbeats, 1 time checks answered, 1 other commands ignored, "
                            "1 malformed commands refused"), run.said


def test_a_fleet_on_another_day_than_the_platform_receives_time_checks_and_answers_none(
        live: Start, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="simulators.fleet_agents")
    run = live(heartbeat_s=60, answer_checks=False)
    fleet, cloud = run.fleet, run.cloud
    station = fleet.stations[0].station
    poll(lambda: cloud.beats(station), timeout=30, what="the first heartbeat")  # subscribed by now (same thread)
    cloud.send(station, "time-check", encode(TimeCheck(v=1, check="tc-0004", ts=NOW)))
    poll(lambda: any("time check tc-0004 not answered" in r.getMessage() for r in caplog.records), timeout=30,
         what="the check received and not answered")
    assert cloud.beats(station, answers=True) == []


def test_with_provisioned_accounts_each_station_reads_its_own_time_checks_through_the_acl(
        fleets: Start, tmp_path: Path) -> None:
    # As `docker compose --profile simulate` runs it: each station logs in as itself, and the broker's ACL lets it
    # write its own topics and read only its own commands.
    _, fleet = the_fleet()
    with provisioned_broker(tmp_path, stations_csv(fleet)) as broker:
        run = fleets(broker.plain, reader=("eldercare-ingest", credential(broker.out, "eldercare-ingest")),
                     writer=("eldercare-worker", credential(broker.out, "eldercare-worker")),
                     credentials=broker.out / "credentials", heartbeat_s=60)
        asked = [s.station for s in fleet.stations if s.station != fleet.offline]
        poll(lambda: all(run.cloud.beats(s) for s in asked), timeout=30, what="a heartbeat from each live station")
        for n, station in enumerate(asked):
            run.cloud.send(station, "time-check", encode(TimeCheck(v=1, check=f"tc-{n}", ts=NOW)))
        answers = poll(lambda: [h for s in asked for h in run.cloud.beats(s, answers=True)]
                       if all(run.cloud.beats(s, answers=True) for s in asked) else None,
                       timeout=30, what="each station's answer")
        assert sorted((h.station, h.check) for h in answers) == [(s, f"tc-{n}") for n, s in enumerate(asked)]
        run.stop()
