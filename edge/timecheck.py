"""The agent's side of `cmd/time-check`: answer at once with a heartbeat that echoes the check, if the clock is trusted.

A station could set its Pi's clock behind (its own NTP server on the station network) so that a late opening looks
on time; every message is then steadily late, like a slow link. The cloud's round trip tells the two apart: an answer
stamped before the question was asked can only come from a clock behind. The agent only answers honestly and tells
the installer when its clock is behind the cloud's; the cloud judges, and the agent never sets its clock from it.
"""

import json
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from station_protocol import TimeCheck

log = logging.getLogger(__name__)

COMMAND = "time-check"


def behind_warning(asked: datetime, now: datetime, warn_s: float) -> str | None:
    """What an installer should read when this Pi's clock is more than `warn_s` behind the cloud's, else None.

    Pure. The question took some time to arrive, so a right clock reads a little after `asked`, never before it."""
    behind = (asked - now).total_seconds()
    if behind <= warn_s:
        return None
    return (f"the cloud asked at {asked.isoformat()}, this Pi's clock read {now.isoformat()}: {behind:.0f} s behind "
            f"(more than {warn_s:g} s). Check the station's NTP server and this Pi's synchronisation "
            "(`timedatectl timesync-status`); the agent does not set its clock from the cloud's")


class TimeCheckAnswer:
    """A command handler (the CommandTable's interface: `commands`, `handle_command`) for `time-check`."""

    commands = (COMMAND,)
    device_id = "agent"  # how the CommandTable names this handler in its log

    def __init__(self, *, now: Callable[[], datetime], distrust: Callable[[], str | None],
                 answer: Callable[[str, datetime, datetime], None], warn_behind_s: float) -> None:
        self.now = now  # the agent's wall clock, the one its heartbeats and its clock guard read
        self.distrust = distrust  # why the clock cannot be trusted now, or None
        self.answer = answer  # publish the heartbeat (check, asked, ts) that answers
        self.warn_behind_s = warn_behind_s
        self.answered = 0
        self.declined = 0

    async def handle_command(self, name: str, body: dict[str, Any]) -> None:
        # The CommandTable validated the message already; re-read it typed. No await before the answer is sent:
        # commands are dispatched one task each in arrival order, so a burst is answered in order too.
        check = TimeCheck.model_validate_json(json.dumps(body))
        problem = self.distrust()
        if problem is not None:
            self.declined += 1
            log.info("time check %s not answered: this Pi's clock is not trusted (%s); readings are held until it is",
                     check.check, problem)
            return
        now = self.now()
        warning = behind_warning(check.ts, now, self.warn_behind_s)
        if warning is not None:
            log.warning("time check %s: %s", check.check, warning)
        self.answer(check.check, check.ts, now)
        self.answered += 1
