"""Fraud signals the bureau asks about, from visits and the registry. Pure: each signal names its cause (one alert
per cause, however often the worker looks) and carries the evidence a town officer checks. A signal is a question
for the town, never a penalty.
"""

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

from cloud.homecare.config import HomecareConfig
from cloud.homecare.months import month_bounds, month_of
from cloud.homecare.orders import counts
from cloud.homecare.records import Elder, Location, Visit

DOUBLE_BOOKED = "homecare_double_booked"
JUST_LONG_ENOUGH = "homecare_just_long_enough"
FAR_AWAY = "homecare_far_away"
QR_RATE = "homecare_qr_rate"
NO_SIGN_OUT = "homecare_no_sign_out"
LATE_UPLOADS = "homecare_late_uploads"
KINDS = (DOUBLE_BOOKED, JUST_LONG_ENOUGH, FAR_AWAY, QR_RATE, NO_SIGN_OUT, LATE_UPLOADS)
# A late-upload alert lists at most this many visits (the oldest first); the counts cover them all.
LATE_VISITS_LISTED = 100

EARTH_RADIUS_M = 6_371_000.0


@dataclass(frozen=True, slots=True)
class Signal:
    """One suspicious pattern: `kind` (an alert kind), `cause_key` (stable), the provider, when it happened, the
    evidence, and the visits it was judged on (`visits`: their elders' towns decide who is alerted, see
    cloud.homecare.routing)."""

    kind: str
    cause_key: str
    provider: str
    at: datetime
    evidence: dict[str, Any] = field(default_factory=dict)
    visits: tuple[Visit, ...] = field(default=(), compare=False, repr=False)


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _visit(v: Visit) -> dict[str, Any]:
    out = {"visit": v.id, "elder": v.elder, "caregiver": v.caregiver, "sign_in": _iso(v.sign_in),
           "sign_out": _iso(v.sign_out), "minutes": None if v.minutes is None else round(v.minutes, 1)}
    # When the scans reached the server, where known: a whole visit sent in one go long after it is worth a question.
    if v.sign_in_received is not None:
        out |= {"sign_in_received": _iso(v.sign_in_received), "sign_out_received": _iso(v.sign_out_received)}
    return out


def double_booked(visits: Iterable[Visit], config: HomecareConfig) -> list[Signal]:
    """One caregiver signed in at two homes at once: two signed-out visits of different elders whose spans overlap
    by more than the tolerance (phones' clocks differ a little)."""
    by_caregiver: dict[str, list[tuple[Visit, datetime]]] = defaultdict(list)
    for v in visits:
        if v.sign_out is not None and not v.voided:
            by_caregiver[v.caregiver].append((v, v.sign_out))
    tolerance = timedelta(minutes=config.overlap_minutes)
    out = []
    for caregiver, mine in sorted(by_caregiver.items()):
        mine.sort(key=lambda pair: (pair[0].sign_in, pair[0].id))
        for i, (a, a_end) in enumerate(mine):
            for b, b_end in mine[i + 1:]:
                if b.sign_in >= a_end:
                    break
                overlap = min(a_end, b_end) - b.sign_in
                if b.elder != a.elder and overlap > tolerance:
                    first, second = sorted((a.id, b.id))
                    out.append(Signal(DOUBLE_BOOKED, f"hc-double:{caregiver}:{first}:{second}", a.provider,
                                      b.sign_in, _double_evidence(caregiver, round(overlap.total_seconds() / 60, 1),
                                                                  [a, b]), (a, b)))
    return out


def _double_evidence(caregiver: str, overlap_minutes: float, visits: Sequence[Visit]) -> dict[str, Any]:
    return {"caregiver": caregiver, "overlap_minutes": overlap_minutes, "visits": [_visit(v) for v in visits]}


