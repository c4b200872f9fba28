"""Spot checks judged from the timeline, the audited random draw, and the veto (一票否决)."""

import random
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from enum import StrEnum
from zoneinfo import ZoneInfo

from cloud.rules.config import RulesConfig
from cloud.rules.day import DayResult, hhmm
from cloud.rules.intervals import Interval, intersect, merge, subtract, total
from cloud.rules.losses import describe


class SpotResult(StrEnum):
    PASS = "pass"  # noqa: S105 (a result, not a password)
    FAIL = "fail"  # closed when it should be open
    EXCUSED = "excused"  # an approved closure, or the window is outside its working hours
    UNVERIFIABLE = "unverifiable"  # devices offline, or messages lost: neither open nor closed can be shown


class SpotReason(StrEnum):
    """Why a window got its result: a stable code the dashboard translates (the sentence beside it may be reworded)."""

    OPEN = "open"  # open during the check
    CLOSED = "closed"  # a closed stretch longer than the grace touches the window
    # the same, the stretch shown open in it only briefly (openings shorter than `spot_check_min_open_minutes`)
    CLOSED_BRIEF_OPENINGS = "closed_brief_openings"
    DEVICES_OFF = "devices_off"  # a stretch that long neither shown open nor closed: an on-site check is needed
    APPROVED_CLOSURE = "approved_closure"
    NOT_WORKING_DAY = "not_working_day"
    OUTSIDE_HOURS = "outside_hours"  # the window misses the station's working hours
    CALENDAR_UNKNOWN = "calendar_unknown"  # the year's holidays are not known, so the day cannot be judged
    # the platform lost a share of every station's messages during the judged stretch: an on-site check is needed
    PLATFORM_LOST_MESSAGES = "platform_lost_messages"
    # the station's clock was found behind that day (cloud.rules.clock_check): an on-site check is needed
    CLOCK_BEHIND = "clock_behind"
    # the station answered none of the cloud's time checks that day (cloud.rules.unanswered): an on-site check
    CLOCK_UNANSWERED = "clock_unanswered"
    # the station's clock was stepped within one boot that day (cloud.rules.clock_steps): an on-site check is needed
    CLOCK_STEPPED = "clock_stepped"


@dataclass(frozen=True, slots=True)
class SpotJudgement:
    result: SpotResult
    code: SpotReason
    reason: str  # the same in an English sentence, with the details (the closure's reason, the grace)
    checked_minutes: int
    open_minutes: int
    closed_minutes: int
    unknown_minutes: int
    stretches: tuple[str, ...] = ()  # the closed (or not-shown-open) stretches behind a fail or unverifiable


def _runs(spans: list[Interval], sessions: list[Interval]) -> list[Interval]:
    """Maximal stretches of `spans` inside the sessions (a lunch break separates two stretches)."""
    return merge(intersect(spans, sessions))


Run = tuple[Interval, int]  # a stretch, and how many brief openings inside it were bridged


def _bridged(runs: list[Interval], shown_open: list[Interval], shorter_than: float) -> list[Run]:
    """`runs` (merged) with each gap between two of them that is wholly `shown_open` and shorter than `shorter_than`
    filled in: a brief opening does not split the stretch around it. `shown_open` is taken inside the sessions, so a
    lunch break is never bridged, and a gap partly unknown (or not shown open) is not either."""
    out: list[Run] = []
    for s, e in runs:
        if out:
            (first, last), n = out[-1]
            if s - last < shorter_than and not subtract([(last, s)], shown_open):
                out[-1] = ((first, e), n + 1)
                continue
        out.append(((s, e), 0))
    return out


