"""The veto counts the bureau's spot checks: "民政局每季度对运营情况进行抽查", and the veto is
"抽查有三次以上（含三次）未对外开放". A town's checks of its own stations are judged and alert the town like any
check, but they are its own supervision and do not count toward the veto, unless the rules say the county's towns
check on the bureau's behalf. On a real store (SQLite and PostgreSQL), fed through ingest."""

from datetime import date, time

from sqlalchemy import Engine, select

from cloud.derive.plans import create_plan
from cloud.derive.rederive import rederive_range
from cloud.derive.runner import Partition, run_pass
from cloud.rules.calendar import PACKAGE
from cloud.rules.config import RulesConfig
from cloud.store.db import make_session_factory
from cloud.store.derived import SpotCheckResult, Veto
from cloud.store.models import Alert
from tests.derive.conftest import feed
from tests.derive.test_worker import NOW

# qd-a opens at 09:20 on the 13th and not at all on the 14th: two failed days. Two failures set the veto here, so
# that the fortnight's data can show it.
TWO = RulesConfig(veto_failures=2)
CHECKS = ((date(2026, 10, 13), time(8, 30), time(9, 30)), (date(2026, 10, 14), time(9), time(10)))


def _plan(engine: Engine, planner_role: str) -> None:
    with make_session_factory(engine)() as session:
        for day, start, end in CHECKS:
            create_plan(session, day=day, start=start, end=end, scope="stations", stations=["qd-a"],
                        created_by=f"{planner_role}-officer", planner_role=planner_role, now=NOW)
        session.commit()


def _veto(engine: Engine) -> tuple[int, bool | None] | None:
    with make_session_factory(engine)() as session:
        row = session.get(Veto, ("qd-a", 2026))
        return None if row is None else (row.failed, row.veto)


def test_a_towns_own_failed_checks_do_not_set_the_veto(store: Engine, messages: list[tuple[str, bytes]]) -> None:
    feed(store, messages)
    _plan(store, "town")
    factory = make_session_factory(store)
    assert run_pass(factory, Partition(), TWO, NOW).errors == 0
    with factory() as session:
        assert sorted(r.result for r in session.scalars(select(SpotCheckResult))) == ["fail", "fail"]
        assert len(session.scalars(select(Alert).where(Alert.kind == "spot_check_closed")).all()) == 2
    assert _veto(store) == (0, False)
    # A county whose towns check on the bureau's behalf says so in its rules; `cloud rederive` re-counts.
    delegated = TWO.model_copy(update={"veto_counts_town_checks": True})
    rederive_range(factory, date(2026, 10, 1), date(2026, 10, 16), ["qd-a"], delegated, PACKAGE, NOW)
    assert _veto(store) == (2, True)


def test_the_bureaus_failed_checks_set_the_veto(store: Engine, messages: list[tuple[str, bytes]]) -> None:
    feed(store, messages)
    _plan(store, "bureau")
    assert run_pass(make_session_factory(store), Partition(), TWO, NOW).errors == 0
    assert _veto(store) == (2, True)
