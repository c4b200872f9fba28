"""Raising the home-care alerts where they belong (cloud.homecare.routing decides where): each fraud signal to the
towns of its elders or to the bureau, an open alert of the same cause found elsewhere moved, and the open alerts a
signal's new route leaves behind cleared with the reason. The caller commits."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from cloud.alerts import service
from cloud.alerts.kinds import WORKER, AlertKind, AlertLevel, AlertSpec, AlertStatus
from cloud.homecare import fraud, routing
from cloud.homecare.config import HomecareConfig
from cloud.store.models import Alert


def destination(town: str | None) -> str:
    return f"town {town}" if town is not None else "the bureau"


def raise_where(session: Session, spec: AlertSpec, now: datetime, why: str) -> bool:
    """Raise `spec` (once per cause); an open alert of its cause at another town or level (raised before its evidence
    reached another town, or to the provider's town before alerts followed the elders) is moved to `spec`'s, saying
    `why`, with `spec`'s evidence: the only evidence its new reader may see. True if it was moved."""
    alert = service.raise_alert(session, spec)
    if alert.status == AlertStatus.RESOLVED.value or (alert.town, alert.level) == (spec.town, spec.level.value):
        return False
    service.sharpen(alert, spec.evidence)
    service.move(alert, spec.town, spec.level, now,
                 f"moved from {destination(alert.town)} to {destination(spec.town)}: {why}")
    return True


@dataclass
class Raised:
    alerts: int = 0
    moved: int = 0
    cleared: int = 0


def raise_signals(session: Session, found: Sequence[fraud.Signal], town_of: Mapping[str, str],
                  config: HomecareConfig, now: datetime) -> Raised:
    """Raise each signal's alerts where its elders' towns say (`town_of`: each elder's town)."""
    out = Raised()
    routed: dict[str, list[routing.Route]] = {}
    for signal in found:
        routed[signal.cause_key] = routes = routing.route(signal, town_of, config)
        for r in routes:
            spec = AlertSpec(AlertKind(signal.kind), None, r.cause_key,
                             AlertLevel.TOWN if r.town is not None else AlertLevel.BUREAU, signal.at,
                             {**r.evidence, "provider": signal.provider}, town=r.town)
            out.alerts += 1
            why = "its visits are of that town's elders" if r.town is not None else \
                "its visits are of several towns' elders, a pattern of the whole provider"
            out.moved += raise_where(session, spec, now, why)
    kinds = sorted({s.kind for s in found})
    open_keys = session.scalars(select(Alert.cause_key).where(Alert.kind.in_(kinds),
                                                              Alert.status != AlertStatus.RESOLVED.value))
    for key, replaced in sorted(routing.left_behind(routed, list(open_keys)).items()):
        now_at = ", ".join(f"{destination(r.town)} ({r.cause_key})" for r in replaced)
        out.cleared += service.clear(session, key, WORKER, now, f"re-routed by its elders' towns: now {now_at}")
    return out
