"""`eldercare`: the root command. Errors are one line and a non-zero exit, never a traceback."""

import logging
import os
import sys
import traceback

import click

from eldercare.lazy import LazyGroup

SUBCOMMANDS = {
    "contract": ("eldercare.contract:contract", "Check messages against station protocol v1."),
    "edge": ("eldercare.groups:edge", "The station's edge agent and its devices."),
    "cloud": ("eldercare.groups:cloud", "Ingest, derivations, API and broker provisioning."),
    "simulate": ("eldercare.groups:simulate", "Simulated devices, stations and fleets."),
    "serve": ("eldercare.serve:serve", "Run the whole platform on this machine."),
    "demo": ("eldercare.demo:demo", "Run the platform with a simulated fleet."),
    "users": ("cloud.users_cli:users", "Dashboard and API users."),
}


@click.group(cls=LazyGroup, lazy=SUBCOMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="eldercare-monitor")
@click.option("-v", "--verbose", count=True, help="Debug log output (the default is info and above).")
def cli(verbose: int) -> None:
    """Sensor evidence that community eldercare stations are open and serving elders."""
    # Info is already the default (what `serve` prints), so one -v is the only step left: debug (-vv says the same).
    level = logging.DEBUG if verbose else logging.INFO
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; turn every error into one line on stderr and a non-zero exit status."""
    try:
        result = cli.main(args=argv, prog_name="eldercare", standalone_mode=False)
    except click.UsageError as exc:
        hint = f" (see 'eldercare {exc.ctx.command_path.partition(' ')[2]} --help')" if exc.ctx else ""
        click.echo(f"eldercare: error: {exc.format_message()}{hint}".replace("  ", " "), err=True)
        sys.exit(2)
    except click.ClickException as exc:
        click.echo(f"eldercare: error: {exc.format_message()}", err=True)
        sys.exit(exc.exit_code)
    except click.Abort:
        click.echo("eldercare: aborted", err=True)
        sys.exit(130)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:
        if os.environ.get("ELDERCARE_DEBUG"):
            traceback.print_exc()
        message = str(exc).splitlines()[0] if str(exc) else ""
        click.echo(f"eldercare: error: {type(exc).__name__}: {message} (set ELDERCARE_DEBUG=1 for details)", err=True)
        sys.exit(1)
    sys.exit(result if isinstance(result, int) else 0)
