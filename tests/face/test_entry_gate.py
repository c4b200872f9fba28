"""The people counter's entries as the camera's second cheap gate."""

import asyncio
import threading
from datetime import UTC, datetime
from pathlib import Path

from edge.agent import Agent
from edge.drivers.base import Reading
from edge.drivers.camera import CameraDriver
from edge.face import synthetic
from edge.face.gallery import Gallery
from edge.face.runner import build_stages, run_source
from firmware_config.devices.camera import CameraConfig
from firmware_config.station import StationConfig
from station_protocol import Kind
from tests.face.conftest import PASSPHRASE


def still_doorway(path: Path, seconds: float = 3, fps: float = 10) -> Path:
    frame = synthetic.background()
    synthetic.write_video(path, iter([frame] * int(seconds * fps)), fps=fps)
    return path


def test_an_entry_opens_the_gate_on_a_still_scene(tmp_path: Path, enrolled: Path) -> None:
    video = still_doorway(tmp_path / "still.avi")
    config = CameraConfig(type="camera", id="face-1", source=str(video), gallery=enrolled, entry_hold_s=1.0)

    def gated_out(entry: bool) -> int:
        signal = threading.Event()
        if entry:
            signal.set()  # the counter counted someone in just before these frames
        stages = build_stages(config, Gallery(enrolled, PASSPHRASE), remember_unknowns=False)
        stats = run_source(config, stages, on_observation=lambda o: None, report=lambda *_: None,
                           entries=signal)
        return stats.gated_out

    without, with_entry = gated_out(False), gated_out(True)
    assert without == 29  # only the first frame of a still scene is looked at
    assert without - with_entry >= 9  # about a second's frames (10 fps) looked at after the entry


def test_the_agent_tells_the_camera_when_the_counter_counts_someone_in(tmp_path: Path) -> None:
    config = StationConfig.model_validate({
        "station": "qd-a", "name": "站", "grade": "3A", "town": "镇", "address": "路",
        "mqtt": {"host": "127.0.0.1", "port": 1883, "tls": False},
        "devices": [
            {"type": "counter", "id": "flow-1", "port": str(tmp_path / "ttyNONE"), "unit": 1},
            {"type": "camera", "id": "face-1", "source": "0", "gallery": str(tmp_path / "gallery")},
        ],
    })
    agent = Agent(config, outbox_path=tmp_path / "outbox.db", fsync=False)
    camera = next(d for d in agent.drivers if isinstance(d, CameraDriver))
    now = datetime.now(UTC)

    async def flow(entries: int) -> None:
        await agent.emit(Reading("flow-1", Kind.FLOW, now, {"period_s": 60, "in": entries, "out": 0}))

    asyncio.run(flow(0))
    assert not camera.entries.is_set()
    asyncio.run(flow(2))
    assert camera.entries.is_set()
    agent.outbox.close()
