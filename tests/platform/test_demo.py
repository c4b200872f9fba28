"""`eldercare demo` started as the README says, then stopped with Ctrl-C."""

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from eldercare.demo import PASSWORD
from tests.localservices import free_port
from tests.platform.support import login, running
from tests.wait import poll


def test_demo_reaches_stations_counts_a_failed_spot_check_and_an_emergency_alert(tmp_path: Path) -> None:
    port = free_port()
    args = ["demo", "--stations", "6", "--days", "7", "--speed", "0", "--port", str(port),
            "--data-dir", str(tmp_path / "demo")]
    with running(args, tmp_path, port) as demo:
        demo.wait_for_line("logins (password", timeout=120)
        # The simulated fleet connects without passwords: allowed, loudly, and only on loopback.
        assert "warning: --allow-anonymous" in "".join(demo.lines)
        assert "on 127.0.0.1:" in demo.wait_for_line("MQTT broker", timeout=1)
        demo.wait_for_line("the demo is live", timeout=300)
        headers = login(demo.api, "admin", PASSWORD)

        def get(path: str, **params: Any) -> Any:
            response = httpx.get(f"{demo.api}{path}", params=params, headers=headers, timeout=30)
            response.raise_for_status()
            return response.json()

        stations = get("/stations")
        assert len(stations) == 6 and len({s["town"] for s in stations}) == 3

        # The stations' yesterday, whatever this machine's zone.
        yesterday = datetime.now(UTC).astimezone(ZoneInfo("Asia/Shanghai")).date() - timedelta(days=1)
        station = stations[0]["id"]

        def counted() -> dict[str, Any] | None:
            month: dict[str, Any] = get(f"/stations/{station}/months/{yesterday:%Y-%m}")
            return month if month["person_times"] > 0 and month["elders"] > 0 else None

        month = poll(counted, timeout=120, interval=0.5, what="person-times and elders counted")
        assert month["threshold"] > 0

        failed = poll(lambda: [r for r in get("/spot-checks/results") if r["result"] == "fail"], timeout=120,
                      interval=0.5, what="a failed spot check")
        assert {r["station"] for r in failed} == {"qd-huilong-01"}

        calls = poll(lambda: get("/alerts", kind="emergency_call"), timeout=120, interval=0.5,
                     what="an emergency alert")
        assert {a["station"] for a in calls} == {"qd-huilong-02", "qd-lvsi-02"}

        progress = [tuple(map(int, m.groups())) for line in demo.lines
                    if (m := re.search(r"\(day (\d+)/(\d+),", line))]
        assert progress and all(n <= total for n, total in progress), progress
        assert [n for n, _ in progress] == list(range(1, progress[-1][1] + 1)), progress
        assert demo.stop() == 0
        assert "stopped cleanly" in "".join(demo.lines)

