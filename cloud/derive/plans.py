"""Spot-check plans, as the API creates them: all stations, a town, a list, or an audited random draw."""

import secrets
from datetime import date, datetime, time

from sqlalchemy import select
from sqlalchemy.orm import Session

from cloud.rules.spotcheck import draw
from cloud.store.derived import SpotCheckPlan
from cloud.store.models import Station

SCOPES = ("all", "town", "random", "stations")
PLANNERS = ("bureau", "town")


class PlanError(ValueError):
    """A plan that cannot be made; the message is one plain line."""


def create_plan(
    session: Session,
    *,
    day: date,
    start: time,
    end: time,
    scope: str,
    created_by: str,
    now: datetime,
    town: str | None = None,
    sample: int | None = None,
    seed: int | None = None,
    stations: list[str] | None = None,
    today: date | None = None,
    planner_role: str = "bureau",
) -> SpotCheckPlan:
    """Create a plan with its stations fixed now; with `today`, a date before it is refused (a plan made after the
    fact would be a check chosen knowing the answer). A random draw records its seed (chosen here if not given), so
    anyone can repeat the draw: `draw(stations of the population, sample, seed)`. `planner_role`: whose check it is,
    `bureau` or `town` (the veto counts the bureau's). The caller commits."""
    if today is not None and day < today:
        raise PlanError(f"the check date {day} is in the past (today is {today}): plan a check for today or later")
    if end <= start:
        raise PlanError("the window must end after it starts")
    if planner_role not in PLANNERS:
        raise PlanError(f"planner_role must be one of {', '.join(PLANNERS)}")
    if scope not in SCOPES:
        raise PlanError(f"scope must be one of {', '.join(SCOPES)}")
    query = select(Station.id)
    if scope == "town" or (scope == "random" and town):
        if not town:
            raise PlanError("a town spot check needs the town")
        query = query.where(Station.town == town)
    population = sorted(session.execute(query).scalars())
    if scope == "stations":
        unknown = sorted(set(stations or []) - set(session.execute(select(Station.id)).scalars()))
        if not stations or unknown:
            raise PlanError(f"unknown stations: {', '.join(unknown)}" if unknown else "name the stations to check")
        chosen = sorted(set(stations))
    elif scope == "random":
        if not sample or sample < 1:
            raise PlanError("a random draw needs the number of stations to draw")
        seed = seed if seed is not None else secrets.randbits(63)
        chosen = draw(population, sample, seed)
    else:
        chosen = population
    if not chosen:
        raise PlanError("no stations match the plan")
    plan = SpotCheckPlan(local_date=day, start=f"{start:%H:%M}", end=f"{end:%H:%M}", scope=scope, town=town,
                         sample=sample if scope == "random" else None, seed=seed if scope == "random" else None,
                         stations=chosen, created_by=created_by, created_at=now, planner_role=planner_role)
    session.add(plan)
    session.flush()
    return plan
