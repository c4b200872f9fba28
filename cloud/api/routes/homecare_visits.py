"""Home-care visits from the caregiver's phone, and the elders' visit codes (服务二维码) behind them.

The bureau, a town (its towns' elders) and a provider (its own elders) issue, revoke and re-issue the codes and
print them. A caregiver signs visits in and out by scanning the elder's code, for themselves only, and sees only
their own visits. A sign-in or sign-out carries the phone's key and time: a phone that lost its connection sends it
again later, and the store keeps it once; the time is the phone's, unless it is in the future or too old to believe.
"""

import base64
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Response, status
from fastapi import Path as PathParam
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from cloud.api.deps import ConfigDep, RuntimeDep, SessionDep, require_roles
from cloud.api.errors import homecare_refusals
from cloud.homecare import qr, qrtokens
from cloud.homecare.phonetime import PhoneTimeLimits, time_problem
from cloud.homecare.records import DEFAULT_ITEMS, Location
from cloud.homecare.store.errors import NotFound
from cloud.homecare.store.registry import elders_query, get_elder
from cloud.homecare.store.visits import record_sign_in, record_sign_out
from cloud.store.homecare import KEY_LEN, HomecareElder, HomecareVisit, QrToken
from cloud.store.users import User

router = APIRouter(prefix="/homecare", tags=["homecare visits"])

CodeManager = Annotated[User, require_roles("bureau", "town", "provider")]
CaregiverUser = Annotated[User, require_roles("caregiver")]
HomecareUser = Annotated[User, require_roles("bureau", "town", "provider", "caregiver")]
ElderId = Annotated[str, PathParam(min_length=1, max_length=63)]
ClientKey = Annotated[str, Field(min_length=8, max_length=KEY_LEN, pattern=r"^[A-Za-z0-9_-]+$")]
CodeText = Annotated[str, Field(min_length=1, max_length=qr.MAX_TOKEN_CHARS)]
MAX_CARDS = 1000  # one print run; a larger district prints town by town
PHONE_TIME = PhoneTimeLimits()
UNPROCESSABLE = 422  # Starlette renamed its constant; the number is the interface


def code_key(runtime: RuntimeDep) -> bytes:
    return qr.qr_key(runtime.settings.secret_key.get_secret_value())


CodeKey = Annotated[bytes, Depends(code_key)]


class ItemOut(BaseModel):
    code: str
    name: str


class CodeOut(BaseModel):
    elder_id: str
    token_id: str | None = Field(description="the standing code's id; null when the elder has none")
    issued_at: datetime | None
    issued_by: str | None
    text: str | None = Field(description="what the code says, for printing; it names the elder only opaquely")
    image: str | None = Field(description="the code as an SVG data URL")


class CardOut(CodeOut):
    name_masked: str = Field(description="the elder's name with its middle hidden, to tell the cards apart")
    town: str
    provider: str


class LocationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    accuracy_m: float | None = Field(default=None, ge=0, le=100_000)


class SignInIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: ClientKey = Field(description="made by the phone for this visit; a resend with the same key is stored once")
    qr: CodeText = Field(description="the text of the elder's code, as scanned")
    elder_id: str | None = Field(default=None, max_length=63,
                                 description="the elder the caregiver means to visit, when the phone knows it: the "
                                             "code must be theirs")
    at: datetime = Field(description="when the code was scanned, by the phone's clock, with its UTC offset")
    location: LocationIn | None = Field(default=None, description="only when the caregiver agreed to share it")


class SignOutIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    visit_key: ClientKey = Field(description="the key of the visit's sign-in")
    qr: CodeText = Field(description="the elder's code, scanned again at the end of the visit")
    at: datetime
    items: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(min_length=1, max_length=20)
    location: LocationIn | None = None


class VisitOut(BaseModel):
    id: int
    key: str
    elder_id: str
    elder_name: str
    sign_in_at: datetime
    sign_out_at: datetime | None
    minutes: int | None = Field(description="whole minutes signed in; null before the sign-out")
    items: list[str]
    item_names: list[str]
    voided: bool
    stored: bool = Field(default=False, description="this request stored something; false for a resend")


_ITEM_NAMES = {i.code: i.name for i in DEFAULT_ITEMS}


def _mask(name: str) -> str:
    if len(name) <= 1:
        return name
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def _code_out(key: bytes, elder_id: str, token: QrToken | None) -> CodeOut:
    if token is None:
        return CodeOut(elder_id=elder_id, token_id=None, issued_at=None, issued_by=None, text=None, image=None)
    text = qrtokens.text_of(key, token)
    image = "data:image/svg+xml;base64," + base64.b64encode(qr.svg(text).encode("utf-8")).decode("ascii")
    return CodeOut(elder_id=elder_id, token_id=token.id, issued_at=token.issued_at, issued_by=token.issued_by,
                   text=text, image=image)


