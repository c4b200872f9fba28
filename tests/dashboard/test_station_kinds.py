"""Care centres (照料中心) and neighbourhood points (睦邻点) in Chromium: the bureau registers one through the form with
no grade (a grade on a neighbourhood point is refused with the import's reason), and the assessment, veto and station
pages read 不适用 for the grade's standard, veto and subsidy — never 未达标 or 否决. The derived fleet with hl-01 (four
elders) a neighbourhood point and hl-02 (closed on the bureau's spot check) a care centre."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from tests.api import fleet
from tests.api.conftest import make_app, migrated
from tests.api.server import serve
from tests.dashboard.conftest import login, shot


@pytest.fixture
def kinds_url(tmp_path: Path) -> Iterator[str]:
    engine = migrated(f"sqlite:///{tmp_path / 'kinds.db'}")
    fleet.register_kinds(engine, {"hl-01": "neighbourhood_point", "hl-02": "care_centre"})
    fleet.build(engine)
    with serve(make_app(engine, tmp_path)) as url:
        yield url
    engine.dispose()


def test_the_registry_form_takes_a_care_centre_without_a_grade(browser: Browser, kinds_url: str) -> None:
    bureau = login(browser, kinds_url, "admin")
    bureau.click("#nav a[data-page=registry]")
    form = bureau.get_by_test_id("station-form")
    for name, value in (("station_id", "hl-05"), ("name", "汇龙村照料中心"), ("town", "汇龙镇"), ("weekdays", "1-5"),
                        ("hours", "08:30-11:30 13:30-17:00")):
        form.locator(f"input[name={name}]").fill(value)
    form.locator("select[name=kind]").select_option("neighbourhood_point")
    form.locator("select[name=grade]").select_option("2A")
    form.locator("[data-action=save]").click()
    expect(bureau.locator("#toast")).to_contain_text("保存失败")
    expect(bureau.locator("#toast")).to_contain_text("睦邻点不分等级：等级请选“无”")
    form.locator("select[name=kind]").select_option("care_centre")
    form.locator("select[name=grade]").select_option("")
    form.locator("[data-action=save]").click()
    row = bureau.get_by_test_id("registry").locator("tr[data-station=hl-05]")
    expect(row).to_contain_text("照料中心")
    expect(bureau.get_by_test_id("registry").locator("tr[data-station=hl-01]")).to_contain_text("睦邻点")


def test_assessment_vetoes_and_station_month_read_not_applicable(browser: Browser, kinds_url: str) -> None:
    bureau = login(browser, kinds_url, "admin")
    bureau.goto(kinds_url + "/#/assessment?year=2026")
    centre = bureau.get_by_test_id("assessment").locator("tr[data-station=hl-02]")
    expect(centre).to_contain_text("照料中心（不分等级）")
    cells = centre.locator("td")
    expect(cells.nth(4)).to_have_text("不适用")  # months met
    expect(cells.nth(6)).to_have_text("1")  # the failed check, still counted
    expect(cells.nth(7)).to_have_text("不适用")  # veto
    expect(cells.nth(8)).to_have_text("不适用")  # subsidy
    expect(bureau.get_by_test_id("assessment").locator("tr[data-station=nh-02]").locator("td").nth(8)
           ).to_have_text("32000")
    shot(bureau, "assessment-care-centre")
    bureau.click("#nav a[data-page=spot-checks]")
    centre_veto = bureau.get_by_test_id("vetoes").locator("tbody tr", has_text="汇龙二站")
    expect(centre_veto).to_contain_text("不适用")
    expect(centre_veto).not_to_contain_text("否决")
    staff = login(browser, kinds_url, "staff-hl1")
    staff.goto(kinds_url + "/#/station/hl-01/2026-10-09")
    counts = staff.get_by_test_id("counts")
    expect(counts.locator("tr", has_text="月度标准")).to_contain_text("不适用")
    expect(counts.locator("tr", has_text="是否达标")).to_contain_text("睦邻点不分等级")
    expect(counts).not_to_contain_text("未达标")
