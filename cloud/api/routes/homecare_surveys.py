"""Home-care surveys: a town's quarterly satisfaction survey of a provider, answered with its consequence."""

from typing import Annotated, Any

from fastapi import APIRouter, status
from pydantic import BaseModel, Field

from cloud.api.deps import ConfigDep, RulesDep, SessionDep
from cloud.api.errors import homecare_refusals
from cloud.api.homecare_deps import Name, Supervisor, now, own_town
from cloud.homecare import supervise
from cloud.homecare.store.registry import get_provider
from cloud.store.homecare import row_dict

router = APIRouter(prefix="/homecare", tags=["homecare"])


class SurveyIn(BaseModel):
    town: Name
    provider: Annotated[str, Field(min_length=1, max_length=63)]
    year: Annotated[int, Field(ge=2020, le=2100)]
    quarter: Annotated[int, Field(ge=1, le=4)]
    respondents: Annotated[int, Field(ge=1, le=1_000_000)]
    satisfied: Annotated[int, Field(ge=0, le=1_000_000)]


@router.post("/surveys", status_code=status.HTTP_201_CREATED)
def survey(body: SurveyIn, user: Supervisor, session: SessionDep, config: ConfigDep,
           rules: RulesDep) -> dict[str, Any]:
    """A town's quarterly satisfaction survey of a provider (below 80 %: rectification, raised as an alert)."""
    own_town(user, body.town)
    with homecare_refusals():
        get_provider(session, user, body.provider)
        row = supervise.record_survey(session, town=body.town, provider_id=body.provider, year=body.year,
                                      quarter=body.quarter, respondents=body.respondents, satisfied=body.satisfied,
                                      by=user.name, now=now(config))
    session.commit()
    from cloud.homecare.followup import survey_consequence

    return {**row_dict(row), "consequence": survey_consequence(row.respondents, row.satisfied, rules.homecare)}
