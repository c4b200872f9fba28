"""Uploading a CSV as a bureau officer, in real headless Chromium: the file field says 选择 CSV 文件 and the chosen
file's name in Chinese words (the browser's own button reads Choose File / No file chosen in an English browser), and
the import's bad lines read in Chinese with their line numbers (the server's English kept as the tooltip); the working
days read 周一至周五, not 1-5."""

from pathlib import Path

from playwright.sync_api import Browser, expect

from tests.dashboard.conftest import login, shot


def test_a_csv_import_reads_in_chinese(browser: Browser, base_url: str, tmp_path: Path) -> None:
    page = login(browser, base_url, "admin", width=1366, height=768)
    page.goto(base_url + "/#/registry")
    form = page.get_by_test_id("import-form")
    picker = form.locator(".file-picker")
    expect(picker).to_contain_text("选择 CSV 文件")
    expect(form.get_by_test_id("file-chosen")).to_have_text("未选择文件")
    native = form.locator("input[type=file]").bounding_box()
    assert native and native["width"] <= 1, native  # the browser's own English button is not shown
    csv_file = tmp_path / "stations.csv"
    csv_file.write_text("station_id,name,town,grade,weekdays,hours,colour\n"
                        "nh-03,南阳三站,南阳镇,2A,1-6,08:00-11:00,red\n"
                        "nh-04,南阳四站,南阳镇,6A,1-5,08:00-11:00,red\n"
                        "nh-05,南阳五站,南阳镇,2A,,08:00-11:00,red\n"
                        "nh-03,南阳三站,南阳镇,2A,1-6,08:00-11:00,red\n", encoding="utf-8")
    with page.expect_file_chooser() as chooser:
        picker.locator(".button").click()  # the words open the browser's file dialog
    chooser.value.set_files(str(csv_file))
    expect(form.get_by_test_id("file-chosen")).to_have_text("stations.csv")
    form.locator("button[type=submit]").click()
    expect(page.get_by_test_id("import-summary")).to_contain_text("新增 1")
    lines = page.get_by_test_id("import-problems").locator("li")
    expect(lines).to_have_text([
        "第 1 行：不认识的列 colour，已忽略；可选列为 open_on_holidays, address, timezone, kind",
        "第 3 行：等级须为 2A, 3A, 4A, 5A 之一（填的是“6A”）",
        "第 4 行：工作日为空；工作日请填写如 1-5 或 1,3,5",
        "第 5 行：站点 nh-03 已在第 2 行",
    ])
    expect(lines.nth(1)).to_have_attribute("title", "line 3: grade must be one of 2A, 3A, 4A, 5A (got '6A')")
    # The working days as an officer says them, in the list and in the audit log (the numbers kept as the tooltip).
    registry = page.get_by_test_id("registry")
    expect(registry.locator("tr[data-station=nh-03] td").nth(5)).to_have_text("周一至周六")
    expect(registry.locator("tr[data-station=nh-03] td").nth(5)).to_have_attribute("title", "1,2,3,4,5,6")
    expect(registry.locator("tr[data-station=hl-01] td").nth(5)).to_have_text("周一至周五")
    shot(page, "registry-import-1366")
    page.goto(base_url + "/#/audit")
    expect(page.get_by_test_id("audit").locator("tr[data-target=nh-03]")).to_contain_text("工作日：周一至周六")
    page.context.close()
