"""Home-care visits from the caregiver's phone, signed in and out with the elder's visit code (`homecare_codes`).

A caregiver signs visits in and out by scanning the elder's code, for themselves only, and sees only their own
visits. A sign-in or sign-out carries the phone's key and time: a phone that lost its connection sends it again
later, and the store keeps it once; the time is the phone's, unless it is in the future or too old to believe.
"""

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from cloud.api.deps import ConfigDep, SessionDep, require_roles
from cloud.api.errors import homecare_refusals
from cloud.api.homecare_deps import UNPROCESSABLE, CodeKey
from cloud.api.moments import Moment
from cloud.homecare import qr, qrtokens
from cloud.homecare.phonetime import PhoneTimeLimits, time_problem
from cloud.homecare.records import DEFAULT_ITEMS, Location
from cloud.homecare.store.visits import record_sign_in, record_sign_out
from cloud.store.homecare import KEY_LEN, HomecareElder, HomecareVisit
from cloud.store.users import User

router = APIRouter(prefix="/homecare", tags=["homecare visits"])

CaregiverUser = Annotated[User, require_roles("caregiver")]
HomecareUser = Annotated[User, require_roles("bureau", "town", "provider", "caregiver")]
ClientKey = Annotated[str, Field(min_length=8, max_length=KEY_LEN, pattern=r"^[A-Za-z0-9_-]+$")]
CodeText = Annotated[str, Field(min_length=1, max_length=qr.MAX_TOKEN_CHARS)]
PHONE_TIME = PhoneTimeLimits()


class ItemOut(BaseModel):
    code: str
    name: str


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
    at: Moment = Field(description="when the code was scanned, by the phone's clock, with its UTC offset")
    location: LocationIn | None = Field(default=None, description="only when the caregiver agreed to share it")


class SignOutIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    visit_key: ClientKey = Field(description="the key of the visit's sign-in")
    qr: CodeText = Field(description="the elder's code, scanned again at the end of the visit")
    at: Moment
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
