"""The home-care tables as migrated match their models; sign-ins replayed from a phone's queue are stored once; every
list is scoped like its records (bureau all, town its towns, provider its own, caregiver its own visits)."""

from datetime import UTC, datetime, timedelta, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from cloud.homecare.records import Caregiver, Category, Elder, Location, Provider
from cloud.homecare.store.errors import HomecareError, NotFound, VisitConflict
from cloud.homecare.store.registry import (
    get_elder,
    list_caregivers,
    list_elders,
    list_providers,
    upsert_caregiver,
    upsert_elder,
    upsert_provider,
)
from cloud.homecare.store.visits import get_visit, list_visits, record_sign_in, record_sign_out, visit_record
from cloud.store.db import make_session_factory
from cloud.store.homecare import HomecareVisit
from cloud.store.models import Base
from cloud.store.users import User, UserTown

SHANGHAI = timezone(timedelta(hours=8))
NOW = datetime(2026, 10, 12, 12, 0, tzinfo=UTC)


def _diff_table(diff: object) -> str | None:
    if isinstance(diff, list):
        diff = diff[0]
    for part in diff[1:]:  # type: ignore[index]
        table = getattr(part, "table", None)
        name = getattr(table, "name", None) or (getattr(part, "name", None) if hasattr(part, "columns") else None)
        if isinstance(name, str):
            return name
    return None


def test_migration_matches_the_models(engine: Engine) -> None:
    with engine.connect() as connection:
        diffs = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    ours = [d for d in diffs if (_diff_table(d) or "").startswith("homecare_") or _diff_table(d) in ("users",
                                                                                                      "alerts")]
    assert ours == []


def _registry(session: Session) -> None:
    upsert_provider(session, Provider("p-a", "安康服务社", "汇龙镇"))
    upsert_provider(session, Provider("p-b", "乐龄服务社", "南城镇"))
    session.flush()
    upsert_caregiver(session, Caregiver("A001", "王芳", "p-a"))
    upsert_caregiver(session, Caregiver("A002", "李娟", "p-a"))
    upsert_caregiver(session, Caregiver("B001", "赵敏", "p-b"))
    upsert_elder(session, Elder("e-1", "张大爷", Category.DISABLED, "汇龙镇", "p-a", address="汇龙镇1号"))
    upsert_elder(session, Elder("e-2", "陈奶奶", Category.HIGH_AGE, "汇龙镇", "p-a"))
    upsert_elder(session, Elder("e-3", "刘奶奶", Category.SELF_CARE, "南城镇", "p-b"))
    session.flush()


def _user(role: str, *, towns: tuple[str, ...] = (), provider: str | None = None,
          caregiver: str | None = None) -> User:
    user = User(name=f"{role}-{provider or caregiver or '-'.join(towns)}", role=role, password_hash="x",
                provider_id=provider, caregiver_id=caregiver)
    user.towns = [UserTown(town=t) for t in towns]
    return user


def test_a_sign_in_replayed_from_the_offline_queue_is_stored_once(engine: Engine) -> None:
    with make_session_factory(engine).begin() as session:
        _registry(session)
        at = datetime(2026, 10, 12, 9, 0, tzinfo=SHANGHAI)
        first, new = record_sign_in(session, key="k-0000001", elder_id="e-1", caregiver_id="A001", at=at,
                                    by="wangfang", now=NOW, location=Location(32.0, 121.0, 15.0))
        again, new_again = record_sign_in(session, key="k-0000001", elder_id="e-1", caregiver_id="A001",
                                          at=at.astimezone(UTC), by="wangfang", now=NOW + timedelta(hours=1))
        assert (new, new_again) == (True, False) and again.id == first.id
        out = at + timedelta(minutes=70)
        _, changed = record_sign_out(session, key="k-0000001", at=out, now=NOW, items=["meal", "cleaning"])
        _, changed_again = record_sign_out(session, key="k-0000001", at=out, now=NOW, items=["meal"])
        assert (changed, changed_again) == (True, False)
        with pytest.raises(VisitConflict):
            record_sign_out(session, key="k-0000001", at=out + timedelta(minutes=1), now=NOW)
        with pytest.raises(VisitConflict):
            record_sign_in(session, key="k-0000001", elder_id="e-2", caregiver_id="A001", at=at, by="x",
                           now=NOW)
        assert session.scalar(select(func.count()).select_from(HomecareVisit)) == 1
        visit = visit_record(get_visit(session, _user("bureau"), "k-0000001"))
        assert visit.minutes == 70 and visit.items == ("meal", "cleaning") and visit.sign_in == at


