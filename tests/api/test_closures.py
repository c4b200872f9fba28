"""Closure requests through the API, per role, and through the derivations: station staff ask and see only their
own; the town approves or rejects; approved days become exceptions the worker re-derives as excused; an approval
after a spot check judged the day keeps the failure until the bureau decides; the export is `cloud derive`'s CSV."""

from datetime import date, datetime, time, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from cloud.api.security import hash_password
from cloud.derive.offline import read_exceptions
from cloud.derive.plans import create_plan
from cloud.derive.recompute import recompute_station
from cloud.rules.config import RulesConfig
from cloud.store.db import make_session_factory
from cloud.store.derived import DayResult, SpotCheckPlan, SpotCheckResult, Veto
from cloud.store.models import DirtyStationDay, Station, StationException
from cloud.store.users import User
from tests.api.conftest import PASSWORD, token_for
from tests.api.fleet import NOW, ZONE


def _as(client: TestClient, user: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token_for(client, user)}"}


def _post(client: TestClient, user: str, path: str, body: dict[str, Any], expect: int = 200) -> Any:
    response = client.post("/api/v1" + path, json=body, headers=_as(client, user))
    assert response.status_code == expect, response.text
    return response.json()


def _ids(client: TestClient, user: str, query: str = "") -> list[int]:
    response = client.get("/api/v1/closures" + query, headers=_as(client, user))
    assert response.status_code == 200, response.text
    return [c["id"] for c in response.json()]


def _rederive(engine: Engine, station_id: str) -> None:
    """What the worker does with the days an approval marked dirty."""
    with make_session_factory(engine)() as session:
        days = list(session.scalars(select(DirtyStationDay.local_date)
                                    .where(DirtyStationDay.station_id == station_id)))
        assert days, "the approval marked nothing for the worker"
        station = session.get(Station, station_id)
        assert station is not None
        recompute_station(session, station, days, NOW.date(), RulesConfig(), NOW)
        session.query(DirtyStationDay).filter(DirtyStationDay.station_id == station_id).delete()
        session.commit()


def test_lifecycle_and_what_each_role_sees(fleet_client: TestClient, fleet_engine: Engine) -> None:
    asked = _post(fleet_client, "staff-hl1", "/closures",
                  {"first_day": "2026-10-12", "last_day": "2026-10-12", "reason": "台风停业"}, 201)
    assert asked["status"] == "requested" and asked["requested_by"] == "staff-hl1" and asked["station"] == "hl-01"
    other = _post(fleet_client, "staff-nh1", "/closures",
                  {"first_day": "2026-10-20", "last_day": "2026-10-22", "reason": "=HYPERLINK(\"http://x\")"}, 201)
    # Station staff see their own station's closures only; a town its towns'; the bureau all.
    assert _ids(fleet_client, "staff-hl1") == [asked["id"]]
    assert _ids(fleet_client, "staff-nh1") == [other["id"]]
    assert _ids(fleet_client, "staff-nh1", "?station=hl-01") == []
    assert _ids(fleet_client, "town-hl") == [asked["id"]]
    assert sorted(_ids(fleet_client, "admin")) == sorted([asked["id"], other["id"]])
    assert fleet_client.get("/api/v1/closures", headers=_as(fleet_client, "dispatch")).status_code == 403
    # Only station staff ask; only the town (in scope) or the bureau decide.
    _post(fleet_client, "admin", "/closures", {"first_day": "2026-10-20", "last_day": "2026-10-20", "reason": "x"}, 403)
    _post(fleet_client, "staff-hl1", f"/closures/{asked['id']}/approve", {"reason": "自己批"}, 403)
    _post(fleet_client, "town-hl", f"/closures/{other['id']}/approve", {"reason": "不是本镇"}, 404)
    _post(fleet_client, "staff-hl1", "/closures", {"first_day": "2026-10-12", "last_day": "2026-10-11",
                                                    "reason": "反了"}, 422)

    approved = _post(fleet_client, "town-hl", f"/closures/{asked['id']}/approve", {"reason": "台风红色预警"})
    assert (approved["status"], approved["decided_by"], approved["decision_reason"]) == (
        "approved", "town-hl", "台风红色预警")
    assert datetime.fromisoformat(approved["decided_at"]).astimezone(ZONE) == NOW and approved["late"] is False
    _post(fleet_client, "admin", f"/closures/{asked['id']}/reject", {"reason": "太迟"}, 409)
    rejected = _post(fleet_client, "admin", f"/closures/{other['id']}/reject", {"reason": "理由不足"})
    assert rejected["status"] == "rejected" and rejected["decided_by"] == "admin"

    # The approved day is re-derived as excused.
    _rederive(fleet_engine, "hl-01")
    with make_session_factory(fleet_engine)() as session:
        day = session.get(DayResult, ("hl-01", date(2026, 10, 12)))
        assert day is not None and day.verdict == "excused"

    # The export is the exceptions CSV `cloud derive` reads, scoped, never a formula.
    response = fleet_client.get("/api/v1/closures/exceptions.csv", headers=_as(fleet_client, "admin"))
    assert response.status_code == 200 and response.text.splitlines()[0] == "station,date,reason"
    assert read_exceptions(response.text) == {"hl-01": {date(2026, 10, 12): "台风停业"}}
    assert fleet_client.get("/api/v1/closures/exceptions.csv",
                            headers=_as(fleet_client, "staff-hl1")).status_code == 403


