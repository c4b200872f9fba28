"""Known limit: the roster of elders is the station's own gallery. `eldercare edge enrol` refuses a face that already
matches someone enrolled under another id, but `--force` (the station's to type) enrols it anyway, and the cloud
receives ids only (never a face: docs/face.md), so it cannot tell one person under two ids from two people. One
regular elder enrolled twice, recognised under either id on different days, is two elders served in the month, each
with a real crossing. Through the rules and the month roll-up, as the worker and `cloud derive` run them
(docs/derivations.md, Known limits)."""

from datetime import date, time, timedelta

from cloud.rules.config import RulesConfig
from cloud.rules.records import MonthRecord, day_record
from cloud.rules.rollup import month_record
from tests.gaming.attacks import FULL
from tests.rules.conftest import derive
from tests.rules.scenario import StationDay

TZ = "Asia/Shanghai"
DAYS = [date(2026, 10, 12) + timedelta(days=i) for i in range(5)]  # Monday to Friday


def _month(ids_by_day: list[str]) -> MonthRecord:
    """One elder walking in at 09:00 each day, the camera naming them `ids_by_day[i]` on day i."""
    records = [day_record(derive(StationDay("qd-a", day, door=FULL, visits=[(time(9), person, "elder")]).messages(),
                                 day), TZ)
               for day, person in zip(DAYS, ids_by_day, strict=True)]
    return month_record("qd-a", "2026-10", "2A", records, working_days_in_month=22, as_of=DAYS[-1],
                        month_end=date(2026, 10, 31), config=RulesConfig())


def test_known_limit_one_elder_enrolled_twice_is_two_elders_served() -> None:
    honest = _month(["e-001"] * 5)
    forced = _month(["e-001", "e-001-b", "e-001", "e-001-b", "e-001"])  # the same face, a second id by `--force`
    assert honest.elders == 1 and not honest.elders_uncorroborated
    assert forced.elders == 2 and not forced.elders_uncorroborated  # every sighting had its crossing
    assert forced.person_times == honest.person_times  # the counter saw one person a day either way
