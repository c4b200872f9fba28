"""Provoking a race between two writers deterministically: the first (a session standing for another process) holds
its change uncommitted while the second runs in a thread until it is seen waiting for the first (PostgreSQL: on a
lock, in `pg_stat_activity`; SQLite: about to make its first write, which waits for the first's write lock); only
then does the first commit."""

import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

from sqlalchemy import Engine, event, text
from sqlalchemy.orm import Session

from cloud.store.db import make_session_factory
from tests.wait import poll


def waiting_on_a_lock(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )).scalar_one())


def _race(engine: Engine, first: Callable[[Session], object], second: Callable[[], Any],
          watching: AbstractContextManager[Callable[[], bool]], what: str) -> Any:
    out: dict[str, Any] = {}

    def run() -> None:
        try:
            out["result"] = second()
        except BaseException as exc:  # re-raised in the test's thread
            out["error"] = exc

    with make_session_factory(engine)() as session:
        first(session)
        session.flush()
        with watching as waits:
            thread = threading.Thread(target=run, daemon=True)
            thread.start()
            poll(lambda: not thread.is_alive() or waits(), what=what)
        session.commit()
    thread.join(timeout=60)
    assert not thread.is_alive(), "the second writer never finished"
    if "error" in out:
        raise out["error"]
    return out["result"]


def race(engine: Engine, first: Callable[[Session], object], second: Callable[[], Any]) -> Any:
    """Run `first` in a session and keep it uncommitted; run `second` in a thread until PostgreSQL shows it waiting on
    a lock (or it has finished); then commit `first` and return what `second` returned."""
    return _race(engine, first, second, nullcontext(lambda: waiting_on_a_lock(engine) > 0),
                 "the second writer to wait on the first's lock")


@contextmanager
def _first_write_of_another_thread(engine: Engine) -> Iterator[Callable[[], bool]]:
    reached = threading.Event()

    def seen(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if threading.current_thread() is not threading.main_thread() and statement.lstrip().upper().startswith(
                ("UPDATE ", "INSERT ", "DELETE ")):
            reached.set()

    event.listen(engine, "before_cursor_execute", seen)
    try:
        yield reached.is_set
    finally:
        event.remove(engine, "before_cursor_execute", seen)


def race_on_sqlite(engine: Engine, first: Callable[[Session], object], second: Callable[[], Any]) -> Any:
    """`race` where PostgreSQL's `pg_stat_activity` is not to be had: `first` is committed once the second writer is
    about to run its first write (which waits for `first`'s write lock). Before it, the second has read what it
    decides from, without a lock unless it took one."""
    return _race(engine, first, second, _first_write_of_another_thread(engine), "the second writer's first write")
