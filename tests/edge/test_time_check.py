"""The cloud's time check through a real Mosquitto: the agent answers at once with a heartbeat that echoes the check,
says so in its log when its clock is behind, stays silent while its clock is untrusted, and shrugs off bad commands."""

import json
import logging
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from edge.agent import Agent
from edge.timecheck import behind_warning
from hostclock import KernelClock
from simulators.gpio import SimDoor
from station_protocol import Door, Heartbeat
from tests.edge.conftest import AgentThread, Subscriber, station_config
from tests.localservices import Mosquitto
from tests.wait import poll

STATION = "qd-test-01"
CMD = f"eldercare/v1/{STATION}/cmd/time-check"
BEIJING = timezone(timedelta(hours=8))


def beats(sub: Subscriber) -> list[Heartbeat]:
    return [d.message for d in sub.of_kind("heartbeat") if isinstance(d.message, Heartbeat)]


def answers(sub: Subscriber) -> list[Heartbeat]:
    return [b for b in beats(sub) if b.check is not None]


def ask(sub: Subscriber, check: str, ts: datetime | None = None) -> datetime:
    """Publish a time check as the cloud would; returns its `ts`."""
    ts = ts or datetime.now(UTC)
    sub.publish(CMD, json.dumps({"v": 1, "check": check, "ts": ts.isoformat()}).encode())
    return ts


def connected(sub: Subscriber) -> None:
    # The agent subscribes to cmd/# before its first heartbeat; the broker handles one client's packets in order.
    sub.wait_for(lambda _m: bool(beats(sub)))


def test_a_right_clock_answers_at_once_with_the_question_echoed(
        mosquitto: Mosquitto, subscriber: Subscriber, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="edge"), \
            AgentThread(Agent(station_config(mosquitto.port, tmp_path, []), fsync=False)):
        connected(subscriber)
        # In Beijing time, to the microsecond: `asked` must be the command's time as received, not re-read.
        asked = ask(subscriber, "tc-2026-12-02T09:00:00.001", datetime.now(BEIJING))
        subscriber.wait_for(lambda _m: bool(answers(subscriber)))
    [answer] = answers(subscriber)
    assert answer.station == STATION
    assert answer.check == "tc-2026-12-02T09:00:00.001"
    assert answer.asked == asked and answer.asked is not None and answer.asked.utcoffset() == timedelta(hours=8)
    assert answer.ts >= asked  # stamped after the question was asked, as a right clock must
    assert answer.ts - asked < timedelta(seconds=10)
    assert answer.version and answer.outbox >= 0  # the normal heartbeat fields, too
    assert "behind" not in caplog.text


