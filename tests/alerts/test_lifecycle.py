"""The alert lifecycle through the worker and the service the API calls, on a real store and a real Mosquitto."""

from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from cloud.alerts import service
from cloud.alerts.sender import Sender, connect, send_pass
from cloud.derive.plans import create_plan
from cloud.derive.runner import Partition, run_pass
from cloud.rules.config import RulesConfig
from cloud.settings import Settings
from cloud.store.db import make_session_factory
from cloud.store.derived import DayResult, OutgoingCommand
from cloud.store.models import Alert
from station_protocol import CallAck, decode
from tests.alerts.conftest import Commands
from tests.derive.conftest import feed
from tests.localservices import Mosquitto
from tests.rules.scenario import StationDay

MONDAY = date(2026, 10, 12)
PRESSED = datetime(2026, 10, 12, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
CONFIG = RulesConfig(call_escalate_minutes=5)


def alerts(engine: Engine) -> dict[str, Alert]:
    with make_session_factory(engine)() as session:
        return {a.cause_key: a for a in session.scalars(select(Alert))}


def press(engine: Engine, *calls: tuple[time, str, str]) -> None:
    sd = StationDay("qd-a", MONDAY, door=[(time(8, 20), time(17, 10))], calls=list(calls))
    feed(engine, sd.messages(), received_at=PRESSED)  # ingest raises the alert when the press arrives


def test_acknowledged_call_goes_back_to_the_station(store: Engine, mosquitto: Mosquitto, commands: Commands) -> None:
    press(store, (time(10, 0), "c-1", "pressed"))
    factory = make_session_factory(store)
    run_pass(factory, Partition(), CONFIG, PRESSED + timedelta(minutes=1))
    alert = alerts(store)["call:qd-a:c-1"]
    assert (alert.status, alert.level) == ("raised", "station")

    with factory() as session:
        service.acknowledge(session, alert.id, by="王站长", now=PRESSED + timedelta(minutes=2))
        session.commit()
    sender = Sender(lambda: connect(Settings(mqtt_url=f"mqtt://127.0.0.1:{mosquitto.port}"), "test-sender"))
    try:
        stats = run_pass(factory, Partition(), CONFIG, PRESSED + timedelta(minutes=10))
        published = send_pass(factory, sender, PRESSED + timedelta(minutes=10))
        assert published == 1 and stats.escalated == 0  # acknowledged in time: never escalated
        topic, payload = commands.wait(1)[0]
        assert topic == "eldercare/v1/qd-a/cmd/call-ack"
        ack = decode(topic, payload).message
        assert isinstance(ack, CallAck) and (ack.call, ack.by) == ("c-1", "王站长")
        run_pass(factory, Partition(), CONFIG, PRESSED + timedelta(minutes=11))
        send_pass(factory, sender, PRESSED + timedelta(minutes=11))
        assert len(commands.received) == 1  # published once
    finally:
        sender.close()
    with factory() as session:
        sent = session.scalars(select(OutgoingCommand)).one()
        assert sent.published_at is not None and sent.attempts == 1
    alert = alerts(store)["call:qd-a:c-1"]
    assert (alert.status, alert.acknowledged_by, alert.level) == ("acknowledged", "王站长", "station")


def test_unacknowledged_call_escalates_to_town_and_dispatch(store: Engine) -> None:
    press(store, (time(10, 0), "c-2", "pressed"))
    factory = make_session_factory(store)
    assert run_pass(factory, Partition(), CONFIG, PRESSED + timedelta(minutes=4)).escalated == 0
    assert run_pass(factory, Partition(), CONFIG, PRESSED + timedelta(minutes=5, seconds=1)).escalated == 1
    alert = alerts(store)["call:qd-a:c-2"]
    assert alert.level == "dispatch" and alert.escalated_at is not None and alert.status == "raised"
    assert "dispatch" in (alert.notes or "")
    assert run_pass(factory, Partition(), CONFIG, PRESSED + timedelta(minutes=30)).escalated == 0  # once


def test_the_elders_cancel_resolves_the_call(store: Engine) -> None:
    press(store, (time(10, 0), "c-3", "pressed"), (time(10, 1), "c-3", "cancelled"))
    run_pass(make_session_factory(store), Partition(), CONFIG, PRESSED + timedelta(minutes=10))
    alert = alerts(store)["call:qd-a:c-3"]
    assert (alert.status, alert.resolved_by, alert.level) == ("resolved", "elder", "station")


def test_service_refuses_what_the_state_does_not_allow(store: Engine) -> None:
    press(store, (time(10, 0), "c-4", "pressed"))
    factory = make_session_factory(store)
    alert_id = alerts(store)["call:qd-a:c-4"].id
    with factory() as session:
        service.resolve(session, alert_id, by="dispatch-3", now=PRESSED + timedelta(minutes=3), notes="on site")
        session.commit()
        with pytest.raises(service.AlertError, match="already resolved"):
            service.resolve(session, alert_id, by="x", now=PRESSED)
        with pytest.raises(service.AlertError, match="already resolved"):
            service.acknowledge(session, alert_id, by="x", now=PRESSED)
        with pytest.raises(service.AlertError, match="no alert"):
            service.acknowledge(session, 999_999, by="x", now=PRESSED)
        # Resolved without an acknowledgement: the station still gets its call-ack so it stops waiting.
        assert session.scalars(select(OutgoingCommand)).one().payload["call"] == "c-4"


def test_closed_on_a_spot_check_alerts_once_to_the_town(store: Engine) -> None:
    feed(store, StationDay("qd-a", MONDAY).messages())  # online, but closed all day
    factory = make_session_factory(store)
    with factory() as session:
        plan = create_plan(session, day=MONDAY, start=time(9), end=time(10), scope="stations", stations=["qd-a"],
                           created_by="bureau", now=PRESSED)
        session.commit()
        plan_id = plan.id
    run_pass(factory, Partition(), CONFIG, PRESSED + timedelta(hours=1))
    run_pass(factory, Partition(), CONFIG, PRESSED + timedelta(hours=2))
    spot = [a for a in alerts(store).values() if a.kind == "spot_check_closed"]
    assert len(spot) == 1
    assert spot[0].cause_key == f"spot:{plan_id}:qd-a" and spot[0].level == "town"
    assert spot[0].evidence is not None and spot[0].evidence["result"] == "fail"
    assert spot[0].evidence["closed_minutes"] == 60


def silent_after_0859(store: Engine) -> tuple[StationDay, sessionmaker[Session], datetime]:
    """qd-a heard until 08:59, then silent; a worker pass at 09:45 (its day, the store's sessions, that time)."""
    sd = StationDay("qd-a", MONDAY, door=[(time(8, 20), time(17, 10))])
    morning = [m for m in sd.messages()
               if '"ts":"2026-10-12T0' in m[1].decode() and '"ts":"2026-10-12T09' not in m[1].decode()]
    feed(store, morning, received_at=datetime(2026, 10, 12, 1, 0, tzinfo=UTC))
    factory = make_session_factory(store)
    at_0945 = datetime(2026, 10, 12, 1, 45, tzinfo=UTC)
    run_pass(factory, Partition(), CONFIG, at_0945)
    return sd, factory, at_0945


def test_offline_during_working_hours_is_raised_then_resolved(store: Engine) -> None:
    sd, factory, at_0945 = silent_after_0859(store)
    offline = alerts(store)["offline:qd-a:2026-10-12"]
    assert "offline:qd-b:2026-10-12" in alerts(store)  # never heard from at all: offline too
    assert offline.status == "raised" and offline.kind == "station_offline"
    back = [m for m in sd.messages() if '"ts":"2026-10-12T09:5' in m[1].decode()]
    feed(store, back, received_at=at_0945 + timedelta(minutes=15))
    run_pass(factory, Partition(), CONFIG, at_0945 + timedelta(minutes=15))
    assert alerts(store)["offline:qd-a:2026-10-12"].status == "resolved"


def test_days_before_a_station_first_reported_raise_no_offline_alerts(store: Engine) -> None:
    # A station installed on Monday: the days of the month before it are unknown, not a stack of offline alerts.
    sd = StationDay("qd-a", MONDAY, door=[(time(8, 20), time(17, 10))])
    feed(store, sd.messages(), received_at=datetime(2026, 10, 12, 9, 30, tzinfo=UTC))
    factory = make_session_factory(store)
    run_pass(factory, Partition(), CONFIG, datetime(2026, 10, 12, 9, 30, tzinfo=UTC))
    with factory() as session:
        earlier = session.scalars(select(DayResult).where(DayResult.station_id == "qd-a",
                                                          DayResult.local_date < MONDAY)).all()
    assert earlier and all(row.verdict in ("unknown", "not_scheduled") for row in earlier)
    offline = [key for key in alerts(store) if key.startswith("offline:qd-a:")]
    assert offline == [], offline


def test_a_station_heard_within_the_offline_window_is_back(store: Engine) -> None:
    # Counters report every 15 minutes: a station last heard 14 minutes ago is online, its alert resolved.
    sd, factory, at_0945 = silent_after_0859(store)
    assert alerts(store)["offline:qd-a:2026-10-12"].status == "raised"
    back = [m for m in sd.messages() if '"ts":"2026-10-12T09:5' in m[1].decode()]
    feed(store, back, received_at=at_0945 + timedelta(minutes=20))
    last = max(decode(t, p).message.ts for t, p in back)
    run_pass(factory, Partition(), CONFIG, last + timedelta(minutes=14))
    assert alerts(store)["offline:qd-a:2026-10-12"].status == "resolved"


def test_a_station_that_reported_before_and_is_silent_all_day_is_offline(store: Engine) -> None:
    friday = MONDAY - timedelta(days=3)
    feed(store, StationDay("qd-a", friday, door=[(time(8, 20), time(17, 10))]).messages(),
         received_at=datetime(2026, 10, 9, 9, 30, tzinfo=UTC))
    factory = make_session_factory(store)
    lunch = datetime(2026, 10, 12, 4, 30, tzinfo=UTC)  # 12:30 in Shanghai: the live check is not in a session
    run_pass(factory, Partition(), CONFIG, lunch)
    offline = alerts(store)["offline:qd-a:2026-10-12"]
    assert offline.status == "raised" and offline.evidence is not None
    assert offline.evidence["offline"][0][0].startswith("2026-10-12T00:30")  # from 08:30, the first session
