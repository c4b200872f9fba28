"""bench.run: what CI relies on to catch a benchmark that crashes, hangs or stops printing its headline."""

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bench import run


def command(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def test_a_benchmark_that_prints_its_headline_passes() -> None:
    outcome = run.run_command("x", command("print('work'); print('x: ratio=0.42 (target >= 0.25 of y)')"), 60)
    assert outcome.problem is None
    assert outcome.output.splitlines() == ["work", "x: ratio=0.42 (target >= 0.25 of y)"]


@pytest.mark.parametrize(("code", "problem"), [
    ("import sys; print('x: ratio=1 (target >= 1)'); sys.exit(3)", "exited with status 3"),
    ("raise SystemExit('derive failed')", "exited with status 1"),
    ("print('x: ratio=0.4 (target >= 0.5)'); print('a trailing line')", "no headline as its last line"),
    ("print('ratio 0.4')", "no headline as its last line"),
])
def test_a_crash_or_a_missing_headline_fails(code: str, problem: str) -> None:
    outcome = run.run_command("x", command(code), 60)
    assert outcome.problem is not None and outcome.problem.startswith(problem)


def test_a_silent_hang_is_killed_at_the_timeout() -> None:
    outcome = run.run_command("x", command("import time; print('started', flush=True); time.sleep(600)"), 2)
    assert outcome.problem == "timed out after 2 s"
    assert outcome.output == "started"


def test_every_benchmark_is_listed_and_takes_quick() -> None:
    files = {p.stem for p in Path(run.ROOT, "bench").glob("*.py")} - {"__init__", "run"}
    assert files == set(run.BENCHMARKS)
    for bench in run.BENCHMARKS:
        assert '"--quick"' in (Path(run.ROOT, "bench") / f"{bench}.py").read_text(encoding="utf-8"), bench


def test_the_readme_table_is_written_from_a_recorded_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    recorded = tmp_path / "2026-11-30-full.txt"
    recorded.write_text("date: 2026-11-30 18:00 UTC\nmachine: test box; 2 cores\nmode: full\n\n"
                        "=== decode ===\njson.loads floor: 1 msg/s\ndecode: ratio=0.45 (target >= 0.25 of y)\n"
                        "(took 30 s)\n\n=== outbox ===\nTraceback ...\n(took 3 s)\n", encoding="utf-8")
    readme = tmp_path / "README.md"
    readme.write_text(f"# x\n\n{run.TABLE_START}\nold figures\n{run.TABLE_END}\n\nafter\n", encoding="utf-8")
    monkeypatch.setattr(run, "README", readme)
    monkeypatch.setattr(run, "ROOT", tmp_path)
    monkeypatch.setattr(run, "describe", lambda bench: f"what {bench} does")
    run.write_table(recorded)
    text = readme.read_text(encoding="utf-8")
    assert "old figures" not in text and text.endswith(f"{run.TABLE_END}\n\nafter\n")
    assert "| `bench/decode.py` | what decode does | `decode: ratio=0.45 (target >= 0.25 of y)` |" in text
    assert "| `bench/outbox.py` | what outbox does | `not in this run` |" in text
    assert "full run of 2026-11-30 18:00 UTC on test box; 2 cores" in text


def test_a_partial_record_replaces_only_its_benchmarks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(run, "RESULTS", tmp_path)
    monkeypatch.setattr(run, "machine", lambda: "test box")
    first = datetime(2026, 12, 1, 0, 10, tzinfo=UTC)
    everything = [run.Outcome(bench, f"{bench}: ratio=1 (target >= 1)", 5, None) for bench in run.BENCHMARKS]
    path = run.record(everything, quick=False, now=first)
    again = run.record([run.Outcome("decode", "faster now\ndecode: ratio=2 (target >= 1)", 7, None)], quick=False,
                       now=first + timedelta(hours=1))
    assert again == path
    header, sections = run.parse_record(path)
    assert header["date"] == "2026-12-01 00:10 UTC"
    assert header["updated"] == "2026-12-01 01:10 UTC (decode)"
    assert sections["decode"] == ["faster now", "decode: ratio=2 (target >= 1)"]
    assert sections["load"] == ["load: ratio=1 (target >= 1)"]
    assert list(sections) == list(run.BENCHMARKS)
    assert "(ran 2026-12-01 01:10 UTC, took 7 s)" in path.read_text(encoding="utf-8")
    run.record([run.Outcome("load", "load: ratio=1 (target >= 1)", 9, None)], quick=False,
               now=first + timedelta(hours=2))
    assert run.parse_record(path)[0]["updated"] == "2026-12-01 02:10 UTC (decode, load)"


def test_a_first_partial_record_is_not_called_a_re_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(run, "RESULTS", tmp_path)
    monkeypatch.setattr(run, "machine", lambda: "test box")
    path = run.record([run.Outcome("load", "load: ratio=1 (target >= 1)", 5, None)], quick=False,
                      now=datetime(2026, 12, 1, 0, 10, tzinfo=UTC))
    header, sections = run.parse_record(path)
    assert "updated" not in header and list(sections) == ["load"]
