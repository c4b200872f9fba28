"""The OpenAPI page at /api/v1/docs in real Chromium with no network beyond the server: its assets ship with the
package, the dashboard's CSP allows them, and it lists the API's operations."""

from playwright.sync_api import Browser, Route, expect

from tests.dashboard.conftest import shot


def test_docs_page_renders_operations_offline_under_the_csp(browser: Browser, base_url: str) -> None:
    context = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai")
    outside: list[str] = []

    def only_the_server(route: Route) -> None:
        if route.request.url.startswith(base_url + "/"):
            route.continue_()
        else:  # what a closed network does to a CDN
            outside.append(route.request.url)
            route.abort("internetdisconnected")

    context.route("**/*", only_the_server)
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    response = page.goto(base_url + "/api/v1/docs")
    assert response is not None and response.ok
    assert "script-src 'self'" in response.headers["content-security-policy"]
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("eldercare-monitor API")
    operations = page.locator(".opblock-summary-path")
    expect(operations.filter(has_text="/api/v1/stations").first).to_be_visible()
    assert operations.count() >= 10
    # An operation opens (Swagger UI's own script works under the CSP).
    page.locator(".opblock-summary-path", has_text="/api/v1/overview").first.click()
    expect(page.locator(".opblock.is-open .opblock-section-header").first).to_be_visible()
    expect(page.locator(".btn.authorize")).to_be_visible()
    shot(page, "api-docs")
    assert outside == []
    assert not [p for p in problems if "Content Security Policy" in p or "Refused" in p], problems
    assert not [p for p in problems if "404" in p or "Failed to load" in p], problems
    context.close()


