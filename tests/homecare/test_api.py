"""The home-care API over a simulated month: every role's scope, figures equal to `cloud derive` run on the audit
files the API hands out, Excel exports in Chinese with no formula cells, follow-ups, complaints and voiding."""

import io
import json
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import Engine

from cloud.api.app import create_app
from cloud.api.config import ApiConfig
from cloud.api.security import hash_password
from cloud.homecare.simulate import HomecareSim, load, simulate
from cloud.store.db import make_session_factory
from cloud.store.users import User, UserTown
from eldercare.cli import cli
from tests.api.conftest import PASSWORD, migrated, settings_for
from tests.homecare.logins import logins

CST = timezone(timedelta(hours=8))
NOW = datetime(2026, 11, 3, 10, 0, tzinfo=CST)
USERS = {
    "admin": ("bureau", (), None, None),
    "town-hl": ("town", ("汇龙镇",), None, None),
    "town-ny": ("town", ("南阳镇",), None, None),
    "mgr-kangle": ("provider", (), "p-kangle", None),
    "mgr-leling": ("provider", (), "p-leling", None),
    "carer-k01": ("caregiver", (), None, "K01"),
    "staff-hl1": ("station", (), None, None),
    "dispatch": ("dispatch", (), None, None),
}


@pytest.fixture(scope="module")
def sim() -> HomecareSim:
    return simulate(date(2026, 10, 1), 31, 17)


@pytest.fixture
def client(tmp_path: Path, sim: HomecareSim) -> Iterator[TestClient]:
    engine: Engine = migrated(f"sqlite:///{tmp_path / 'api.db'}")
    with make_session_factory(engine).begin() as session:
        load(session, sim, NOW)
        for name, (role, towns, provider, caregiver) in USERS.items():
            if name in ("admin", "town-hl", "staff-hl1", "dispatch"):
                continue  # made by the API tests' seed
            user = User(name=name, role=role, password_hash=hash_password(PASSWORD), provider_id=provider,
                        caregiver_id=caregiver)
            user.towns = [UserTown(town=t) for t in towns]
            session.add(user)
    app = create_app(settings_for(tmp_path), config=ApiConfig(clock=lambda: NOW), engine=engine)
    with TestClient(app) as test_client:
        yield test_client
    engine.dispose()


@pytest.fixture
def as_user(client: TestClient) -> Callable[[str], TestClient]:
    return logins(client, PASSWORD)


API = "/api/v1/homecare"


