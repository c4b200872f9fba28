"""The devices a station file can configure: one module per device type, each with its `KEY` and settings model.

`DeviceConfig` is the one list of device types: a station file's `devices:` entries are told apart by `type`, and
`KEYS` and `CONFIGS` are read from it. The drivers that run these devices live on the edge; loading a station file
here (as the cloud's registry import does) never loads them.
"""

from typing import Annotated, get_args

from pydantic import BaseModel, Field

from firmware_config.devices.button import ButtonConfig
from firmware_config.devices.camera import CameraConfig
from firmware_config.devices.counter import CounterConfig, CounterRegisters
from firmware_config.devices.door import DoorConfig

DeviceConfig = Annotated[CounterConfig | DoorConfig | ButtonConfig | CameraConfig, Field(discriminator="type")]


def config_key(model: type[BaseModel]) -> str:
    """The `type:` a device's settings model answers to (its discriminator)."""
    (key,) = get_args(model.model_fields["type"].annotation)
    return str(key)


CONFIGS: tuple[type[BaseModel], ...] = get_args(get_args(DeviceConfig)[0])
KEYS = tuple(sorted(config_key(model) for model in CONFIGS))
# Every settings model a station file can hold under `devices:` (for "did you mean" on an unknown key).
DEVICE_MODELS: tuple[type[BaseModel], ...] = (*CONFIGS, CounterRegisters)

__all__ = ["CONFIGS", "DEVICE_MODELS", "KEYS", "ButtonConfig", "CameraConfig", "CounterConfig", "CounterRegisters",
           "DeviceConfig", "DoorConfig", "config_key"]