def test_sign_ins_the_registry_does_not_allow_are_refused(engine: Engine) -> None:
    with make_session_factory(engine).begin() as session:
        _registry(session)
        at = datetime(2026, 10, 12, 9, 0, tzinfo=SHANGHAI)
        with pytest.raises(HomecareError, match="another provider"):
            record_sign_in(session, key="k-0000002", elder_id="e-3", caregiver_id="A001", at=at, by="x",
                           now=NOW)
        with pytest.raises(HomecareError, match="future"):
            record_sign_in(session, key="k-0000003", elder_id="e-1", caregiver_id="A001",
                           at=NOW + timedelta(minutes=6), by="x", now=NOW)
        with pytest.raises(HomecareError, match="key"):
            record_sign_in(session, key="short", elder_id="e-1", caregiver_id="A001", at=at, by="x", now=NOW)
        record_sign_in(session, key="k-0000004", elder_id="e-1", caregiver_id="A001", at=at, by="x", now=NOW)
        with pytest.raises(HomecareError, match="before the sign-in"):
            record_sign_out(session, key="k-0000004", at=at - timedelta(seconds=1), now=NOW)
        with pytest.raises(NotFound):  # another caregiver cannot sign out someone else's visit
            record_sign_out(session, key="k-0000004", at=at + timedelta(hours=1), now=NOW, caregiver_id="A002")


def test_every_role_sees_only_its_scope(engine: Engine) -> None:
    with make_session_factory(engine).begin() as session:
        _registry(session)
        at = datetime(2026, 10, 12, 9, 0, tzinfo=SHANGHAI)
        for key, elder, caregiver in (("v-a1-e1-0", "e-1", "A001"), ("v-a2-e2-0", "e-2", "A002"),
                                      ("v-b1-e3-0", "e-3", "B001")):
            record_sign_in(session, key=key, elder_id=elder, caregiver_id=caregiver, at=at, by="x", now=NOW)

        def seen(user: User) -> tuple[list[str], list[str], list[str], list[str]]:
            return ([e.id for e in list_elders(session, user)],
                    [p.id for p in list_providers(session, user)],
                    [c.id for c in list_caregivers(session, user)],
                    [v.key for v in list_visits(session, user)])

        assert seen(_user("bureau")) == (["e-1", "e-2", "e-3"], ["p-a", "p-b"], ["A001", "A002", "B001"],
                                         ["v-a1-e1-0", "v-a2-e2-0", "v-b1-e3-0"])
        assert seen(_user("town", towns=("南城镇",))) == (["e-3"], ["p-b"], ["B001"], ["v-b1-e3-0"])
        assert seen(_user("provider", provider="p-a")) == (["e-1", "e-2"], ["p-a"], ["A001", "A002"],
                                                          ["v-a1-e1-0", "v-a2-e2-0"])
        assert seen(_user("caregiver", caregiver="A002")) == (["e-2"], ["p-a"], ["A002"], ["v-a2-e2-0"])
        for outsider in (_user("station"), _user("dispatch"), _user("town"), _user("provider"), _user("caregiver")):
            assert seen(outsider) == ([], [], [], [])
        with pytest.raises(NotFound):
            get_visit(session, _user("caregiver", caregiver="A001"), "v-a2-e2-0")
        with pytest.raises(NotFound):
            get_elder(session, _user("provider", provider="p-b"), "e-1")
