"""GET /alerts/stream: Server-Sent Events of alerts raised or changed, scoped to the user.

The process's AlertFeed says which alerts changed; each stream loads those through the user's scoped query, so a
stream only ever sends what the user could list, and remembers what it sent so nothing is sent twice. Every couple
of seconds the stream checks that its token still stands, and ends with `event: closed` when it does not, or when
the server stops.
"""

import json
import logging
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool

from cloud.api import tokens
from cloud.api.deps import ClaimsDep, RuntimeDep, StreamUser
from cloud.api.routes.alerts import alert_out, scoped_alerts
from cloud.api.runtime import Runtime
from cloud.api.security import TokenClaims
from cloud.store.models import Alert
from cloud.store.users import User

log = logging.getLogger(__name__)
router = APIRouter(prefix="/alerts", tags=["alerts"])


def _load(runtime: Runtime, user: User, ids: list[int]) -> list[tuple[int, str]]:
    with runtime.sessions() as session:
        rows = session.execute(scoped_alerts(user).where(Alert.id.in_(ids)).order_by(Alert.id)).tuples().all()
        return [(a.id, alert_out(a, s).model_dump_json()) for a, s in rows]


def _still_stands(runtime: Runtime, claims: TokenClaims) -> bool:
    now = datetime.now(UTC)
    if claims.expires_at <= now:
        return False
    try:
        with runtime.sessions() as session:
            return tokens.user_for(session, claims, now) is not None
    except SQLAlchemyError as exc:
        # The database is away: nothing can be disabled or revoked meanwhile, and nothing new can be sent either.
        # Ask again at the next check rather than cut a dispatcher's stream over a blip.
        log.warning("stream token check failed: %s", str(exc).splitlines()[0])
        return True


async def _events(request: Request, runtime: Runtime, user: User, claims: TokenClaims) -> AsyncIterator[str]:
    feed = runtime.feed
    config = runtime.config
    sent: dict[int, tuple[object, ...]] = {}
    yield f"event: ready\ndata: {json.dumps({'user': user.name, 'role': user.role})}\n\n"
    version, changed = feed.snapshot()
    quiet_since = checked_at = time.monotonic()
    while not feed.closed and not await request.is_disconnected():
        todo = [alert_id for alert_id, state in changed.items() if sent.get(alert_id) != state]
        if todo:
            for alert_id, body in await run_in_threadpool(_load, runtime, user, todo):
                yield f"event: alert\nid: {alert_id}\ndata: {body}\n\n"
        # Only what is still in the feed's window can come back: remembering that is enough (bounded memory).
        sent = dict(changed)
        # Wake at least every auth check, so a logout, a disable or the token's expiry ends the stream within
        # seconds rather than at the next alert.
        before = version
        version, changed = await feed.wait(version, config.stream_auth_check_s)
        now = time.monotonic()
        if now - checked_at >= config.stream_auth_check_s:
            checked_at = now
            if not await run_in_threadpool(_still_stands, runtime, claims):
                yield f"event: closed\ndata: {json.dumps({'reason': 'token no longer valid'})}\n\n"
                return
        if version != before:
            quiet_since = now
        elif now - quiet_since >= config.stream_keepalive_s:
            quiet_since = now
            yield ": keep-alive\n\n"
    if feed.closed:  # the server is stopping: the client reconnects to it, or to another API process
        yield f"event: closed\ndata: {json.dumps({'reason': 'server stopping'})}\n\n"


@router.get(
    "/stream",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "`alert` events, JSON AlertOut"}},
)
async def stream(request: Request, user: StreamUser, claims: ClaimsDep, runtime: RuntimeDep) -> StreamingResponse:
    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(_events(request, runtime, user, claims), media_type="text/event-stream", headers=headers)
