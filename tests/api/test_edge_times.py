"""Dates and times at the calendar's edge: 422 with the reason in every slot of the API, never a 500 (SQLite here;
PostgreSQL in test_postgres.py)."""

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import TypeAdapter, ValidationError
from sqlalchemy import Engine

from cloud.api.moments import Day, Moment
from tests.api import edge_times
from tests.api.conftest import make_app


@pytest.fixture
def edge_client(engine: Engine, tmp_path: Path) -> TestClient:
    edge_times.build(engine)
    return TestClient(make_app(engine, tmp_path), raise_server_exceptions=False)


def test_every_date_and_time_the_api_takes_is_probed(engine: Engine, tmp_path: Path) -> None:
    # A route added with a date or a time fails here until its slot is in edge_times.slots (and so is probed).
    app = make_app(engine, tmp_path)
    assert edge_times.schema_slots(app) == {(s.method, s.path, s.where) for s in edge_times.slots(0)}


def test_dates_and_times_at_the_calendars_edge_are_422_on_sqlite(edge_client: TestClient) -> None:
    with edge_client as client:
        assert edge_times.assert_edges_refused(client) > 80


def test_the_bounds_are_inclusive_and_a_time_is_taken_in_utc() -> None:
    moment, day = TypeAdapter(Moment), TypeAdapter(Day)
    assert moment.validate_python("2000-01-01T08:00:00+08:00") == datetime(2000, 1, 1, tzinfo=UTC)
    assert moment.validate_python("2100-12-31T23:59:59Z") == datetime(2100, 12, 31, 23, 59, 59, tzinfo=UTC)
    assert moment.validate_python("2026-10-12T10:00:00+08:00").tzinfo is UTC
    assert day.validate_python("2000-01-01") == date(2000, 1, 1)
    assert day.validate_python("2100-12-31") == date(2100, 12, 31)
    for refused in ("2026-10-12T10:00:00", "1999-12-31T23:59:59Z", "2100-12-31T23:30:00-01:00",
                    "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"):
        with pytest.raises(ValidationError):
            moment.validate_python(refused)
    for refused in ("1999-12-31", "2101-01-01", "0001-01-01", "9999-12-31"):
        with pytest.raises(ValidationError, match=r"outside 2000\.\.2100"):
            day.validate_python(refused)


def test_an_overflow_left_anywhere_is_a_422_with_the_reason(engine: Engine, tmp_path: Path) -> None:
    app = make_app(engine, tmp_path)

    @app.get("/api/v1/overflowing")
    def overflowing() -> None:
        raise OverflowError("date value out of range")

    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/api/v1/overflowing")
    assert response.status_code == 422
    assert response.json() == {"detail": "a date or time is out of range (date value out of range): give one in "
                                         "2000..2100"}
