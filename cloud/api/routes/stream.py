"""GET /alerts/stream: Server-Sent Events of alerts raised or changed, scoped to the user.

The process's AlertFeed says which alerts changed; each stream loads those through the user's scoped query, so a
stream only ever sends what the user could list, and remembers what it sent so nothing is sent twice.
"""

import json
from collections.abc import AsyncIterator

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from cloud.api.deps import RuntimeDep, StreamUser
from cloud.api.routes.alerts import alert_out, scoped_alerts
from cloud.api.runtime import Runtime
from cloud.store.models import Alert
from cloud.store.users import User

router = APIRouter(prefix="/alerts", tags=["alerts"])


def _load(runtime: Runtime, user: User, ids: list[int]) -> list[tuple[int, str]]:
    with runtime.sessions() as session:
        rows = session.execute(scoped_alerts(user).where(Alert.id.in_(ids)).order_by(Alert.id)).tuples().all()
        return [(a.id, alert_out(a, s).model_dump_json()) for a, s in rows]


async def _events(request: Request, runtime: Runtime, user: User) -> AsyncIterator[str]:
    feed = runtime.feed
    sent: dict[int, tuple[object, ...]] = {}
    yield f"event: ready\ndata: {json.dumps({'user': user.name, 'role': user.role})}\n\n"
    version, changed = feed.snapshot()
    while not feed.closed and not await request.is_disconnected():
        todo = [alert_id for alert_id, state in changed.items() if sent.get(alert_id) != state]
        if todo:
            for alert_id, body in await run_in_threadpool(_load, runtime, user, todo):
                yield f"event: alert\nid: {alert_id}\ndata: {body}\n\n"
        # Only what is still in the feed's window can come back: remembering that is enough (bounded memory).
        sent = dict(changed)
        before = version
        version, changed = await feed.wait(version, runtime.config.stream_keepalive_s)
        if version == before:
            yield ": keep-alive\n\n"


@router.get(
    "/stream",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "`alert` events, JSON AlertOut"}},
)
async def stream(request: Request, user: StreamUser, runtime: RuntimeDep) -> StreamingResponse:
    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(_events(request, runtime, user), media_type="text/event-stream", headers=headers)
