"""Whether a station's agent is shown online: heard within the liveness window and not stopped. The MQTT last will is
stamped when the agent connected, so it is never the newest status: a dead agent is shown offline by silence."""

from datetime import UTC, datetime, timedelta

from cloud.rules.agent import agent_online

NOW = datetime(2026, 10, 12, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
LIVE = timedelta(minutes=10)


def test_an_agent_heard_a_minute_ago_is_online() -> None:
    assert agent_online(NOW - timedelta(minutes=1), True, NOW - timedelta(hours=3), NOW, LIVE) is True


def test_a_dead_agent_is_offline_once_silent_for_the_liveness_window_whatever_its_status_says() -> None:
    connected = NOW - timedelta(hours=3)
    last_heartbeat = NOW - timedelta(minutes=11)
    # Its `online: true` of 07:00 stands (the will of the same connection is older and changed nothing).
    assert agent_online(last_heartbeat, True, connected, NOW, LIVE) is False
    assert agent_online(last_heartbeat, True, connected, NOW - timedelta(minutes=2), LIVE) is True


def test_a_clean_stop_is_offline_at_once() -> None:
    stopped = NOW - timedelta(seconds=20)
    assert agent_online(stopped, False, stopped, NOW, LIVE) is False


def test_an_older_offline_status_does_not_hide_an_agent_heard_since() -> None:
    # A will of an earlier connection, delivered after the agent reconnected and sent heartbeats.
    assert agent_online(NOW - timedelta(minutes=1), False, NOW - timedelta(hours=2), NOW, LIVE) is True


def test_an_agent_never_heard_is_unknown() -> None:
    assert agent_online(None, None, None, NOW, LIVE) is None
