"""`create_app(settings)`: the FastAPI application. Nothing is built at import: the engine opens in the lifespan."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine
from sqlalchemy.orm import sessionmaker

from cloud.api import docs_page, errors, metrics
from cloud.api.body_limit import BodyLimit
from cloud.api.config import ApiConfig
from cloud.api.dashboard import dashboard_dir
from cloud.api.feed import AlertFeed
from cloud.api.routes import (
    activities,
    alerts,
    appeals,
    audit,
    auth,
    calendar,
    closures,
    evidence,
    exports,
    health,
    homecare_codes,
    homecare_complaints,
    homecare_figures,
    homecare_followups,
    homecare_orders,
    homecare_registry,
    homecare_surveys,
    homecare_visits,
    ingest_losses,
    onsite,
    overview,
    registry,
    spot_checks,
    stations,
    stream,
    users,
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
    for module in (auth, stations, overview, spot_checks, stream, alerts, activities, exports, calendar, closures,
                   evidence, onsite, registry, users, audit, appeals,
                   homecare_registry, homecare_orders, homecare_followups, homecare_complaints, homecare_surveys,
                   homecare_figures, homecare_codes, homecare_visits):
        app.include_router(module.router, prefix=API_PREFIX)
    app.include_router(ingest_losses.router, prefix=API_PREFIX)
    _mount_dashboard(app, dashboard_dir())
    # Added last, so it runs first: an oversized body is refused before any other middleware or route reads it.
    app.add_middleware(BodyLimit, max_bytes=(config or ApiConfig()).max_body_bytes)
    return app


def _mount_dashboard(app: FastAPI, directory: Path) -> None:
    """The dashboard's page and its static/ folder, and nothing else of the package (no Python source, no Grafana
    JSON with its datasource settings)."""
    index = directory / "index.html"

    @app.get("/", include_in_schema=False)
    @app.get("/index.html", include_in_schema=False)
    def dashboard_page() -> FileResponse:
        return FileResponse(index, media_type="text/html; charset=utf-8")

    app.mount("/static", StaticFiles(directory=directory / "static"), name="dashboard-static")
