"""The broker's ACL, rendered from the station list. Pure.

A station (user name = station id) may publish only under `eldercare/v1/{id}/` and read only its own commands; the
ingester reads every station's messages and publishes nothing; the command sender (`eldercare cloud sender`, whose
account is named `eldercare-worker`) publishes the stations' commands and reads nothing. Anything not granted is
refused.
"""

from collections.abc import Iterable

from station_protocol.ids import station_id_problem
from station_protocol.topics import AGENT_KINDS, DEVICE_KINDS, ROOT


def station_topics() -> list[str]:
    """What a station publishes, below its own `{ROOT}/{station}/`: `+/{kind}` per device kind, `agent/{kind}`."""
    return [f"+/{kind}" for kind in sorted(DEVICE_KINDS)] + [f"agent/{kind}" for kind in sorted(AGENT_KINDS)]


def render_acl(stations: Iterable[str], ingester: str, worker: str | None = None) -> str:
    """Mosquitto acl_file text."""
    lines = [
        "# Written by `eldercare cloud provision`; edits are overwritten.",
        f"user {ingester}",
        f"topic read {ROOT}/#",
        "",
    ]
    if worker is not None:
        lines += [f"user {worker}", f"topic write {ROOT}/+/cmd/#", ""]
    for station in sorted(set(stations)):
        problem = station_id_problem(station)
        if problem:
            raise ValueError(problem)
        # Only the protocol's station topics, not `{ROOT}/{station}/#`: its cmd/ topics are the cloud's to write (a
        # forged `call-ack` tells an elder help is coming when nobody answered). Mosquitto's `deny` would also stop
        # the station reading them, hence the list.
        lines += [f"user {station}", *(f"topic write {ROOT}/{station}/{t}" for t in station_topics()),
                  f"topic read {ROOT}/{station}/cmd/#", ""]
    return "\n".join(lines)
