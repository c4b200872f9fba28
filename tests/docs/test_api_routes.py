"""docs/api.md lists every route of the API: a route added without its line (method, path, roles) fails here."""

import re
import secrets
from pathlib import Path

from fastapi.routing import APIRoute

from cloud.api.app import API_PREFIX, create_app
from cloud.settings import Settings

API_MD = Path(__file__).resolve().parents[2] / "docs" / "api.md"
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def _shape(path: str) -> str:
    """A path with its parameters' names dropped: `/alerts/{alert_id}` and the docs' `/alerts/{id}` are one route."""
    return re.sub(r"\{[^}]*\}", "{}", path)


def documented(text: str) -> set[tuple[str, str]]:
    """Every `METHOD /path` the docs write in backticks (the query string left out)."""
    return {(method, _shape(path)) for method, path in re.findall(rf"`({'|'.join(METHODS)}) (/[^`?\s]*)", text)}


def served(tmp_path: Path) -> set[tuple[str, str]]:
    app = create_app(Settings(data_dir=tmp_path, secret_key=secrets.token_urlsafe(32)))
    return {(method, _shape(route.path.removeprefix(API_PREFIX)))
            for route in app.routes
            if isinstance(route, APIRoute) and route.include_in_schema and route.path.startswith(API_PREFIX + "/")
            for method in route.methods if method in METHODS}


def test_every_route_is_in_the_api_docs(tmp_path: Path) -> None:
    routes = served(tmp_path)
    assert len(routes) > 80  # the app's routes were found at all
    missing = sorted(routes - documented(API_MD.read_text(encoding="utf-8")), key=lambda r: (r[1], r[0]))
    assert missing == [], "docs/api.md lacks: " + ", ".join(f"{m} {p}" for m, p in missing)


def test_a_route_missing_from_the_docs_is_found() -> None:
    text = "| `GET /stations?town=` · `POST /alerts/{id}/acknowledge` | all | … |"
    assert documented(text) == {("GET", "/stations"), ("POST", "/alerts/{}/acknowledge")}
    assert ("GET", "/overview") not in documented(text)
