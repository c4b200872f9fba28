"""Errors as clear 4xx answers (hostile or malformed input never becomes a 500), and browser security headers."""

import logging
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, IntegrityError

log = logging.getLogger(__name__)

# Everything the dashboard needs is served from here (no CDN); ECharts sets inline styles from script.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}


def install(app: FastAPI) -> None:
    @app.middleware("http")
    async def _security_headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    @app.exception_handler(DataError)
    async def _data_error(request: Request, exc: DataError) -> JSONResponse:
        # The database refused a value (e.g. out of range for its column): the client's input, not our fault.
        log.info("database refused a value on %s: %s", request.url.path, str(exc.orig).splitlines()[0])
        return JSONResponse({"detail": "a value is out of range or malformed"}, status_code=400)

    @app.exception_handler(IntegrityError)
    async def _integrity_error(request: Request, exc: IntegrityError) -> JSONResponse:
        return JSONResponse({"detail": "conflicts with an existing record"}, status_code=409)
