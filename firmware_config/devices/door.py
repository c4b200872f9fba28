"""A door magnet's settings in a station file."""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from firmware_config.devices.fields import DeviceId, GpioPin

KEY = "door"
# nc: the reed contact is closed while the door is shut (a cut wire reads as open); no: the opposite.
Wiring = Literal["nc", "no"]


class DoorConfig(BaseModel):
    """A reed-switch door magnet between a GPIO pin and ground (or 3V3 with `pull_up: false`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["door"]
    id: DeviceId
    pin: GpioPin
    pull_up: bool = Field(default=True, description="use the Pi's internal pull-up (contact switches to ground)")
    wiring: Wiring = Field(default="nc", description="nc: contact closed while the door is shut; no: the opposite")
    debounce_ms: int = Field(default=50, ge=0, le=5000, description="a change must hold this long to count")
    tamper_pin: GpioPin | None = Field(default=None, description="the sensor's tamper loop; open loop = fault")
    max_open_s: float | None = Field(default=None, gt=0, description="an 'open' lasting longer is reported as fault")
    chatter_s: float = Field(default=10.0, gt=0, le=3600,
                             description="a contact changing this long without holding debounce_ms is a health fault")
