"""年度考核 in Chromium, once October is over (the API's clock on 3 November): a station without face data has its
month counted as unconfirmed beside the months met, never shown as simply missed."""

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy import Engine

from cloud.api.app import create_app
from cloud.api.config import ApiConfig
from tests.api import fleet
from tests.api.conftest import settings_for
from tests.api.server import serve
from tests.dashboard.conftest import login

NOVEMBER = datetime(2026, 11, 3, 10, 0, tzinfo=fleet.ZONE)


@pytest.fixture
def november_url(fleet_db: Engine, tmp_path: Path) -> Iterator[str]:
    with serve(create_app(settings_for(tmp_path), config=ApiConfig(clock=lambda: NOVEMBER), engine=fleet_db)) as url:
        yield url


def test_a_month_without_face_data_reads_as_unconfirmed(browser: Browser, november_url: str) -> None:
    page = login(browser, november_url, "admin")
    page.goto(november_url + "/#/assessment?year=2026")
    rows = page.get_by_test_id("assessment")
    expect(rows.locator("thead th").nth(3)).to_have_text("年度开放率")  # the year's, not today's as on 站点
    # hl-01 saw 4 elders against its 100: a month missed. hl-02 was shut with no face data: not confirmed either way.
    expect(rows.locator("tr[data-station=hl-01] td").nth(4)).to_have_text("0/1")
    expect(rows.locator("tr[data-station=hl-02] td").nth(4)).to_have_text("0/1（1 个月无人脸数据）")
