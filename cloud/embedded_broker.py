"""The pure-Python MQTT broker `eldercare serve` falls back to when Mosquitto is not installed.

amqtt speaks MQTT 3.1.1 only (no v5, so no shared subscriptions) and keeps sessions in memory: fine for one machine
with one ingester; production uses Mosquitto. It applies the same password file and ACL as Mosquitto would
(written by `eldercare cloud provision`), re-read when they change; anonymous clients only with --allow-anonymous.
Run as `python -m cloud.embedded_broker --host H --port P (--password-file F --acl-file A | --allow-anonymous)`.
"""

import argparse
import asyncio
import contextlib
import logging
import signal
from pathlib import Path
from typing import Any


def broker_config(host: str, port: int, password_file: Path | None = None, acl_file: Path | None = None,
                  ) -> dict[str, Any]:
    """amqtt configuration: one TCP listener; with files, only their users and grants, else anyone."""
    plugins: dict[str, Any]
    if password_file is not None and acl_file is not None:
        plugins = {"cloud.embedded_access.PasswordFileAuth": {"password_file": str(password_file)},
                   "cloud.embedded_access.AclFileTopics": {"acl_file": str(acl_file)}}
    else:
        plugins = {"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}}
    return {"listeners": {"default": {"type": "tcp", "bind": f"{host}:{port}", "max_connections": 0}},
            "plugins": plugins}


async def run(config: dict[str, Any]) -> None:
    """Serve until SIGINT or SIGTERM."""
    from amqtt.broker import Broker

    broker = Broker(config)
    await broker.start()
    logging.getLogger(__name__).info("embedded MQTT 3.1.1 broker listening on %s",
                                     config["listeners"]["default"]["bind"])
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
    parser.add_argument("--password-file", type=Path, help="Mosquitto password file (re-read when it changes)")
    parser.add_argument("--acl-file", type=Path, help="Mosquitto ACL file (re-read when it changes)")
    parser.add_argument("--allow-anonymous", action="store_true", help="anyone may connect, read and publish")
    args = parser.parse_args()
    files = args.password_file is not None and args.acl_file is not None
    if files == args.allow_anonymous:
        parser.error("give --password-file and --acl-file, or --allow-anonymous")
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(run(broker_config(args.host, args.port, args.password_file, args.acl_file)))


if __name__ == "__main__":
    main()
