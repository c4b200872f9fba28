"""What a caregiver or a provider could do, through the served API, to be paid for home-care visits that did not
happen, and what the platform does about it: refuses it (a 4xx with its reason), voids the order (the seed's
duration rule), or raises a fraud signal to the town with its evidence. The known limits are tested as limits: the
test shows what gets through and which trace the town has of it."""

from datetime import datetime, timedelta
from typing import Any

import httpx

from cloud.api.security import hash_password
from cloud.homecare import followup
from cloud.store.db import make_session_factory
from cloud.store.users import User, UserTown
from tests.api.conftest import NOW, PASSWORD
from tests.homecare.gaming.conftest import HomeCare

MONTH = "2026-10"
DAY = NOW.date()  # Monday 12 October 2026, 10:00 in Shanghai
HOME = {"lat": 31.0, "lon": 121.0}


def _at(day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return NOW.replace(day=day, hour=hour, minute=minute, second=second)


def _geocode(hc: HomeCare, elder: str = "E-HL-1") -> None:
    response = hc.as_("admin").put(f"/homecare/elders/{elder}", json={
        "name": "张秀英", "category": "disabled", "town": "汇龙镇", "provider": "p-hl", **HOME})
    assert response.status_code == 200, response.text


def _visits(hc: HomeCare, user: str = "admin") -> dict[str, dict[str, Any]]:
    response = hc.as_(user).get("/homecare/visits")
    assert response.status_code == 200, response.text
    return {v["key"]: v for v in response.json()}


# --- the elder's code ----------------------------------------------------------------------------------------


def test_a_photographed_code_works_anywhere_and_is_flagged_only_where_the_phone_said_where(hc: HomeCare) -> None:
    """Known limit: a printed code is the same picture wherever it is photographed. A photo scanned 5 km away
    signs in like the card on the door; the far-from-home signal sees it only when the phone shares its location,
    which is the caregiver's choice."""
    _geocode(hc)
    far = {"lat": HOME["lat"] + 0.045, "lon": HOME["lon"], "accuracy_m": 20}
    hc.visit("cg-hl1", "E-HL-1", "photo-located", _at(5, 9), 75, location=far)
    hc.visit("cg-hl1", "E-HL-1", "photo-unlocated", _at(6, 9), 75)
    assert hc.elder_month("E-HL-1", MONTH)["visits"] == 2  # both counted: the code alone cannot tell
    hc.now = NOW
    hc.worker_pass()
    alerts = hc.alerts("homecare_far_away")
    assert [(a["evidence"]["visit"], a["town"]) for a in alerts] == [("photo-located", "汇龙镇")]
    assert alerts[0]["evidence"]["sign_in"]["metres"] > 4900
    assert hc.alerts("homecare_far_away", user="prov-hl") == []  # the provider does not see the leads about it


def test_a_code_copied_and_used_again_and_again_is_flagged(hc: HomeCare) -> None:
    """A copy of the code signed in more than twice a day, or twice within an hour: homecare_qr_rate."""
    for i in range(3):
        hc.visit("cg-hl1", "E-HL-2", f"copy-{i:04d}", _at(8, 8 + 2 * i), 61)
    hc.now = NOW
    hc.worker_pass()
    [alert] = hc.alerts("homecare_qr_rate")
    assert alert["evidence"]["elder"] == "E-HL-2" and alert["evidence"]["sign_ins"] == 3


def test_a_revoked_or_another_providers_code_is_refused(hc: HomeCare) -> None:
    old = hc.code("E-HL-1")
    assert hc.as_("prov-hl").post("/homecare/elders/E-HL-1/qr/reissue").status_code == 200
    response = hc.as_("cg-hl1").post("/homecare/visits/sign-in", json={
        "key": "old-card-01", "qr": old, "at": (NOW - timedelta(minutes=1)).isoformat()})
    assert response.status_code == 409 and "revoked" in response.json()["detail"]
    # A caregiver of another provider with this elder's (genuine) code.
    response = hc.sign_in("cg-nh1", "E-HL-1", "other-prov-1", NOW - timedelta(minutes=1))
    assert response.status_code == 422 and "another provider" in response.json()["detail"]
    assert _visits(hc) == {}


# --- the phone's time ----------------------------------------------------------------------------------------


def test_a_visit_made_up_later_from_home_is_taken_within_72_hours_with_its_arrival_kept(hc: HomeCare) -> None:
    """Known limit: the phone's time is believed up to 72 h back (an offline queue). A caregiver who keeps a
    photo of the code can send a whole invented visit from home two days later, sign-in and sign-out exactly an
    hour apart, and it counts. What the town has: the arrival times stored beside the phone's times (47 h later
    here), the just-long-enough pattern when it is a habit, and the follow-up calls."""
    hc.now = NOW
    start = NOW - timedelta(hours=48)
    assert hc.sign_in("cg-hl1", "E-HL-1", "invented-01", start).status_code == 201
    assert hc.sign_out("cg-hl1", "E-HL-1", "invented-01", start + timedelta(hours=1)).status_code == 200
    assert hc.elder_month("E-HL-1", MONTH)["visits"] == 1
    # Sent late beside a real visit elsewhere at that hour: the double-booked alert shows when each arrived.
    hc.visit("cg-hl1", "E-HL-2", "real-elsewhere", start + timedelta(minutes=10), 70)
    hc.now = NOW
    hc.worker_pass()
    assert hc.alerts("homecare_late_uploads") == []  # once is a phone without signal: a habit is flagged (below)
    [alert] = hc.alerts("homecare_double_booked")
    sent = {v["visit"]: (datetime.fromisoformat(v["sign_in_received"]), datetime.fromisoformat(v["sign_out_received"]))
            for v in alert["evidence"]["visits"]}
    assert sent["invented-01"] == (NOW, NOW)
    assert sent["real-elsewhere"][0] == start + timedelta(minutes=10)
    visit = _visits(hc, "town-hl")["invented-01"]
    assert datetime.fromisoformat(visit["sign_in_recorded_at"]) == NOW
    assert datetime.fromisoformat(visit["sign_out_recorded_at"]) - datetime.fromisoformat(
        visit["sign_out_at"]) == timedelta(hours=47)
    # Older than the queue may be, or ahead of the server's clock (to stretch a visit): refused, with the reason.
    too_old = hc.sign_in("cg-hl1", "E-HL-1", "invented-02", NOW - timedelta(hours=72, minutes=1))
    assert too_old.status_code == 422 and "an offline scan may wait" in too_old.json()["detail"]
    ahead = hc.sign_in("cg-hl1", "E-HL-1", "invented-03", NOW + timedelta(minutes=6))
    assert ahead.status_code == 422 and "future" in ahead.json()["detail"]
    assert hc.sign_in("cg-hl1", "E-HL-2", "stretch-01", NOW - timedelta(minutes=30)).status_code == 201
    ahead = hc.sign_out("cg-hl1", "E-HL-2", "stretch-01", NOW + timedelta(minutes=31))
    assert ahead.status_code == 422 and "future" in ahead.json()["detail"]
    assert set(_visits(hc)) == {"invented-01", "real-elsewhere", "stretch-01"}


def _sent_late(hc: HomeCare, who: str, elder: str, key: str, start: datetime, minutes: float,
               sign_in_after: timedelta | None, sign_out_after: timedelta) -> None:
    """A visit of `minutes` from `start` (the phone's times) whose sign-in reaches the server `sign_in_after` its
    time (None: sent together with the sign-out) and whose sign-out `sign_out_after` its time."""
    end = start + timedelta(minutes=minutes)
    hc.now = end + sign_out_after if sign_in_after is None else start + sign_in_after
    assert hc.sign_in(who, elder, key, start).status_code == 201
    hc.now = end + sign_out_after
    assert hc.sign_out(who, elder, key, end).status_code == 200


def _add_town_officer(hc: HomeCare, name: str, town: str) -> None:
    with make_session_factory(hc.engine).begin() as session:
        user = User(name=name, role="town", password_hash=hash_password(PASSWORD))
        user.towns = [UserTown(town=town)]
        session.add(user)


def test_visits_invented_later_as_a_habit_are_flagged_to_the_town_only(hc: HomeCare) -> None:
    """Whole visits sent from home long after their phone times: one is an offline queue (nothing raised), four
    of seven in a month are a habit, raised once to the provider's town with each visit's phone and arrival times.
    Neither the provider, nor its caregiver, nor another town sees it."""
    for day in (1, 2, 3):
        hc.visit("cg-hl1", "E-HL-2", f"real-visit-{day:02d}", _at(day, 14), 75)
    _sent_late(hc, "cg-hl1", "E-HL-1", "invented-home-01", _at(4, 9), 75, None, timedelta(hours=30))
    hc.now = NOW
    hc.worker_pass()
    assert hc.alerts("homecare_late_uploads") == []
    for day in (5, 6, 7):
        _sent_late(hc, "cg-hl1", "E-HL-1", f"invented-home-{day:02d}", _at(day, 9), 75, None, timedelta(hours=30))
    hc.now = NOW
    hc.worker_pass()
    hc.worker_pass()
    [alert] = hc.alerts("homecare_late_uploads")
    evidence = alert["evidence"]
    assert (alert["town"], evidence["provider"], evidence["caregiver"]) == ("汇龙镇", "p-hl", "HL001")
    assert not alert["station"]  # a home-care alert is the town's, of no station
    assert (evidence["month"], evidence["counted"], evidence["late"]) == (MONTH, 7, 4)
    assert [v["visit"] for v in evidence["visits"]] == [f"invented-home-{d:02d}" for d in (1, 5, 6, 7)]
    for v in evidence["visits"]:
        assert datetime.fromisoformat(v["sign_out_received"]) - datetime.fromisoformat(v["sign_out"]) == timedelta(
            hours=30)
        assert v["sign_in_received"] == v["sign_out_received"]  # both scans in one upload
    _add_town_officer(hc, "town-nh", "南阳镇")
    for user in ("prov-hl", "cg-hl1", "town-nh", "staff-hl1", "staff-nh1", "dispatch"):
        assert hc.alerts("homecare_late_uploads", user=user) == [], user
    assert [a["id"] for a in hc.alerts("homecare_late_uploads", user="admin")] == [alert["id"]]


def test_sending_the_sign_in_on_time_and_the_rest_later_is_late_too(hc: HomeCare) -> None:
    """Signing in live (from anywhere) and sending the sign-out a day and more later, or backdating the sign-in and
    signing out at once (a visit stretched over 30 hours): each visit is as late as its later-sent scan."""
    _sent_late(hc, "cg-hl1", "E-HL-1", "live-in-late-out-1", _at(1, 9), 75, timedelta(0), timedelta(hours=30))
    _sent_late(hc, "cg-hl1", "E-HL-2", "live-in-late-out-2", _at(2, 14), 75, timedelta(0), timedelta(hours=30))
    _sent_late(hc, "cg-hl1", "E-HL-1", "backdated-in-one", _at(4, 9), 30 * 60, timedelta(hours=30), timedelta(0))
    _sent_late(hc, "cg-hl1", "E-HL-2", "backdated-in-two", _at(6, 9), 30 * 60, timedelta(hours=30), timedelta(0))
    assert hc.elder_month("E-HL-1", MONTH)["visits"] == 2  # they all count
    hc.now = NOW
    hc.worker_pass()
    [alert] = hc.alerts("homecare_late_uploads")
    lateness = {v["visit"]: v["hours_late"] for v in alert["evidence"]["visits"]}
    assert lateness == {"live-in-late-out-1": 30.0, "live-in-late-out-2": 30.0, "backdated-in-one": 30.0,
                        "backdated-in-two": 30.0}


def test_late_uploads_spread_over_caregivers_are_the_providers_habit(hc: HomeCare) -> None:
    """Two late visits of four for each of two caregivers: neither is a habit alone (four late visits in a month
    are), but the provider's month is, and it is raised as the provider's, naming each caregiver's share."""
    for day in (1, 2, 3, 4):
        late = day <= 2
        for who, elder, hour in (("cg-hl1", "E-HL-1", 9), ("cg-hl2", "E-HL-2", 14)):
            key = f"spread-{who}-{day:02d}"
            if late:
                _sent_late(hc, who, elder, key, _at(day, hour), 75, None, timedelta(hours=26))
            else:
                hc.visit(who, elder, key, _at(day, hour), 75)
    hc.now = NOW
    hc.worker_pass()
    [alert] = hc.alerts("homecare_late_uploads")
    evidence = alert["evidence"]
    assert (evidence["scope"], evidence["provider"]) == ("provider", "p-hl")
    assert (evidence["late"], evidence["counted"]) == (4, 8)
    assert evidence["caregivers"] == {"HL001": {"counted": 4, "late": 2}, "HL002": {"counted": 4, "late": 2}}
    assert alert["town"] == "汇龙镇"


def test_sending_just_inside_the_limit_is_not_late(hc: HomeCare) -> None:
    """Known limit: each scan sent exactly 24 hours after its phone time is not late (late is more than 24 h), so a
    provider who knows the number can stay under it; a second more, four times, is a habit."""
    for day in (1, 2, 3, 4):
        _sent_late(hc, "cg-hl1", "E-HL-1", f"at-the-limit-{day:02d}", _at(day, 9), 75, timedelta(hours=24),
                   timedelta(hours=24))
    hc.now = NOW
    hc.worker_pass()
    assert hc.alerts("homecare_late_uploads") == []
    over = timedelta(hours=24, seconds=1)
    for day in (5, 6, 7, 8):
        _sent_late(hc, "cg-hl1", "E-HL-1", f"over-the-limit-{day:02d}", _at(day, 9), 75, over, over)
    hc.now = NOW
    hc.worker_pass()
    [alert] = hc.alerts("homecare_late_uploads")
    assert [v["visit"] for v in alert["evidence"]["visits"]] == [f"over-the-limit-{d:02d}" for d in (5, 6, 7, 8)]
    assert (alert["evidence"]["late"], alert["evidence"]["counted"]) == (4, 8)


# --- two places, two people, the same visit twice ------------------------------------------------------------


def test_one_caregiver_at_two_homes_at_once_is_flagged(hc: HomeCare) -> None:
    hc.visit("cg-hl1", "E-HL-1", "two-homes-a", _at(9, 9), 70)
    hc.visit("cg-hl1", "E-HL-2", "two-homes-b", _at(9, 9, 30), 70)
    hc.now = NOW
    hc.worker_pass()
    [alert] = hc.alerts("homecare_double_booked")
    assert alert["evidence"]["caregiver"] == "HL001" and alert["evidence"]["overlap_minutes"] == 40.0
    assert {v["visit"] for v in alert["evidence"]["visits"]} == {"two-homes-a", "two-homes-b"}


def test_two_caregivers_signing_one_elder_at_once_are_flagged(hc: HomeCare) -> None:
    """Known limit: two caregivers at one elder at once is sometimes real (a bath for a bedridden elder), so both
    orders count; the two sign-ins within the hour raise homecare_qr_rate for the town to ask."""
    hc.visit("cg-hl1", "E-HL-1", "pair-a-0001", _at(9, 9), 65)
    hc.visit("cg-hl2", "E-HL-1", "pair-b-0001", _at(9, 9, 5), 65)
    assert hc.elder_month("E-HL-1", MONTH)["visits"] == 2
    hc.now = NOW
    hc.worker_pass()
    [alert] = hc.alerts("homecare_qr_rate")
    assert alert["evidence"]["close_pairs"] == [["pair-a-0001", "pair-b-0001"]]


def test_the_same_visit_sent_again_under_new_keys_counts_once(hc: HomeCare) -> None:
    """One caregiver cannot be at one elder's twice at once: a sign-in inside their own signed-out visit of the
    same elder, or a sign-out that would make two of them overlap, is refused (409) with the other visit named."""
    hc.visit("cg-hl1", "E-HL-1", "original-01", _at(9, 9), 60)
    inside = hc.sign_in("cg-hl1", "E-HL-1", "again-0001", _at(9, 9, 0, 30))
    assert inside.status_code == 409 and "original-01" in inside.json()["detail"]
    # Signed in just before it (accepted: not yet a second visit), then signed out across it: refused.
    hc.now = _at(9, 10, 5)
    assert hc.sign_in("cg-hl1", "E-HL-1", "again-0002", _at(9, 8, 59)).status_code == 201
    across = hc.sign_out("cg-hl1", "E-HL-1", "again-0002", _at(9, 9, 59))
    assert across.status_code == 409 and "original-01" in across.json()["detail"]
    # Two sign-ins open at once: the first one signed out stands, the second cannot be closed over it.
    hc.now = _at(10, 9, 0)
    assert hc.sign_in("cg-hl1", "E-HL-2", "open-a-0001", _at(10, 9)).status_code == 201
    assert hc.sign_in("cg-hl1", "E-HL-2", "open-b-0001", _at(10, 9, 1)).status_code == 201
    hc.now = _at(10, 10, 2)
    assert hc.sign_out("cg-hl1", "E-HL-2", "open-a-0001", _at(10, 10, 1)).status_code == 200
    assert hc.sign_out("cg-hl1", "E-HL-2", "open-b-0001", _at(10, 10, 2)).status_code == 409
    # A real second visit later that day, back to back, is fine.
    hc.visit("cg-hl1", "E-HL-1", "afternoon-1", _at(9, 10, 0), 60)
    assert hc.elder_month("E-HL-1", MONTH)["visits"] == 2
    assert hc.elder_month("E-HL-2", MONTH)["visits"] == 1


# --- the one-hour rule ---------------------------------------------------------------------------------------


def test_short_and_split_visits_count_nothing(hc: HomeCare) -> None:
    hc.visit("cg-hl1", "E-HL-1", "short-59-59", _at(5, 9), 59 + 59 / 60)
    hc.visit("cg-hl1", "E-HL-1", "split-first", _at(6, 9), 30)
    hc.visit("cg-hl1", "E-HL-1", "split-second", _at(6, 15), 30)
    line = hc.elder_month("E-HL-1", MONTH)
    assert (line["visits"], line["met"]) == (0, False)
    response = hc.as_("admin").get(f"/homecare/figures/providers/{MONTH}")
    [p_hl] = [p for p in response.json() if p["provider"] == "p-hl"]
    assert (p_hl["orders"], p_hl["counted"], p_hl["voided"]) == (3, 0, 3)


def test_visits_ending_on_the_minute_every_time_are_flagged(hc: HomeCare) -> None:
    """Padding every visit to just past the hour (arrive, leave, come back to sign out) passes the rule once; as a
    habit it raises homecare_just_long_enough."""
    for day in range(1, 9):
        hc.visit("cg-hl2", "E-HL-1" if day % 2 else "E-HL-2", f"padded-{day:02d}", _at(day, 14), 60.5)
    hc.now = NOW
    hc.worker_pass()
    [alert] = hc.alerts("homecare_just_long_enough")
    assert (alert["evidence"]["caregiver"], alert["evidence"]["just_long_enough"]) == ("HL002", 8)


# --- sign-outs -----------------------------------------------------------------------------------------------


def test_no_sign_out_without_ones_own_sign_in_and_none_left_open(hc: HomeCare) -> None:
    hc.now = NOW
    ghost = hc.sign_out("cg-hl1", "E-HL-1", "never-signed-in", NOW - timedelta(minutes=1))
    assert ghost.status_code == 404
    assert hc.sign_in("cg-hl2", "E-HL-1", "colleague-01", NOW - timedelta(hours=2)).status_code == 201
    theirs = hc.sign_out("cg-hl1", "E-HL-1", "colleague-01", NOW - timedelta(minutes=1))
    assert theirs.status_code == 404
    # Left open: void after 12 hours, and an alert.
    hc.now = NOW + timedelta(hours=9, minutes=59)
    assert hc.elder_month("E-HL-1", MONTH)["visits"] == 0
    hc.worker_pass()
    assert hc.alerts("homecare_no_sign_out") == []
    hc.now = NOW + timedelta(hours=10)
    hc.worker_pass()
    [alert] = hc.alerts("homecare_no_sign_out")
    assert alert["evidence"]["visit"] == "colleague-01"
    assert hc.elder_month("E-HL-1", MONTH)["visits"] == 0


# --- what a provider's manager can reach -----------------------------------------------------------------------


def test_a_provider_cannot_make_visits_or_change_what_it_owes(hc: HomeCare) -> None:
    provider = hc.as_("prov-hl")
    hc.now = NOW
    sign_in = provider.post("/homecare/visits/sign-in", json={
        "key": "manager-01", "qr": hc.code("E-HL-1"), "at": (NOW - timedelta(hours=2)).isoformat()})
    assert sign_in.status_code == 403
    # No route edits or creates a visit other than the QR sign-in and sign-out.
    hc.visit("cg-hl1", "E-HL-1", "real-visit-1", _at(5, 9), 40)
    for method in ("PUT", "PATCH", "DELETE"):
        assert provider.request(method, "/homecare/visits/real-visit-1").status_code in (404, 405)
    assert provider.post("/homecare/visits", json={}).status_code in (404, 405)
    # The service period, category and made-up months set what it owes: bureau and town only.
    elder = provider.put("/homecare/elders/E-HL-1", json={"name": "张秀英", "category": "high_age",
                                                          "town": "汇龙镇", "provider": "p-hl"})
    assert elder.status_code == 403
    made_up = provider.post("/homecare/elders/E-HL-1/made-up-months", json={"month": MONTH, "reason": "住院"})
    assert made_up.status_code == 403
    assert hc.elder_month("E-HL-1", MONTH)["required"] == 4  # disabled: 4 a month, unchanged
    # Its complaint rate and survey score are the platform's to record and decide.
    complaint = hc.as_("town-hl").post("/homecare/complaints", json={
        "provider": "p-hl", "elder": "E-HL-1", "received_at": NOW.isoformat(), "text": "护理员未到"})
    assert complaint.status_code == 201, complaint.text
    decision = provider.post(f"/homecare/complaints/{complaint.json()['id']}/decision",
                             json={"valid": False, "reason": "不属实"})
    assert decision.status_code == 403
    survey = provider.post("/homecare/surveys", json={"town": "汇龙镇", "provider": "p-hl", "year": 2026,
                                                      "quarter": 4, "respondents": 10, "satisfied": 10})
    assert survey.status_code == 403
    # A month recorded by the town is in the audit file with who recorded it.
    assert hc.as_("town-hl").post("/homecare/elders/E-HL-1/made-up-months",
                                  json={"month": MONTH, "reason": "住院"}).status_code == 200
    made_up_csv = hc.as_("admin").get(f"/homecare/audit/{MONTH}/made-up.csv")
    assert made_up_csv.status_code == 200 and "E-HL-1" in made_up_csv.text


def test_a_void_stands(hc: HomeCare) -> None:
    hc.visit("cg-hl1", "E-HL-1", "bad-quality", _at(11, 9), 90)
    assert hc.elder_month("E-HL-1", MONTH)["visits"] == 1
    hc.now = NOW
    voided = hc.as_("town-hl").post("/homecare/visits/bad-quality/void", json={"reason": "回访：未按约定助洁"})
    assert voided.status_code == 200
    assert hc.elder_month("E-HL-1", MONTH)["visits"] == 0
    again = hc.as_("prov-hl").post("/homecare/visits/bad-quality/void", json={"reason": "重复"})
    assert again.status_code == 400 and "already voided" in again.json()["detail"]
    for path in ("/homecare/visits/bad-quality/unvoid", "/homecare/visits/bad-quality/restore"):
        assert hc.as_("prov-hl").post(path, json={}).status_code in (404, 405)
    # Its sign-out sent again changes nothing; the same hour signed in again under a new key is refused.
    assert hc.sign_out("cg-hl1", "E-HL-1", "bad-quality", _at(11, 10, 30)).status_code == 200
    again_in = hc.sign_in("cg-hl1", "E-HL-1", "bad-quality-2", _at(11, 9, 1))
    assert again_in.status_code == 409 and "bad-quality" in again_in.json()["detail"]
    assert hc.elder_month("E-HL-1", MONTH)["visits"] == 0 and _visits(hc)["bad-quality"]["voided"] is True


def test_another_providers_elders_and_orders_are_out_of_reach(hc: HomeCare) -> None:
    hc.visit("cg-hl1", "E-HL-1", "hl-order-01", _at(5, 9), 70)
    hc.now = NOW
    other = hc.as_("prov-nh")
    assert other.post("/homecare/visits/hl-order-01/void", json={"reason": "x"}).status_code == 404
    assert other.post("/homecare/visits/hl-order-01/followups",
                      json={"reached": True, "satisfaction": "unsatisfied"}).status_code == 404
    # Revoking a competitor's elder's code (so its caregivers cannot sign in) is out of reach too.
    assert other.post("/homecare/elders/E-HL-1/qr/reissue").status_code == 404
    assert other.post("/homecare/elders/E-HL-1/qr/revoke").status_code == 404
    # Taking over another provider's caregiver by re-registering the job number.
    taken = other.put("/homecare/caregivers/HL001", json={"name": "王芳", "provider": "p-nh"})
    assert taken.status_code == 404
    assert [v["key"] for v in other.get("/homecare/visits").json()] == []
    figures = other.get(f"/homecare/figures/elders/{MONTH}").json()
    assert {m["elder"] for m in figures["months"]} == {"E-NH-1"}


# --- follow-up sampling --------------------------------------------------------------------------------------


def test_the_follow_up_draw_is_secret_until_drawn_and_catches_orders_held_back(hc: HomeCare) -> None:
    """The caregiver's phone picks the order's key, but the rank is SHA-256 of a seed drawn at random after the day
    is over: no key can be chosen to stay out. The provider never sees the seed or the sample; an order held back
    until after the draw (its phone time still that day) tops the sample up with the same seed."""
    sunday = NOW.date() - timedelta(days=1)
    for i in range(10):
        caregiver, elder = (("cg-hl1", "E-HL-1"), ("cg-hl2", "E-HL-2"))[i % 2]
        hc.visit(caregiver, elder, f"sunday-order-{i:02d}", _at(11, 7 + i), 65)
    hc.now = NOW
    drawn = hc.as_("admin").post(f"/homecare/followups/samples/{sunday}")
    assert drawn.status_code == 201, drawn.text
    sample = drawn.json()
    assert (sample["orders"], sample["size"]) == (10, 1)
    keys = [f"sunday-order-{i:02d}" for i in range(10)]
    assert [v["key"] for v in sample["visits"]] == followup.draw_sample(keys, sample["seed"], 0.10)
    provider = hc.as_("prov-hl")
    assert provider.get(f"/homecare/followups/samples/{sunday}").status_code == 403
    assert provider.post(f"/homecare/followups/samples/{sunday}").status_code == 403
    # An order held back on the phone and sent after the draw.
    assert hc.sign_in("cg-hl1", "E-HL-1", "held-back-01", _at(11, 20)).status_code == 201
    again = hc.as_("admin").post(f"/homecare/followups/samples/{sunday}").json()
    assert (again["orders"], again["size"], again["seed"]) == (11, 2, sample["seed"])
    assert again["visits"][0] == sample["visits"][0]  # drawn once, never undrawn
    # The provider's own calls are recorded as its own, not as the platform's satisfaction.
    call = provider.post(f"/homecare/visits/{keys[0]}/followups", json={"reached": True, "satisfaction": "satisfied"})
    assert call.status_code == 201 and call.json()["by_role"] == "provider"


def test_a_town_is_told_only_its_own_part_of_the_days_sample(hc: HomeCare) -> None:
    """The sample is drawn over every town's orders; a town officer reads how many orders its own towns had that
    day and how many of them were drawn, never the other towns' figures."""
    sunday = NOW.date() - timedelta(days=1)
    start = _at(sunday.day, 6)
    for i in range(12):  # two caregivers of 汇龙镇, one after another
        caregiver, elder = (("cg-hl1", "E-HL-1"), ("cg-hl2", "E-HL-2"))[i % 2]
        hc.visit(caregiver, elder, f"hl-order-{i:02d}", start + timedelta(minutes=70 * (i // 2)), 65)
    for i in range(8):  # and one of 南阳镇
        hc.visit("cg-nh1", "E-NH-1", f"nh-order-{i:02d}", start + timedelta(minutes=70 * i), 65)
    hc.now = NOW
    whole = hc.as_("admin").post(f"/homecare/followups/samples/{sunday}").json()
    assert (whole["orders"], whole["size"], whole["scoped"]) == (20, 2, False)
    town = hc.as_("town-hl").get(f"/homecare/followups/samples/{sunday}").json()
    own = [v["key"] for v in town["visits"]]
    assert all(k.startswith("hl-") for k in own)
    assert own == [v["key"] for v in whole["visits"] if v["key"].startswith("hl-")]
    assert (town["orders"], town["size"], town["scoped"]) == (12, len(own), True)


# --- accounts ------------------------------------------------------------------------------------------------


def test_a_caregivers_account_is_the_providers_to_give_and_the_signals_follow_the_job_number(hc: HomeCare) -> None:
    """Known limit: the provider's manager gives its caregivers their logins, so a second login on a job number (a
    colleague using it) is possible; the signals are per job number, so that login at another home at the same hour
    is double-booked. A login for another provider's caregiver is refused, and a disabled one signs nothing."""
    manager = hc.as_("prov-hl")
    password = "another long password 42"
    second = manager.post("/users", json={"name": "hl001-shared", "role": "caregiver", "password": password,
                                          "caregiver": "HL001"})
    assert second.status_code == 201, second.text
    foreign = manager.post("/users", json={"name": "nh001-taken", "role": "caregiver", "password": password,
                                           "caregiver": "NH001"})
    assert foreign.status_code in (403, 404, 422)
    hc.visit("cg-hl1", "E-HL-1", "own-login-1", _at(10, 9), 70)
    shared = httpx.Client(base_url=hc.base + "/api/v1", timeout=20)
    try:
        token = shared.post("/auth/token", data={"username": "hl001-shared", "password": password})
        shared.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
        hc.now = _at(10, 10, 40)
        start = _at(10, 9, 20)
        assert shared.post("/homecare/visits/sign-in", json={
            "key": "shared-login", "qr": hc.code("E-HL-2"), "at": start.isoformat()}).status_code == 201
        assert shared.post("/homecare/visits/sign-out", json={
            "visit_key": "shared-login", "qr": hc.code("E-HL-2"), "at": (start + timedelta(minutes=80)).isoformat(),
            "items": ["meal"]}).status_code == 200
        hc.now = NOW
        hc.worker_pass()
        [alert] = hc.alerts("homecare_double_booked")
        assert {v["visit"] for v in alert["evidence"]["visits"]} == {"own-login-1", "shared-login"}
        # Disabled by the manager: it can no longer sign anything.
        user_id = second.json()["id"]
        assert manager.post(f"/users/{user_id}/disable").status_code == 200
        refused = shared.post("/homecare/visits/sign-in", json={
            "key": "after-disable", "qr": hc.code("E-HL-2"), "at": (NOW - timedelta(minutes=1)).isoformat()})
        assert refused.status_code == 401
    finally:
        shared.close()
