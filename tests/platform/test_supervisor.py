"""The supervisor's stop flag: the demo stays quiet about connection errors caused by the shutdown itself."""

import signal
from pathlib import Path

from eldercare.supervisor import Supervisor


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
