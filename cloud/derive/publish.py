"""Publishing queued station commands (`cmd/call-ack`) over MQTT (paho 2.x), marking each done only once the broker
confirmed it (QoS 1)."""

import json
import logging
import ssl
from datetime import datetime

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import select
from sqlalchemy.orm import Session

from cloud.settings import Settings
from cloud.store.derived import OutgoingCommand
from station_protocol.codec import model_for
from station_protocol.topics import command_topic

log = logging.getLogger(__name__)
PUBLISH_TIMEOUT_S = 10.0


def connect(settings: Settings, client_id: str) -> mqtt.Client:
    """A connected client with its network loop running; the caller stops it with `disconnect`."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
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
    client.disconnect()
    client.loop_stop()


def publish_pending(session: Session, client: mqtt.Client, stations: set[str], now: datetime) -> int:
    """Publish every unsent command of `stations`; returns how many the broker confirmed. The caller commits."""
    pending = session.execute(select(OutgoingCommand).where(OutgoingCommand.published_at.is_(None))
                              .order_by(OutgoingCommand.id)).scalars().all()
    sent = 0
    for command in pending:
        if command.station_id not in stations:
            continue
        topic = command_topic(command.station_id, command.name)
        command.attempts += 1
        try:
            # Validate against the protocol before it leaves: a malformed command is an error kept on the row.
            body = model_for(topic).model_validate_json(json.dumps(command.payload))
            info = client.publish(str(topic), body.model_dump_json(by_alias=True, exclude_none=True), qos=1)
            info.wait_for_publish(PUBLISH_TIMEOUT_S)
            if info.rc != mqtt.MQTT_ERR_SUCCESS or not info.is_published():
                raise RuntimeError(f"broker did not confirm (rc={info.rc})")
        except (ValueError, RuntimeError) as exc:
            command.last_error = str(exc)[:500]
            log.warning("command %s to %s not published: %s", command.id, topic, exc)
            continue
        command.published_at = now
        command.last_error = None
        sent += 1
    return sent
