"""A town officer's home-care scope cannot be widened by the town itself, and reaches only its own towns' records:
filing an elder under another town's provider, moving another town's caregiver, reading or deciding another town's
complaints, or telling from a refusal which town an elder lives in. Through the real API on SQLite and PostgreSQL.

Two towns, each with its own provider, caregiver and elders: 汇龙镇 (p-hl, HL001, E-HL-1, E-HL-2) and 南阳镇
(p-nh, NH001, E-NH-1, E-NH-2)."""

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from cloud.api.app import create_app
from cloud.api.config import ApiConfig
from cloud.api.security import hash_password
from cloud.homecare.records import Caregiver, Category, Elder, Provider
from cloud.homecare.store.registry import upsert_caregiver, upsert_elder, upsert_provider
from cloud.homecare.store.visits import record_sign_in
from cloud.store.db import make_session_factory
from cloud.store.users import User, UserTown
from tests.api.conftest import PASSWORD, migrated, settings_for
from tests.homecare.logins import Login, logins

CST = timezone(timedelta(hours=8))
NOW = datetime(2026, 11, 3, 10, 0, tzinfo=CST)
API = "/api/v1/homecare"
# Made here; `admin` (bureau) and `town-hl` (汇龙镇) are the API tests' seed.
USERS = {"town-ny": ("town", ("南阳镇",), None), "prov-nh": ("provider", (), "p-nh"),
         "prov-hl": ("provider", (), "p-hl")}


@pytest.fixture
def as_user(db_url: str, tmp_path: Path) -> Iterator[Login]:
    engine: Engine = migrated(db_url)
    with make_session_factory(engine).begin() as session:
        upsert_provider(session, Provider("p-hl", "汇龙为老服务中心", "汇龙镇"))
        upsert_provider(session, Provider("p-nh", "南阳为老服务中心", "南阳镇"))
        session.flush()
        upsert_caregiver(session, Caregiver("HL001", "王芳", "p-hl"))
        upsert_caregiver(session, Caregiver("NH001", "李娟", "p-nh"))
        for elder_id, town, provider in (("E-HL-1", "汇龙镇", "p-hl"), ("E-HL-2", "汇龙镇", "p-hl"),
                                         ("E-NH-1", "南阳镇", "p-nh"), ("E-NH-2", "南阳镇", "p-nh")):
            upsert_elder(session, Elder(elder_id, f"老人{elder_id}", Category.DISABLED, town, provider))
        session.flush()
        # One order of 南阳镇's, for complaints that name a visit.
        record_sign_in(session, key="nh-visit-1", elder_id="E-NH-1", caregiver_id="NH001", by="NH001",
                       at=datetime(2026, 10, 10, 9, 0, tzinfo=CST), now=datetime(2026, 10, 10, 9, 0, tzinfo=CST))
        for name, (role, towns, provider_id) in USERS.items():
            user = User(name=name, role=role, password_hash=hash_password(PASSWORD), provider_id=provider_id)
            user.towns = [UserTown(town=t) for t in towns]
            session.add(user)
    app = create_app(settings_for(tmp_path), config=ApiConfig(clock=lambda: NOW), engine=engine)
    with TestClient(app) as client:
        yield logins(client, PASSWORD)
    engine.dispose()


def _get(as_user: Login, user: str, path: str) -> Any:
    response = as_user(user).get(API + path)
    assert response.status_code == 200, response.text
    return response.json()


def _elder(elder_id: str, town: str, provider: str) -> dict[str, Any]:
    return {"name": f"老人{elder_id}", "category": "disabled", "town": town, "provider": provider}


def _providers(as_user: Login, user: str) -> dict[str, str]:
    """Each elder's provider, as the bureau reads the registry."""
    return {e["id"]: e["provider_id"] for e in _get(as_user, user, "/elders")}


def _employers(as_user: Login) -> dict[str, str]:
    return {c["id"]: c["provider_id"] for c in _get(as_user, "admin", "/caregivers")}


# --- 1. a town cannot bring another town's provider (and its caregivers) into its scope ---------------------------