def judge(day: DayResult, start: time, end: time, timezone: str, config: RulesConfig) -> SpotJudgement:
    """Judge one station in the window [start, end) of `day` (local time) from its timeline.

    A stretch is measured in full, not only the part inside the window: the window fails when it touches a
    continuous closed stretch longer than `spot_check_grace_minutes` (an inspector at the door during it would have
    found the station shut), so neither the window's length nor how it is cut decides the result. An opening shorter
    than `spot_check_min_open_minutes` between two closed stretches does not end the stretch: it runs through it
    (reason `closed_brief_openings`), or a door opened for a few seconds every 14 minutes would pass every check of a
    shut day. Openings at a session's edge, across the lunch break, or next to an unknown stretch bridge no closed
    stretch (the last still bridges the stretch not shown open, below). A stretch that long not shown open but not
    shown closed either (devices off: unknown minutes are never open) makes the check `unverifiable`: it needs an
    on-site check. So does a judged stretch (the window with every closed or not-open stretch touching it, in full)
    that shares a moment with a window in which the platform lost messages: what the sensors show then is short by
    the platform's fault, so it can neither fail nor pass the station. A day whose clock was found behind
    (`clock_behind`) or stepped (`clock_stepped`), or that answered none of the cloud's time checks
    (`clock_unanswered`), is `unverifiable` whatever its timeline says.
    """
    zone = ZoneInfo(timezone)
    d = day.plan.day
    window = [(datetime.combine(d, start, zone).timestamp(), datetime.combine(d, end, zone).timestamp())]
    sessions = merge(day.plan.sessions)
    checked = intersect(sessions, window)
    checked_s = total(checked)

    def minutes(seconds: float) -> int:
        return round(seconds / 60)

    if day.plan.working is None:
        return SpotJudgement(SpotResult.UNVERIFIABLE, SpotReason.CALENDAR_UNKNOWN,
                             day.plan.national.name or "calendar unknown", 0, 0, 0, 0)
    if day.plan.excused is not None:
        return SpotJudgement(SpotResult.EXCUSED, SpotReason.APPROVED_CLOSURE,
                             f"approved closure: {day.plan.excused}", minutes(checked_s), 0, 0, 0)
    if checked_s == 0:
        if not day.plan.working:
            return SpotJudgement(SpotResult.EXCUSED, SpotReason.NOT_WORKING_DAY, "not a working day", 0, 0, 0, 0)
        return SpotJudgement(SpotResult.EXCUSED, SpotReason.OUTSIDE_HOURS, "window outside the station's working hours",
                             0, 0, 0, 0)
    if day.clock_behind:
        # The station's clock was found behind that day: its readings cannot be placed in time, so the sensors can
        # neither pass nor fail the window (cloud.rules.clock_check). An inspector's record decides.
        worst = max(b.seconds for b in day.clock_behind)
        return SpotJudgement(SpotResult.UNVERIFIABLE, SpotReason.CLOCK_BEHIND,
                             f"the station's clock was found up to {worst / 60:.0f} min behind that day: its readings "
                             "cannot be placed in time; an on-site check is needed",
                             minutes(checked_s), 0, 0, minutes(checked_s))
    if day.clock_steps:
        # The station's clock was stepped within one boot that day (cloud.rules.clock_steps): judged alike.
        worst = max(abs(s.seconds) for s in day.clock_steps)
        return SpotJudgement(SpotResult.UNVERIFIABLE, SpotReason.CLOCK_STEPPED,
                             f"the station's clock was stepped by up to {worst / 60:.0f} min that day: its readings "
                             "cannot be placed in time; an on-site check is needed",
                             minutes(checked_s), 0, 0, minutes(checked_s))
    if day.asked.flagged:
        # No answer to the cloud's time checks that day: its clock may be behind, judged as if found so.
        return SpotJudgement(SpotResult.UNVERIFIABLE, SpotReason.CLOCK_UNANSWERED,
                             f"the station answered none of the cloud's time checks that day "
                             f"({day.asked.unanswered_n} asked while it was heard live): its readings cannot be "
                             "placed in time; an on-site check is needed",
                             minutes(checked_s), 0, 0, minutes(checked_s))
    known_s = total(intersect(day.timeline.known, checked))
    open_s = total(intersect(day.timeline.open, checked))
    unknown_s = checked_s - known_s
    counts = (minutes(checked_s), minutes(open_s), minutes(known_s - open_s), minutes(unknown_s))
    grace = config.spot_check_grace_minutes * 60
    brief = config.spot_check_min_open_minutes * 60
    opened = merge(day.timeline.open)
    # An opening shorter than `brief` between two closed stretches does not split them: the stretch runs through it.
    closed = _bridged(_runs(subtract(day.timeline.known, opened), sessions), _runs(opened, sessions), brief)
    # Open minutes resting only on a door state or presence from before a loss window are not shown open: the
    # message that ended it may be among the lost, so they are judged like the window itself.
    unconfirmed = merge(day.timeline.open_unconfirmed)
    confirmed = subtract(opened, unconfirmed)
    not_open = _bridged(_runs(subtract([(float(day.plan.start), float(day.plan.end))], confirmed), sessions),
                        _runs(confirmed, sessions), brief)

    def touching(runs: list[Run]) -> list[Run]:
        return [r for r in runs if r[0][1] - r[0][0] > grace and intersect([r[0]], checked)]

    def briefly(runs: list[Run]) -> str:
        """What the bridged openings were, for the sentence ("" when none was)."""
        n = sum(bridged for _, bridged in runs)
        return (f"; shown open only briefly ({n} opening{'s' if n > 1 else ''} shorter than "
                f"{config.spot_check_min_open_minutes:g} min)" if n else "")

    judged = merge([*checked, *(r for r, _ in [*closed, *not_open] if intersect([r], checked))])
    doubt = merge([*day.platform_lost, *day.backlog_lost])
    if lost := intersect(merge([*doubt, *unconfirmed]), judged):
        during = ("during the check" if intersect(doubt, judged) else
                  "before the check, and the station was shown open in it only by a door state or visitors counted "
                  "in from before then (the message ending it may be among the lost)")
        what = []
        if day.platform_lost:
            windows = "; ".join(describe(day.platform_lost, zone))
            what.append(f"the platform lost a share of every station's messages ({windows}, {timezone})")
        if day.backlog_lost:
            # The station's own backlog, sent after an outage while the platform was losing messages (losses.py).
            stretches = "; ".join(describe(day.backlog_lost, zone))
            what.append(f"readings stamped {stretches} ({timezone}) were being sent from the station's outbox after "
                        "an outage when the platform lost messages")
        return SpotJudgement(SpotResult.UNVERIFIABLE, SpotReason.PLATFORM_LOST_MESSAGES,
                             f"{'; '.join(what)} {during}: it cannot be judged on the sensors, an on-site check is "
                             "needed", *counts, tuple(hhmm(lost, zone)))
    if failing := touching(closed):
        why = briefly(failing)
        return SpotJudgement(SpotResult.FAIL, SpotReason.CLOSED_BRIEF_OPENINGS if why else SpotReason.CLOSED,
                             "closed during working hours (a stretch longer than "
                             f"{config.spot_check_grace_minutes:g} min){why}", *counts,
                             tuple(hhmm([r for r, _ in failing], zone)))
    if doubtful := touching(not_open):
        return SpotJudgement(SpotResult.UNVERIFIABLE, SpotReason.DEVICES_OFF,
                             "devices off during the check: open cannot be shown, an on-site check is needed"
                             f"{briefly(doubtful)}", *counts, tuple(hhmm([r for r, _ in doubtful], zone)))
    return SpotJudgement(SpotResult.PASS, SpotReason.OPEN, "open during the check", *counts)


