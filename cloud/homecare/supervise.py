"""Follow-up and supervision over the store: the day's follow-up sample, follow-up calls, complaints and their
validity, towns' surveys, and the worker's home-care pass (samples, fraud signals, satisfaction and complaint
alerts). The caller commits.
"""

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, func, select, true
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from cloud.alerts import service
from cloud.alerts.kinds import WORKER, AlertKind, AlertLevel, AlertSpec, AlertStatus
from cloud.homecare import followup, fraud, raising, routing
from cloud.homecare.config import HomecareConfig
from cloud.homecare.months import month_bounds, month_of, previous_month
from cloud.homecare.records import FollowUpResult, Satisfaction
from cloud.homecare.scope import complaints_of_towns
from cloud.homecare.store.errors import HomecareError, NotFound, checked_text
from cloud.homecare.store.registry import elder_record
from cloud.homecare.store.visits import visit_record
from cloud.store.homecare import (
    Complaint,
    FollowUp,
    FollowUpSample,
    HomecareElder,
    HomecareProvider,
    HomecareVisit,
    TownSurvey,
)
from cloud.store.locks import upsert_row
from cloud.store.models import Alert

SATISFACTION_KIND = AlertKind.HOMECARE_SATISFACTION
COMPLAINTS_KIND = AlertKind.HOMECARE_COMPLAINTS
SURVEY_KIND = AlertKind.HOMECARE_TOWN_SURVEY


def day_bounds(day: date, zone: str) -> tuple[datetime, datetime]:
    tz = ZoneInfo(zone)
    return datetime.combine(day, time(), tz), datetime.combine(day + timedelta(days=1), time(), tz)


def day_orders(session: Session, day: date, zone: str) -> list[str]:
    """The keys of the work orders signed in on local `day`."""
    start, end = day_bounds(day, zone)
    return list(session.scalars(select(HomecareVisit.key).where(HomecareVisit.sign_in_at >= start,
                                                                HomecareVisit.sign_in_at < end)))


def draw_day_sample(session: Session, day: date, zone: str, share: float, by: str, now: datetime,
                    seed: str | None = None) -> FollowUpSample | None:
    """Draw the platform's follow-up sample of `day` (a new random seed, recorded), or top it up with orders that
    arrived after it was drawn (same seed, drawn orders kept). None when the day had no orders."""
    keys = day_orders(session, day, zone)
    sample = session.get(FollowUpSample, day)
    if sample is None:
        if not keys:
            return None
        chosen = seed or secrets.token_hex(8)
        # Another process (the worker beside `eldercare demo` or the API's draw-now) may draw the same day at the
        # same moment: the first draw stands, with its seed, and this one only tops it up.
        insert: Any = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
        session.execute(insert(FollowUpSample).values(
            day=day, seed=chosen, share=share, orders=len(keys), drawn_by=by, drawn_at=now,
            visit_keys=followup.draw_sample(keys, chosen, share)).on_conflict_do_nothing(index_elements=["day"]))
        sample = session.get(FollowUpSample, day, populate_existing=True)
        if sample is None:  # pragma: no cover - the row was just inserted or already stood
            raise HomecareError(f"the follow-up sample of {day} could not be stored")
    drawn = followup.draw_sample(keys, sample.seed, sample.share, already=sample.visit_keys)
    if drawn != sample.visit_keys or len(set(keys) | set(sample.visit_keys)) != sample.orders:
        sample.visit_keys, sample.orders = drawn, len(set(keys) | set(sample.visit_keys))
    return sample


def record_followup(session: Session, visit: HomecareVisit, *, by: str, by_role: str, called_at: datetime,
                    reached: bool, satisfaction: Satisfaction | None, notes: str, now: datetime) -> FollowUp:
    """A follow-up call's result (回访): `by_role` platform (bureau or town staff) or provider (its own calls)."""
    if by_role not in ("platform", "provider"):
        raise HomecareError("a follow-up is the platform's or the provider's")
    if called_at.tzinfo is None or called_at > now + timedelta(minutes=5):
        raise HomecareError("the call's time must have a timezone and not be in the future")
    if not reached and satisfaction is not None:
        raise HomecareError("an elder not reached gave no satisfaction answer")
    row = FollowUp(visit_id=visit.id, provider_id=visit.provider_id, by_role=by_role, called_by=by,
                   called_at=called_at, reached=reached, satisfaction=satisfaction.value if satisfaction else None,
                   notes=checked_text(notes, "notes") if notes.strip() else "", recorded_at=now)
    session.add(row)
    session.flush()
    return row