def test_a_town_cannot_file_its_elder_under_another_towns_provider_to_take_its_caregivers(as_user: Login) -> None:
    town = as_user("town-hl")
    # Its own elder filed under 南阳镇's provider (which would make p-nh "serve" 汇龙镇), and a new elder so.
    moved = town.put(f"{API}/elders/E-HL-1", json=_elder("E-HL-1", "汇龙镇", "p-nh"))
    assert moved.status_code == 404, moved.text
    assert "p-nh" in moved.json()["detail"]
    added = town.put(f"{API}/elders/E-HL-9", json=_elder("E-HL-9", "汇龙镇", "p-nh"))
    assert added.status_code == 404, added.text
    registry = _providers(as_user, "admin")
    assert registry["E-HL-1"] == "p-hl" and "E-HL-9" not in registry
    # So 南阳镇's provider, its caregiver and its staff stay out of 汇龙镇's reach.
    assert [p["id"] for p in _get(as_user, "town-hl", "/providers")] == ["p-hl"]
    assert [c["id"] for c in _get(as_user, "town-hl", "/caregivers")] == ["HL001"]
    taken = as_user("town-hl").put(f"{API}/caregivers/NH001", json={"name": "李娟", "provider": "p-hl"})
    assert taken.status_code == 404, taken.text
    assert "南阳镇" not in taken.json()["detail"] and "p-nh" not in taken.json()["detail"]
    assert _employers(as_user) == {"HL001": "p-hl", "NH001": "p-nh"}
    # Its own elders and caregivers it still edits.
    own = as_user("town-hl").put(f"{API}/elders/E-HL-1", json={**_elder("E-HL-1", "汇龙镇", "p-hl"), "package": "A"})
    assert own.status_code == 200, own.text
    hired = as_user("town-hl").put(f"{API}/caregivers/HL002", json={"name": "赵敏", "provider": "p-hl"})
    assert hired.status_code == 200, hired.text


def test_a_provider_the_bureau_brings_in_serves_the_town_but_its_staff_stay_its_home_towns(as_user: Login) -> None:
    # The bureau contracts 南阳镇's provider for one of 汇龙镇's elders.
    assigned = as_user("admin").put(f"{API}/elders/E-HL-2", json=_elder("E-HL-2", "汇龙镇", "p-nh"))
    assert assigned.status_code == 200, assigned.text
    assert [p["id"] for p in _get(as_user, "town-hl", "/providers")] == ["p-hl", "p-nh"]
    town = as_user("town-hl")
    # 汇龙镇 may edit that elder keeping the bureau's assignment, and now file its other elders with p-nh.
    assert town.put(f"{API}/elders/E-HL-2", json={**_elder("E-HL-2", "汇龙镇", "p-nh"),
                                                  "package": "B"}).status_code == 200
    assert town.put(f"{API}/elders/E-HL-1", json=_elder("E-HL-1", "汇龙镇", "p-nh")).status_code == 200
    assert _providers(as_user, "admin") == {"E-HL-1": "p-nh", "E-HL-2": "p-nh", "E-NH-1": "p-nh",
                                            "E-NH-2": "p-nh"}
    # But p-nh's staff are not 汇龙镇's to edit: NH001 is neither moved, renamed, nor joined by a new job number,
    # and 汇龙镇's own caregiver is not moved to p-nh either.
    for caregiver_id, body in (("NH001", {"name": "李娟", "provider": "p-hl"}),
                               ("NH001", {"name": "改名", "provider": "p-nh"}),
                               ("NH009", {"name": "新人", "provider": "p-nh"}),
                               ("HL001", {"name": "王芳", "provider": "p-nh"})):
        response = as_user("town-hl").put(f"{API}/caregivers/{caregiver_id}", json=body)
        assert response.status_code == 403, (caregiver_id, body, response.text)
        assert "南阳镇" in response.json()["detail"]
    caregivers = {c["id"]: (c["name"], c["provider_id"]) for c in _get(as_user, "admin", "/caregivers")}
    assert caregivers == {"HL001": ("王芳", "p-hl"), "NH001": ("李娟", "p-nh")}
    # 南阳镇 and p-nh's own manager still edit p-nh's staff.
    assert as_user("town-ny").put(f"{API}/caregivers/NH001", json={"name": "李娟", "provider": "p-nh",
                                                                  "phone": "1"}).status_code == 200
    assert as_user("prov-nh").put(f"{API}/caregivers/NH002", json={"name": "周丽",
                                                                  "provider": "p-nh"}).status_code == 200


# --- 2. complaints are a town's by the elder they are about -----------------------------------------------------


def _complain(client: TestClient, elder: str | None, text: str, provider: str = "p-nh") -> Any:
    body = {"provider": provider, "received_at": "2026-10-15T10:00:00+08:00", "text": text}
    if elder is not None:
        body["elder"] = elder
    return client.post(f"{API}/complaints", json=body)


