"""The cheap stages on their own: motion gate, tracker, visit rule, vectorised matcher."""

import numpy as np

from edge.face.gallery import Person
from edge.face.match import Index, Recogniser
from edge.face.motion import MotionGate
from edge.face.synthetic import background
from edge.face.track import Tracker
from edge.face.visits import Visits


def test_motion_gate_passes_movement_only() -> None:
    gate = MotionGate()
    still = background()
    noisy = np.clip(still.astype(np.int16) + np.random.default_rng(1).normal(0, 3, still.shape), 0, 255)
    assert gate.moving(still, 0.0)  # the first frame is always looked at
    assert not gate.moving(noisy.astype(np.uint8), 0.1)  # sensor noise is not movement
    moved = still.copy()
    moved[200:300, 100:180] = 240
    assert gate.moving(moved, 0.2)
    assert not gate.moving(moved, 0.3)
    gate.open_until(1.0)  # e.g. the people counter saw an entry
    assert gate.moving(moved, 0.5)
    assert not gate.moving(moved, 1.5)
    assert not gate.moving(moved, 60.4)
    assert gate.moving(moved, 60.6)  # a minute without looking: someone may be sitting still in view
    assert not gate.moving(moved, 61.0)


def test_tracker_follows_a_moving_face_and_ends_it() -> None:
    tracker = Tracker(max_age_s=1.0)
    a = tracker.update([(100, 200, 200, 100)], 0.0)[0]
    b = tracker.update([(105, 230, 205, 130), (100, 560, 200, 460)], 0.1)
    assert b[0] is a and b[1] is not a  # the same face moved 30 px; a second face starts its own track
    assert tracker.expire(0.9) == []
    tracker.update([(110, 260, 210, 160)], 1.0)
    assert tracker.expire(1.5) == [b[1]]
    assert [t.id for t in tracker.end_all()] == [a.id]


def test_visit_gap() -> None:
    visits = Visits(gap_s=600)
    assert visits.seen("elder-1", 0)
    assert not visits.seen("elder-1", 30)
    assert not visits.seen("elder-1", 620)  # 590 s after the last sighting: same visit
    assert visits.seen("elder-1", 1300)  # 680 s after: a new visit
    assert visits.seen("elder-2", 1300)


def test_visits_open_at_a_restart_carry_over_and_a_clock_set_back_starts_a_new_visit() -> None:
    t0 = 1_790_000_000.0  # epoch seconds: the book is on the wall clock
    before = Visits(gap_s=600)
    assert before.seen("elder-1", t0) and before.seen("elder-2", t0 - 500)
    kept = before.open_at(t0 + 200)
    assert kept == {"elder-1": t0}  # elder-2 was last seen 700 s before: their visit is over
    after = Visits(gap_s=600, last=kept)  # the agent restarted 200 s later, elder-1 still inside
    assert not after.seen("elder-1", t0 + 250)
    assert after.seen("elder-2", t0 + 250)
    # The clock went back an hour (a wrong network time corrected): a new visit, not a visit held for an hour.
    assert after.seen("elder-1", t0 - 3600)
    assert not after.seen("elder-1", t0 - 3590)


def test_nearest_matches_brute_force_on_a_thousand_people() -> None:
    rng = np.random.default_rng(3)
    people = [
        Person(id=f"elder-{i:04d}", role="elder", encodings=[list(rng.normal(0, 0.09, 128)) for _ in range(2)])
        for i in range(1000)
    ]
    matrix = np.asarray([e for p in people for e in p.encodings])
    index = Index([e for p in people for e in p.encodings])
    recogniser = Recogniser(people, tolerance=0.5)
    for target in (0, 517, 999):
        probe = np.asarray(people[target].encodings[1]) + rng.normal(0, 0.01, 128)
        row, distance = index.nearest([probe])
        brute = min(range(len(matrix)), key=lambda r: float(np.sqrt(((matrix[r] - probe) ** 2).sum())))
        assert row == brute and abs(distance - float(np.linalg.norm(matrix[brute] - probe))) < 1e-9
        found = recogniser.known(probe)
        assert found is not None and found.person == f"elder-{target:04d}" and found.role == "elder"
    assert recogniser.known(rng.normal(0, 0.09, 128) + 1.0) is None


def test_sources_are_told_apart_and_passwords_never_shown() -> None:
    from edge.face.capture import SourceKind, redact, source_kind

    assert source_kind("0") is SourceKind.USB
    assert source_kind("rtsp://admin:pw@10.0.0.5:554/Streaming/Channels/102") is SourceKind.STREAM
    assert source_kind("/data/door.mp4") is SourceKind.FILE
    assert source_kind("/data/visitor.JPG") is SourceKind.IMAGE
    assert redact("rtsp://admin:pw@10.0.0.5:554/x") == "rtsp://***@10.0.0.5:554/x"
    assert redact("rtsp://admin:p@ss/w0rd@10.0.0.5:554/Streaming/Channels/102") == (
        "rtsp://***@10.0.0.5:554/Streaming/Channels/102"
    )
    assert redact("rtsp://admin:a/b@c:d@cam.local/live") == "rtsp://***@cam.local/live"
    assert redact("http://cam.local/video.cgi?user=admin&pwd=s3/cr@t&ch=1") == "http://***@t&ch=1"
    assert redact("http://cam.local/video.cgi?user=admin&password=s3cr3t&ch=1") == (
        "http://cam.local/video.cgi?user=admin&password=***&ch=1"
    )
    assert redact("/data/door.mp4") == "/data/door.mp4"
