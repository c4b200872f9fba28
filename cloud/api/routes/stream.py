"""GET /alerts/stream: Server-Sent Events of alerts raised or changed, scoped to the user.

Polls the alerts table (the ingesters, the worker and other API processes all write it) with an overlap, so a
change committed late is still seen, and remembers what it sent so nothing is sent twice.
"""

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from sqlalchemy import or_
from starlette.concurrency import run_in_threadpool

from cloud.api.deps import CurrentUser, RuntimeDep
from cloud.api.routes.alerts import alert_out, scoped_alerts
from cloud.api.runtime import Runtime
from cloud.store.models import Alert
from cloud.store.users import User

router = APIRouter(prefix="/alerts", tags=["alerts"])

# Commits of other processes can land after a poll that started later than their timestamps: look back this far.
OVERLAP = timedelta(seconds=10)


def _fingerprint(alert: Alert) -> tuple[object, ...]:
    return (alert.status, alert.level, alert.escalated_at, alert.acknowledged_at, alert.resolved_at, alert.notes)


def _changes(runtime: Runtime, user: User, since: datetime) -> list[tuple[int, tuple[object, ...], str]]:
    changed = or_(
        Alert.raised_at >= since,
        Alert.escalated_at >= since,
        Alert.acknowledged_at >= since,
        Alert.resolved_at >= since,
    )
    with runtime.sessions() as session:
        rows = session.execute(scoped_alerts(user).where(changed).order_by(Alert.id).limit(500)).tuples().all()
        return [(a.id, _fingerprint(a), alert_out(a, s).model_dump_json()) for a, s in rows]


async def _events(request: Request, runtime: Runtime, user: User) -> AsyncIterator[str]:
    config = runtime.config
    sent: dict[int, tuple[object, ...]] = {}
    # Real time, not the injectable domain clock: alert rows carry the wall-clock time they were written.
    since = datetime.now(UTC) - OVERLAP
    yield f"event: ready\ndata: {json.dumps({'user': user.name, 'role': user.role})}\n\n"
    idle = 0.0
    while not await request.is_disconnected():
        polled_at = datetime.now(UTC)
        current: dict[int, tuple[object, ...]] = {}
        for alert_id, fingerprint, body in await run_in_threadpool(_changes, runtime, user, since):
            current[alert_id] = fingerprint
            if sent.get(alert_id) != fingerprint:
                idle = 0.0
                yield f"event: alert\nid: {alert_id}\ndata: {body}\n\n"
        # Only alerts still inside the overlap window can come back: remembering those is enough (bounded memory).
        sent = current
        since = polled_at - OVERLAP
        await asyncio.sleep(config.stream_poll_s)
        idle += config.stream_poll_s
        if idle >= config.stream_keepalive_s:
            idle = 0.0
            yield ": keep-alive\n\n"


@router.get(
    "/stream",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "`alert` events, JSON AlertOut"}},
)
async def stream(request: Request, user: CurrentUser, runtime: RuntimeDep) -> StreamingResponse:
    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(_events(request, runtime, user), media_type="text/event-stream", headers=headers)
