"""Coverage-guided fuzzing (atheris, libFuzzer) of the protocol decoder and ingest's convert().

An input is a topic, a newline and a payload. Properties, as in test_decoder_fuzz.py: decode() returns a message or
raises ProtocolError with a reason for each problem, never anything else; convert() stores or dead-letters with a real
reason. Run by test_decoder_atheris.py; by hand, for longer:

    .venv/bin/python tests/hostile/fuzz_decoder_atheris.py CORPUS_DIR -runs=1000000 -max_len=4096
"""

import os
import sys
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import atheris

with atheris.instrument_imports(include=["station_protocol", "cloud.convert"]):
    from cloud.convert import Rejected, StationInfo, convert
    from station_protocol import ProtocolError, decode

NOW = datetime(2026, 10, 12, 2, 0, tzinfo=UTC)
STATION = "qd-huilong-01"
INFO = StationInfo(STATION, "汇龙镇", "3A", ZoneInfo("Asia/Shanghai"))
# Set by the test to show that the harness reports a failing property (a valid message "fails" at once).
SELF_CHECK = os.environ.get("FUZZ_SELF_CHECK") == "1"


def one_input(data: bytes) -> None:
    raw_topic, _, payload = data.partition(b"\n")
    topic = raw_topic.decode("utf-8", "replace")
    try:
        decode(topic, payload, now=NOW)
    except ProtocolError as exc:
        if not exc.problems or not all(isinstance(p, str) and p for p in exc.problems):
            raise AssertionError(f"a refusal without a reason: {exc.problems!r}") from exc
    else:
        if SELF_CHECK:
            raise RuntimeError("self-check: the harness saw a valid message")
    outcome = convert(topic, payload, NOW, lambda station: INFO if station == STATION else None)
    if isinstance(outcome, Rejected) and (not outcome.reason or "could not be processed" in outcome.reason):
        raise AssertionError(f"convert() caught a crash instead of giving a reason: {outcome.reason!r}")


def main() -> None:
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
