"""Two writers at once on one PostgreSQL, as in production (several API processes behind a load balancer, workers by
partition): a decision checked then written must not be overwritten by a second one that read the same "not decided
yet", and a second identical write is the idempotent result or a clear 409, never a 500.

Each race is provoked, not hoped for: the first writer (a session here, standing for the other process) has made its
change and holds it uncommitted; the second goes through the API in a thread; the test waits until PostgreSQL shows
that second one waiting on a lock (`pg_stat_activity`), and only then lets the first commit. Without row locks the
second has by then read the stale state and decided from it."""

import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from cloud.alerts import service
from cloud.alerts.kinds import AlertKind
from cloud.api.security import TokenClaims, hash_password
from cloud.api.tokens import revoke, revoke_all
from cloud.derive import recompute
from cloud.derive.calendar_store import apply_exceptions
from cloud.derive.runner import escalate_calls
from cloud.rules.config import RulesConfig
from cloud.rules.spotcheck import SpotResult
from cloud.store.admin import Appeal, AppealStatus
from cloud.store.calendar import AppliedException
from cloud.store.closures import Closure, approve, reject
from cloud.store.db import make_session_factory
from cloud.store.derived import DayResult, OutgoingCommand
from cloud.store.models import Alert, Event, Station, StationException
from cloud.store.onsite import SpotCheckVisit, decide
from cloud.store.users import RevokedToken, User
from tests.api import fleet
from tests.api.conftest import make_app, migrated, token_for
from tests.api.races import race, race_on_sqlite, waiting_on_a_lock
from tests.wait import poll

V1 = "/api/v1"


@pytest.fixture
def pg(postgres_url: str, tmp_path: Path) -> Iterator[tuple[Engine, TestClient]]:
    engine = migrated(postgres_url)
    fleet.build(engine)
    with make_session_factory(engine)() as session:
        session.add(User(name="staff-hl2", role="station", station_id="hl-02", active=True,
                         password_hash=hash_password("a-long-password")))
        session.commit()
    with TestClient(make_app(engine, tmp_path)) as client:
        yield engine, client
    engine.dispose()


def _headers(client: TestClient, name: str, password: str | None = None) -> dict[str, str]:
    token = token_for(client, name, password) if password else token_for(client, name)
    return {"Authorization": f"Bearer {token}"}


Racer = Callable[[Engine, Callable[[Session], object], Callable[[], Any]], Any]


def _approve_while_rejected(engine: Engine, client: TestClient, racer: Racer) -> tuple[int, Response]:
    """A closure asked for by station staff, rejected by the bureau in another process while the town approves it
    through the API: its id and the town's answer."""
    asked = client.post(f"{V1}/closures", headers=_headers(client, "staff-hl1"),
                        json={"first_day": "2026-10-13", "last_day": "2026-10-14", "reason": "台风停业"})
    assert asked.status_code == 201, asked.text
    closure_id: int = asked.json()["id"]
    town = _headers(client, "town-hl")

    def rejected_elsewhere(session: Session) -> None:
        closure = session.get(Closure, closure_id)
        assert closure is not None
        reject(closure, "admin", "材料不全", datetime.now(UTC))

    answer: Response = racer(engine, rejected_elsewhere, lambda: client.post(
        f"{V1}/closures/{closure_id}/approve", headers=town, json={"reason": "同意"}))
    return closure_id, answer


def _acknowledge_while_resolved(engine: Engine, client: TestClient, call: int, town: str,
                                racer: Racer) -> Response:
    """Dispatch acknowledges the call through the API while `town` resolves it in another process."""
    dispatch = _headers(client, "dispatch")  # logged in first: a login writes (its rate limit)

    def resolved_elsewhere(session: Session) -> None:
        service.resolve(session, call, town, datetime.now(UTC), "已上门")

    answer: Response = racer(engine, resolved_elsewhere, lambda: client.post(
        f"{V1}/alerts/{call}/acknowledge", headers=dispatch))
    return answer


