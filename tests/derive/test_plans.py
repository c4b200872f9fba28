"""Spot-check plans as the API creates them: the random draw is recorded and repeatable."""

from datetime import UTC, date, datetime, time

import pytest
from sqlalchemy import Engine, select

from cloud.derive.plans import PlanError, create_plan
from cloud.registry.csv_rows import parse_station_csv
from cloud.registry.store import upsert_stations
from cloud.rules.spotcheck import draw
from cloud.store.db import make_session_factory
from cloud.store.models import Station

NOW = datetime(2026, 10, 1, tzinfo=UTC)
DAY = date(2026, 10, 14)


def more_stations(engine: Engine) -> list[str]:
    rows = "\n".join(f"st-{i:02d},S{i},{'东' if i % 2 else '西'}镇,2A,1-5,08:30-11:30" for i in range(20))
    records, problems = parse_station_csv("station_id,name,town,grade,weekdays,hours\n" + rows + "\n")
    assert not problems
    upsert_stations(engine, records)
    with make_session_factory(engine)() as session:
        return sorted(session.scalars(select(Station.id)))


def test_random_draw_records_its_seed_and_repeats(store: Engine) -> None:
    population = more_stations(store)
    with make_session_factory(store)() as session:
        plan = create_plan(session, day=DAY, start=time(9), end=time(10), scope="random", sample=5,
                           created_by="bureau", now=NOW)
        session.commit()
        assert plan.seed is not None and len(plan.stations) == 5
        assert plan.stations == draw(population, 5, plan.seed)
        again = create_plan(session, day=DAY, start=time(9), end=time(10), scope="random", sample=5, seed=plan.seed,
                            created_by="bureau", now=NOW)
        assert again.stations == plan.stations


def test_town_scope_and_errors(store: Engine) -> None:
    more_stations(store)
    with make_session_factory(store)() as session:
        plan = create_plan(session, day=DAY, start=time(9), end=time(10), scope="town", town="东镇",
                           created_by="town", now=NOW)
        assert plan.stations == [f"st-{i:02d}" for i in range(1, 20, 2)]
        for kwargs, message in (({"scope": "town"}, "town"), ({"scope": "random"}, "number"),
                                ({"scope": "stations", "stations": ["nope"]}, "unknown stations"),
                                ({"scope": "everything"}, "scope")):
            with pytest.raises(PlanError, match=message):
                create_plan(session, day=DAY, start=time(9), end=time(10), created_by="x", now=NOW,
                            **kwargs)
        with pytest.raises(PlanError, match="end after"):
            create_plan(session, day=DAY, start=time(10), end=time(9), scope="all", created_by="x", now=NOW)
