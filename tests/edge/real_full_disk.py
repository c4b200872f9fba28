"""Run by test_real_full_disk inside a private mount namespace: a small tmpfs is the SD card, a file of "logs" fills
it, and the keeper stores readings into an outbox on it (a real ENOSPC, which SQLite turns into SQLITE_FULL). Prints
what happened as one JSON line."""

import itertools
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

from edge.drivers.base import Reading, health
from edge.keeper import Keeper
from edge.outbox import Outbox
from edge.spill import Spill
from station_protocol import Flow, Kind, decode


def main(card: Path) -> None:
    box = Outbox(card / "outbox.sqlite3", "qd-a")
    keeper = Keeper(box, Spill(100_000), resume_bytes=64 * 1024)
    logs = card / "daemon.log"
    fd = os.open(logs, os.O_WRONLY | os.O_CREAT)
    try:
        while True:
            os.write(fd, b"x" * 1024)
    except OSError:
        pass  # ENOSPC: the card is full
    finally:
        os.close(fd)
    for n in range(2000):
        keeper.put(Reading(device="flow-1", kind=Kind.FLOW, ts=datetime.now(UTC),
                           fields={"period_s": 60, "in": 1, "out": 0}, state={"n": n}), held=False)
        if n % 10 == 0:
            keeper.put(health("flow-1", True), held=False)
    full = {"problem": keeper.problem, "kept": len(keeper.spill), "stored": box.depth}
    logs.unlink()  # the logs are rotated away
    keeper.retry()
    flows = [m for r in box.batch(100_000) if isinstance(m := decode(r.topic, r.payload).message, Flow)]
    print(json.dumps({"full": full, "after": {"problem": keeper.problem, "kept": len(keeper.spill)},
                      "people": sum(f.in_ for f in flows), "seqs_increasing": all(
                          a.seq < b.seq for a, b in itertools.pairwise(flows))}))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
