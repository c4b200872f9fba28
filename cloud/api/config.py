"""API policy that is local configuration; the defaults are the published policy's figures (noted at each field)."""

from collections.abc import Callable
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field


def _utc_now() -> datetime:
    return datetime.now(UTC)


class ApiConfig(BaseModel):
    """Subsidies, the pass score, login limits and the live stream's cadence; the clock is injectable for tests."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    # Annual operating subsidy per grade in CNY when the station runs normally (the Qidong civil affairs bureau's
    # operating plan for community stations, 启民发〔2021〕119号).
    subsidy_cny: dict[str, int] = Field(default_factory=lambda: {"5A": 32000, "4A": 16000, "3A": 8000, "2A": 5000})
    # No subsidy below this annual score, nor when the veto applies.
    pass_score: float = 80.0
    # Failed logins allowed per user name, and per client address, within the window, before 429.
    login_max_failures: int = Field(default=5, gt=0)
    login_window_s: int = Field(default=900, gt=0)
    # Request bodies over this size get 413 before they are read (the largest real body is a few kB of JSON).
    max_body_bytes: int = Field(default=1024 * 1024, gt=0)
    # How often the live alert stream looks for changes, and how often it sends a keep-alive comment.
    stream_poll_s: float = Field(default=0.25, gt=0)
    stream_keepalive_s: float = Field(default=15.0, gt=0)
    # How often an open stream checks that its token still stands (logout, the user disabled, expiry).
    stream_auth_check_s: float = Field(default=2.0, gt=0)
    clock: Callable[[], datetime] = _utc_now

    def today(self, timezone: str) -> date:
        """Today's date in a station's (or the deployment's) timezone, by the injected clock."""
        return self.clock().astimezone(ZoneInfo(timezone)).date()
