"""Door magnet and call button on gpiozero mock pins, through the agent, to a subscriber on a real Mosquitto."""

import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from edge.agent import Agent
from hostclock import KernelClock
from simulators.gpio import SimButton, SimDoor
from station_protocol import Call, Door
from tests.edge.conftest import AgentThread, Subscriber, station_config
from tests.localservices import Mosquitto
from tests.wait import poll


def door_states(sub: Subscriber, device: str = "door-1") -> list[str]:
    return [d.message.state for d in sub.of_kind("door", device) if isinstance(d.message, Door)]


def test_door_debounced_changes_and_faults(mosquitto: Mosquitto, subscriber: Subscriber, mock_pins: Any,
                                           tmp_path: Path) -> None:
    contact, tamper = mock_pins.pin(17), mock_pins.pin(27)
    devices = [{"type": "door", "id": "door-1", "pin": 17, "tamper_pin": 27, "debounce_ms": 40},
               {"type": "door", "id": "door-2", "pin": 5, "max_open_s": 1.5}]
    with AgentThread(Agent(station_config(mosquitto.port, tmp_path, devices), fsync=False)):
        # Pulled-up inputs read high until wired: door-1's tamper loop looks open (fault), door-2 looks open.
        subscriber.wait_for(lambda _m: door_states(subscriber) == ["fault"] and bool(door_states(subscriber, "door-2")))
        mock_pins.pin(5).drive_low()
        tamper.drive_low()  # tamper loop closed
        contact.drive_low()  # NC contact closed: door shut
        subscriber.wait_for(lambda _m: door_states(subscriber) == ["fault", "closed"])
        opened = datetime.now(UTC)
        for _ in range(5):  # contact bounce while the door swings open
            contact.drive_high()
            contact.drive_low()
        contact.drive_high()
        subscriber.wait_for(lambda _m: door_states(subscriber) == ["fault", "closed", "open"])
        event = subscriber.of_kind("door", "door-1")[-1].message
        assert abs((event.ts - opened).total_seconds()) < 0.1  # the time it happened, not when debouncing ended
        contact.drive_low()
        time.sleep(0.01)
        contact.drive_high()  # a 10 ms glitch shorter than the debounce: ignored
        time.sleep(0.01)
        contact.drive_low()
        subscriber.wait_for(lambda _m: door_states(subscriber) == ["fault", "closed", "open", "closed"])
        tamper.drive_high()  # wire cut
        subscriber.wait_for(lambda _m: door_states(subscriber)[-1] == "fault")
        # door-2 (NC, no tamper loop) whose wire is cut reads "open" forever: after max_open_s it is a fault.
        mock_pins.pin(5).drive_high()
        subscriber.wait_for(lambda _m: door_states(subscriber, "door-2") == ["open", "closed", "open", "fault"])
    assert door_states(subscriber) == ["fault", "closed", "open", "closed", "fault"]
    seqs = [d.message.seq for d in subscriber.of_kind("door", "door-1")]
    assert seqs == list(range(seqs[0], seqs[0] + 5))  # numbered on from the first (the clock in milliseconds)


def calls(sub: Subscriber) -> list[Call]:
    return [d.message for d in sub.of_kind("call") if isinstance(d.message, Call)]


def test_button_press_cancel_and_ack(mosquitto: Mosquitto, subscriber: Subscriber, mock_pins: Any,
                                     tmp_path: Path) -> None:
    button, led = mock_pins.pin(22), mock_pins.pin(23)
    button.drive_high()  # pulled up: not pressed
    devices = [{"type": "button", "id": "call-1", "pin": 22, "led_pin": 23, "buzzer_pin": 24,
                "long_press_s": 0.5, "ack_signal_s": 2}]
    with AgentThread(Agent(station_config(mosquitto.port, tmp_path, devices), fsync=False)):
        subscriber.wait_for(lambda _m: any(m.topic.endswith("agent/status") for m in _m))
        SimButton(mock_pins, 22).press(hold_s=0.05)
        subscriber.wait_for(lambda _m: len(calls(subscriber)) == 1)
        press = calls(subscriber)[0]
        assert press.action == "pressed"
        # The cloud acknowledges: the LED goes steady and the buzzer beeps.
        ack = {"v": 1, "call": press.call, "by": "dispatch-003", "ts": datetime.now(UTC).isoformat()}
        subscriber.publish("eldercare/v1/qd-test-01/cmd/call-ack", json.dumps(ack).encode())
        poll(lambda: led.state and mock_pins.pin(24).state, 5, "the LED lit and the buzzer beeping", interval=0.01)
        # Steady, not blinking: sampled until the signal ends (ack_signal_s), the LED never went dark before that.
        samples: list[bool] = []

        def signal_ended() -> bool:
            samples.append(bool(led.state))
            return not samples[-1]

        poll(signal_ended, 10, "the acknowledgement signal to end", interval=0.02)
        assert len(samples) > 20 and all(samples[:-1])
        # An ack for a call this button never made, and a malformed command, change nothing and crash nothing.
        subscriber.publish("eldercare/v1/qd-test-01/cmd/call-ack", b'{"v": 1, "call": "x"}')

        button.drive_low()  # a long press cancels its own call
        subscriber.wait_for(lambda _m: len(calls(subscriber)) == 3, timeout=5)
        button.drive_high()
        second, cancel = calls(subscriber)[1:]
        assert (second.action, cancel.action) == ("pressed", "cancelled")
        assert cancel.call == second.call != press.call
        assert 0.45 <= (cancel.ts - second.ts).total_seconds() < 1.5


def test_events_held_until_the_clock_is_synced(mosquitto: Mosquitto, subscriber: Subscriber, mock_pins: Any,
                                                tmp_path: Path) -> None:
    kernel = [KernelClock(synced=False, offset_ms=0.0)]  # a Pi without RTC, NTP not reached yet
    config = station_config(mosquitto.port, tmp_path, [{"type": "door", "id": "door-1", "pin": 17}])
    agent = Agent(config, fsync=False, clock_check="ntp", kernel=lambda: kernel[0], clock_poll_s=0.05)
    door = SimDoor(mock_pins, 17)
    with AgentThread(agent):
        subscriber.wait_for(lambda m: any(x.topic.endswith("agent/heartbeat") for x in m))
        door.close()
        poll(lambda: agent.outbox.held_count() == 2, 10, "the door's two events held")
        assert door_states(subscriber) == []  # held, not sent with an untrusted time
        kernel[0] = KernelClock(synced=True, offset_ms=1.5)
        subscriber.wait_for(lambda _m: door_states(subscriber) == ["open", "closed"])
    events = subscriber.of_kind("door", "door-1")
    assert all(e.clock_fault is None for e in events)
    assert events[1].message.ts > events[0].message.ts
