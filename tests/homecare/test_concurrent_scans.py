"""A caregiver's scans and an elder's codes written by two API processes at once, on one PostgreSQL (see
tests/api/races.py for how each race is provoked): a phone resending a sign-in while the first request is still
being stored gets the same visit back (a 409 would make it drop the scan, and its open visit with it); two sign-outs
of one visit, two overlapping visits, or two issues of an elder's code cannot both be stored. A town's record
written twice at once (a made-up month, a quarter's survey: an officer's double click, or two officers) is one row
with the later values, as one after the other, not a key conflict for the second."""

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from cloud.homecare import qrtokens, supervise
from cloud.homecare.qrtokens import CodeConflict
from cloud.homecare.store.errors import VisitConflict
from cloud.homecare.store.made_up import record_made_up_month
from cloud.homecare.store.visits import record_sign_in, record_sign_out
from cloud.store.db import make_engine, make_session_factory
from cloud.store.homecare import (
    HomecareCaregiver,
    HomecareElder,
    HomecareVisit,
    MadeUpMonthRow,
    QrToken,
    TownSurvey,
)
from cloud.store.migrate import upgrade
from tests.api.homecare_people import seed_homecare
from tests.api.races import race, race_on_sqlite

NOW = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
START = NOW - timedelta(hours=3)


@pytest.fixture
def pg(postgres_url: str) -> Iterator[Engine]:
    engine = make_engine(postgres_url)
    upgrade(engine)
    seed_homecare(engine)
    yield engine
    engine.dispose()


def _sign_in(session: Session, key: str, at: datetime = START) -> tuple[HomecareVisit, bool]:
    return record_sign_in(session, key=key, elder_id="E-HL-1", caregiver_id="HL001", at=at, by="cg-hl1",
                          now=NOW)


def _in_other_process(engine: Engine, write: Callable[[Session], Any]) -> Any:
    """`write(session)` in a session of its own, committed: the second API process's request."""
    with make_session_factory(engine).begin() as session:
        result = write(session)
        if isinstance(result, tuple):  # a visit and whether it was new: read what is needed before commit
            return (result[0].key, result[1])
        return result


def test_a_sign_in_resent_while_the_first_is_being_stored_is_the_same_visit(pg: Engine) -> None:
    answer = race(pg, lambda s: _sign_in(s, "phone-key-0001"),
                  lambda: _in_other_process(pg, lambda s: _sign_in(s, "phone-key-0001")))
    assert answer == ("phone-key-0001", False)  # the stored visit, a replay: the phone keeps its open visit
    with make_session_factory(pg)() as session:
        assert session.scalar(select(func.count()).select_from(HomecareVisit)) == 1


def test_two_sign_outs_of_one_visit_at_different_times_cannot_both_be_stored(pg: Engine) -> None:
    with make_session_factory(pg).begin() as session:
        _sign_in(session, "phone-key-0002")
    first_out, other_out = START + timedelta(minutes=70), START + timedelta(minutes=95)
    with pytest.raises(VisitConflict, match="already signed out"):
        race(pg, lambda s: record_sign_out(s, key="phone-key-0002", at=first_out, now=NOW),
             lambda: _in_other_process(pg, lambda s: record_sign_out(s, key="phone-key-0002", at=other_out,
                                                                     now=NOW)))
    with make_session_factory(pg)() as session:
        visit = session.scalars(select(HomecareVisit)).one()
        assert visit.sign_out_at == first_out


def test_two_overlapping_visits_sent_at_once_are_not_both_counted(pg: Engine) -> None:
    # The same caregiver, the same elder, the same hour under two keys (two phones, or one replayed): paid twice if
    # both stood.
    def visit(session: Session, key: str, start: datetime) -> tuple[HomecareVisit, bool]:
        _sign_in(session, key, start)
        return record_sign_out(session, key=key, at=start + timedelta(minutes=70), now=NOW)

    with pytest.raises(VisitConflict, match="already have visit 'phone-key-0003'"):
        race(pg, lambda s: visit(s, "phone-key-0003", START),
             lambda: _in_other_process(pg, lambda s: visit(s, "phone-key-0004", START + timedelta(minutes=10))))
    with make_session_factory(pg)() as session:
        assert list(session.scalars(select(HomecareVisit.key))) == ["phone-key-0003"]


