"""上门服务 from a phone, in real Chromium at a phone's size: the provider prints an elder's code from the dashboard;
the caregiver's phone camera sees that printed code (Chromium's fake camera plays a frame made from the code image
the provider's browser rendered, tilted, blurred and noisy like a photo), signs in, picks the items, signs out. Then
the weak connection: a sign-in taken offline is queued with its time, and its first upload's answer is lost on the
way back; the phone sends it again and the server keeps one visit, at the phone's time."""

import math
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

import cv2
import numpy as np
import pytest
from playwright.sync_api import Browser, BrowserContext, Geolocation, Page, Route, ViewportSize, expect
from sqlalchemy import Engine, select

from cloud.api.app import create_app
from cloud.api.config import ApiConfig
from cloud.store.db import make_session_factory
from cloud.store.homecare import HomecareVisit
from tests.api.conftest import NOW, PASSWORD, migrated, settings_for
from tests.api.homecare_people import seed_homecare
from tests.api.server import serve
from tests.dashboard.conftest import CHINESE_PICKERS, CHROMIUM, login, shot

PHONE: ViewportSize = {"width": 390, "height": 844}
HOME: Geolocation = {"latitude": 31.8143, "longitude": 121.6556}  # where the phone says it is, when allowed to say


class Clock:
    """The server's clock, moved by the test as the phone's clock is."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def homecare_db(tmp_path: Path) -> Iterator[Engine]:
    engine = migrated(f"sqlite:///{tmp_path / 'homecare.db'}")
    seed_homecare(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def url(homecare_db: Engine, clock: Clock, tmp_path: Path) -> Iterator[str]:
    app = create_app(settings_for(tmp_path), config=ApiConfig(clock=clock, stream_poll_s=0.05), engine=homecare_db)
    with serve(app) as base:
        yield base


def _visits(engine: Engine) -> list[HomecareVisit]:
    with make_session_factory(engine)() as session:
        return list(session.scalars(select(HomecareVisit).order_by(HomecareVisit.id)))


def printed_code(browser: Browser, url: str, elder: str) -> bytes:
    """The provider issues the elder's code in the dashboard; the code as the browser renders it for printing."""
    page = login(browser, url, "prov-hl")
    page.click("#nav a[data-page=visit-codes]")
    card = page.locator(f".qr-card[data-elder={elder}]")
    card.get_by_role("button", name="生成二维码").click()
    image = page.locator(f".qr-card[data-elder={elder}] img")
    expect(image).to_be_visible()
    expect(page.locator(".qr-card[data-elder=E-HL-2]")).to_contain_text("未生成")
    shot(page, "visit-codes-provider")
    png = image.screenshot()
    page.context.close()
    return png


def camera_file(png: bytes, path: Path) -> Path:
    """A Y4M clip for Chromium's fake camera: the code on a grey wall, tilted 8°, slightly blurred and noisy."""
    decoded = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_GRAYSCALE)
    assert decoded is not None
    width, height = 640, 480
    side = 300
    wall = np.full((height, width), 170, np.uint8)
    top, left = (height - side) // 2, (width - side) // 2
    wall[top:top + side, left:left + side] = cv2.resize(decoded, (side, side), interpolation=cv2.INTER_AREA)
    turn = cv2.getRotationMatrix2D((width / 2, height / 2), 8, 1.0)
    tilted = cv2.warpAffine(wall, turn, (width, height), borderValue=(170,))
    # A little sensor noise: jsQR (the decoder where the browser has none) fails on this frame from about σ 5.
    noise = np.random.default_rng(7).normal(0, 3, tilted.shape)
    soft = cv2.GaussianBlur(tilted, (3, 3), 0.8).astype(np.float64)
    frame = np.clip(soft * 0.85 + 20 + noise, 0, 255).astype(np.uint8)
    yuv = cv2.cvtColor(cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR), cv2.COLOR_BGR2YUV_I420)
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\n".encode("ascii"))
        for _ in range(3):
            out.write(b"FRAME\n" + yuv.tobytes())
    assert math.isclose(path.stat().st_size, 3 * (6 + width * height * 1.5), abs_tol=100)
    return path


