"""`eldercare contract check` as an installer runs it: the real console script, a file or standard input."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from station_protocol.asyncapi import render
from tests.protocol.payloads import STATION, event

ELDERCARE = shutil.which("eldercare") or str(Path(sys.executable).parent / "eldercare")
DOOR = f"eldercare/v1/{STATION}/door-1/door"


def run(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([ELDERCARE, *args], input=stdin.decode() if stdin else None, capture_output=True,
                          text=True, timeout=60)


def test_valid_message_from_a_file_prints_ok(tmp_path: Path) -> None:
    path = tmp_path / "door.json"
    path.write_text(json.dumps(event("door-1", state="open")))
    result = run("contract", "check", DOOR, str(path))
    assert (result.returncode, result.stdout) == (0, "ok\n")


def test_invalid_message_from_stdin_prints_one_line_per_problem() -> None:
    payload = {**event("door-1", state="ajar", ts="2026-10-12T08:00:00"), "station": "someone-else"}
    result = run("contract", "check", DOOR, "-", stdin=json.dumps(payload).encode())
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert len(lines) == 3
    assert lines[0].startswith("ts has no UTC offset")
    assert lines[1].startswith("state:")
    assert lines[2].startswith("station: payload says 'someone-else'")
    assert "Traceback" not in result.stderr


def test_nan_and_infinity_are_refused_naming_the_field(tmp_path: Path) -> None:
    # What a vendor's health report looked like when a sensor read nothing: accepted before, refused now.
    text = json.dumps(event("counter-1", ok=True))[:-1] + ', "detail": {"temp_c": NaN, "range": [0, Infinity]}}'
    path = tmp_path / "health.json"
    path.write_text(text)
    assert json.loads(text)["detail"]["range"][1] == float("inf")  # Python's own parser takes it silently
    result = run("contract", "check", f"eldercare/v1/{STATION}/counter-1/health", str(path))
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        "detail.temp_c: NaN is not allowed (JSON has no NaN or Infinity; send null or leave it out)",
        "detail.range.1: Infinity is not allowed (JSON has no NaN or Infinity; send null or leave it out)",
        "detail.range: a list is not allowed (detail is a flat map of names to strings, numbers, true/false or null)",
    ]
    face = json.dumps(event("cam-1", person="elder-7", role="elder"))[:-1] + ', "distance": -Infinity}'
    result = run("contract", "check", f"eldercare/v1/{STATION}/cam-1/face", "-", stdin=face.encode())
    assert (result.returncode, result.stdout) == (
        1, "distance: -Infinity is not allowed (JSON has no NaN or Infinity; send null or leave it out)\n")


def test_bad_topic_is_one_problem_line() -> None:
    result = run("contract", "check", "eldercare/v1/Bad/door-1/door", "-", stdin=b"{}")
    assert result.returncode == 1
    assert result.stdout == "station id 'Bad' contains 'B'; only a-z, 0-9 and '-' are allowed\n"


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["contract", "check", DOOR, "/no/such/file.json"], "No such file or directory"),
        (["contract", "check"], "Missing argument 'TOPIC'"),
        (["no-such-command"], "No such command 'no-such-command'"),
    ],
)
def test_usage_errors_are_one_line_without_traceback(args: list[str], fragment: str) -> None:
    result = run(*args)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and fragment in result.stderr
    assert result.stderr.startswith("eldercare: error:")


@pytest.mark.parametrize("args", [[], ["contract"], ["contract", "check"], ["contract", "asyncapi"]])
def test_help_everywhere(args: list[str]) -> None:
    result = run(*args, "--help")
    assert result.returncode == 0 and result.stdout.startswith("Usage: eldercare")


def test_committed_asyncapi_document_matches_the_models() -> None:
    committed = Path(__file__).resolve().parents[2] / "docs" / "asyncapi.json"
    assert committed.read_text(encoding="utf-8") == render(), (
        "docs/asyncapi.json is stale: run `eldercare contract asyncapi -o docs/asyncapi.json`"
    )


def test_asyncapi_document_describes_every_topic() -> None:
    doc = json.loads(render())
    addresses = {channel["address"] for channel in doc["channels"].values()}
    assert {f"eldercare/v1/{{station}}/{{device}}/{kind}" for kind in ("flow", "door", "face", "call", "health")} \
        <= addresses
    assert "eldercare/v1/{station}/agent/status" in addresses
    assert "eldercare/v1/{station}/cmd/call-ack" in addresses
    flow = doc["components"]["schemas"]["Flow"]
    assert {"in", "out", "period_s", "ts", "id", "seq"} <= set(flow["required"])