def test_export_never_writes_a_formula(fleet_client: TestClient, fleet_engine: Engine) -> None:
    asked = _post(fleet_client, "staff-hl1", "/closures",
                  {"first_day": "2026-10-20", "last_day": "2026-10-20", "reason": "=1+1"}, 201)
    _post(fleet_client, "town-hl", f"/closures/{asked['id']}/approve", {"reason": "ok"})
    text = fleet_client.get("/api/v1/closures/exceptions.csv", headers=_as(fleet_client, "town-hl")).text
    assert "hl-01,2026-10-20,'=1+1" in text.splitlines()


def test_a_late_approval_keeps_the_failed_check_until_the_bureau_decides(fleet_client: TestClient,
                                                                        fleet_engine: Engine) -> None:
    with make_session_factory(fleet_engine)() as session:
        session.add(User(name="staff-hl2", role="station", password_hash=hash_password(PASSWORD), station_id="hl-02"))
        session.commit()

    def failed() -> tuple[str, int]:
        with make_session_factory(fleet_engine)() as session:
            result = session.scalars(select(SpotCheckResult.result).where(SpotCheckResult.station_id == "hl-02")).one()
            veto = session.get(Veto, ("hl-02", 2026))
            return result, veto.failed if veto is not None else 0

    assert failed() == ("fail", 1)  # closed during the 2026-10-09 check
    # Asked for afterwards (the check already judged the day), and approved by the town.
    asked = _post(fleet_client, "staff-hl2", "/closures",
                  {"first_day": "2026-10-08", "last_day": "2026-10-09", "reason": "停电（补报）"}, 201)
    approved = _post(fleet_client, "town-hl", f"/closures/{asked['id']}/approve", {"reason": "情况属实"})
    assert approved["status"] == "approved" and approved["late"] is True
    assert approved["late_days"] == ["2026-10-09"] and approved["late_excused"] is None
    _rederive(fleet_engine, "hl-02")  # 10-08 (no check) is excused; 10-09 is not
    assert failed() == ("fail", 1)
    with make_session_factory(fleet_engine)() as session:
        excused = set(session.scalars(select(StationException.date).where(StationException.station_id == "hl-02")))
        assert excused == {date(2026, 10, 8)}
    # Only the bureau decides the judged day; its decision (who, when, why) is kept.
    _post(fleet_client, "town-hl", f"/closures/{asked['id']}/late-decision", {"excuse": True, "reason": "x"}, 403)
    decided = _post(fleet_client, "admin", f"/closures/{asked['id']}/late-decision",
                    {"excuse": True, "reason": "供电局证明停电"})
    assert (decided["late_excused"], decided["late_decided_by"], decided["late_decision_reason"]) == (
        True, "admin", "供电局证明停电")
    assert datetime.fromisoformat(decided["late_decided_at"]).astimezone(ZONE) == NOW
    _rederive(fleet_engine, "hl-02")
    assert failed() == ("excused", 0)
    _post(fleet_client, "admin", f"/closures/{asked['id']}/late-decision", {"excuse": False, "reason": "再改"}, 409)


