"""`eldercare cloud provision`: Mosquitto's password file, ACL and TLS listener for the stations and the ingester.

Everything lands in one directory (default DATA_DIR/broker):

    credentials/USER.password   one generated password per user (0600), kept across runs unless --rotate
    passwd, acl                 Mosquitto's password_file and acl_file, rebuilt from credentials/ on every run
    tls/                        a development CA (kept) and the broker's certificate (renewed)
    mosquitto.conf              a configuration using all of the above; anonymous clients refused
"""

from pathlib import Path

import click
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from cloud.provision.acl import render_acl
from cloud.provision.passwords import new_password, write_password_file
from cloud.provision.skeleton import station_skeleton
from cloud.provision.tls import TlsFiles, make_tls
from cloud.registry.sources import read_sources
from cloud.store.models import Station
from cloud.store.options import data_dir_option, open_store, settings_for
from station_protocol.ids import id_problem

INGESTER = "eldercare-ingest"


def _out_dir(out: Path | None, data_dir: Path | None) -> Path:
    return out if out is not None else settings_for(data_dir).data_dir / "broker"


def _credential(out: Path, user: str, rotate: bool) -> str:
    path = out / "credentials" / f"{user}.password"
    if path.exists() and not rotate:
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    password = new_password()
    path.touch(mode=0o600)
    path.write_text(password + "\n")
    return password


def _users(out: Path) -> dict[str, str]:
    folder = out / "credentials"
    return {p.name.removesuffix(".password"): p.read_text().strip() for p in sorted(folder.glob("*.password"))}


def mosquitto_conf(out: Path, tls: TlsFiles, tls_port: int, plain_port: int | None, run_as: str | None) -> str:
    """A complete Mosquitto 2 configuration: TLS listener, optional loopback plain listener, no anonymous access."""
    plain = f"listener {plain_port} 127.0.0.1\n" if plain_port else ""
    # Started as root, Mosquitto drops to `run_as` (default: its own `mosquitto` user) before reading these files.
    user = f"user {run_as}\n" if run_as else ""
    return (
        "# Written by `eldercare cloud provision broker`.\n"
        f"{user}"
        "per_listener_settings false\n"
        "allow_anonymous false\n"
        f"password_file {out.resolve() / 'passwd'}\n"
        f"acl_file {out.resolve() / 'acl'}\n"
        "persistence true\n"
        f"persistence_location {out.resolve()}/\n"
        "message_size_limit 65536\n"
        # Unlimited: a full queue would silently drop messages the agents already deleted (see deploy/mosquitto).
        "max_queued_messages 0\n"
        "max_inflight_messages 0\n"
        f"{plain}"
        f"listener {tls_port}\n"
        f"cafile {tls.ca_cert.resolve()}\n"
        f"certfile {tls.server_cert.resolve()}\n"
        f"keyfile {tls.server_key.resolve()}\n"
    )


def render(out: Path, ingester: str, hosts: list[str], tls_port: int, plain_port: int | None,
           run_as: str | None = None) -> TlsFiles:
    """Rebuild passwd, acl, TLS and mosquitto.conf from credentials/."""
    users = _users(out)
    write_password_file(out / "passwd", users)
    (out / "acl").write_text(render_acl([u for u in users if u != ingester], ingester))
    tls = make_tls(out / "tls", hosts)
    (out / "mosquitto.conf").write_text(mosquitto_conf(out, tls, tls_port, plain_port, run_as))
    return tls


def _registry_stations(data_dir: Path | None) -> list[str]:
    engine = open_store(settings_for(data_dir).resolved_database_url)
    try:
        with engine.connect() as connection:
            return list(connection.execute(select(Station.id)).scalars())
    except SQLAlchemyError as exc:
        raise click.ClickException(f"cannot read the station registry: {str(exc).splitlines()[0]} "
                                   "(import stations, or pass --stations)") from None
    finally:
        engine.dispose()


_out_option = click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
                           help="Directory for the broker files  [default: DATA_DIR/broker]")
_host_option = click.option("--tls-host", "hosts", multiple=True, default=("localhost", "127.0.0.1"),
                            show_default=True, help="Name or address stations use for the broker (repeatable).")
