"""The monthly partitioning that docs/cloud-ingest.md gives for PostgreSQL, applied as written, under the ingester:
events land in their month's partition and a replay is still stored once."""

import re
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import text

from cloud.store.models import Event
from tests.ingest.conftest import ROOT, Station, count, prepare, publish, running_ingester
from tests.localservices import Mosquitto
from tests.wait import poll

DOC = ROOT / "docs" / "cloud-ingest.md"


def partition_ddl(doc: Path) -> str:
    """The SQL block under the partitioning heading."""
    section = doc.read_text(encoding="utf-8").split("### Partitioning `events` by month on PostgreSQL", 1)[1]
    match = re.search(r"```sql\n(.*?)```", section, re.S)
    assert match, "docs/cloud-ingest.md lost its partitioning SQL"
    return match.group(1)


def test_the_documented_partitioning_keeps_ingest_idempotent(mosquitto: Mosquitto, postgres_url: str) -> None:
    engine = prepare(postgres_url)
    a = Station("qd-a")
    before = a.flow(2, ts=datetime(2026, 11, 2, 1, 0, tzinfo=UTC))
    with running_ingester(mosquitto, engine) as ingester:
        publish(mosquitto, [before])
        poll(lambda: ingester.totals["stored"] == 1)
    with engine.begin() as connection:
        connection.exec_driver_sql(partition_ddl(DOC))
    november, later = a.door(ts=datetime(2026, 11, 20, 1, 0, tzinfo=UTC)), a.flow(3, ts=datetime(2027, 1, 5,
                                                                                                   tzinfo=UTC))
    with running_ingester(mosquitto, engine) as ingester:
        publish(mosquitto, [november, later, before, november])  # two replays
        poll(lambda: ingester.totals["received"] == 4)
        assert (ingester.totals["stored"], ingester.totals["duplicates"]) == (2, 2)
    assert count(engine, Event) == 3
    with engine.connect() as connection:
        placed = dict(connection.execute(text(
            "SELECT tableoid::regclass::text, count(*) FROM events GROUP BY 1")).tuples().all())
        partitioned = connection.execute(text(
            "SELECT relkind FROM pg_class WHERE relname = 'events'")).scalar_one()
    assert partitioned == "p"
    assert placed == {"events_2026_11": 2, "events_other": 1}
    engine.dispose()
