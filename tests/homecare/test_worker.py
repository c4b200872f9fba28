"""The worker's home-care pass over a simulated month in the store: each fraud pattern an alert to its elders'
town with its evidence, raised once; the follow-up samples drawn at least 10 % with a recorded seed; satisfaction and
complaint alerts; a late sign-out clearing its alert."""

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from sqlalchemy import Engine, func, select

from cloud.api.scope import alert_condition
from cloud.homecare import followup, supervise
from cloud.homecare.config import HomecareConfig
from cloud.homecare.records import Satisfaction
from cloud.homecare.simulate import HomecareSim, load, simulate
from cloud.homecare.store.visits import get_visit, record_sign_in, record_sign_out
from cloud.rules.config import RulesConfig
from cloud.store.db import make_session_factory
from cloud.store.homecare import FollowUpSample, HomecareVisit
from cloud.store.models import Alert, Station
from cloud.store.users import User, UserTown

CST = timezone(timedelta(hours=8))
CONFIG = HomecareConfig()
ZONE = "Asia/Shanghai"
LOADED = datetime(2026, 11, 1, 1, 0, tzinfo=CST)
NOW = datetime(2026, 11, 2, 9, 0, tzinfo=CST)


def _seed(engine: Engine) -> HomecareSim:
    sim = simulate(date(2026, 10, 1), 31, 17)
    with make_session_factory(engine).begin() as session:
        load(session, sim, LOADED)
    return sim


def _officer(town: str) -> User:
    user = User(name=f"officer-{town}", role="town", password_hash="x")
    user.towns = [UserTown(town=town)]
    return user


def test_each_fraud_pattern_is_an_alert_to_the_providers_town(engine: Engine) -> None:
    sim = _seed(engine)
    factory = make_session_factory(engine)
    with factory.begin() as session:
        stats = supervise.homecare_pass(session, CONFIG, NOW, ZONE)
    assert stats.signals == sum(len(v) for v in sim.planted.values())
    with factory() as session:
        alerts = {a.cause_key: a for a in session.scalars(select(Alert).where(Alert.kind.like("homecare_%")))}
        planted = {key: kind for kind, keys in sim.planted.items() for key in keys}
        assert {k: a.kind for k, a in alerts.items() if k in planted} == planted
        assert set(alerts) == set(planted)  # nothing else: no satisfaction data yet, no complaints
        for alert in alerts.values():
            assert alert.town == "汇龙镇" and alert.station_id is None and alert.level == "town"
            assert alert.evidence and alert.evidence["provider"] == "p-kangle"
        double = next(a for a in alerts.values() if a.kind == "homecare_double_booked")
        assert double.evidence is not None and double.evidence["overlap_minutes"] == 40.0
        first, second = double.evidence["visits"]
        assert first["caregiver"] == second["caregiver"] == "K03" and first["elder"] != second["elder"]

        def seen(user: User) -> set[str]:
            query = select(Alert.cause_key).outerjoin(Station, Station.id == Alert.station_id)
            return set(session.scalars(query.where(alert_condition(user), Alert.kind.like("homecare_%"))))

        assert seen(_officer("汇龙镇")) == set(planted)
        assert seen(_officer("南阳镇")) == set()
        assert seen(User(name="p", role="provider", password_hash="x", provider_id="p-kangle")) == set()
    with factory.begin() as session:  # a second pass raises nothing new
        supervise.homecare_pass(session, CONFIG, NOW + timedelta(minutes=5), ZONE)
    with factory() as session:
        assert len(session.scalars(select(Alert).where(Alert.kind.like("homecare_%"))).all()) == len(planted)


def test_a_late_sign_out_clears_its_no_sign_out_alert(engine: Engine) -> None:
    sim = _seed(engine)
    factory = make_session_factory(engine)
    with factory.begin() as session:
        supervise.homecare_pass(session, CONFIG, NOW, ZONE)
    [key] = sim.planted["homecare_no_sign_out"]
    visit_key = key.removeprefix("hc-nosignout:")
    with factory.begin() as session:
        visit = get_visit(session, User(name="b", role="bureau", password_hash="x"), visit_key)
        record_sign_out(session, key=visit_key, at=visit.sign_in_at + timedelta(minutes=75), now=NOW)
        supervise.homecare_pass(session, CONFIG, NOW + timedelta(minutes=1), ZONE)
    with factory() as session:
        alert = session.scalars(select(Alert).where(Alert.cause_key == key)).one()
        assert alert.status == "resolved" and "signed out" in (alert.notes or "")


def test_the_days_samples_are_at_least_ten_percent_and_reproducible(engine: Engine) -> None:
    _seed(engine)
    factory = make_session_factory(engine)
    with factory.begin() as session:
        supervise.homecare_pass(session, CONFIG, NOW, ZONE)
    with factory() as session:
        samples = session.scalars(select(FollowUpSample).order_by(FollowUpSample.day)).all()
        days_with_orders = {v.sign_in_at.astimezone(CST).date() for v in session.scalars(select(HomecareVisit))}
        assert {s.day for s in samples} == days_with_orders
        for sample in samples:
            keys = supervise.day_orders(session, sample.day, ZONE)
            assert sample.orders == len(keys) and len(sample.visit_keys) >= 0.10 * len(keys) > 0
            assert followup.draw_sample(keys, sample.seed, sample.share) == sample.visit_keys
            assert sample.drawn_by == "worker" and len(sample.seed) == 16


