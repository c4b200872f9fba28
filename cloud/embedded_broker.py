"""The pure-Python MQTT broker `eldercare serve` falls back to when Mosquitto is not installed.

amqtt speaks MQTT 3.1.1 only (no v5, so no shared subscriptions) and keeps sessions in memory: fine for one machine
with one ingester; production uses Mosquitto. Run as `python -m cloud.embedded_broker --host H --port P`.
"""

import argparse
import asyncio
import contextlib
import logging
import signal
from typing import Any


def broker_config(host: str, port: int) -> dict[str, Any]:
    """amqtt configuration: one TCP listener, anonymous clients allowed (it listens on loopback by default)."""
    return {
        "listeners": {"default": {"type": "tcp", "bind": f"{host}:{port}", "max_connections": 0}},
        "plugins": {"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}},
    }


async def run(host: str, port: int) -> None:
    """Serve until SIGINT or SIGTERM."""
    from amqtt.broker import Broker

    broker = Broker(broker_config(host, port))
    await broker.start()
    logging.getLogger(__name__).info("embedded MQTT 3.1.1 broker listening on %s:%d", host, port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    with contextlib.suppress(Exception):
        await broker.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=1883)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(run(args.host, args.port))


if __name__ == "__main__":
    main()
