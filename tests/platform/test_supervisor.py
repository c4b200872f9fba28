"""The supervisor's stop flag: the demo stays quiet about connection errors caused by the shutdown itself; a failed
one-off step (a bad station row) is reported with its own lines."""

import os
import signal
import subprocess
import sys
from pathlib import Path

from eldercare.supervisor import Supervisor, step_failure
from tests.localservices import free_port


def test_a_signal_or_a_request_marks_the_supervisor_stopping(tmp_path: Path) -> None:
    supervisor = Supervisor({}, tmp_path)
    assert not supervisor.stopping
    supervisor.request_stop()
    assert supervisor.stopping

    by_signal = Supervisor({}, tmp_path)
    previous = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    try:
        by_signal.install_signal_handlers()
        signal.raise_signal(signal.SIGTERM)
        assert by_signal.stopping
        assert by_signal.watch(poll=0.01) is None  # returns at once: nothing left to watch for
    finally:
        signal.signal(signal.SIGTERM, previous[0])
        signal.signal(signal.SIGINT, previous[1])


def test_a_failed_step_says_what_it_said_once_without_its_log_lines() -> None:
    output = ("stations.csv: line 4: grade must be one of 2A, 3A, 4A, 5A (got '6A')\n"
              "2026-12-01 07:57:12,993 INFO cloud.store.migrate: created sqlite:///x.db\n"
              "eldercare: error: 1 problem(s) above; the other stations were imported\n")
    assert step_failure(output, 1) == ("\n  stations.csv: line 4: grade must be one of 2A, 3A, 4A, 5A (got '6A')"
                                       "\n  1 problem(s) above; the other stations were imported")
    assert step_failure("eldercare: error: no such table\n", 1) == "no such table"
    assert step_failure("", 3) == "exit status 3"
    many = "".join(f"f.csv: line {n}: bad\n" for n in range(2, 100)) + "eldercare: error: 98 problem(s) above\n"
    shown = step_failure(many, 1).splitlines()
    assert len(shown) == 1 + 20 and shown[-1] == "  98 problem(s) above"


def test_serve_with_a_bad_station_row_names_the_row_and_starts_nothing(tmp_path: Path) -> None:
    csv = tmp_path / "stations.csv"
    csv.write_text("station_id,name,town,grade,weekdays,hours\nqd-a,站,镇,3A,1-5,08:30-11:30\n"
                   "qd-b,站,镇,6A,1-5,08:30-11:30\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ELDERCARE_")}
    result = subprocess.run([sys.executable, "-m", "eldercare", "serve", "--data-dir", str(tmp_path / "data"),
                             "--port", str(free_port()), "--mqtt-port", str(free_port()), "--stations", str(csv)],
                            env=env, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 1
    assert "line 3: grade must be one of 2A, 3A, 4A, 5A (got '6A')" in result.stderr
    assert result.stderr.count("eldercare: error:") == 1
    assert "MQTT broker" not in result.stderr
    assert (tmp_path / "data").stat().st_mode & 0o777 == 0o700  # the store, users and token key: the service's alone


def test_a_child_that_exits_before_listening_is_named_with_its_log(tmp_path: Path) -> None:
    # Not "nothing listens after 15 s" (or ready, if another program answered on the port): the child's own end.
    from eldercare.supervisor import Child

    supervisor = Supervisor(dict(os.environ), tmp_path / "logs")
    port = free_port()
    child = Child("api", [sys.executable, "-c", "raise SystemExit('[Errno 98] address already in use')"],
                  ready_port=port)
    try:
        supervisor.start(child, ready_timeout=60)
    except RuntimeError as exc:
        assert str(exc) == (f"api exited (status 1) before listening on port {port}; "
                            f"see {tmp_path / 'logs' / 'api.log'}")
    else:
        raise AssertionError("a child that exited was taken as ready")
    assert "Errno 98" in (tmp_path / "logs" / "api.log").read_text()
