"""Visit codes and visits from the caregiver's phone, through the API: who may issue and scan which code, a resent
sign-in stored once, the phone's time judged, and a caregiver's view limited to their own visits."""

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from cloud.homecare import qr, qrtokens
from cloud.store.db import make_session_factory
from cloud.store.homecare import HomecareElder, HomecareVisit, QrToken
from tests.api.conftest import NOW, settings_for
from tests.api.homecare_people import seed_homecare

As = Callable[[str], TestClient]


@pytest.fixture
def people(engine: Engine) -> Engine:
    seed_homecare(engine)
    return engine


def _visits(engine: Engine) -> int:
    with make_session_factory(engine)() as session:
        return int(session.scalar(select(func.count()).select_from(HomecareVisit)) or 0)


def _issue(as_user: As, elder: str, by: str = "prov-hl") -> dict[str, Any]:
    response = as_user(by).post(f"/api/v1/homecare/elders/{elder}/qr")
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def _sign_in(as_user: As, who: str, code: str, key: str, at: Any = None, **extra: Any) -> Any:
    at = at or NOW - timedelta(minutes=1)
    return as_user(who).post("/api/v1/homecare/visits/sign-in",
                             json={"key": key, "qr": code, "at": at.isoformat(), **extra})


def test_a_code_names_the_elder_opaquely_and_prints(as_user: As, people: Engine) -> None:
    code = _issue(as_user, "E-HL-1")
    assert code["text"].startswith("EC1.")
    for private in ("E-HL-1", "张秀英", "人民路"):
        assert private not in code["text"]
    assert code["image"].startswith("data:image/svg+xml;base64,")
    png = as_user("prov-hl").get("/api/v1/homecare/elders/E-HL-1/qr.png")
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    assert png.content.startswith(b"\x89PNG")
    # One code stands at a time: a second issue is refused, a re-issue replaces it.
    assert as_user("prov-hl").post("/api/v1/homecare/elders/E-HL-1/qr").status_code == 409
    cards = as_user("prov-hl").get("/api/v1/homecare/qr-cards").json()
    assert [(c["elder_id"], c["name_masked"], c["token_id"] is not None) for c in cards] == [
        ("E-HL-1", "张*英", True), ("E-HL-2", "陈*明", False)]


def test_codes_are_managed_within_scope(as_user: As, people: Engine) -> None:
    assert as_user("prov-nh").post("/api/v1/homecare/elders/E-HL-1/qr").status_code == 404
    assert as_user("cg-hl1").post("/api/v1/homecare/elders/E-HL-1/qr").status_code == 403
    assert as_user("staff-hl1").get("/api/v1/homecare/qr-cards").status_code == 403
    assert as_user("town-hl").post("/api/v1/homecare/elders/E-NH-1/qr").status_code == 404
    assert as_user("town-hl").post("/api/v1/homecare/elders/E-HL-2/qr").status_code == 201
    assert [c["elder_id"] for c in as_user("town-hl").get("/api/v1/homecare/qr-cards").json()] == ["E-HL-1", "E-HL-2"]
    assert len(as_user("admin").get("/api/v1/homecare/qr-cards").json()) == 3


