"""API policy that is local configuration; the defaults are the published policy's figures (noted at each field)."""

from collections.abc import Callable
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field


def _utc_now() -> datetime:
    return datetime.now(UTC)


class ApiConfig(BaseModel):
    """Login limits, body size and the live stream's cadence; the clock is injectable for tests. (Subsidies and the
    pass score are rules: `RulesConfig`, from the deployment's rules file.)"""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

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
