from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from cloud.api.security import issue_token
from tests.api.conftest import PASSWORD, token_for


def test_login_returns_an_expiring_bearer_token(app_client: TestClient) -> None:
    response = app_client.post("/api/v1/auth/token", data={"username": "admin", "password": PASSWORD})
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 60 * 60
    me = app_client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    kinds = ["calendar_unknown_year", "emergency_call", "equipment_off", "homecare_complaints",
             "homecare_double_booked", "homecare_far_away", "homecare_just_long_enough", "homecare_late_uploads",
             "homecare_no_sign_out", "homecare_qr_rate", "homecare_satisfaction", "homecare_town_survey",
             "sensor_anomaly", "spot_check_closed", "spot_check_unverifiable", "station_offline"]
    assert me.json() == {"name": "admin", "role": "bureau", "towns": [], "station": None, "provider": None,
                         "caregiver": None,
                         "alert_actions": {"acknowledge": kinds, "resolve": kinds}, "timezone": "Asia/Shanghai"}


def test_wrong_password_and_unknown_user_get_the_same_401(app_client: TestClient) -> None:
    wrong = app_client.post("/api/v1/auth/token", data={"username": "admin", "password": "nope"})
    unknown = app_client.post("/api/v1/auth/token", data={"username": "nobody", "password": "nope"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()


def test_no_token_forged_token_and_expired_token_are_401(app_client: TestClient) -> None:
    assert app_client.get("/api/v1/stations").status_code == 401
    forged = issue_token(user_id=1, name="admin", secret="another-secret", minutes=5)
    assert app_client.get("/api/v1/stations", headers={"Authorization": f"Bearer {forged}"}).status_code == 401
    expired = issue_token(user_id=1, name="admin", secret="test-secret-key-that-is-long-enough", minutes=5,
                          now=datetime.now(UTC) - timedelta(minutes=10))
    assert app_client.get("/api/v1/stations", headers={"Authorization": f"Bearer {expired}"}).status_code == 401
    assert app_client.get("/api/v1/stations", headers={"Authorization": "Bearer x.y.z"}).status_code == 401


def test_login_is_rate_limited_per_user_and_address(app_client: TestClient) -> None:
    for _ in range(5):
        assert app_client.post("/api/v1/auth/token", data={"username": "admin", "password": "x"}).status_code == 401
    limited = app_client.post("/api/v1/auth/token", data={"username": "admin", "password": PASSWORD})
    assert limited.status_code == 429
    assert "Retry-After" in limited.headers
    # The address is spent too: another user name from it is refused (the real-server tests are in
    # test_login_limits.py), while that user from another address logs in.
    assert app_client.post("/api/v1/auth/token", data={"username": "dispatch", "password": PASSWORD}).status_code == 429
    with TestClient(app_client.app, client=("192.0.2.7", 40000)) as other:
        assert token_for(other, "dispatch")
