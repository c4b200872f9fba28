"""The broker's ACL, rendered from the station list. Pure.

A station (user name = station id) may publish only under `eldercare/v1/{id}/` and read only its own commands; the
ingester reads every station's messages and may publish commands. Anything not granted is refused.
"""

from collections.abc import Iterable

from station_protocol.ids import id_problem
from station_protocol.topics import ROOT


def render_acl(stations: Iterable[str], ingester: str) -> str:
    """Mosquitto acl_file text."""
    lines = [
        "# Written by `eldercare cloud provision broker`; edits are overwritten.",
        f"user {ingester}",
        f"topic read {ROOT}/#",
        f"topic write {ROOT}/+/cmd/#",
        "",
    ]
    for station in sorted(set(stations)):
        problem = id_problem(station, "station")
        if problem:
            raise ValueError(problem)
        lines += [f"user {station}", f"topic write {ROOT}/{station}/#", f"topic read {ROOT}/{station}/cmd/#", ""]
    return "\n".join(lines)
