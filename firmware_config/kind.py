"""A station's kind: what sort of community eldercare site it is, and so which of the graded scheme's rules apply.

- `station`: a home-care service station (居家养老服务站), graded 2A to 5A. Its grade sets a monthly figure of elders
  served, the annual operating subsidy, and the spot-check veto (closed on three checks in a year: no subsidy).
- `care_centre`: a village or community day-care centre (照料中心); `neighbourhood_point`: a neighbourhood eldercare
  point (睦邻点). Schemes that fund these (e.g. by a one-off building grant once built and accepted) give them no
  grade, no monthly figure, no operating subsidy by grade and no veto; they are to be open regularly to residents,
  and their devices' data go to the platform. So they are registered without a grade: their opening, evidence,
  alerts, elders served and person-times are reported as for any site, and the graded verdicts do not apply.
"""

from typing import Literal, get_args

StationKind = Literal["station", "care_centre", "neighbourhood_point"]
KINDS: tuple[str, ...] = get_args(StationKind)
GRADED_KIND = "station"


def is_graded(kind: str) -> bool:
    """Whether the grade's monthly threshold, annual subsidy and spot-check veto apply to this kind."""
    return kind == GRADED_KIND


def grade_problem(kind: str, grade: str | None) -> str | None:
    """Why this kind and grade do not go together, or None when they do: a station needs its grade, and the other
    kinds have none (a grade there would hold them to a figure, a veto and a subsidy their scheme does not have)."""
    if is_graded(kind) and grade is None:
        return "grade is empty (a station (居家养老服务站) needs its grade: 2A, 3A, 4A or 5A)"
    if not is_graded(kind) and grade is not None:
        return f"grade must be empty for kind {kind} (a {kind.replace('_', ' ')} has no grade: got {grade!r})"
    return None
