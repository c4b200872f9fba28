from collections.abc import Callable

from fastapi.testclient import TestClient

V1 = "/api/v1"


def test_overview_counts_todays_states_alerts_and_grade_progress(fleet_as: Callable[[str], TestClient]) -> None:
    body = fleet_as("admin").get(f"{V1}/overview").json()
    assert (body["date"], body["month"]) == ("2026-10-12", "2026-10")
    towns = {t["town"]: t for t in body["towns"]}
    assert (towns["汇龙镇"]["open"], towns["汇龙镇"]["closed"]) == (1, 1)
    assert (towns["南阳镇"]["open"], towns["南阳镇"]["unknown"]) == (1, 1)
    grades = {g["grade"]: g for g in body["grades"]}
    assert grades["3A"]["threshold"] == 100 and grades["3A"]["elders_median"] == 4 and grades["3A"]["met"] == 0
    # hl-02 (2A, shut every day) has no face data: its figure is unknown, not 0 elders.
    assert grades["2A"]["elders_median"] is None and grades["2A"]["unconfirmed"] == 1
    assert body["active_emergencies"] == 1 and body["active_alerts"] > 1
    town = fleet_as("town-hl").get(f"{V1}/overview").json()
    assert [t["town"] for t in town["towns"]] == ["汇龙镇"] and town["active_emergencies"] == 0
    dispatch = fleet_as("dispatch").get(f"{V1}/overview").json()
    assert dispatch["active_alerts"] == dispatch["active_emergencies"] == 1
    # Dispatch sees calls, never verdicts: no states by town, no month progress.
    assert dispatch["towns"] == [] and dispatch["grades"] == []


def test_station_staff_record_themed_activities(fleet_as: Callable[[str], TestClient]) -> None:
    staff = fleet_as("staff-hl1")
    body = {"station": "hl-01", "day": "2026-10-10", "theme": "重阳节敬老活动", "participants": 35}
    made = staff.post(f"{V1}/activities", json=body)
    assert made.status_code == 201, made.text
    assert made.json()["recorded_by"] == "staff-hl1"
    assert staff.get(f"{V1}/stations/hl-01/months/2026-10").json()["activities"] == 1
    assert [a["theme"] for a in fleet_as("town-hl").get(f"{V1}/activities?month=2026-10").json()] == ["重阳节敬老活动"]
    assert fleet_as("staff-nh1").get(f"{V1}/activities").json() == []
    # Only the station's own staff record, only for their station, never in the future.
    assert staff.post(f"{V1}/activities", json={**body, "station": "hl-02"}).status_code == 404
    assert fleet_as("admin").post(f"{V1}/activities", json=body).status_code == 403
    assert fleet_as("dispatch").get(f"{V1}/activities").status_code == 403
    staff = fleet_as("staff-hl1")
    assert staff.post(f"{V1}/activities", json={**body, "day": "2026-10-13"}).status_code == 422
    assert staff.post(f"{V1}/activities", json={**body, "participants": -1}).status_code == 422
    assert staff.post(f"{V1}/activities", json={**body, "theme": ""}).status_code == 422


def test_health_metrics_openapi_and_dashboard(fleet_client: TestClient) -> None:
    assert fleet_client.get("/healthz").json() == {"status": "ok", "database": "ok"}
    fleet_client.get(f"{V1}/stations")
    metrics = fleet_client.get("/metrics")
    assert metrics.status_code == 200
    assert 'eldercare_api_requests_total{method="GET",route="/api/v1/stations",status="401"}' in metrics.text
    paths = fleet_client.get(f"{V1}/openapi.json").json()["paths"]
    for path in ("/api/v1/auth/token", "/api/v1/stations", "/api/v1/stations/{station_id}/days/{day}",
                 "/api/v1/stations/{station_id}/months/{month}", "/api/v1/spot-checks", "/api/v1/alerts",
                 "/api/v1/alerts/stream", "/api/v1/alerts/{alert_id}/acknowledge", "/api/v1/activities",
                 "/api/v1/exports/stations/{station_id}/assessment/{year}", "/healthz"):
        assert path in paths, path
    page = fleet_client.get("/")
    assert page.status_code == 200 and "智慧养老监管平台" in page.text
    assert page.headers["content-security-policy"].startswith("default-src 'self'")
    assert page.headers["x-frame-options"] == "DENY"
    assert "cdn" not in page.text.lower() and "http" not in page.text.replace("http-equiv", "")
    echarts = fleet_client.get("/static/vendor/echarts.min.js")
    assert echarts.status_code == 200 and len(echarts.content) > 500_000
    docs = fleet_client.get("/api/v1/docs")
    assert docs.status_code == 200 and "cdn" not in docs.text.lower() and "http" not in docs.text
    assert docs.headers["content-security-policy"] == page.headers["content-security-policy"]
    for asset in ("vendor/swagger-ui-bundle.js", "vendor/swagger-ui.css", "api-docs.js"):
        assert fleet_client.get(f"/static/{asset}").status_code == 200, asset
