"""End to end in real headless Chromium: each role logs in and sees only what it may; an acknowledgement shows up
live on another user's open alerts page; the assessment Excel downloads with its rows."""

import io
import re

from openpyxl import load_workbook
from playwright.sync_api import Browser, Route, expect

from tests.dashboard.conftest import login, shot

NAV = {
    "admin": ["总览", "站点", "告警", "抽查", "现场抽查", "停业申请", "年度考核", "节假日", "申诉", "站点管理", "用户",
              "操作日志", "居家服务", "服务二维码"],
    "town-hl": ["总览", "站点", "告警", "抽查", "现场抽查", "停业申请", "年度考核", "申诉", "用户", "居家服务",
                "服务二维码"],
    "staff-hl1": ["本站", "告警", "停业申请", "申诉"],
    "dispatch": ["紧急呼叫"],
}


def test_bureau_overview_spot_checks_and_assessment_excel(browser: Browser, base_url: str) -> None:
    page = login(browser, base_url, "admin")
    assert page.locator("#nav a").all_inner_texts() == NAV["admin"]
    expect(page.get_by_test_id("kpi-stations")).to_have_text("4")
    expect(page.get_by_test_id("kpi-open")).to_have_text("2")
    expect(page.get_by_test_id("kpi-closed")).to_have_text("1")
    expect(page.get_by_test_id("kpi-unknown")).to_have_text("1")
    expect(page.locator("canvas").first).to_be_visible()  # ECharts drew, from the vendored file
    # nh-01 is unknown today (offline): no rate, rather than a 0 % that reads as shut all day.
    expect(page.get_by_test_id("stations").locator("tr[data-station=nh-01] td").nth(4)).to_have_text("无法确认")
    shot(page, "bureau-overview-1920x1080")
    # hl-02 (2A) and nh-01 (4A) have no face data: no bar of 0 elders for their grades, a note under the grade.
    grades = page.locator(".chart").nth(1)
    page.wait_for_function("n => echarts.getInstanceByDom(n)", arg=grades.element_handle())
    option = grades.evaluate("n => { const o = echarts.getInstanceByDom(n).getOption(); "
                             "return { grades: o.xAxis[0].data, medians: o.series[0].data }; }")
    assert option == {"grades": ["2A\n1 站无人脸数据", "3A", "4A\n1 站无人脸数据", "5A"],
                      "medians": [None, 4, None, 4]}, option

    page.click("#nav a[data-page=spot-checks]")
    expect(page.get_by_test_id("plans").locator("tbody tr")).to_have_count(1)
    form = page.get_by_test_id("plan-form")
    form.locator("input[name=date]").fill("2026-10-14")
    form.locator("input[name=town]").fill("南阳镇")
    form.locator("button").click()
    expect(page.get_by_test_id("plans").locator("tbody tr")).to_have_count(2)
    expect(page.get_by_test_id("plans").locator("tbody tr").first).to_contain_text("按镇（街道）：南阳镇")
    expect(page.get_by_test_id("vetoes")).to_contain_text("汇龙二站")
    # The failed check's reason, translated from its code (the year shown is the injected clock's, 2026).
    expect(page.locator("tr", has_text="汇龙二站").filter(has_text="未开放").first).to_contain_text("工作时间内未开放")
    shot(page, "bureau-spot-checks")

    page.goto(base_url + "/#/assessment?year=2026")
    rows = page.get_by_test_id("assessment").locator("tbody tr")
    expect(rows).to_have_count(4)
    with page.expect_download() as info:
        page.locator("tr[data-station=hl-02] button[data-export=xlsx]").click()
    download = info.value
    assert download.suggested_filename == "assessment-hl-02-2026.xlsx"
    path = download.path()
    sheet = load_workbook(io.BytesIO(path.read_bytes())).active
    values = {row[0]: row[1] for row in sheet.iter_rows(values_only=True) if row[0]}
    assert values["等级"] == "2A" and values["抽查：未开放次数"] == "1" and values["一票否决"] == "否"
    assert values["补贴标准（元）"] == "5000"
    shot(page, "bureau-assessment")
    page.context.close()


