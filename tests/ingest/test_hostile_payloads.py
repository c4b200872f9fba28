"""What a hostile or careless device sends must not slow ingest for everyone nor leave the cloud holding what it
should not: NaN in a batch on PostgreSQL, a face image added to a face event, an 8 MB junk payload."""

import base64
import dataclasses
import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import DataError

from cloud.convert import Accepted, Rejected, StationInfo, convert
from cloud.ingest.letters import Letter
from cloud.ingest.writer import write_batch
from cloud.store.letter_payload import LETTER_KEEP_BYTES
from cloud.store.models import DeadLetter, Event
from tests.conftest import FACES
from tests.ingest.conftest import Station, count, prepare, publish, running_ingester
from tests.localservices import Mosquitto
from tests.wait import poll


def _with_nan(topic_payload: tuple[str, bytes]) -> tuple[str, bytes]:
    topic, payload = topic_payload
    # What a vendor's agent sent for a sensor that read nothing: Python's json.dumps writes NaN unless told not to.
    return topic, payload[:-1] + b', "detail": {"temp_c": NaN, "range": [0, Infinity]}}'


def test_postgresql_refuses_nan_so_the_old_raw_payload_broke_the_whole_batch(postgres_url: str) -> None:
    """The attack on the old terms: the payload stored as published makes the store refuse the batch, which then
    goes row by row (every event its own transaction, emergency calls waiting behind them)."""
    engine = prepare(postgres_url)
    try:
        with engine.connect() as c, pytest.raises(DataError):
            c.execute(text("SELECT CAST(:doc AS json)"), {"doc": '{"t": NaN}'})
        a = Station("qd-a")
        info = StationInfo("qd-a", "汇龙镇", "3A", ZoneInfo("Asia/Shanghai"))
        now = datetime.now(UTC)
        messages = [a.flow(1) for _ in range(20)]
        items = []
        for topic, payload in messages:
            outcome = convert(topic, payload, now, lambda _s: info)
            assert isinstance(outcome, Accepted)
            items.append((outcome, topic, payload))
        nan_topic, nan_payload = _with_nan(a.health(True))
        valid = convert(nan_topic, a.health(True)[1], now, lambda _s: info)
        assert isinstance(valid, Accepted)
        as_published = dataclasses.replace(valid, payload_text=nan_payload.decode())  # what ingest used to store
        items.insert(10, (as_published, nan_topic, nan_payload))
        result = write_batch(engine, items, [], now)
        assert result.fell_back and result.stored == 20
    finally:
        engine.dispose()


def test_nan_in_a_batch_is_a_dead_letter_and_the_batch_stays_one_transaction(
        mosquitto: Mosquitto, postgres_url: str) -> None:
    engine = prepare(postgres_url)
    a = Station("qd-a")
    flows = [a.flow(1) for _ in range(300)]
    bad = [_with_nan(a.health(True)), _with_nan(a.face())]
    press = a.call("pressed", "c-7")
    good = [*flows, press]
    # One batch: nothing commits before the emergency press at the end (the fast path) flushes it all.
    messages = flows[:150] + bad[:1] + flows[150:] + bad[1:] + [press]
    try:
        with running_ingester(mosquitto, engine, batch_ms=20_000, batch_size=1000) as ingester:
            publish(mosquitto, messages)
            poll(lambda: ingester.totals["received"] == len(messages), what="every message")
        m = ingester.metrics
        assert m.row_by_row._value.get() == 0 and ingester.totals["row_by_row"] == 0
        assert m.invalid.labels("invalid")._value.get() == 2
        assert m.invalid.labels("store_refused")._value.get() == 0
        assert ingester.totals["stored"] == len(good) == count(engine, Event)
        batches = m.registry.get_sample_value("eldercare_ingest_batch_size_count")
        assert (batches, m.registry.get_sample_value("eldercare_ingest_batch_size_sum")) == (1, len(messages))
        with engine.connect() as c:
            reasons = sorted(c.execute(select(DeadLetter.reason)).scalars())
        assert len(reasons) == 2
        assert all(r.startswith("detail.temp_c: NaN is not allowed") for r in reasons)
        assert all("detail.range.1: Infinity is not allowed" in r for r in reasons)
    finally:
        engine.dispose()


def _face_with_image(a: Station) -> tuple[str, bytes, str]:
    topic, payload = a.face("elder-7")
    photo = base64.b64encode((FACES / "obama_1.jpg").read_bytes()).decode()
    data = json.loads(payload)
    data["image_jpeg_b64"] = photo
    data["encoding"] = [round(0.0123 * i - 0.7, 6) for i in range(128)]  # what face_recognition hands out
    return topic, json.dumps(data).encode(), photo


def test_a_face_image_and_encoding_added_by_a_vendor_leave_no_trace_in_the_database_file(
        mosquitto: Mosquitto, tmp_path: Path) -> None:
    path = tmp_path / "cloud.db"
    engine = prepare(f"sqlite:///{path}")
    a = Station("qd-a")
    topic, payload, photo = _face_with_image(a)
    assert photo[:200].encode() in payload and b'"encoding"' in payload  # the device really sent them
    with running_ingester(mosquitto, engine) as ingester:
        publish(mosquitto, [(topic, payload), a.flow(2)])
        poll(lambda: count(engine, Event) == 2, what="the face event and the flow stored")
    with engine.connect() as c:
        stored = c.execute(select(Event.payload).where(Event.kind == "face")).scalar_one()
    assert stored["person"] == "elder-7" and stored["role"] == "elder"
    assert set(stored) == {"v", "id", "station", "device", "seq", "ts", "person", "role", "distance"}
    assert ingester.metrics.dropped_fields.labels("face")._value.get() == 2
    assert ingester.totals["dropped_fields"] == 2
    engine.dispose()
    # Every byte SQLite wrote (the database and any journal or WAL file beside it).
    written = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("cloud.db"))
    assert b"elder-7" in written  # the reading works: the event itself is there
    for trace in (b"image_jpeg_b64", b"encoding", photo[:64].encode(), photo[-64:].encode(), b"-0.6877"):
        assert trace not in written, trace


