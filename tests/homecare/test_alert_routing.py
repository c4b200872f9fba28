"""Home-care alerts reach the towns of the elders they are about, through the API the dashboard reads, on SQLite
and PostgreSQL. Provider p-hl, based in 汇龙镇, serves elders in 汇龙镇 (E-HL-*) and 南阳镇 (E-NY-*): each kind of
fraud signal and rate alert is raised, and no town's officer finds the other town's elders or visits in any alert, in
the list or in the counts. Alerts stored under the old routing (to the provider's town) are moved by revision
0019_homecare_alert_towns and then re-routed by the pass, never duplicated."""

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from cloud.alerts import service
from cloud.alerts.kinds import AlertKind, AlertLevel, AlertSpec
from cloud.api.app import create_app
from cloud.api.config import ApiConfig
from cloud.api.security import hash_password
from cloud.homecare import supervise
from cloud.homecare.config import HomecareConfig
from cloud.homecare.records import Caregiver, Category, Elder, Location, Provider, Satisfaction
from cloud.homecare.store.registry import upsert_caregiver, upsert_elder, upsert_provider
from cloud.homecare.store.visits import record_sign_in, record_sign_out
from cloud.store.db import make_engine, make_session_factory
from cloud.store.homecare import HomecareVisit
from cloud.store.users import User, UserTown
from tests.api.conftest import PASSWORD, migrated, settings_for
from tests.homecare.logins import Login, logins
from tests.store.migrations import migrate_to

CST = timezone(timedelta(hours=8))
NOW = datetime(2026, 11, 3, 9, 0, tzinfo=CST)
ZONE = "Asia/Shanghai"
HL, NY = "汇龙镇", "南阳镇"
HOME = Location(31.80, 121.60)
ELDERS = {"E-HL-1": HL, "E-HL-2": HL, "E-NY-1": NY, "E-NY-2": NY, "E-NY-3": NY, "E-NY-4": NY, "E-NY-5": NY}
OLD_DOUBLE = "hc-double:HL001:v-HL001-a:v-HL001-b"


def _visit(session: Any, key: str, caregiver: str, elder: str, start: datetime, minutes: float | None = 75,
           late: timedelta | None = None, where: Location | None = None) -> None:
    sent = start + timedelta(minutes=1)
    end = None if minutes is None else start + timedelta(minutes=minutes)
    if late is not None and end is not None:
        sent = end + late
    record_sign_in(session, key=key, elder_id=elder, caregiver_id=caregiver, by=caregiver, at=start, now=sent,
                   location=where)
    if end is not None:
        record_sign_out(session, key=key, at=end, now=sent if late else end + timedelta(minutes=1), items=["meal"],
                        location=where)


def _oct(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 10, day, hour, minute, tzinfo=CST)


def _seed(session: Any) -> None:
    upsert_provider(session, Provider("p-hl", "汇龙为老服务中心", HL))
    session.flush()
    for c in ("HL001", "HL002", "HL003", "HL004", "HL005", "HL006"):
        upsert_caregiver(session, Caregiver(c, f"护理员{c}", "p-hl"))
    for elder, town in ELDERS.items():
        upsert_elder(session, Elder(elder, f"老人{elder}", Category.DISABLED, town, "p-hl", home=HOME))
    session.flush()
    # HL001 at two homes at once, one in each town.
    _visit(session, "v-HL001-a", "HL001", "E-HL-1", _oct(20, 10))
    _visit(session, "v-HL001-b", "HL001", "E-NY-1", _oct(20, 10, 30))
    # HL002: ten visits of 61 minutes, five in each town.
    for d in range(1, 11):
        _visit(session, f"v-HL002-{d:02d}", "HL002", "E-HL-2" if d <= 5 else "E-NY-2", _oct(d, 9), 61)
    # HL003: eight visits sent 30 h late, four in each town.
    for d in range(1, 9):
        _visit(session, f"v-HL003-{d:02d}", "HL003", "E-HL-1" if d % 2 else "E-NY-1", _oct(d, 14),
               late=timedelta(hours=30))
    # September: HL004 and HL005 each send two of four visits late (no habit alone), in both towns: the provider's.
    for c, hour in (("HL004", 14), ("HL005", 17)):
        for d in range(1, 5):
            _visit(session, f"v-{c}-{d:02d}", c, "E-HL-2" if d % 2 else "E-NY-2",
                   datetime(2026, 9, d, hour, tzinfo=CST), late=timedelta(hours=30) if d <= 2 else None)
    # HL006 in 南阳镇 only: signed in far from home, one code three times a day, an order never signed out.
    _visit(session, "v-HL006-far", "HL006", "E-NY-3", _oct(25, 9), where=Location(32.5, 121.6))
    for i in range(3):
        _visit(session, f"v-HL006-qr{i}", "HL006", "E-NY-4", _oct(26, 8 + 2 * i))
    _visit(session, "v-HL006-open", "HL006", "E-NY-5", _oct(30, 9), None)
    session.flush()
    # October's follow-ups: 6 of 10 satisfied (the provider's, over both towns); one valid complaint in 南阳镇.
    october = session.scalars(select(HomecareVisit).where(HomecareVisit.key.like("v-HL002-%"))
                              .order_by(HomecareVisit.key)).all()
    for visit, ok in zip(october, [True] * 6 + [False] * 4, strict=True):
        supervise.record_followup(session, visit, by="回访员", by_role="platform", called_at=NOW - timedelta(days=2),
                                  reached=True, satisfaction=Satisfaction.SATISFIED if ok else
                                  Satisfaction.UNSATISFIED, notes="", now=NOW - timedelta(days=2))
    complaint = supervise.record_complaint(session, provider_id="p-hl", text="护理员未按时上门",
                                           received_at=_oct(21, 10), by="town-ny", elder_id="E-NY-1")
    supervise.decide_complaint(complaint, valid=True, by="town-ny", reason="核实属实", now=NOW)


