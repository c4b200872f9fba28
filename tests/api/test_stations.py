from collections.abc import Callable

from fastapi.testclient import TestClient

V1 = "/api/v1"


def ids(client: TestClient, query: str = "") -> list[str]:
    response = client.get(f"{V1}/stations{query}")
    assert response.status_code == 200, response.text
    return sorted(s["id"] for s in response.json())


def test_each_role_lists_only_its_stations(fleet_as: Callable[[str], TestClient]) -> None:
    assert ids(fleet_as("admin")) == ["hl-01", "hl-02", "nh-01", "nh-02"]
    assert ids(fleet_as("town-hl")) == ["hl-01", "hl-02"]
    assert ids(fleet_as("staff-hl1")) == ["hl-01"]
    # The dispatcher locates stations for emergencies (where to send help) but sees no verdicts: no state, no
    # compliance, no agent status, and a state filter (which would tell the states) is refused.
    dispatch = fleet_as("dispatch").get(f"{V1}/stations").json()
    assert len(dispatch) == 4
    assert all((s["today"], s["compliance"], s["online"]) == (None, None, None) for s in dispatch)
    assert all(s["address"] for s in dispatch)
    assert fleet_as("dispatch").get(f"{V1}/stations?state=closed").status_code == 403


def test_every_alert_count_is_the_alerts_the_user_may_list(fleet_as: Callable[[str], TestClient]) -> None:
    """A station's `active_alerts` and the overview's counts are the alerts that user can list, nothing more: station
    staff never count a spot-check alert (a count that went up during a check would warn the station)."""
    admin = fleet_as("admin")
    nh01_kinds = {a["kind"] for a in admin.get(f"{V1}/alerts?active=true&station=nh-01").json()}
    assert "spot_check_unverifiable" in nh01_kinds  # the case the rule is about is in the fleet
    counts = {}
    for user in ("admin", "town-hl", "staff-hl1", "staff-nh1", "dispatch"):
        client = fleet_as(user)
        listed = client.get(f"{V1}/alerts?active=true&limit=1000").json()
        for station in client.get(f"{V1}/stations").json():
            mine = [a for a in listed if a["station"] == station["id"]]
            assert station["active_alerts"] == len(mine), (user, station["id"])
            counts[user, station["id"]] = station["active_alerts"]
        overview = client.get(f"{V1}/overview").json()
        assert overview["active_alerts"] == len(listed), user
        assert overview["active_emergencies"] == sum(a["kind"] == "emergency_call" for a in listed), user
        assert all(a["kind"] not in ("spot_check_closed", "spot_check_unverifiable") for a in listed
                   if user.startswith("staff"))
    assert counts["staff-nh1", "nh-01"] == counts["admin", "nh-01"] - 1
    assert counts["dispatch", "nh-01"] == 1  # its emergency call, and nothing else of the station


def test_todays_state_and_filters(fleet_as: Callable[[str], TestClient]) -> None:
    admin = fleet_as("admin")
    by_id = {s["id"]: s for s in admin.get(f"{V1}/stations").json()}
    # 10:00 on a working Monday: the open stations have been open all morning, hl-02 shut, nh-01 silent.
    assert {k: v["today"] for k, v in by_id.items()} == {
        "hl-01": "open", "hl-02": "closed", "nh-01": "unknown", "nh-02": "open"}
    assert by_id["hl-01"]["compliance"] == 1.0 and by_id["hl-02"]["compliance"] == 0.0
    assert by_id["nh-01"]["active_alerts"] >= 2  # offline and the emergency call
    assert (by_id["hl-01"]["online"], by_id["nh-01"]["online"], by_id["hl-02"]["online"]) == (True, False, None)
    assert ids(admin, "?town=南阳镇") == ["nh-01", "nh-02"]
    assert ids(admin, "?grade=2A") == ["hl-02"]
    assert ids(admin, "?state=open") == ["hl-01", "nh-02"]
    assert ids(fleet_as("town-hl"), "?town=南阳镇") == []  # a filter never widens the scope