def _get(as_user: Callable[[str], TestClient], user: str, path: str, **params: Any) -> Any:
    response = as_user(user).get(API + path, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def test_every_role_sees_its_own_scope_only(as_user: Callable[[str], TestClient], sim: HomecareSim) -> None:
    def visits(user: str) -> set[str]:
        return {v["key"] for v in _get(as_user, user, "/visits", limit=5000)}

    everything = {v.id for v in sim.visits}
    assert visits("admin") == everything
    assert visits("town-hl") == {v.id for v in sim.visits if v.elder.startswith("hl-")}
    assert visits("mgr-leling") == {v.id for v in sim.visits if v.provider == "p-leling"}
    assert visits("carer-k01") == {v.id for v in sim.visits if v.caregiver == "K01"}
    assert {e["id"] for e in _get(as_user, "carer-k01", "/elders")} == {v.elder for v in sim.visits
                                                                         if v.caregiver == "K01"}
    assert [p["id"] for p in _get(as_user, "mgr-kangle", "/providers")] == ["p-kangle"]
    assert {c["id"] for c in _get(as_user, "mgr-kangle", "/caregivers")} == {"K01", "K02", "K03", "K04", "K05",
                                                                            "K06"}
    for outsider in ("staff-hl1", "dispatch"):
        assert as_user(outsider).get(API + "/visits").status_code == 403
    # A caregiver sees no figures, complaints or other people's orders; a provider cannot look at another's visit.
    assert as_user("carer-k01").get(API + "/figures/providers/2026-10").status_code == 403
    other = next(v.id for v in sim.visits if v.provider == "p-leling")
    assert as_user("mgr-kangle").post(f"{API}/visits/{other}/void", json={"reason": "x"}).status_code == 404
    # Filters never widen a scope.
    assert _get(as_user, "town-hl", "/elders", town="南阳镇") == []
    assert _get(as_user, "mgr-kangle", "/visits", provider="p-leling") == []


def _derive(tmp_path: Path, as_user: Callable[[str], TestClient], user: str, period: str) -> list[dict[str, Any]]:
    paths = {}
    for name in ("elders.csv", "visits.csv", "voided.csv", "made-up.csv", "categories.csv"):
        response = as_user(user).get(f"{API}/audit/{period}/{name}")
        assert response.status_code == 200, response.text
        paths[name] = tmp_path / f"{user}-{name}"
        paths[name].write_bytes(response.content)
    first = f"{period}-01"
    result = CliRunner().invoke(cli, ["cloud", "derive", "--elders", str(paths["elders.csv"]), "--visits",
                                      str(paths["visits.csv"]), "--voided", str(paths["voided.csv"]), "--made-up",
                                      str(paths["made-up.csv"]), "--categories", str(paths["categories.csv"]),
                                      "--from", first, "--to", first],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines()]


@pytest.mark.parametrize("user", ["admin", "town-hl", "mgr-leling"])
def test_cloud_derive_on_the_audit_files_agrees_with_the_api(as_user: Callable[[str], TestClient], tmp_path: Path,
                                                             sim: HomecareSim, user: str) -> None:
    lines = _derive(tmp_path, as_user, user, "2026-10")
    derived_elders = [ln for ln in lines if ln["type"] == "elder_month"]
    derived_providers = [ln for ln in lines if ln["type"] == "provider_month"]
    api_elders = _get(as_user, user, "/figures/elders/2026-10")["months"]
    assert derived_elders == api_elders and derived_elders
    for line in derived_elders:
        assert set(line) == {"type", "elder", "month", "category", "visits", "minutes", "required", "met"}
    api_providers = [m for f in _get(as_user, user, "/figures/providers/2026-10") for m in f["months"]]
    assert derived_providers == api_providers
    for line in derived_providers:
        assert set(line) == {"type", "provider", "month", "orders", "counted", "voided", "elders", "elders_met"}
    if user == "admin":
        by_elder = {ln["elder"]: ln for ln in derived_elders}
        assert by_elder[sim.short_elder]["met"] is False
        hospital = by_elder[sim.hospital_elder]
        assert hospital["visits"] == 0 and hospital["met"] is True  # a recorded special month, made up next month
        kangle = next(ln for ln in derived_providers if ln["provider"] == "p-kangle")
        leling = next(ln for ln in derived_providers if ln["provider"] == "p-leling")
        assert kangle["orders"] == sum(v.provider == "p-kangle" for v in sim.visits)
        assert leling["voided"] == 1  # the order voided for quality, in the audit's voided.csv


def test_provider_figures_follow_ups_complaints_and_renewal(as_user: Callable[[str], TestClient],
                                                           sim: HomecareSim) -> None:
    keys = [v.id for v in sim.visits if v.provider == "p-leling" and not v.voided][:10]
    assert len(keys) == 10
    town = as_user("town-ny")
    for i, key in enumerate(keys):
        answer = "unsatisfied" if i == 0 else ("basic" if i < 4 else "satisfied")  # 9 of 10: 90 % exactly
        response = town.post(f"{API}/visits/{key}/followups", json={
            "called_at": NOW.isoformat(), "reached": True, "satisfaction": answer})
        assert response.status_code == 201, response.text
    complaint = town.post(f"{API}/complaints", json={"provider": "p-leling", "elder": "ny-001",
                                                     "received_at": "2026-10-15T10:00:00+08:00",
                                                     "text": "=HYPERLINK(\"http://x\",\"点击\") 护理员未到"})
    assert complaint.status_code == 201, complaint.text
    cid = complaint.json()["id"]
    assert town.post(f"{API}/complaints/{cid}/decision", json={"valid": True, "reason": "核实"}).status_code == 200
    # Town 汇龙镇 cannot judge 南阳镇's provider's complaint, nor record a survey for another town.
    assert as_user("town-hl").post(f"{API}/complaints/{cid}/decision",
                                   json={"valid": False, "reason": "x"}).status_code == 404
    [leling] = _get(as_user, "town-ny", "/figures/providers/2026")
    service = leling["service"]
    assert (service["answers"], service["satisfied"], service["satisfaction"]) == (10, 9, 0.9)
    # 90 % is 90%以上: no rectification, renewal for one year.
    assert service["renewal_years"] == 1 and service["satisfaction_consequence"] == "ok"
    [month] = _get(as_user, "mgr-leling", "/figures/providers/2026-10")
    assert month["service"]["valid_complaints"] == 1 and month["service"]["followed_up"] == 10
    assert month["service"]["complaint_consequence"] == "rectify"  # 1 of ~17 orders is above 2.5 %
    # A town officer of 汇龙镇 sees only 汇龙镇's provider.
    assert [f["provider"] for f in _get(as_user, "town-hl", "/figures/providers/2026-Q4")] == ["p-kangle"]
    # 汇龙镇's provider had no follow-up answered all year: its renewal cannot be judged, which is not "no renewal".
    [kangle] = _get(as_user, "town-hl", "/figures/providers/2026")
    assert (kangle["service"]["answers"], kangle["service"]["renewal_years"]) == (0, None)


def test_excel_exports_are_chinese_and_never_formulas(as_user: Callable[[str], TestClient]) -> None:
    town = as_user("admin")
    town.post(f"{API}/complaints", json={"provider": "p-kangle", "received_at": "2026-10-15T10:00:00+08:00",
                                         "text": "投诉"})
    town.put(f"{API}/providers/p-kangle", json={"name": "=HYPERLINK(\"http://evil\",\"点击\")", "town": "汇龙镇"})
    response = town.get(f"{API}/exports/providers/2026-10")
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.content))
    cells = [c for row in book.active.iter_rows() for c in row if c.value is not None]
    assert not [c for c in cells if c.data_type == "f"]
    texts = [str(c.value) for c in cells]
    assert "服务商考核" in texts[0] and "满意率" in texts and "'=HYPERLINK(\"http://evil\",\"点击\")" in texts
    elders = load_workbook(io.BytesIO(town.get(f"{API}/exports/elders/2026-10").content)).active
    header = [c.value for c in next(r for r in elders.iter_rows() if r[0].value == "老人编号")]
    assert header == ["老人编号", "姓名", "镇(街道)", "服务商", "月份", "类别", "有效服务次数", "服务分钟",
                      "应服务次数", "是否达标"]
    assert {row[5].value for row in elders.iter_rows() if row[4].value == "2026-10"} == {"高龄", "自理", "半失能",
                                                                                         "失能"}
    assert as_user("carer-k01").get(f"{API}/exports/elders/2026-10").status_code == 403
    # The year's sheet: a provider with no follow-up answered all year has no renewal outlook, not 不予续签.
    response = as_user("admin").get(f"{API}/exports/providers/2026")
    assert response.status_code == 200, response.text
    year = load_workbook(io.BytesIO(response.content)).active
    outlook = {row[0].value: row[-1].value for row in year.iter_rows() if row[0].value == "p-kangle"}
    assert outlook == {"p-kangle": "无回访应答，无法判断"}


