"""Emergency call button on GPIO: a press is sent as soon as it has held `bounce_ms` (ahead of everything queued), a
long press cancels it, and the cloud's `call-ack` is confirmed to the elder on the LED (steady light) and buzzer.
"""

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from edge.drivers.base import Emit, Reading, now
from edge.drivers.debounce import Debounced, next_change
from edge.drivers.gpio import Edge, watch
from edge.drivers.modbus_bus import Buses
from firmware_config.devices.button import KEY as KEY  # the registry's key for this driver
from firmware_config.devices.button import ButtonConfig
from station_protocol import Kind, new_event_id

log = logging.getLogger(__name__)


class ButtonDriver:
    """Turns presses into `call` readings and handles `call-ack` for its own calls."""

    commands = frozenset({"call-ack"})

    def __init__(self, config: ButtonConfig) -> None:
        self.config = config
        self.device_id = config.id
        self._recent: deque[str] = deque(maxlen=32)
        self._led: Any = None
        self._buzzer: Any = None
        self._signal: asyncio.Task[None] | None = None

    def _call(self, action: str, call: str, ts: datetime) -> Reading:
        return Reading(device=self.device_id, kind=Kind.CALL, ts=ts, urgent=True,
                       fields={"action": action, "call": call})

    async def run(self, emit: Emit) -> None:
        from gpiozero import LED, Buzzer, DigitalInputDevice

        cfg = self.config
        queue: asyncio.Queue[Edge] = asyncio.Queue()
        with contextlib.ExitStack() as stack:
            button = stack.enter_context(DigitalInputDevice(cfg.pin, pull_up=cfg.pull_up))
            self._led = stack.enter_context(LED(cfg.led_pin)) if cfg.led_pin is not None else None
            self._buzzer = stack.enter_context(Buzzer(cfg.buzzer_pin)) if cfg.buzzer_pin is not None else None
            stack.callback(self._outputs_gone)
            watch(button, "button", queue)
            # Every change must hold bounce_ms: the contact's bounce on making and breaking is neither a release (the
            # rest of the press would start a second call) nor a press. A button held at start is not a call.
            line = Debounced(bool(button.is_active), cfg.bounce_ms / 1000)
            while True:
                press = await next_change(queue, line)
                if press is None or not press.active:
                    continue
                call = new_event_id()
                self._recent.append(call)
                await emit(self._call("pressed", call, press.at))
                log.warning("%s: emergency call %s pressed", self.device_id, call)
                if self._led is not None:
                    self._led.blink(on_time=0.25, off_time=0.25)
                if await next_change(queue, line, until=press.mono + cfg.long_press_s) is None:
                    # Held down: the elder (or staff) cancels. Same call id, so the cloud closes that call.
                    await emit(self._call("cancelled", call, now()))
                    log.warning("%s: emergency call %s cancelled by a long press", self.device_id, call)
                    if self._led is not None:
                        self._led.off()
                    await next_change(queue, line)  # the release that ends the long press

    def _outputs_gone(self) -> None:
        self._led = self._buzzer = None
        if self._signal is not None:
            self._signal.cancel()

    async def handle_command(self, name: str, payload: Mapping[str, Any]) -> None:
        """`call-ack` for one of this button's calls: steady LED and beeps for `ack_signal_s`."""
        if name != "call-ack" or payload.get("call") not in self._recent:
            return
        log.info("%s: call %s acknowledged by %s", self.device_id, payload.get("call"), payload.get("by"))
        if self._signal is not None:
            self._signal.cancel()
        self._signal = asyncio.create_task(self._confirm())

    async def _confirm(self) -> None:
        led, buzzer = self._led, self._buzzer
        if led is not None:
            led.on()
        if buzzer is not None:
            buzzer.beep(on_time=0.2, off_time=0.2, n=3)
        try:
            await asyncio.sleep(self.config.ack_signal_s)
        finally:
            if led is not None and self._led is led:
                led.off()


def build(config: ButtonConfig, buses: Buses) -> ButtonDriver:
    """The registry's factory for `button` devices."""
    return ButtonDriver(config)
