"""Today read at any hour, by the API's injected clock: before the first working session a station is `not_started`
(not offline); the hours still to come are `upcoming`, not unknown; the month view falls back to the latest month
holding data; and the day picker is told the latest day holding data."""

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from cloud.api.app import create_app
from cloud.api.config import ApiConfig
from tests.api import midnight
from tests.api.conftest import settings_for, token_for
from tests.api.fleet import ZONE


def _client(engine: Engine, tmp_path: Path, now: datetime) -> TestClient:
    return TestClient(create_app(settings_for(tmp_path), config=ApiConfig(clock=lambda: now), engine=engine))


def _get(client: TestClient, user: str, path: str) -> Any:
    response = client.get("/api/v1" + path, headers={"Authorization": f"Bearer {token_for(client, user)}"})
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture
def midnight_engine(engine: Engine) -> Engine:
    midnight.build(engine)
    return engine


@pytest.fixture
def at_midnight(midnight_engine: Engine, tmp_path: Path) -> Iterator[TestClient]:
    with _client(midnight_engine, tmp_path, midnight.MIDNIGHT) as client:
        yield client


def test_at_00_10_every_station_is_not_started_and_the_offline_one_is_counted_apart(at_midnight: TestClient) -> None:
    stations = {s["id"]: s for s in _get(at_midnight, "admin", "/stations")}
    assert {sid: s["today"] for sid, s in stations.items()} == dict.fromkeys(("hl-01", "hl-02", "nh-01", "nh-02"),
                                                                             "not_started")
    assert stations["nh-01"]["online"] is False
    overview = _get(at_midnight, "admin", "/overview")
    assert overview["date"] == "2026-10-13" and overview["now"].startswith("2026-10-13T00:10:00+08:00")
    totals = {k: sum(t[k] for t in overview["towns"]) for k in ("open", "closed", "partial", "unknown",
                                                                  "not_started", "other")}
    assert totals == {"open": 0, "closed": 0, "partial": 0, "unknown": 0, "not_started": 4, "other": 0}
    assert overview["agents_offline"] == 1
    assert (overview["month"], overview["current_month"]) == ("2026-10", "2026-10")
    filtered = _get(at_midnight, "town-hl", "/stations?state=not_started")
    assert sorted(s["id"] for s in filtered) == ["hl-01", "hl-02"]


def test_at_00_10_the_day_ahead_is_upcoming_not_unknown(at_midnight: TestClient) -> None:
    day = _get(at_midnight, "staff-hl1", "/stations/hl-01/days/2026-10-13")
    assert day["derived_at"] is not None and day["verdict"] == "unknown"  # what the worker stored, unchanged
    assert day["state_so_far"] == "not_started"
    assert {s["state"] for s in day["timeline"]} == {"upcoming"}
    assert day["upcoming"] == ["08:30-11:30", "13:30-17:00"] and day["unknown_so_far"] == []
    assert day["timezone"] == "Asia/Shanghai" and day["as_of"].startswith("2026-10-13T00:10:00+08:00")
    assert day["latest_data_day"] == "2026-10-12"
    # Yesterday is judged as it happened: nothing in it is upcoming.
    yesterday = _get(at_midnight, "staff-hl1", "/stations/hl-01/days/2026-10-12")
    assert yesterday["state_so_far"] is None and "upcoming" not in {s["state"] for s in yesterday["timeline"]}
    month = _get(at_midnight, "staff-hl1", "/stations/hl-01/months/2026-10")
    assert [d["verdict"] for d in month["days"] if d["date"] == "2026-10-13"] == ["not_started"]
    # A future day is not judged either.
    tomorrow = at_midnight.get("/api/v1/stations/hl-01/days/2026-10-14",
                               headers={"Authorization": f"Bearer {token_for(at_midnight, 'staff-hl1')}"})
    assert tomorrow.status_code == 404


def test_mid_morning_splits_the_day_at_now(fleet_engine: Engine, tmp_path: Path) -> None:
    # The fleet's own clock: Monday 2026-10-12 10:00; hl-01 open since 08:30, nh-01 silent (offline, due open).
    with _client(fleet_engine, tmp_path, datetime(2026, 10, 12, 10, 0, tzinfo=ZONE)) as client:
        day = _get(client, "admin", "/stations/hl-01/days/2026-10-12")
        assert day["state_so_far"] == "open"
        states = [(s["state"], s["start"][11:16], s["end"][11:16]) for s in day["timeline"]]
        expected = [("open", "08:30", "10:00"), ("upcoming", "10:00", "11:30"), ("upcoming", "13:30", "17:00")]
        assert states == expected, states
        assert all(s["end"][11:16] <= "10:00" for s in day["timeline"] if s["state"] != "upcoming")
        stations = {s["id"]: s["today"] for s in _get(client, "admin", "/stations")}
        assert stations["nh-01"] == "unknown" and stations["hl-01"] == "open" and stations["hl-02"] == "closed"
        # The month's cell for today says the same: open, at its share so far, not the stored whole day's (which
        # counts the hours still to come as unknown).
        cell = next(d for d in _get(client, "admin", "/stations/hl-01/months/2026-10")["days"]
                    if d["date"] == "2026-10-12")
        assert cell["verdict"] == "open" and cell["compliance"] == day["compliance_so_far"] > 0.9, cell
        assert day["compliance"] < 0.5  # the stored whole day's, shown before


def test_a_month_just_begun_shows_the_latest_month_with_data(midnight_engine: Engine, tmp_path: Path) -> None:
    # Sunday 2026-11-01, 00:10 in Shanghai (still October 31 in UTC): November holds nothing yet.
    with _client(midnight_engine, tmp_path, datetime(2026, 11, 1, 0, 10, tzinfo=ZONE)) as client:
        overview = _get(client, "admin", "/overview")
        assert (overview["date"], overview["month"], overview["current_month"]) == ("2026-11-01", "2026-10",
                                                                                      "2026-11")
        assert sum(t["other"] for t in overview["towns"]) == 4  # a Sunday: not scheduled
