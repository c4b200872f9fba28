"""Provoking a race between two writers on one PostgreSQL, deterministically: the first (a session standing for
another process) holds its change uncommitted while the second runs in a thread until PostgreSQL shows it waiting on
a lock (`pg_stat_activity`); only then does the first commit."""

import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from cloud.store.db import make_session_factory
from tests.wait import poll


def waiting_on_a_lock(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )).scalar_one())


def race(engine: Engine, first: Callable[[Session], object], second: Callable[[], Any]) -> Any:
    """Run `first` in a session and keep it uncommitted; run `second` in a thread until PostgreSQL shows it waiting on
    a lock (or it has finished); then commit `first` and return what `second` returned."""
    out: dict[str, Any] = {}

    def run() -> None:
        try:
            out["result"] = second()
        except BaseException as exc:  # re-raised in the test's thread
            out["error"] = exc

    with make_session_factory(engine)() as session:
        first(session)
        session.flush()
        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        poll(lambda: not thread.is_alive() or waiting_on_a_lock(engine) > 0,
             what="the second writer to wait on the first's lock")
        session.commit()
    thread.join(timeout=60)
    assert not thread.is_alive(), "the second writer never finished"
    if "error" in out:
        raise out["error"]
    return out["result"]
