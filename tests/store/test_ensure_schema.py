"""The platform's processes started together on a fresh embedded store (as `eldercare serve` starts them) each find it
ready: one creates it, the others wait. (The operator's commands refuse a folder without a store instead.)"""

import os
import subprocess
import sys
from pathlib import Path

from cloud.store.db import make_engine
from cloud.store.migrate import current_revisions, head_revisions


def test_commands_started_together_on_a_fresh_sqlite_store_all_succeed(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "ELDERCARE_DATABASE_URL"}
    commands = [[sys.executable, "-m", "eldercare", "cloud", "worker", "--once", "--data-dir", str(tmp_path)]
                for _ in range(3)]
    running = [subprocess.Popen(c, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for c in commands]
    results = [(p.wait(timeout=120), p.stderr.read() if p.stderr else "") for p in running]
    for process in running:
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()
    assert [code for code, _ in results] == [0, 0, 0], results
    assert sum("created" in err for _, err in results) == 1, results
    engine = make_engine(f"sqlite:///{tmp_path / 'eldercare.db'}")
    assert current_revisions(engine) == head_revisions()
    engine.dispose()
