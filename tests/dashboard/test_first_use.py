"""A bureau official, a town officer and a station's staff using the dashboard for the first time, in real headless
Chromium: what they read is Chinese (the server's refusals, device kinds, the audit log's fields), an empty table
says so, another town's station is refused as such, and the pages fit a 1366 px laptop and a 390 px phone."""

import re
from datetime import datetime, time

from playwright.sync_api import Browser, Page, expect
from sqlalchemy import Engine

from cloud.alerts import service
from cloud.alerts.keys import anomaly_key
from cloud.alerts.kinds import AlertKind, AlertLevel, AlertSpec
from cloud.store.db import make_session_factory
from cloud.store.models import Device
from tests.api import fleet
from tests.dashboard.conftest import login, shot

# A raw code or an English sentence: a lower-case word of 3+ ASCII letters (station ids like hl-01 have 2).
ENGLISH = re.compile(r"\b[a-z_]{3,}\b")


def toast(page: Page) -> str:
    node = page.locator("#toast")
    expect(node).to_be_visible()
    text = node.inner_text()
    page.evaluate("() => { document.getElementById('toast').hidden = true; }")
    return text


def test_refusals_are_in_chinese(browser: Browser, base_url: str) -> None:
    bureau = login(browser, base_url, "admin")
    bureau.goto(base_url + "/#/spot-checks")
    form = bureau.get_by_test_id("plan-form")
    form.locator("input[name=date]").fill("2026-10-14")
    form.locator("input[name=start]").fill("11:00")
    form.locator("input[name=end]").fill("10:00")
    form.locator("button").click()
    assert toast(bureau) == "保存失败：结束时间须晚于开始时间"
    form.locator("input[name=date]").fill("2026-10-01")
    form.locator("input[name=end]").fill("12:00")
    form.locator("button").click()
    assert toast(bureau) == "保存失败：抽查日期 2026-10-01 已过（今天是 2026-10-12），请安排今天或以后的日期"
    bureau.goto(base_url + "/#/registry")
    station = bureau.get_by_test_id("station-form")
    for name, value in (("station_id", "hl-09"), ("name", "汇龙九站"), ("town", "汇龙镇"), ("weekdays", "1-8"),
                        ("hours", "25:00-26:00")):
        station.locator(f"input[name={name}]").fill(value)
    station.locator("button[data-action=save]").click()
    text = toast(bureau)
    assert text.startswith("保存失败：工作日“1-8”有误") and "25:00 不是有效时刻" in text, text
    assert not ENGLISH.search(text), text
    bureau.context.close()

    # FastAPI's own validation answer (a list of problems) reads as a sentence, never as its JSON.
    staff = login(browser, base_url, "staff-hl1")
    staff.goto(base_url + "/#/closures")
    closure = staff.get_by_test_id("closure-form")
    closure.locator("input[name=first_day]").fill("2026-10-20")
    closure.locator("input[name=last_day]").fill("2026-10-15")
    closure.locator("input[name=reason]").fill("装修")
    closure.locator("button").click()
    assert toast(staff) == "提交失败：结束日期早于开始日期"
    staff.context.close()


def test_town_officer_is_told_another_towns_station_is_not_theirs(browser: Browser, base_url: str) -> None:
    page = login(browser, base_url, "town-hl")
    page.goto(base_url + "/#/station/nh-01")
    expect(page.locator("#main")).to_contain_text("无权查看该站点")
    expect(page.locator("#main")).not_to_contain_text("南阳")
    expect(page.locator("#main")).not_to_contain_text("暂无数据")  # not "nothing yet": not theirs at all
    page.context.close()


def test_station_page_names_devices_and_says_when_empty(browser: Browser, base_url: str, fleet_db: Engine) -> None:
    with make_session_factory(fleet_db)() as session:  # a door magnet heard, but no self-test from it yet
        session.add(Device(station_id="hl-01", device_id="door-1", kind="door",
                           last_seen_at=datetime.combine(fleet.TODAY, time(9, 50), fleet.ZONE)))
        # nh-01's agent stopped cleanly: its last status said offline (stored as a health that is not ok).
        stopped = session.get(Device, ("nh-01", "agent"))
        assert stopped is not None
        stopped.last_health_ok, stopped.last_health = False, {"online": False}
        session.commit()
    page = login(browser, base_url, "admin")
    page.goto(base_url + "/#/station/hl-01/2026-10-12")
    devices = page.locator("section", has_text="设备健康").locator("tbody")
    expect(devices).to_contain_text("人流计数器")
    expect(devices).to_contain_text("人脸识别摄像头")
    kinds = devices.locator("tr td:nth-child(2)").all_inner_texts()
    assert kinds and not any(ENGLISH.fullmatch(k) for k in kinds), kinds
    # The agent online, the counter's self-test passed, the door's never reported: not "正常" for that one.
    states = dict(zip(devices.locator("tr td:nth-child(1)").all_inner_texts(),
                      devices.locator("tr td:nth-child(4)").all_inner_texts(), strict=True))
    assert (states["agent"], states["counter-1"], states["door-1"]) == ("正常", "正常", "未上报自检"), states
    page.goto(base_url + "/#/station/nh-01/2026-10-12")
    stopped_agent = page.locator("section", has_text="设备健康").locator("tr", has=page.locator("td:text-is('agent')"))
    expect(stopped_agent.locator("td").nth(3)).to_have_text("离线")  # a clean stop, not a fault
    page.goto(base_url + "/#/station/hl-01/2026-10-12")
    # No activity this month: the table says so rather than showing bare headers.
    expect(page.locator("section", has_text="主题活动").get_by_test_id("empty")).to_have_text("暂无记录")
    # The month is under way (12 October): short of its standard so far is not "未达标".
    verdict = page.get_by_test_id("counts").locator("tr", has_text="是否达标").locator("td").nth(1)
    expect(verdict).not_to_have_text("未达标")
    shot(page, "first-use-station-hl-01")
    page.context.close()


