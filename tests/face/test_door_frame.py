"""The door footage's door frame is drawn in depth order: its jambs hide someone still in the doorway and nobody who
has walked through it (a face of 120 px is about a metre from the camera, far in front of the door). The footage
once drew the frame over every face at every size, which made visits a real camera sees whole look hidden."""

import numpy as np

from simulators.door_people import Visit, in_doorway
from simulators.door_scene import DoorScene, Image

# Someone walking straight towards the camera along the doorway's right jamb (columns 0.605-0.63 of the width).
ALONG_THE_JAMB = Visit(who="obama", photo="obama_2", enter=0.0, gone=2.0, exit=30.0, face_px=120, smallest_px=84,
                       yaw=0.0, x0=0.617, x1=0.617)


def frames_of(visits: list[Visit]) -> tuple[DoorScene, list[Image]]:
    scene = DoorScene(seed=1, duration_s=60.0)  # its other draws (turns, shirts) are per visit of its own plan
    scene.visits, scene.duration_s = visits, 2.0
    return scene, [frame.astype(np.float32) for frame in scene.frames()]


def test_in_the_doorway_only_at_the_start_of_the_walk_in_and_the_end_of_the_walk_out() -> None:
    assert in_doorway(ALONG_THE_JAMB, 0.0) and in_doorway(ALONG_THE_JAMB, 0.15)
    assert not in_doorway(ALONG_THE_JAMB, 0.5) and not in_doorway(ALONG_THE_JAMB, 1.9)
    assert not in_doorway(ALONG_THE_JAMB, 30.5) and in_doorway(ALONG_THE_JAMB, 31.9)


def test_the_jamb_hides_a_face_in_the_doorway_and_not_one_that_walked_past_it() -> None:
    _, empty = frames_of([])
    scene, walking = frames_of([ALONG_THE_JAMB])
    x = round(0.617 * 640)
    for index, hidden in ((1, True), (10, False)):  # 0.1 s (in the doorway) and 1.0 s (half way to the camera)
        found = scene._where(0, ALONG_THE_JAMB, index / scene.fps)
        assert found is not None
        y, half = round(found[1]), round(found[2] / 4)
        strip = np.s_[y - half : y + half, x - 3 : x + 4]  # the jamb's middle, at the face's height
        change = float(np.abs(walking[index][strip] - empty[index][strip]).mean())
        # Compression and noise move a pixel by a few grey levels; a face drawn over the jamb by tens.
        assert (change < 8) if hidden else (change > 25), (index, change)
    # The face was whole (no pixel of it under the jamb or another layer) once it had walked past the doorway.
    assert scene.whole_face_px[0] >= 100


def test_a_nearer_person_hides_the_one_behind() -> None:
    behind = Visit(who="guido", photo="guido_van_rossum_2", enter=0.0, gone=2.0, exit=30.0, face_px=70,
                   smallest_px=60, yaw=0.0, x0=0.45, x1=0.45)
    in_front = Visit(who="allen", photo="paul_allen_2", enter=0.0, gone=2.0, exit=30.0, face_px=150,
                     smallest_px=105, yaw=0.0, x0=0.45, x1=0.45)
    alone, _ = frames_of([behind])
    together, _ = frames_of([behind, in_front])
    assert alone.whole_face_px[0] >= 60
    assert together.whole_face_px[0] == 0  # always under the nearer one's head or shoulders
    assert together.whole_face_px[1] >= 100