def test_town_officer_sees_only_its_towns(browser: Browser, base_url: str) -> None:
    page = login(browser, base_url, "town-hl")
    assert page.locator("#nav a").all_inner_texts() == NAV["town-hl"]
    stations = page.get_by_test_id("stations").locator("tbody tr")
    expect(stations).to_have_count(2)
    assert sorted(stations.evaluate_all("rows => rows.map(r => r.dataset.station)")) == ["hl-01", "hl-02"]
    # The bureau's plan, as far as the town's own stations go.
    page.click("#nav a[data-page=spot-checks]")
    expect(page.get_by_test_id("plans").locator("tbody tr")).to_have_count(1)
    expect(page.get_by_test_id("plans").locator("tbody tr td").nth(4)).to_have_text("2")
    # And the API scopes it, whatever the page does: the plan by id lists its stations only, another town's
    # station is 404.
    status = page.evaluate("async () => { const h = {headers: {Authorization: "
                           "'Bearer ' + sessionStorage.getItem('eldercare.token')}}; "
                           "return [(await (await fetch('/api/v1/spot-checks/1', h)).json()).stations, "
                           "(await fetch('/api/v1/stations/nh-01/days/2026-10-09', h)).status]; }")
    assert status == [["hl-01", "hl-02"], 404]
    page.goto(base_url + "/#/station/hl-02/2026-10-09")
    expect(page.get_by_test_id("counts")).to_contain_text("关闭")
    expect(page.get_by_test_id("evidence")).to_contain_text("08:30-11:30")
    counts = page.get_by_test_id("counts")
    for label in ("未知时长（分钟）", "已知时长占比", "匿名访客", "2026-10 开放率", "人脸未经人流核实的老人（不计入）",
                  "2026-10 人脸未经人流核实的老人（不计入达标）"):
        expect(counts).to_contain_text(label)
    # hl-02 has no face data: its elders are unknown, not 0, on the day and in the month.
    for label in ("服务老人（去重）", "2026-10 服务老人"):
        expect(counts.locator("tr", has=page.get_by_text(label, exact=True))).to_contain_text("无法确认（无人脸数据）")
    shot(page, "town-station-day")
    # A day nothing was derived for yet is "no data", not an error.
    page.goto(base_url + "/#/station/hl-02/2026-10-20")
    expect(page.get_by_test_id("counts")).to_contain_text("暂无数据")
    page.context.close()


def test_station_staff_on_a_phone_see_their_station_only(browser: Browser, base_url: str) -> None:
    page = login(browser, base_url, "staff-hl1", width=390, height=844)
    assert page.locator("#nav a").all_inner_texts() == NAV["staff-hl1"]
    expect(page.get_by_test_id("calendar")).to_contain_text("开放")
    expect(page.locator(".card h2").first).to_contain_text("汇龙一站")
    # Asking for another station's page still shows its own.
    page.goto(base_url + "/#/station/hl-02")
    expect(page.locator(".card h2").first).to_contain_text("汇龙一站")
    page.fill("[data-testid=activity-form] input[name=day]", "2026-10-10")
    page.fill("[data-testid=activity-form] input[name=theme]", "重阳节敬老活动")
    page.fill("[data-testid=activity-form] input[name=participants]", "35")
    page.click("[data-testid=activity-form] button")
    expect(page.locator("text=重阳节敬老活动")).to_be_visible()
    with page.expect_download() as info:
        page.locator("button[data-export=monthly-xlsx]").click()
    assert info.value.suggested_filename == "monthly-hl-01-2026-10.xlsx"
    rows = list(load_workbook(io.BytesIO(info.value.path().read_bytes())).active.iter_rows(values_only=True))
    assert ("2026-10-10", "主题活动", "重阳节敬老活动", None, 35, None, None, None, None, None, None, None) in rows
    header = next(r for r in rows if r[0] == "日期")
    assert "匿名访客" in header and "未知时长（分钟）" in header and "已知时长占比" in header
    assert "未经核实老人（不计入）" in header
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways on a phone ({width}px)"
    shot(page, "station-staff-phone-390x844")
    page.goto(base_url + "/#/alerts")
    kinds = page.get_by_test_id("alerts").locator("tbody td.kind-spot_check_closed")
    expect(page.get_by_test_id("alerts").locator("tbody tr").first).to_be_visible()
    assert kinds.count() == 0
    page.context.close()


