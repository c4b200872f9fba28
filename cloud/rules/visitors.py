"""A day's visitors: counter entries less staff the camera saw, the enrolled elders served (each face backed by a
counter crossing), the anonymous visitors, and the flags on faces no crossing checked. Pure."""

from collections.abc import Sequence
from dataclasses import dataclass

from cloud.rules.config import RulesConfig
from cloud.rules.corroborate import corroborate
from cloud.rules.observations import Obs

FLAG_FACES_UNCORROBORATED = "faces_uncorroborated"
FLAG_FACES_UNCHECKED = "faces_unchecked"


@dataclass(frozen=True, slots=True)
class Visitors:
    """A day's visitor figures. `person_times` is counter entries minus staff seen by the camera (or face visits
    when there is no counter); `elders` are the distinct enrolled elders (role `elder`) served: corroborated by a
    counter crossing (see `cloud.rules.corroborate`); `uncorroborated` the enrolled elders seen but not served;
    `unchecked` those seen only while no counter reported; `anonymous` the distinct faces not enrolled (role
    `unknown`); staff are neither."""

    entries: int
    exits: int
    staff_visits: int
    face_visits: int  # non-staff face observations
    person_times: int
    person_times_basis: str  # "counter" or "faces"
    elders: frozenset[str]
    anonymous: frozenset[str]
    has_counter: bool
    has_camera: bool
    uncorroborated: frozenset[str] = frozenset()
    unchecked: frozenset[str] = frozenset()


def visitors(obs: Sequence[Obs], start: float, end: float, config: RulesConfig) -> Visitors:
    entries = exits = staff = faces = 0
    anonymous: set[str] = set()
    has_counter = has_camera = False
    for o in obs:
        if o.t < start or o.t >= end:
            continue
        if o.kind == "flow":
            has_counter = True
            entries += o.entries
            exits += o.exits
        elif o.kind == "face":
            has_camera = True
            if o.state == "staff":
                staff += 1
                continue
            faces += 1
            # Only a face the station enrolled as an elder is an elder served; any other face is an anonymous
            # visitor (it may be a passer-by, a relative, or the same stranger under a fresh id). An empty id was
            # blanked by retention: still a visit, no longer a known person.
            if o.ref and o.state != "elder":
                anonymous.add(o.ref)
    # An elder's face counts only with a counter crossing to back it: a photograph held up to the camera has none.
    checked = corroborate(obs, start, end, config)
    if has_counter:
        # Staff walk through the counter too; the camera knows them, so their entries are taken off.
        return Visitors(entries, exits, staff, faces, max(0, entries - staff), "counter", checked.served,
                        frozenset(anonymous), True, has_camera, checked.uncorroborated, checked.unchecked)
    return Visitors(0, 0, staff, faces, faces, "faces", checked.served, frozenset(anonymous), False, has_camera,
                    checked.uncorroborated, checked.unchecked)


def face_flags(v: Visitors, config: RulesConfig) -> list[str]:
    """`faces_uncorroborated`: at least `faces_uncorroborated_alert` elders seen and not served for want of a
    crossing; `faces_unchecked`: elders counted although no counter reported when they were seen (only with
    `count_faces_without_counter`)."""
    flags = []
    if len(v.uncorroborated) >= config.faces_uncorroborated_alert:
        flags.append(FLAG_FACES_UNCORROBORATED)
    if v.unchecked & v.elders:
        flags.append(FLAG_FACES_UNCHECKED)
    return flags