def test_a_refused_face_image_or_encoding_leaves_no_trace_in_the_database_file(
        mosquitto: Mosquitto, tmp_path: Path) -> None:
    # Refused, not stored with its extras dropped: the role is no role, so the whole message is a dead letter, kept
    # for 90 days. So is a raw JPEG published on a door topic.
    path = tmp_path / "cloud.db"
    engine = prepare(f"sqlite:///{path}")
    a = Station("qd-a")
    topic, payload, photo = _face_with_image(a)
    data = json.loads(payload)
    data["image_jpeg_b64"] = photo[:2000]  # within the 4 KiB a letter keeps
    refused = json.dumps({**data, "role": "vendor-face"}).encode()
    jpeg = (FACES / "obama_1.jpg").read_bytes()
    with running_ingester(mosquitto, engine) as ingester:
        publish(mosquitto, [(topic, refused), ("eldercare/v1/qd-a/door-1/door", jpeg), a.flow(2)])
        poll(lambda: count(engine, DeadLetter) == 2 and count(engine, Event) == 1, what="two letters and the flow")
    assert ingester.totals["dead_letters"] == 2
    with engine.connect() as c:
        letters = {r.topic: r for r in c.execute(select(DeadLetter))}
    face = letters[topic]
    assert face.payload_size == len(refused) and face.payload_sha256 == hashlib.sha256(refused).hexdigest()
    assert b'"role": "vendor-face"' in bytes(face.payload) and b"<removed: 128 numbers>" in bytes(face.payload)
    door = letters["eldercare/v1/qd-a/door-1/door"]
    assert bytes(door.payload) == jpeg[:256] and door.payload_size == len(jpeg)
    engine.dispose()
    written = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("cloud.db"))
    for trace in (photo[:64].encode(), photo[1000:1064].encode(), b"-0.6877", jpeg[1000:1064], jpeg[3000:3064]):
        assert trace not in written, trace


def test_an_8_mb_junk_payload_is_kept_as_its_first_4_kib_with_size_and_hash(
        mosquitto: Mosquitto, engine: Engine) -> None:
    # The test broker has no message size limit (Mosquitto's default allows 256 MB), so 8 MB reaches the ingester;
    # the deployed broker refuses more than 64 KiB before that (tests/hostile/test_broker_limits.py).
    junk = (b"junk, not a message; " * (8 * 1024 * 1024 // 21 + 1))[:8 * 1024 * 1024]  # text; binary keeps less
    topic = "eldercare/v1/qd-a/cam-1/face"
    with running_ingester(mosquitto, engine) as ingester:
        publish(mosquitto, [(topic, junk), Station("qd-a").door()])
        poll(lambda: count(engine, DeadLetter) == 1 and count(engine, Event) == 1, what="letter and event")
    assert ingester.metrics.invalid.labels("invalid")._value.get() == 1
    with engine.connect() as c:
        letter = c.execute(select(DeadLetter)).one()
        stored_bytes = c.execute(text("SELECT sum(length(payload)) FROM dead_letters")).scalar_one()
    assert len(junk) == 8 * 1024 * 1024
    assert bytes(letter.payload) == junk[:LETTER_KEEP_BYTES] and LETTER_KEEP_BYTES == 4096
    assert stored_bytes == 4096
    assert letter.payload_size == len(junk)
    assert letter.payload_sha256 == hashlib.sha256(junk).hexdigest()
    assert letter.reason.startswith("payload is not valid JSON") and len(letter.reason) < 1000


@pytest.mark.parametrize("store", ["sqlite", "postgresql"])
def test_a_key_that_is_half_a_surrogate_pair_is_a_dead_letter_and_the_batch_is_stored(
        store: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    """JSON may spell a key as "\\ud800", which Python parses into a string no store can encode. The letter's reason
    names the key: it once raised UnicodeEncodeError in the batch's transaction, losing the good events with it (and
    stopping the ingester's batch thread)."""
    url = request.getfixturevalue("postgres_url") if store == "postgresql" else f"sqlite:///{tmp_path / 's.db'}"
    engine = prepare(url)
    try:
        a = Station("qd-a")
        info = StationInfo("qd-a", "汇龙镇", "3A", ZoneInfo("Asia/Shanghai"))
        now = datetime.now(UTC)
        topic, payload = a.flow(1)
        bad = payload[:-1] + b', "x\\ud800": NaN}'
        items, letters = [], []
        for t, p in [a.flow(1), (topic, bad), a.flow(1)]:
            outcome = convert(t, p, now, lambda _s: info)
            if isinstance(outcome, Accepted):
                items.append((outcome, t, p))
            else:
                assert isinstance(outcome, Rejected)
                letters.append(Letter(t, p, now, outcome))
        assert len(items) == 2 and len(letters) == 1
        result = write_batch(engine, items, letters, now)
        assert result.stored == 2
        assert count(engine, Event) == 2
        with engine.connect() as c:
            reasons = c.execute(select(DeadLetter.reason)).scalars().all()
        assert len(reasons) == 1 and "\\ud800" in reasons[0], reasons
    finally:
        engine.dispose()
