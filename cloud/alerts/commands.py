"""`eldercare cloud sender`: publish the commands queued for stations until SIGINT/SIGTERM."""

import logging
import os
import signal
import socket
import threading
from pathlib import Path
from types import FrameType

import click

from cloud.store.options import data_dir_option, open_store, settings_for

log = logging.getLogger(__name__)


@click.command()
@click.option("--interval", default=1.0, show_default=True, type=click.FloatRange(0.05, 60),
              help="Seconds between looks at the queue.")
@click.option("--once", is_flag=True, help="Send what is queued now and exit.")
@click.option("--mqtt-version", type=click.Choice(["5", "3.1.1"]), default="5", show_default=True,
              help="3.1.1 for a broker without MQTT 5, such as the embedded one.")
@click.option("--time-check-minutes", default=15.0, show_default=True, type=click.FloatRange(min=0, max=1440),
              help="Ask every registered station for its time about this often (at random moments, 0.5-1.5 times "
                   "it apart): an answer stamped before it was asked shows a clock set behind. 0: never ask.")
@data_dir_option
def sender(interval: float, once: bool, mqtt_version: str, time_check_minutes: float, data_dir: Path | None) -> None:
    """Publish queued commands to stations (an emergency call's cmd/call-ack), each marked sent once the broker
    confirmed it, and ask every registered station for its time (cmd/time-check). Runs beside the worker, so
    acknowledgements go out while the worker is down."""
    from datetime import UTC, datetime

    from paho.mqtt.enums import MQTTProtocolVersion

    from cloud.alerts.reference_clock import reference_problem
    from cloud.alerts.sender import Sender, connect, run_sender, send_pass
    from cloud.alerts.time_checks import TimeChecks
    from cloud.store.db import make_session_factory, safe_url
    from hostclock import kernel_clock

    settings = settings_for(data_dir)
    url = settings.resolved_database_url
    engine = open_store(url, create=True)  # the platform's own process: creates an embedded store
    factory = make_session_factory(engine)
    client_id = f"eldercare-sender-{socket.gethostname()}-{os.getpid()}"
    protocol = MQTTProtocolVersion.MQTTv5 if mqtt_version == "5" else MQTTProtocolVersion.MQTTv311
    checks = TimeChecks(time_check_minutes * 60) if time_check_minutes > 0 and not once else None
    sender = Sender(lambda: connect(settings, client_id, protocol), checks,
                    lambda: reference_problem(settings.reference_clock, kernel_clock()))
    stop = threading.Event()

    def _request_stop(signum: int, _frame: FrameType | None) -> None:
        log.info("stopping on %s", signal.Signals(signum).name)
        stop.set()

    log.info("command sender on %s, broker %s:%d", safe_url(url), settings.mqtt_host, settings.mqtt_port)
    try:
        if once:
            sent = send_pass(factory, sender, datetime.now(UTC))
            sender.close()
            click.echo(f"{sent} command(s) sent", err=True)
            return
        signal.signal(signal.SIGTERM, _request_stop)
        signal.signal(signal.SIGINT, _request_stop)
        run_sender(factory, sender, interval, stop)
    finally:
        engine.dispose()
