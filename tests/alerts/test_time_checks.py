"""The cloud's time checks (`cmd/time-check`): when the sender asks, whom, and what it sends. Real store (SQLite and
PostgreSQL), a real Mosquitto; the answers and what the rules make of them are in tests/gaming/test_clock_behind.py
and tests/edge (the agent's side)."""

import logging
import random
from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest
from sqlalchemy import Engine

from cloud.alerts.reference_clock import reference_problem
from cloud.alerts.sender import Sender, connect, send_pass
from cloud.alerts.time_checks import TimeChecks
from cloud.settings import Settings
from cloud.store import time_checks
from cloud.store.db import make_session_factory
from cloud.store.retention import Retention, purge
from hostclock import KernelClock
from station_protocol import Status, TimeCheck, decode, encode
from station_protocol.topics import agent_topic
from tests.alerts.conftest import Commands
from tests.derive.conftest import feed
from tests.localservices import Mosquitto

NOW = datetime(2026, 10, 12, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai
EVERY = timedelta(minutes=15)


def _status(store: Engine, station: str, online: bool, at: datetime = NOW) -> None:
    """The agent's retained status as ingest stores it (its last will says offline)."""
    message = (str(agent_topic(station, "status")), encode(Status(v=1, station=station, online=online, ts=at)))
    feed(store, [message], received_at=at)


def test_each_station_is_asked_at_unforeseeable_moments_never_far_apart(store: Engine) -> None:
    """Over eight simulated hours of passes 20 s apart: each registered station's first check within `every`, then
    gaps of 0.5-1.5 times it, varying (a station cannot learn a fixed rhythm), and the two stations not in step. An
    agent that says it is offline is asked all the same: a station must not stop the checks by looking offline."""
    _status(store, "qd-a", True)
    _status(store, "qd-b", False)
    checks = TimeChecks(EVERY.total_seconds(), random.Random(7))
    asked: dict[str, list[datetime]] = {"qd-a": [], "qd-b": []}
    factory = make_session_factory(store)
    t = NOW
    with factory() as session:
        while t < NOW + timedelta(hours=8):
            for station in checks.due(session, t):
                checks.asked(station, t)
                asked[station].append(t)
            t += timedelta(seconds=20)
    for times in asked.values():
        assert times[0] - NOW < EVERY
        gaps = [b - a for a, b in pairwise(times)]
        assert all(EVERY / 2 <= g < EVERY * 1.5 + timedelta(seconds=20) for g in gaps), gaps
        assert len(set(gaps)) > len(gaps) // 2  # not a rhythm
        assert 8 * 60 / 15 * 0.7 < len(times) < 8 * 60 / 15 * 1.4
    assert set(asked["qd-a"]) != set(asked["qd-b"])


def test_the_sender_publishes_a_check_stamped_by_the_clouds_clock(store: Engine, mosquitto: Mosquitto,
                                                                  commands: Commands) -> None:
    checks = TimeChecks(EVERY.total_seconds(), random.Random(1))
    sender = Sender(lambda: connect(Settings(mqtt_url=f"mqtt://127.0.0.1:{mosquitto.port}"), "test-sender"), checks)
    factory = make_session_factory(store)
    try:
        assert send_pass(factory, sender, NOW) == 0 and sender.asked == 0  # none due yet: not even a connection
        assert sender.client is None
        later = NOW + EVERY
        send_pass(factory, sender, later)  # each registered station's first check comes within the period
        assert sender.asked == 2
        received = commands.wait(2)
        assert sorted(topic for topic, _ in received) == ["eldercare/v1/qd-a/cmd/time-check",
                                                         "eldercare/v1/qd-b/cmd/time-check"]
        for topic, payload in received:
            check = decode(topic, payload, now=later).message
            assert isinstance(check, TimeCheck) and check.ts == later
        assert len({decode(t, p).message.check for t, p in received}) == 2  # type: ignore[union-attr]
        # Asked once: the next is drawn at least half the period on.
        send_pass(factory, sender, later + EVERY / 2 - timedelta(seconds=1))
        assert sender.asked == 2
        # An agent that says it went offline is asked all the same (its last will may be a station's trick).
        _status(store, "qd-a", False, later + timedelta(minutes=1))
        send_pass(factory, sender, later + EVERY * 1.5)
        assert sender.asked == 4
        assert len(commands.wait(4)) == 4
    finally:
        sender.close()


def test_a_sender_without_checks_and_a_bad_period() -> None:
    with pytest.raises(ValueError, match="every_s must be positive"):
        TimeChecks(0)


def test_every_check_the_broker_confirmed_is_recorded_and_read_by_station_and_time(
        store: Engine, mosquitto: Mosquitto, commands: Commands) -> None:
    """The sender keeps a record of the checks it sent (a station that answers none is found by it): the check's id
    and the time it carried, per station, read back for a station's time range; none for a publish not confirmed.
    Kept as long as the events, then purged with them."""
    checks = TimeChecks(EVERY.total_seconds(), random.Random(1))
    sender = Sender(lambda: connect(Settings(mqtt_url=f"mqtt://127.0.0.1:{mosquitto.port}"), "test-sender"), checks)
    factory = make_session_factory(store)
    try:
        send_pass(factory, sender, NOW)  # draws each station's first check, within EVERY
        send_pass(factory, sender, NOW + EVERY)
        send_pass(factory, sender, NOW + EVERY * 2.6)
        assert sender.asked == 4
        sent = {(topic.split("/")[2], decode(topic, payload, now=NOW + EVERY * 3).message.check)  # type: ignore[union-attr]
                for topic, payload in commands.wait(4)}
    finally:
        sender.close()
    with factory() as session:
        both = {station: time_checks.asks(session, station, NOW.timestamp(), (NOW + EVERY * 3).timestamp())
                for station in ("qd-a", "qd-b")}
        assert {(station, a.check) for station, found in both.items() for a in found} == sent
        assert [a.at for a in both["qd-a"]] == [(NOW + EVERY).timestamp(), (NOW + EVERY * 2.6).timestamp()]
        assert [a.at for a in time_checks.asks(session, "qd-a", (NOW + EVERY * 2).timestamp(),
                                               (NOW + EVERY * 3).timestamp())] == [(NOW + EVERY * 2.6).timestamp()]
    # Not confirmed (no broker): not recorded, and asked again on the next pass.
    down = Sender(lambda: connect(Settings(mqtt_url="mqtt://127.0.0.1:1"), "test-sender-down"),
                  TimeChecks(EVERY.total_seconds(), random.Random(2)))
    send_pass(factory, down, NOW + EVERY * 4)
    send_pass(factory, down, NOW + EVERY * 5)  # due now, but the connection is refused
    with factory() as session:
        assert len(time_checks.asks(session, "qd-a", NOW.timestamp(), (NOW + EVERY * 6).timestamp())) == 2
    # Retention: gone with the events of their days.
    report = purge(store, Retention(events_days=400), NOW + timedelta(days=400) + EVERY * 2)
    assert report.time_checks == 2
    with factory() as session:
        assert [a.at for a in time_checks.asks(session, "qd-a", NOW.timestamp(), (NOW + EVERY * 5).timestamp())] \
            == [(NOW + EVERY * 2.6).timestamp()]


def test_the_reference_clock_is_the_hosts_only_while_ntp_keeps_it() -> None:
    """The answers are judged against the sender's stamp: a host clock that no NTP client keeps could run ahead and
    find every station behind, so by default an unsynchronised kernel withholds the checks; `off` trusts it."""
    synced, unsynced = KernelClock(synced=True, offset_ms=0.2), KernelClock(synced=False, offset_ms=0.0)
    assert reference_problem("ntp", synced) is None
    problem = reference_problem("ntp", unsynced)
    assert problem is not None and "not synchronised by NTP" in problem and "ELDERCARE_REFERENCE_CLOCK=off" in problem
    assert reference_problem("off", unsynced) is None
    assert reference_problem("ntp", None) is None  # not Linux: the kernel cannot be asked (as on a station)
    assert Settings().reference_clock == "ntp"


def test_no_check_goes_out_while_the_hosts_clock_is_unfit_and_the_due_ones_go_once_it_is(
        store: Engine, mosquitto: Mosquitto, commands: Commands, caplog: pytest.LogCaptureFixture) -> None:
    """While the kernel says the clock is not synchronised nothing is asked, recorded or connected for; the stations
    stay due and are asked on the first pass after NTP synchronised it. The operator reads why, once."""
    kernel = [KernelClock(synced=False, offset_ms=0.0)]
    checks = TimeChecks(EVERY.total_seconds(), random.Random(1))
    sender = Sender(lambda: connect(Settings(mqtt_url=f"mqtt://127.0.0.1:{mosquitto.port}"), "test-sender"), checks,
                    lambda: reference_problem("ntp", kernel[0]))
    factory = make_session_factory(store)
    try:
        send_pass(factory, sender, NOW)
        with caplog.at_level(logging.WARNING, logger="cloud.alerts.sender"):
            for minutes in (15, 20, 25):
                assert send_pass(factory, sender, NOW + timedelta(minutes=minutes)) == 0
        assert sender.asked == 0 and sender.withheld == 3 and sender.client is None
        assert [r.getMessage() for r in caplog.records].count(f"time checks withheld: {sender.reference_problem}") == 1
        with factory() as session:
            assert time_checks.asks(session, "qd-a", NOW.timestamp(), (NOW + EVERY * 3).timestamp()) == []
        kernel[0] = KernelClock(synced=True, offset_ms=0.3)
        send_pass(factory, sender, NOW + timedelta(minutes=30))
        assert sender.asked == 2 and sender.reference_problem is None
        assert sorted(topic for topic, _ in commands.wait(2)) == ["eldercare/v1/qd-a/cmd/time-check",
                                                                  "eldercare/v1/qd-b/cmd/time-check"]
    finally:
        sender.close()
