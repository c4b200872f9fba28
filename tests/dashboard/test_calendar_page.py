"""The bureau's holiday file on the dashboard, in real headless Chromium: a broken file is refused with one line per
problem, a good one is shown (its days, and 2027 known from it) and a town officer has no such page."""

from datetime import UTC, date, datetime

from playwright.sync_api import Browser, FilePayload, expect
from sqlalchemy import Engine

from cloud.derive import calendar_store
from cloud.rules.calendar import PACKAGE
from cloud.store.db import make_session_factory
from tests.dashboard.conftest import login, shot

BAD = "date,kind,name\n2026-10-19,holiday,县庆\n2026-10-19,workday,重复\n2026-10-3x,holiday,坏日期\n"
GOOD = "\ufeffdate,kind,name\n2026-10-19,holiday,县庆\n2027-01-01,holiday,元旦\n2027-02-07,workday,春节调休\n"


def test_bureau_uploads_a_holiday_file(browser: Browser, base_url: str) -> None:
    page = login(browser, base_url, "admin")
    page.click("#nav a[data-page=calendar]")
    years = page.get_by_test_id("calendar-years")
    expect(years).to_contain_text("2027")
    expect(years.locator("tr", has_text="2027")).to_contain_text("未知")
    form = page.get_by_test_id("calendar-form")
    form.locator("input[type=file]").set_input_files(
        files=[FilePayload(name="holidays.csv", mimeType="text/csv", buffer=BAD.encode("utf-8"))])
    form.locator("button").click()
    problems = page.get_by_test_id("calendar-problems")
    expect(problems).to_contain_text("第 3 行：日期 2026-10-19 重复（首次在第 2 行）")
    expect(problems).to_contain_text("第 4 行：日期“2026-10-3x”有误（应为 YYYY-MM-DD）")
    expect(page.get_by_test_id("calendar-days").locator("tbody tr")).to_have_count(0)
    shot(page, "bureau-calendar-refused")

    form.locator("input[type=file]").set_input_files(
        files=[FilePayload(name="holidays.csv", mimeType="text/csv", buffer=GOOD.encode("utf-8"))])
    form.locator("button").click()
    days = page.get_by_test_id("calendar-days").locator("tbody tr")
    expect(days).to_have_count(3)
    expect(days.first).to_contain_text("县庆")
    expect(days.nth(2)).to_contain_text("上班（调休）")
    expect(page.get_by_test_id("calendar-years").locator("tr", has_text="2027")).to_contain_text("本地节假日文件")
    shot(page, "bureau-calendar")
    page.context.close()

    town = login(browser, base_url, "town-hl")
    expect(town.locator("#nav a[data-page=calendar]")).to_have_count(0)
    town.context.close()


def test_the_unknown_year_alert_shows_on_the_bureaus_alerts_page(browser: Browser, base_url: str,
                                                                 fleet_db: Engine) -> None:
    december = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)
    with make_session_factory(fleet_db)() as session:
        calendar_store.unknown_year_alerts(session, PACKAGE, date(2026, 12, 1), december)
        session.commit()
    page = login(browser, base_url, "admin")
    page.click("#nav a[data-page=alerts]")
    row = page.get_by_test_id("alerts").locator("tr", has_text="节假日日历缺少年份")
    expect(row).to_contain_text("缺少 2027 年节假日安排")
    expect(row).to_contain_text("民政局")
    shot(page, "bureau-alert-unknown-year")
    page.context.close()
