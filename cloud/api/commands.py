"""`eldercare cloud api`: serve the API and the dashboard with uvicorn."""

import contextlib
from pathlib import Path

import click

from cloud.store.options import data_dir_option, open_store, settings_for


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535), help="Port to listen on.")
@click.option("--forwarded-allow-ips", default=None, metavar="IPS",
              help="Addresses of reverse proxies whose X-Forwarded-For is trusted (comma-separated). Default: none, "
                   "so a client cannot pick the address the login rate limit counts.")
@data_dir_option
def api(host: str, port: int, forwarded_allow_ips: str | None, data_dir: Path | None) -> None:
    """Serve the API (/api/v1, OpenAPI at /api/v1/docs), /healthz, /metrics and the dashboard at /."""
    import uvicorn

    from cloud.api.app import create_app
    from cloud.api.server import StreamEndingServer
    from cloud.derive.deployment import ConfigFileError, read_holidays, read_rules
    from cloud.store.db import safe_url

    settings = settings_for(data_dir)
    try:  # the app reads them again in its lifespan; checked here so a broken file is one line, not a traceback
        read_rules(settings.rules_file)
        if settings.holidays_file is not None:
            read_holidays(settings.holidays_file)
    except ConfigFileError as exc:
        raise click.ClickException(str(exc)) from None
    url = settings.resolved_database_url
    open_store(url, create=True).dispose()  # the platform's own process: creates an embedded store as serve does
    click.echo(f"eldercare API and dashboard on http://{host}:{port}/ (database {safe_url(url)})", err=True)
    app = create_app(settings)
    # The live streams end as the stop begins (StreamEndingServer); a response still running after 3 s is cut.
    config = uvicorn.Config(app, host=host, port=port, log_level="info", access_log=False, timeout_graceful_shutdown=3,
                            proxy_headers=forwarded_allow_ips is not None, forwarded_allow_ips=forwarded_allow_ips)
    server = StreamEndingServer(config, app)
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C: uvicorn raises it again once it has stopped
        server.run()
    if not server.started:  # the port taken, or the lifespan failed: uvicorn logged why
        raise SystemExit(3)
