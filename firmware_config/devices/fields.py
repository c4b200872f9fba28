"""Field types shared by the driver configs: a device id under the protocol's rules, a BCM GPIO pin."""

from typing import Annotated

from pydantic import AfterValidator, Field

from station_protocol.ids import RESERVED_DEVICE_IDS, id_problem


def _device_id(value: str) -> str:
    problem = id_problem(value, "device")
    if problem:
        raise ValueError(problem)
    if value in RESERVED_DEVICE_IDS:
        raise ValueError(f"device id {value!r} is reserved by the protocol")
    return value


DeviceId = Annotated[str, AfterValidator(_device_id), Field(description="device id: 1-63 of a-z 0-9 -")]
# BCM numbering, as gpiozero takes it; 0-27 are the header's GPIOs on every 40-pin Raspberry Pi.
GpioPin = Annotated[int, Field(ge=0, le=27, description="BCM GPIO number (0-27)")]