def test_audit_log_reads_in_words(browser: Browser, base_url: str) -> None:
    page = login(browser, base_url, "admin")
    page.goto(base_url + "/#/users")
    form = page.get_by_test_id("user-form")
    form.locator("input[name=name]").fill("town-nh")
    form.locator("select[name=role]").select_option("town")
    form.locator("input[name=towns]").fill("南阳镇")
    form.locator("input[name=password]").fill("a-long-password")
    form.locator("button[data-action=add-user]").click()
    expect(page.get_by_test_id("users").locator("tr[data-user=town-nh]")).to_be_visible()
    page.goto(base_url + "/#/audit")
    row = page.get_by_test_id("audit").locator("tr[data-target=town-nh]")
    expect(row).to_contain_text("角色：镇（街道）")
    expect(row).to_contain_text("镇（街道）：南阳镇")
    expect(row).to_contain_text("状态：启用")
    after = row.locator("td").nth(5).inner_text()
    assert not ENGLISH.search(after), after  # no role code, null, true or field name
    page.context.close()


def test_pages_fit_a_laptop_and_a_phone(browser: Browser, base_url: str) -> None:
    laptop = login(browser, base_url, "admin", width=1366, height=768)
    for name in ("overview", "registry", "users", "homecare"):
        laptop.goto(f"{base_url}/#/{name}")
        expect(laptop.locator("#main .card").first).to_be_visible()
        width = laptop.evaluate("() => [document.documentElement.scrollWidth, innerWidth]")
        assert width[0] <= width[1], f"{name} is wider than the laptop's screen: {width}"
    laptop.context.close()

    phone = login(browser, base_url, "town-hl", width=390, height=844)
    for name in ("overview", "users", "stations"):
        phone.goto(f"{base_url}/#/{name}")
        expect(phone.locator("#main .card").first).to_be_visible()
        width = phone.evaluate("() => [document.documentElement.scrollWidth, innerWidth]")
        assert width[0] <= width[1], f"{name} is wider than the phone's screen: {width}"
    # The menu runs under the title across the screen, and 退出 stays on one line.
    brand = phone.locator(".brand").bounding_box()
    nav = phone.locator("#nav").bounding_box()
    logout = phone.locator("#logout").bounding_box()
    assert brand and nav and logout
    assert nav["y"] >= brand["y"] + brand["height"] and nav["width"] > 300, (brand, nav)
    assert logout["height"] < 45, logout
    shot(phone, "first-use-town-phone")
    phone.context.close()


def test_no_lead_for_a_session_still_to_come(browser: Browser, base_url: str) -> None:
    # 10:00 on a working Monday (the fleet's clock): hl-01 opened at 08:20 and people come and go. Its afternoon has
    # not begun, so nothing says its door stood open with nobody all session, nor alerts the town for 13:30.
    page = login(browser, base_url, "town-hl")
    page.goto(base_url + "/#/station/hl-01/2026-10-12")
    flags = page.get_by_test_id("counts").locator("tr", has_text="异常标记")
    expect(flags).to_be_visible()
    expect(flags).not_to_contain_text("门开但全时段无人进出")
    page.goto(base_url + "/#/alerts")
    expect(page.get_by_test_id("alerts").locator("tbody tr").first).to_be_visible()
    raised = page.get_by_test_id("alerts").locator("tbody tr td:nth-child(4)").all_inner_texts()
    assert all(t <= "2026/10/12 10:00:00" for t in raised), raised  # nothing stamped after the clock
    page.context.close()


def test_a_sensor_anomaly_says_what_was_found(browser: Browser, base_url: str, fleet_db: Engine) -> None:
    # The rules' finding is a code in the alert's cause; the evidence's sentence is English. The town reads what
    # was found, in Chinese, and on which day.
    with make_session_factory(fleet_db)() as session:
        service.raise_alert(session, AlertSpec(
            AlertKind.SENSOR_ANOMALY, "hl-01", anomaly_key("door-unwatched", "hl-01", "2026-10-09"), AlertLevel.TOWN,
            fleet.NOW, {"date": "2026-10-09", "what": "door open while the people counter and the camera reported "
                        "nothing", "sessions": []}))
        session.commit()
    page = login(browser, base_url, "town-hl")
    page.goto(base_url + "/#/alerts")
    found = page.get_by_test_id("alerts").get_by_test_id("anomaly")
    expect(found.first).to_be_visible()
    expect(found.filter(has_text="人流计数器和摄像头均无上报时门开（2026-10-09）")).to_have_count(1)
    assert not any(ENGLISH.search(t) for t in found.all_inner_texts()), found.all_inner_texts()
    page.context.close()