def test_station_day_has_the_derive_fields_timeline_evidence_counts_and_devices(
    fleet_as: Callable[[str], TestClient],
) -> None:
    day = fleet_as("town-hl").get(f"{V1}/stations/hl-01/days/2026-10-09").json()
    for field in ("station", "date", "working_day", "compliance", "verdict", "person_times", "elders",
                  "late_open_minutes", "early_close_minutes", "evidence"):
        assert field in day
    assert (day["verdict"], day["compliance"], day["working_day"]) == ("open", 1.0, True)
    assert day["elders"] == 4 and day["person_times"] > 0
    states = [(s["state"], s["start"][11:16], s["end"][11:16]) for s in day["timeline"]]
    assert states == [("open", "08:30", "11:30"), ("open", "13:30", "17:00")]
    assert day["timeline"][0]["evidence"]["door_open"] == ["08:20-17:05"]
    assert day["counts"]["flow"] > 0 and day["counts"]["face"] == 4 and day["counts"]["door"] == 2
    devices = {d["device"]: d for d in day["devices"]}
    assert (devices["camera-1"]["ok"], devices["camera-1"]["error"]) == (False, "lens covered")
    assert devices["agent"]["online"] is True and day["derived_at"] is not None
    assert day["state_so_far"] is None  # not today

    today = fleet_as("admin").get(f"{V1}/stations/hl-01/days/2026-10-12").json()
    assert (today["verdict"], today["state_so_far"]) == ("unknown", "open")  # 10:00: the afternoon is to come
    closed = fleet_as("admin").get(f"{V1}/stations/hl-02/days/2026-10-09").json()
    assert closed["verdict"] == "closed"
    assert [s["state"] for s in closed["timeline"]] == ["closed", "closed"]
    offline = fleet_as("admin").get(f"{V1}/stations/nh-01/days/2026-10-09").json()
    assert offline["verdict"] == "unknown" and {s["state"] for s in offline["timeline"]} == {"unknown"}


def test_station_month_has_the_month_line_days_and_projection(fleet_as: Callable[[str], TestClient]) -> None:
    month = fleet_as("staff-hl1").get(f"{V1}/stations/hl-01/months/2026-10").json()
    assert (month["month"], month["threshold"], month["elders"], month["met"]) == ("2026-10", 100, 4, False)
    assert month["at_risk"] is True and month["projection"] is not None and month["basis"] == "elders"
    verdicts = {d["date"]: d["verdict"] for d in month["days"]}
    assert verdicts["2026-10-01"] == "not_scheduled" and verdicts["2026-10-09"] == "open"
    assert month["activities"] == 0


def test_other_scopes_get_404_and_dispatch_403(fleet_as: Callable[[str], TestClient]) -> None:
    for user, station in [("town-hl", "nh-01"), ("staff-hl1", "hl-02"), ("staff-nh1", "hl-01")]:
        client = fleet_as(user)
        assert client.get(f"{V1}/stations/{station}/days/2026-10-09").status_code == 404
        assert client.get(f"{V1}/stations/{station}/months/2026-10").status_code == 404
    dispatch = fleet_as("dispatch")
    assert dispatch.get(f"{V1}/stations/hl-01/days/2026-10-09").status_code == 403
    assert fleet_as("admin").get(f"{V1}/stations/no-such/days/2026-10-09").status_code == 404


def test_bad_dates_and_ids_are_422_not_500(fleet_as: Callable[[str], TestClient]) -> None:
    admin = fleet_as("admin")
    for path in ["/stations/hl-01/days/2026-13-01", "/stations/hl-01/days/99999-01-01", "/stations/hl-01/days/x",
                 "/stations/hl-01/months/2026-13", "/stations/hl-01/months/1900-01", "/stations/HL'--/days/2026-10-01",
                 "/stations/" + "a" * 300 + "/months/2026-10"]:
        response = admin.get(V1 + path)
        assert 400 <= response.status_code < 500, (path, response.status_code)
