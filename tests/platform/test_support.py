"""The launcher of `eldercare serve`/`demo` leaves nothing running when a test fails before stopping it."""

from pathlib import Path

from tests.localservices import free_port
from tests.platform.support import group_members, running


def test_a_serve_the_test_did_not_stop_is_stopped_with_all_it_started(tmp_path: Path) -> None:
    port, mqtt_port = free_port(), free_port()
    args = ["serve", "--data-dir", str(tmp_path / "data"), "--port", str(port), "--mqtt-port", str(mqtt_port),
            "--broker", "mosquitto"]
    with running(args, tmp_path / "data", port) as serve:
        serve.wait_for_line("dashboard: http://127.0.0.1", timeout=120)
        group = serve.process.pid
        # The broker, ingester, worker and API run as its children, in its group.
        assert len([pid for pid in group_members(group) if pid != group]) >= 3
        # Leaving without serve.stop(), as a failing assertion would.
    assert serve.process.returncode is not None
    assert group_members(group) == []
