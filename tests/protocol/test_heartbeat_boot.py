"""A heartbeat's boot fields (`boot`, `boot_s`) and `clock: unsynced`, added inside v1 for cloud.rules.clock_steps:
they round-trip, are optional (an older agent's heartbeat still decodes), and are refused half given or out of
bounds with a reason naming the field."""

import json
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import pytest

from station_protocol import Heartbeat, ProtocolError, decode, encode
from tests.protocol.payloads import STATION, TS

NOW = datetime(2026, 10, 12, 1, 0, tzinfo=UTC)
TOPIC = f"eldercare/v1/{STATION}/agent/heartbeat"
BOOT = "6f1e1a52-6f8e-4a7e-9a0b-2f1c3c4d5e6f"
BEAT = {"v": 1, "station": STATION, "ts": TS, "version": "0.1.0", "uptime_s": 61.5, "outbox": 0}


def _problems(payload: Any) -> list[str]:
    with pytest.raises(ProtocolError) as caught:
        decode(TOPIC, json.dumps(payload), now=NOW)
    return caught.value.problems


def test_boot_fields_and_unsynced_round_trip() -> None:
    decoded = decode(TOPIC, json.dumps({**BEAT, "boot": BOOT, "boot_s": 3600.25, "clock": "unsynced"}), now=NOW)
    beat = decoded.message
    assert isinstance(beat, Heartbeat)
    assert (beat.boot, beat.boot_s, beat.clock) == (UUID(BOOT), 3600.25, "unsynced")
    again = json.loads(encode(beat))
    assert (again["boot"], again["boot_s"], again["clock"]) == (BOOT, 3600.25, "unsynced")
    assert decoded.clock_fault is None  # an unsynced heartbeat is kept: the rule sets it aside, ingest does not


def test_an_older_agents_heartbeat_has_none() -> None:
    beat = decode(TOPIC, json.dumps(BEAT), now=NOW).message
    assert isinstance(beat, Heartbeat) and (beat.boot, beat.boot_s, beat.clock) == (None, None, None)
    assert not {"boot", "boot_s", "clock"} & set(json.loads(encode(beat)))


@pytest.mark.parametrize("given", [{"boot": BOOT}, {"boot_s": 12.0}])
def test_half_the_boot_fields_are_refused(given: dict[str, Any]) -> None:
    [problem] = _problems({**BEAT, **given})
    assert "boot and boot_s go together" in problem


@pytest.mark.parametrize(("given", "expected"), [
    ({"boot": BOOT, "boot_s": -1.0}, "boot_s: input should be greater than or equal to 0"),
    ({"boot": BOOT, "boot_s": 2e9}, "boot_s: input should be less than or equal to"),
    ({"boot": BOOT, "boot_s": "12"}, "boot_s must be a number"),
    ({"boot": "not-a-boot-id", "boot_s": 12.0}, "boot is not a UUID"),
    ({"clock": "synced"}, "clock: input should be 'unsynced'"),
])
def test_boot_fields_out_of_bounds_are_refused_naming_the_field(given: dict[str, Any], expected: str) -> None:
    problems = _problems({**BEAT, **given})
    assert any(expected in p for p in problems), problems
