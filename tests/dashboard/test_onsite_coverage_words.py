"""The quarter's spot-check coverage as an officer reads it, in real headless Chromium: the quarter in Chinese
(2026年第四季度, not 2026-Q4) and the stations not checked yet by their names, each a link to its page (the API lists
their ids)."""

from playwright.sync_api import Browser, expect

from tests.dashboard.conftest import login, shot
from tests.dashboard.test_first_use import toast


def test_coverage_names_the_quarter_and_the_unchecked_stations(browser: Browser, base_url: str) -> None:
    # A station registered after the quarter's checks: not checked yet.
    bureau = login(browser, base_url, "admin")
    bureau.goto(base_url + "/#/registry")
    form = bureau.get_by_test_id("station-form")
    for name, value in (("station_id", "hl-09"), ("name", "汇龙九站"), ("town", "汇龙镇"), ("weekdays", "1-5"),
                        ("hours", "08:30-11:30")):
        form.locator(f"input[name={name}]").fill(value)
    form.locator("button[data-action=save]").click()
    assert "失败" not in toast(bureau)
    bureau.context.close()

    town = login(browser, base_url, "town-hl", width=390, height=844)
    town.goto(base_url + "/#/onsite")
    coverage = town.locator("section", has=town.get_by_test_id("coverage-towns"))
    expect(coverage.locator("h2")).to_have_text("本季度抽查覆盖 · 2026年第四季度")
    row = town.get_by_test_id("coverage-towns").locator("tr[data-town=汇龙镇]")
    expect(row.locator("a[data-station=hl-09]")).to_have_text("汇龙九站")
    expect(row).not_to_contain_text("hl-09")
    box = row.locator("a[data-station=hl-09]").bounding_box()  # on the phone's screen, not past a sideways scroll
    assert box and box["x"] + box["width"] <= 390, box
    label = row.locator("td").nth(4).evaluate("n => parseFloat(getComputedStyle(n, '::before').width)")
    badge = row.locator("td").nth(4).locator(".badge").bounding_box()
    cell = row.locator("td").nth(4).bounding_box()
    assert badge and cell and cell["x"] + 4 + label <= badge["x"], (label, badge, cell)  # the name does not overlap
    shot(town, "onsite-coverage-phone")
    row.locator("a[data-station=hl-09]").click()
    expect(town.locator("#main h2").first).to_contain_text("汇龙九站")
    town.context.close()
