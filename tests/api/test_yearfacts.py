"""The assessment's emergency calls are counted in the station's year: a press at 00:30 on New Year's Day in Shanghai
(still 31 December in UTC) belongs to the new year, one at 23:30 on New Year's Eve to the old."""

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, select

from cloud.api.yearfacts import year_facts
from cloud.store.db import make_session_factory
from cloud.store.models import Alert, Station

SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_calls_are_counted_in_the_stations_year_not_utcs(engine: Engine) -> None:
    presses = [  # (local time in Shanghai, acknowledged)
        (datetime(2026, 12, 31, 23, 30, tzinfo=SHANGHAI), True),
        (datetime(2027, 1, 1, 0, 30, tzinfo=SHANGHAI), True),  # 2026-12-31 16:30 UTC
        (datetime(2027, 1, 1, 7, 59, tzinfo=SHANGHAI), False),  # 2026-12-31 23:59 UTC
        (datetime(2027, 1, 1, 8, 0, tzinfo=SHANGHAI), False),
    ]
    with make_session_factory(engine)() as session:
        session.add(Station(id="qd-a", name="A", town="汇龙镇", grade="3A", weekdays="1-5", hours="08:30-11:30",
                            open_on_holidays=False, timezone="Asia/Shanghai"))
        session.flush()
        for n, (at, acked) in enumerate(presses):
            session.add(Alert(kind="emergency_call", station_id="qd-a", cause_key=f"call:qd-a:c-{n}",
                              status="acknowledged" if acked else "raised", level="station", raised_at=at,
                              acknowledged_at=at if acked else None, call_id=f"c-{n}", evidence={}))
        session.commit()
        stations = list(session.scalars(select(Station).where(Station.id == "qd-a")))
        (old,) = year_facts(session, stations, 2026)
        (new,) = year_facts(session, stations, 2027)
    assert (old.calls, old.calls_answered) == (1, 1)
    assert (new.calls, new.calls_answered) == (3, 1)