def _old_alerts(db_url: str) -> None:
    """What the old worker stored: everything to the provider's town, 汇龙镇."""
    engine = make_engine(db_url)
    migrate_to(engine, "0018_dead_letter_faces")
    with make_session_factory(engine).begin() as session:
        double = {"caregiver": "HL001", "visits": [{"visit": "v-HL001-a", "elder": "E-HL-1"},
                                                   {"visit": "v-HL001-b", "elder": "E-NY-1"}]}
        old: dict[str, tuple[AlertKind, dict[str, Any]]] = {
            OLD_DOUBLE: (AlertKind.HOMECARE_DOUBLE_BOOKED, double),
            "hc-far:v-HL006-far": (AlertKind.HOMECARE_FAR_AWAY, {"visit": "v-HL006-far", "elder": "E-NY-3"}),
            "hc-sat:p-hl:2026-10": (AlertKind.HOMECARE_SATISFACTION, {"satisfaction": 0.6})}
        for key, (kind, evidence) in old.items():
            service.raise_alert(session, AlertSpec(kind, None, key, AlertLevel.TOWN, NOW - timedelta(days=1),
                                                   {**evidence, "provider": "p-hl"}, town=HL))
    engine.dispose()


@pytest.fixture
def as_user(db_url: str, tmp_path: Path) -> Iterator[Login]:
    _old_alerts(db_url)
    engine: Engine = migrated(db_url)
    factory = make_session_factory(engine)
    with factory.begin() as session:
        _seed(session)
        # One the old worker raised after the revision (it ran until the new one replaced it).
        service.raise_alert(session, AlertSpec(AlertKind.HOMECARE_QR_RATE, None, "hc-qr:E-NY-4:2026-10-26",
                                               AlertLevel.TOWN, NOW, {"elder": "E-NY-4"}, town=HL))
        user = User(name="town-ny", role="town", password_hash=hash_password(PASSWORD))
        user.towns = [UserTown(town=NY)]
        session.add(user)
    with factory.begin() as session:
        supervise.homecare_pass(session, HomecareConfig(), NOW, ZONE)
    with factory.begin() as session:  # again: nothing new, nothing moved
        again = supervise.homecare_pass(session, HomecareConfig(), NOW + timedelta(minutes=5), ZONE)
        assert (again.moved, again.cleared) == (0, 0)
    app = create_app(settings_for(tmp_path), config=ApiConfig(clock=lambda: NOW + timedelta(hours=1)),
                     engine=engine)
    with TestClient(app) as client:
        yield logins(client, PASSWORD)
    engine.dispose()


def _alerts(as_user: Login, user: str, **params: Any) -> list[dict[str, Any]]:
    response = as_user(user).get("/api/v1/alerts", params={"limit": 1000, **params})
    assert response.status_code == 200, response.text
    return [a for a in response.json() if a["kind"].startswith("homecare_")]


