"""Dates and times at the calendar's edge in every slot of the API that takes one, shared by the SQLite and
PostgreSQL tests: each is refused with 422 and the reason, never a 500 (converting year 1 at +14:00 or 9999-12-31
at -14:00 to UTC overflows, and a database cannot store the result)."""

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from cloud.homecare.store.visits import record_sign_in
from cloud.store.db import make_session_factory
from tests.api import fleet
from tests.api.conftest import token_for
from tests.api.homecare_people import seed_homecare

V1 = "/api/v1"
# Out of 2000..2100 in UTC: the calendar's edges (which overflow when converted to UTC), just before, and one that
# is inside until it is converted (23:00 at -02:00 on the last day of 2100 is 2101 in UTC).
EDGE_TIMES = ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "1999-12-31T23:59:59Z",
              "2100-12-31T23:00:00-02:00"]
EDGE_DAYS = ["0001-01-01", "9999-12-31", "2101-01-01"]
VISIT = "visit-edge-0001"
ELDER = {"name": "张秀英", "category": "disabled", "town": "汇龙镇", "provider": "p-hl"}


@dataclass(frozen=True)
class Slot:
    """One place a request carries a date or time: `request(value)` is the request's keyword arguments."""

    method: str
    path: str  # the OpenAPI path
    where: str  # "query:from", "path:day", "body.called_at"
    user: str
    url: Callable[[str], str]
    request: Callable[[str], dict[str, Any]]
    time: bool = False  # a time (EDGE_TIMES), else a date (EDGE_DAYS)

    @property
    def edges(self) -> list[str]:
        return EDGE_TIMES if self.time else EDGE_DAYS


def _query(name: str, other: dict[str, str] | None = None) -> Callable[[str], dict[str, Any]]:
    return lambda value: {"params": {**(other or {}), name: value}}


def _body(**fields: Any) -> Callable[[str], dict[str, Any]]:
    def make(value: str) -> dict[str, Any]:
        return {"json": {k: value if v is None else v for k, v in fields.items()}}
    return make


def _fixed(url: str) -> Callable[[str], str]:
    return lambda _: url


NOTHING: Callable[[str], dict[str, Any]] = lambda _: {}  # noqa: E731


def slots(plan: int) -> list[Slot]:
    """Every date and time slot of the API, with a request that is valid in all else."""
    out = [
        Slot("GET", "/api/v1/stations/{station_id}/days/{day}", "path:day", "admin",
             lambda v: f"/stations/hl-01/days/{v}", NOTHING),
        Slot("POST", "/api/v1/spot-checks", "body.date", "admin", _fixed("/spot-checks"),
             _body(date=None, start="09:00", end="10:00", stations=["hl-01"])),
        Slot("POST", "/api/v1/activities", "body.day", "staff-hl1", _fixed("/activities"),
             _body(station="hl-01", day=None, theme="重阳节", participants=3)),
        Slot("POST", "/api/v1/closures", "body.first_day", "staff-hl1", _fixed("/closures"),
             _body(first_day=None, last_day="2026-10-20", reason="台风")),
        Slot("POST", "/api/v1/closures", "body.last_day", "staff-hl1", _fixed("/closures"),
             _body(first_day="2026-10-20", last_day=None, reason="台风")),
        Slot("POST", "/api/v1/onsite/visits/{plan_id}/{station}/record", "body.visited_at", "admin",
             _fixed(f"/onsite/visits/{plan}/hl-01/record"), _body(found="open", notes="", visited_at=None), time=True),
        Slot("PUT", "/api/v1/homecare/elders/{elder_id}", "body.since", "admin", _fixed("/homecare/elders/E-HL-1"),
             _body(**ELDER, since=None)),
        Slot("PUT", "/api/v1/homecare/elders/{elder_id}", "body.until", "admin", _fixed("/homecare/elders/E-HL-1"),
             _body(**ELDER, until=None)),
        Slot("POST", "/api/v1/homecare/visits/{key}/followups", "body.called_at", "admin",
             _fixed(f"/homecare/visits/{VISIT}/followups"), _body(called_at=None, reached=False), time=True),
        Slot("GET", "/api/v1/homecare/followups/samples/{day}", "path:day", "town-hl",
             lambda v: f"/homecare/followups/samples/{v}", NOTHING),
        Slot("POST", "/api/v1/homecare/followups/samples/{day}", "path:day", "admin",
             lambda v: f"/homecare/followups/samples/{v}", NOTHING),
        Slot("POST", "/api/v1/homecare/complaints", "body.received_at", "admin", _fixed("/homecare/complaints"),
             _body(provider="p-hl", elder="E-HL-1", received_at=None, text="迟到"), time=True),
        Slot("POST", "/api/v1/homecare/visits/sign-in", "body.at", "cg-hl1", _fixed("/homecare/visits/sign-in"),
             _body(key="edge-sign-in-1", qr="EC1.x.y.z", at=None), time=True),
        Slot("POST", "/api/v1/homecare/visits/sign-out", "body.at", "cg-hl1", _fixed("/homecare/visits/sign-out"),
             _body(visit_key=VISIT, qr="EC1.x.y.z", at=None, items=["bath"]), time=True),
    ]
    ranges = {"/api/v1/closures/exceptions.csv": "/closures/exceptions.csv",
              "/api/v1/onsite/visits": "/onsite/visits", "/api/v1/onsite/decisions.csv": "/onsite/decisions.csv",
              "/api/v1/homecare/visits": "/homecare/visits"}
    for path, url in ranges.items():
        for name in ("from", "to"):
            out.append(Slot("GET", path, f"query:{name}", "admin", _fixed(url), _query(name),
                            time=path == "/api/v1/homecare/visits"))
    # The exports need both ends: the other one valid.
    exports = {f"/api/v1/exports/stations/{{station_id}}/{name}": f"/exports/stations/hl-01/{name}"
               for name in ("events.jsonl", "station.csv", "time-checks.csv", "spot-checks.csv")}
    exports["/api/v1/exports/ingest-losses.csv"] = "/exports/ingest-losses.csv"
    for path, url in exports.items():
        out.append(Slot("GET", path, "query:from", "admin", _fixed(url), _query("from", {"to": "2026-10-12"})))
        out.append(Slot("GET", path, "query:to", "admin", _fixed(url), _query("to", {"from": "2026-10-01"})))
    return out


