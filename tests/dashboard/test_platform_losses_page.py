"""What a town officer sees when the platform lost messages: the station's day names the hours it was shown open only
on a door state from before the loss, and the spot check says, in Chinese, that it cannot be judged on the sensors.

hl-02 (the fleet's shut station) opened its door at 08:25 on 9 October; the platform then lost a share of every
station's messages 09:30-09:40, inside the bureau's 09:00-10:00 check.
"""

from collections.abc import Iterator
from datetime import date, datetime, time
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy import Engine, select

from cloud.derive.recompute import recompute_station
from cloud.ingest.losses import LOST_WHILE_AWAY, Loss, record
from cloud.rules.config import RulesConfig
from cloud.store.db import make_session_factory
from cloud.store.models import Station
from tests.api import fleet
from tests.api.conftest import make_app
from tests.api.server import serve
from tests.dashboard.conftest import login, shot

DAY = date(2026, 10, 9)


@pytest.fixture
def lossy_url(fleet_db: Engine, tmp_path: Path) -> Iterator[str]:
    with make_session_factory(fleet_db)() as session:
        session.add(fleet._event("hl-02", "door-1", "door", datetime.combine(DAY, time(8, 25), fleet.ZONE), 2,
                                 state="open"))
        session.commit()
    lost = Loss("ingest-b", datetime.combine(DAY, time(9, 30), fleet.ZONE), datetime.combine(DAY, time(9, 40),
                fleet.ZONE), LOST_WHILE_AWAY)
    assert record(fleet_db, lost, fleet.NOW)
    with make_session_factory(fleet_db)() as session:
        station = session.scalars(select(Station).where(Station.id == "hl-02")).one()
        recompute_station(session, station, [DAY], fleet.TODAY, RulesConfig(), fleet.NOW)
        session.commit()
    with serve(make_app(fleet_db, tmp_path)) as url:
        yield url


def test_the_day_and_the_check_say_what_the_loss_left_unjudged(browser: Browser, lossy_url: str) -> None:
    page = login(browser, lossy_url, "town-hl")
    page.goto(lossy_url + f"/#/station/hl-02/{DAY}")
    evidence = page.get_by_test_id("evidence")
    expect(evidence).to_contain_text("开放未经确认")
    expect(evidence).to_contain_text("09:30-11:30，13:30-17:00")
    shot(page, "town-station-day-platform-lost")
    page.click("#nav a[data-page=spot-checks]")
    row = page.locator("tr", has_text="汇龙二站").filter(has_text="2026-10-09").first
    expect(row).to_contain_text("平台丢失了各站点的部分数据")
    page.context.close()
