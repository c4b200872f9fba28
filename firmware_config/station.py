"""A station's configuration file: who it is, where its broker is, and its devices. One YAML file per station.

Secrets never appear here: TLS and credentials are file paths (or an environment variable's name) read at start-up.
"""

from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from firmware_config.devices import DeviceConfig
from firmware_config.grade import Grade
from firmware_config.kind import StationKind, grade_problem
from firmware_config.schedule import Schedule
from station_protocol.ids import StationId


class MqttConfig(BaseModel):
    """The broker and this station's credentials (paths and variable names only, never the secrets)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str = Field(min_length=1, description="broker host name")
    port: int = Field(default=8883, ge=1, le=65535)
    tls: bool = Field(default=True, description="TLS to the broker (off only for a local test broker)")
    ca_file: Path | None = Field(default=None, description="CA certificate file; default: the system's CAs")
    cert_file: Path | None = Field(default=None, description="client certificate file (mutual TLS)")
    key_file: Path | None = Field(default=None, description="client private key file (mutual TLS)")
    username: str | None = Field(default=None, description="broker user name; default: the station id")
    password_file: Path | None = Field(default=None, description="file holding the broker password")
    password_env: str | None = Field(
        default="ELDERCARE_MQTT_PASSWORD", description="environment variable holding the password (if no file)"
    )
    keepalive_s: int = Field(default=60, ge=5, le=3600)
    reconnect_min_s: float = Field(default=1.0, gt=0, le=60, description="first reconnect delay (full jitter)")
    reconnect_max_s: float = Field(default=120.0, gt=0, le=3600, description="longest reconnect delay")


class AgentConfig(BaseModel):
    """How the agent keeps and sends events."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    outbox: Path = Field(default=Path("/var/lib/eldercare/outbox.sqlite3"), description="the durable outbox file")
    outbox_max_events: int = Field(
        default=200_000, ge=100, description="bound: beyond it heartbeats/health are dropped, never counts/doors/calls"
    )
    outbox_memory_events: int = Field(
        default=10_000, ge=10,
        description="readings kept in memory while the outbox cannot store them (disk full); past it health reports "
        "go first, then the oldest reading")
    outbox_retry_s: float = Field(
        default=10, gt=0, description="seconds between attempts to store what waits in memory (also on each reading)")
    outbox_resume_kb: int = Field(
        default=1024, ge=0,
        description="after a full disk, the outbox reports itself fine again once it has this much room (KiB)")
    outbox_check_s: float = Field(
        default=30, gt=0,
        description="time allowed at start for the outbox's integrity check (PRAGMA quick_check); past it the file "
        "is used unchecked")
    heartbeat_s: float = Field(
        default=60, gt=0, le=300,
        description="seconds between heartbeats; at most 300: the cloud takes the agent as alive for 10 minutes after "
        "each message, so a door-only station's quiet open hours between heartbeats further apart would be unknown")
    clock_check: Literal["ntp", "year", "off"] = Field(
        default="ntp", description="ntp: hold events until the kernel says NTP synced; year: only refuse < 2020"
    )
    clock_behind_warn_s: float = Field(
        default=120, gt=0, le=3600,
        description="warn in the log when a time check from the cloud finds this Pi's clock more than this many "
        "seconds behind the cloud's (the agent answers all the same: the cloud judges); at most 3600")


class StationConfig(BaseModel):
    """One station: identity, schedule, broker and devices."""

    model_config = ConfigDict(extra="forbid", frozen=True, title="Eldercare station configuration")

    station: StationId
    name: str = Field(min_length=1, description="the station's name, e.g. 惠隆村居家养老服务站")
    kind: StationKind = Field(default="station", description="station (居家养老服务站, graded), care_centre (照料中心) "
                              "or neighbourhood_point (睦邻点): the last two have no grade")
    grade: Grade | None = Field(default=None, description="2A to 5A: required for a station, absent for the others")
    town: str = Field(min_length=1, description="town or street office (区镇/街道)")
    address: str = Field(min_length=1)
    schedule: Schedule | None = Field(default=None, description="working hours (the cloud imports them)")
    mqtt: MqttConfig
    agent: AgentConfig = AgentConfig()
    devices: list[DeviceConfig] = Field(default_factory=list)

    @model_validator(mode="after")
    def _grade_fits_kind(self) -> Self:
        problem = grade_problem(self.kind, self.grade)
        if problem is not None:
            raise ValueError(problem)
        return self


AGENT_OWN_DEVICE = "outbox"  # the agent reports its outbox's health (disk full, damaged file) under this device id


def gpio_pins(device: BaseModel) -> dict[str, int]:
    """Every GPIO pin a device config uses, by field name."""
    return {name: value for name in type(device).model_fields
            if name.endswith("pin") and isinstance(value := getattr(device, name), int)}


def cross_problems(devices: Iterable[tuple[int, Any]]) -> list[tuple[tuple[str | int, ...], str]]:
    """Checks across (index, valid device config) pairs, each with its key path: unique ids, no shared pins, one
    serial setup per bus."""
    problems: list[tuple[tuple[str | int, ...], str]] = []
    ids: dict[str, int] = {}
    pins: dict[int, str] = {}
    ports: dict[str, tuple[int, str, int]] = {}
    units: dict[tuple[str, int], int] = {}
    for index, device in devices:
        where: tuple[str | int, ...] = ("devices", index)
        if device.id == AGENT_OWN_DEVICE:
            problems.append(((*where, "id"), f"device id {device.id!r} is used by the agent for its outbox's health"))
        if device.id in ids:
            problems.append(((*where, "id"), f"device id {device.id!r} is already used by devices[{ids[device.id]}]"))
        ids.setdefault(device.id, index)
        for name, pin in gpio_pins(device).items():
            if pin in pins:
                problems.append(((*where, name), f"GPIO {pin} is already used by {pins[pin]}"))
            else:
                pins[pin] = f"devices[{index}].{name}"
        if device.type == "counter":
            first = ports.setdefault(device.port, (device.baud, device.parity, index))
            if (device.baud, device.parity) != first[:2]:
                problems.append(((*where, "baud"), f"bus {device.port} is {first[0]} baud parity {first[1]} in "
                                 f"devices[{first[2]}]; counters on one bus must share its settings"))
            seen = units.setdefault((device.port, device.unit), index)
            if seen != index:
                problems.append(((*where, "unit"), f"Modbus unit {device.unit} on {device.port} is already "
                                 f"devices[{seen}]"))
    return problems

