"""`eldercare demo`'s home care: the simulated providers' last four weeks in the demo's store."""

from collections.abc import Callable
from datetime import datetime, timedelta

from cloud.homecare.simulate import ZONE, load, simulate


def seed_demo(database: str, now: datetime, say: "Callable[[str], None]", password: str) -> None:
    """`eldercare demo`: the simulated providers' last four weeks in the store, the worker's home-care pass run once
    (fraud alerts to 汇龙镇, follow-up samples), and logins for a provider's manager and a caregiver."""
    from cloud.api.security import hash_password
    from cloud.homecare.supervise import homecare_pass
    from cloud.rules.config import RulesConfig
    from cloud.store.db import make_engine, make_session_factory
    from cloud.store.users import User

    local = now.astimezone(ZONE).date()
    sim = simulate(local - timedelta(days=28), 28)
    engine = make_engine(database)
    try:
        with make_session_factory(engine).begin() as session:
            load(session, sim, now, by="demo (simulated history)")
            for name, provider, caregiver in (("kangle", "p-kangle", None), ("carer1", None, "K01")):
                session.add(User(name=name, role="caregiver" if caregiver else "provider",
                                 password_hash=hash_password(password), provider_id=provider, caregiver_id=caregiver))
        with make_session_factory(engine).begin() as session:
            stats = homecare_pass(session, RulesConfig().homecare, now, "Asia/Shanghai")
    finally:
        engine.dispose()
    say(f"home care: {len(sim.visits)} visits of {len(sim.elders)} elders seeded, {stats.signals} fraud signals "
        "raised to 汇龙镇; logins kangle (provider), carer1 (caregiver)")
