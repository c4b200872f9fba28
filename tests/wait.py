"""The one way a test waits: call a probe until it gives something truthy, or fail after a deadline saying what was
awaited and what was last seen. Tests wait for the event they expect with it, never for a fixed time: a fixed sleep
is too short on a loaded machine and too long everywhere else."""

import asyncio
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def _fail_after(deadline: float, timeout: float, what: str | Callable[[], str], last: object) -> None:
    if time.monotonic() >= deadline:
        said = what() if callable(what) else what
        raise AssertionError(f"{said}: not reached after {timeout:g} s (last: {last!r})")


def poll(fn: Callable[[], T | None], timeout: float = 30.0, what: str | Callable[[], str] = "condition",
         interval: float = 0.05) -> T:
    """Call `fn` every `interval` seconds until it returns something truthy, and return that.

    After `timeout` seconds fail with `what` (a callable is asked only then, for a message that shows the state at
    the deadline) and the last value. `fn` may raise to stop early, e.g. when the process it watches has exited."""
    deadline = time.monotonic() + timeout
    while not (last := fn()):
        _fail_after(deadline, timeout, what, last)
        time.sleep(interval)
    return last


async def poll_async(fn: Callable[[], T | None], timeout: float = 30.0,  # noqa: ASYNC109 - same call as poll
                     what: str | Callable[[], str] = "condition",
                     interval: float = 0.05) -> T:
    """`poll` inside an event loop: the loop keeps running (and the tasks under test with it) between the calls."""
    deadline = time.monotonic() + timeout
    while not (last := fn()):
        _fail_after(deadline, timeout, what, last)
        await asyncio.sleep(interval)
    return last