@contextmanager
def phone_browser(browser: Browser, video: Path) -> Iterator[Browser]:
    """A second Chromium of the same Playwright whose camera plays `video`, the permission prompt answered yes as
    the caregiver would."""
    phone = browser.browser_type.launch(
        executable_path=CHROMIUM, headless=True,
        args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
              "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
              f"--use-file-for-fake-video-capture={video}", CHINESE_PICKERS],
    )
    try:
        yield phone
    finally:
        phone.close()


def phone_login(browser: Browser, url: str, name: str) -> tuple[BrowserContext, Page]:
    expect.set_options(timeout=15_000)
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, locale="zh-CN",
                                  timezone_id="Asia/Shanghai", permissions=["camera", "geolocation"],
                                  geolocation=HOME)
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.clock.install(time=NOW)  # the phone's clock; time runs on from there
    page.goto(url + "/")
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("#login-form button[type=submit]")
    expect(page.locator("#nav a[data-page=visit]")).to_have_class("active")
    return context, page


def queued(page: Page, count: int) -> None:
    expect(page.get_by_test_id("queue-count")).to_have_attribute("data-count", str(count))


def test_a_caregiver_scans_the_printed_code_and_signs_a_visit(browser: Browser, url: str, clock: Clock,
                                                               homecare_db: Engine, tmp_path: Path) -> None:
    video = camera_file(printed_code(browser, url, "E-HL-1"), tmp_path / "code.y4m")
    with phone_browser(browser, video) as phone:
        _, page = phone_login(phone, url, "cg-hl1")
        page.locator("input[name=locate]").check()  # the caregiver agrees to share the phone's location
        page.click("[data-action=sign-in]")
        expect(page.get_by_test_id("open-visit")).to_contain_text("张秀英")  # the server named the elder
        queued(page, 0)
        visit = _visits(homecare_db)[0]
        assert (visit.elder_id, visit.caregiver_id, visit.sign_out_at) == ("E-HL-1", "HL001", None)
        assert (visit.sign_in_lat, visit.sign_in_lon) == (HOME["latitude"], HOME["longitude"])

        items = page.get_by_test_id("visit-items")
        items.get_by_label("助餐").check()
        items.get_by_label("精神慰藉").check()
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        shot(page, "visit-phone-open")
        page.clock.fast_forward("01:05:00")
        clock.now = NOW + timedelta(minutes=65)
        page.click("[data-action=sign-out]")
        row = page.get_by_test_id("my-visits").locator("tbody tr")
        expect(row).to_have_count(1)
        expect(row).to_contain_text("张秀英")
        expect(row).to_contain_text("助餐、精神慰藉")
        expect(page.locator("[data-action=sign-in]")).to_be_visible()
        shot(page, "visit-phone-done")

    [visit] = _visits(homecare_db)
    assert visit.items == ["meal", "companionship"]
    assert visit.sign_out_at is not None
    assert timedelta(minutes=65) <= visit.sign_out_at - visit.sign_in_at < timedelta(minutes=70)
    assert visit.sign_out_lat == HOME["latitude"]


def test_an_offline_sign_in_is_sent_later_and_stored_once(browser: Browser, url: str, clock: Clock,
                                                           homecare_db: Engine, tmp_path: Path) -> None:
    video = camera_file(printed_code(browser, url, "E-HL-1"), tmp_path / "code.y4m")
    with phone_browser(browser, video) as phone:
        context, page = phone_login(phone, url, "cg-hl1")
        context.set_offline(True)  # a village lane with no signal
        page.click("[data-action=sign-in]")
        expect(page.locator("#toast")).to_contain_text("离线")
        queued(page, 1)
        expect(page.get_by_test_id("open-visit")).to_contain_text("待上传")
        assert _visits(homecare_db) == []
        scanned_at = datetime.fromisoformat(page.evaluate(
            "JSON.parse(localStorage.getItem('eldercare.visit.queue.cg-hl1'))[0].body.at").replace("Z", "+00:00"))

        # Twenty minutes later the signal is back, but the server's answer to the first upload is lost.
        page.clock.fast_forward("20:00")
        clock.now = NOW + timedelta(minutes=20)
        lost: list[int] = []

        def lose_answer(route: Route) -> None:
            if not lost:
                lost.append(route.fetch().status)  # reaches the server, which stores it
                route.abort("connectionreset")
            else:
                route.continue_()

        page.route("**/api/v1/homecare/visits/sign-in", lose_answer)
        with page.expect_event("requestfailed", timeout=30_000):  # the phone sees its upload fail
            context.set_offline(False)  # the "online" event starts the upload
        assert lost == [201]
        queued(page, 1)  # no answer: the phone still holds it
        assert len(_visits(homecare_db)) == 1

        page.get_by_role("button", name="立即上传").click()
        queued(page, 0)
        expect(page.get_by_test_id("open-visit")).to_contain_text("张秀英")
        expect(page.get_by_test_id("my-visits").locator("tbody tr")).to_have_count(1)

    [visit] = _visits(homecare_db)
    assert visit.sign_in_at == scanned_at  # the phone's time of the scan, not the upload's
    assert visit.sign_in_recorded_at == NOW + timedelta(minutes=20)
    assert visit.sign_in_lat is None  # the caregiver did not agree to share the location


