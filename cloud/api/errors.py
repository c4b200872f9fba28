"""Errors as clear 4xx answers: hostile or malformed input never becomes a 500."""

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import FastAPI, HTTPException, Request, status
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from cloud.api import moments
from cloud.homecare.store.errors import HomecareError, NotFound, NotYours, VisitConflict

log = logging.getLogger(__name__)


def install(app: FastAPI) -> None:
    @app.exception_handler(DataError)
    async def _data_error(request: Request, exc: DataError) -> JSONResponse:
        # The database refused a value (e.g. out of range for its column): the client's input, not our fault.
        log.info("database refused a value on %s: %s", request.url.path, str(exc.orig).splitlines()[0])
        return JSONResponse({"detail": "a value is out of range or malformed"}, status_code=400)

    @app.exception_handler(OverflowError)
    async def _overflow(request: Request, exc: OverflowError) -> JSONResponse:
        # Every date and time the API takes is bounded (cloud.api.moments), so none should reach the calendar's
        # edge; one that still does (a day added to a date the client gave) is the client's input, not our fault.
        log.warning("a value overflowed on %s: %s", request.url.path, exc)
        return JSONResponse({"detail": f"a date or time is out of range ({exc}): give one in {moments.BOUNDS}"},
                            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)

    @app.exception_handler(PoolTimeout)
    async def _busy(request: Request, exc: PoolTimeout) -> JSONResponse:
        log.warning("no database connection free for %s", request.url.path)
        return JSONResponse({"detail": "busy; try again shortly"}, status_code=503, headers={"Retry-After": "5"})

    @app.exception_handler(IntegrityError)
    async def _integrity_error(request: Request, exc: IntegrityError) -> JSONResponse:
        return JSONResponse({"detail": "conflicts with an existing record"}, status_code=409)


@contextmanager
def homecare_refusals(invalid: int = status.HTTP_400_BAD_REQUEST) -> Iterator[None]:
    """What the home-care store refuses, as the answer to the request: 404 for a record absent or outside the user's
    scope (the same answer for both), 403 for one in sight that is not the user's to change, 409 for a replayed key
    whose content differs, else `invalid`."""
    try:
        yield
    except HomecareError as exc:
        code = (status.HTTP_404_NOT_FOUND if isinstance(exc, NotFound) else
                status.HTTP_403_FORBIDDEN if isinstance(exc, NotYours) else
                status.HTTP_409_CONFLICT if isinstance(exc, VisitConflict) else invalid)
        raise HTTPException(code, str(exc)) from exc
