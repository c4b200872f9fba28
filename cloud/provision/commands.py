"""`eldercare cloud provision`: Mosquitto's password file, ACL and TLS listener for the stations and the ingester.

Everything lands in one directory (default DATA_DIR/broker):

    credentials/USER.password   one generated password per user (0600), kept across runs unless --rotate
    passwd, acl                 Mosquitto's password_file and acl_file, rebuilt from credentials/ on every run
    tls/                        a development CA (kept) and the broker's certificate (renewed)
    mosquitto.conf              a configuration using all of the above; anonymous clients refused

Users: each station (user name = station id), `eldercare-ingest` (reads every station's messages) and
`eldercare-worker` (the command sender's: publishes the stations' commands). A running `eldercare serve` on the same
data directory picks up new passwd/acl files within seconds; a Mosquitto of your own reloads them on SIGHUP.
"""

import json
from pathlib import Path

import click

from cloud.provision.broker_files import INGESTER, LISTENER_FILE, WORKER, credential, render
from cloud.provision.identity import identity, kept_identity_differs, skeleton_grade
from cloud.provision.registry_lookup import registered_station, registry_conflict, registry_stations
from cloud.provision.skeleton import schema_reference, station_skeleton
from cloud.registry.sources import read_sources
from cloud.store.options import data_dir_option, settings_for
from firmware_config.grade import GRADES
from firmware_config.kind import KINDS
from station_protocol.ids import station_id_problem


def _out_dir(out: Path | None, data_dir: Path | None) -> Path:
    return out if out is not None else settings_for(data_dir).data_dir / "broker"


def _station_endpoint(ctx: click.Context, out: Path, host: str, port: int) -> tuple[str, int, bool]:
    """Where the station connects and whether over TLS: --tls-host/--tls-port when given, else a running
    `eldercare serve`'s broker (plain MQTT)."""
    given = {ctx.get_parameter_source(name) for name in ("hosts", "tls_port")}
    listener = out / LISTENER_FILE
    if given <= {click.core.ParameterSource.DEFAULT} and listener.exists():
        try:
            served = json.loads(listener.read_text(encoding="utf-8"))
            return str(served["host"]), int(served["port"]), False
        except (ValueError, KeyError, TypeError):
            pass
    return host, port, True


_out_option = click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
                           help="Directory for the broker files  [default: DATA_DIR/broker]")
_host_option = click.option("--tls-host", "hosts", multiple=True, default=("localhost", "127.0.0.1"),
                            show_default=True, help="Name or address stations use for the broker (repeatable).")
_port_options = [
    click.option("--tls-port", type=click.IntRange(1, 65535), default=8883, show_default=True),
    click.option("--plain-port", type=click.IntRange(1, 65535), default=None,
                 help="Also listen without TLS on 127.0.0.1:PORT (for an ingester on the same host)."),
    click.option("--run-as", default=None,
                 help="The user (or uid) Mosquitto runs as: written into mosquitto.conf, and the owner given to the "
                      "password file, ACL and TLS key it reads  [default: mosquitto, owner unchanged]"),
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
        stations = registry_stations(data_dir)
    if not stations and sources:
        raise click.ClickException(f"no stations in {', '.join(str(s) for s in sources)}: give the bureau's station "
                                   "CSV or station YAML files (of a folder, its own .csv/.yaml/.yml files are read, "
                                   "not its subfolders)")
    if not stations:
        raise click.ClickException("no stations to provision: import them first or pass --stations")
    for problem in filter(None, (station_id_problem(s) for s in stations)):
        raise click.ClickException(problem)
    for user in (ingester_user, WORKER, *stations):
        credential(out, user, rotate)
    render(out, ingester_user, list(hosts), tls_port, plain_port, run_as)
    click.echo(f"{out}: {len(stations)} station(s), {ingester_user} and {WORKER}; "
               f"run: mosquitto -c {out / 'mosquitto.conf'}")


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
              help="Where to write the station's config skeleton <ID>.yaml (kept if it exists). A registered "
                   "station's skeleton has the registry's name, town, kind, grade, address and hours.")
@click.option("--name", help="Station name for the skeleton (a registered station's must match the registry).")
@click.option("--kind", type=click.Choice(KINDS), default="station", show_default=True,
              help="station (居家养老服务站, graded), care_centre (照料中心) or neighbourhood_point (睦邻点); "
                   "the last two have no grade. A registered station keeps the registry's kind and grade.")
