"""居家服务 in Chromium: the bureau sees both providers' figures, each elder's month and the fraud alerts with their
evidence, and downloads the Chinese Excel; a provider sees only its own figures and no alerts; a caregiver on a phone
sees only their own visits."""

import re
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from openpyxl import load_workbook
from playwright.sync_api import Browser, expect
from sqlalchemy import Engine

from cloud.api.app import create_app
from cloud.api.config import ApiConfig
from cloud.api.security import hash_password
from cloud.homecare.config import HomecareConfig
from cloud.homecare.simulate import HomecareSim, load, simulate
from cloud.homecare.supervise import homecare_pass
from cloud.store.db import make_session_factory
from cloud.store.homecare import HomecareCaregiver, HomecareProvider
from cloud.store.users import User
from tests.api.conftest import PASSWORD, migrated, settings_for
from tests.api.server import serve
from tests.dashboard.conftest import login, shot

CST = timezone(timedelta(hours=8))
NOW = datetime(2026, 11, 3, 10, 0, tzinfo=CST)
SIM = simulate(date(2026, 10, 1), 31, 17)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = migrated(f"sqlite:///{tmp_path / 'homecare.db'}")
    yield engine
    engine.dispose()


@pytest.fixture
def homecare_url(tmp_path: Path, engine: Engine) -> Iterator[str]:
    with make_session_factory(engine).begin() as session:
        load(session, SIM, NOW)
        session.add(User(name="mgr-kangle", role="provider", password_hash=hash_password(PASSWORD),
                         provider_id="p-kangle"))
        session.add(User(name="carer-k01", role="caregiver", password_hash=hash_password(PASSWORD),
                         caregiver_id="K01"))
    with make_session_factory(engine).begin() as session:
        homecare_pass(session, HomecareConfig(), NOW, "Asia/Shanghai")
    app = create_app(settings_for(tmp_path), config=ApiConfig(clock=lambda: NOW), engine=engine)
    with serve(app) as url:
        yield url


def _planted(sim: HomecareSim) -> int:
    return sum(len(keys) for keys in sim.planted.values())