def test_a_clock_25_minutes_behind_answers_honestly_and_warns_the_installer(
        mosquitto: Mosquitto, subscriber: Subscriber, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    late = timedelta(minutes=25)
    agent = Agent(station_config(mosquitto.port, tmp_path, []), fsync=False, now=lambda: datetime.now(UTC) - late)
    with caplog.at_level(logging.INFO, logger="edge"), AgentThread(agent):
        connected(subscriber)
        asked = ask(subscriber, "tc-behind")
        subscriber.wait_for(lambda _m: bool(answers(subscriber)))
    [answer] = answers(subscriber)
    assert (answer.check, answer.asked) == ("tc-behind", asked)
    # Answered before it was asked, by the 25 minutes (less the few milliseconds the question took to arrive).
    assert late - timedelta(seconds=5) < asked - answer.ts <= late
    [warning] = [r for r in caplog.records if r.levelno == logging.WARNING and "tc-behind" in r.getMessage()]
    said = warning.getMessage()
    assert f"the cloud asked at {asked.isoformat()}" in said
    assert "this Pi's clock read " in said and " s behind" in said
    assert "1499 s" in said or "1500 s" in said
    assert "NTP server" in said and "timedatectl timesync-status" in said


def test_behind_warning_only_past_the_configured_margin() -> None:
    asked = datetime(2026, 12, 2, 1, 0, tzinfo=UTC)
    assert behind_warning(asked, asked + timedelta(seconds=3), 120) is None  # a right clock reads after the question
    assert behind_warning(asked, asked - timedelta(seconds=120), 120) is None
    said = behind_warning(asked, asked - timedelta(seconds=121), 120)
    assert said is not None and "121 s behind" in said


def test_an_untrusted_clock_does_not_answer_until_it_is_trusted(
        mosquitto: Mosquitto, subscriber: Subscriber, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    kernel = [KernelClock(synced=False, offset_ms=0.0)]  # NTP not reached yet
    agent = Agent(station_config(mosquitto.port, tmp_path, []), fsync=False, clock_check="ntp",
                  kernel=lambda: kernel[0], clock_poll_s=0.05, heartbeat_s=0.2)
    with caplog.at_level(logging.INFO, logger="edge"), AgentThread(agent):
        connected(subscriber)
        ask(subscriber, "tc-untrusted")
        poll(lambda: agent.time_checks.declined == 1, 10, "the check received and declined")
        seen = len(beats(subscriber))
        # A heartbeat published after the check was declined: an answer, had there been one, would have come first.
        subscriber.wait_for(lambda _m: len(beats(subscriber)) > seen)
        assert answers(subscriber) == []
        assert "time check tc-untrusted not answered: this Pi's clock is not trusted" in caplog.text
        assert caplog.text.count("tc-untrusted") == 1  # said once
        kernel[0] = KernelClock(synced=True, offset_ms=0.4)
        poll(lambda: agent.clock_issue is None, 10, "the clock trusted again")
        ask(subscriber, "tc-trusted")
        subscriber.wait_for(lambda _m: bool(answers(subscriber)))
    assert [a.check for a in answers(subscriber)] == ["tc-trusted"]


def door_states(sub: Subscriber) -> list[str]:
    return [d.message.state for d in sub.of_kind("door", "door-1") if isinstance(d.message, Door)]


def test_bad_time_checks_are_counted_and_a_burst_is_answered_in_order_while_readings_flow(
        mosquitto: Mosquitto, subscriber: Subscriber, mock_pins: Any, tmp_path: Path) -> None:
    config = station_config(mosquitto.port, tmp_path, [{"type": "door", "id": "door-1", "pin": 17}])
    agent = Agent(config, fsync=False)
    door = SimDoor(mock_pins, 17)
    with AgentThread(agent):
        subscriber.wait_for(lambda _m: door_states(subscriber) == ["open"])
        now = datetime.now(UTC).isoformat()
        bad = [
            json.dumps({"v": 1, "check": "has space", "ts": now}),  # not a check id
            json.dumps({"v": 1, "check": "", "ts": now}),
            json.dumps({"v": 1, "check": "tc-no-ts"}),  # missing ts
            json.dumps({"v": 1, "check": "tc-naive", "ts": "2026-12-02T09:00:00"}),  # no UTC offset
            json.dumps({"v": 1, "check": "tc-unix", "ts": 1764637200}),  # a Unix number, not RFC 3339
            "not json {",
            "",
        ]
        for payload in bad:
            subscriber.publish(CMD, payload.encode())
        poll(lambda: agent.commands.rejected == len(bad), 10, lambda: f"rejected: {agent.commands.rejected}")
        # A burst, as after an outage: each answered once, in order; the door's reading gets through meanwhile.
        checks = [f"tc-{i:02d}" for i in range(50)]
        asked = {check: ask(subscriber, check) for check in checks[:25]}
        door.close()
        asked |= {check: ask(subscriber, check) for check in checks[25:]}
        subscriber.wait_for(lambda _m: len(answers(subscriber)) >= 50 and door_states(subscriber) == ["open", "closed"])
        door.open()
        subscriber.wait_for(lambda _m: door_states(subscriber) == ["open", "closed", "open"])
    got = answers(subscriber)
    assert [a.check for a in got] == checks
    assert all(a.asked == asked[a.check or ""] and a.ts >= a.asked for a in got)
    assert agent.commands.rejected == len(bad) and agent.time_checks.answered == 50


def test_an_answer_is_kept_in_the_outbox_until_the_broker_has_it(
        mosquitto: Mosquitto, subscriber: Subscriber, tmp_path: Path) -> None:
    """An answer goes out with the outbox's acknowledged delivery, not fire-and-forget: a direct publish the network
    swallows (a router resetting the link as it passes: paho has written it, nothing arrives) loses no answer. The
    direct path is made to swallow everything here; the answer arrives all the same, and leaves the outbox."""
    agent = Agent(station_config(mosquitto.port, tmp_path, []), fsync=False)
    with AgentThread(agent):
        connected(subscriber)
        agent.publisher.publish_direct = lambda *_a, **_k: True  # type: ignore[method-assign]
        asked = ask(subscriber, "tc-kept")
        subscriber.wait_for(lambda _m: bool(answers(subscriber)))
        poll(lambda: agent.outbox.depth == 0, 10, "the answer acknowledged and deleted from the outbox")
    [answer] = answers(subscriber)
    assert (answer.check, answer.asked) == ("tc-kept", asked)
