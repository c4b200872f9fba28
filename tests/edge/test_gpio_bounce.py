"""A bouncing call button and a chattering door magnet on gpiozero mock pins, through the agent, to a subscriber on a
real Mosquitto: bounce makes neither a second call nor a lost cancel, and chatter hides neither a door left open nor
itself."""

import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from edge.agent import Agent
from simulators.gpio import SimButton, SimDoor
from station_protocol import Call, Health
from tests.edge.conftest import AgentThread, Subscriber, station_config
from tests.edge.test_gpio_agent import calls, door_states
from tests.localservices import Mosquitto


def test_a_bouncing_button_makes_one_call_and_a_long_press_still_cancels(
        mosquitto: Mosquitto, subscriber: Subscriber, mock_pins: Any, tmp_path: Path) -> None:
    mock_pins.pin(22).drive_high()  # pulled up: not pressed
    devices = [{"type": "button", "id": "call-1", "pin": 22, "long_press_s": 1}]  # bounce_ms: the default 30
    button = SimButton(mock_pins, 22, bounces=2, bounce_s=0.002)  # two 2 ms flickers as it makes and as it breaks
    with AgentThread(Agent(station_config(mosquitto.port, tmp_path, devices), fsync=False)):
        subscriber.wait_for(lambda m: any(x.topic.endswith("agent/status") for x in m))
        pressed = datetime.now(UTC)
        button.press(hold_s=0.2)  # an ordinary press
        subscriber.wait_for(lambda _m: len(calls(subscriber)) >= 1)
        button.press(hold_s=1.6)  # held past long_press_s: cancels its own call
        subscriber.wait_for(lambda _m: len(calls(subscriber)) >= 3)
        button.press(hold_s=0.2)  # and the next ordinary press is a new call
        subscriber.wait_for(lambda _m: len(calls(subscriber)) >= 4)
        got: list[Call] = calls(subscriber)
        assert [c.action for c in got] == ["pressed", "pressed", "cancelled", "pressed"], got
        first, second, cancel, third = got
        assert cancel.call == second.call and len({first.call, second.call, third.call}) == 3
        assert abs((first.ts - pressed).total_seconds()) < 0.1  # stamped at the first contact, not after debouncing
        assert 0.95 <= (cancel.ts - second.ts).total_seconds() < 1.5  # long_press_s from the first contact


def test_a_chattering_door_still_reports_open_too_long_and_the_chatter(
        mosquitto: Mosquitto, subscriber: Subscriber, mock_pins: Any, tmp_path: Path) -> None:
    devices = [{"type": "door", "id": "door-1", "pin": 17, "max_open_s": 1, "chatter_s": 1.5}]  # debounce_ms: 50
    door = SimDoor(mock_pins, 17)
    with AgentThread(Agent(station_config(mosquitto.port, tmp_path, devices), fsync=False)):
        subscriber.wait_for(lambda _m: door_states(subscriber) == ["open"])  # pulled up, not yet wired: reads open
        door.close()
        subscriber.wait_for(lambda _m: door_states(subscriber) == ["open", "closed"])
        door.open()
        subscriber.wait_for(lambda _m: door_states(subscriber) == ["open", "closed", "open"])
        # The magnet works loose: the contact flips every 20 ms for 3 s (never quiet for debounce_ms), then rests open.
        chatter = threading.Thread(target=door.chatter, args=(3.0, 0.02))
        chatter.start()
        try:
            subscriber.wait_for(lambda _m: door_states(subscriber)[3:] == ["fault"])
            opened, fault = [d.message for d in subscriber.of_kind("door", "door-1")][2:]
            assert 0.95 <= (fault.ts - opened.ts).total_seconds() < 1.4  # at max_open_s, not when the chatter ends

            def health() -> list[Health]:
                return [d.message for d in subscriber.of_kind("health", "door-1") if isinstance(d.message, Health)]

            subscriber.wait_for(lambda _m: len(health()) >= 1)
            assert chatter.is_alive()  # said while it chatters
            assert not health()[0].ok and "door contact chattering" in (health()[0].error or "")
            assert 1.4 <= (health()[0].ts - opened.ts).total_seconds() < 2.5  # chatter_s after it began
        finally:
            chatter.join()
        subscriber.wait_for(lambda _m: [h.ok for h in health()] == [False, True])  # steady again
        door.close()
        subscriber.wait_for(lambda _m: door_states(subscriber)[4:] == ["closed"])
    # Still open after its fault when the chatter stopped: no second "open" and no second fault.
    assert door_states(subscriber) == ["open", "closed", "open", "fault", "closed"]
    stamps = [d.message.ts for d in subscriber.of_kind("door", "door-1")] + [h.ts for h in health()]
    seqs = [d.message.seq for d in subscriber.of_kind("door", "door-1")] + [h.seq for h in health()]
    assert sorted(stamps) == [ts for _, ts in sorted(zip(seqs, stamps, strict=True))]  # numbered in time order
