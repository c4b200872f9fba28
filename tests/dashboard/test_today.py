"""The dashboard at 00:10 in Shanghai, viewed from a browser whose zone is UTC (where it is still 16:10 the day
before): stations read `未开始`, not offline; every time shown is China time; the station page opens on the latest day
holding data and says so."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import Engine

from cloud.api.app import create_app
from cloud.api.config import ApiConfig
from tests.api import midnight
from tests.api.conftest import PASSWORD, migrated, settings_for
from tests.api.server import serve
from tests.dashboard.conftest import shot


@pytest.fixture
def midnight_url(tmp_path: Path) -> Iterator[str]:
    engine: Engine = migrated(f"sqlite:///{tmp_path / 'midnight.db'}")
    midnight.build(engine)
    app = create_app(settings_for(tmp_path), config=ApiConfig(clock=lambda: midnight.MIDNIGHT), engine=engine)
    with serve(app) as url:
        yield url
    engine.dispose()


def _login_in_utc(browser: Browser, base_url: str, name: str) -> Page:
    context = browser.new_context(viewport={"width": 1920, "height": 1080}, locale="zh-CN", timezone_id="UTC")
    page = context.new_page()
    page.clock.set_fixed_time(midnight.MIDNIGHT)  # the browser's clock agrees with the server's injected one
    page.goto(base_url + "/")
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_selector("#nav a")
    assert page.evaluate("Intl.DateTimeFormat().resolvedOptions().timeZone") == "UTC"
    assert page.evaluate("new Date().getHours()") == 16  # the browser's own reading: 16:10 on the 12th
    return page


def test_bureau_at_00_10_china_time_from_a_utc_browser(browser: Browser, midnight_url: str) -> None:
    page = _login_in_utc(browser, midnight_url, "admin")
    expect(page.get_by_test_id("kpi-not-started")).to_have_text("4")
    expect(page.get_by_test_id("kpi-unknown")).to_have_text("0")
    expect(page.get_by_test_id("kpi-offline")).to_have_text("1")
    rows = page.get_by_test_id("stations").locator("tbody tr")
    expect(rows).to_have_count(4)
    assert rows.locator("td:nth-child(4)").all_inner_texts() == ["未开始"] * 4
    expect(page.locator("#clock")).to_have_text("2026/10/13 00:10:00")
    expect(page.locator(".card h2").first).to_contain_text("2026-10-13")
    shot(page, "overview-00-10-utc-browser")

    # The station page opens on the latest day holding data, says so, and shows device times in China time.
    page.goto(midnight_url + "/#/station/hl-01")
    expect(page.get_by_test_id("date-note")).to_contain_text("今日（2026-10-13）尚未开始，显示最近有数据的一天：2026-10-12")
    expect(page.locator(".card h2").first).to_contain_text("2026-10-12")
    expect(page.locator("td", has_text="2026/10/12 09:55:00").first).to_be_visible()  # camera last seen, 09:55 CST
    expect(page.locator("td", has_text="01:55:00")).to_have_count(0)

    # Today itself: not started, its hours upcoming, nothing unknown.
    page.get_by_test_id("date-note").locator("a").click()
    expect(page.locator(".card h2").first).to_contain_text("2026-10-13")
    expect(page.get_by_test_id("counts")).to_contain_text("未开始")
    evidence = page.get_by_test_id("evidence")
    expect(evidence).to_contain_text("未开始：08:30-11:30，13:30-17:00")
    expect(evidence).to_contain_text("未知时长：—")
    expect(page.get_by_test_id("as-of")).to_have_text("截至 00:10")
    expect(page.get_by_test_id("calendar").locator("a.day").last).to_contain_text("13未开始")
    shot(page, "station-today-not-started-utc-browser")
    page.context.close()