@click.option("--grade", type=click.Choice(GRADES), default=None,
              help="A station's grade, for its skeleton  [default: 2A; none for the other kinds]")
@click.option("--town", help="Town or street office for the skeleton (a registered station's must match the "
                              "registry).")
@click.option("--json", "as_json", is_flag=True,
              help='Print only {"station", "username", "password", "host", "port"} as JSON (for scripts).')
@click.option("--create", is_flag=True,
              help="Make the broker folder (a new CA, new ingester and sender passwords) if it does not exist yet; "
                   "without it a missing folder is refused (a wrong folder or --data-dir).")
@click.pass_context
def station(ctx: click.Context, station_id: str, data_dir: Path | None, out: Path | None, ingester_user: str,
            rotate: bool, hosts: tuple[str, ...], tls_port: int, plain_port: int | None, run_as: str | None,
            config_dir: Path, name: str | None, kind: str, grade: str | None, town: str | None,
            as_json: bool, create: bool) -> None:
    """Create (or show) one station's broker credentials, add it to the ACL and write its config skeleton."""
    problem = station_id_problem(station_id)
    if problem:
        raise click.ClickException(problem)
    registered = registered_station(data_dir, station_id)
    if registered is None:
        grade = skeleton_grade(kind, grade)
    else:
        # Refused before any password or file is written: the skeleton would disagree with the registry, and
        # importing it back would change the station's kind, grade or name behind the bureau's back.
        conflict = registry_conflict(ctx, registered, {"kind": kind, "grade": grade, "name": name, "town": town})
        if conflict:
            raise click.ClickException(conflict)
        kind, grade, name, town = registered.kind, registered.grade, registered.name, registered.town
    out = _out_dir(out, data_dir)
    if not out.is_dir() and not create:
        # A password the running broker never heard of, signed by a new CA, is worse than no answer.
        raise click.ClickException(
            f"no broker folder {out}: run the command from the folder where `eldercare serve` runs, or pass "
            "--data-dir (or --out); for a new broker: `eldercare cloud provision broker`, or add --create")
    for user in (ingester_user, WORKER):
        credential(out, user, rotate=False)
    password = credential(out, station_id, rotate)
    tls = render(out, ingester_user, list(hosts), tls_port, plain_port, run_as)

    def say(line: str) -> None:
        if not as_json:
            click.echo(line)

    host, port, over_tls = _station_endpoint(ctx, out, hosts[0], tls_port)
    password_file = out / "credentials" / f"{station_id}.password"
    if over_tls:
        say(f"station {station_id}: password in {password_file}, CA {tls.ca_cert}; copy both to the station "
            "(mqtt.password_file, mqtt.ca_file)")
    else:
        say(f"station {station_id}: password in {password_file}; copy it to the station (mqtt.password_file). "
            f"It connects to this `eldercare serve`'s broker at {host}:{port}, which has no TLS")
    skeleton = config_dir / f"{station_id}.yaml"
    if skeleton.exists():
        say(f"config {skeleton} exists; left as it is")
        given = {ctx.get_parameter_source(n) for n in ("kind", "grade")} - {click.core.ParameterSource.DEFAULT}
        differs = kept_identity_differs(skeleton, kind, grade)
        # On stderr, so a script reading --json sees it too: the registry imports what the file says.
        if registered is not None and differs:
            click.echo(f"warning: {skeleton} says {differs}, but the registry has {identity(kind, grade)}; "
                       "importing the file would change the registry: edit its kind/grade", err=True)
        elif given and differs:
            click.echo(f"warning: {skeleton} says {differs}, not {identity(kind, grade)}; edit its kind/grade if "
                       "the site changed (the registry imports what the file says)", err=True)
    else:
        config_dir.mkdir(parents=True, exist_ok=True)
        skeleton.write_text(station_skeleton(station_id, host=host, port=port, name=name, kind=kind, grade=grade,
                                             town=town, tls=over_tls, schema=schema_reference(config_dir),
                                             address=registered.address if registered else None,
                                             schedule=registered.schedule() if registered else None,
                                             registered=registered is not None), encoding="utf-8")
        say(f"config skeleton {skeleton}: fill in its devices, then `eldercare edge check-config {skeleton}`")
    if as_json:
        click.echo(json.dumps({"station": station_id, "username": station_id, "password": password,
                               "host": host, "port": port}))