def test_a_page_that_loads_late_does_not_replace_the_page_opened_after_it(browser: Browser, base_url: str) -> None:
    page = login(browser, base_url, "admin")
    expect(page.get_by_test_id("kpi-stations")).to_have_text("4")
    held: list[Route] = []
    page.route("**/api/v1/overview", lambda route: held.append(route))
    page.click("#nav a[data-page=stations]")
    page.click("#nav a[data-page=overview]")
    page.wait_for_function("() => document.querySelector('#nav a.active').dataset.page === 'overview'")
    page.click("#nav a[data-page=alerts]")  # before the overview's figures arrived
    expect(page.get_by_test_id("alerts").locator("tbody tr").first).to_be_visible()
    with page.expect_response("**/api/v1/overview"):
        held[0].continue_()
    page.wait_for_timeout(1000)  # room for the late overview to draw itself, which it must not do here
    expect(page.get_by_test_id("alerts")).to_be_visible()
    expect(page.get_by_test_id("kpi-stations")).to_have_count(0)
    page.context.close()


def test_dispatcher_acknowledges_and_the_bureau_page_updates_live(browser: Browser, base_url: str) -> None:
    bureau = login(browser, base_url, "admin")
    bureau.click("#nav a[data-page=alerts]")
    expect(bureau.locator(".live.on")).to_be_visible()
    dispatch = login(browser, base_url, "dispatch")
    assert dispatch.locator("#nav a").all_inner_texts() == NAV["dispatch"]
    rows = dispatch.get_by_test_id("alerts").locator("tbody tr")
    expect(rows).to_have_count(1)  # the emergency call, nothing else
    alert_id = rows.first.get_attribute("data-alert")
    shot(dispatch, "dispatch-before-ack")
    rows.first.locator("button[data-action=acknowledge]").click()
    expect(dispatch.locator(f"tr[data-alert='{alert_id}']")).to_have_attribute("data-status", "acknowledged")
    # The bureau's page was not reloaded: the change arrives over the live stream.
    row = bureau.locator(f"tr[data-alert='{alert_id}']")
    expect(row).to_have_attribute("data-status", "acknowledged")
    expect(row).to_contain_text(re.compile("dispatch"))
    shot(bureau, "bureau-alerts-live")
    bureau.context.close()
    dispatch.context.close()


def test_staff_get_only_the_buttons_their_role_allows_and_logout_revokes_the_token(
    browser: Browser, base_url: str
) -> None:
    page = login(browser, base_url, "staff-nh1")
    page.goto(base_url + "/#/alerts")
    table = page.get_by_test_id("alerts")
    offline = table.locator("tr:has(td.kind-station_offline)")
    call = table.locator("tr:has(td.kind-emergency_call)")
    expect(offline).to_have_count(1)
    # The town closes the offline alert raised about this station; the staff may only say they saw it.
    expect(offline.locator("button[data-action=acknowledge]")).to_have_count(1)
    expect(offline.locator("button[data-action=resolve]")).to_have_count(0)
    expect(call.locator("button[data-action=resolve]")).to_have_count(1)
    token = page.evaluate("sessionStorage.getItem('eldercare.token')")
    me = "async (t) => (await fetch('/api/v1/auth/me', {headers: {Authorization: 'Bearer ' + t}})).status"
    assert page.evaluate(me, token) == 200
    page.click("#logout")
    expect(page.locator("#login-form")).to_be_visible()
    # A copy of the token (another tab, a proxy log) no longer works either.
    assert page.evaluate(me, token) == 401
    page.context.close()