def test_a_closure_rejected_while_it_is_approved_stays_rejected_with_no_day_excused(
        pg: tuple[Engine, TestClient]) -> None:
    engine, client = pg
    closure_id, answer = _approve_while_rejected(engine, client, race)
    assert answer.status_code == 409, answer.text
    assert "already rejected" in answer.json()["detail"]
    with make_session_factory(engine)() as session:
        closure = session.get(Closure, closure_id)
        assert closure is not None and (closure.status, closure.decided_by) == ("rejected", "admin")
        excused = session.scalars(select(StationException.date).where(StationException.station_id == "hl-01"))
        assert list(excused) == []


def test_an_appeal_decided_twice_at_once_keeps_the_first_decision_and_its_veto(pg: tuple[Engine, TestClient]) -> None:
    engine, client = pg
    staff = _headers(client, "staff-hl2", "a-long-password")
    plan = client.get(f"{V1}/appeals/checks", headers=staff).json()[0]["plan_id"]
    filed = client.post(f"{V1}/appeals", headers=staff, json={"plan_id": plan, "text": "当天停电"})
    assert filed.status_code == 201, filed.text
    town = _headers(client, "town-hl")

    def rejected_elsewhere(session: Session) -> None:
        appeal = session.get(Appeal, filed.json()["id"])
        assert appeal is not None
        appeal.status, appeal.decided_by, appeal.decision_reason = AppealStatus.REJECTED.value, "admin", "无证据"

    answer: Response = race(engine, rejected_elsewhere, lambda: client.post(
        f"{V1}/appeals/{filed.json()['id']}/decide", headers=town, json={"outcome": "upheld", "reason": "属实"}))
    assert answer.status_code == 409, answer.text
    assert "already rejected" in answer.json()["detail"]
    decided = client.get(f"{V1}/appeals", headers=town).json()
    assert [(a["status"], a["decided_by"]) for a in decided] == [("rejected", "admin")]
    # The rejected appeal leaves the failed check in the veto's count; an overwrite to "upheld" would have taken it out.
    vetoes = {v["station"]: v["failed"] for v in client.get(f"{V1}/spot-checks/vetoes?year=2026",
                                                              headers=town).json()}
    assert vetoes["hl-02"] == 1


def _call(engine: Engine) -> int:
    with make_session_factory(engine)() as session:
        return session.scalars(select(Alert.id).where(Alert.kind == AlertKind.EMERGENCY_CALL.value)).one()


def test_an_acknowledgement_never_reopens_a_call_resolved_meanwhile(pg: tuple[Engine, TestClient]) -> None:
    engine, client = pg
    call = _call(engine)
    answer = _acknowledge_while_resolved(engine, client, call, "town-hl", race)
    assert answer.status_code == 409, answer.text
    with make_session_factory(engine)() as session:
        alert = session.get(Alert, call)
        assert alert is not None and (alert.status, alert.resolved_by) == ("resolved", "town-hl")
        assert alert.acknowledged_by is None
        acks = session.scalar(select(func.count()).select_from(OutgoingCommand).where(OutgoingCommand.alert_id == call))
        assert acks == 1  # one call-ack tells the station its call was answered, not two


def test_a_call_acknowledged_twice_at_once_is_answered_once(pg: tuple[Engine, TestClient]) -> None:
    engine, client = pg
    call = _call(engine)
    bureau = _headers(client, "admin")

    def acknowledged_elsewhere(session: Session) -> None:
        service.acknowledge(session, call, "dispatch", datetime.now(UTC))

    answer: Response = race(engine, acknowledged_elsewhere, lambda: client.post(
        f"{V1}/alerts/{call}/acknowledge", headers=bureau))
    assert answer.status_code == 409, answer.text
    with make_session_factory(engine)() as session:
        alert = session.get(Alert, call)
        assert alert is not None and (alert.status, alert.acknowledged_by) == ("acknowledged", "dispatch")
        commands = session.scalars(select(OutgoingCommand.payload).where(OutgoingCommand.alert_id == call)).all()
        assert [c["by"] for c in commands] == ["dispatch"]


