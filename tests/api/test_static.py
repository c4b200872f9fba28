"""The static mount serves the dashboard's page and static/ folder only, not the rest of the `dashboards` package."""

from pathlib import Path

from fastapi.testclient import TestClient

from cloud.api.dashboard import dashboard_dir


def test_only_the_dashboards_assets_are_served(app_client: TestClient) -> None:
    page = app_client.get("/")
    assert page.status_code == 200 and "智慧养老监管平台" in page.text
    assert app_client.get("/index.html").text == page.text
    for asset in ("static/app.js", "static/api.js", "static/app.css", "static/vendor/echarts.min.js"):
        assert app_client.get(f"/{asset}").status_code == 200, asset
    package = dashboard_dir()
    hidden = ["__init__.py", *(str(p.relative_to(package)) for p in (package / "grafana").rglob("*") if p.is_file())]
    assert any(name.endswith(".json") for name in hidden)  # the Grafana dashboards and datasource settings
    for name in hidden:
        assert (package / name).is_file()
        # Before: the whole package was mounted at /, Python source and Grafana settings included.
        for path in (f"/{name}", f"/static/../{name}", f"/static/%2e%2e/{name}"):
            assert app_client.get(path).status_code == 404, path
    assert not Path(package / "static" / "__init__.py").exists()
