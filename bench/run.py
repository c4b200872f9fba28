"""Run every benchmark, check that each ends with its headline, and optionally record the run for the README.

    python -m bench.run --quick              what CI runs: small sizes, each under a timeout
    python -m bench.run --record             a full run, kept under bench/results/ with its date and machine
    python -m bench.run --table FILE         rewrite the README's benchmark table from a recorded run

A benchmark fails the run when it exits non-zero, outlives its timeout or does not print a headline as its last line
(`NAME: ratio=X (target >= Y)` or `<= Y`). The ratio itself is not judged here: the build machine is shared and noisy,
so a slow run is a figure to read, not a failure.
"""

import argparse
import os
import platform
import re
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
README = ROOT / "README.md"
# Every benchmark, in the order the README lists them. A new benchmark is added here and nowhere else.
BENCHMARKS = ("decode", "outbox", "edge_rss", "edge_latency", "face_pipeline", "ingest", "broker_queue", "derive",
              "api_overview", "alert_latency", "load")
HEADLINE = re.compile(r"^(?P<name>[\w-]+): ratio=(?P<ratio>[0-9.]+|nan) \(target (?P<op>>=|<=) (?P<target>[0-9.]+)")
TABLE_START, TABLE_END = "<!-- bench-table:start -->", "<!-- bench-table:end -->"
SECTION = re.compile(r"^=== (?P<bench>\w+) ===$")
FOOTER = re.compile(r"^\((took|ran) .*s\)$")


@dataclass(frozen=True)
class Outcome:
    bench: str
    output: str
    seconds: float
    problem: str | None  # None when the benchmark ran and printed its headline


def run_one(bench: str, quick: bool, timeout: float) -> Outcome:
    """Run one benchmark of this folder as its own process."""
    return run_command(bench, [sys.executable, "-m", f"bench.{bench}", *(["--quick"] if quick else [])], timeout)


def run_command(bench: str, command: list[str], timeout: float) -> Outcome:
    """Run a benchmark's command, showing its output as it comes; killed once `timeout` passes (a benchmark that
    hangs in silence is caught too, since the wait does not depend on its output)."""
    started = time.monotonic()
    lines: list[str] = []
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"})

    def relay() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            print(f"  {line.rstrip()}", flush=True)
            lines.append(line.rstrip("\n"))

    reader = threading.Thread(target=relay, daemon=True)
    reader.start()
    try:
        status = process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        reader.join(5)
        return Outcome(bench, "\n".join(lines), time.monotonic() - started, f"timed out after {timeout:.0f} s")
    reader.join(30)
    seconds = time.monotonic() - started
    output = "\n".join(lines)
    if status != 0:
        return Outcome(bench, output, seconds, f"exited with status {status}")
    last = next((line for line in reversed(lines) if line.strip()), "")
    if not HEADLINE.match(last):
        return Outcome(bench, output, seconds, f"no headline as its last line (got {last[:80]!r})")
    return Outcome(bench, output, seconds, None)


def machine() -> str:
    """What ran the benchmarks, for the record: the figures mean nothing without it."""
    model = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        model = next((line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines()
                      if line.startswith("model name")), "")
    return (f"{platform.node()}; {platform.system()} {platform.release()} {platform.machine()}; "
            f"{os.cpu_count()} cores {model}; Python {platform.python_version()}")


def record(outcomes: list[Outcome], quick: bool, now: datetime | None = None) -> Path:
    """Keep a run under bench/results/. A partial run (`--only`) replaces just its benchmarks' sections in the
    record of the same day and mode, so one benchmark can be re-run after a change without re-running the hour-long
    rest; each section says when it ran."""
    RESULTS.mkdir(exist_ok=True)
    now = now or datetime.now(UTC)
    path = RESULTS / f"{now:%Y-%m-%d}-{'quick' if quick else 'full'}.txt"
    merge = path.exists() and len(outcomes) < len(BENCHMARKS)
    header, sections = parse_record(path, keep_footer=True) if merge else ({}, {})
    for outcome in outcomes:
        sections[outcome.bench] = [*outcome.output.splitlines(),
                                   f"(ran {now:%Y-%m-%d %H:%M} UTC, took {outcome.seconds:.0f} s)"]
    header.setdefault("date", f"{now:%Y-%m-%d %H:%M} UTC")
    header["machine"] = machine()
    header["mode"] = "quick" if quick else "full"
    if merge:
        earlier = re.search(r"\((.*)\)$", header.get("updated", ""))
        names = {*(earlier[1].split(", ") if earlier else ()), *(o.bench for o in outcomes)}
        header["updated"] = f"{now:%Y-%m-%d %H:%M} UTC ({', '.join(b for b in BENCHMARKS if b in names)})"
    parts = [f"{key}: {value}" for key, value in header.items()] + [""]
    for bench in BENCHMARKS:
        if bench in sections:
            parts += [f"=== {bench} ===", *sections[bench], ""]
    path.write_text("\n".join(parts), encoding="utf-8")
    return path