def draw(station_ids: Iterable[str], sample: int, seed: int) -> list[str]:
    """An auditable random draw: the same stations and seed always give the same sorted sample."""
    population = sorted(set(station_ids))
    chosen = random.Random(seed).sample(population, min(sample, len(population)))
    return sorted(chosen)


@dataclass(frozen=True, slots=True)
class VetoStatus:
    station: str
    year: int
    failed: int
    veto: bool | None  # None: the veto does not apply (a kind with no grade)
    failed_dates: tuple[str, ...]


def vetoes(results: Sequence[tuple[str, date, SpotResult]], config: RulesConfig,
           not_graded: Collection[tuple[str, int]] = ()) -> list[VetoStatus]:
    """Failed station-days per station per year: however many windows failed on one day, the day counts once.
    `veto_failures` or more sets the veto. `not_graded`: the (station, year) pairs whose kind on the year's last day
    has no grade (care centre, neighbourhood point): their failed checks are still counted and listed, but the veto
    does not apply (None), as the grade's subsidy it withholds does not."""
    dates: dict[tuple[str, int], set[str]] = {}
    for station, day, result in results:
        found = dates.setdefault((station, day.year), set())
        if result is SpotResult.FAIL:
            found.add(day.isoformat())
    return [
        VetoStatus(station, year, len(failed),
                   None if (station, year) in not_graded else len(failed) >= config.veto_failures,
                   tuple(sorted(failed)))
        for (station, year), failed in sorted(dates.items())
    ]
