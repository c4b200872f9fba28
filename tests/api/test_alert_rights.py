"""Who may acknowledge and resolve which kind of alert, per role, on alerts of every kind at one station."""

from collections.abc import Callable
from datetime import UTC, datetime

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from cloud.alerts.kinds import AlertKind
from cloud.store.db import make_session_factory
from cloud.store.models import Alert

V1 = "/api/v1"
CALENDAR = AlertKind.CALENDAR_UNKNOWN_YEAR.value  # of the whole deployment, never of a station
KINDS = [k.value for k in AlertKind if k.value != CALENDAR]
SPOT = ("spot_check_closed", "spot_check_unverifiable")

# (acknowledge, resolve) status per role and kind, at station hl-01 (in every one of these users' scope).
# 404: the role does not see that kind at all; 403: it sees the alert but may not do this to it.
EXPECTED: dict[str, dict[str, tuple[int, int]]] = {
    "admin": dict.fromkeys(KINDS, (200, 200)),
    "town-hl": dict.fromkeys(KINDS, (200, 200)),
    "staff-hl1": {
        "emergency_call": (200, 200),
        # Staff may say they saw their station go offline or a sensor misbehave; only the town closes those.
        "station_offline": (200, 403),
        "sensor_anomaly": (200, 403),
        "equipment_off": (404, 404),  # evidence against the station: not shown to it at all
        **dict.fromkeys(SPOT, (404, 404)),
    },
    "dispatch": {kind: (200, 200) if kind == "emergency_call" else (404, 404) for kind in KINDS},
}


def raise_alert(engine: Engine, kind: str, key: str) -> int:
    station, level = (None, "bureau") if kind == CALENDAR else ("hl-01", "station")
    with make_session_factory(engine)() as session:
        alert = Alert(kind=kind, station_id=station, cause_key=key, status="raised", level=level,
                      raised_at=datetime.now(UTC), call_id=key if kind == "emergency_call" else None)
        session.add(alert)
        session.commit()
        return alert.id


def test_each_role_acts_only_on_the_kinds_the_table_gives_it(
    as_user: Callable[[str], TestClient], engine: Engine
) -> None:
    assert {kind for kind in AlertKind} == {*KINDS, CALENDAR}  # a kind added later must be given a row here
    for user, kinds in EXPECTED.items():
        for kind, (ack, resolve) in kinds.items():
            alert_id = raise_alert(engine, kind, f"{user}:{kind}")
            client = as_user(user)
            acked = client.post(f"{V1}/alerts/{alert_id}/acknowledge")
            assert acked.status_code == ack, (user, kind, acked.text)
            resolved = client.post(f"{V1}/alerts/{alert_id}/resolve", json={"notes": "已处理"})
            assert resolved.status_code == resolve, (user, kind, resolved.text)
            if resolve == 403:
                assert resolved.json()["detail"] == f"the station role may not resolve {kind} alerts"
            state = as_user("admin").get(f"{V1}/alerts/{alert_id}").json()["status"]
            expected_state = "resolved" if resolve == 200 else "acknowledged" if ack == 200 else "raised"
            assert state == expected_state, (user, kind)


def test_only_the_bureau_handles_the_deployments_calendar_alert(
    as_user: Callable[[str], TestClient], engine: Engine
) -> None:
    for user in ("town-hl", "staff-hl1", "dispatch"):
        alert_id = raise_alert(engine, CALENDAR, f"calendar:2027:{user}")
        client = as_user(user)
        assert client.post(f"{V1}/alerts/{alert_id}/acknowledge").status_code == 404, user
        assert client.post(f"{V1}/alerts/{alert_id}/resolve").status_code == 404, user
        assert CALENDAR not in client.get(f"{V1}/auth/me").json()["alert_actions"]["resolve"]
    admin = as_user("admin")
    assert admin.post(f"{V1}/alerts/{alert_id}/acknowledge").status_code == 200
    assert admin.post(f"{V1}/alerts/{alert_id}/resolve").status_code == 200


def test_station_staff_cannot_clear_the_offline_alert_of_their_own_station(
    as_user: Callable[[str], TestClient], engine: Engine
) -> None:
    """The attack as a station would try it: its agent went offline (the town's alert); staff resolve it themselves.
    Before the table, staff could; now it takes the town, and the alert stays open on the town's list."""
    alert_id = raise_alert(engine, "station_offline", "offline:hl-01")
    staff = as_user("staff-hl1")
    assert staff.get(f"{V1}/alerts/{alert_id}").status_code == 200
    assert staff.post(f"{V1}/alerts/{alert_id}/resolve").status_code == 403
    town = as_user("town-hl")
    assert [a["id"] for a in town.get(f"{V1}/alerts?active=true&kind=station_offline").json()] == [alert_id]
    assert town.post(f"{V1}/alerts/{alert_id}/resolve").json()["resolved_by"] == "town-hl"
