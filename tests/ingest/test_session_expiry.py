"""An ingester away from the shared subscription, with real Mosquitto and real `eldercare cloud ingest` processes.

Mosquitto goes on dealing the group's messages to an absent member's persistent session, one in two with two members,
and drops them with the session when it expires: the stations were acknowledged long before. These tests show what a
restart within `--session-expiry` keeps, what one after it loses, and what the ingester tells its operator (log and
/metrics) in each case.
"""

import json
import logging
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from sqlalchemy import Engine, select

from cloud.ingest.config import DEFAULT_SESSION_EXPIRY_S
from cloud.store.ingest_losses import IngestLoss
from cloud.store.models import Event
from tests.ingest.conftest import (
    Station,
    count,
    ingest_process,
    prepare,
    publish,
    running_ingester,
    terminate,
    wait_connected,
)
from tests.localservices import Mosquitto, free_port
from tests.wait import poll


def _records(lines: list[str] | str) -> list[dict[str, Any]]:
    text = lines if isinstance(lines, str) else "".join(lines)
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def _metric(port: int, name: str) -> float:
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    return float(next(line.split()[1] for line in text.splitlines() if line.startswith(name + " ")))


def _ids(messages: list[tuple[str, bytes]]) -> set[str]:
    return {json.loads(payload)["id"] for _, payload in messages}


def _stored_ids(engine: Engine) -> set[str]:
    with engine.connect() as c:
        return {str(i) for i in c.execute(select(Event.id)).scalars()}


def _expired(broker: Mosquitto, client_id: str) -> bool:
    """Has the broker logged that it expired this client's session?"""
    return f"Expiring client {client_id} due to timeout" in broker.log.read_text(errors="replace")


def _losses(engine: Engine) -> list[tuple[str, datetime, datetime, str]]:
    """The windows of lost messages recorded in the store: (client id, from, to, reason)."""
    with engine.connect() as c:
        return [tuple(r) for r in c.execute(select(IngestLoss.client_id, IngestLoss.lost_from, IngestLoss.lost_to,
                                                   IngestLoss.reason).order_by(IngestLoss.id))]


def _said(records: list[dict[str, Any]], start: str) -> list[dict[str, Any]]:
    return [r for r in records if r["msg"].startswith(start)]


def _settle(broker: Mosquitto, engine: Engine, station: Station) -> set[str]:
    """Publish markers after everything else and wait until they are stored. Each session delivers in order, so once
    a member's marker is in, nothing it was dealt before is still on its way. Returns the markers' ids."""
    markers = [station.door() for _ in range(4)]  # two rounds of the two members, whichever is dealt first
    publish(broker, markers)
    ids = _ids(markers)
    poll(lambda: ids <= _stored_ids(engine), timeout=60, what="the markers published after the return stored")
    return ids