def test_bureau_provider_and_caregiver_views(browser: Browser, homecare_url: str, tmp_path: Path,
                                             engine: Engine) -> None:
    bureau = login(browser, homecare_url, "admin")
    bureau.click("#nav a[data-page=homecare]")
    bureau.goto(homecare_url + "/#/homecare/2026-10")
    providers = bureau.get_by_test_id("homecare-providers").locator("tbody tr")
    expect(providers).to_have_count(2)
    expect(providers.nth(0)).to_contain_text("康乐居家养老服务社")
    elders = bureau.get_by_test_id("homecare-elders")
    expect(elders.locator(f"tr[data-elder={SIM.short_elder}]")).to_have_attribute("data-met", "false")
    expect(elders.locator(f"tr[data-elder={SIM.hospital_elder}]")).to_have_attribute("data-met", "true")
    alerts = bureau.get_by_test_id("homecare-alerts").locator("tbody tr")
    expect(alerts).to_have_count(_planted(SIM))
    expect(bureau.get_by_test_id("homecare-alerts")).to_contain_text("同一护理员同时在两户")
    expect(bureau.get_by_test_id("homecare-alerts")).to_contain_text("服务记录屡屡延迟上传")
    # The same leads on 告警, named in Chinese as on this page, not by their code.
    bureau.goto(homecare_url + "/#/alerts")
    expect(bureau.locator("main")).to_contain_text("同一护理员同时在两户")
    expect(bureau.locator("main")).not_to_contain_text("homecare_")
    bureau.goto(homecare_url + "/#/homecare/2026-10")
    # Follow-up staff record a call from the day's sample; the elder's answer counts toward satisfaction.
    day = min(v.sign_in.astimezone(CST).date() for v in SIM.visits)
    # November is under way (the API's 3 November): nobody has missed it yet, and the providers' count says so.
    bureau.goto(homecare_url + "/#/homecare/2026-11")
    november = bureau.get_by_test_id("homecare-elders")
    expect(november).to_contain_text("进行中")
    expect(november).not_to_contain_text("未达标")
    first_provider = bureau.get_by_test_id("homecare-providers").locator("tbody tr").first
    expect(first_provider).to_contain_text("2026-11 未结束，不计")
    bureau.goto(homecare_url + f"/#/homecare/2026-10/{day.isoformat()}")
    pending = bureau.get_by_test_id("homecare-sample").locator("tbody tr[data-called=false]")
    expect(pending.first).to_be_visible()
    drawn = pending.count()
    first = pending.first
    key = first.get_attribute("data-visit")
    first.locator("select[name=satisfaction]").select_option("unsatisfied")
    first.locator("button[data-action=record]").click()
    expect(bureau.locator(f"tr[data-visit='{key}']")).to_have_attribute("data-called", "true")
    assert drawn >= 1
    # The year: the provider whose visit was answered (unsatisfied) gets no renewal; the other had no follow-up
    # answered all year, which cannot be judged (not 不予续签). A month has no outlook.
    outlook = "tbody tr td:last-child"
    expect(bureau.get_by_test_id("homecare-providers").locator(outlook)).to_have_text(["—", "—"])
    bureau.goto(homecare_url + "/#/homecare/2026")
    expect(bureau.get_by_test_id("homecare-providers")).to_contain_text("无回访应答，无法判断")  # the year drawn
    assert sorted(bureau.get_by_test_id("homecare-providers").locator(outlook).all_inner_texts()) == [
        "不予续签", "无回访应答，无法判断"]
    bureau.goto(homecare_url + f"/#/homecare/2026-10/{day.isoformat()}")
    # The registry: a town's new elder, with the same checks as the import.
    form = bureau.get_by_test_id("homecare-elder-form")
    for name, value in (("id", "hl-new-1"), ("name", "新登记老人"), ("town", "汇龙镇"), ("provider", "p-kangle")):
        form.locator(f"input[name={name}]").fill(value)
    form.locator("select[name=category]").select_option("disabled")
    form.locator("button[type=submit]").click()
    expect(bureau.locator("#toast")).to_contain_text("已保存老人 hl-new-1")
    form = bureau.get_by_test_id("homecare-provider-form")
    for name, value in (("id", "p-new"), ("name", "新服务商"), ("town", "南阳镇")):
        form.locator(f"input[name={name}]").fill(value)
    form.locator("button[type=submit]").click()
    expect(bureau.locator("#toast")).to_contain_text("已保存服务商 p-new")
    with make_session_factory(engine).begin() as session:
        added = session.get(HomecareProvider, "p-new")
        assert added is not None and (added.name, added.town) == ("新服务商", "南阳镇")
    with bureau.expect_download() as download:
        bureau.click("button[data-export=homecare-providers]")
    path = tmp_path / "providers.xlsx"
    download.value.save_as(path)
    sheet = load_workbook(path).active
    assert "服务商考核 2026-10" in str(sheet["A1"].value)
    shot(bureau, "homecare-bureau")

    provider = login(browser, homecare_url, "mgr-kangle")
    provider.goto(homecare_url + "/#/homecare/2026-Q4")
    rows = provider.get_by_test_id("homecare-providers").locator("tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-provider", "p-kangle")
    expect(provider.get_by_test_id("homecare-alerts")).to_have_count(0)  # fraud leads are the town's, not its own
    # The provider registers a new caregiver of its own: its id is filled in and cannot be changed on the page.
    form = provider.get_by_test_id("homecare-caregiver-form")
    expect(form.locator("input[name=provider]")).to_have_value("p-kangle")
    expect(form.locator("input[name=provider]")).not_to_be_editable()
    expect(provider.get_by_test_id("homecare-provider-form")).to_have_count(0)  # providers are the bureau's
    for name, value in (("id", "K-NEW-9"), ("name", "新护理员"), ("phone", "13800000000")):
        form.locator(f"input[name={name}]").fill(value)
    form.locator("button[type=submit]").click()
    expect(provider.locator("#toast")).to_contain_text("已保存服务人员 K-NEW-9")
    # A bad job number gets the import's error, and nothing is saved.
    form.locator("input[name=id]").fill("K 9!")
    form.locator("button[type=submit]").click()
    expect(provider.locator("#toast")).to_contain_text("保存失败")
    with make_session_factory(engine).begin() as session:
        saved = session.get(HomecareCaregiver, "K-NEW-9")
        assert saved is not None and (saved.provider_id, saved.name, saved.phone) == ("p-kangle", "新护理员",
                                                                                      "13800000000")
        assert session.get(HomecareCaregiver, "K 9!") is None
    # ... and gives the new caregiver a login on the users page (its own staff only: no other role to choose).
    provider.click("#nav a[data-page=users]")
    users = provider.get_by_test_id("user-form")
    expect(users.locator("select[name=role]")).to_be_disabled()
    expect(users.locator("select[name=station]")).to_have_count(0)
    users.locator("input[name=name]").fill("carer-new9")
    users.locator("select[name=caregiver]").select_option("K-NEW-9")
    users.locator("input[name=password]").fill(PASSWORD)
    users.locator("button[data-action=add-user]").click()
    expect(provider.get_by_test_id("users").locator("tr[data-user=carer-new9]")).to_be_visible()
    listed = provider.get_by_test_id("users").locator("tbody tr")
    expect(listed).to_have_count(2)  # carer-k01 and the newcomer: not the bureau, not itself
    assert sorted(listed.evaluate_all("rows => rows.map(r => r.dataset.user)")) == ["carer-k01", "carer-new9"]
    newcomer = login(browser, homecare_url, "carer-new9", width=390, height=844)
    newcomer.click("#nav a[data-page=homecare]")
    expect(newcomer.get_by_test_id("homecare-visits").locator("tbody tr")).to_have_count(0)

    phone = login(browser, homecare_url, "carer-k01", width=390, height=844)
    phone.click("#nav a[data-page=homecare]")
    visits = phone.get_by_test_id("homecare-visits").locator("tbody tr")
    expect(visits).to_have_count(sum(v.caregiver == "K01" for v in SIM.visits))
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    shot(phone, "homecare-caregiver-phone")


