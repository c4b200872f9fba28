"""The face camera's settings in a station file (the face stack itself runs on the station only)."""

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from firmware_config.devices.fields import DeviceId

KEY = "camera"


class CameraConfig(BaseModel):
    """One face camera of a station. Defaults are measured (see docs/face.md)."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["camera"]
    id: DeviceId
    source: str = Field(description='USB camera index ("0"), RTSP/HTTP URL, video file or still image')
    gallery: Path = Field(description="the station's local, encrypted face gallery directory")
    tolerance: float | None = Field(
        default=None,
        gt=0,
        lt=2,
        description="largest face distance counted as the same person; default: the gallery's face model's measured "
        "one (1.05 for sface, 0.5 for dlib: docs/face.md)",
    )
    detector: Literal["hog", "hog+yunet"] = Field(
        default="hog+yunet",
        description="face detector: dlib's HOG and OpenCV's YuNet together (more visits found for a third more CPU: "
        "docs/face.md, 'HOG and YuNet together'), or HOG alone",
    )
    detect_scale: float = Field(
        default=0.67, gt=0, le=1, description="scale at which the moving regions are searched, before upsampling"
    )
    upsample: int = Field(
        default=1, ge=0, le=2, description="detector upsampling passes (each doubles the size, ~4x the cost)"
    )
    min_face_px: int = Field(
        default=60, ge=20, le=400, description="faces smaller than this are counted, not identified (too few pixels)"
    )
    motion_width: int = Field(default=160, ge=32, le=640, description="width of the motion gate's low-res frame")
    motion_threshold: float = Field(
        default=0.002, gt=0, lt=1, description="fraction of low-res pixels that must change to look for faces"
    )
    motion_pixel_delta: int = Field(default=25, ge=1, le=255, description="grey-level change that counts a pixel")
    look_every_s: float = Field(
        default=60, gt=0, description="look for faces at least this often even without motion (someone sitting still)"
    )
    entry_hold_s: float = Field(
        default=30, ge=0, description="after the people counter counts someone in, look at every frame this long"
    )
    visit_gap_s: float = Field(
        default=1800, gt=0, description="a person re-seen within this many seconds is on the same visit"
    )
    track_max_age_s: float = Field(default=2.0, gt=0, description="a track is dropped when unseen this long")
    encode_attempts: int = Field(
        default=5, ge=1, le=10, description="encodings tried per track before calling it an unknown visitor"
    )
    gallery_check_s: float = Field(
        default=10, gt=0, le=60, description="how often a running camera checks the gallery for enrolments and forgets"
    )
    max_fps: float = Field(default=10, gt=0, description="frames examined per second at most (live sources)")
    reconnect_s: float = Field(default=5, gt=0, description="first delay before reopening a dropped stream")
    health_interval_s: float = Field(default=300, gt=0, description="how often a health reading is sent")