def record_complaint(session: Session, *, provider_id: str, text: str, received_at: datetime, by: str,
                     elder_id: str | None = None, visit: HomecareVisit | None = None) -> Complaint:
    text = checked_text(text, "what the complaint is")
    if session.get(HomecareProvider, provider_id) is None:
        raise NotFound(f"no provider {provider_id!r}")
    if visit is not None and visit.provider_id != provider_id:
        raise HomecareError(f"visit {visit.key!r} is not provider {provider_id!r}'s")
    # The elder decides whose complaint it is (the town reading and deciding it): a visit of another elder would
    # file it under one town with the evidence of another.
    if visit is not None and elder_id and visit.elder_id != elder_id:
        raise HomecareError(f"visit {visit.key!r} is not elder {elder_id!r}'s")
    row = Complaint(provider_id=provider_id, elder_id=elder_id or (visit.elder_id if visit else None),
                    visit_id=visit.id if visit else None, received_at=received_at, received_by=by, text=text)
    session.add(row)
    session.flush()
    return row


def decide_complaint(complaint: Complaint, *, valid: bool, by: str, reason: str, now: datetime) -> None:
    """The validity decision (有效投诉 or not): who, when and why, kept whatever it was; it may be revised."""
    reason = checked_text(reason, "why the complaint is (or is not) valid")
    complaint.valid, complaint.decided_by, complaint.decided_at = valid, by, now
    complaint.decision_reason = reason


def record_survey(session: Session, *, town: str, provider_id: str, year: int, quarter: int, respondents: int,
                  satisfied: int, by: str, now: datetime) -> TownSurvey:
    if not 1 <= quarter <= 4 or respondents < 1 or not 0 <= satisfied <= respondents:
        raise HomecareError("quarter 1-4, at least one respondent, satisfied between 0 and respondents")
    if session.get(HomecareProvider, provider_id) is None:
        raise NotFound(f"no provider {provider_id!r}")
    row = upsert_row(session, TownSurvey, {"town": town, "provider_id": provider_id, "year": year, "quarter": quarter},
                     {"respondents": respondents, "satisfied": satisfied, "recorded_by": by, "recorded_at": now})
    session.flush()
    return row


# --- figures read from the store ------------------------------------------------------------------------------


def _in_towns(towns: Sequence[str] | None) -> ColumnElement[bool]:
    """Visits of elders in `towns` (None: every town): a town officer's figures count its towns' records only."""
    if towns is None:
        return true()
    return HomecareVisit.elder_id.in_(select(HomecareElder.id).where(HomecareElder.town.in_(list(towns))))


def followup_results(session: Session, providers: Sequence[str], start: datetime, end: datetime,
                     by_role: str = "platform", towns: Sequence[str] | None = None) -> list[FollowUpResult]:
    """Follow-up results of calls about visits signed in within [start, end). Satisfaction is judged on the
    platform's own calls by default: a provider's calls about itself are its duty, not independent evidence."""
    rows = session.execute(
        select(FollowUp, HomecareVisit.key).join(HomecareVisit, HomecareVisit.id == FollowUp.visit_id)
        .where(FollowUp.provider_id.in_(list(providers)), FollowUp.by_role == by_role,
               HomecareVisit.sign_in_at >= start, HomecareVisit.sign_in_at < end, _in_towns(towns)))
    return [FollowUpResult(key, f.provider_id, f.called_at, f.reached,
                           Satisfaction(f.satisfaction) if f.satisfaction else None) for f, key in rows.tuples()]


def provider_counts(session: Session, provider: str, start: datetime, end: datetime,
                    towns: Sequence[str] | None = None) -> tuple[int, int, int, int]:
    """(orders, orders followed up by the platform, complaints, valid complaints) of a provider in [start, end);
    with `towns`, of the elders in those towns only."""
    orders = session.scalar(select(func.count()).select_from(HomecareVisit).where(
        HomecareVisit.provider_id == provider, HomecareVisit.sign_in_at >= start, HomecareVisit.sign_in_at < end,
        _in_towns(towns)))
    followed = session.scalar(select(func.count(func.distinct(FollowUp.visit_id))).join(
        HomecareVisit, HomecareVisit.id == FollowUp.visit_id).where(
        FollowUp.provider_id == provider, FollowUp.by_role == "platform", HomecareVisit.sign_in_at >= start,
        HomecareVisit.sign_in_at < end, _in_towns(towns)))
    # The same rule as the complaints a town reads and decides (cloud.homecare.scope): those about its elders.
    complaint_scope = true() if towns is None else complaints_of_towns(towns)
    complaints = session.execute(select(Complaint.valid, func.count()).where(
        Complaint.provider_id == provider, Complaint.received_at >= start, Complaint.received_at < end,
        complaint_scope).group_by(Complaint.valid)).tuples().all()
    total = sum(n for _, n in complaints)
    valid = sum(n for v, n in complaints if v)
    return int(orders or 0), int(followed or 0), total, valid


