"""A new station's `firmware_config/` file, written with its credentials so the installer starts from a valid file."""

import json
import os
from pathlib import Path

from firmware_config.load import parse_station
from firmware_config.schedule import Schedule
from firmware_config.schema import SCHEMA_PATH

TEMPLATE = """\
# yaml-language-server: $schema={schema}
# Written by `eldercare cloud provision station {station}`. {fill}, then check it:
#   eldercare edge check-config {station}.yaml
station: {station}
name: {name}
{identity}town: {town}
address: {address}
schedule:
  weekdays: {weekdays}
  hours: {hours}
  open_on_holidays: {holidays}
{timezone}mqtt:
  host: {host}
  port: {port}
{transport}  password_file: /etc/eldercare/mqtt-password   # the station's password here (never into this file)
devices: []
# Examples (see firmware_config/examples/ and docs/edge.md):
#  - {{type: counter, id: flow-1, port: /dev/ttyUSB0, unit: 1}}
#  - {{type: door, id: door-1, pin: 17}}
#  - {{type: button, id: call-1, pin: 22, led_pin: 23}}
"""

# What each kind is held to, beside its `kind:` line: a station (居家养老服务站) to its grade's monthly figure, veto and
# subsidy; the other kinds have no grade (a grade written for them would make the file invalid).
KIND_NOTES = {
    "station": "居家养老服务站, graded 2A-5A",
    "care_centre": "照料中心: no grade (no monthly figure, veto or subsidy by grade)",
    "neighbourhood_point": "睦邻点: no grade (no monthly figure, veto or subsidy by grade)",
}

TLS = "  ca_file: /etc/eldercare/ca.crt           # copy the broker's CA here\n"
# `eldercare serve`'s broker listens without TLS: a station set up for TLS would never connect to it.
PLAIN = "  tls: false                               # `eldercare serve`'s broker: no TLS, trusted networks only\n"
# An unregistered station's working hours until the installer writes its own (the registry imports them).
DEFAULT_WEEKDAYS = "1-5"
DEFAULT_HOURS = "08:30-11:30 13:30-17:00"
DEFAULT_TIMEZONE = "Asia/Shanghai"


def schema_reference(config_dir: Path) -> str:
    """Where an editor finds the station schema shipped with this package, seen from the file's folder: a relative
    path inside the tree that holds the package (a checkout), else the schema's absolute path."""
    folder = config_dir.resolve()
    if folder.is_relative_to(SCHEMA_PATH.parent.parent):
        return Path(os.path.relpath(SCHEMA_PATH, folder)).as_posix()
    return SCHEMA_PATH.as_posix()


def _scalar(text: str) -> str:
    """`text` as one YAML scalar whatever it holds (a name with `: ` or `#` would otherwise change the file)."""
    return json.dumps(text, ensure_ascii=False)


def station_skeleton(station: str, *, host: str, port: int, name: str | None = None, kind: str = "station",
                     grade: str | None = "2A", town: str | None = None, address: str | None = None,
                     tls: bool = True, schedule: Schedule | None = None, registered: bool = False,
                     schema: str = "../station.schema.json") -> str:
    """The YAML text; validated through the same loader the agent runs, so a skeleton is always a valid file (a
    grade given with a kind that has none, or a station without one, raises the loader's ConfigError)."""
    note = KIND_NOTES.get(kind)
    identity = f"kind: {kind}" + (f"   # {note}\n" if note else "\n")
    if grade is not None:
        identity += f"grade: {grade}\n"
    missing = "devices" if address else "address and devices"
    fill = (f"Its name, town, kind, grade and hours are the registry's (change them with `eldercare cloud stations "
            f"import`); fill in its {missing}" if registered else "Fill in the name, town, address and devices")
    weekdays, hours = (schedule.weekdays_text(), schedule.hours_text()) if schedule else (DEFAULT_WEEKDAYS,
                                                                                        DEFAULT_HOURS)
    zone = schedule.timezone if schedule else DEFAULT_TIMEZONE
    text = TEMPLATE.format(station=station, schema=schema, fill=fill,
                           name=_scalar(name) if name else "待填写（站点名称）", identity=identity,
                           town=_scalar(town) if town else "待填写（区镇/街道）",
                           address=_scalar(address) if address else "待填写（地址）",
                           weekdays=_scalar(weekdays), hours=_scalar(hours),
                           holidays="true" if schedule and schedule.open_on_holidays else "false",
                           timezone=f"  timezone: {_scalar(zone)}\n" if zone != DEFAULT_TIMEZONE else "",
                           host=host, port=port, transport=TLS if tls else PLAIN)
    parse_station(text, f"{station}.yaml")
    return text
