"""`eldercare cloud ingest`: run one ingester until SIGINT/SIGTERM, then flush, ack and exit."""

import gc
import logging
import signal
import socket
import threading
from pathlib import Path
from types import FrameType

import click

from cloud.ingest.config import DEFAULT_SESSION_EXPIRY_S, MAX_SESSION_EXPIRY_S, IngestConfig
from cloud.ingest.logs import configure
from cloud.ingest.metrics import IngestMetrics
from cloud.ingest.service import ConnectRefused, Ingester
from cloud.ingest.stations import StationCache
from cloud.store.db import safe_url
from cloud.store.options import data_dir_option, open_store, settings_for
from cloud.telemetry.sink import InfluxSink


def settle_heap() -> None:
    """Collect once, then leave everything that exists now (modules, models, the engine: what lives as long as the
    process) out of every later collection. The garbage collector still collects whatever is made from now on; its
    full collections, which a stream of batches sets off every few thousand messages, no longer walk the startup heap
    each time (≈ 100 000 objects; that walk cost about a tenth of the conversion's time per message)."""
    gc.collect()
    gc.freeze()


@click.command()
@data_dir_option
@click.option("--group", default="ingest", show_default=True, help="Shared-subscription group (MQTT v5).")
@click.option("--client-id", default=None, help="MQTT client id; keep it across restarts so unacked messages "
              "come back to this ingester  [default: eldercare-ingest-HOSTNAME]")
@click.option("--mqtt-version", type=click.Choice(["5", "3.1.1"]), default="5", show_default=True,
              help="5: shared subscription, N ingesters split the stream. 3.1.1: plain subscription, one ingester "
              "(for brokers without v5, such as the embedded one).")
@click.option("--batch-size", type=click.IntRange(1, 10_000), default=500, show_default=True,
              help="Commit at most this many messages at once.")
@click.option("--batch-ms", type=click.IntRange(1, 60_000), default=200, show_default=True,
              help="Commit at least this often (emergency calls commit at once).")
@click.option("--session-expiry", type=click.IntRange(0, MAX_SESSION_EXPIRY_S), default=DEFAULT_SESSION_EXPIRY_S,
              show_default=True,
              help="Seconds the broker keeps this ingester's session while it is down. The broker goes on dealing it "
              "its share of the messages meanwhile; an ingester away longer loses that share.")
@click.option("--metrics-port", type=click.IntRange(1, 65535), default=None,
              help="Serve Prometheus /metrics on 127.0.0.1:PORT.")
@click.option("--metrics-host", default="127.0.0.1", show_default=True, help="Address for --metrics-port.")
@click.option("--log-format", type=click.Choice(["json", "kv"]), default="json", show_default=True)
@click.option("--no-telemetry", is_flag=True, help="Do not write to InfluxDB even if ELDERCARE_INFLUX_URL is set.")
@click.option("--broker-keeps-no-sessions", is_flag=True,
              help="The broker keeps no session across its restarts and is started with this ingester (eldercare "
              "serve's embedded broker): a start without a session is then expected, not reported as a loss.")
@click.option("--leave", is_flag=True,
              help="Retire this --client-id from the group: leave the shared subscription, store what the broker had "
              "queued for it, end its session and exit. Only while another ingester of the group runs.")
def ingest(data_dir: Path | None, group: str, client_id: str | None, mqtt_version: str, batch_size: int,
           batch_ms: int, session_expiry: int, metrics_port: int | None, metrics_host: str, log_format: str,
           no_telemetry: bool, broker_keeps_no_sessions: bool, leave: bool) -> None:
    """Ingest station messages from MQTT into the store (and InfluxDB), acknowledging only committed ones."""
    if leave and mqtt_version != "5":
        raise click.UsageError("--leave needs --mqtt-version 5: a plain subscription has no group to leave")
    settings = settings_for(data_dir)
    log = configure("eldercare.ingest", log_format)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    configure("eldercare.telemetry", log_format)
    url = settings.resolved_database_url
    engine = open_store(url, create=True)  # the platform's own process: creates an embedded store
    stations = StationCache(engine)
    stations.refresh()
    metrics = IngestMetrics()
    if metrics_port is not None:
        metrics.serve(metrics_port, metrics_host)
    sink = None
    if settings.influx_url and not no_telemetry:
        token = settings.influx_token.get_secret_value() if settings.influx_token else None
        sink = InfluxSink(settings.influx_url, settings.influx_org, settings.influx_bucket, token)
        metrics.watch_telemetry(sink.counts)
    config = IngestConfig(
        host=settings.mqtt_host, port=settings.mqtt_port, tls=settings.mqtt_tls, ca_file=settings.mqtt_ca_file,
        username=settings.mqtt_username,
        password=settings.mqtt_password.get_secret_value() if settings.mqtt_password else None,
        client_id=client_id or f"eldercare-ingest-{socket.gethostname()}", group=group,
        mqtt_version=5 if mqtt_version == "5" else 4, batch_size=batch_size, batch_ms=batch_ms,
        session_expiry_s=session_expiry, broker_keeps_sessions=not broker_keeps_no_sessions,
    )
    ingester = Ingester(config, engine, stations, metrics, sink)
    stop = threading.Event()

    def _request_stop(signum: int, _frame: FrameType | None) -> None:
        log.info("stopping: flushing and acknowledging", extra={"signal": signal.Signals(signum).name})
        stop.set()

    signal.signal(signal.SIGTERM, _request_stop)
    signal.signal(signal.SIGINT, _request_stop)
    settle_heap()
    try:
        ingester.start()
    except ConnectRefused as exc:
        raise click.ClickException(str(exc)) from None
    log.info("ingesting", extra={"database": safe_url(url), "stations": len(stations),
                                 "telemetry": settings.influx_url if sink else None, "metrics_port": metrics_port})
    left = False
    if leave:
        left = ingester.leave(stop)
        if not left:
            log.warning("stopped before leaving the group: the session is kept, and the broker deals it messages "
                        "again once it is back", extra={"client_id": config.client_id})
    else:
        while not stop.wait(1.0):
            pass
    ingester.stop(end_session=left)
    if left:
        log.info("left the group: this client id's session is ended, nothing was left in it",
                 extra={"client_id": config.client_id, "group": group})
    engine.dispose()
    extra = dict(ingester.totals)
    if sink is not None:
        extra.update(telemetry_written=sink.written, telemetry_dropped=sink.dropped)
    log.info("stopped", extra=extra)
    logging.shutdown()
