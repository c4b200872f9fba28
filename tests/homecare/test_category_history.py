"""An elder's category over time, through the real API and registry import on SQLite and PostgreSQL: a reassessment
applies from its day in the elder's zone and never rewrites the months before it (an upward one does not make a
provider short for months it fully served, a downward one does not excuse a past shortfall); a second change on the
same day replaces that day's version; the CSV import records versions too."""

import json
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, update

from cloud.api.app import create_app
from cloud.api.config import ApiConfig
from cloud.homecare.store.visits import record_sign_in, record_sign_out
from cloud.store.db import make_engine, make_session_factory
from cloud.store.homecare import HomecareElderCategory
from cloud.store.options import database_url
from eldercare.cli import cli
from eldercare.groups import cloud
from tests.api.conftest import PASSWORD, migrated, settings_for

CST = timezone(timedelta(hours=8))
API = "/api/v1/homecare"


class Clock:
    """The API's clock, moved by the test."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 1, 1, 10, 0, tzinfo=CST))


@pytest.fixture
def store(db_url: str) -> Iterator[Engine]:
    engine = migrated(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def admin(store: Engine, clock: Clock, tmp_path: Path) -> Iterator[TestClient]:
    app = create_app(settings_for(tmp_path), config=ApiConfig(clock=clock), engine=store)
    with TestClient(app) as client:
        token = client.post("/api/v1/auth/token", data={"username": "admin", "password": PASSWORD})
        assert token.status_code == 200, token.text
        client.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
        assert client.put(f"{API}/providers/p-a", json={"name": "康乐", "town": "汇龙镇"}).status_code == 200
        assert client.put(f"{API}/caregivers/C01", json={"name": "王芳", "provider": "p-a"}).status_code == 200
        yield client


def _put_elder(client: TestClient, elder: str, category: str) -> dict[str, Any]:
    response = client.put(f"{API}/elders/{elder}", json={"name": "张秀英", "category": category, "town": "汇龙镇",
                                                         "provider": "p-a"})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _visits(store: Engine, elder: str, days: list[tuple[int, int, int]]) -> None:
    """One 65-minute visit at 09:00 Shanghai on each (year, month, day), sent at once from the phone."""
    with make_session_factory(store).begin() as session:
        for y, m, d in days:
            start = datetime(y, m, d, 9, 0, tzinfo=CST)
            key = f"{elder}-{y}{m:02d}{d:02d}"
            record_sign_in(session, key=key, elder_id=elder, caregiver_id="C01", at=start, by="C01", now=start)
            end = start + timedelta(minutes=65)
            record_sign_out(session, key=key, at=end, now=end)


def _months(client: TestClient, elder: str) -> dict[str, tuple[str, int, int, bool]]:
    response = client.get(f"{API}/figures/elders/2026")
    assert response.status_code == 200, response.text
    return {m["month"]: (m["category"], m["visits"], m["required"], m["met"])
            for m in response.json()["months"] if m["elder"] == elder}


def _provider(client: TestClient, period: str) -> tuple[int, int]:
    response = client.get(f"{API}/figures/providers/{period}")
    assert response.status_code == 200, response.text
    figures, = response.json()
    return figures["elder_months"], figures["elder_months_met"]


def test_a_reassessment_to_disabled_leaves_the_months_before_it_met(admin: TestClient, store: Engine,
                                                                    clock: Clock, tmp_path: Path) -> None:
    _put_elder(admin, "e-1", "self_care")  # 自理 from 1 January: one visit a month
    _visits(store, "e-1", [(2026, m, 10) for m in range(1, 7)] + [(2026, 7, d) for d in (3, 10, 17, 24)]
            + [(2026, 8, 10)])
    clock.at = datetime(2026, 7, 1, 0, 30, tzinfo=CST)  # reassessed 失能 just after midnight on 1 July (16:30 UTC
    shown = _put_elder(admin, "e-1", "disabled")       # on 30 June: the day is Shanghai's)
    assert shown["category"] == "disabled"
    assert shown["category_history"] == [{"from": "2026-01-01", "category": "self_care"},
                                         {"from": "2026-07-01", "category": "disabled"}]
    clock.at = datetime(2026, 9, 5, 10, 0, tzinfo=CST)
    months = _months(admin, "e-1")
    for month in ("2026-01", "2026-02", "2026-03", "2026-04", "2026-05", "2026-06"):
        assert months[month] == ("self_care", 1, 1, True), month
    assert months["2026-07"] == ("disabled", 4, 4, True)
    assert months["2026-08"] == ("disabled", 1, 4, False)  # July onwards: 4 a month
    assert _provider(admin, "2026-Q2") == (3, 3)  # the provider served every month of the second quarter
    assert _provider(admin, "2026-Q3") == (2, 1)  # September is running: not judged yet
    listed = admin.get(f"{API}/elders").json()
    assert [e["category_history"] for e in listed if e["id"] == "e-1"] == [shown["category_history"]]
    # An auditor recomputing June and July from the audit files gets the API's lines.
    paths = {}
    for name in ("elders.csv", "visits.csv", "categories.csv"):
        response = admin.get(f"{API}/audit/2026-07/{name}")
        assert response.status_code == 200, response.text
        paths[name] = tmp_path / name
        paths[name].write_bytes(response.content)
    assert paths["categories.csv"].read_text() == ("elder_id,from,category\ne-1,2026-01-01,self_care\n"
                                                   "e-1,2026-07-01,disabled\n")
    result = CliRunner().invoke(cli, ["cloud", "derive", "--elders", str(paths["elders.csv"]), "--visits",
                                      str(paths["visits.csv"]), "--categories", str(paths["categories.csv"]),
                                      "--from", "2026-06-01", "--to", "2026-07-31"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    derived = {line["month"]: (line["category"], line["visits"], line["required"], line["met"])
               for line in map(json.loads, result.stdout.splitlines()) if line["type"] == "elder_month"}
    assert derived == {m: months[m] for m in ("2026-06", "2026-07")}


def test_a_reassessment_downward_does_not_excuse_a_past_shortfall(admin: TestClient, store: Engine,
                                                                  clock: Clock) -> None:
    _put_elder(admin, "e-2", "disabled")  # 失能 from 1 January: four visits a month, one was made
    _visits(store, "e-2", [(2026, m, 10) for m in range(1, 6)])
    clock.at = datetime(2026, 4, 1, 9, 0, tzinfo=CST)
    _put_elder(admin, "e-2", "self_care")
    clock.at = datetime(2026, 6, 2, 10, 0, tzinfo=CST)
    months = _months(admin, "e-2")
    assert [months[m] for m in ("2026-01", "2026-02", "2026-03")] == [("disabled", 1, 4, False)] * 3
    assert [months[m] for m in ("2026-04", "2026-05")] == [("self_care", 1, 1, True)] * 2
    assert _provider(admin, "2026-Q1") == (3, 0)


def test_a_reassessment_mid_month_is_owed_by_its_days(admin: TestClient, store: Engine, clock: Clock) -> None:
    _put_elder(admin, "e-3", "self_care")
    clock.at = datetime(2026, 7, 16, 15, 0, tzinfo=CST)  # 失能 from 16 July: 15 days at 1, 16 at 4 a month
    _put_elder(admin, "e-3", "disabled")
    _visits(store, "e-3", [(2026, 7, 20), (2026, 7, 27), (2026, 7, 30)])
    clock.at = datetime(2026, 8, 3, 10, 0, tzinfo=CST)
    assert _months(admin, "e-3")["2026-07"] == ("disabled", 3, 3, True)  # ceil((15 × 1 + 16 × 4) / 31) = 3


def test_a_second_change_on_the_same_day_replaces_that_days_version(admin: TestClient, store: Engine,
                                                                     clock: Clock) -> None:
    _put_elder(admin, "e-4", "self_care")
    clock.at = datetime(2026, 7, 1, 9, 0, tzinfo=CST)
    _put_elder(admin, "e-4", "disabled")
    clock.at = datetime(2026, 7, 1, 17, 0, tzinfo=CST)  # a typo corrected the same afternoon
    shown = _put_elder(admin, "e-4", "semi_disabled")
    assert shown["category_history"] == [{"from": "2026-01-01", "category": "self_care"},
                                         {"from": "2026-07-01", "category": "semi_disabled"}]
    clock.at = datetime(2026, 7, 1, 18, 0, tzinfo=CST)  # and taken back: no version of its own that day
    shown = _put_elder(admin, "e-4", "self_care")
    assert shown["category_history"] == [{"from": "2026-01-01", "category": "self_care"}]
    clock.at = datetime(2026, 7, 2, 9, 0, tzinfo=CST)  # a change the next day never rewrites an earlier day's
    _put_elder(admin, "e-4", "semi_disabled")
    clock.at = datetime(2026, 8, 3, 10, 0, tzinfo=CST)
    shown = _put_elder(admin, "e-4", "semi_disabled")  # the same category again: nothing new
    assert shown["category_history"] == [{"from": "2026-01-01", "category": "self_care"},
                                         {"from": "2026-07-02", "category": "semi_disabled"}]
    months = _months(admin, "e-4")
    assert months["2026-06"][2] == 1 and months["2026-07"][2] == 2  # ceil((1 × 1 + 30 × 2) / 31) = 2


def test_the_registry_import_records_a_reassessment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ELDERCARE_DATABASE_URL", raising=False)
    data = tmp_path / "data"
    runner = CliRunner()
    assert runner.invoke(cloud, ["migrate", "--data-dir", str(data)]).exit_code == 0
    files = {"providers": "provider_id,name,town\np-a,康乐,汇龙镇\n",
             "elders": "elder_id,name,category,town,provider\ne-1,张秀英,自理,汇龙镇,p-a\n",
             "elders-later": "elder_id,name,category,town,provider\ne-1,张秀英,失能,汇龙镇,p-a\n"}
    for name, text in files.items():
        (tmp_path / f"{name}.csv").write_text(text, encoding="utf-8")

    def run(kind: str, name: str) -> None:
        result = runner.invoke(cloud, ["homecare", "import", kind, str(tmp_path / f"{name}.csv"), "--data-dir",
                                       str(data)])
        assert result.exit_code == 0, result.output

    run("providers", "providers")
    run("elders", "elders")
    engine = make_engine(database_url(data))
    with make_session_factory(engine).begin() as session:
        rows = session.scalars(select(HomecareElderCategory)).all()
        assert [(r.elder_id, r.category) for r in rows] == [("e-1", "self_care")]
        # As if imported long ago (the import runs on the real clock): the next import is a later day's change.
        session.execute(update(HomecareElderCategory).values(effective_from=date(1999, 1, 1)))
    run("elders", "elders-later")
    with make_session_factory(engine)() as session:
        rows = session.scalars(select(HomecareElderCategory).order_by(HomecareElderCategory.effective_from)).all()
        assert [r.category for r in rows] == ["self_care", "disabled"]
        assert rows[0].effective_from == date(1999, 1, 1) < rows[1].effective_from
    engine.dispose()

