"""The API served for real by uvicorn in a thread on a free 127.0.0.1 port, stopped when the block ends."""

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from fastapi import FastAPI

from tests.localservices import free_port, wait_for_port


@contextmanager
def serve(app: FastAPI) -> Iterator[str]:
    """Yield the base URL of `app` running in uvicorn; stop the server (and its lifespan) afterwards."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on",
                                           timeout_graceful_shutdown=1))
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    try:
        wait_for_port(port, timeout=20)
        yield f"http://127.0.0.1:{port}"
    finally:
        runtime = getattr(app.state, "runtime", None)
        if runtime is not None:  # as `eldercare cloud api` does on SIGTERM: open alert streams end, then the server
            runtime.feed.end_streams()
        server.should_exit = True
        thread.join(timeout=10)