def test_voiding_an_order_removes_it_from_the_count(as_user: Callable[[str], TestClient], sim: HomecareSim) -> None:
    elder = next(e for e in sim.elders if e.provider == "p-kangle" and e.category.value == "high_age"
                 and e.id not in (sim.short_elder, sim.hospital_elder))
    mine = [v for v in sim.visits if v.elder == elder.id and v.sign_out and not v.voided
            and (v.sign_out - v.sign_in) >= timedelta(minutes=60)]

    def line() -> dict[str, Any]:
        months = _get(as_user, "mgr-kangle", "/figures/elders/2026-10")["months"]
        return next(m for m in months if m["elder"] == elder.id)

    before = line()
    assert before["visits"] == len(mine)
    response = as_user("mgr-kangle").post(f"{API}/visits/{mine[0].id}/void", json={"reason": "回访不合格"})
    assert response.status_code == 200 and response.json()["voided_by"] == "mgr-kangle"
    assert line()["visits"] == len(mine) - 1
    assert as_user("mgr-kangle").post(f"{API}/visits/{mine[0].id}/void",
                                      json={"reason": "again"}).status_code == 400
    _ = UTC


def test_hostile_input_is_refused_never_a_server_error(as_user: Callable[[str], TestClient]) -> None:
    from urllib.parse import quote

    from tests.api.hostile import NASTY

    templates = ["/elders?town={}", "/elders?provider={}", "/visits?caregiver={}", "/visits?from={}",
                 "/caregivers?provider={}", "/figures/elders/{}", "/figures/providers/{}", "/exports/elders/{}",
                 "/audit/2026-10/{}", "/followups/samples/{}"]
    for user in ("admin", "carer-k01", "town-hl"):
        client = as_user(user)
        for template in templates:
            for value in NASTY:
                if not value and "?" not in template:
                    continue
                response = client.get(API + template.format(quote(value, safe="")))
                assert response.status_code < 500, (user, template, value, response.text)
    admin = as_user("admin")
    for body in ({"provider": "p-kangle", "received_at": "2026-10-15T10:00:00", "text": "naive time"},
                 {"provider": "' OR 1=1 --", "received_at": "2026-10-15T10:00:00+08:00", "text": "x"},
                 {"provider": "p-kangle", "received_at": "2026-10-15T10:00:00+08:00", "text": "x\x00y"}):
        assert admin.post(f"{API}/complaints", json=body).status_code in (201, 400, 404, 422)
    assert admin.put(f"{API}/elders/e-new", json={"name": "x", "category": "bedridden", "town": "汇龙镇",
                                                    "provider": "p-kangle"}).status_code == 422
    assert admin.put(f"{API}/elders/e-new", json={"name": "x", "category": "disabled", "town": "汇龙镇",
                                                    "provider": "p-none"}).status_code == 400
    assert admin.post(f"{API}/visits/no-such-visit/void", json={"reason": "x"}).status_code == 404


