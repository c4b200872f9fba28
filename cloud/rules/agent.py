"""Whether a station's agent is online now, from what its devices row keeps (shown on the bureau's overview and a
station's device table; the offline alert is the worker's own live check)."""

from datetime import datetime, timedelta


def agent_online(last_seen_at: datetime | None, status_online: bool | None, status_at: datetime | None,
                 now: datetime, liveness: timedelta) -> bool | None:
    """Online: heard within `liveness` of `now`, and its newest message not an `online: false` status (a clean stop).
    The retained status alone cannot say: the MQTT last will is stamped when the agent *connected* and published by
    the broker when the connection dies, so it is older than the heartbeats it follows and never the newest status;
    a dead agent (power cut, crash) shows offline once nothing has been heard for `liveness`. None: never heard."""
    if last_seen_at is None:
        return None
    if status_online is False and status_at is not None and status_at >= last_seen_at:
        return False
    return now - last_seen_at <= liveness
