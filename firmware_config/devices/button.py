"""The emergency call button's settings in a station file."""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from firmware_config.devices.fields import DeviceId, GpioPin

KEY = "button"


class ButtonConfig(BaseModel):
    """A push button between a GPIO pin and ground, with an optional LED and buzzer for feedback."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["button"]
    id: DeviceId
    pin: GpioPin
    pull_up: bool = Field(default=True, description="use the Pi's internal pull-up (button switches to ground)")
    bounce_ms: int = Field(default=30, ge=0, le=1000,
                           description="a press or a release counts once the contact has held it this long (bounce)")
    long_press_s: float = Field(default=3.0, gt=0, le=30, description="holding this long cancels the call")
    led_pin: GpioPin | None = Field(default=None, description="LED: blinks while the call waits, steady when acked")
    buzzer_pin: GpioPin | None = Field(default=None, description="buzzer: beeps when the call is acknowledged")
    ack_signal_s: float = Field(default=10.0, gt=0, le=600, description="how long the acknowledgement is shown")