def _elder(session: SessionDep, user: User, elder_id: str) -> HomecareElder:
    try:
        return get_elder(session, user, elder_id)
    except NotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc


def _visit_out(visit: HomecareVisit, elder_name: str, stored: bool) -> VisitOut:
    minutes = None
    if visit.sign_out_at is not None:
        minutes = int((visit.sign_out_at - visit.sign_in_at) // timedelta(minutes=1))
    return VisitOut(id=visit.id, key=visit.key, elder_id=visit.elder_id, elder_name=elder_name,
                    sign_in_at=visit.sign_in_at, sign_out_at=visit.sign_out_at, minutes=minutes,
                    items=list(visit.items), item_names=[_ITEM_NAMES.get(i, i) for i in visit.items],
                    voided=visit.voided, stored=stored)


def _location(body: LocationIn | None) -> Location | None:
    return Location(body.lat, body.lon, body.accuracy_m) if body is not None else None


@router.get("/service-items", response_model=list[ItemOut])
def service_items(user: HomecareUser) -> list[ItemOut]:
    """The service items a caregiver picks from when signing out."""
    return [ItemOut(code=i.code, name=i.name) for i in DEFAULT_ITEMS]


@router.get("/elders/{elder_id}/qr", response_model=CodeOut, responses={404: {}})
def get_code(elder_id: ElderId, user: CodeManager, session: SessionDep, key: CodeKey) -> CodeOut:
    elder = _elder(session, user, elder_id)
    return _code_out(key, elder.id, qrtokens.current(session, elder.id))


@router.get("/elders/{elder_id}/qr.png", response_class=Response, responses={200: {"content": {"image/png": {}}},
                                                                            404: {}})
def get_code_png(elder_id: ElderId, user: CodeManager, session: SessionDep, key: CodeKey) -> Response:
    """The elder's standing code as a PNG, to print."""
    elder = _elder(session, user, elder_id)
    token = qrtokens.current(session, elder.id)
    if token is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"elder {elder.id!r} has no code; issue one first")
    return Response(qr.png(qrtokens.text_of(key, token)), media_type="image/png",
                    headers={"Content-Disposition": f'attachment; filename="qr-{token.id[:6]}.png"'})


@router.post("/elders/{elder_id}/qr", response_model=CodeOut, status_code=status.HTTP_201_CREATED,
             responses={404: {}, 409: {}})
def issue_code(elder_id: ElderId, user: CodeManager, session: SessionDep, config: ConfigDep,
               key: CodeKey) -> CodeOut:
    elder = _elder(session, user, elder_id)
    try:
        token = qrtokens.issue(session, elder, user.name, config.clock())
    except qrtokens.CodeConflict as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    session.commit()
    return _code_out(key, elder.id, token)


@router.post("/elders/{elder_id}/qr/reissue", response_model=CodeOut, responses={404: {}})
def reissue_code(elder_id: ElderId, user: CodeManager, session: SessionDep, config: ConfigDep,
                 key: CodeKey) -> CodeOut:
    """Revoke the elder's code and issue a new one: the old print stops working at once."""
    elder = _elder(session, user, elder_id)
    token = qrtokens.reissue(session, elder, user.name, config.clock())
    session.commit()
    return _code_out(key, elder.id, token)


@router.post("/elders/{elder_id}/qr/revoke", response_model=CodeOut, responses={404: {}, 409: {}})
def revoke_code(elder_id: ElderId, user: CodeManager, session: SessionDep, config: ConfigDep,
                key: CodeKey) -> CodeOut:
    """Revoke the elder's code (service ended, code copied) without issuing another."""
    elder = _elder(session, user, elder_id)
    try:
        qrtokens.revoke(session, elder, user.name, config.clock())
    except qrtokens.CodeConflict as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    session.commit()
    return _code_out(key, elder.id, None)


@router.get("/qr-cards", response_model=list[CardOut])
def code_cards(
    user: CodeManager, session: SessionDep, key: CodeKey,
    town: Annotated[str | None, Query(max_length=200)] = None,
    provider: Annotated[str | None, Query(max_length=63)] = None,
) -> list[CardOut]:
    """The elders in scope with their standing codes, to print in one run (at most 1000 at a time)."""
    elders = list(session.scalars(elders_query(user, town=town, provider=provider).limit(MAX_CARDS + 1)))
    if len(elders) > MAX_CARDS:
        raise HTTPException(UNPROCESSABLE,
                            f"more than {MAX_CARDS} elders: print town by town (town=...) or per provider")
    tokens = {t.elder_id: t for t in session.scalars(
        select(QrToken).where(QrToken.elder_id.in_([e.id for e in elders]), QrToken.revoked_at.is_(None)))}
    return [CardOut(**_code_out(key, e.id, tokens.get(e.id)).model_dump(), name_masked=_mask(e.name), town=e.town,
                    provider=e.provider_id) for e in elders]