def test_forged_revoked_and_other_elders_codes_are_refused(as_user: As, people: Engine, tmp_path: Any) -> None:
    first = _issue(as_user, "E-HL-1")["text"]
    other = _issue(as_user, "E-HL-2")["text"]

    # Forged: the right shape, signed with another key; altered: a valid code with its token id changed.
    forged = qr.make_token(qr.qr_key("someone-else's-key-of-32-or-more-bytes!!"), "E-HL-1", first.split(".")[2])
    parts = first.split(".")
    altered = ".".join([parts[0], parts[1], qr.new_token_id(), parts[3]])
    # Signed with the platform's own secret key used raw (not the key derived for codes): refused too.
    raw_key = settings_for(tmp_path).secret_key.get_secret_value().encode()
    wrong_purpose = qr.make_token(raw_key, "E-HL-1", parts[2])
    for bad in (forged, altered, wrong_purpose, "E-HL-1", first[:-2]):
        response = _sign_in(as_user, "cg-hl1", bad, "k-forged-0001")
        assert response.status_code == 422, (bad, response.text)
        assert "not a valid visit code" in response.json()["detail"]

    # Another elder's code than the one the caregiver says they are visiting.
    response = _sign_in(as_user, "cg-hl1", other, "k-other-00001", elder_id="E-HL-1")
    assert response.status_code == 409 and "another elder" in response.json()["detail"]

    # Revoked by a re-issue: the old print stops working at once, the new one works.
    new = as_user("prov-hl").post("/api/v1/homecare/elders/E-HL-1/qr/reissue").json()["text"]
    assert new != first
    response = _sign_in(as_user, "cg-hl1", first, "k-revoked-001")
    assert response.status_code == 409 and "revoked" in response.json()["detail"]
    assert _sign_in(as_user, "cg-hl1", new, "k-new-code-01", elder_id="E-HL-1").status_code == 201
    # Revoked without a new one.
    assert as_user("prov-hl").post("/api/v1/homecare/elders/E-HL-2/qr/revoke").status_code == 200
    assert _sign_in(as_user, "cg-hl2", other, "k-revoked-002").status_code == 409
    assert as_user("prov-hl").post("/api/v1/homecare/elders/E-HL-2/qr/revoke").status_code == 409
    assert _visits(people) == 1


def test_an_offline_sign_in_replayed_is_stored_once(as_user: As, people: Engine) -> None:
    code = _issue(as_user, "E-HL-1")["text"]
    taken = NOW - timedelta(hours=5)  # scanned this morning without signal, sent now
    first = _sign_in(as_user, "cg-hl1", code, "offline-key-1", at=taken)
    again = _sign_in(as_user, "cg-hl1", code, "offline-key-1", at=taken)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    assert (first.json()["stored"], again.json()["stored"]) == (True, False)
    assert datetime.fromisoformat(first.json()["sign_in_at"]) == taken  # the phone's time, not the arrival
    assert _visits(people) == 1

    out = {"visit_key": "offline-key-1", "qr": code, "at": (taken + timedelta(minutes=65)).isoformat(),
           "items": ["meal", "cleaning"]}
    done = as_user("cg-hl1").post("/api/v1/homecare/visits/sign-out", json=out)
    replay = as_user("cg-hl1").post("/api/v1/homecare/visits/sign-out", json=out)
    assert done.status_code == replay.status_code == 200
    assert done.json()["minutes"] == 65 and done.json()["item_names"] == ["助餐", "助洁"]
    assert (done.json()["stored"], replay.json()["stored"]) == (True, False)
    assert _visits(people) == 1
    # The same key sent again with another time is not a replay: refused, nothing changes.
    later = _sign_in(as_user, "cg-hl1", code, "offline-key-1", at=taken + timedelta(minutes=1))
    assert later.status_code == 409


def test_the_phone_time_is_judged(as_user: As, people: Engine) -> None:
    code = _issue(as_user, "E-HL-1")["text"]
    ahead = _sign_in(as_user, "cg-hl1", code, "k-future-0001", at=NOW + timedelta(minutes=30))
    assert ahead.status_code == 422 and "in the future" in ahead.json()["detail"]
    stale = _sign_in(as_user, "cg-hl1", code, "k-stale-00001", at=NOW - timedelta(days=4))
    assert stale.status_code == 422 and "4 days old" in stale.json()["detail"]
    naive = as_user("cg-hl1").post("/api/v1/homecare/visits/sign-in",
                                   json={"key": "k-naive-00001", "qr": code, "at": "2026-10-12T09:00:00"})
    assert naive.status_code == 422
    assert _visits(people) == 0


