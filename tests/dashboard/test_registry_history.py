"""站点管理 in Chromium: the bureau changes a station's hours, and the row's 历史 shows the old hours kept for the days
before the change and the new ones from the day it was made (the API's clock: 12 October 2026 in Shanghai)."""

from playwright.sync_api import Browser, expect

from tests.dashboard.conftest import login


def test_an_edit_of_the_hours_shows_as_a_new_version_from_today(browser: Browser, base_url: str) -> None:
    bureau = login(browser, base_url, "admin")
    bureau.click("#nav a[data-page=registry]")
    expect(bureau.get_by_text("自当日（站点所在时区）起生效")).to_be_visible()
    row = bureau.get_by_test_id("registry").locator("tr[data-station=hl-01]")
    row.locator("[data-action=edit]").click()
    form = bureau.get_by_test_id("station-form")
    expect(form.locator("input[name=station_id]")).to_be_disabled()
    form.locator("input[name=hours]").fill("09:00-11:00")
    form.locator("[data-action=save]").click()
    expect(bureau.locator("#toast")).to_contain_text("已更新")
    row = bureau.get_by_test_id("registry").locator("tr[data-station=hl-01]")
    expect(row).to_contain_text("09:00-11:00")
    row.locator("[data-action=history]").click()
    versions = bureau.get_by_test_id("schedule-history").locator("tbody tr")
    expect(versions).to_have_count(2)
    expect(versions.nth(0)).to_contain_text("启用记录前")
    expect(versions.nth(0)).to_contain_text("08:30-11:30 13:30-17:00")
    expect(versions.nth(1)).to_contain_text("2026-10-12")
    expect(versions.nth(1)).to_contain_text("09:00-11:00")
