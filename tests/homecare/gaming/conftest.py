"""A caregiver or provider gaming home care, through the API served for real (uvicorn on a free 127.0.0.1 port,
httpx as the phone and the dashboards): the registry of tests/api/homecare_people.py, a domain clock the test moves,
and the worker's home-care pass run on the same store."""

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from cloud.api.app import create_app
from cloud.api.config import ApiConfig
from cloud.homecare.config import HomecareConfig
from cloud.homecare.supervise import homecare_pass
from cloud.store.db import make_session_factory
from tests.api.conftest import NOW, PASSWORD, migrated, settings_for
from tests.api.homecare_people import seed_homecare
from tests.api.server import serve

ZONE = "Asia/Shanghai"


class HomeCare:
    """The served API as each user sees it, with the domain clock at `now` (tokens run on real time)."""

    def __init__(self, base: str, engine: Engine) -> None:
        self.base, self.engine, self.now = base, engine, NOW
        self._clients: dict[str, httpx.Client] = {}

    def as_(self, name: str) -> httpx.Client:
        if name not in self._clients:
            client = httpx.Client(base_url=self.base + "/api/v1", timeout=20)
            token = client.post("/auth/token", data={"username": name, "password": PASSWORD})
            assert token.status_code == 200, token.text
            client.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
            self._clients[name] = client
        return self._clients[name]

    def close(self) -> None:
        for client in self._clients.values():
            client.close()

    def code(self, elder: str, by: str | None = None) -> str:
        """The elder's standing code as printed on the card (issued by the elder's provider if none stands)."""
        by = by or ("prov-nh" if elder.startswith("E-NH-") else "prov-hl")
        response = self.as_(by).get(f"/homecare/elders/{elder}/qr")
        assert response.status_code == 200, response.text
        if response.json()["text"] is None:
            response = self.as_(by).post(f"/homecare/elders/{elder}/qr")
            assert response.status_code == 201, response.text
        text: str = response.json()["text"]
        return text

    def sign_in(self, who: str, elder: str, key: str, at: datetime, **extra: Any) -> httpx.Response:
        return self.as_(who).post("/homecare/visits/sign-in", json={
            "key": key, "qr": self.code(elder), "at": at.isoformat(), **extra})

    def sign_out(self, who: str, elder: str, key: str, at: datetime, items: tuple[str, ...] = ("meal",),
                 **extra: Any) -> httpx.Response:
        return self.as_(who).post("/homecare/visits/sign-out", json={
            "visit_key": key, "qr": self.code(elder), "at": at.isoformat(), "items": list(items), **extra})

    def visit(self, who: str, elder: str, key: str, start: datetime, minutes: float, **extra: Any) -> None:
        """A whole visit sent as it happened (the domain clock at each scan)."""
        self.now = start
        response = self.sign_in(who, elder, key, start, **extra)
        assert response.status_code == 201, response.text
        end = start + timedelta(minutes=minutes)
        self.now = end
        response = self.sign_out(who, elder, key, end, **extra)
        assert response.status_code == 200, response.text

    def worker_pass(self, config: HomecareConfig | None = None) -> None:
        with make_session_factory(self.engine)() as session:
            homecare_pass(session, config or HomecareConfig(), self.now, ZONE)
            session.commit()

    def alerts(self, kind: str, user: str = "town-hl") -> list[dict[str, Any]]:
        response = self.as_(user).get("/alerts", params={"kind": kind})
        assert response.status_code == 200, response.text
        found: list[dict[str, Any]] = response.json()
        return found

    def elder_month(self, elder: str, month: str) -> dict[str, Any]:
        response = self.as_("admin").get(f"/homecare/figures/elders/{month}")
        assert response.status_code == 200, response.text
        lines = [m for m in response.json()["months"] if m["elder"] == elder and m["month"] == month]
        assert len(lines) == 1, lines
        line: dict[str, Any] = lines[0]
        return line


@pytest.fixture
def hc(tmp_path: Path) -> Iterator[HomeCare]:
    engine = migrated(f"sqlite:///{tmp_path / 'hc.db'}")
    seed_homecare(engine)
    holder: list[HomeCare] = []
    app = create_app(settings_for(tmp_path), config=ApiConfig(clock=lambda: holder[0].now, stream_poll_s=0.05),
                     engine=engine)
    try:
        with serve(app) as base:
            holder.append(HomeCare(base, engine))
            yield holder[0]
            holder[0].close()
    finally:
        engine.dispose()