def test_two_revocations_at_once_both_count(pg: tuple[Engine, TestClient]) -> None:
    """A disable and a password reset from two processes, each having read the user first: a token issued between
    their commits (under the first one's generation) must still be refused after the second."""
    engine, _ = pg
    factory = make_session_factory(engine)
    with factory() as first, factory() as second:
        one = first.scalars(select(User).where(User.name == "staff-hl1")).one()
        two = second.scalars(select(User).where(User.name == "staff-hl1")).one()
        before = one.token_generation
        assert two.token_generation == before
        revoke_all(one)
        first.commit()
        with factory() as login:  # a token issued now carries the first revocation's generation
            issued = login.scalars(select(User.token_generation).where(User.name == "staff-hl1")).one()
        revoke_all(two)
        second.commit()
    with factory() as session:
        now = session.scalars(select(User.token_generation).where(User.name == "staff-hl1")).one()
    assert (issued, now) == (before + 1, before + 2)


def test_the_same_token_logged_out_twice_at_once_is_revoked_once(pg: tuple[Engine, TestClient]) -> None:
    engine, _ = pg
    now = datetime.now(UTC)
    claims = TokenClaims(user_id=1, name="admin", jti="j-" + "1" * 30, generation=0,
                         expires_at=now.replace(year=now.year + 1))
    factory = make_session_factory(engine)

    def logged_out_elsewhere(session: Session) -> None:
        session.add(RevokedToken(jti=claims.jti, expires_at=claims.expires_at))

    def logout() -> None:
        with factory() as session:
            revoke(session, claims, now)

    race(engine, logged_out_elsewhere, logout)
    with factory() as session:
        assert session.scalars(select(RevokedToken.jti)).all() == [claims.jti]


def test_a_worker_that_read_before_a_late_event_never_overwrites_fresher_results(
        pg: tuple[Engine, TestClient], monkeypatch: pytest.MonkeyPatch) -> None:
    """Two workers with overlapping partitions (or a worker and `cloud rederive`) derive the same station-day: the
    first has read the day's events and is about to store its results when a late event arrives and the second
    derives the day with it. The day must end with the late event counted."""
    engine, _ = pg
    day, station_id = date(2026, 10, 8), "hl-01"
    first_read, go = threading.Event(), threading.Event()
    held: list[threading.Thread] = []  # the first worker's thread, held by the hook
    real_store_days = recompute.store_days

    def store_days(*args: Any, **kwargs: Any) -> None:
        if threading.current_thread() in held:
            first_read.set()  # its events are read; hold it here, as a slow worker would be
            assert go.wait(60), "the test never let the first worker go on"
        real_store_days(*args, **kwargs)

    monkeypatch.setattr(recompute, "store_days", store_days)

    def derive() -> None:
        with make_session_factory(engine)() as session:
            station = session.get(Station, station_id)
            assert station is not None
            recompute.recompute_station(session, station, [day], fleet.TODAY, RulesConfig(), fleet.NOW)
            session.commit()

    def person_times() -> int:
        with make_session_factory(engine)() as session:
            row = session.get(DayResult, (station_id, day))
            assert row is not None
            return row.person_times

    before = person_times()
    worker = threading.Thread(target=derive, daemon=True)
    held.append(worker)
    worker.start()
    assert first_read.wait(60), "the first worker never reached its write"
    with make_session_factory(engine)() as session:  # the late event, as ingest stores it
        at = datetime.combine(day, time(15, 0), fleet.ZONE)
        event_id = uuid.uuid4()
        session.add(Event(id=event_id, ts=at.astimezone(UTC), station_id=station_id, device_id="counter-1",
                          kind="flow", local_date=day, seq=999,
                          payload={"v": 1, "station": station_id, "ts": at.isoformat(), "id": str(event_id),
                                   "device": "counter-1", "seq": 999, "period_s": 600, "in": 40, "out": 40}))
        session.commit()
    second = threading.Thread(target=derive, daemon=True)
    second.start()
    poll(lambda: not second.is_alive() or waiting_on_a_lock(engine) > 0,
         what="the second worker to finish or wait for the first")
    go.set()
    worker.join(60)
    second.join(60)
    assert not worker.is_alive() and not second.is_alive()
    assert person_times() == before + 40


