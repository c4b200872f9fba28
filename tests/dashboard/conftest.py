"""Dashboard fixtures: the API serving the derived fleet in uvicorn, and real headless Chromium through Playwright."""

import asyncio
import time
from collections.abc import Generator, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Request, Response, expect, sync_playwright
from sqlalchemy import Engine

from tests.api import fleet
from tests.api.conftest import PASSWORD, make_app, migrated
from tests.api.server import serve

CHROMIUM = "/usr/bin/chromium"
# A Chinese user's browser draws date and time pickers the Chinese way (2026/10/12, 2026年10月, 09:00): Chromium takes
# their format from its interface language, not the page's lang="zh-CN". Debian's chromium ships only the en-US
# interface (--lang=zh-CN needs the chromium-l10n package), so it would draw 10/12/2026 and 09:00 AM. This Blink
# switch makes the pickers follow the page's lang instead: the screenshots show what a Chinese browser shows.
CHINESE_PICKERS = "--enable-blink-features=LangAttributeAwareFormControlUI"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture
def fleet_db(tmp_path: Path) -> Iterator[Engine]:
    engine = migrated(f"sqlite:///{tmp_path / 'dashboard.db'}")
    fleet.build(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def base_url(fleet_db: Engine, tmp_path: Path) -> Iterator[str]:
    with serve(make_app(fleet_db, tmp_path)) as url:
        yield url


@pytest.fixture
def browser() -> Iterator[Browser]:
    # Per test, not per session: Playwright's sync API runs an event loop in this thread while it is open, and
    # pytest-xdist interleaves other modules' tests (which call asyncio.run) on the same worker.
    # Generous waits: CI shares two cores among several test processes. Nothing here measures speed.
    expect.set_options(timeout=15_000)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", CHINESE_PICKERS],
        )
        yield browser
        browser.close()
    assert asyncio.events._get_running_loop() is None, "Playwright left an event loop running"


class Journal:
    """What the test's pages did (API calls with their status and time, console errors, uncaught exceptions), shown
    with a failed test's report: a wait that times out on a shared CI machine then says where the page stood."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.started = time.monotonic()
        self.lines: list[str] = []
        self.pages: list[Page] = []

    def note(self, text: str) -> None:
        self.lines.append(f"{time.monotonic() - self.started:8.2f} s  {text}")

    def watch(self, page: Page) -> None:
        self.pages.append(page)
        page.on("request", lambda r: self._request(r, "->"))
        page.on("requestfinished", lambda r: self._request(r, "<-"))
        page.on("requestfailed", lambda r: self.note(f"FAILED {r.method} {r.url}: {r.failure}"))
        page.on("response", self._response)
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.note(f"page error: {exc}"))
        page.on("framenavigated", lambda frame: self.note(f"at {frame.url}") if frame == page.main_frame else None)

    def _request(self, request: Request, arrow: str) -> None:
        if "/api/" in request.url:
            self.note(f"{arrow} {request.method} {request.url}")

    def _response(self, response: Response) -> None:
        if response.status >= 400:
            self.note(f"HTTP {response.status} {response.request.method} {response.url}")

    def _console(self, message: ConsoleMessage) -> None:
        if message.type in ("error", "warning"):
            self.note(f"console {message.type}: {message.text}")

    def report(self) -> str:
        shown = list(self.lines)
        for page in self.pages:
            if page.is_closed():
                continue
            try:
                shown.append(f"page {page.url}: main reads {page.locator('#main').inner_text(timeout=2000)[:600]!r}")
            except Exception as exc:  # a report of a failure must not fail itself
                shown.append(f"page {page.url}: main unreadable ({type(exc).__name__})")
        return "\n".join(shown)


_journal = Journal()  # one per worker process; login() has no fixture to take it from


@pytest.fixture(autouse=True)
def journal() -> Journal:
    _journal.reset()
    return _journal


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, pytest.TestReport,
                                                                                            pytest.TestReport]:
    report = yield
    if report.when == "call" and report.failed and _journal.lines:
        report.sections.append(("browser journal", _journal.report()))
    return report


def login(browser: Browser, base_url: str, name: str, *, width: int = 1920, height: int = 1080) -> Page:
    """A fresh browser context logged in as `name` (through the login form, like a person)."""
    context = browser.new_context(viewport={"width": width, "height": height}, accept_downloads=True,
                                  locale="zh-CN", timezone_id="Asia/Shanghai")
    page = context.new_page()
    _journal.watch(page)
    page.set_default_timeout(20_000)
    page.clock.set_fixed_time(fleet.NOW)  # the browser's "today" agrees with the server's injected clock
    page.goto(base_url + "/")
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_selector("#nav a")
    return page


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
