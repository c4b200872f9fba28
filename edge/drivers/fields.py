"""The driver configs' field types, now declared with the station file's device settings (firmware_config.devices).

Kept for the camera driver, which still imports them from here.
"""

from firmware_config.devices.fields import DeviceId, GpioPin

__all__ = ["DeviceId", "GpioPin"]