def build(engine: Engine) -> None:
    """The fleet (stations, a spot check of 2026-10-09), the home-care people, and one visit signed in."""
    fleet.build(engine)
    seed_homecare(engine)
    with make_session_factory(engine).begin() as session:
        record_sign_in(session, key=VISIT, elder_id="E-HL-1", caregiver_id="HL001", at=fleet.NOW, by="cg-hl1",
                       now=fleet.NOW)


def schema_slots(app: FastAPI) -> set[tuple[str, str, str]]:
    """Every (method, path, where) of the OpenAPI document that takes a date or a time."""
    schema = app.openapi()
    components = schema["components"]["schemas"]

    def walk(node: dict[str, Any], where: str, seen: frozenset[str]) -> Iterator[str]:
        if "$ref" in node:
            name = node["$ref"].rsplit("/", 1)[-1]
            if name not in seen:
                yield from walk(components[name], where, seen | {name})
            return
        if node.get("format") in ("date", "date-time"):
            yield where
        for key in ("anyOf", "oneOf", "allOf"):
            for sub in node.get(key, []):
                yield from walk(sub, where, seen)
        for name, sub in node.get("properties", {}).items():
            yield from walk(sub, f"{where}.{name}", seen)
        if "items" in node:
            yield from walk(node["items"], f"{where}[]", seen)

    found = set()
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            for param in operation.get("parameters", []):
                for where in walk(param.get("schema", {}), f"{param['in']}:{param['name']}", frozenset()):
                    found.add((method.upper(), path, where))
            for content in operation.get("requestBody", {}).get("content", {}).values():
                for where in walk(content.get("schema", {}), "body", frozenset()):
                    found.add((method.upper(), path, where))
    return found


def assert_edges_refused(client: TestClient) -> int:
    """Every edge value in every slot: 422 naming the bounds. Returns how many requests were made."""
    tokens: dict[str, str] = {}

    def use(name: str) -> TestClient:
        if name not in tokens:
            tokens[name] = token_for(client, name)
        client.headers["Authorization"] = f"Bearer {tokens[name]}"
        return client

    plan = int(use("admin").get(f"{V1}/spot-checks").json()[-1]["id"])
    made = 0
    problems = []
    for slot in slots(plan):
        for value in slot.edges:
            response = use(slot.user).request(slot.method, V1 + slot.url(value), **slot.request(value))
            made += 1
            if response.status_code != 422 or "outside 2000..2100" not in response.text:
                problems.append(f"{slot.method} {slot.url(value)} {slot.where}={value}: {response.status_code} "
                                f"{response.text[:200]}")
    assert problems == [], "\n".join(problems)
    return made
