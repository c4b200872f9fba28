"""The fleet's store as the worker leaves it at 00:10 in Shanghai on Tuesday 2026-10-13 (16:10 UTC the day before):
the fleet of tests/api/fleet.py, then a pass over the new day. hl-01's agent kept sending heartbeats overnight;
nh-01 is still offline. No station is due to open before 08:30."""

from datetime import date, datetime, timedelta

from sqlalchemy import Engine, select

from cloud.derive.recompute import recompute_station
from cloud.derive.runner import live_offline
from cloud.rules.config import RulesConfig
from cloud.store.db import make_session_factory
from cloud.store.models import Device, Station
from tests.api import fleet

MIDNIGHT = datetime(2026, 10, 13, 0, 10, tzinfo=fleet.ZONE)
NEW_DAY = date(2026, 10, 13)


def build(engine: Engine) -> None:
    fleet.build(engine)
    with make_session_factory(engine)() as session:
        start = datetime(2026, 10, 13, 0, 0, tzinfo=fleet.ZONE)
        session.add_all(fleet._event("hl-01", "agent", "heartbeat", start + timedelta(minutes=m), 10_000 + m,
                                     version="1.0", uptime_s=60.0 * m, outbox=0) for m in range(0, 11, 5))
        agent = session.get(Device, ("hl-01", "agent"))
        assert agent is not None
        agent.last_seen_at = start + timedelta(minutes=10)  # as ingest keeps it: the last heartbeat
        session.commit()
        config = RulesConfig()
        for station in session.scalars(select(Station)):
            recompute_station(session, station, [NEW_DAY], NEW_DAY, config, MIDNIGHT)
        live_offline(session, list(session.scalars(select(Station))), config, MIDNIGHT)
        session.commit()
