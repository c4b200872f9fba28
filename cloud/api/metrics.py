"""Prometheus metrics for the API process, on a registry of its own so several apps can live in one process."""

import time
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest


def install(app: FastAPI) -> None:
    registry = CollectorRegistry()
    requests = Counter(
        "eldercare_api_requests", "API requests answered", ["method", "route", "status"], registry=registry
    )
    latency = Histogram(
        "eldercare_api_request_seconds", "API request latency", ["method", "route"], registry=registry
    )

    @app.middleware("http")
    async def _measure(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        # The route template, not the raw path, so ids do not explode the label set.
        route = getattr(request.scope.get("route"), "path", "static")
        requests.labels(request.method, route, str(response.status_code)).inc()
        latency.labels(request.method, route).observe(time.perf_counter() - started)
        return response

    @app.get("/metrics", include_in_schema=False)
    def _metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
