"""Revision 0018_dead_letter_faces on SQLite and PostgreSQL: letters stored before it (their first 4 KiB as sent)
are cut as new letters are, so no face crop or encoding stays in the store for the letters' 90 days."""

import base64
import hashlib
import json
from datetime import UTC, datetime

from sqlalchemy import text

from cloud.store.db import make_engine
from tests.conftest import FACES
from tests.store.migrations import migrate_to


def test_old_letters_lose_their_images_and_encodings_and_keep_the_rest(db_url: str) -> None:
    engine = make_engine(db_url)
    migrate_to(engine, "0017_elder_category_history")
    jpeg = (FACES / "obama_1.jpg").read_bytes()
    photo = base64.b64encode(jpeg[:1500]).decode()
    face = json.dumps({"v": 1, "station": "qd-a", "role": "vendor", "image_jpeg_b64": photo,
                       "encoding": [round(0.0123 * i - 0.7, 6) for i in range(128)]}).encode()
    plain = b'{"v": 1, "station": "qd-a", "state": "ajar"}'
    chinese = ("门" * 3000).encode()  # cut to 4 KiB inside a character by the old letters: still text
    with engine.begin() as connection:
        for payload in (jpeg, face, plain, chinese):
            connection.execute(text(
                "INSERT INTO dead_letters (received_at, topic, payload, payload_size, payload_sha256, reason) "
                "VALUES (:t, 'eldercare/v1/qd-a/cam-1/face', :p, :size, :digest, 'invalid')"),
                {"t": datetime(2026, 10, 12, tzinfo=UTC), "p": payload[:4096], "size": len(payload),
                 "digest": hashlib.sha256(payload).hexdigest()})
    migrate_to(engine, "0018_dead_letter_faces")
    with engine.connect() as connection:
        rows = [(bytes(p), size, digest) for p, size, digest in connection.execute(text(
            "SELECT payload, payload_size, payload_sha256 FROM dead_letters ORDER BY id"))]
    assert rows[0] == (jpeg[:256], len(jpeg), hashlib.sha256(jpeg).hexdigest())
    kept_face = rows[1][0].decode()
    assert photo[:40] not in kept_face and "-0.6877" not in kept_face and '"role": "vendor"' in kept_face
    assert "<removed: 128 numbers>" in kept_face and rows[1][1] == len(face)
    assert rows[2][0] == plain
    assert rows[3][0] == ("门" * (4096 // 3)).encode() and rows[3][1] == len(chinese)
    migrate_to(engine, "0017_elder_category_history", down=True)  # nothing to undo, and it goes down
    engine.dispose()
