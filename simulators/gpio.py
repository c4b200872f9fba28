"""Door magnet and call button at their hardware boundary: gpiozero mock pins driven like the real contacts."""

import time
from typing import Any


def mock_factory() -> Any:
    """Install gpiozero's mock pin factory (what GPIOZERO_PIN_FACTORY=mock does) and return it."""
    from gpiozero import Device
    from gpiozero.pins.mock import MockFactory

    if not isinstance(Device.pin_factory, MockFactory):
        Device.pin_factory = MockFactory()
    return Device.pin_factory


class SimDoor:
    """A normally-closed reed contact to ground (pulled up): shut door = contact closed = pin low."""

    def __init__(self, factory: Any, pin: int, tamper_pin: int | None = None) -> None:
        self.contact = factory.pin(pin)
        self.tamper = factory.pin(tamper_pin) if tamper_pin is not None else None

    def wire_up(self) -> None:
        """Connect the sensor (pulled-up inputs read high until something pulls them low)."""
        if self.tamper is not None:
            self.tamper.drive_low()

    def close(self) -> None:
        self.contact.drive_low()

    def open(self, bounces: int = 0) -> None:
        for _ in range(bounces):
            self.contact.drive_high()
            self.contact.drive_low()
        self.contact.drive_high()

    def chatter(self, for_s: float, period_s: float = 0.02) -> None:
        """A loose magnet or interference: the contact flips every `period_s` for `for_s`, then rests open."""
        until, opened = time.monotonic() + for_s, False
        while time.monotonic() < until:
            (self.contact.drive_low if opened else self.contact.drive_high)()
            opened = not opened
            time.sleep(period_s)
        self.contact.drive_high()

    def cut_wire(self) -> None:
        """Cut the cable: the contact and the tamper loop both read open."""
        self.contact.drive_high()
        if self.tamper is not None:
            self.tamper.drive_high()


class SimButton:
    """A push button to ground (pulled up): pressed = pin low.

    A real button bounces: its contact makes and breaks a few times for a few milliseconds as it closes and as it
    opens. `bounces` plays that many flickers of `bounce_s` each at both ends of a press (0: an ideal contact). A
    finger cannot press again sooner than `rest_s` after letting go, so a press waits that long after the last one.
    """

    def __init__(self, factory: Any, pin: int, bounces: int = 0, bounce_s: float = 0.002,
                 rest_s: float = 0.1) -> None:
        self.pin = factory.pin(pin)
        self.bounces = bounces
        self.bounce_s = bounce_s
        self.rest_s = rest_s
        self._released = -1e9  # monotonic time of the last release

    def press(self, hold_s: float = 0.1) -> None:
        """Press, hold `hold_s` (counted from the first contact), release."""
        time.sleep(max(0.0, self._released + self.rest_s - time.monotonic()))
        started = time.monotonic()
        self._flip(self.pin.drive_low, self.pin.drive_high)
        time.sleep(max(0.0, started + hold_s - time.monotonic()))
        self._flip(self.pin.drive_high, self.pin.drive_low)
        self._released = time.monotonic()

    def _flip(self, to: Any, back: Any) -> None:
        to()
        for _ in range(self.bounces):
            time.sleep(self.bounce_s)
            back()
            time.sleep(self.bounce_s)
            to()
