"""The live alert stream over a real uvicorn server: scoped per user, and an acknowledgement shows up live."""

import json
import queue
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine

from cloud.store.db import make_session_factory
from cloud.store.models import Alert
from tests.api.conftest import PASSWORD, make_app
from tests.api.server import serve


@pytest.fixture
def base_url(engine: Engine, tmp_path: Path) -> Iterator[str]:
    with serve(make_app(engine, tmp_path)) as url:
        yield url


def login(base_url: str, name: str) -> str:
    response = httpx.post(f"{base_url}/api/v1/auth/token", data={"username": name, "password": PASSWORD})
    return str(response.json()["access_token"])


def listen(base_url: str, token: str, out: "queue.Queue[tuple[str, dict[str, object]]]", stop: threading.Event) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    try:
        with httpx.stream("GET", f"{base_url}/api/v1/alerts/stream", headers=headers, timeout=30) as response:
            out.put(("status", {"code": response.status_code}))
            kind = ""
            for line in response.iter_lines():
                if stop.is_set():
                    return
                if line.startswith("event:"):
                    kind = line[6:].strip()
                elif line.startswith("data:"):
                    out.put((kind, json.loads(line[5:])))
    except httpx.HTTPError:
        return  # the server stopped at the end of the test


def raise_call(engine: Engine, station: str, call: str) -> int:
    with make_session_factory(engine)() as session:
        alert = Alert(kind="emergency_call", station_id=station, cause_key=f"call:{station}:{call}", call_id=call,
                      status="raised", level="station", raised_at=datetime.now(UTC))
        session.add(alert)
        session.commit()
        return alert.id


def next_alert(events: "queue.Queue[tuple[str, dict[str, object]]]", timeout: float = 30) -> dict[str, object]:
    while True:
        kind, data = events.get(timeout=timeout)
        if kind == "alert":
            return data


def test_stream_is_scoped_and_shows_acknowledgements_live(base_url: str, engine: Engine) -> None:
    stop = threading.Event()
    streams: dict[str, queue.Queue[tuple[str, dict[str, object]]]] = {}
    for user in ("town-hl", "staff-nh1", "dispatch"):
        streams[user] = queue.Queue()
        token = login(base_url, user)
        threading.Thread(target=listen, args=(base_url, token, streams[user], stop), daemon=True).start()
        assert streams[user].get(timeout=30) == ("status", {"code": 200})
        assert streams[user].get(timeout=30)[0] == "ready"
    nh = raise_call(engine, "nh-02", "c-nh")
    hl = raise_call(engine, "hl-01", "c-hl")
    # The town officer of 汇龙镇 gets hl-01's call and not nh-02's.
    assert next_alert(streams["town-hl"])["id"] == hl
    dispatch_ids = {next_alert(streams["dispatch"])["id"], next_alert(streams["dispatch"])["id"]}
    assert dispatch_ids == {nh, hl}
    token = login(base_url, "dispatch")
    acked = httpx.post(f"{base_url}/api/v1/alerts/{hl}/acknowledge", headers={"Authorization": f"Bearer {token}"})
    assert acked.status_code == 200
    update = next_alert(streams["town-hl"])
    assert (update["id"], update["status"], update["acknowledged_by"]) == (hl, "acknowledged", "dispatch")
    # nh-01's staff saw none of it: both calls were at other stations (the streams poll every 0.05 s, and the
    # acknowledgement reached the town officer after both calls were raised).
    assert [kind for kind, _ in list(streams["staff-nh1"].queue)] == []
    stop.set()


def test_stream_needs_a_token(base_url: str) -> None:
    assert httpx.get(f"{base_url}/api/v1/alerts/stream").status_code == 401


def test_many_open_streams_do_not_starve_other_requests(base_url: str, engine: Engine) -> None:
    """A stream holds no database connection: more streams than the pool has connections, and the API still
    answers (before the fix the 16th stream on SQLite's pool of 5 + 10 made every other request wait, then fail)."""
    stop = threading.Event()
    token = login(base_url, "admin")
    out: queue.Queue[tuple[str, dict[str, object]]] = queue.Queue()
    pool = engine.pool.size() + engine.pool._max_overflow  # type: ignore[attr-defined]
    for _ in range(pool + 5):
        threading.Thread(target=listen, args=(base_url, token, out, stop), daemon=True).start()
    opened = 0
    while opened < pool + 5:
        kind, data = out.get(timeout=60)
        if kind == "status":
            assert data == {"code": 200}
            opened += 1
    response = httpx.get(f"{base_url}/api/v1/stations", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert response.status_code == 200
    stop.set()


def test_a_stopping_server_ends_every_stream_with_closed(engine: Engine, tmp_path: Path) -> None:
    app = make_app(engine, tmp_path)
    events: queue.Queue[tuple[str, dict[str, object]]] = queue.Queue()
    stop = threading.Event()
    with serve(app) as url:
        for name in ("admin", "town-hl"):
            threading.Thread(target=listen, args=(url, login(url, name), events, stop), daemon=True).start()
        assert [events.get(timeout=30)[0] for _ in range(4)].count("ready") == 2
        feed = app.state.runtime.feed
        feed.end_streams()  # from another thread, as the server's signal handler calls it
        closed = [events.get(timeout=30) for _ in range(2)]
        assert closed == [("closed", {"reason": "server stopping"})] * 2
    feed.end_streams()  # a second Ctrl-C after the loop closed: nothing left to end, and no error
