"""What the home-care routes share: the role aliases, the path, query and body field types, the clock, the town
check and the key that signs the elders' visit codes. Every home-care record is scoped: the bureau sees all, a town
officer its towns, a provider's manager its own elders, caregivers and orders, a caregiver only their own visits.
Station staff and dispatch see none of it.
"""

from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Query, status
from fastapi import Path as PathParam
from pydantic import Field

from cloud.api.deps import RuntimeDep, require_roles
from cloud.api.scope import HOMECARE_ROLES
from cloud.homecare import qr
from cloud.store.users import User

HomecareUser = Annotated[User, require_roles(*sorted(HOMECARE_ROLES))]
Supervisor = Annotated[User, require_roles("bureau", "town")]
Manager = Annotated[User, require_roles("bureau", "town", "provider")]
Bureau = Annotated[User, require_roles("bureau")]
Id = Annotated[str, PathParam(min_length=1, max_length=63, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")]
Key = Annotated[str, PathParam(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
Period = Annotated[str, PathParam(pattern=r"^20[0-9]{2}(-(0[1-9]|1[0-2]|Q[1-4]))?$",
                                  description="YYYY-MM, YYYY-Qn or YYYY")]
Filter = Annotated[str | None, Query(max_length=200)]
Name = Annotated[str, Field(min_length=1, max_length=200)]
Note = Annotated[str, Field(min_length=1, max_length=2000)]
UNPROCESSABLE = 422  # Starlette renamed its constant; the number is the interface


def code_key(runtime: RuntimeDep) -> bytes:
    """The key of the elders' visit codes, derived from the platform's secret key for that one purpose."""
    return qr.qr_key(runtime.settings.secret_key.get_secret_value())


CodeKey = Annotated[bytes, Depends(code_key)]


def now(config: Any) -> datetime:
    """The API's clock (tests inject theirs through the API config)."""
    moment: datetime = config.clock()
    return moment


def own_town(user: User, town: str) -> None:
    """403 when a town officer names a town that is not theirs."""
    if user.role == "town" and town not in user.town_names:
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"town {town!r} is not yours")
