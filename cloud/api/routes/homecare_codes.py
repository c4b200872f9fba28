"""The elders' visit codes (服务二维码): the bureau, a town (its towns' elders) and a provider (its own elders) issue,
revoke and re-issue them and print them. A caregiver scans them to sign visits in and out (`homecare_visits`).
"""

import base64
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Response, status
from fastapi import Path as PathParam
from pydantic import BaseModel, Field
from sqlalchemy import select

from cloud.api.deps import ConfigDep, SessionDep, require_roles
from cloud.api.homecare_deps import UNPROCESSABLE, CodeKey
from cloud.homecare import qr, qrtokens
from cloud.homecare.store.errors import NotFound
from cloud.homecare.store.registry import elders_query, get_elder
from cloud.store.homecare import HomecareElder, QrToken
from cloud.store.users import User

# The same tag as the visits signed with the codes: one section of the API docs.
router = APIRouter(prefix="/homecare", tags=["homecare visits"])

CodeManager = Annotated[User, require_roles("bureau", "town", "provider")]
ElderId = Annotated[str, PathParam(min_length=1, max_length=63)]
MAX_CARDS = 1000  # one print run; a larger district prints town by town


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