def test_two_issues_of_an_elders_code_at_once_leave_one_code(pg: Engine) -> None:
    def issue(session: Session) -> str:
        elder = session.get(HomecareElder, "E-HL-1")
        assert elder is not None
        return qrtokens.issue(session, elder, "town-hl", NOW).id

    with pytest.raises(CodeConflict, match="already has a code"):
        race(pg, issue, lambda: _in_other_process(pg, issue))
    with make_session_factory(pg)() as session:
        assert session.scalar(select(func.count()).select_from(QrToken).where(QrToken.revoked_at.is_(None))) == 1


def test_two_reissues_at_once_leave_one_code_standing(pg: Engine) -> None:
    def reissue(session: Session) -> str:
        elder = session.get(HomecareElder, "E-HL-1")
        assert elder is not None
        return qrtokens.reissue(session, elder, "town-hl", NOW).id

    second = race(pg, reissue, lambda: _in_other_process(pg, reissue))
    with make_session_factory(pg)() as session:
        standing = list(session.scalars(select(QrToken.id).where(QrToken.revoked_at.is_(None))))
        assert standing == [second]  # the later re-issue revoked the earlier one's code


def test_the_lock_on_sqlite_changes_nothing_it_holds(tmp_path: Path) -> None:
    # On SQLite the lock is a write that sets the row to itself: the caregiver's `updated_at` must not move with
    # every scan.
    engine = make_engine(f"sqlite:///{tmp_path}/store.db")
    upgrade(engine)
    seed_homecare(engine)
    with make_session_factory(engine)() as session:
        before = session.scalars(select(HomecareCaregiver.updated_at).where(HomecareCaregiver.id == "HL001")).one()
    with make_session_factory(engine).begin() as session:
        _sign_in(session, "phone-key-0005")
    with make_session_factory(engine)() as session:
        after = session.scalars(select(HomecareCaregiver.updated_at).where(HomecareCaregiver.id == "HL001")).one()
        assert after == before and session.scalar(select(func.count()).select_from(HomecareVisit)) == 1
    engine.dispose()


def _made_up(reason: str) -> Callable[[Session], object]:
    return lambda session: record_made_up_month(session, "E-HL-1", "2026-10", reason, "town-hl", NOW)


def _survey(satisfied: int) -> Callable[[Session], object]:
    return lambda session: supervise.record_survey(session, town="汇龙镇", provider_id="p-hl", year=2026, quarter=3,
                                                   respondents=20, satisfied=satisfied, by="town-hl", now=NOW)


def _town_records(engine: Engine) -> tuple[list[str], list[int]]:
    with make_session_factory(engine)() as session:
        return (list(session.scalars(select(MadeUpMonthRow.reason))),
                list(session.scalars(select(TownSurvey.satisfied))))


def test_a_town_record_written_twice_at_once_is_one_row_with_the_later_values(pg: Engine) -> None:
    race(pg, _made_up("在医院住院"), lambda: _in_other_process(pg, lambda s: _made_up("住院治疗")(s) and None))
    race(pg, _survey(15), lambda: _in_other_process(pg, lambda s: _survey(17)(s) and None))
    assert _town_records(pg) == (["住院治疗"], [17])


def test_on_sqlite_a_town_record_written_twice_at_once_is_one_row(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/store.db")
    upgrade(engine)
    seed_homecare(engine)
    race_on_sqlite(engine, _made_up("在医院住院"),
                   lambda: _in_other_process(engine, lambda s: _made_up("住院治疗")(s) and None))
    race_on_sqlite(engine, _survey(15), lambda: _in_other_process(engine, lambda s: _survey(17)(s) and None))
    assert _town_records(engine) == (["住院治疗"], [17])
    engine.dispose()