def test_an_approved_closure_silences_the_offline_alert(fleet_client: TestClient, fleet_engine: Engine) -> None:
    from cloud.derive.runner import live_offline
    from cloud.store.models import Alert

    def offline_alerts() -> set[str]:
        with make_session_factory(fleet_engine)() as session:
            return set(session.scalars(select(Alert.station_id).where(Alert.kind == "station_offline",
                                                                      Alert.status != "resolved")))

    with make_session_factory(fleet_engine)() as session:
        session.query(Alert).filter(Alert.kind == "station_offline").delete()
        session.commit()
    asked = _post(fleet_client, "staff-nh1", "/closures",
                  {"first_day": "2026-10-12", "last_day": "2026-10-12", "reason": "设备搬迁，停业一天"}, 201)
    with make_session_factory(fleet_engine)() as session:  # before the approval: silent in working hours
        live_offline(session, list(session.scalars(select(Station))), RulesConfig(), NOW)
        session.commit()
    assert "nh-01" in offline_alerts()
    with make_session_factory(fleet_engine)() as session:
        session.query(Alert).filter(Alert.kind == "station_offline").delete()
        session.commit()
    _post(fleet_client, "admin", f"/closures/{asked['id']}/approve", {"reason": "同意"})
    with make_session_factory(fleet_engine)() as session:
        live_offline(session, list(session.scalars(select(Station))), RulesConfig(), NOW)
        session.commit()
    assert "nh-01" not in offline_alerts()


def test_a_closure_approved_once_a_check_is_under_way_does_not_excuse_it(fleet_client: TestClient,
                                                                         fleet_engine: Engine) -> None:
    """The inspector finds hl-02 shut at 09:30 during the bureau's 09:00-11:00 check; the station asks for today
    off at 10:00 and its town approves at once, before the window ends and the worker judges the check. The check
    had begun: the day is for the bureau to excuse, like a day already judged; tomorrow's check, not begun, is not."""
    with make_session_factory(fleet_engine)() as session:
        session.add(User(name="staff-hl2", role="station", password_hash=hash_password(PASSWORD), station_id="hl-02"))
        for day in (date(2026, 10, 12), date(2026, 10, 13)):
            create_plan(session, day=day, start=time(9, 0), end=time(11, 0), scope="stations", stations=["hl-02"],
                        created_by="admin", now=NOW - timedelta(days=1))
        session.commit()
    asked = _post(fleet_client, "staff-hl2", "/closures",
                  {"first_day": "2026-10-12", "last_day": "2026-10-13", "reason": "员工生病，临时闭站"}, 201)
    approved = _post(fleet_client, "town-hl", f"/closures/{asked['id']}/approve", {"reason": "同意"})  # at 10:00
    assert approved["late"] is True and approved["late_days"] == ["2026-10-12"]
    with make_session_factory(fleet_engine)() as session:
        excused = set(session.scalars(select(StationException.date).where(StationException.station_id == "hl-02")))
        assert excused == {date(2026, 10, 13)}
        # The worker judges the check once its window is over.
        station = session.get(Station, "hl-02")
        assert station is not None
        later = NOW + timedelta(hours=1, minutes=30)
        recompute_station(session, station, [date(2026, 10, 12)], NOW.date(), RulesConfig(), later)
        session.commit()
        results = dict(session.execute(
            select(SpotCheckPlan.local_date, SpotCheckResult.result)
            .join(SpotCheckPlan, SpotCheckPlan.id == SpotCheckResult.plan_id)
            .where(SpotCheckResult.station_id == "hl-02")).tuples().all())
        assert results[date(2026, 10, 12)] == "fail"
        veto = session.get(Veto, ("hl-02", 2026))
        assert veto is not None and veto.failed == 2  # 10-09 and 10-12
