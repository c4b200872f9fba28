"""Dashboard fixtures: the API serving the derived fleet in uvicorn, and real headless Chromium through Playwright."""

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright
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


def login(browser: Browser, base_url: str, name: str, *, width: int = 1920, height: int = 1080) -> Page:
    """A fresh browser context logged in as `name` (through the login form, like a person)."""
    context = browser.new_context(viewport={"width": width, "height": height}, accept_downloads=True,
                                  locale="zh-CN", timezone_id="Asia/Shanghai")
    page = context.new_page()
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