def provider_period(session: Session, provider: str, first_month: str, last_month: str, config: HomecareConfig,
                    zone: str, towns: Sequence[str] | None = None) -> followup.ProviderPeriod:
    """A provider's follow-up, satisfaction and complaint figures over whole months [first_month, last_month]
    (one month, a quarter or a year); the complaint rule reads the months before too. With `towns`, of the elders in
    those towns only (a town officer's view)."""
    start, _ = month_bounds(first_month, zone)
    _, end = month_bounds(last_month, zone)
    orders, followed, complaints, valid = provider_counts(session, provider, start, end, towns)
    results = followup_results(session, [provider], start, end, towns=towns)
    previous: list[float | None] = []
    month = first_month
    if first_month == last_month:
        for _ in range(config.complaint_terminate_months - 1):
            month = previous_month(month)
            m_start, m_end = month_bounds(month, zone)
            m_orders, _, _, m_valid = provider_counts(session, provider, m_start, m_end, towns)
            previous.insert(0, followup.complaint_rate(m_valid, m_orders))
    period = first_month if first_month == last_month else f"{first_month}..{last_month}"
    year = first_month.endswith("-01") and last_month.endswith("-12") and first_month[:4] == last_month[:4]
    return followup.provider_period(provider, period, orders, followed, results, complaints, valid, previous,
                                    config, year=year)


# --- the worker's pass ----------------------------------------------------------------------------------------


@dataclass
class PassStats:
    samples: int = 0
    signals: int = 0
    cleared: int = 0
    rate_alerts: int = 0
    moved: int = 0


def homecare_pass(session: Session, config: HomecareConfig, now: datetime, zone: str) -> PassStats:
    """Draw the follow-up samples of days over, raise fraud signals of the recent visits (to the towns of their
    elders, or the bureau: cloud.homecare.routing) and rate alerts of the last whole month (`rate_alerts`). Every alert
    is raised once per cause; none is a penalty."""
    stats = PassStats()
    window_start = now - timedelta(days=config.fraud_window_days)
    # The monthly habits (just long enough, late uploads) read whole months: from the first day of the month the
    # window starts in.
    months_from = month_bounds(month_of(window_start, zone), zone)[0]
    month_visits = list(session.scalars(select(HomecareVisit).where(HomecareVisit.sign_in_at >= months_from)))
    visits = [v for v in month_visits if v.sign_in_at >= window_start]
    if not visits and not session.scalar(select(func.count()).select_from(HomecareProvider)):
        return stats
    # Samples: every day in the window that has been over long enough.
    tz = ZoneInfo(zone)
    today = now.astimezone(tz).date()
    by_day: dict[date, int] = {}
    for v in visits:
        day = v.sign_in_at.astimezone(tz).date()
        by_day[day] = by_day.get(day, 0) + 1
    drawn = {s.day: s.orders for s in session.scalars(select(FollowUpSample).where(
        FollowUpSample.day.in_(list(by_day))))} if by_day else {}
    for day, orders in sorted(by_day.items()):
        over = day < today and day_bounds(day, zone)[1] + timedelta(hours=config.sample_delay_hours) <= now
        if over and drawn.get(day) != orders:  # not drawn yet, or orders arrived since (a top-up)
            before = session.get(FollowUpSample, day)
            known = list(before.visit_keys) if before is not None else None
            sample = draw_day_sample(session, day, zone, config.followup_share, "worker", now)
            if sample is not None and sample.visit_keys != known:
                stats.samples += 1
    # Fraud signals.
    elder_ids = {v.elder_id for v in month_visits}
    elders = {e.id: elder_record(e) for e in session.scalars(select(HomecareElder)
                                                             .where(HomecareElder.id.in_(elder_ids)))}
    month_records = [visit_record(v) for v in month_visits]
    records = [r for r in month_records if r.sign_in >= window_start]
    found = fraud.signals(records, elders, config, now, month_records, months_from)
    raised = raising.raise_signals(session, found, {e.id: e.town for e in elders.values()}, config, now)
    stats.signals, stats.moved, stats.cleared = len(found), raised.moved, raised.cleared
    # A visit signed out after all (its sign-out queued offline): its no-sign-out alert is cleared, saying so.
    live = {s.cause_key for s in found if s.kind == fraud.NO_SIGN_OUT}
    open_alerts = session.scalars(select(Alert.cause_key).where(Alert.kind == fraud.NO_SIGN_OUT,
                                                                Alert.status != AlertStatus.RESOLVED.value))
    for key in list(open_alerts):
        if key not in live:
            stats.cleared += service.clear(session, key, WORKER, now,
                                           "the visit has been signed out (sent late from the phone)")
    stats.rate_alerts, moved = rate_alerts(session, config, now, zone)
    stats.moved += moved
    return stats


