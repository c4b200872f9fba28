"""The uvicorn server of `eldercare cloud api`, which ends the live alert streams as soon as it is told to stop.

uvicorn stops by waiting for the open responses to finish, up to its graceful timeout, then cancels them and logs
each as an error with a traceback. An alert stream never finishes by itself, so without this every stop with a
dashboard open waited the whole timeout and logged an error.
"""

import signal
from types import FrameType

import uvicorn
from fastapi import FastAPI


class StreamEndingServer(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, app: FastAPI) -> None:
        super().__init__(config)
        self._app = app

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        runtime = getattr(self._app.state, "runtime", None)  # set once the app's lifespan has started
        if runtime is not None and sig in (signal.SIGINT, signal.SIGTERM):
            runtime.feed.end_streams()
        super().handle_exit(sig, frame)
