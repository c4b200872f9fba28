"""The table of drivers, built from each driver module's `KEY`: device type -> how to build its driver.

The device types themselves are the station file's (`firmware_config.devices.KEYS`); a test checks that every one has
a driver here. The camera loads only when configured.
"""

from collections.abc import Callable, Iterable
from typing import Any

from edge.drivers import button, counter, door
from edge.drivers.base import Driver

# Cheap: the camera module imports OpenCV/face_recognition only inside CameraDriver.run, so no cv2 unless a camera
# is configured and running.
from edge.drivers.camera import CameraDriver
from edge.drivers.modbus_bus import Buses
from firmware_config.devices import camera as camera_settings

DriverFactory = Callable[[Any, Buses], Driver]


def _camera(config: Any, buses: Buses) -> Driver:
    return CameraDriver(config)


BUILDERS: dict[str, DriverFactory] = {
    **{module.KEY: module.build for module in (button, counter, door)},
    camera_settings.KEY: _camera,
}


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