@pytest.mark.timeout(180)
@pytest.mark.parametrize("crash", [False, True], ids=["stopped", "killed"])
def test_an_ingester_away_past_its_session_expiry_loses_its_share_and_says_so(mosquitto: Mosquitto, sqlite_url: str,
                                                                              crash: bool) -> None:
    engine = prepare(sqlite_url)
    station = Station("qd-a")
    args = ("--group", "shared", "--session-expiry", "2")
    stay_port = free_port()
    stay = ingest_process(mosquitto, sqlite_url, "ing-stay", *args, "--metrics-port", str(stay_port))
    away = ingest_process(mosquitto, sqlite_url, "ing-away", *args)
    wait_connected(stay)
    first_start = _records(wait_connected(away))
    # A first start has no session either, and loses nothing: said as such, and not counted as a loss.
    [first] = _said(first_start, "first start of client id ing-away")
    assert first["level"] == "info" and "none was lost" in first["msg"]
    assert _said(first_start, "session lost") == _said(first_start, "no session on the broker") == []
    assert _metric(stay_port, "eldercare_ingest_session_lost_total") == 0

    before = [station.flow(i) for i in range(10)]
    publish(mosquitto, before)
    poll(lambda: count(engine, Event) == len(before), what="both members ingesting")

    if crash:  # the host died: no graceful stop recorded
        away.kill()
        away.communicate(timeout=30)
    else:
        terminate(away)
    assert _losses(engine) == []  # neither first start recorded a loss
    published_from = datetime.now(UTC)
    meanwhile = [station.flow(i) for i in range(40)]
    publish(mosquitto, meanwhile)  # every one PUBACKed: a station deletes it from its outbox now
    published_to = datetime.now(UTC)
    poll(lambda: _expired(mosquitto, "ing-away"), timeout=60, what="the broker expiring ing-away's session")

    port = free_port()
    back = ingest_process(mosquitto, sqlite_url, "ing-away", *args, "--metrics-port", str(port))
    returned = _records(wait_connected(back))
    markers = _settle(mosquitto, engine, station)

    stored = _stored_ids(engine)
    lost = _ids(meanwhile) - stored
    # The absent member's share, every other message, went with its session; none was dealt again to the one that
    # stayed. (Should a later Mosquitto redistribute an expired session's messages, this is the line that says so.)
    assert len(lost) == len(meanwhile) // 2, f"{len(lost)} of {len(meanwhile)} lost"
    assert _ids(before) | markers <= stored

    # What the operator sees: the ingester that came back says its session is gone and what that means.
    [connected] = [r for r in returned if r["msg"] == "connected"]
    assert connected["session_present"] is False and connected["session_expiry_s"] == 2
    [error] = _said(returned, "session lost: no session on the broker for client id ing-away, which last connected")
    assert error["level"] == "error" and (error["last_stopped_at"] is None) is crash
    assert ("did not stop gracefully" if crash else "stopped at") in error["msg"]
    assert "away longer than --session-expiry (2 s)" in error["msg"]
    assert "are lost" in error["msg"]
    assert _metric(port, "eldercare_ingest_session_lost_total") == 1
    assert _metric(port, "eldercare_ingest_session_present") == 0
    # The loss is in the store, with a window that holds every message published while the ingester was away.
    [(client, lost_from, lost_to, reason)] = _losses(engine)
    assert (client, reason) == ("ing-away", "lost_while_away")
    assert lost_from <= published_from and published_to <= lost_to
    assert lost_to <= datetime.now(UTC)
    terminate(back)
    terminate(stay)
    assert len(_losses(engine)) == 1  # recorded once, not again on the way out


@pytest.mark.timeout(180)
def test_a_restart_within_the_session_expiry_loses_nothing_and_finds_its_session(mosquitto: Mosquitto,
                                                                                sqlite_url: str) -> None:
    engine = prepare(sqlite_url)
    station = Station("qd-a")
    stay = ingest_process(mosquitto, sqlite_url, "ing-stay", "--group", "shared")
    away = ingest_process(mosquitto, sqlite_url, "ing-away", "--group", "shared")
    wait_connected(stay)
    [connected] = [r for r in _records(wait_connected(away)) if r["msg"] == "connected"]
    # The default asked of the broker outlasts a weekend nobody looks at the ingesters.
    assert connected["session_expiry_s"] == DEFAULT_SESSION_EXPIRY_S >= 3 * 86400

    terminate(away)
    meanwhile = [station.flow(i) for i in range(40)]
    publish(mosquitto, meanwhile)

    port = free_port()
    back = ingest_process(mosquitto, sqlite_url, "ing-away", "--group", "shared", "--metrics-port", str(port))
    returned = _records(wait_connected(back))
    _settle(mosquitto, engine, station)
    assert _ids(meanwhile) <= _stored_ids(engine), "messages published while one ingester restarted were lost"

    [connected] = [r for r in returned if r["msg"] == "connected"]
    assert connected["session_present"] is True
    assert _said(returned, "session lost") == _said(returned, "no session") == _said(returned, "first start") == []
    assert _metric(port, "eldercare_ingest_session_lost_total") == 0
    assert _metric(port, "eldercare_ingest_session_present") == 1
    assert _losses(engine) == []
    log = terminate(back) + terminate(stay)
    assert "session lost" not in log and "no session on the broker" not in log
    assert '"level": "error"' not in log and '"level": "warning"' not in log