def test_sign_out_needs_the_same_elders_code_and_known_items(as_user: As, people: Engine) -> None:
    code = _issue(as_user, "E-HL-1")["text"]
    other = _issue(as_user, "E-HL-2")["text"]
    assert _sign_in(as_user, "cg-hl1", code, "visit-key-001", at=NOW - timedelta(hours=2)).status_code == 201
    base = {"visit_key": "visit-key-001", "at": (NOW - timedelta(minutes=30)).isoformat(), "items": ["meal"]}
    response = as_user("cg-hl1").post("/api/v1/homecare/visits/sign-out", json={**base, "qr": other})
    assert response.status_code == 409 and "another elder" in response.json()["detail"]
    response = as_user("cg-hl1").post("/api/v1/homecare/visits/sign-out",
                                      json={**base, "qr": code, "items": ["massage"]})
    assert response.status_code == 422 and "unknown service items massage" in response.json()["detail"]
    # Another caregiver cannot sign this visit out, even holding the elder's code.
    assert as_user("cg-hl2").post("/api/v1/homecare/visits/sign-out", json={**base, "qr": code}).status_code == 404
    assert as_user("cg-hl1").post("/api/v1/homecare/visits/sign-out", json={**base, "qr": code}).status_code == 200


def test_a_caregiver_sees_and_signs_only_their_own(as_user: As, people: Engine) -> None:
    hl = _issue(as_user, "E-HL-1")["text"]
    nh = _issue(as_user, "E-NH-1", by="prov-nh")["text"]
    assert _sign_in(as_user, "cg-hl1", hl, "mine-key-0001", at=NOW - timedelta(hours=3)).status_code == 201
    assert _sign_in(as_user, "cg-hl2", hl, "theirs-key-01", at=NOW - timedelta(hours=1)).status_code == 201
    # An elder of another provider: the code is genuine, but not this caregiver's to sign.
    refused = _sign_in(as_user, "cg-hl1", nh, "cross-key-001")
    assert refused.status_code == 422 and "another provider" in refused.json()["detail"]

    mine = as_user("cg-hl1").get("/api/v1/homecare/my-visits").json()
    assert [(v["key"], v["elder_name"]) for v in mine] == [("mine-key-0001", "张秀英")]
    assert [v["key"] for v in as_user("cg-hl2").get("/api/v1/homecare/my-visits").json()] == ["theirs-key-01"]
    assert as_user("cg-nh1").get("/api/v1/homecare/my-visits").json() == []
    # The visit list and the sign-in are the caregivers' alone.
    assert as_user("prov-hl").get("/api/v1/homecare/my-visits").status_code == 403
    assert _sign_in(as_user, "prov-hl", hl, "prov-key-0001").status_code == 403
    assert _sign_in(as_user, "admin", hl, "admin-key-001").status_code == 403


def test_a_reissue_revokes_every_code_left_standing(people: Engine) -> None:
    """Two issues that raced each other both stand; the re-issue must leave neither working."""
    key = qr.qr_key("a-deployment-key-of-32-bytes-or-more-0123456789")
    with make_session_factory(people)() as session:
        elder = session.get(HomecareElder, "E-HL-1")
        assert elder is not None
        raced = [QrToken(id=qr.new_token_id(), elder_id=elder.id, issued_at=NOW, issued_by="prov-hl")
                 for _ in range(2)]
        session.add_all(raced)
        session.flush()
        new = qrtokens.reissue(session, elder, "prov-hl", NOW + timedelta(minutes=1))
        session.commit()
        for old in raced:
            with pytest.raises(qrtokens.CodeConflict, match="revoked"):
                qrtokens.check(session, key, qrtokens.text_of(key, old))
        assert qrtokens.check(session, key, qrtokens.text_of(key, new)).elder_id == "E-HL-1"
        qrtokens.revoke(session, elder, "prov-hl", NOW + timedelta(minutes=2))
        with pytest.raises(qrtokens.CodeConflict, match="no code standing"):
            qrtokens.revoke(session, elder, "prov-hl", NOW + timedelta(minutes=3))