def test_the_bureau_sets_an_elders_service_period_on_the_form(browser: Browser, homecare_url: str,
                                                              engine: Engine) -> None:
    from sqlalchemy import select

    from cloud.store.homecare import HomecareElder

    joiner = next(e for e in SIM.elders if e.id.startswith("hl-") and e.id not in (SIM.short_elder, SIM.hospital_elder)
                  and any(v.elder == e.id and v.sign_in.astimezone(CST).day < 25 for v in SIM.visits))
    early = sum(v.elder == joiner.id and v.sign_in.astimezone(CST).day < 25 for v in SIM.visits)
    with make_session_factory(engine)() as session:
        stored = session.scalars(select(HomecareElder).where(HomecareElder.id == joiner.id)).one()
        kept = (stored.package, stored.lat, stored.lon, stored.timezone)
    bureau = login(browser, homecare_url, "admin")
    bureau.goto(homecare_url + "/#/homecare/2026-10")
    form = bureau.get_by_test_id("homecare-elder-form")
    form.locator("input[name=id]").fill(joiner.id)
    form.locator("input[name=id]").press("Tab")
    expect(form.locator("input[name=name]")).to_have_value(joiner.name)  # the registered record, filled in
    form.locator("input[name=since]").fill("2026-10-25")
    form.locator("button[type=submit]").click()
    expect(bureau.locator("#toast")).to_contain_text(f"已保存老人 {joiner.id}")
    with make_session_factory(engine)() as session:
        row = session.get(HomecareElder, joiner.id)
        assert row is not None and (row.since, row.until) == (date(2026, 10, 25), None)
        assert (row.package, row.lat, row.lon, row.timezone) == kept  # what the form does not show is kept
    bureau.reload()
    line = bureau.get_by_test_id("homecare-elders").locator(f"tr[data-elder={joiner.id}]")
    expect(line.locator("[data-outside]")).to_have_attribute("data-outside", str(early))
    expect(line).to_contain_text(f"含服务期外 {early} 次")


def test_fraud_leads_read_in_words_and_a_town_sees_its_share_of_the_sample(browser: Browser,
                                                                            homecare_url: str) -> None:
    bureau = login(browser, homecare_url, "admin")
    bureau.goto(homecare_url + "/#/homecare/2026-10")
    evidence = bureau.get_by_test_id("homecare-alerts").get_by_test_id("homecare-evidence")
    expect(evidence).to_have_count(_planted(SIM))
    text = "\n".join(evidence.all_inner_texts())
    # Each field named in Chinese, times in the stations' zone as the rest of the page writes them: no JSON, no
    # field names, no UTC instants.
    assert "{" not in text and "sign_in" not in text and "caregiver" not in text and "+00:00" not in text, text
    assert "护理员：" in text and re.search(r"签到：2026/10/\d\d \d\d:\d\d:\d\d", text), text
    bureau.context.close()

    # The day's sample is drawn over every town's orders: the town is listed its own, and told only its own figures.
    town = login(browser, homecare_url, "town-hl")
    # The first day the town had orders on.
    day, orders, size = found = town.evaluate("""async () => {
      const h = {headers: {Authorization: 'Bearer ' + sessionStorage.getItem('eldercare.token')}};
      for (let d = 1; d <= 31; d++) {
        const day = `2026-10-${String(d).padStart(2, '0')}`;
        const res = await fetch('/api/v1/homecare/followups/samples/' + day, h);
        if (!res.ok) continue;
        const s = await res.json();
        if (s.scoped && s.orders > 0) return [day, s.orders, s.size];
      }
      return [null, 0, 0]; }""")
    assert day, found
    town.goto(homecare_url + f"/#/homecare/2026-10/{day}")
    listed = town.get_by_test_id("homecare-sample").locator("tbody tr")
    expect(listed).to_have_count(size)
    note = town.get_by_test_id("homecare-sample-note")
    expect(note).to_contain_text(f"本辖区工单 {orders} 张，抽取 {size} 张")
    expect(note).not_to_contain_text("全区工单")
    town.context.close()