def test_without_camera_access_a_photo_of_the_code_signs_in(browser: Browser, url: str, homecare_db: Engine,
                                                             tmp_path: Path) -> None:
    """The caregiver refused the camera (or the browser has none): a photo of the code, taken with the phone's own
    camera app and picked in the page, signs in all the same."""
    png = printed_code(browser, url, "E-HL-1")
    photo = tmp_path / "photo.jpg"
    code = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)
    assert code is not None
    # A photo: the code small in a larger, warmer picture, perspective-skewed, saved as a JPEG.
    side = 900
    canvas = np.full((1200, side, 3), (150, 170, 190), np.uint8)
    code = cv2.resize(code, (420, 420), interpolation=cv2.INTER_LINEAR)
    canvas[390:810, 240:660] = code
    src = np.array([[0, 0], [side, 0], [side, 1200], [0, 1200]], np.float32)
    dst = np.array([[40, 10], [side - 10, 60], [side - 60, 1180], [0, 1150]], np.float32)
    skewed = cv2.warpPerspective(canvas, cv2.getPerspectiveTransform(src, dst), (side, 1200),
                                 borderValue=(150, 170, 190))
    assert cv2.imwrite(str(photo), skewed, [cv2.IMWRITE_JPEG_QUALITY, 80])

    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, locale="zh-CN",
                                  timezone_id="Asia/Shanghai")  # no camera permission granted
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.clock.install(time=NOW)
    page.goto(url + "/")
    page.fill("input[name=username]", "cg-hl2")
    page.fill("input[name=password]", PASSWORD)
    page.click("#login-form button[type=submit]")
    page.click("[data-action=sign-in]")
    expect(page.get_by_test_id("scanner-status")).to_contain_text("拍照识别")
    page.get_by_test_id("scanner-photo").set_input_files(str(photo))
    expect(page.get_by_test_id("open-visit")).to_contain_text("张秀英")
    context.close()
    [visit] = _visits(homecare_db)
    assert (visit.elder_id, visit.caregiver_id) == ("E-HL-1", "HL002")


def test_a_queued_scan_survives_the_tab_and_goes_at_the_next_login(browser: Browser, url: str,
                                                                   homecare_db: Engine, tmp_path: Path) -> None:
    """The phone closed the tab (and with it the login) while a scan waited for a signal: the next login by the same
    caregiver sends it; another caregiver logging in on that phone neither sends nor sees it."""
    video = camera_file(printed_code(browser, url, "E-HL-1"), tmp_path / "code.y4m")
    with phone_browser(browser, video) as phone:
        context, page = phone_login(phone, url, "cg-hl1")
        context.set_offline(True)
        page.click("[data-action=sign-in]")
        queued(page, 1)
        page.close()  # the tab is gone, and its login (kept per tab) with it
        context.set_offline(False)

        def fresh_tab(name: str) -> Page:
            tab = context.new_page()
            tab.goto(url + "/")
            tab.fill("input[name=username]", name)
            tab.fill("input[name=password]", PASSWORD)
            tab.click("#login-form button[type=submit]")
            expect(tab.locator("#nav a[data-page=visit]")).to_have_class("active")
            return tab

        other = fresh_tab("cg-hl2")
        queued(other, 0)
        other.click("#logout")
        assert _visits(homecare_db) == []
        tab = fresh_tab("cg-hl1")
        queued(tab, 0)
        expect(tab.get_by_test_id("my-visits").locator("tbody tr")).to_have_count(1)
    [visit] = _visits(homecare_db)
    assert visit.caregiver_id == "HL001"
