"""API scope swept over every GET route the OpenAPI document lists (so a route added later is covered too):
station staff never see a spot-check plan, and nobody reaches another scope's station by id; injection attempts in
filter parameters return nothing extra and change nothing."""

import re
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote

from fastapi.testclient import TestClient

V1 = "/api/v1"
# Path parameters filled with the caller's own things (or, for `other`, someone else's).
OWN = {"station_id": "hl-01", "station": "hl-01", "day": "2026-10-09", "date": "2026-10-09", "month": "2026-10",
       "year": "2026", "town": "汇龙镇"}
SKIP = {f"{V1}/alerts/stream"}  # never ends; its scope is tested over a real server in tests/api/test_stream.py


def get_routes(client: TestClient) -> list[str]:
    schema = client.get(f"{V1}/openapi.json").json()
    return sorted(path for path, ops in schema["paths"].items() if "get" in ops and path not in SKIP)


def fill(path: str, values: dict[str, str], ids: dict[str, list[str]]) -> Iterator[str]:
    """The route with every {param} filled; `{…_id}` of alerts, plans and the like from `ids` (one URL per id)."""
    names = re.findall(r"{(\w+)}", path)
    unknown = [n for n in names if n not in values]
    if not unknown:
        yield path.format(**{n: quote(values[n]) for n in names})
        return
    for value in ids.get(path, []):
        yield path.format(**{n: quote(values.get(n, value)) for n in names})


def _ids(admin: TestClient) -> dict[str, list[str]]:
    alerts = [str(a["id"]) for a in admin.get(f"{V1}/alerts").json()]
    plans = [str(p["id"]) for p in admin.get(f"{V1}/spot-checks").json()]
    return {f"{V1}/alerts/{{alert_id}}": alerts, f"{V1}/spot-checks/{{plan_id}}": plans}


def _texts(client: TestClient, urls: list[str]) -> Iterator[tuple[str, int, str]]:
    for url in urls:
        response = client.get(url)
        yield url, response.status_code, response.text


def test_station_staff_never_see_a_spot_check_plan(fleet_as: Callable[[str], TestClient]) -> None:
    admin = fleet_as("admin")
    # A future, unannounced check with a distinctive time: the thing staff must not learn.
    created = admin.post(f"{V1}/spot-checks", json={"date": "2026-10-21", "start": "14:17", "end": "15:43"})
    assert created.status_code in (200, 201), created.text
    assert "14:17" in admin.get(f"{V1}/spot-checks").text  # the thing being hidden exists, for the bureau
    ids = _ids(admin)
    routes = get_routes(admin)
    assert len(routes) >= 15
    urls = [u for r in routes for u in fill(r, OWN, ids)]
    staff = fleet_as("staff-hl1")
    seen: list[str] = []
    for url, status, text in _texts(staff, urls):
        assert status < 500, (url, status)
        if status == 200:
            seen.append(url)
        assert "14:17" not in text and "15:43" not in text and "2026-10-21" not in text, url
    assert len(seen) >= 8, f"staff reached too few routes for the sweep to mean anything: {seen}"
    dashboard = staff.get("/")
    assert "14:17" not in dashboard.text


def test_other_scopes_by_id_are_refused_on_every_station_route(fleet_as: Callable[[str], TestClient]) -> None:
    admin = fleet_as("admin")
    routes = [r for r in get_routes(admin) if "{station_id}" in r or "{station}" in r]
    assert len(routes) >= 3
    other = {**OWN, "station_id": "nh-01", "station": "nh-01"}
    urls = [u for r in routes for u in fill(r, other, {})]
    # The failure guarded against exists: the bureau does get these stations' data.
    reachable = [u for u, status, _ in _texts(admin, urls) if status == 200]
    assert reachable, "nothing to protect: the routes answer nobody"
    for user in ("staff-hl1", "town-hl", "dispatch"):
        client = fleet_as(user)
        for url in reachable:
            response = client.get(url)
            assert response.status_code in (403, 404), (user, url, response.status_code)
            assert "南阳一站" not in response.text, (user, url)


INJECTIONS = ["' OR '1'='1", "' OR 1=1 --", "hl-01' OR 'a'='a", "%' OR '%'='", "x'; DELETE FROM stations; --",
              "汇龙镇' UNION SELECT id, name FROM users --"]
FILTERS = ["/stations?town={}", "/stations?grade={}", "/stations?state={}", "/alerts?station={}", "/alerts?town={}",
           "/alerts?kind={}", "/alerts?status={}", "/activities?station={}", "/spot-checks/results?station={}"]


def _rows(response: Any) -> int:
    body = response.json()
    return len(body) if isinstance(body, list) else len(body.get("items", body)) if isinstance(body, dict) else 0


def test_injection_in_every_filter_returns_nothing_extra_and_changes_nothing(
        fleet_as: Callable[[str], TestClient]) -> None:
    admin = fleet_as("admin")
    stations_before = admin.get(f"{V1}/stations").json()
    assert len(stations_before) == 4
    for template in FILTERS:
        baseline = admin.get(V1 + template.format("no-such-value"))
        for attempt in INJECTIONS:
            response = admin.get(V1 + template.format(quote(attempt, safe="")))
            assert response.status_code in (200, 400, 422), (template, attempt, response.status_code)
            if response.status_code == 200 and baseline.status_code == 200:
                assert _rows(response) == _rows(baseline), (template, attempt)  # no tautology leaked rows
            assert "password" not in response.text.lower() or "password_hash" not in response.text
    assert admin.get(f"{V1}/stations").json() == stations_before
