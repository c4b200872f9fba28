"""Two providers in two towns, their caregivers and elders, and a login for each: the people the visit tests use."""

from sqlalchemy import Engine

from cloud.api.security import hash_password
from cloud.homecare.records import Caregiver, Category, Elder, Provider
from cloud.homecare.store.registry import upsert_caregiver, upsert_elder, upsert_provider
from cloud.store.db import make_session_factory
from cloud.store.users import User, UserTown
from tests.api.conftest import PASSWORD

PROVIDERS = [Provider("p-hl", "汇龙颐康居家服务中心", "汇龙镇"), Provider("p-nh", "南阳安心养老服务社", "南阳镇")]
CAREGIVERS = [
    Caregiver("HL001", "王芳", "p-hl"), Caregiver("HL002", "李强", "p-hl"), Caregiver("NH001", "赵敏", "p-nh"),
]
ELDERS = [
    Elder("E-HL-1", "张秀英", Category.DISABLED, "汇龙镇", "p-hl", address="汇龙镇人民路18号"),
    Elder("E-HL-2", "陈德明", Category.HIGH_AGE, "汇龙镇", "p-hl", address="汇龙镇江海路3号"),
    Elder("E-NH-1", "周桂兰", Category.SELF_CARE, "南阳镇", "p-nh", address="南阳镇南阳街7号"),
]
# name: (role, towns, provider, caregiver)
LOGINS: dict[str, tuple[str, tuple[str, ...], str | None, str | None]] = {
    "prov-hl": ("provider", (), "p-hl", None),
    "prov-nh": ("provider", (), "p-nh", None),
    "cg-hl1": ("caregiver", (), "p-hl", "HL001"),
    "cg-hl2": ("caregiver", (), "p-hl", "HL002"),
    "cg-nh1": ("caregiver", (), "p-nh", "NH001"),
}


def seed_homecare(engine: Engine) -> None:
    with make_session_factory(engine)() as session:
        for provider in PROVIDERS:
            upsert_provider(session, provider)
        session.flush()
        for caregiver in CAREGIVERS:
            upsert_caregiver(session, caregiver)
        for elder in ELDERS:
            upsert_elder(session, elder)
        pw = hash_password(PASSWORD)
        for name, (role, towns, provider_id, caregiver_id) in LOGINS.items():
            user = User(name=name, role=role, password_hash=pw, provider_id=provider_id, caregiver_id=caregiver_id)
            user.towns = [UserTown(town=t) for t in towns]
            session.add(user)
        session.commit()
