"""The explicit table of drivers: config key -> how to build the driver. The camera loads only when configured."""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Annotated, Any

from pydantic import Field

from edge.drivers.base import Driver
from edge.drivers.button import ButtonConfig, ButtonDriver

# Cheap: the camera module imports OpenCV/face_recognition only inside CameraDriver.run, so no cv2 unless a camera
# is configured and running.
from edge.drivers.camera import CameraConfig, CameraDriver
from edge.drivers.counter import CounterConfig, CounterDriver
from edge.drivers.door import DoorConfig, DoorDriver
from edge.drivers.modbus_bus import ModbusBus

DeviceConfig = Annotated[CounterConfig | DoorConfig | ButtonConfig | CameraConfig, Field(discriminator="type")]
KEYS = ("button", "camera", "counter", "door")


@dataclass
class Buses:
    """One shared serial master per port, created on first use."""

    by_port: dict[str, ModbusBus] = field(default_factory=dict)

    def for_counter(self, config: CounterConfig) -> ModbusBus:
        bus = self.by_port.get(config.port)
        if bus is None:
            bus = ModbusBus(config.port, baud=config.baud, parity=config.parity, timeout_s=config.timeout_s)
            self.by_port[config.port] = bus
        return bus

    def close(self) -> None:
        for bus in self.by_port.values():
            bus.close()


BUILDERS: dict[str, Callable[[Any, Buses], Driver]] = {
    "counter": lambda config, buses: CounterDriver(config, buses.for_counter(config)),
    "door": lambda config, buses: DoorDriver(config),
    "button": lambda config, buses: ButtonDriver(config),
    "camera": lambda config, buses: CameraDriver(config),
}


def build_drivers(devices: Iterable[Any], buses: Buses) -> list[Driver]:
    """A driver for every configured device, in file order."""
    return [BUILDERS[device.type](device, buses) for device in devices]
