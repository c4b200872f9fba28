"""A new station's `firmware_config/` file, written with its credentials so the installer starts from a valid file."""

from firmware_config.load import parse_station

TEMPLATE = """\
# yaml-language-server: $schema=../station.schema.json
# Written by `eldercare cloud provision station {station}`. Fill in the name, town, address and devices, then check it:
#   eldercare edge check-config {station}.yaml
station: {station}
name: {name}
{identity}town: {town}
address: {address}
schedule:
  weekdays: "1-5"
  hours: "08:30-11:30 13:30-17:00"
  open_on_holidays: false
mqtt:
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


def station_skeleton(station: str, *, host: str, port: int, name: str | None = None, kind: str = "station",
                     grade: str | None = "2A", town: str | None = None, address: str | None = None,
                     tls: bool = True) -> str:
    """The YAML text; validated through the same loader the agent runs, so a skeleton is always a valid file (a
    grade given with a kind that has none, or a station without one, raises the loader's ConfigError)."""
    note = KIND_NOTES.get(kind)
    identity = f"kind: {kind}" + (f"   # {note}\n" if note else "\n")
    if grade is not None:
        identity += f"grade: {grade}\n"
    text = TEMPLATE.format(station=station, name=name or "待填写（站点名称）", identity=identity,
                           town=town or "待填写（区镇/街道）", address=address or "待填写（地址）", host=host,
                           port=port, transport=TLS if tls else PLAIN)
    parse_station(text, f"{station}.yaml")
    return text