def just_long_enough(visits: Iterable[Visit], elders: Mapping[str, Elder], config: HomecareConfig) -> list[Signal]:
    """A caregiver's month in which most counted visits end just after the minimum, again and again (signing out
    at 60 minutes on the dot is what someone watching the clock for the rule does, not what caring does)."""
    margin = timedelta(minutes=config.min_visit_minutes + config.just_long_enough_margin_minutes)
    months: dict[tuple[str, str], list[Visit]] = defaultdict(list)
    for v in visits:
        if v.elder in elders and counts(v, config):
            months[(v.caregiver, month_of(v.sign_in, elders[v.elder].timezone))].append(v)
    out = []
    for (caregiver, month), mine in sorted(months.items()):
        close = [v for v in mine if v.sign_out is not None and v.sign_out - v.sign_in < margin]
        if len(close) >= config.just_long_enough_visits and len(close) >= config.just_long_enough_share * len(mine):
            close.sort(key=lambda v: (v.sign_in, v.id))
            out.append(Signal(JUST_LONG_ENOUGH, f"hc-just:{caregiver}:{month}", close[0].provider, close[-1].sign_in,
                              _just_evidence(caregiver, month, mine, close), tuple(mine)))
    return out


def _just_evidence(caregiver: str, month: str, mine: Sequence[Visit], close: Sequence[Visit]) -> dict[str, Any]:
    return {"caregiver": caregiver, "month": month, "counted": len(mine), "just_long_enough": len(close),
            "minutes": sorted(round(v.minutes or 0, 1) for v in close), "visits": [v.id for v in close]}


