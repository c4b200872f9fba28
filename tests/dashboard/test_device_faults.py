"""A station's device faults read in Chinese on its page, in real headless Chromium: what is wrong and what to ask the
station to do, with the agent's own English sentence kept small (and as a tooltip) for the installer. The sentences
are the ones the edge writes (edge/drivers/modbus_bus.py, edge/drivers/door.py, edge/face, edge/keeper.py,
edge/outbox_repair.py, edge/supervise.py); an unknown one falls back to a general sentence, never to the bare English
alone."""

from datetime import datetime, time
from pathlib import Path

from playwright.sync_api import Browser, expect
from sqlalchemy import Engine

from cloud.store.db import make_session_factory
from cloud.store.models import Device
from edge.face.gallery import KEY_ENV
from edge.outbox_repair import Repair
from tests.api import fleet
from tests.dashboard.conftest import login, shot
from tests.dashboard.test_first_use import ENGLISH

FAULTS = {
    # device id: (kind, the edge's error, what the officer reads)
    "counter-2": ("flow", "unit 3 on /dev/ttyUSB0: [Input/Output] No response received after 3 retries, continue "
                  "with next request", "人流计数器无应答（通信超时）"),
    "counter-3": ("flow", "serial port /dev/ttyUSB1 unavailable; retrying in 8.0 s", "人流计数器的通信口"),
    "camera-2": ("face", "cannot open rtsp source rtsp://***@192.168.1.20/stream1; retrying in 20 s",
                 "人脸识别摄像头连接不上"),
    "camera-3": ("face", f"{KEY_ENV} is not set: the face gallery is encrypted with a key derived from it",
                 "人脸库密钥未设置"),
    "door-1": ("door", "driver crashed: GPIOPinInUse: pin GPIO17 is already in use; restarting in 1.1 s",
               "设备程序异常退出，正在自动重启"),
    "door-2": ("door", "door contact chattering: 412 changes in 10 s, none held 50 ms (loose magnet or interference on "
               "the wire?)", "门磁信号来回跳动"),
    "outbox": ("health", Repair("database disk image is malformed", Path("/var/lib/eldercare/outbox-20261012.db"),
                                12).message(), "待发数据文件损坏"),
    "camera-1": ("face", "lens covered", "设备报告故障"),  # the fleet's own: no sentence the edge writes
}


def test_device_faults_say_what_is_wrong_in_chinese(browser: Browser, base_url: str, fleet_db: Engine) -> None:
    seen = datetime.combine(fleet.TODAY, time(9, 50), fleet.ZONE)
    with make_session_factory(fleet_db)() as session:
        for device, (kind, error, _) in FAULTS.items():
            if device == "camera-1":
                continue
            session.add(Device(station_id="hl-01", device_id=device, kind=kind, last_seen_at=seen,
                               last_health_ok=False, last_health={"ok": False, "error": error, "detail": {}}))
        session.commit()
    page = login(browser, base_url, "town-hl", width=1366, height=768)
    page.goto(base_url + "/#/station/hl-01/2026-10-12")
    devices = page.locator("section", has_text="设备健康").locator("tbody")
    for device, (_, error, words) in FAULTS.items():
        fault = devices.locator("tr", has=page.locator(f"td:text-is('{device}')")).get_by_test_id("fault")
        expect(fault).to_contain_text(words)
        expect(fault).to_have_attribute("title", error)  # the installer's tooltip
        expect(fault.get_by_test_id("fault-raw")).to_have_text(error)
        told = fault.evaluate("n => [...n.childNodes].filter(c => c.dataset.testid !== 'fault-raw')"
                              ".map(c => c.textContent).join('')")
        assert not ENGLISH.search(told), (device, told)  # the officer's part is all Chinese
        assert "请" in told or "如" in told, (device, told)  # and says what to do
    outbox = devices.locator("tr", has=page.locator("td:text-is('outbox')"))
    expect(outbox.locator("td").nth(1)).to_have_text("采集终端存储（待发数据）")
    shot(page, "device-faults-1366")
    page.context.close()

    phone = login(browser, base_url, "town-hl", width=390, height=844)
    phone.goto(base_url + "/#/station/hl-01/2026-10-12")
    expect(phone.get_by_test_id("fault").first).to_be_visible()
    # On the phone each device is a card: the explanation gets the screen's width, not a sliver of a column.
    box = phone.get_by_test_id("fault").first.bounding_box()
    assert box and box["width"] > 200 and box["x"] + box["width"] <= 390, box
    width = phone.evaluate("() => [document.documentElement.scrollWidth, innerWidth]")
    assert width[0] <= width[1], f"the station page is wider than the phone: {width}"
    shot(phone, "device-faults-390")
    phone.context.close()
