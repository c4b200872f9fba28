"""Readings sent after the fact whose device sequence numbers contradict their time (cloud.rules.sequence): a day
fabricated and published once the next day was heard live is set aside, however it numbers its readings; an honest
device's replay, with the few seconds by which a camera writes faces out of the order of their times, is not."""

from datetime import date, datetime, time

import pytest

from cloud.rules.config import RulesConfig
from cloud.rules.observations import Obs, sort_key
from cloud.rules.sequence import out_of_sequence
from tests.rules.scenario import TZ

CONFIG = RulesConfig()
DAY = date(2026, 10, 13)
LATE = 3 * 3600.0  # received three hours after its time
T0 = datetime.combine(DAY, time(9), TZ).timestamp()


def _obs(t: float, seq: int, lag: float = 2.0, kind: str = "face", device: str = "cam-1", ref: str = "e-1") -> Obs:
    return Obs(t, kind, device, f"{device}-{seq}-{t}", state="elder", ref=ref, lag=lag, seq=seq)


def _unfit(obs: list[Obs], config: RulesConfig = CONFIG) -> list[Obs]:
    kept, unfit = out_of_sequence(sorted(obs, key=sort_key), config)
    assert len(kept) + len(unfit) == len(obs)
    return unfit


def test_nothing_received_late_is_nothing_to_check() -> None:
    # Readings heard live are never questioned, even numbered backwards (what the live agent sends is live data).
    obs = [_obs(T0 + 60 * i, 100 - i) for i in range(10)]
    assert _unfit(obs) == []


def test_an_outbox_replay_fits_between_the_readings_heard_live() -> None:
    before = [_obs(T0 - 3600 + 60 * i, i) for i in range(10)]
    replay = [_obs(T0 + 60 * i, 10 + i, lag=LATE) for i in range(30)]
    after = [_obs(T0 + 3600 + 60 * i, 40 + i) for i in range(10)]
    assert _unfit(before + replay + after) == []


def test_an_unrecognised_face_written_after_faces_seen_later_is_not_out_of_sequence() -> None:
    # The camera stamps an unrecognised visitor's face with when the track was last seen, and writes it when the
    # track ends (`track_max_age_s` later): an elder recognised meanwhile got the lower number. During an outage
    # both are late; at its start the elder's went out live and the stranger's waited in the outbox.
    elder = _obs(T0 + 1.5, 7, ref="e-1")
    stranger = _obs(T0, 8, lag=LATE, ref="anon-1")
    live = [_obs(T0 - 600, 6), elder, _obs(T0 + 4000, 9)]
    assert _unfit([*live, stranger]) == []
    assert _unfit([_obs(T0 - 600, 6), elder._replace(lag=LATE), stranger, _obs(T0 + 4000, 9)]) == []
    # Without the slack the honest camera would be caught: it is what keeps it out.
    assert _unfit([*live, stranger], RulesConfig(sequence_slack_s=0)) == [stranger]


def test_a_late_reading_numbered_below_the_reading_heard_live_before_it_is_set_aside() -> None:
    live = [_obs(T0 - 600, 50, kind="flow", device="counter-1"), _obs(T0 + 7200, 51, kind="flow", device="counter-1")]
    low = _obs(T0, 3, lag=LATE, kind="flow", device="counter-1")
    assert _unfit([*live, low]) == [low]


@pytest.mark.parametrize("seq", [51, 60])
def test_a_late_reading_numbered_at_or_above_the_reading_heard_live_after_it_is_set_aside(seq: int) -> None:
    live = [_obs(T0 - 600, 50, kind="door", device="door-1"), _obs(T0 + 7200, 51, kind="door", device="door-1")]
    taken = _obs(T0, seq, lag=LATE, kind="door", device="door-1")
    assert _unfit([*live, taken]) == [taken]


def test_each_device_is_judged_on_its_own_numbers() -> None:
    # The counter's numbers say nothing of the camera's.
    counter = [_obs(T0 - 600, 900, kind="flow", device="counter-1"), _obs(T0 + 7200, 901, kind="flow",
                                                                         device="counter-1")]
    face = _obs(T0, 5, lag=LATE)
    assert _unfit([*counter, _obs(T0 - 600, 4), face, _obs(T0 + 7200, 6)]) == []


def test_a_reinstalled_agent_is_judged_against_its_own_live_readings() -> None:
    # The old installation numbered up to 90,000; the new one (a fresh outbox) from 0. A week later, an outage's
    # replay fits between the new installation's live readings: the old numbers are not its anchors.
    old = [_obs(T0 - 10 * 86400 + 60 * i, 90_000 + i) for i in range(5)]
    new = [_obs(T0 - 3 * 86400 + 60 * i, i) for i in range(5)]
    replay = [_obs(T0 + 60 * i, 5 + i, lag=LATE) for i in range(5)]
    after = [_obs(T0 + 7200, 10)]
    assert _unfit(old + new + replay + after) == []


def test_health_anchors_its_device_but_is_never_set_aside() -> None:
    health = _obs(T0 - 600, 70, kind="health", device="counter-1")
    low = _obs(T0, 3, lag=LATE, kind="flow", device="counter-1")
    late_health = _obs(T0 + 60, 1, lag=LATE, kind="health", device="counter-1")
    assert _unfit([health, low, late_health]) == [low]


def test_a_fabricated_day_is_set_aside_whole() -> None:
    # Monday heard live (numbers 1000-1099), Tuesday nothing, Wednesday heard live (1100-1199); on Wednesday night
    # a fabricated Tuesday in each of the three ways it can be numbered. Every one of its readings is set aside.
    monday = [_obs(T0 - 86400 + 60 * i, 1000 + i) for i in range(100)]
    wednesday = [_obs(T0 + 86400 + 60 * i, 1100 + i) for i in range(100)]
    ways = {"reused": 1100, "above": 1200, "restarted low": 0}
    for way, first in ways.items():
        fake = [_obs(T0 + 60 * i, first + i, lag=LATE + 86400) for i in range(100)]
        assert _unfit(monday + fake + wednesday) == fake, way


def test_slack_must_not_be_negative() -> None:
    with pytest.raises(ValueError, match="sequence_slack_s"):
        RulesConfig(sequence_slack_s=-1)



def test_anchors_farther_than_the_context_are_not_looked_at() -> None:
    # The worker looks `sequence_context_days` beyond what it loads; so does the rule, whatever it is given, so that
    # an audit's month and the worker's two days judge alike. A camera silent for ten days before a low-numbered late
    # face has no anchor before it.
    long_ago = _obs(T0 - 10 * 86400, 500)
    low = _obs(T0, 3, lag=LATE)
    assert _unfit([long_ago, low]) == []
    assert _unfit([long_ago, low], RulesConfig(sequence_context_days=11)) == [low]
