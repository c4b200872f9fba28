"""`create_app(settings)`: the FastAPI application. Nothing is built at import: the engine opens in the lifespan."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine
from sqlalchemy.orm import sessionmaker

from cloud.api import docs_page, errors, metrics
from cloud.api.config import ApiConfig
from cloud.api.dashboard import dashboard_dir
from cloud.api.feed import AlertFeed
from cloud.api.routes import (
    activities,
    alerts,
    auth,
    calendar,
    closures,
    exports,
    health,
    overview,
    spot_checks,
    stations,
    stream,
)
from cloud.api.runtime import Runtime
from cloud.settings import Settings

API_PREFIX = "/api/v1"


def create_app(settings: Settings, *, config: ApiConfig | None = None, engine: Engine | None = None) -> FastAPI:
    """The API and dashboard. `engine` lets tests and benchmarks share one they already built. The rules come from
    ELDERCARE_RULES_FILE and the holiday file of ELDERCARE_HOLIDAYS_FILE is taken in at start; a broken one stops
    the start with a one-line error (`ConfigFileError`)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        from cloud.derive import calendar_store
        from cloud.derive.deployment import read_rules
        from cloud.store.db import make_engine

        rules = read_rules(settings.rules_file)
        own = engine is None
        bound = engine if engine is not None else make_engine(settings.resolved_database_url)
        sessions = sessionmaker(bound, expire_on_commit=False)
        policy = config or ApiConfig()
        if settings.holidays_file is not None:
            with sessions() as session:
                calendar_store.sync_setting_file(session, settings.holidays_file, policy.clock())
                session.commit()
        feed = AlertFeed(sessions, policy.stream_poll_s)
        app.state.runtime = Runtime(engine=bound, sessions=sessions, settings=settings, config=policy, feed=feed,
                                    rules=rules)
        feed.start()
        try:
            yield
        finally:
            await feed.stop()
            if own:
                bound.dispose()

    app = FastAPI(
        title="eldercare-monitor API",
        version="1",
        description="Community eldercare stations: opening, service counts, spot checks, alerts, assessments.",
        lifespan=lifespan,
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=None,  # docs_page serves it from vendored files instead of a CDN
        redoc_url=None,
    )
    errors.install(app)
    metrics.install(app)
    app.include_router(health.router)
    docs_page.install(app, API_PREFIX)
    # stream before alerts: /alerts/stream must not be taken for /alerts/{alert_id}.
    for module in (auth, stations, overview, spot_checks, stream, alerts, activities, exports, calendar, closures):
        app.include_router(module.router, prefix=API_PREFIX)
    app.mount("/", StaticFiles(directory=dashboard_dir(), html=True), name="dashboard")
    return app
