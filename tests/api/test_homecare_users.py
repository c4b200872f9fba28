"""Home-care accounts through the users API: the bureau creates a provider's manager tied to a registered provider and
a caregiver tied to a registered job number; a provider's manager manages its own caregivers' accounts and no one
else's; every change is audited; the new logins see what their role's scope gives them."""

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.api.conftest import PASSWORD
from tests.api.homecare_people import seed_homecare

V1 = "/api/v1"
As = Callable[[str], TestClient]
SECRET = "a-new-secret-pass"


@pytest.fixture
def people(engine: Engine) -> Engine:
    seed_homecare(engine)
    return engine


def _users(client: TestClient) -> dict[str, dict[str, object]]:
    response = client.get(f"{V1}/users")
    assert response.status_code == 200, response.text
    return {u["name"]: u for u in response.json()}


def _login(client: TestClient, name: str, password: str) -> dict[str, str]:
    response = client.post(f"{V1}/auth/token", data={"username": name, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def test_the_bureau_creates_provider_and_caregiver_accounts(as_user: As, people: Engine) -> None:
    admin = as_user("admin")
    for body in ({"name": "mgr-nh2", "role": "provider", "provider": "p-nh"},
                 {"name": "cg-nh1b", "role": "caregiver", "caregiver": "NH001"}):
        made = admin.post(f"{V1}/users", json={**body, "password": SECRET})
        assert made.status_code == 201, made.text
        assert (made.json()["provider"], made.json()["caregiver"]) == (body.get("provider"), body.get("caregiver"))
    for body, code, words in (
        ({"name": "x", "role": "provider"}, 422, "needs --provider"),
        ({"name": "x", "role": "caregiver"}, 422, "needs --caregiver"),
        ({"name": "x", "role": "provider", "provider": "p-zz"}, 422, "'p-zz' is not registered"),
        ({"name": "x", "role": "caregiver", "caregiver": "ZZ999"}, 422, "'ZZ999' is not registered"),
        ({"name": "x", "role": "caregiver", "caregiver": "HL 1"}, 422, "caregiver id"),
        ({"name": "x", "role": "bureau", "provider": "p-hl"}, 422, "only for --role provider"),
        ({"name": "x", "role": "provider", "provider": "p-hl", "caregiver": "HL001"}, 422, "only for --role caregiver"),
        ({"name": "x", "role": "station", "station": "hl-01", "caregiver": "HL001"}, 422, "only for --role caregiver"),
    ):
        response = admin.post(f"{V1}/users", json={**body, "password": SECRET})
        assert response.status_code == code, (body, response.text)
        assert words in response.json()["detail"], (body, response.text)
    assert "x" not in _users(admin)

    # The new logins see their provider's records only.
    headers = _login(admin, "mgr-nh2", SECRET)
    providers = admin.get(f"{V1}/homecare/providers", headers=headers).json()
    assert [p["id"] for p in providers] == ["p-nh"]
    headers = _login(admin, "cg-nh1b", SECRET)
    me = admin.get(f"{V1}/auth/me", headers=headers).json()
    assert (me["role"], me["caregiver"]) == ("caregiver", "NH001")

    # A role change drops the old scope; moving a caregiver account to another job number is audited.
    admin = as_user("admin")
    ids = {n: u["id"] for n, u in _users(admin).items()}
    moved = admin.patch(f"{V1}/users/{ids['cg-nh1b']}", json={"caregiver": "HL002"})
    assert moved.status_code == 200 and moved.json()["caregiver"] == "HL002", moved.text
    assert admin.patch(f"{V1}/users/{ids['mgr-nh2']}", json={"role": "caregiver"}).status_code == 422
    demoted = admin.patch(f"{V1}/users/{ids['mgr-nh2']}", json={"role": "dispatch"})
    assert demoted.status_code == 200 and demoted.json()["provider"] is None
    log = admin.get(f"{V1}/audit?target_kind=user").json()
    entries = {(e["action"], e["target"]): e for e in log}
    assert entries[("user.add", "mgr-nh2")]["after"]["provider"] == "p-nh"
    assert entries[("user.add", "cg-nh1b")]["after"]["caregiver"] == "NH001"
    change = next(e for e in log if e["action"] == "user.change" and e["target"] == "cg-nh1b")
    assert (change["before"], change["after"]) == ({"caregiver": "NH001"}, {"caregiver": "HL002"})
    change = next(e for e in log if e["action"] == "user.change" and e["target"] == "mgr-nh2")
    assert change["before"] == {"role": "provider", "provider": "p-nh"}
    assert change["after"] == {"role": "dispatch", "provider": None}


def test_a_provider_manages_its_own_caregivers_accounts_only(as_user: As, people: Engine) -> None:
    ids = {n: u["id"] for n, u in _users(as_user("admin")).items()}
    prov = as_user("prov-hl")
    assert set(_users(prov)) == {"cg-hl1", "cg-hl2"}  # not p-nh's caregiver, not itself, not the bureau
    made = prov.post(f"{V1}/users", json={"name": "cg-hl2b", "role": "caregiver", "caregiver": "HL002",
                                          "password": PASSWORD})
    assert made.status_code == 201, made.text
    for body, code in (
        ({"name": "x", "role": "caregiver", "caregiver": "NH001"}, 422),  # another provider's caregiver
        ({"name": "x", "role": "caregiver", "caregiver": "ZZ999"}, 422),
        ({"name": "x", "role": "provider", "provider": "p-hl"}, 403),
        ({"name": "x", "role": "station", "station": "hl-01"}, 403),
        ({"name": "x", "role": "bureau"}, 403),
    ):
        response = prov.post(f"{V1}/users", json={**body, "password": PASSWORD})
        assert response.status_code == code, (body, response.text)
    for other in ("cg-nh1", "prov-nh", "prov-hl", "admin", "staff-hl1", "town-hl"):
        assert prov.post(f"{V1}/users/{ids[other]}/disable").status_code == 404, other
        assert prov.post(f"{V1}/users/{ids[other]}/password",
                         json={"password": "another-long-pass"}).status_code == 404, other
        assert prov.patch(f"{V1}/users/{ids[other]}", json={"caregiver": "HL001"}).status_code == 404, other
    mine = made.json()["id"]
    assert prov.patch(f"{V1}/users/{mine}", json={"caregiver": "HL001"}).json()["caregiver"] == "HL001"
    assert prov.patch(f"{V1}/users/{mine}", json={"caregiver": "NH001"}).status_code == 422
    assert prov.patch(f"{V1}/users/{mine}", json={"role": "provider", "provider": "p-hl"}).status_code == 403
    assert prov.post(f"{V1}/users/{mine}/disable").json()["active"] is False
    assert prov.post(f"{V1}/users/{mine}/password", json={"password": "another-long-pass"}).status_code == 200
    log = as_user("admin").get(f"{V1}/audit?actor=prov-hl").json()
    assert [e["action"] for e in reversed(log)] == ["user.add", "user.change", "user.disable", "user.password"]
    # A town officer still manages station staff only; a caregiver manages no one.
    town = as_user("town-hl")
    assert town.post(f"{V1}/users", json={"name": "x", "role": "caregiver", "caregiver": "HL001",
                                          "password": PASSWORD}).status_code == 403
    assert "cg-hl1" not in _users(town)
    assert as_user("cg-hl1").get(f"{V1}/users").status_code == 403