def distance_m(a: Location, b: Location) -> float:
    """Great-circle distance in metres (haversine): plenty for hundreds of metres."""
    lat1, lat2 = math.radians(a.lat), math.radians(b.lat)
    dlat, dlon = lat2 - lat1, math.radians(b.lon - a.lon)
    h = math.sin(dlat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(dlon / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def far_away(visits: Iterable[Visit], elders: Mapping[str, Elder], config: HomecareConfig) -> list[Signal]:
    """A sign-in or sign-out the phone placed further from the elder's registered address than the limit, beyond
    the accuracy the phone stated (only when the phone shared its location and the address was geocoded)."""
    out = []
    for v in visits:
        elder = elders.get(v.elder)
        if elder is None or elder.home is None:
            continue
        where = {}
        for name, place in (("sign_in", v.sign_in_at), ("sign_out", v.sign_out_at)):
            if place is not None:
                metres = distance_m(elder.home, place)
                if metres - (place.accuracy_m or 0) > config.far_away_m:
                    where[name] = {"metres": round(metres), "accuracy_m": place.accuracy_m,
                                   "lat": place.lat, "lon": place.lon}
        if where:
            out.append(Signal(FAR_AWAY, f"hc-far:{v.id}", v.provider, v.sign_in,
                              {**_visit(v), "home": {"lat": elder.home.lat, "lon": elder.home.lon},
                               "limit_m": config.far_away_m, **where}, (v,)))
    return out


def qr_rate(visits: Iterable[Visit], elders: Mapping[str, Elder], config: HomecareConfig) -> list[Signal]:
    """The same elder's QR code signed in at an implausible rate: more sign-ins in one local day than the limit, or
    two sign-ins closer together than a visit can last (a photographed code used from elsewhere looks like this)."""
    by_day: dict[tuple[str, str], list[Visit]] = defaultdict(list)
    for v in visits:
        elder = elders.get(v.elder)
        if elder is not None:
            by_day[(v.elder, v.sign_in.astimezone(ZoneInfo(elder.timezone)).date().isoformat())].append(v)
    gap = timedelta(minutes=config.qr_min_gap_minutes)
    out = []
    for (elder_id, day), mine in sorted(by_day.items()):
        mine.sort(key=lambda v: (v.sign_in, v.id))
        close = [(a.id, b.id) for a, b in pairwise(mine) if b.sign_in - a.sign_in < gap]
        if len(mine) > config.qr_max_per_day or close:
            out.append(Signal(QR_RATE, f"hc-qr:{elder_id}:{day}", mine[0].provider, mine[-1].sign_in,
                              {"elder": elder_id, "day": day, "sign_ins": len(mine), "max_per_day":
                               config.qr_max_per_day, "closer_than_minutes": config.qr_min_gap_minutes,
                               "close_pairs": [list(p) for p in close], "visits": [_visit(v) for v in mine]},
                              tuple(mine)))
    return out


def no_sign_out(visits: Iterable[Visit], config: HomecareConfig, now: datetime) -> list[Signal]:
    """Orders never signed out, long after their sign-in."""
    limit = timedelta(hours=config.no_sign_out_hours)
    return [Signal(NO_SIGN_OUT, f"hc-nosignout:{v.id}", v.provider, v.sign_in, {**_visit(v), "hours": round(
                (now - v.sign_in).total_seconds() / 3600, 1)}, (v,))
            for v in visits if v.sign_out is None and not v.voided and now - v.sign_in >= limit]


def upload_lag(v: Visit) -> timedelta | None:
    """How long after the phone's time the later-sent of a signed-out visit's two scans reached the server: the
    larger of the sign-in's and the sign-out's delay (a sign-in backdated two days and a sign-out sent at once is as
    late as a whole visit sent two days on). None when the visit has no sign-out or its arrival is unknown."""
    if v.sign_out is None or v.sign_in_received is None or v.sign_out_received is None:
        return None
    return max(v.sign_in_received - v.sign_in, v.sign_out_received - v.sign_out)


def _late_evidence(month: str, mine: Sequence[tuple[Visit, timedelta]], late: Sequence[tuple[Visit, timedelta]],
                   config: HomecareConfig) -> dict[str, Any]:
    listed = sorted(late, key=lambda pair: (pair[0].sign_in, pair[0].id))[:LATE_VISITS_LISTED]
    return {"month": month, "counted": len(mine), "late": len(late), "share": round(len(late) / len(mine), 4),
            "late_after_hours": config.late_upload_hours, "habit_visits": config.late_upload_visits,
            "habit_share": config.late_upload_share,
            "visits": [{**_visit(v), "hours_late": round(lag.total_seconds() / 3600, 1)} for v, lag in listed],
            "visits_not_listed": len(late) - len(listed)}


def late_uploads(visits: Iterable[Visit], elders: Mapping[str, Elder], config: HomecareConfig,
                 whole_from: datetime | None = None) -> list[Signal]:
    """Counted visits that habitually reach the server long after they were made (`upload_lag` more than
    `late_upload_hours`): a visit invented later and sent from home looks like this, and so does a phone kept
    offline for days, so it is a question for the town, never a penalty. One late visit is a phone without signal
    and raises nothing: a month (the elder's zone, by sign-in) is a habit with at least `late_upload_visits` late
    visits making at least `late_upload_share` of its counted visits.

    Judged per caregiver, then per provider over the visits of its caregivers not raised themselves that month: late
    uploads spread thinly over many caregivers still show as the provider's habit, and one caregiver's habit is not
    raised twice. Months that begin before `whole_from` are not judged (their first visits were not read)."""
    months: dict[tuple[str, str, str], list[tuple[Visit, timedelta]]] = defaultdict(list)
    for v in visits:
        elder = elders.get(v.elder)
        lag = upload_lag(v)
        if elder is None or lag is None or not counts(v, config):
            continue
        month = month_of(v.sign_in, elder.timezone)
        if whole_from is not None and month_bounds(month, elder.timezone)[0] < whole_from:
            continue
        months[(v.provider, month, v.caregiver)].append((v, lag))
    limit = timedelta(hours=config.late_upload_hours)

    def habit(mine: Sequence[tuple[Visit, timedelta]]) -> list[tuple[Visit, timedelta]] | None:
        late = [(v, lag) for v, lag in mine if lag > limit]
        enough = len(late) >= config.late_upload_visits and len(late) >= config.late_upload_share * len(mine)
        return late if enough else None

    def at(late: Sequence[tuple[Visit, timedelta]]) -> datetime:
        return max(v.sign_out_received or v.sign_in for v, _ in late)  # when the habit showed

    out = []
    rest: dict[tuple[str, str], dict[str, list[tuple[Visit, timedelta]]]] = defaultdict(dict)
    for (provider, month, caregiver), mine in sorted(months.items()):
        late = habit(mine)
        if late is None:
            rest[(provider, month)][caregiver] = mine
            continue
        out.append(Signal(LATE_UPLOADS, f"hc-late:caregiver:{provider}:{caregiver}:{month}", provider, at(late),
                          {"scope": "caregiver", "caregiver": caregiver, **_late_evidence(month, mine, late, config)},
                          tuple(v for v, _ in mine)))
    for (provider, month), by_caregiver in sorted(rest.items()):
        mine = [pair for pairs in by_caregiver.values() for pair in pairs]
        late = habit(mine)
        if late is None:
            continue
        each = {c: {"counted": len(pairs), "late": sum(lag > limit for _, lag in pairs)}
                for c, pairs in sorted(by_caregiver.items())}
        raised = sorted({c for (p, m, c) in months if (p, m) == (provider, month)} - set(by_caregiver))
        out.append(Signal(LATE_UPLOADS, f"hc-late:provider:{provider}:{month}", provider, at(late),
                          {"scope": "provider", "caregivers": each, "caregivers_raised_apart": raised,
                           **_late_evidence(month, mine, late, config)}, tuple(v for v, _ in mine)))
    return out


def town_part(signal: Signal, kept: Sequence[Visit], config: HomecareConfig) -> dict[str, Any] | None:
    """The evidence of `signal` over `kept`, some of the visits it was judged on (one town's), counted and listed by
    the same rule as the whole; None when they hold nothing the signal names (a town whose visits of the caregiver
    all lasted well, or were all sent on time). Only for a caregiver's conduct at given homes (two visits at once,
    visits just long enough, visits sent late): the question for each of them is one its elder's town can check.
    The caregiver's habit itself stays judged over the whole month."""
    ev = signal.evidence
    if signal.kind == DOUBLE_BOOKED:
        return _double_evidence(ev["caregiver"], ev["overlap_minutes"], kept) if kept else None
    if signal.kind == JUST_LONG_ENOUGH:
        named = set(ev["visits"])
        close = [v for v in kept if v.id in named]
        return _just_evidence(ev["caregiver"], ev["month"], kept, close) if close else None
    if signal.kind == LATE_UPLOADS and ev.get("scope") == "caregiver":
        mine = [(v, lag) for v in kept if (lag := upload_lag(v)) is not None]
        late = [(v, lag) for v, lag in mine if lag > timedelta(hours=config.late_upload_hours)]
        return {"scope": "caregiver", "caregiver": ev["caregiver"],
                **_late_evidence(ev["month"], mine, late, config)} if late else None
    raise ValueError(f"a {signal.kind} signal ({signal.cause_key}) has no town's part")


def signals(visits: Sequence[Visit], elders: Mapping[str, Elder], config: HomecareConfig,
            now: datetime, month_visits: Sequence[Visit] | None = None,
            whole_from: datetime | None = None) -> list[Signal]:
    """Every fraud signal the visits show, in a stable order. The monthly habits (visits just long enough, late
    uploads) read `month_visits` (the visits of whole months, from `whole_from`) when given, else `visits`: a month
    cut by the window's start, judged on its last days alone, could show a habit the whole month does not."""
    whole = visits if month_visits is None else month_visits
    found = [*double_booked(visits, config), *just_long_enough(whole, elders, config),
             *far_away(visits, elders, config), *qr_rate(visits, elders, config), *no_sign_out(visits, config, now),
             *late_uploads(whole, elders, config, whole_from)]
    return sorted(found, key=lambda s: (s.kind, s.cause_key))
