"""Events held while the clock was untrusted, corrected when it is trusted again (`Outbox.release_held`).

An event held during this boot is re-stamped by its monotonic time: `ts + (wall - monotonic)now - (wall -
monotonic)then`. Events from an earlier boot cannot be corrected; they go out flagged `"clock": "unsynced"` (an extra
field protocol v1 receivers accept) so the cloud does not count them on a wrong day without knowing. A device first
numbered while the clock was untrusted (from 0) has its events' seq moved up with its numbers (edge/outbox_seq.py).
"""

import json
from collections.abc import Collection
from datetime import datetime


def restamped(payload: bytes, wall: float, mono: float, boot: str, *, this_boot: str, offset_now: float,
              provisional: Collection[str], base: int) -> bytes:
    """The held event's payload as it is released: re-stamped or flagged, and renumbered if its device was
    provisional (`+ base`). `wall`, `mono` and `boot` are when it was stored."""
    data = json.loads(payload)
    if boot == this_boot:
        ts = datetime.fromisoformat(data["ts"])
        data["ts"] = datetime.fromtimestamp(ts.timestamp() + offset_now - (wall - mono), ts.tzinfo).isoformat()
    else:
        data["clock"] = "unsynced"
    if data.get("device") in provisional:
        data["seq"] += base
    return json.dumps(data).encode()
