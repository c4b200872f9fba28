"""Tokens carry an id: logout revokes that token, a disable revokes all of the user's, on REST and on an open live
stream, which closes within seconds (as it does when the token expires). Against a real uvicorn server."""

import json
import queue
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import jwt
import pytest
from click.testing import CliRunner
from sqlalchemy import Engine

from cloud.api.security import issue_token
from cloud.store.db import make_engine
from cloud.store.migrate import upgrade
from cloud.users_cli import users
from tests.api.conftest import PASSWORD, make_app, seed, settings_for
from tests.api.server import serve

Events = queue.Queue[tuple[str, object]]


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[tuple[Path, Engine]]:
    """The store where `eldercare users --data-dir` finds it, so the CLI acts on the database the server uses."""
    engine = make_engine(f"sqlite:///{tmp_path / 'eldercare.db'}")
    upgrade(engine)
    seed(engine)
    yield tmp_path, engine
    engine.dispose()


@pytest.fixture
def base_url(data_dir: tuple[Path, Engine]) -> Iterator[str]:
    path, engine = data_dir
    with serve(make_app(engine, path)) as url:
        yield url


def login(base_url: str, name: str) -> str:
    response = httpx.post(f"{base_url}/api/v1/auth/token", data={"username": name, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def get(base_url: str, token: str, path: str = "/api/v1/auth/me") -> int:
    return httpx.get(f"{base_url}{path}", headers={"Authorization": f"Bearer {token}"}).status_code


def open_stream(base_url: str, token: str) -> Events:
    """Read the live stream in a thread: ("status", code), then ("event", (type, data)) ..., then ("end", None)."""
    out: Events = queue.Queue()

    def run() -> None:
        try:
            with httpx.stream("GET", f"{base_url}/api/v1/alerts/stream", headers={"Authorization": f"Bearer {token}"},
                              timeout=httpx.Timeout(60, read=60)) as response:
                out.put(("status", response.status_code))
                kind = ""
                for line in response.iter_lines():
                    if line.startswith("event:"):
                        kind = line[6:].strip()
                    elif line.startswith("data:"):
                        out.put(("event", (kind, json.loads(line[5:]))))
        except httpx.HTTPError as exc:
            out.put(("error", str(exc)))
        out.put(("end", None))

    threading.Thread(target=run, daemon=True).start()
    assert out.get(timeout=30) == ("status", 200)
    assert out.get(timeout=30)[1][0] == "ready"  # type: ignore[index]
    return out


def wait_for_end(events: Events, timeout: float = 30) -> list[tuple[str, object]]:
    """Everything the stream said until it ended (fails if it is still open after `timeout`)."""
    seen = []
    while True:
        item = events.get(timeout=timeout)
        seen.append(item)
        if item[0] == "end":
            return seen


def test_a_token_carries_an_id(base_url: str) -> None:
    claims = jwt.decode(login(base_url, "admin"), options={"verify_signature": False})
    assert len(claims["jti"]) >= 16 and claims["gen"] == 0
    assert claims["jti"] != jwt.decode(login(base_url, "admin"), options={"verify_signature": False})["jti"]


def test_logout_revokes_that_token_and_closes_its_stream(base_url: str) -> None:
    token, other = login(base_url, "town-hl"), login(base_url, "town-hl")
    stream = open_stream(base_url, token)
    assert get(base_url, token) == 200
    out = httpx.post(f"{base_url}/api/v1/auth/logout", headers={"Authorization": f"Bearer {token}"})
    assert out.status_code == 204
    # Before: logout only dropped the token in the browser; a copy kept working until it expired.
    assert get(base_url, token) == 401 and get(base_url, token, "/api/v1/stations") == 401
    assert httpx.post(f"{base_url}/api/v1/auth/logout", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert ("event", ("closed", {"reason": "token no longer valid"})) in wait_for_end(stream)
    assert get(base_url, other) == 200  # the user's other session is not affected


def test_disabling_a_user_revokes_rest_and_closes_the_open_stream(
    base_url: str, data_dir: tuple[Path, Engine]
) -> None:
    path, _ = data_dir
    token = login(base_url, "dispatch")
    stream = open_stream(base_url, token)
    runner = CliRunner()
    assert runner.invoke(users, ["disable", "dispatch", "--data-dir", str(path)]).exit_code == 0
    assert get(base_url, token, "/api/v1/alerts") == 401
    # Before: the stream kept delivering emergency calls to the disabled user. Now it ends within seconds.
    assert wait_for_end(stream)[-2] == ("event", ("closed", {"reason": "token no longer valid"}))
    assert get(base_url, token, "/api/v1/alerts/stream") == 401
    # Enabling again lets the user log in, but the tokens from before the disable stay revoked.
    assert runner.invoke(users, ["disable", "dispatch", "--enable", "--data-dir", str(path)]).exit_code == 0
    assert get(base_url, token) == 401
    assert get(base_url, login(base_url, "dispatch")) == 200


def test_the_stream_closes_when_its_token_expires(base_url: str, data_dir: tuple[Path, Engine]) -> None:
    path, _ = data_dir
    secret = settings_for(path).secret_key.get_secret_value()
    # A token of one minute issued 57 s ago: it expires while the stream is open.
    token = issue_token(user_id=1, name="admin", secret=secret, minutes=1,
                        now=datetime.now(UTC) - timedelta(seconds=57))
    stream = open_stream(base_url, token)
    assert wait_for_end(stream)[-2] == ("event", ("closed", {"reason": "token no longer valid"}))
    assert get(base_url, token) == 401


def _user_ids(base_url: str, admin: str) -> dict[str, int]:
    listed = httpx.get(f"{base_url}/api/v1/users", headers={"Authorization": f"Bearer {admin}"}).json()
    return {u["name"]: u["id"] for u in listed}


def patch_user(base_url: str, admin: str, name: str, change: dict[str, object]) -> None:
    response = httpx.patch(f"{base_url}/api/v1/users/{_user_ids(base_url, admin)[name]}", json=change,
                           headers={"Authorization": f"Bearer {admin}"})
    assert response.status_code == 200, response.text


def test_a_change_of_role_or_scope_revokes_rest_and_closes_the_open_stream(base_url: str) -> None:
    """A stream and a token carry the scope the user had when they logged in: a town officer moved to another town,
    or station staff moved to another station, must not go on receiving the old scope's alerts."""
    admin = login(base_url, "admin")
    town, staff = login(base_url, "town-hl"), login(base_url, "staff-hl1")
    streams = {"town-hl": open_stream(base_url, town), "staff-hl1": open_stream(base_url, staff)}
    # A change that changes nothing keeps the token.
    patch_user(base_url, admin, "town-hl", {"towns": ["汇龙镇"]})
    assert get(base_url, town) == 200
    patch_user(base_url, admin, "town-hl", {"towns": ["南阳镇"]})
    patch_user(base_url, admin, "staff-hl1", {"station": "hl-02"})
    for name, token in (("town-hl", town), ("staff-hl1", staff)):
        # Before: the stream went on with the old scope until the token expired, and REST answered with it.
        assert wait_for_end(streams[name])[-2] == ("event", ("closed", {"reason": "token no longer valid"}))
        assert get(base_url, token) == 401 and get(base_url, token, "/api/v1/alerts/stream") == 401
    # A new login carries the new scope.
    me = httpx.get(f"{base_url}/api/v1/auth/me", headers={"Authorization": f"Bearer {login(base_url, 'town-hl')}"})
    assert me.json()["towns"] == ["南阳镇"]
    # A demotion too (town officer to station staff).
    town = login(base_url, "town-hl")
    stream = open_stream(base_url, town)
    patch_user(base_url, admin, "town-hl", {"role": "station", "station": "nh-01"})
    assert wait_for_end(stream)[-2] == ("event", ("closed", {"reason": "token no longer valid"}))
    assert get(base_url, town) == 401