def test_an_order_arriving_after_the_draw_is_topped_up(engine: Engine) -> None:
    sim = _seed(engine)
    factory = make_session_factory(engine)
    with factory.begin() as session:
        supervise.homecare_pass(session, CONFIG, NOW, ZONE)
    with factory.begin() as session:
        before = session.scalars(select(FollowUpSample).order_by(FollowUpSample.day)).first()
        assert before is not None
        day = before.day
        drawn, orders = list(before.visit_keys), before.orders
        elder = next(e for e in sim.elders if e.provider == "p-kangle")
        caregiver = next(c for c in sim.caregivers if c.provider == "p-kangle")
        for i in range(10):  # a provider holding ten orders back until after the draw
            start = datetime.combine(day, datetime.min.time(), CST) + timedelta(hours=20, minutes=i)
            record_sign_in(session, key=f"late-order-{i:02d}", elder_id=elder.id,
                           caregiver_id=caregiver.id, at=start, by="x", now=NOW)
        supervise.homecare_pass(session, CONFIG, NOW + timedelta(minutes=1), ZONE)
    with factory() as session:
        after = session.get(FollowUpSample, day)
        assert after is not None and after.orders == orders + 10
        assert after.visit_keys[:len(drawn)] == drawn and len(after.visit_keys) >= 0.1 * after.orders


def test_satisfaction_and_complaint_alerts_for_the_last_month(engine: Engine) -> None:
    _seed(engine)
    factory = make_session_factory(engine)
    with factory.begin() as session:
        visits = session.scalars(select(HomecareVisit).where(HomecareVisit.provider_id == "p-leling")
                                 .order_by(HomecareVisit.id)).all()
        answers = [Satisfaction.SATISFIED] * 8 + [Satisfaction.UNSATISFIED] * 2  # 80 %: below 85 %
        for visit, answer in zip(visits, answers, strict=False):
            supervise.record_followup(session, visit, by="回访员", by_role="platform", called_at=LOADED,
                                      reached=True, satisfaction=answer, notes="", now=LOADED)
        # A provider's own glowing calls do not count toward its satisfaction.
        for visit in visits:
            supervise.record_followup(session, visit, by="p-leling", by_role="provider", called_at=LOADED,
                                      reached=True, satisfaction=Satisfaction.SATISFIED, notes="", now=LOADED)
        complaint = supervise.record_complaint(session, provider_id="p-leling", text="护理员迟到一小时",
                                               received_at=datetime(2026, 10, 20, 10, tzinfo=CST), by="回访员")
        supervise.decide_complaint(complaint, valid=True, by="town1", reason="核实属实", now=LOADED)
        supervise.homecare_pass(session, CONFIG, NOW, ZONE)
    with factory() as session:
        rates = {a.kind: a for a in session.scalars(select(Alert).where(Alert.cause_key.like("hc-%:p-leling:%")))}
        assert set(rates) == {"homecare_satisfaction", "homecare_complaints"}
        sat = rates["homecare_satisfaction"].evidence
        assert sat is not None and sat["satisfaction"] == 0.8 and sat["satisfaction_consequence"] == "may_terminate"
        assert sat["answers"] == 10
        # A provider's figures over all its towns are the bureau's (the district's contract); the complaint names no
        # elder, so it is no town's and no town's own figures are raised.
        for alert in rates.values():
            assert (alert.town, alert.level) == (None, "bureau")
        com = rates["homecare_complaints"].evidence
        assert com is not None and com["valid_complaints"] == 1 and com["complaint_consequence"] == "rectify"
        assert com["complaint_rate"] == round(1 / len(visits), 4)


def test_the_worker_runs_the_pass_with_the_rules_files_numbers(engine: Engine) -> None:
    from cloud.derive.runner import Partition, run_pass

    _seed(engine)
    stats = run_pass(make_session_factory(engine), Partition(), RulesConfig.model_validate(
        {"homecare": {"no_sign_out_hours": 24 * 60, "late_upload_visits": 100}}), NOW.astimezone(UTC))
    # No order is 60 days without a sign-out, and no caregiver sends 100 visits late in a month.
    assert stats.homecare.signals == 4 and stats.homecare.samples > 0


def test_a_day_drawn_by_another_process_meanwhile_is_kept_not_a_crash(engine: Engine,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    # `eldercare demo` runs a home-care pass right after seeding, beside serve's worker (and the bureau can draw a day
    # on the API while the worker does): a second draw of the same day once stopped the demo with "UNIQUE
    # constraint failed: homecare_followup_samples.day". The first draw stands with its seed; the other tops it up.
    _seed(engine)
    factory = make_session_factory(engine)
    real_draw = followup.draw_sample
    other: dict[date, list[str]] = {}

    def draw_while_another_process_draws(keys: list[str], seed: str, share: float,
                                         already: tuple[str, ...] | list[str] = ()) -> list[str]:
        if not other:  # the other process's first draw commits between this one's look and its write
            with factory.begin() as rival:
                day = min(v.sign_in_at.astimezone(CST).date() for v in rival.scalars(select(HomecareVisit)))
                rival_keys = supervise.day_orders(rival, day, ZONE)
                other[day] = real_draw(rival_keys, "rival-seed", 0.1)
                rival.add(FollowUpSample(day=day, seed="rival-seed", share=0.1, orders=len(rival_keys),
                                         visit_keys=other[day], drawn_by="api", drawn_at=NOW))
        return real_draw(keys, seed, share, already)

    monkeypatch.setattr(followup, "draw_sample", draw_while_another_process_draws)
    with factory.begin() as session:
        supervise.homecare_pass(session, CONFIG, NOW, ZONE)
    ((day, drawn),) = other.items()
    with factory() as session:
        sample = session.get(FollowUpSample, day)
        assert sample is not None and sample.seed == "rival-seed" and sample.drawn_by == "api"
        assert sample.visit_keys == drawn and sample.orders == len(supervise.day_orders(session, day, ZONE))
        assert (session.scalar(select(func.count()).select_from(FollowUpSample)) or 0) > 1  # the other days too