def test_a_town_reads_and_decides_only_complaints_about_its_own_elders(as_user: Login) -> None:
    # p-nh serves 汇龙镇 too (the bureau's assignment), so before the fix 汇龙镇 saw every p-nh complaint.
    assert as_user("admin").put(f"{API}/elders/E-HL-2", json=_elder("E-HL-2", "汇龙镇", "p-nh")).status_code == 200
    ny = _complain(as_user("town-ny"), "E-NH-1", "南阳镇老人：护理员未到")
    assert ny.status_code == 201, ny.text
    ny_id = ny.json()["id"]
    assert as_user("town-ny").post(f"{API}/complaints/{ny_id}/decision",
                                   json={"valid": True, "reason": "电话核实"}).status_code == 200
    hl = _complain(as_user("town-hl"), "E-HL-2", "汇龙镇老人：服务时间不足")
    assert hl.status_code == 201, hl.text
    hl_id = hl.json()["id"]

    def listed(user: str) -> set[int]:
        return {c["id"] for c in _get(as_user, user, "/complaints")}

    assert listed("town-hl") == {hl_id}
    assert listed("town-ny") == {ny_id}
    assert listed("prov-nh") == listed("admin") == {ny_id, hl_id}
    assert listed("prov-hl") == set()
    # 汇龙镇 cannot clear 南阳镇's valid complaint (lowering p-nh's complaint rate), nor 南阳镇 decide 汇龙镇's.
    cleared = as_user("town-hl").post(f"{API}/complaints/{ny_id}/decision", json={"valid": False, "reason": "不属实"})
    assert cleared.status_code == 404, cleared.text
    assert as_user("town-ny").post(f"{API}/complaints/{hl_id}/decision",
                                   json={"valid": True, "reason": "x"}).status_code == 404
    kept = {c["id"]: (c["valid"], c["decided_by"]) for c in _get(as_user, "admin", "/complaints")}
    assert kept == {ny_id: (True, "town-ny"), hl_id: (None, None)}
    [p_nh] = [f for f in _get(as_user, "admin", "/figures/providers/2026-10") if f["provider"] == "p-nh"]
    assert p_nh["service"]["valid_complaints"] == 1
    # The town decides its own.
    assert as_user("town-hl").post(f"{API}/complaints/{hl_id}/decision",
                                   json={"valid": True, "reason": "核实"}).status_code == 200


def test_a_towns_complaint_names_its_elder_so_the_town_can_find_it_again(as_user: Login) -> None:
    # A complaint about no elder belongs to no town: only the bureau records one (district-wide; in its figures).
    nameless = _complain(as_user("town-hl"), None, "电话投诉，未留姓名", provider="p-hl")
    assert nameless.status_code == 422, nameless.text
    assert "elder" in nameless.json()["detail"]
    assert _complain(as_user("admin"), None, "电话投诉，未留姓名", provider="p-hl").status_code == 201
    assert _get(as_user, "town-hl", "/complaints") == []
    # Another town's elder or visit is out of scope as ever.
    assert _complain(as_user("town-hl"), "E-NH-1", "x").status_code == 404
    by_visit = as_user("town-hl").post(f"{API}/complaints", json={
        "provider": "p-nh", "visit": "nh-visit-1", "received_at": "2026-10-15T10:00:00+08:00", "text": "x"})
    assert by_visit.status_code == 404, by_visit.text
    # The visit names the elder (so the town) when the elder is not given; given both, they must agree.
    own = as_user("town-ny").post(f"{API}/complaints", json={
        "provider": "p-nh", "visit": "nh-visit-1", "received_at": "2026-10-15T10:00:00+08:00", "text": "服务项目不符"})
    assert own.status_code == 201 and own.json()["elder_id"] == "E-NH-1", own.text
    mixed = as_user("admin").post(f"{API}/complaints", json={
        "provider": "p-nh", "elder": "E-NH-2", "visit": "nh-visit-1", "received_at": "2026-10-15T10:00:00+08:00",
        "text": "x"})
    assert mixed.status_code == 400 and "E-NH-2" in mixed.json()["detail"], mixed.text
    assert {c["elder_id"] for c in _get(as_user, "town-ny", "/complaints")} == {"E-NH-1"}


# --- 3. no answer tells a town where another town's elder lives ---------------------------------------------------


def test_another_towns_elder_is_not_found_by_any_route_and_cannot_be_overwritten(as_user: Login) -> None:
    town = as_user("town-hl")
    assert town.get(f"{API}/elders/E-NH-1/qr").status_code == 404
    for body in (_elder("E-NH-1", "南阳镇", "p-nh"), _elder("E-NH-1", "汇龙镇", "p-hl")):
        response = town.put(f"{API}/elders/E-NH-1", json=body)
        assert response.status_code == 404, response.text
        assert "南阳镇" not in response.json()["detail"]
    assert town.post(f"{API}/elders/E-NH-1/made-up-months", json={"month": "2026-10",
                                                                    "reason": "住院"}).status_code == 404
    [elder] = [e for e in _get(as_user, "admin", "/elders") if e["id"] == "E-NH-1"]
    assert (elder["town"], elder["provider_id"]) == ("南阳镇", "p-nh")
    # Naming another town in the body of a new elder is the caller's own mistake: 403, and nothing made.
    foreign = as_user("town-hl").put(f"{API}/elders/E-XX-1", json=_elder("E-XX-1", "南阳镇", "p-nh"))
    assert foreign.status_code == 403
    assert "E-XX-1" not in _providers(as_user, "admin")
