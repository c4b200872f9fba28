"""What a town officer reads on a 390 px phone and a 1366 px laptop, in real headless Chromium: each alert is a card
whose status and buttons are on screen (not past the edge of a sideways-scrolling table), a chart of station counts
counts in whole stations, and the day's timeline says which colour is which."""

from playwright.sync_api import Browser, expect
from sqlalchemy import Engine

from cloud.alerts import service
from cloud.alerts.keys import anomaly_key
from cloud.alerts.kinds import AlertKind, AlertLevel, AlertSpec
from cloud.store.db import make_session_factory
from tests.api import fleet
from tests.dashboard.conftest import login, shot

PHONE = 390


def test_an_alert_on_a_phone_is_a_card_with_its_buttons_on_screen(browser: Browser, base_url: str,
                                                                  fleet_db: Engine) -> None:
    with make_session_factory(fleet_db)() as session:
        service.raise_alert(session, AlertSpec(
            AlertKind.SENSOR_ANOMALY, "hl-01", anomaly_key("door-unwatched", "hl-01", "2026-10-09"), AlertLevel.TOWN,
            fleet.NOW, {"date": "2026-10-09", "what": "door open while nothing else reported", "sessions": []}))
        session.commit()
    page = login(browser, base_url, "town-hl", width=PHONE, height=844)
    page.goto(base_url + "/#/alerts")
    found = page.get_by_test_id("anomaly").filter(has_text="人流计数器和摄像头均无上报时门开")
    row = page.get_by_test_id("alerts").locator("tbody tr", has=found)
    expect(row).to_have_count(1)
    for label in ("类型", "站点", "状态", "操作"):
        cell = row.locator(f"td[data-label={label}]")
        box = cell.bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= PHONE, (label, box)
    expect(row.locator("td[data-label=站点]")).to_contain_text("汇龙一站")
    station = row.locator("td[data-label=站点]").bounding_box()
    assert station and station["width"] > PHONE / 2, station  # the name on one line, not three characters a line
    button = row.locator("button[data-action=acknowledge]")
    expect(button).to_be_visible()
    box = button.bounding_box()
    assert box and box["x"] + box["width"] <= PHONE, box
    width = page.evaluate("() => [document.documentElement.scrollWidth, innerWidth]")
    assert width[0] <= width[1], width
    shot(page, "alerts-phone")
    button.click()
    expect(row.locator("td[data-label=状态]")).to_have_text("已确认")
    page.context.close()

    # The laptop keeps the table with its header row.
    laptop = login(browser, base_url, "town-hl", width=1366, height=768)
    laptop.goto(base_url + "/#/alerts")
    expect(laptop.get_by_test_id("alerts").locator("thead th").first).to_be_visible()
    laptop.context.close()


def test_the_town_chart_counts_whole_stations(browser: Browser, base_url: str) -> None:
    page = login(browser, base_url, "town-hl", width=1366, height=768)
    chart = page.locator("section", has_text="各镇（街道）今日站点状态").locator(".chart")
    expect(chart).to_be_visible()
    page.wait_for_function("n => echarts.getInstanceByDom(n)", arg=chart.element_handle())
    ticks = chart.evaluate("n => echarts.getInstanceByDom(n).getModel().getComponent('yAxis').axis.scale.getTicks()"
                           ".map(t => t.value)")
    assert ticks and all(t == int(t) for t in ticks), ticks  # the axis the officer reads: 0, 1, 2, never 0.5
    page.context.close()


def test_the_timeline_says_which_colour_is_which(browser: Browser, base_url: str) -> None:
    # 10:00 on a working Monday: hl-01 open since 08:20, its afternoon still to come.
    page = login(browser, base_url, "town-hl", width=PHONE, height=844)
    page.goto(base_url + "/#/station/hl-01/2026-10-12")
    legend = page.get_by_test_id("timeline-legend")
    expect(legend.locator("span", has_text="开放")).to_have_count(1)
    expect(legend.locator("span", has_text="未开始")).to_have_count(1)
    colours = legend.locator("i").evaluate_all("ns => ns.map(n => getComputedStyle(n).backgroundColor)")
    assert "rgb(46, 204, 113)" in colours, colours  # the open green of the chart
    shot(page, "timeline-legend-phone")
    page.context.close()
