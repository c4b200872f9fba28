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

    def cut_wire(self) -> None:
        """Cut the cable: the contact and the tamper loop both read open."""
        self.contact.drive_high()
        if self.tamper is not None:
            self.tamper.drive_high()


class SimButton:
    """A push button to ground (pulled up): pressed = pin low."""

    def __init__(self, factory: Any, pin: int) -> None:
        self.pin = factory.pin(pin)

    def press(self, hold_s: float = 0.1) -> None:
        self.pin.drive_low()
        time.sleep(hold_s)
        self.pin.drive_high()