def test_two_closures_of_the_same_days_approved_at_once_both_stand(pg: tuple[Engine, TestClient]) -> None:
    engine, client = pg
    staff = _headers(client, "staff-hl1")
    ids = [client.post(f"{V1}/closures", headers=staff, json={"first_day": first, "last_day": "2026-10-15",
                                                             "reason": reason}).json()["id"]
           for first, reason in (("2026-10-13", "台风停业"), ("2026-10-14", "停电检修"))]

    def first_approved_elsewhere(session: Session) -> None:
        closure = session.get(Closure, ids[0])
        assert closure is not None
        approve(session, closure, "admin", "同意", datetime.now(UTC))

    answer: Response = race(engine, first_approved_elsewhere, lambda: client.post(
        f"{V1}/closures/{ids[1]}/approve", headers=_headers(client, "town-hl"), json={"reason": "同意"}))
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "approved"
    with make_session_factory(engine)() as session:
        excused = session.execute(select(StationException.date, StationException.reason)
                                  .where(StationException.station_id == "hl-01")
                                  .order_by(StationException.date)).tuples().all()
    assert [(d.isoformat(), r) for d, r in excused] == [("2026-10-13", "台风停业"), ("2026-10-14", "台风停业"),
                                                        ("2026-10-15", "台风停业")]


def test_two_workers_applying_the_same_closure_both_go_on(pg: tuple[Engine, TestClient]) -> None:
    """Overlapping partitions, or the old and the new worker during a deployment."""
    engine, _ = pg
    factory = make_session_factory(engine)
    with factory() as session:
        session.add(StationException(station_id="hl-01", date=date(2026, 10, 13), reason="台风停业",
                                     approved_by="town-hl"))
        session.commit()

    def applied_elsewhere(session: Session) -> None:
        assert apply_exceptions(session, {"hl-01"}, fleet.NOW) == 1

    def apply() -> int:
        with factory() as session:
            marked = apply_exceptions(session, {"hl-01"}, fleet.NOW)
            session.commit()
            return marked

    assert race(engine, applied_elsewhere, apply) == 1  # marked again: recomputed twice, harmless
    with factory() as session:
        applied = session.execute(select(AppliedException.station_id, AppliedException.date)).tuples().all()
    assert applied == [("hl-01", date(2026, 10, 13))]


def test_the_worker_never_escalates_a_call_acknowledged_meanwhile(pg: tuple[Engine, TestClient]) -> None:
    engine, _ = pg
    call = _call(engine)
    later = fleet.NOW + timedelta(hours=1)  # well past the escalation delay

    def acknowledged_elsewhere(session: Session) -> None:
        service.acknowledge(session, call, "staff-nh1", later, "已到现场")

    def escalate() -> int:
        with make_session_factory(engine)() as session:
            escalated = escalate_calls(session, {"nh-01"}, RulesConfig(), later)
            session.commit()
            return escalated

    race(engine, acknowledged_elsewhere, escalate)
    with make_session_factory(engine)() as session:
        alert = session.get(Alert, call)
        assert alert is not None
        assert (alert.status, alert.level, alert.escalated_at) == ("acknowledged", "station", None)
        assert alert.notes is not None and "已到现场" in alert.notes


def test_a_disputed_check_decided_twice_at_once_keeps_the_first_decision(pg: tuple[Engine, TestClient]) -> None:
    engine, client = pg
    plan = client.get(f"{V1}/spot-checks", headers=_headers(client, "admin")).json()[0]["id"]
    recorded = client.post(f"{V1}/onsite/visits/{plan}/hl-01/record", headers=_headers(client, "town-hl"),
                           json={"found": "closed", "visited_at": "2026-10-09T09:30:00+08:00"})
    assert recorded.status_code == 201 and recorded.json()["review"] == "disputed", recorded.text

    def decided_elsewhere(session: Session) -> None:
        visit = session.get(SpotCheckVisit, (plan, "hl-01"))
        assert visit is not None
        decide(visit, SpotResult.PASS, SpotResult.PASS, "admin", "以传感器为准", datetime.now(UTC))

    answer: Response = race(engine, decided_elsewhere, lambda: client.post(
        f"{V1}/onsite/visits/{plan}/hl-01/decision", headers=_headers(client, "admin"),
        json={"outcome": "fail", "reason": "现场关门"}))
    assert answer.status_code == 409, answer.text
    with make_session_factory(engine)() as session:
        visit = session.get(SpotCheckVisit, (plan, "hl-01"))
        assert visit is not None and (visit.decided_outcome, visit.decision_reason) == ("pass", "以传感器为准")
    vetoes = {v["station"]: v["failed"] for v in client.get(f"{V1}/spot-checks/vetoes?year=2026",
                                                              headers=_headers(client, "admin")).json()}
    assert vetoes["hl-01"] == 0


