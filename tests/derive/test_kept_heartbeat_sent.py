"""A heartbeat the agent kept through an outage goes out of its outbox with `sent` stamped on, a field the heartbeat's
model does not define: `cloud derive` reads such a line (without `received_at`) as the heartbeat it is."""

import json
from zoneinfo import ZoneInfo

from cloud.derive.files import read_events


def test_a_kept_heartbeats_sent_is_no_crash_and_no_clock_fault() -> None:
    line = json.dumps({"topic": "eldercare/v1/qd-a/agent/heartbeat",
                       "payload": {"v": 1, "station": "qd-a", "ts": "2026-10-13T09:00:00+08:00", "version": "1.0",
                                   "uptime_s": 1.0, "outbox": 3, "sent": "2026-10-13T12:00:00.000+08:00"}})
    events = read_events([line], {}, ZoneInfo("Asia/Shanghai"))
    assert not events.problems and not events.clock_faults.get("qd-a")
    assert [o.kind for o in events.obs["qd-a"]] == ["heartbeat"]
