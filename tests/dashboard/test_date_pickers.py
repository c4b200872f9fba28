"""Date pickers read as Chinese dates, in real headless Chromium: beside each picker its value in Chinese with the
weekday (10月14日（周三）), whatever language the browser draws the field in (a browser set to English draws
10/14/2026), updated as the officer picks; and the pages with pickers still fit a 1366 px laptop and a 390 px phone."""

from playwright.sync_api import Browser, Page, expect

from tests.dashboard.conftest import login, shot


def reading(page: Page, selector: str) -> str:
    """The Chinese reading right after the picker `selector`."""
    return str(page.locator(selector).evaluate("n => n.nextElementSibling && n.nextElementSibling.textContent") or "")


def fits(page: Page, what: str) -> None:
    width = page.evaluate("() => [document.documentElement.scrollWidth, innerWidth]")
    assert width[0] <= width[1], f"{what} is wider than the screen: {width}"


def test_date_pickers_read_as_chinese_dates(browser: Browser, base_url: str) -> None:
    town = login(browser, base_url, "town-hl", width=1366, height=768)
    town.goto(base_url + "/#/station/hl-01/2026-10-12")
    picker = "#main .toolbar input[type=date]"
    expect(town.locator(picker)).to_have_value("2026-10-12")
    assert reading(town, picker) == "10月12日（周一）"

    town.goto(base_url + "/#/spot-checks")
    plan = "[data-testid=plan-form] input[name=date]"
    expect(town.locator(plan)).to_be_visible()
    assert reading(town, plan) == ""  # nothing picked yet
    town.locator(plan).fill("2026-10-14")
    expect(town.locator(plan + " + [data-testid=date-zh]")).to_have_text("10月14日（周三）")
    # Every picker carries the page's language, which a browser drawing pickers by language uses (2026/10/14, 09:00).
    langs = town.locator("#main input[type=date], #main input[type=time]").evaluate_all("ns => ns.map(n => n.lang)")
    assert langs and set(langs) == {"zh-CN"}, langs
    fits(town, "the spot-check page")
    shot(town, "date-pickers-1366")
    town.context.close()

    staff = login(browser, base_url, "staff-hl1", width=390, height=844)
    staff.goto(base_url + "/#/closures")
    first = "[data-testid=closure-form] input[name=first_day]"
    expect(staff.locator(first + " + [data-testid=date-zh]")).to_have_text("10月12日（周一）")  # today by default
    staff.locator(first).fill("2026-10-17")
    expect(staff.locator(first + " + [data-testid=date-zh]")).to_have_text("10月17日（周六）")
    fits(staff, "the closures page")
    shot(staff, "date-pickers-390")
    # The themed activity's day says what it is (a bare yyyy/mm/dd field beside 活动主题 did not).
    staff.goto(base_url + "/#/station")
    day = staff.get_by_label("活动日期")
    day.fill("2026-10-10")
    expect(staff.get_by_test_id("activity-form").get_by_test_id("date-zh")).to_have_text("10月10日（周六）")
    fits(staff, "the station page")
    staff.context.close()
