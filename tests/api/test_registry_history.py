"""The dashboard's station edits and CSV import keep each version of a station's hours and grade, from the day of the
change in the station's zone (the API's clock: Monday 12 October 2026, 10:00 in Shanghai), and the bureau can list
them; a change of name only, or an unchanged import, makes none."""

from collections.abc import Callable

from fastapi.testclient import TestClient

V1 = "/api/v1"
TODAY = "2026-10-12"
HL01 = {"name": "汇龙一站", "town": "汇龙镇", "grade": "3A", "weekdays": "1-5", "hours": "08:30-11:30 13:30-17:00",
        "address": "汇龙镇汇龙一站路1号"}


def _versions(client: TestClient, station: str) -> list[tuple[str, str, str]]:
    response = client.get(f"{V1}/registry/stations/{station}/schedules")
    assert response.status_code == 200, response.text
    return [(v["effective_from"], v["hours"], v["grade"]) for v in response.json()]


def test_an_edit_on_the_page_starts_a_version_today_and_keeps_the_old_one(
        as_user: Callable[[str], TestClient]) -> None:
    admin = as_user("admin")
    # Registered before the history was kept: its current values are its only version.
    assert _versions(admin, "hl-01") == [("1970-01-01", "08:30-11:30 13:30-17:00", "3A")]
    assert admin.put(f"{V1}/registry/stations/hl-01", json={**HL01, "name": "汇龙一站（改）"}).status_code == 200
    assert _versions(admin, "hl-01") == [("1970-01-01", "08:30-11:30 13:30-17:00", "3A")]
    edited = admin.put(f"{V1}/registry/stations/hl-01", json={**HL01, "hours": "09:00-11:00"})
    assert edited.status_code == 200, edited.text
    assert _versions(admin, "hl-01") == [("1970-01-01", "08:30-11:30 13:30-17:00", "3A"),
                                         (TODAY, "09:00-11:00", "3A")]
    assert admin.get(f"{V1}/registry/stations/nope-01/schedules").status_code == 404
    for user in ("town-hl", "staff-hl1", "dispatch"):
        assert as_user(user).get(f"{V1}/registry/stations/hl-01/schedules").status_code == 403, user


def test_the_page_import_makes_versions_and_an_unchanged_import_none(as_user: Callable[[str], TestClient]) -> None:
    admin = as_user("admin")
    text = "station_id,name,town,grade,weekdays,hours\nhl-09,汇龙九站,汇龙镇,3A,1-5,08:00-17:00\n"

    def upload(body: str) -> tuple[int, int, int]:
        done = admin.post(f"{V1}/registry/stations/import", content=body.encode("utf-8"),
                          headers={"Content-Type": "text/csv"}).json()
        return done["added"], done["updated"], done["unchanged"]

    assert upload(text) == (1, 0, 0)
    assert _versions(admin, "hl-09") == [(TODAY, "08:00-17:00", "3A")]
    assert upload(text) == (0, 0, 1)
    assert _versions(admin, "hl-09") == [(TODAY, "08:00-17:00", "3A")]
    # Regraded the same day: that day's version is replaced, not added to.
    assert upload(text.replace(",3A,", ",2A,")) == (0, 1, 0)
    assert _versions(admin, "hl-09") == [(TODAY, "08:00-17:00", "2A")]


def test_a_regrade_leaves_the_grade_of_the_years_before_it(as_user: Callable[[str], TestClient]) -> None:
    admin = as_user("admin")
    assert admin.put(f"{V1}/registry/stations/hl-01", json={**HL01, "grade": "4A"}).status_code == 200

    def grade(year: int) -> str:
        rows = admin.get(f"{V1}/assessments/{year}").json()
        return str(next(r["grade"] for r in rows if r["station"] == "hl-01"))

    # The 2025 assessment (and its subsidy) is by the grade in force at its end; 2026's by the new one.
    assert (grade(2025), grade(2026)) == ("3A", "4A")
