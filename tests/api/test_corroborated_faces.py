"""Photographs held up to the door camera, through the worker's recompute and the API: the elders they show are not
served, and the station's day, month, monthly report and the town's alerts say so."""

from collections.abc import Callable, Iterator
from datetime import date, datetime, time, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from cloud.derive.recompute import recompute_station
from cloud.rules.config import RulesConfig
from cloud.store.db import make_session_factory
from cloud.store.models import Event, Station
from tests.api.conftest import _as_user, make_app
from tests.api.fleet import ZONE, _event
from tests.api.test_exports import sheet_rows

V1 = "/api/v1"
HONEST, PHOTOS = date(2026, 10, 8), date(2026, 10, 9)  # a Thursday and a Friday
NOW = datetime(2026, 10, 10, 9, 0, tzinfo=ZONE)


def _day(day: date, photos: bool) -> Iterator[Event]:
    """hl-01's day: heartbeats, a counter reporting every 10 minutes, e-001..e-003 walking in. On the photo day ten
    more enrolled elders' faces are shown to the camera within a minute while one person walks in."""
    at, seq = datetime.combine(day, time(8, 0), ZONE), 0
    while at <= datetime.combine(day, time(17, 30), ZONE):
        seq += 1
        yield _event("hl-01", "agent", "heartbeat", at, seq, version="1.0", uptime_s=seq * 300.0, outbox=0)
        at += timedelta(minutes=5)
    yield _event("hl-01", "door-1", "door", datetime.combine(day, time(8, 20), ZONE), 1, state="open")
    at, seq = datetime.combine(day, time(8, 30), ZONE), 0
    while at <= datetime.combine(day, time(17, 0), ZONE):
        seq += 1
        entries = 1 if seq <= 4 else 0
        leaving = 4 if at.time() == time(11, 30) else 0  # all four leave before lunch, unrecognised
        yield _event("hl-01", "counter-1", "flow", at, seq, period_s=600, **{"in": entries, "out": leaving})
        if seq <= 3:
            yield _event("hl-01", "camera-1", "face", at - timedelta(seconds=30), seq, person=f"e-00{seq}",
                         role="elder", distance=0.4)
        at += timedelta(minutes=10)
    if photos:  # the fourth entry (08:50-09:00) is the person holding the photographs
        shown = datetime.combine(day, time(8, 55), ZONE)
        for i in range(10):
            yield _event("hl-01", "camera-1", "face", shown + timedelta(seconds=5 * i), 100 + i,
                         person=f"p-{i:03d}", role="elder", distance=0.4)


@pytest.fixture
def client(engine: Engine, tmp_path: Path) -> Iterator[Callable[[str], TestClient]]:
    with make_session_factory(engine)() as session:
        for day in (HONEST, PHOTOS):
            session.add_all(_day(day, photos=day == PHOTOS))
        session.commit()
        station = session.scalars(select(Station).where(Station.id == "hl-01")).one()
        recompute_station(session, station, [HONEST, PHOTOS], NOW.date(), RulesConfig(), NOW)
        session.commit()
    with TestClient(make_app(engine, tmp_path)) as test_client:
        yield _as_user(test_client)


def test_photographed_elders_are_not_served_and_the_town_is_told(client: Callable[[str], TestClient]) -> None:
    town = client("town-hl")
    honest = town.get(f"{V1}/stations/hl-01/days/{HONEST}").json()
    assert (honest["elders"], honest["elders_uncorroborated"]) == (3, 0)
    assert "faces_uncorroborated" not in honest["flags"]
    day = town.get(f"{V1}/stations/hl-01/days/{PHOTOS}").json()
    # Four crossings (e-001..e-003 and the person with the photographs): three elders and one photograph served.
    assert (day["elders"], day["elders_uncorroborated"]) == (4, 9)
    assert len(day["uncorroborated_elder_ids"]) == 9 and "faces_uncorroborated" in day["flags"]

    month = town.get(f"{V1}/stations/hl-01/months/2026-10").json()
    assert (month["elders"], month["elders_uncorroborated"], month["faces_uncorroborated_days"]) == (4, 9, 1)
    by_day = {d["date"]: d for d in month["days"]}
    assert by_day[str(PHOTOS)]["elders_uncorroborated"] == 9 and by_day[str(HONEST)]["elders_uncorroborated"] == 0

    alerts = town.get(f"{V1}/alerts", params={"kind": "sensor_anomaly", "station": "hl-01"}).json()
    faces = [a for a in alerts if "no people-counter crossing" in (a["evidence"] or {}).get("what", "")]
    assert len(faces) == 1 and faces[0]["level"] == "town" and faces[0]["evidence"]["uncorroborated"] == 9
    assert faces[0]["anomaly"] == "faces-uncorroborated"
    assert faces[0]["evidence"]["date"] == str(PHOTOS)

    report = client("staff-hl1").get(f"{V1}/exports/stations/hl-01/monthly/2026-10?format=xlsx")
    assert report.status_code == 200
    rows = sheet_rows(report.content)
    facts = {r[0]: r[1] for r in rows}
    assert facts["服务老人（去重）"] == "4" and facts["人脸未经人流核实的老人（不计入达标）"] == "9"
    header = next(r for r in rows if r[0] == "日期")
    photo_row = next(r for r in rows if r[0] == str(PHOTOS))
    assert photo_row[header.index("未经核实老人（不计入）")] == 9
    assert "疑似照片" in str(photo_row[header.index("异常标记")])


def test_the_assessment_counts_the_elders_not_corroborated(client: Callable[[str], TestClient]) -> None:
    admin = client("admin")
    row = next(r for r in admin.get(f"{V1}/assessments/2026").json() if r["station"] == "hl-01")
    assert (row["elders_uncorroborated"], row["faces_uncorroborated_days"]) == (9, 1)
    sheet = admin.get(f"{V1}/exports/stations/hl-01/assessment/2026?format=xlsx")
    assert sheet.status_code == 200
    item = next(r for r in sheet_rows(sheet.content) if str(r[0]).startswith("服务成效：人脸未经人流核实"))
    assert item[1] == "9" and "1 天有此标记" in str(item[4])
