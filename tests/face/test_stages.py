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


# An enrolled person's face as dlib's HOG found it on the door footage (seed 10, 51.2-52.0 s): followed every 0.1 s,
# then not found for 0.6 s (someone walking out passed in front) while it walked on down the frame.
WALKING = [(51.2, (104, 346, 169, 282)), (51.3, (114, 348, 179, 284)), (51.4, (125, 346, 190, 282))]
FOUND_AGAIN = (52.0, (237, 339, 315, 261))


def test_a_face_found_again_after_a_gap_continues_its_track_where_it_was_heading() -> None:
    tracker = Tracker(max_age_s=2.0)
    track = tracker.update([WALKING[0][1]], WALKING[0][0])[0]
    for t, box in WALKING[1:]:
        assert tracker.update([box], t) == [track]
    # 110 px lower, 1.8 face widths from its last box: where its speed takes it, not a second person.
    assert tracker.update([FOUND_AGAIN[1]], FOUND_AGAIN[0]) == [track]
    assert len(tracker.tracks) == 1


def test_without_the_prediction_the_same_face_would_start_a_second_track() -> None:
    # What the tracker did before: on the footage, the second track's one encoding (the face half hidden) matched
    # nobody, and the enrolled person was observed a second time, as an anonymous visitor.
    tracker = Tracker(max_age_s=2.0, predict=False)
    track = tracker.update([WALKING[0][1]], WALKING[0][0])[0]
    for t, box in WALKING[1:]:
        tracker.update([box], t)
    assert tracker.update([FOUND_AGAIN[1]], FOUND_AGAIN[0]) != [track]


def test_two_people_walking_side_by_side_keep_their_own_tracks() -> None:
    # Two faces 70 px tall, 1.3 faces apart, walking down and slightly towards each other at 100-300 px/s, looked
    # for every 0.1 s and once after a 0.5 s gap: neither track takes the other's face.
    tracker = Tracker(max_age_s=2.0)
    def faces(t: float) -> list[tuple[int, int, int, int]]:
        a_y, a_x = round(100 + 300 * t), round(200 + 40 * t)
        b_y, b_x = round(120 + 100 * t), round(290 - 40 * t)
        return [(a_y, a_x + 35, a_y + 70, a_x - 35), (b_y, b_x + 35, b_y + 70, b_x - 35)]
    first = tracker.update(faces(0.0), 0.0)
    for t in (0.1, 0.2, 0.3, 0.8):
        assert tracker.update(faces(t), t) == first, t
        assert tracker.update(list(reversed(faces(t + 0.05))), t + 0.05) == list(reversed(first)), t
    assert len(tracker.tracks) == 2


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