def test_an_appeal_filed_twice_at_once_is_filed_once_and_the_second_told_why(pg: tuple[Engine, TestClient]) -> None:
    engine, client = pg
    staff = _headers(client, "staff-hl2", "a-long-password")
    plan = client.get(f"{V1}/appeals/checks", headers=staff).json()[0]["plan_id"]

    def filed_elsewhere(session: Session) -> None:
        session.add(Appeal(plan_id=plan, station_id="hl-02", text="当天停电", filed_by="staff-hl2",
                           filed_at=datetime.now(UTC), status=AppealStatus.PENDING.value))

    answer: Response = race(engine, filed_elsewhere, lambda: client.post(
        f"{V1}/appeals", headers=staff, json={"plan_id": plan, "text": "当天停电"}))
    assert answer.status_code == 409, answer.text
    assert "already appealed" in answer.json()["detail"]
    assert len(client.get(f"{V1}/appeals", headers=staff).json()) == 1


def test_a_visit_recorded_twice_at_once_keeps_the_first_record(pg: tuple[Engine, TestClient]) -> None:
    engine, client = pg
    plan = client.get(f"{V1}/spot-checks", headers=_headers(client, "admin")).json()[0]["id"]

    def recorded_elsewhere(session: Session) -> None:
        now = datetime.now(UTC)
        session.add(SpotCheckVisit(plan_id=plan, station_id="hl-01", found="open", notes="",
                                   visited_at=datetime(2026, 10, 9, 9, 30, tzinfo=fleet.ZONE),
                                   recorded_by="admin", recorded_at=now))

    answer: Response = race(engine, recorded_elsewhere, lambda: client.post(
        f"{V1}/onsite/visits/{plan}/hl-01/record", headers=_headers(client, "town-hl"),
        json={"found": "closed", "visited_at": "2026-10-09T09:30:00+08:00"}))
    assert answer.status_code == 409, answer.text
    assert answer.json()["detail"] == "the visit was recorded by admin already"


# --- SQLite (a single host's store): no row locks, and the driver opens the transaction at the first write -----------
def test_on_sqlite_a_closure_rejected_while_it_is_approved_stays_rejected(engine: Engine,
                                                                          app_client: TestClient) -> None:
    closure_id, answer = _approve_while_rejected(engine, app_client, race_on_sqlite)
    assert answer.status_code == 409, answer.text
    with make_session_factory(engine)() as session:
        closure = session.get(Closure, closure_id)
        assert closure is not None and closure.status == "rejected"
        assert session.scalars(select(StationException.date)).all() == []


def test_on_sqlite_an_acknowledgement_never_reopens_a_call_resolved_meanwhile(engine: Engine,
                                                                                app_client: TestClient) -> None:
    with make_session_factory(engine)() as session:
        alert = Alert(kind="emergency_call", station_id="nh-01", cause_key="call:nh-01:c-9", status="raised",
                      level="station", raised_at=fleet.NOW.astimezone(UTC), call_id="c-9",
                      evidence={"device": "button-1"})
        session.add(alert)
        session.commit()
        call = alert.id

    answer = _acknowledge_while_resolved(engine, app_client, call, "town-nh", race_on_sqlite)
    assert answer.status_code == 409, answer.text
    with make_session_factory(engine)() as session:
        stored = session.get(Alert, call)
        assert stored is not None and (stored.status, stored.acknowledged_by) == ("resolved", None)
