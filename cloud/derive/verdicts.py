"""Spot checks judged on a station's derived days, and the year's veto (一票否决) counted from them, stored with the
alerts they imply. The worker calls these after re-deriving days; the API's appeal and on-site decisions recount
the veto."""

from collections.abc import Iterable
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from cloud.alerts import apply, keys
from cloud.derive.shared import spot_line, veto_line
from cloud.derive.storeio import upsert
from cloud.rules import alerts as rules_alerts
from cloud.rules.config import RulesConfig
from cloud.rules.day import DayResult
from cloud.rules.spotcheck import SpotResult, VetoStatus, judge, vetoes
from cloud.store.admin import counts_toward_veto
from cloud.store.derived import SpotCheckPlan, SpotCheckResult, Veto
from cloud.store.locks import hold_station_derivation
from cloud.store.models import Station
from cloud.store.onsite import SpotCheckVisit, counted_result, visit_join
from cloud.store.schedules import station_history
from firmware_config.kind import is_graded


def window_end(plan: SpotCheckPlan, timezone: str) -> datetime:
    """When a plan's window ends, in the station's zone: a check is judged only after it."""
    return datetime.combine(plan.local_date, time.fromisoformat(plan.end), ZoneInfo(timezone))


def judge_plans(session: Session, station: Station, results: dict[date, DayResult], config: RulesConfig,
                now: datetime) -> bool:
    """(Re)judge this station on every plan of the given days whose window has ended; True if any was judged."""
    if not results:
        return False
    plans = session.execute(select(SpotCheckPlan).where(SpotCheckPlan.local_date.in_(list(results)))).scalars()
    judged = False
    for plan in plans:
        if station.id not in plan.stations or window_end(plan, station.timezone) > now:
            continue
        judgement = judge(results[plan.local_date], time.fromisoformat(plan.start), time.fromisoformat(plan.end),
                          station.timezone, config)
        record: dict[str, Any] = spot_line(station.id, plan.local_date, plan.start, plan.end, judgement)
        record["plan"] = plan.id
        upsert(session, SpotCheckResult.__table__,  # type: ignore[arg-type]
               [{"plan_id": plan.id, "station_id": station.id, "result": judgement.result.value,
                 "record": record, "judged_at": now}], ["plan_id", "station_id"])
        _spot_alert(session, station, plan, judgement.result, record, now)
        judged = True
    return judged


def _spot_alert(session: Session, station: Station, plan: SpotCheckPlan, result: SpotResult,
                record: dict[str, Any], now: datetime) -> None:
    spec = rules_alerts.spot_check_alert(plan.id, station.id, result, record, now)
    apply.spot_check(session, keys.spot_check_key(plan.id, station.id), spec, now,
                     f"recomputed: spot check now {result.value}")


def store_veto(session: Session, station: str, years: Iterable[int], config: RulesConfig, now: datetime) -> None:
    hold_station_derivation(session, station)  # the API's decisions and the worker count it in turns
    registered = session.get(Station, station)
    if registered is None:
        return
    kinds = station_history(session, registered)
    for year in sorted(set(years)):
        # The bureau's decision on a disputed on-site check counts instead of the sensor's result.
        query = (
            select(SpotCheckPlan.local_date, counted_result()).select_from(SpotCheckResult)
            .join(SpotCheckPlan, SpotCheckPlan.id == SpotCheckResult.plan_id)
            .outerjoin(SpotCheckVisit, visit_join())
            .where(SpotCheckResult.station_id == station, SpotCheckPlan.local_date >= date(year, 1, 1),
                   SpotCheckPlan.local_date <= date(year, 12, 31), counts_toward_veto())
        )
        if not config.veto_counts_town_checks:
            query = query.where(SpotCheckPlan.planner_role == "bureau")  # a town's own checks are its supervision
        rows = session.execute(query).all()
        # The kind in force on the year's last day, as the grade whose subsidy the veto withholds (see yearfacts).
        not_graded: set[tuple[str, int]] = set() if is_graded(kinds.on(date(year, 12, 31)).kind) else {(station, year)}
        statuses = vetoes([(station, d, SpotResult(r)) for d, r in rows], config, not_graded)
        if not statuses and (session.get(Veto, (station, year)) is not None or session.execute(
                select(SpotCheckResult.plan_id).join(SpotCheckPlan, SpotCheckPlan.id == SpotCheckResult.plan_id)
                .where(SpotCheckResult.station_id == station, SpotCheckPlan.local_date >= date(year, 1, 1),
                       SpotCheckPlan.local_date <= date(year, 12, 31)).limit(1)).first() is not None):
            # Checked this year, but no check counts (taken out by appeals, or only the town's own): nothing failed.
            statuses = [VetoStatus(station, year, 0, None if not_graded else False, ())]
        for status in statuses:
            line = veto_line(status)
            upsert(session, Veto.__table__, [{"station_id": station, "year": year,  # type: ignore[arg-type]
                                              "failed": line["failed"], "veto": line["veto"],
                                              "failed_dates": line["failed_dates"], "updated_at": now}],
                   ["station_id", "year"])