def _check_items(items: list[str]) -> None:
    unknown = sorted(set(items) - _ITEM_NAMES.keys())
    if unknown:
        raise HTTPException(UNPROCESSABLE,
                            f"unknown service items {', '.join(unknown)}; known: {', '.join(_ITEM_NAMES)}")


def _caregiver_id(user: User) -> str:
    if not user.caregiver_id:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "this login is not linked to a caregiver's job number")
    return user.caregiver_id


def _check_code(session: SessionDep, key: bytes, text: str, claimed: str | None) -> qrtokens.CheckedCode:
    try:
        return qrtokens.check(session, key, text, claimed)
    except qrtokens.CodeConflict as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    except qrtokens.CodeRefused as exc:
        raise HTTPException(UNPROCESSABLE, str(exc)) from exc


def _check_time(at: datetime, now: datetime) -> None:
    problem = time_problem(at, now, PHONE_TIME)
    if problem:
        raise HTTPException(UNPROCESSABLE, problem)


@router.post("/visits/sign-in", response_model=VisitOut, responses={201: {"model": VisitOut}, 404: {}, 409: {},
                                                                  422: {}})
def sign_in(body: SignInIn, user: CaregiverUser, session: SessionDep, config: ConfigDep, key: CodeKey,
            response: Response) -> VisitOut:
    """Sign a visit in from the elder's scanned code. 201 when stored, 200 when this key was stored before (a
    phone resending): the same visit either way."""
    caregiver = _caregiver_id(user)
    now = config.clock()
    _check_time(body.at, now)
    code = _check_code(session, key, body.qr, body.elder_id)
    with homecare_refusals(invalid=UNPROCESSABLE):
        visit, stored = record_sign_in(session, key=body.key, elder_id=code.elder_id, caregiver_id=caregiver,
                                       at=body.at, by=user.name, now=now, location=_location(body.location),
                                       token_id=code.token_id)
    session.commit()
    response.status_code = status.HTTP_201_CREATED if stored else status.HTTP_200_OK
    elder = session.get(HomecareElder, visit.elder_id)
    return _visit_out(visit, elder.name if elder else visit.elder_id, stored)


@router.post("/visits/sign-out", response_model=VisitOut, responses={404: {}, 409: {}, 422: {}})
def sign_out(body: SignOutIn, user: CaregiverUser, session: SessionDep, config: ConfigDep,
             key: CodeKey) -> VisitOut:
    """Sign one's own visit out by scanning the elder's code again, with the service items given."""
    caregiver = _caregiver_id(user)
    now = config.clock()
    _check_time(body.at, now)
    _check_items(body.items)
    visit = session.scalars(select(HomecareVisit).where(HomecareVisit.key == body.visit_key,
                                                        HomecareVisit.caregiver_id == caregiver)).first()
    if visit is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no visit {body.visit_key!r} signed in by you")
    # The code of the elder visited: any code of theirs that stands (a code re-issued during the visit is fine).
    _check_code(session, key, body.qr, visit.elder_id)
    with homecare_refusals(invalid=UNPROCESSABLE):
        visit, stored = record_sign_out(session, key=body.visit_key, at=body.at, now=now, items=body.items,
                                        location=_location(body.location), caregiver_id=caregiver)
    session.commit()
    elder = session.get(HomecareElder, visit.elder_id)
    return _visit_out(visit, elder.name if elder else visit.elder_id, stored)


@router.get("/my-visits", response_model=list[VisitOut])
def my_visits(user: CaregiverUser, session: SessionDep,
              limit: Annotated[int, Query(ge=1, le=500)] = 50) -> list[VisitOut]:
    """The caregiver's own visits, newest first."""
    caregiver = _caregiver_id(user)
    rows = session.execute(
        select(HomecareVisit, HomecareElder.name).join(HomecareElder, HomecareElder.id == HomecareVisit.elder_id)
        .where(HomecareVisit.caregiver_id == caregiver)
        .order_by(HomecareVisit.sign_in_at.desc(), HomecareVisit.id.desc()).limit(limit)).tuples()
    return [_visit_out(v, name, False) for v, name in rows]