def _elder_body(row: dict[str, Any], **change: Any) -> dict[str, Any]:
    body = {k: row[k] for k in ("name", "category", "town", "address", "package", "lat", "lon", "since", "until")}
    return {**body, "provider": row["provider_id"], **change}


def test_the_service_period_is_set_by_the_bureau_and_towns_audited_and_derive_agrees(
        as_user: Callable[[str], TestClient], tmp_path: Path, sim: HomecareSim) -> None:
    rows = {e["id"]: e for e in _get(as_user, "admin", "/elders")}
    kangle = sorted(e.id for e in sim.elders if e.provider == "p-kangle" and e.id not in (sim.short_elder,
                                                                                        sim.hospital_elder))
    joiner = next(e for e in kangle if any(v.elder == e and v.sign_in.astimezone(CST).day < 25 for v in sim.visits))
    leaver = next(e for e in kangle if e != joiner and any(v.elder == e for v in sim.visits))
    before = {ln["elder"]: ln for ln in _get(as_user, "admin", "/figures/elders/2026-10")["months"]}
    # A provider may not set or move the period that decides what it owes, not even for its own elder.
    refused = as_user("mgr-kangle").put(f"{API}/elders/{joiner}",
                                        json=_elder_body(rows[joiner], since="2026-10-25"))
    assert refused.status_code == 403
    # Nor another town's officer: that elder is not found there (as everywhere else in the API).
    assert as_user("town-ny").put(f"{API}/elders/{joiner}",
                                  json=_elder_body(rows[joiner], since="2026-10-25")).status_code == 404
    assert {e["id"]: e for e in _get(as_user, "admin", "/elders")}[joiner]["since"] is None
    # The bureau and the elder's town may; a period ending before it starts is refused.
    assert as_user("admin").put(f"{API}/elders/{joiner}", json=_elder_body(
        rows[joiner], since="2026-10-25", until="2026-10-24")).status_code == 422
    assert as_user("admin").put(f"{API}/elders/{joiner}", json=_elder_body(
        rows[joiner], since="2026/10/25")).status_code == 422
    response = as_user("admin").put(f"{API}/elders/{joiner}", json=_elder_body(rows[joiner], since="2026-10-25"))
    assert response.status_code == 200 and response.json()["since"] == "2026-10-25", response.text
    response = as_user("town-hl").put(f"{API}/elders/{leaver}", json=_elder_body(rows[leaver], until="2026-09-30"))
    assert response.status_code == 200, response.text
    log = as_user("admin").get("/api/v1/audit", params={"target_kind": "elder"}).json()
    assert [(e["actor"], e["action"], e["target"], e["before"], e["after"]) for e in log] == [
        ("town-hl", "elder.change", leaver, {"until": None}, {"until": "2026-09-30"}),
        ("admin", "elder.change", joiner, {"since": None}, {"since": "2026-10-25"})]
    # The API's figures: the joiner owes 7 of October's 31 days, the leaver's October is not judged, and the
    # joiner's orders before the 25th are counted and flagged.
    figures = _get(as_user, "admin", "/figures/elders/2026-10")
    after = {ln["elder"]: ln for ln in figures["months"]}
    assert leaver not in after and before[leaver]["month"] == "2026-10"
    category = after[joiner]["category"]
    minimum = {"high_age": 1, "self_care": 1, "semi_disabled": 2, "disabled": 4}[category]
    assert after[joiner]["required"] == -(-minimum * 7 // 31) and after[joiner]["visits"] == before[joiner]["visits"]
    early = sorted(v.id for v in sim.visits if v.elder == joiner and v.sign_in.astimezone(CST).day < 25)
    assert early and sorted(f["visit"] for f in figures["outside_period"] if f["elder"] == joiner) == early
    assert {f["reason"] for f in figures["outside_period"] if f["elder"] == joiner} == {"before_since"}
    assert {f["reason"] for f in figures["outside_period"] if f["elder"] == leaver} == {"after_until"}
    [provider] = [m for f in _get(as_user, "admin", "/figures/providers/2026-10") for m in f["months"]
                  if m["provider"] == "p-kangle"]
    assert provider["elders"] == sum(e.provider == "p-kangle" for e in sim.elders) - 1
    # The offline recompute on the audit files prints the same figures, for the bureau and the town.
    for user in ("admin", "town-hl"):
        lines = _derive(tmp_path, as_user, user, "2026-10")
        api = _get(as_user, user, "/figures/elders/2026-10")
        assert [ln for ln in lines if ln["type"] == "elder_month"] == api["months"]
        assert [ln for ln in lines if ln["type"] == "outside_period"] == api["outside_period"]
        assert [ln for ln in lines if ln["type"] == "provider_month"] == [
            m for f in _get(as_user, user, "/figures/providers/2026-10") for m in f["months"]]


def test_months_not_over_are_not_judged(as_user: Callable[[str], TestClient]) -> None:
    # The API's clock is 3 November: November and December are not over, so no elder has missed them yet.
    for provider in _get(as_user, "admin", "/figures/providers/2026"):
        assert provider["running"] == ["2026-11", "2026-12"]
        over = [m for m in provider["months"] if m["month"] < "2026-11"]
        assert provider["elder_months"] == sum(m["elders"] for m in over) > 0
        assert provider["elder_months_met"] == sum(m["elders_met"] for m in over)
    assert _get(as_user, "admin", "/figures/elders/2026-11")["running"] == ["2026-11"]
    assert _get(as_user, "admin", "/figures/elders/2026-10")["running"] == []
    response = as_user("admin").get(f"{API}/exports/elders/2026-11")
    assert response.status_code == 200, response.text
    rows = list(load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))
    verdicts = {row[-1] for row in rows if row[4] == "2026-11"}
    assert "进行中" in verdicts and "否" not in verdicts, verdicts