@pytest.mark.timeout(120)
def test_a_session_gone_while_running_is_an_error(mosquitto: Mosquitto, sqlite_url: str, tmp_path: Path,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    """The broker dies without saving its state (kill -9): the ingester reconnects by itself and finds no session."""
    engine = prepare(sqlite_url)
    station = Station("qd-a")
    with caplog.at_level(logging.INFO, logger="eldercare.ingest"), running_ingester(mosquitto, engine) as ingester:
        metrics = ingester.metrics
        publish(mosquitto, [station.flow()])
        poll(lambda: count(engine, Event) == 1)
        assert metrics.session_lost._value.get() == 0  # its first start lost nothing
        killed_at = datetime.now(UTC)
        mosquitto.kill()
        (tmp_path / "mosquitto.db").unlink(missing_ok=True)
        mosquitto.start()
        poll(lambda: metrics.session_lost._value.get() == 1, timeout=60, what="the ingester reconnected")
        # Recorded by the running ingester: from the link's drop to the reconnection.
        poll(lambda: _losses(engine), timeout=30, what="the loss recorded")
        [(client, lost_from, lost_to, reason)] = _losses(engine)
        assert (client, reason) == (ingester.config.client_id, "lost_while_running")
        assert lost_from <= datetime.now(UTC) and killed_at <= lost_to <= datetime.now(UTC)
        assert lost_from >= killed_at  # it dropped when the broker died, not before
        errors = [r for r in caplog.records if r.levelno == logging.ERROR and r.getMessage().startswith("session lost")]
        assert len(errors) == 1 and ingester.config.client_id in errors[0].getMessage()
        assert metrics.session_present._value.get() == 0
        # It subscribed again and goes on ingesting.
        publish(mosquitto, [station.flow()])
        poll(lambda: count(engine, Event) == 2)


def _session_kept(broker: Mosquitto, client_id: str) -> bool:
    """Does the broker still hold a session for this client id? Asked by connecting as that client, which ends the
    session on leaving: only where nothing is queued for it, since this probe would take it."""
    flags: list[bool] = []
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    client.on_connect = lambda _c, _u, connect_flags, _r, _p: flags.append(connect_flags.session_present)
    props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    props.SessionExpiryInterval = 60
    client.connect("127.0.0.1", broker.port, clean_start=False, properties=props)
    client.loop_start()
    try:
        poll(lambda: flags, timeout=10, what=f"CONNACK for {client_id}")
    finally:
        end = Properties(PacketTypes.DISCONNECT)  # type: ignore[no-untyped-call]
        end.SessionExpiryInterval = 0  # leave no session behind for the next connection of this client id
        client.disconnect(properties=end)
        client.loop_stop()
    return flags[0]


@pytest.mark.timeout(180)
def test_an_ingester_retired_with_leave_takes_its_queued_share_and_is_dealt_nothing_more(mosquitto: Mosquitto,
                                                                                        sqlite_url: str) -> None:
    engine = prepare(sqlite_url)
    station = Station("qd-a")
    stay = ingest_process(mosquitto, sqlite_url, "ing-stay", "--group", "shared")
    away = ingest_process(mosquitto, sqlite_url, "ing-away", "--group", "shared")
    wait_connected(stay)
    wait_connected(away)
    terminate(away)
    meanwhile = [station.flow(i) for i in range(40)]
    publish(mosquitto, meanwhile)  # half of them queued for ing-away

    leaving = ingest_process(mosquitto, sqlite_url, "ing-away", "--group", "shared", "--leave")
    _, log = leaving.communicate(timeout=120)
    assert leaving.returncode == 0, log
    records = _records(log)
    assert any(r["msg"].startswith("left the group") for r in records), log
    [stopped] = [r for r in records if r["msg"] == "stopped"]
    assert stopped["stored"] == len(meanwhile) // 2  # its share, taken before it went
    assert not _session_kept(mosquitto, "ing-away")

    after = [station.flow(i) for i in range(40)]
    publish(mosquitto, after)  # all dealt to the one member left
    _settle(mosquitto, engine, station)
    assert _ids(meanwhile) | _ids(after) <= _stored_ids(engine)
    assert _records(terminate(stay))[-1]["received"] == len(meanwhile) // 2 + len(after) + 4
    # Should the retired client id ever come back, it lost nothing: a first start, not a lost session.
    again = ingest_process(mosquitto, sqlite_url, "ing-away", "--group", "shared")
    records = _records(wait_connected(again))
    terminate(again)
    assert _said(records, "first start of client id ing-away") and not _said(records, "session lost")


def test_leave_needs_a_shared_subscription(mosquitto: Mosquitto, sqlite_url: str) -> None:
    prepare(sqlite_url)
    process = ingest_process(mosquitto, sqlite_url, "ing-plain", "--mqtt-version", "3.1.1", "--leave")
    _, log = process.communicate(timeout=60)
    assert process.returncode == 2 and "--leave needs --mqtt-version 5" in log
