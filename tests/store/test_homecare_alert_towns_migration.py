"""Revision 0019_homecare_alert_towns on SQLite and PostgreSQL: home-care alerts stored when they went to the
provider's town move to the town of the elders their evidence names, or to the bureau; open or resolved, each saying
why; the others stay as they were."""

from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import select

from cloud.alerts import service
from cloud.alerts.kinds import AlertKind, AlertLevel, AlertSpec
from cloud.homecare.records import Caregiver, Category, Elder, Provider
from cloud.homecare.store.registry import upsert_caregiver, upsert_elder, upsert_provider
from cloud.homecare.store.visits import record_sign_in
from cloud.store.db import make_engine, make_session_factory
from cloud.store.models import Alert
from tests.store.migrations import migrate_to

CST = timezone(timedelta(hours=8))
AT = datetime(2026, 10, 20, 9, tzinfo=CST)
HL, NY = "汇龙镇", "南阳镇"


def _visit(elder: str) -> dict[str, Any]:
    return {"visit": f"v-{elder}", "elder": elder, "caregiver": "HL001"}


def test_old_home_care_alerts_move_to_their_elders_town_or_the_bureau(db_url: str) -> None:
    engine = make_engine(db_url)
    migrate_to(engine, "0018_dead_letter_faces")
    factory = make_session_factory(engine)
    old: dict[str, tuple[AlertKind, dict[str, Any]]] = {
        "hc-double:HL001:a:b": (AlertKind.HOMECARE_DOUBLE_BOOKED, {"visits": [_visit("E-HL"), _visit("E-NY")]}),
        "hc-far:visit-ny-1": (AlertKind.HOMECARE_FAR_AWAY, _visit("E-NY")),
        "hc-qr:E-HL:2026-10-20": (AlertKind.HOMECARE_QR_RATE, {"elder": "E-HL", "visits": [_visit("E-HL")]}),
        "hc-just:HL001:2026-10": (AlertKind.HOMECARE_JUST_LONG_ENOUGH, {"visits": ["visit-ny-1", "visit-ny-2"]}),
        "hc-late:caregiver:p-hl:HL001:2026-10": (AlertKind.HOMECARE_LATE_UPLOADS,
                                                 {"visits": [_visit("E-HL")], "visits_not_listed": 3}),
        "hc-sat:p-hl:2026-10": (AlertKind.HOMECARE_SATISFACTION, {"satisfaction": 0.8}),
        "hc-complaints:p-hl:2026-10": (AlertKind.HOMECARE_COMPLAINTS, {"complaint_rate": 0.04}),
    }
    with factory.begin() as session:
        upsert_provider(session, Provider("p-hl", "汇龙为老服务中心", HL))
        session.flush()
        upsert_caregiver(session, Caregiver("HL001", "王芳", "p-hl"))
        upsert_elder(session, Elder("E-HL", "老人甲", Category.DISABLED, HL, "p-hl"))
        upsert_elder(session, Elder("E-NY", "老人乙", Category.DISABLED, NY, "p-hl"))
        session.flush()
        for i in (1, 2):
            record_sign_in(session, key=f"visit-ny-{i}", elder_id="E-NY", caregiver_id="HL001", by="HL001",
                           at=AT + timedelta(days=i), now=AT + timedelta(days=i))
        for key, (kind, evidence) in old.items():  # as the old worker raised them: to the provider's town
            service.raise_alert(session, AlertSpec(kind, None, key, AlertLevel.TOWN, AT,
                                                   {**evidence, "provider": "p-hl"}, town=HL))
        service.resolve_row(session.scalars(select(Alert).where(Alert.cause_key == "hc-sat:p-hl:2026-10")).one(),
                            "town-hl", AT, "seen")
    migrate_to(engine, "0019_homecare_alert_towns")
    with factory() as session:
        alerts = {a.cause_key: a for a in session.scalars(select(Alert))}
    where = {key: (a.town, a.level) for key, a in alerts.items()}
    assert where == {
        "hc-double:HL001:a:b": (None, "bureau"),  # two towns' elders
        "hc-far:visit-ny-1": (NY, "town"),
        "hc-qr:E-HL:2026-10-20": (HL, "town"),  # already its elder's town
        "hc-just:HL001:2026-10": (NY, "town"),  # its visits' elders, by their keys
        "hc-late:caregiver:p-hl:HL001:2026-10": (None, "bureau"),  # three visits not listed: of no known town
        "hc-sat:p-hl:2026-10": (None, "bureau"),
        "hc-complaints:p-hl:2026-10": (None, "bureau"),
    }
    assert alerts["hc-qr:E-HL:2026-10-20"].notes is None
    assert f"moved from town {HL} to town {NY} by revision 0019_homecare_alert_towns" in (
        alerts["hc-far:visit-ny-1"].notes or "")
    sat = alerts["hc-sat:p-hl:2026-10"]
    assert sat.status == "resolved" and (sat.notes or "").startswith("seen\nmoved from town 汇龙镇 to the bureau")
    migrate_to(engine, "0018_dead_letter_faces", down=True)  # nothing to undo, and it goes down
    engine.dispose()
