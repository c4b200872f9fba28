"""Building the paho-mqtt client for a station: MQTT v5, TLS, per-station credentials, last will."""

import os
import ssl
from typing import Any

from firmware_config.station import MqttConfig
from station_protocol import Status, encode
from station_protocol.topics import Kind, agent_topic


def read_password(config: MqttConfig) -> str | None:
    """The broker password from its file, else from the named environment variable, else None."""
    if config.password_file is not None:
        try:
            return config.password_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise RuntimeError(f"cannot read mqtt.password_file {config.password_file}: {exc.strerror}") from None
    if config.password_env:
        return os.environ.get(config.password_env) or None
    return None


def file_problems(config: MqttConfig) -> list[str]:
    """Files the config names that cannot be read (checked at start-up, so a typo fails at once, not per retry)."""
    problems = []
    named = {"ca_file": config.ca_file, "cert_file": config.cert_file, "key_file": config.key_file,
             "password_file": config.password_file}
    for key, path in named.items():
        if path is None or (key != "password_file" and not config.tls):
            continue
        try:
            with path.open("rb"):
                pass
        except OSError as exc:
            hint = ("; put the station's password there (`eldercare cloud provision station` wrote it to "
                    "credentials/STATION.password; the installer takes it as --password-file)"
                    if key == "password_file" else "")
            problems.append(f"mqtt.{key}: cannot read {path}: {exc.strerror or exc}{hint}")
    return problems


def status_payload(station: str, online: bool, ts: Any) -> bytes:
    return encode(Status(v=1, station=station, online=online, ts=ts))


def new_client(station: str, config: MqttConfig, offline_payload: bytes) -> Any:
    """A fresh client (one per connection: unacked messages are re-sent from the outbox, never by paho)."""
    import paho.mqtt.client as paho
    from paho.mqtt.enums import CallbackAPIVersion

    client = paho.Client(
        CallbackAPIVersion.VERSION2, client_id=f"eldercare-{station}", protocol=paho.MQTTv5,
        reconnect_on_failure=False,
    )
    client.will_set(str(agent_topic(station, Kind.STATUS)), offline_payload, qos=1, retain=True)
    if config.tls:
        client.tls_set(
            ca_certs=str(config.ca_file) if config.ca_file else None,
            certfile=str(config.cert_file) if config.cert_file else None,
            keyfile=str(config.key_file) if config.key_file else None,
            tls_version=ssl.PROTOCOL_TLS_CLIENT,
        )
    password = read_password(config)
    if password is not None or config.username is not None:
        client.username_pw_set(config.username or station, password)
    return client
