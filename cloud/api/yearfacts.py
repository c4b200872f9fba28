"""Gather a station's year from the store for the assessment sheet (the I/O half of cloud.api.assessment)."""

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from cloud.alerts.kinds import AlertKind
from cloud.api.assessment import YearFacts
from cloud.api.names_zh import spot_reason
from cloud.rules.records import MonthRecord
from cloud.store.admin import Appeal, AppealStatus
from cloud.store.derived import MonthResult, SpotCheckPlan, SpotCheckResult, Veto
from cloud.store.models import Alert, Station
from cloud.store.onsite import SpotCheckVisit, visit_join
from cloud.store.schedules import station_histories
from cloud.store.users import Activity
from firmware_config.kind import is_graded


def year_facts(session: Session, stations: Sequence[Station], year: int,
               answer_within: timedelta | None = None) -> list[YearFacts]:
    """One YearFacts per station, in a fixed number of queries whatever the number of stations. `answer_within`: a
    call counts as answered only when acknowledged that soon after it was raised (the escalation time): a call
    acknowledged days later, to tidy the record before the assessment, was not answered."""
    ids = [s.id for s in stations]
    prefix = f"{year:04d}-"
    months: dict[str, list[MonthRecord]] = {sid: [] for sid in ids}
    for sid, record in session.execute(
        select(MonthResult.station_id, MonthResult.record)
        .where(MonthResult.station_id.in_(ids), MonthResult.month.startswith(prefix))
        .order_by(MonthResult.month)
    ).tuples():
        months[sid].append(MonthRecord.model_validate(record))
    first, last = date(year, 1, 1), date(year, 12, 31)
    activity: dict[str, set[str]] = {sid: set() for sid in ids}
    for sid, day in session.execute(
        select(Activity.station_id, Activity.day).where(Activity.station_id.in_(ids), Activity.day.between(first, last))
    ).tuples():
        activity[sid].add(f"{day:%Y-%m}")
    spots: dict[str, list[dict[str, object]]] = {sid: [] for sid in ids}
    zones = {s.id: ZoneInfo(s.timezone) for s in stations}
    appeals = {(a.plan_id, a.station_id): a for a in session.scalars(
        select(Appeal).join(SpotCheckPlan, SpotCheckPlan.id == Appeal.plan_id)
        .where(Appeal.station_id.in_(ids), SpotCheckPlan.local_date.between(first, last)))}
    # The result that counts: the bureau's decision on a disputed on-site check, else the sensor's.
    for sid, plan_id, plan_day, start, end, sensor, record, decided, why, planner in session.execute(
        select(SpotCheckResult.station_id, SpotCheckPlan.id, SpotCheckPlan.local_date, SpotCheckPlan.start,
               SpotCheckPlan.end, SpotCheckResult.result, SpotCheckResult.record, SpotCheckVisit.decided_outcome,
               SpotCheckVisit.decision_reason, SpotCheckPlan.planner_role)
        .join(SpotCheckPlan, SpotCheckPlan.id == SpotCheckResult.plan_id)
        .outerjoin(SpotCheckVisit, visit_join())
        .where(SpotCheckResult.station_id.in_(ids), SpotCheckPlan.local_date.between(first, last))
        .order_by(SpotCheckPlan.local_date)
    ).tuples():
        appeal = appeals.get((plan_id, sid))
        spots[sid].append({"date": plan_day.isoformat(), "start": start, "end": end, "result": decided or sensor,
                           "sensor_result": sensor, "planner": planner,
                           "reason": f"民政局决定：{why}" if decided else spot_reason(record),
                           "appeal": None if appeal is None else appeal_facts(appeal, zones[sid])})
    vetoes = {
        v.station_id: v for v in session.scalars(select(Veto).where(Veto.station_id.in_(ids), Veto.year == year))
    }
    # A call belongs to the year where the station is: 00:30 on 1 January in Shanghai is still 31 December in UTC. The
    # query takes a day either side; each call is then counted in its station's zone.
    calls: dict[str, tuple[int, int]] = {}
    for sid, raised_at, acknowledged_at in session.execute(
        select(Alert.station_id, Alert.raised_at, Alert.acknowledged_at)
        .where(Alert.station_id.in_(ids), Alert.kind == AlertKind.EMERGENCY_CALL.value,
               Alert.raised_at >= datetime(year, 1, 1, tzinfo=UTC) - timedelta(days=1),
               Alert.raised_at < datetime(year + 1, 1, 1, tzinfo=UTC) + timedelta(days=1))
    ).tuples():
        # filtered by station ids: never a bureau alert of no station
        if sid is not None and raised_at.astimezone(zones[sid]).year == year:
            total, answered = calls.get(sid, (0, 0))
            in_time = acknowledged_at is not None and (answer_within is None
                                                       or acknowledged_at - raised_at <= answer_within)
            calls[sid] = (total + 1, answered + in_time)
    # The year's grade and kind (and so its subsidy and whether the veto applies) are those in force on its last day,
    # not a later change's.
    histories = station_histories(session, stations)
    out = []
    for s in stations:
        version = histories[s.id].on(last)
        veto = vetoes.get(s.id)
        # Failed station-days: several windows failed on one day count once, as in the veto.
        # Without a stored veto (not recounted yet), the bureau's checks only.
        failed = veto.failed if veto else len({r["date"] for r in spots[s.id] if r["result"] == "fail"
                                               and r["planner"] != "town" and not _upheld(r["appeal"])})
        total, answered = calls.get(s.id, (0, 0))
        out.append(YearFacts(
            station=s.id, name=s.name, town=s.town, grade=version.grade, year=year,
            months=months[s.id], activity_months=activity[s.id], spot_results=spots[s.id], failed_spot_checks=failed,
            veto=bool(veto and veto.veto) if is_graded(version.kind) else None, calls=total, calls_answered=answered,
            kind=version.kind,
        ))
    return out


def appeal_facts(appeal: Appeal, zone: ZoneInfo) -> dict[str, object]:
    """An appeal as the sheet shows it: the station's text, and the decision with who, when (in the station's zone)
    and why."""
    return {"status": appeal.status, "text": appeal.text, "filed_by": appeal.filed_by,
            "filed_at": f"{appeal.filed_at.astimezone(zone):%Y-%m-%d %H:%M}", "decided_by": appeal.decided_by,
            "decided_at": f"{appeal.decided_at.astimezone(zone):%Y-%m-%d %H:%M}" if appeal.decided_at else None,
            "decision_reason": appeal.decision_reason}


def _upheld(appeal: object) -> bool:
    return isinstance(appeal, dict) and appeal.get("status") == AppealStatus.UPHELD.value