def served_towns(session: Session, start: datetime, end: datetime) -> dict[str, list[str]]:
    """Each provider's towns in [start, end): those of the elders it made orders for."""
    rows = session.execute(select(HomecareVisit.provider_id, HomecareElder.town).distinct()
                           .join(HomecareElder, HomecareElder.id == HomecareVisit.elder_id)
                           .where(HomecareVisit.sign_in_at >= start, HomecareVisit.sign_in_at < end)).tuples()
    out: dict[str, list[str]] = {}
    for provider, town in sorted(rows):
        out.setdefault(provider, []).append(town)
    return out


def rate_alerts(session: Session, config: HomecareConfig, now: datetime, zone: str) -> tuple[int, int]:
    """Satisfaction and valid-complaint alerts of the last whole month, and survey alerts; (raised, moved).

    A provider's satisfaction is the bureau's (the district's follow-up and third-party evaluation; its contract's
    deductions and termination: 篇一, 篇四), over all its elders. Valid complaints are counted monthly by each town
    over its own elders' complaints and orders (乡镇(街道)每月对服务机构的投诉处理进行统计), and the district may end
    the contract on the whole (连续两次…有权解除服务合同): each town its own figures, the bureau the provider's."""
    local = now.astimezone(ZoneInfo(zone))
    month = previous_month(f"{local.year:04d}-{local.month:02d}")
    bad = (followup.Consequence.RECTIFY, followup.Consequence.MAY_TERMINATE)
    raised = moved = 0
    served = served_towns(session, *month_bounds(month, zone))
    wide = "a provider's figures over all its towns are the bureau's"
    for provider in sorted(session.scalars(select(HomecareProvider.id))):
        figures = provider_period(session, provider, month, month, config, zone)
        evidence: dict[str, Any] = {"provider": provider, "month": month, **figures.model_dump(mode="json")}
        if figures.satisfaction_consequence in bad:
            moved += raising.raise_where(session, AlertSpec(SATISFACTION_KIND, None, f"hc-sat:{provider}:{month}",
                                                            AlertLevel.BUREAU, now, evidence), now, wide)
            raised += 1
        key = f"hc-complaints:{provider}:{month}"
        if figures.complaint_consequence in bad:
            moved += raising.raise_where(session, AlertSpec(COMPLAINTS_KIND, None, key, AlertLevel.BUREAU, now,
                                                            evidence), now, wide)
            raised += 1
        for town in served.get(provider, []):
            mine = provider_period(session, provider, month, month, config, zone, towns=[town])
            if mine.complaint_consequence in bad:
                service.raise_alert(session, AlertSpec(
                    COMPLAINTS_KIND, None, routing.town_key(key, town), AlertLevel.TOWN, now,
                    {"provider": provider, "month": month, "town": town, **mine.model_dump(mode="json")}, town=town))
                raised += 1
    for survey in session.scalars(select(TownSurvey)):
        if followup.survey_consequence(survey.respondents, survey.satisfied, config) == followup.Consequence.RECTIFY:
            key = f"hc-survey:{survey.town}:{survey.provider_id}:{survey.year}Q{survey.quarter}"
            service.raise_alert(session, AlertSpec(
                SURVEY_KIND, None, key, AlertLevel.TOWN, now,
                {"provider": survey.provider_id, "town": survey.town, "year": survey.year, "quarter": survey.quarter,
                 "respondents": survey.respondents, "satisfied": survey.satisfied,
                 "threshold": config.town_survey_rectify_below}, town=survey.town))
            raised += 1
    return raised, moved
