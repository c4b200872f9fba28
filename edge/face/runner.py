"""Runs the face pipeline for the camera driver (in progress)."""

from edge.drivers.base import Emit
from edge.drivers.camera import CameraConfig


async def run_camera(config: CameraConfig, emit: Emit) -> None:
    """Run the pipeline on `config.source`, emitting face and health readings."""
    raise NotImplementedError("the camera pipeline is being built (issue 5)")
