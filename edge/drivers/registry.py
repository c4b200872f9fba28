"""The table of drivers, built from each driver module's `KEY`: device type -> how to build its driver.

The device types themselves are the station file's (`firmware_config.devices.KEYS`); a test checks that every one has
a driver here.
"""

from collections.abc import Callable, Iterable
from typing import Any

# Cheap to import: the camera module loads OpenCV/face_recognition only inside CameraDriver.run, so no cv2 unless a
# camera is configured and running.
from edge.drivers import button, camera, counter, door
from edge.drivers.base import Driver
from edge.drivers.modbus_bus import Buses

DriverFactory = Callable[[Any, Buses], Driver]

BUILDERS: dict[str, DriverFactory] = {module.KEY: module.build for module in (button, camera, counter, door)}


def build_drivers(devices: Iterable[Any], buses: Buses) -> list[Driver]:
    """A driver for every configured device, in file order."""
    drivers = []
    for device in devices:
        factory = BUILDERS.get(device.type)
        if factory is None:
            raise RuntimeError(f"device {device.id!r}: this agent has no driver for type {device.type!r}")
        drivers.append(factory(device, buses))
    return drivers


__all__ = ["BUILDERS", "Buses", "DriverFactory", "build_drivers"]
