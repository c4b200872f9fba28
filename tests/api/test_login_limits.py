"""Login limits against a real uvicorn server: parallel guesses, several user names from one address, one user name
from several addresses (loopback aliases 127.0.0.x), on SQLite and PostgreSQL."""

import threading
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine

from cloud.api import login_limits
from cloud.api.security import hash_password
from cloud.store.db import make_session_factory
from cloud.store.users import User
from tests.api.conftest import PASSWORD, make_app, migrated
from tests.api.server import serve

GUESSES = 40
TOKEN = "/api/v1/auth/token"


@pytest.fixture
def store(db_url: str) -> Iterator[Engine]:
    engine = migrated(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def base_url(store: Engine, tmp_path: Path) -> Iterator[str]:
    with serve(make_app(store, tmp_path)) as url:
        yield url


def client_from(address: str) -> httpx.Client:
    """A client whose connections come from `address` (any 127.0.0.0/8 address is this machine's loopback)."""
    return httpx.Client(transport=httpx.HTTPTransport(local_address=address), timeout=60)


def attempt(base_url: str, name: str, password: str, address: str = "127.0.0.1") -> httpx.Response:
    with client_from(address) as client:
        return client.post(f"{base_url}{TOKEN}", data={"username": name, "password": password})


def test_forty_parallel_wrong_guesses_get_five_401_and_the_rest_429(base_url: str) -> None:
    """The old limit read the failure count before writing it: 40 parallel guesses got 19 answers of 401."""
    start = threading.Barrier(GUESSES)
    statuses: list[int] = []
    retry_after: list[int] = []
    lock = threading.Lock()

    def guess(i: int) -> None:
        with client_from("127.0.0.1") as client:
            start.wait()
            response = client.post(f"{base_url}{TOKEN}", data={"username": "admin", "password": f"guess-{i}"})
        with lock:
            statuses.append(response.status_code)
            if response.status_code == 429:
                retry_after.append(int(response.headers["Retry-After"]))

    threads = [threading.Thread(target=guess, args=(i,)) for i in range(GUESSES)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert Counter(statuses) == {401: 5, 429: GUESSES - 5}
    assert all(0 < wait <= 15 * 60 + 1 for wait in retry_after)
    # The right password is refused too until the window is over: a guess that happened to be right is not let in.
    assert attempt(base_url, "admin", PASSWORD).status_code == 429


def test_one_address_trying_many_user_names_is_stopped_after_five(base_url: str) -> None:
    for name in ("admin", "town-hl", "staff-hl1", "staff-nh1", "nobody"):
        assert attempt(base_url, name, "wrong", "127.0.0.2").status_code == 401
    refused = attempt(base_url, "dispatch", "wrong", "127.0.0.2")
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert attempt(base_url, "dispatch", PASSWORD, "127.0.0.2").status_code == 429
    # Another address is not affected, and those users are not locked: one failure each so far.
    assert attempt(base_url, "dispatch", PASSWORD, "127.0.0.3").status_code == 200


def test_one_user_name_tried_from_many_addresses_is_stopped_after_five(base_url: str) -> None:
    for n in range(2, 7):
        assert attempt(base_url, "town-hl", "wrong", f"127.0.0.{n}").status_code == 401
    assert attempt(base_url, "town-hl", "wrong", "127.0.0.7").status_code == 429
    assert attempt(base_url, "town-hl", PASSWORD, "127.0.0.8").status_code == 429
    assert attempt(base_url, "admin", PASSWORD, "127.0.0.8").status_code == 200


def test_a_name_longer_than_any_user_name_never_logs_in_nor_escapes_the_limit(base_url: str, store: Engine) -> None:
    """User names are at most 64 characters. The account used to be looked up by the name's first 64 characters
    while the limit counted the whole name: each suffix of a 64-character name was a fresh counter for the same
    account, so guesses went on unlimited from a few addresses and the right password through a suffix logged in."""
    name = "u" * 64
    with make_session_factory(store)() as session:
        session.add(User(name=name, role="bureau", password_hash=hash_password(PASSWORD)))
        session.commit()
    for n in range(2, 7):
        assert attempt(base_url, name, "wrong", f"127.0.0.{n}").status_code == 401
    assert attempt(base_url, name, PASSWORD, "127.0.0.7").status_code == 429
    # Forty wrong guesses from eight more addresses through suffixes, and the right password the same way: every one
    # a failure like a wrong password, none a login.
    for n in range(8, 16):
        for k in range(5 if n < 15 else 4):
            assert attempt(base_url, f"{name}{n}-{k}", "wrong", f"127.0.0.{n}").status_code == 401
    assert attempt(base_url, f"{name}x", PASSWORD, "127.0.0.15").status_code == 401
    # They were counted: that address is spent.
    assert attempt(base_url, "admin", PASSWORD, "127.0.0.15").status_code == 429


def test_successful_logins_do_not_use_up_the_address(base_url: str) -> None:
    for _ in range(8):
        assert attempt(base_url, "admin", PASSWORD).status_code == 200
    # Four failures, a success of one's own: the success gives back only its own slot, not the four.
    for _ in range(4):
        assert attempt(base_url, "nobody", "wrong").status_code == 401
    assert attempt(base_url, "admin", PASSWORD).status_code == 200
    assert attempt(base_url, "someone", "wrong").status_code == 401
    assert attempt(base_url, "someone-else", "wrong").status_code == 429


def test_a_window_ends_after_its_length(store: Engine) -> None:
    keys = login_limits.Keys.of("admin", "192.0.2.1")
    t0 = datetime(2026, 10, 12, 2, 0, tzinfo=UTC)
    with make_session_factory(store)() as session:
        for _ in range(5):
            assert login_limits.take_slot(session, keys, now=t0, limit=5, window_s=900) is None
        assert login_limits.take_slot(session, keys, now=t0 + timedelta(seconds=100), limit=5, window_s=900) == 801
        late = t0 + timedelta(seconds=899)
        assert login_limits.take_slot(session, keys, now=late, limit=5, window_s=900) == 2
        assert login_limits.take_slot(session, keys, now=t0 + timedelta(seconds=900), limit=5, window_s=900) is None