def _strings(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set().union(set(), *(_strings(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(set(), *(_strings(v) for v in value))
    return {value} if isinstance(value, str) else set()


def _records_of(other: str, as_user: Login) -> set[str]:
    """The elder ids and visit keys the `other` town's officer reads: none may be in this town's alerts."""
    elders = as_user(other).get("/api/v1/homecare/elders")
    visits = as_user(other).get("/api/v1/homecare/visits", params={"from": "2026-08-01T00:00:00+08:00"})
    assert elders.status_code == visits.status_code == 200, (elders.text, visits.text)
    out = {e["id"] for e in elders.json()} | {v["key"] for v in visits.json()}
    assert len(out) > 10
    return out


def test_each_town_sees_its_elders_alerts_and_no_other_towns(as_user: Login) -> None:
    by_user = {u: {a["kind"]: a for a in _alerts(as_user, u, active=True)} for u in ("town-hl", "town-ny")}
    assert set(by_user["town-hl"]) == {"homecare_double_booked", "homecare_just_long_enough",
                                       "homecare_late_uploads"}
    assert set(by_user["town-ny"]) == {"homecare_double_booked", "homecare_just_long_enough",
                                       "homecare_late_uploads", "homecare_far_away", "homecare_qr_rate",
                                       "homecare_no_sign_out", "homecare_complaints"}
    for user, mine, other in (("town-hl", HL, "town-ny"), ("town-ny", NY, "town-hl")):
        theirs = _records_of(other, as_user)
        for alert in _alerts(as_user, user):  # open and resolved alike
            assert alert["town"] == mine, alert
            assert not _strings(alert["evidence"]) & theirs, alert
            assert not _strings(alert["notes"] or "") & theirs, alert
    hl, ny = by_user["town-hl"], by_user["town-ny"]
    assert [v["elder"] for v in hl["homecare_double_booked"]["evidence"]["visits"]] == ["E-HL-1"]
    assert [v["elder"] for v in ny["homecare_double_booked"]["evidence"]["visits"]] == ["E-NY-1"]
    assert (hl["homecare_just_long_enough"]["evidence"]["counted"],
            ny["homecare_just_long_enough"]["evidence"]["just_long_enough"]) == (5, 5)
    assert hl["homecare_late_uploads"]["evidence"]["late"] == ny["homecare_late_uploads"]["evidence"]["late"] == 4
    complaints = ny["homecare_complaints"]["evidence"]
    assert (complaints["valid_complaints"], complaints["orders"], complaints["town"]) == (1, 15, NY)


def test_the_provider_wide_figures_and_patterns_are_the_bureaus(as_user: Login) -> None:
    bureau = {a["evidence"].get("scope", a["kind"]): a for a in _alerts(as_user, "admin", active=True)
              if a["town"] == ""}
    assert set(bureau) == {"provider", "homecare_satisfaction", "homecare_complaints"}
    assert all(a["level"] == "bureau" for a in bureau.values())
    assert bureau["homecare_satisfaction"]["evidence"]["satisfaction"] == 0.6
    assert bureau["homecare_complaints"]["evidence"]["orders"] == 25  # both towns' October orders
    assert bureau["provider"]["evidence"]["late"] == 4  # September: two caregivers, both towns


def test_counts_are_scoped_like_the_lists(as_user: Login) -> None:
    for user in ("town-hl", "town-ny", "admin"):
        overview = as_user(user).get("/api/v1/overview")
        assert overview.status_code == 200, overview.text
        listed = as_user(user).get("/api/v1/alerts", params={"limit": 1000, "active": True}).json()
        assert overview.json()["active_alerts"] == len(listed)
    assert len(_alerts(as_user, "town-hl", active=True)) == 3 and len(_alerts(as_user, "town-ny", active=True)) == 7


def test_alerts_of_the_old_routing_are_moved_or_cleared_never_duplicated(as_user: Login) -> None:
    everything = {a["id"]: a for a in _alerts(as_user, "admin")}
    keys = [a["kind"] + ":" + str(a["evidence"].get("visit") or a["evidence"].get("elder") or "") for a in
            everything.values()]
    assert len(everything) == 14, keys  # 13 raised, and the old double-booked one, cleared
    old = [a for a in everything.values() if a["kind"] == "homecare_double_booked" and a["town"] == ""]
    assert len(old) == 1 and old[0]["status"] == "resolved" and old[0]["level"] == "bureau"
    assert "re-routed by its elders' towns" in old[0]["notes"]
    qr = next(a for a in everything.values() if a["kind"] == "homecare_qr_rate")
    assert qr["town"] == NY and f"moved from town {HL} to town {NY}" in qr["notes"]
    far = next(a for a in everything.values() if a["kind"] == "homecare_far_away")
    assert far["town"] == NY and "0019_homecare_alert_towns" in far["notes"]
