"""Face-recognition camera driver. The face stack (OpenCV, dlib, numpy) is imported only when it runs; the settings are
the station file's `CameraConfig`.

The heavy frame loop runs in a worker thread (`edge.face.runner`); this driver only moves its observations and health
onto the agent's queue through `emit`. Faces and encodings never leave the station: a reading carries an id only.
"""

import threading

from edge.drivers.base import Emit
from edge.drivers.modbus_bus import Buses
from firmware_config.devices.camera import KEY as KEY  # the registry's key for this driver
from firmware_config.devices.camera import CameraConfig


class CameraDriver:
    """Runs the gated face pipeline on `config.source` and emits one `face` reading per person per visit."""

    def __init__(self, config: CameraConfig) -> None:
        self.config = config
        self.device_id = config.id
        # Set by the agent when a people counter counts someone in; the frame loop then holds its gate open.
        self.entries = threading.Event()

    def on_entries(self) -> None:
        """Someone came in: look for faces even if the motion gate saw nothing (a still doorway, bad light)."""
        self.entries.set()

    async def run(self, emit: Emit) -> None:
        try:
            from edge.face.runner import run_camera  # the face stack loads only when a camera runs
        except ImportError as exc:
            raise RuntimeError(f"the face extra is not installed ({exc.name or exc}): see docs/face.md") from None
        await run_camera(self.config, emit, self.entries)


def build(config: CameraConfig, buses: Buses) -> CameraDriver:
    """The registry's factory for `camera` devices."""
    return CameraDriver(config)