_port_options = [
    click.option("--tls-port", type=click.IntRange(1, 65535), default=8883, show_default=True),
    click.option("--plain-port", type=click.IntRange(1, 65535), default=None,
                 help="Also listen without TLS on 127.0.0.1:PORT (for an ingester on the same host)."),
    click.option("--run-as", default=None,
                 help="The user Mosquitto runs as (it must be able to read these files)  [default: mosquitto]"),
]


@click.group()
def provision() -> None:
    """Broker credentials, ACL and TLS for stations and the ingester."""


@provision.command()
@data_dir_option
@_out_option
@click.option("--stations", "sources", multiple=True, type=click.Path(exists=True, path_type=Path),
              help="Station CSV/YAML files or folders (repeatable)  [default: the registry in the database]")
@click.option("--ingester-user", default=INGESTER, show_default=True)
@click.option("--rotate", is_flag=True, help="Generate new passwords for everyone.")
@_host_option
@_port_options[0]
@_port_options[1]
@_port_options[2]
def broker(data_dir: Path | None, out: Path | None, sources: tuple[Path, ...], ingester_user: str, rotate: bool,
           hosts: tuple[str, ...], tls_port: int, plain_port: int | None, run_as: str | None) -> None:
    """Write the password file, ACL, TLS files and mosquitto.conf for every station and the ingester."""
    out = _out_dir(out, data_dir)
    if sources:
        records, problems = read_sources(list(sources))
        if problems:
            raise click.ClickException("; ".join(problems[:5]))
        stations = [r.id for r in records]
    else:
        stations = _registry_stations(data_dir)
    if not stations:
        raise click.ClickException("no stations to provision: import them first or pass --stations")
    for user in (ingester_user, *stations):
        _credential(out, user, rotate)
    render(out, ingester_user, list(hosts), tls_port, plain_port, run_as)
    click.echo(f"{out}: {len(stations)} station(s) and {ingester_user}; run: mosquitto -c {out / 'mosquitto.conf'}")


@provision.command()
@click.argument("station_id")
@data_dir_option
@_out_option
@click.option("--ingester-user", default=INGESTER, show_default=True)
@click.option("--rotate", is_flag=True, help="Give the station a new password.")
@_host_option
@_port_options[0]
@_port_options[1]
@_port_options[2]
@click.option("--config-dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("firmware_config/stations"), show_default=True,
              help="Where to write the station's config skeleton <ID>.yaml (kept if it exists).")
@click.option("--name", help="Station name for the skeleton.")
@click.option("--grade", type=click.Choice(["2A", "3A", "4A", "5A"]), default="2A", show_default=True)
@click.option("--town", help="Town or street office for the skeleton.")
def station(station_id: str, data_dir: Path | None, out: Path | None, ingester_user: str, rotate: bool,
            hosts: tuple[str, ...], tls_port: int, plain_port: int | None, run_as: str | None, config_dir: Path,
            name: str | None, grade: str, town: str | None) -> None:
    """Create (or show) one station's broker credentials, add it to the ACL and write its config skeleton."""
    problem = id_problem(station_id, "station")
    if problem:
        raise click.ClickException(problem)
    out = _out_dir(out, data_dir)
    _credential(out, ingester_user, rotate=False)
    _credential(out, station_id, rotate)
    tls = render(out, ingester_user, list(hosts), tls_port, plain_port, run_as)
    click.echo(f"station {station_id}: password in {out / 'credentials' / f'{station_id}.password'}, "
               f"CA {tls.ca_cert}; copy both to the station (mqtt.password_file, mqtt.ca_file)")
    skeleton = config_dir / f"{station_id}.yaml"
    if skeleton.exists():
        click.echo(f"config {skeleton} exists; left as it is")
        return
    config_dir.mkdir(parents=True, exist_ok=True)
    skeleton.write_text(station_skeleton(station_id, host=hosts[0], port=tls_port, name=name, grade=grade, town=town),
                        encoding="utf-8")
    click.echo(f"config skeleton {skeleton}: fill in its devices, then `eldercare edge check-config {skeleton}`")
