"""Publishing queued station commands (`cmd/call-ack`) over MQTT (paho 2.x), each marked sent only once the broker
confirmed it (QoS 1), and asking every registered station for its time (`cmd/time-check`, cloud.alerts.time_checks).

The sender is its own small process (`eldercare cloud sender`), not a step of the derivation worker: an emergency
call's acknowledgement reaches the station while the worker is stopped, busy with a long recompute or failing.
"""

import json
import logging
import ssl
import threading
from collections.abc import Callable
from datetime import UTC, datetime

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from cloud.alerts import queue
from cloud.alerts.time_checks import TIME_CHECK, TimeChecks, time_check
from cloud.settings import Settings
from cloud.store.time_checks import record_asked
from station_protocol.codec import model_for
from station_protocol.topics import command_topic

log = logging.getLogger(__name__)
PUBLISH_TIMEOUT_S = 10.0


def connect(settings: Settings, client_id: str,
            mqtt_version: MQTTProtocolVersion = MQTTProtocolVersion.MQTTv5) -> mqtt.Client:
    """A connected client with its network loop running; the caller stops it with `disconnect`. MQTT 5 by default;
    `MQTTv311` for a broker that speaks only 3.1.1 (the embedded one)."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt_version)
    if settings.mqtt_username:
        password = settings.mqtt_password.get_secret_value() if settings.mqtt_password else None
        client.username_pw_set(settings.mqtt_username, password)
    if settings.mqtt_tls:
        client.tls_set(ca_certs=str(settings.mqtt_ca_file) if settings.mqtt_ca_file else None,
                       tls_version=ssl.PROTOCOL_TLS_CLIENT)
    client.connect(settings.mqtt_host, settings.mqtt_port, keepalive=30)
    client.loop_start()
    return client


def disconnect(client: mqtt.Client) -> None:
    try:
        client.disconnect()
    finally:
        client.loop_stop()  # the network thread stops even when the socket is already broken


def _publish(client: mqtt.Client, topic: str, body: str) -> None:
    """Publish at QoS 1 and wait for the broker's confirmation; RuntimeError if it does not come."""
    info = client.publish(topic, body, qos=1)
    info.wait_for_publish(PUBLISH_TIMEOUT_S)
    if info.rc != mqtt.MQTT_ERR_SUCCESS or not info.is_published():
        raise RuntimeError(f"broker did not confirm (rc={info.rc})")


def ask_time(session: Session, client: mqtt.Client, checks: TimeChecks, stations: list[str], now: datetime) -> int:
    """Send each of `stations` a time check stamped `now` (the start of the pass, at or before the moment it goes
    out: a lower bound, so an honest clock always answers after it); returns how many the broker confirmed. Each
    confirmed is recorded (cloud.store.time_checks: a station that answers none is found by it); one not confirmed
    is not, and stays due for the next pass. The caller commits."""
    asked = 0
    for station in stations:
        topic = command_topic(station, TIME_CHECK)
        check = time_check(now)
        try:
            _publish(client, str(topic), check.model_dump_json(by_alias=True, exclude_none=True))
        except (ValueError, RuntimeError) as exc:
            log.warning("time check to %s not published: %s", station, exc)
            continue
        record_asked(session, station, check.check, check.ts)
        checks.asked(station, now)
        asked += 1
    return asked


def publish_pending(session: Session, client: mqtt.Client, now: datetime) -> int:
    """Publish every unsent command; returns how many the broker confirmed. The caller commits."""
    sent = 0
    for command in queue.pending(session):
        topic = command_topic(command.station_id, command.name)
        queue.attempted(command)
        try:
            # Validate against the protocol before it leaves: a malformed command is an error kept on the row.
            body = model_for(topic).model_validate_json(json.dumps(command.payload))
            _publish(client, str(topic), body.model_dump_json(by_alias=True, exclude_none=True))
        except (ValueError, RuntimeError) as exc:
            queue.failed(command, str(exc))
            log.warning("command %s to %s not published: %s", command.id, topic, exc)
            continue
        queue.sent(command, now)
        sent += 1
    return sent


class Sender:
    """Publishes queued commands, and the time checks due (`time_checks`, if given), over one MQTT connection, made
    when there is something to send and made again after a failure."""

    def __init__(self, connect: Callable[[], mqtt.Client], time_checks: TimeChecks | None = None,
                 reference: Callable[[], str | None] = lambda: None) -> None:
        self._connect = connect
        self.client: mqtt.Client | None = None
        self.time_checks = time_checks
        # Why this host's clock cannot be the time checks' reference now (cloud.alerts.reference_clock), or None.
        self.reference = reference
        self.reference_problem: str | None = None
        self.asked = 0  # time checks the broker confirmed, since the start
        self.withheld = 0  # passes that had checks due and asked none, the host's clock being unfit

    def _due(self, session: Session, now: datetime) -> list[str]:
        """The stations to ask now: none while the host's clock is unfit (they stay due, asked once it is fit)."""
        if self.time_checks is None:
            return []
        due = self.time_checks.due(session, now)
        if not due:
            return []
        problem = self.reference()
        if problem != self.reference_problem:
            if problem is not None:
                log.warning("time checks withheld: %s", problem)
            else:
                log.info("time checks resumed: the host's clock is synchronised")
            self.reference_problem = problem
        if problem is not None:
            self.withheld += 1
            return []
        return due

    def __call__(self, session: Session, now: datetime) -> int:
        """One look: returns how many queued commands the broker confirmed (time checks are counted in `asked`)."""
        due = self._due(session, now)
        if not due and not queue.has_pending(session):
            return 0  # connect only when there is something to send
        try:
            if self.client is None:
                self.client = self._connect()
            sent = publish_pending(session, self.client, now)
            if due and self.time_checks is not None:
                self.asked += ask_time(session, self.client, self.time_checks, due, now)
            return sent
        except OSError as exc:
            log.warning("MQTT unavailable, commands stay queued: %s", exc)
            self.close()  # the failed client's network thread too: a new connection is made on the next look
            return 0

    def close(self) -> None:
        client, self.client = self.client, None
        if client is not None:
            try:
                disconnect(client)
            except OSError as exc:  # a socket already broken
                log.debug("disconnect: %s", exc)


def send_pass(factory: sessionmaker[Session], sender: Sender, now: datetime) -> int:
    """One pass: publish what is queued and record it. A database that cannot be reached is logged, and the commands
    stay queued for the next pass."""
    with factory() as session:
        try:
            sent = sender(session, now)
            session.commit()
            return sent
        except SQLAlchemyError as exc:
            session.rollback()
            log.error("command queue unavailable, retrying: %s", str(exc).splitlines()[0])
            return 0


def run_sender(factory: sessionmaker[Session], sender: Sender, interval: float, stop: threading.Event,
               clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
    """Passes every `interval` seconds until `stop` is set; the connection is closed on the way out."""
    try:
        while not stop.is_set():
            sent = send_pass(factory, sender, clock())
            if sent:
                log.info("%d command(s) sent", sent)
            stop.wait(interval)
    finally:
        sender.close()