def parse_record(path: Path, keep_footer: bool = False) -> tuple[dict[str, str], dict[str, list[str]]]:
    """The header fields and each benchmark's output lines of a recorded run (without the timing footer unless
    `keep_footer`)."""
    header: dict[str, str] = {}
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in path.read_text(encoding="utf-8").splitlines():
        match = SECTION.match(line)
        if match:
            current = sections.setdefault(match["bench"], [])
        elif current is not None:
            if keep_footer or not FOOTER.match(line):
                current.append(line)
        elif ": " in line:
            key, value = line.split(": ", 1)
            header[key] = value
    for lines in sections.values():
        while lines and not lines[-1].strip():
            lines.pop()
    return header, sections


def describe(bench: str) -> str:
    """The first line of a benchmark's docstring: what it compares."""
    source = (ROOT / "bench" / f"{bench}.py").read_text(encoding="utf-8")
    match = re.search(r'^"""(.+?)$', source, re.MULTILINE)
    return match.group(1).strip() if match else bench


def table(path: Path) -> str:
    header, sections = parse_record(path)
    # Benchmarks re-run later ran at different times: name them and the last time, not one time for all.
    later = re.fullmatch(r"(.*?) \((.*)\)", header.get("updated", ""))
    updated = f", {later[2]} re-run later (the last at {later[1]}; the record says when each ran)" if later else ""
    rows = [f"Recorded {header.get('mode', '?')} run of {header.get('date', '?')}{updated} on "
            f"{header.get('machine', '?')} (`{path.relative_to(ROOT)}`, written by `python -m bench.run --table`):", "",
            "| benchmark | what | headline |", "| --- | --- | --- |"]
    for bench in BENCHMARKS:
        lines = [line for line in sections.get(bench, []) if line.strip()]
        headline = lines[-1] if lines and HEADLINE.match(lines[-1]) else "not in this run"
        rows.append(f"| `bench/{bench}.py` | {describe(bench).replace('|', '/')} | `{headline}` |")
    return "\n".join(rows)


def write_table(path: Path) -> None:
    text = README.read_text(encoding="utf-8")
    start, end = text.find(TABLE_START), text.find(TABLE_END)
    if start < 0 or end < start:
        raise SystemExit(f"README.md has no {TABLE_START} ... {TABLE_END} section")
    README.write_text(text[: start + len(TABLE_START)] + "\n" + table(path) + "\n" + text[end:], encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, as CI runs them")
    parser.add_argument("--only", nargs="+", choices=BENCHMARKS, help="these benchmarks only")
    parser.add_argument("--timeout", type=float, help="seconds each (default 300 quick, 3600 full)")
    parser.add_argument("--record", action="store_true", help="keep the run under bench/results/")
    parser.add_argument("--table", type=Path, metavar="FILE", help="rewrite the README table from a recorded run")
    args = parser.parse_args()
    if args.table:
        write_table(args.table.resolve())
        return
    timeout = args.timeout or (300.0 if args.quick else 3600.0)
    outcomes = []
    for bench in args.only or BENCHMARKS:
        print(f"=== {bench}{' --quick' if args.quick else ''}", flush=True)
        outcome = run_one(bench, args.quick, timeout)
        print(f"=== {bench}: {outcome.problem or 'ok'} ({outcome.seconds:.0f} s)", flush=True)
        outcomes.append(outcome)
    if args.record:
        print(f"recorded in {record(outcomes, args.quick)}")
    failed = [o for o in outcomes if o.problem]
    for outcome in failed:
        print(f"FAILED {outcome.bench}: {outcome.problem}")
    print(f"benchmarks: {len(outcomes) - len(failed)} of {len(outcomes)} ran and printed their headline")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
