from datetime import date, time

from cloud.rules.config import RulesConfig
from cloud.rules.spotcheck import SpotResult, draw, judge, vetoes
from tests.rules.conftest import derive
from tests.rules.scenario import StationDay

MONDAY = date(2026, 10, 12)
CONFIG = RulesConfig()


def check(sd: StationDay, start: time, end: time, **kw: object) -> SpotResult:
    return judge(derive(sd.messages(), sd.day, **kw), start, end, "Asia/Shanghai", CONFIG).result  # type: ignore[arg-type]


def test_open_station_passes() -> None:
    sd = StationDay("qd-a", MONDAY, door=[(time(8, 20), time(17, 10))])
    assert check(sd, time(9, 0), time(10, 0)) is SpotResult.PASS


def test_closed_station_fails() -> None:
    assert check(StationDay("qd-a", MONDAY), time(9, 0), time(10, 0)) is SpotResult.FAIL


def test_offline_station_is_unverifiable_not_failed() -> None:
    sd = StationDay("qd-a", MONDAY, offline=[(time(8, 0), time(12, 0))])
    assert check(sd, time(9, 0), time(10, 0)) is SpotResult.UNVERIFIABLE


def test_excused_day_is_not_a_failure() -> None:
    assert check(StationDay("qd-a", MONDAY), time(9, 0), time(10, 0),
                 exceptions={MONDAY: "renovation"}) is SpotResult.EXCUSED


def test_window_in_the_lunch_break_checks_nothing() -> None:
    assert check(StationDay("qd-a", MONDAY), time(12, 0), time(13, 0)) is SpotResult.EXCUSED


def test_station_open_after_the_window_still_fails_it() -> None:
    sd = StationDay("qd-a", MONDAY, door=[(time(10, 30), time(17, 0))])
    assert check(sd, time(9, 0), time(10, 0)) is SpotResult.FAIL


def test_veto_at_exactly_the_third_failure() -> None:
    fails = [("qd-a", date(2026, m, 5), SpotResult.FAIL) for m in (3, 6, 9)]
    others = [("qd-a", date(2026, 4, 1), SpotResult.PASS), ("qd-a", date(2026, 5, 1), SpotResult.UNVERIFIABLE),
              ("qd-a", date(2026, 7, 1), SpotResult.EXCUSED)]
    two = vetoes([*fails[:2], *others], CONFIG)
    assert [(v.failed, v.veto) for v in two] == [(2, False)]
    three = vetoes([*fails, *others], CONFIG)
    assert [(v.failed, v.veto) for v in three] == [(3, True)]


def test_failures_count_per_year() -> None:
    results = [("qd-a", date(2025, 12, 1), SpotResult.FAIL), ("qd-a", date(2026, 1, 5), SpotResult.FAIL),
               ("qd-a", date(2026, 2, 5), SpotResult.FAIL)]
    assert [(v.year, v.failed, v.veto) for v in vetoes(results, CONFIG)] == [(2025, 1, False), (2026, 2, False)]


def test_random_draw_is_reproducible_from_its_seed() -> None:
    population = [f"st-{i:03d}" for i in range(200)]
    first = draw(population, 10, seed=20261012)
    assert first == draw(list(reversed(population)), 10, seed=20261012)
    assert len(set(first)) == 10 and set(first) <= set(population)
    assert first != draw(population, 10, seed=20261013)
