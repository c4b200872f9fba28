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
import os
import pwd
import tempfile
from pathlib import Path

import click
from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from cloud.provision.acl import render_acl
from cloud.provision.passwords import new_password, write_password_file
from cloud.provision.skeleton import schema_reference, station_skeleton
from cloud.provision.tls import TlsFiles, make_tls
from cloud.registry.sources import read_sources
from cloud.store.models import Station
from cloud.store.options import data_dir_option, open_store, settings_for
from firmware_config.grade import GRADES
from firmware_config.kind import KINDS, is_graded
from firmware_config.load import ConfigError, load_station
from station_protocol.ids import station_id_problem

INGESTER = "eldercare-ingest"
WORKER = "eldercare-worker"  # the command sender's account, named when the derivation worker sent the commands
LISTENER_FILE = "listener.json"  # where a running `eldercare serve` says its broker listens


def _out_dir(out: Path | None, data_dir: Path | None) -> Path:
    return out if out is not None else settings_for(data_dir).data_dir / "broker"


def _credential(out: Path, user: str, rotate: bool) -> str:
    path = out / "credentials" / f"{user}.password"
    if path.exists() and not rotate:
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    password = new_password()
    _write_private(path, password + "\n")
    return password


def _write_private(path: Path, text: str) -> None:
    """Write `path` mode 0600 in one step: a reader (the broker) sees the old file or the new one, never half."""
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        Path(tmp_name).replace(path)
    finally:
        Path(tmp_name).unlink(missing_ok=True)


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
    """Rebuild passwd, acl, TLS and mosquitto.conf from credentials/; with `run_as`, the files Mosquitto reads are
    that user's."""
    write_access(out, ingester)
    tls = make_tls(out / "tls", hosts)
    (out / "mosquitto.conf").write_text(mosquitto_conf(out, tls, tls_port, plain_port, run_as))
    if run_as is not None:
        give_to(run_as, [out / "passwd", out / "acl", tls.server_key, tls.server_cert, tls.ca_cert])
    return tls


def give_to(user: str, paths: list[Path]) -> None:
    """Make `user` (a name, or a uid such as the Mosquitto image's 1883) own `paths`. Mosquitto reads its password
    file, ACL and key after dropping to its user, and they are 0600: rewritten by this command (a station added),
    they would otherwise belong to whoever ran it, and the broker could not read them after its next reload."""
    try:
        uid = int(user) if user.isdigit() else pwd.getpwnam(user).pw_uid
    except KeyError:
        raise click.ClickException(f"--run-as {user}: no such user on this host (give its uid)") from None
    for path in paths:
        if path.stat().st_uid == uid:
            continue
        try:
            os.chown(path, uid, -1)
        except PermissionError:
            raise click.ClickException(f"--run-as {user}: cannot give {path} to uid {uid} (run this as root, or "
                                       f"chown it yourself: Mosquitto reads it as that user)") from None


def write_access(out: Path, ingester: str = INGESTER) -> None:
    """Rebuild passwd and acl from credentials/ (the ACL first: a new user never connects without its grants)."""
    users = _users(out)
    stations = [u for u in users if u not in (ingester, WORKER)]
    try:
        acl = render_acl(stations, ingester, WORKER if WORKER in users else None)
    except ValueError as exc:
        raise click.ClickException(f"{out / 'credentials'}: {exc}; remove that file") from None
    _write_private(out / "acl", acl)
    write_password_file(out / "passwd", users)


def ensure_service_users(out: Path, ingester: str = INGESTER) -> None:
    """Credentials for the ingester and the command sender (kept if they exist), and passwd/acl to match."""
    for user in (ingester, WORKER):
        _credential(out, user, rotate=False)
    write_access(out, ingester)


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


def _registered(data_dir: Path | None, station_id: str) -> Station | None:
    """The station's registry row (its values in force today), or None when it is not registered. An embedded
    SQLite store that does not exist yet has no stations: it is not created just to look."""
    url = settings_for(data_dir).resolved_database_url
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database and not Path(parsed.database).exists():
        return None
    engine = None
    try:
        engine = open_store(url)
        with Session(engine) as session:
            found = session.get(Station, station_id)
            if found is not None:
                session.expunge(found)
            return found
    except SQLAlchemyError as exc:
        raise click.ClickException(f"cannot read the station registry: {str(exc).splitlines()[0]}") from None
    finally:
        if engine is not None:
            engine.dispose()


def _registry_conflict(ctx: click.Context, registered: Station, given: dict[str, str | None]) -> str | None:
    """The first option given on the command line that says otherwise than the registry, as one line; None if none.
    The registry is changed by importing the station's file or the bureau's CSV, never by provisioning it."""
    for option, value in given.items():
        if ctx.get_parameter_source(option) in (None, click.core.ParameterSource.DEFAULT):
            continue
        held = getattr(registered, option)
        if (value or "").strip() != (held or "").strip():
            what = f"{option} {held}" if held else f"no {option}"
            return (f"{registered.id} is registered with {what} (a {registered.kind}), not --{option} {value}: "
                    "leave the option out, or change the registry with `eldercare cloud stations import`")
    return None


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


UNGRADED_NAMES = {"care_centre": "care centre (照料中心)", "neighbourhood_point": "neighbourhood point (睦邻点)"}


def _skeleton_grade(kind: str, grade: str | None) -> str | None:
    """The grade the skeleton gets: a station's (2A unless given); none for a care centre or neighbourhood point, whose
    file the loader refuses with a grade (it would hold them to a figure, a veto and a subsidy they do not have)."""
    if is_graded(kind):
        return grade or "2A"
    if grade is not None:
        raise click.BadParameter(f"{grade} with --kind {kind}: a {UNGRADED_NAMES[kind]} has no grade; leave --grade "
                                 "out", param_hint="--grade")
    return None


def _identity(kind: str, grade: str | None) -> str:
    return f"kind {kind}" + (f", grade {grade}" if grade else "")


def _kept_identity_differs(path: Path, kind: str, grade: str | None) -> str | None:
    """The kind and grade an existing station file has, when they are not those asked for; None when they are (or
    the file does not load: `edge check-config` says why)."""
    try:
        config = load_station(path)
    except (ConfigError, OSError):
        return None
    if (config.kind, config.grade) == (kind, grade):
        return None
    return _identity(config.kind, config.grade)


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
        stations = _registry_stations(data_dir)
    if not stations and sources:
        raise click.ClickException(f"no stations in {', '.join(str(s) for s in sources)}: give the bureau's station "
                                   "CSV or station YAML files (of a folder, its own .csv/.yaml/.yml files are read, "
                                   "not its subfolders)")
    if not stations:
        raise click.ClickException("no stations to provision: import them first or pass --stations")
    for problem in filter(None, (station_id_problem(s) for s in stations)):
        raise click.ClickException(problem)
    for user in (ingester_user, WORKER, *stations):
        _credential(out, user, rotate)
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
@click.pass_context
def station(ctx: click.Context, station_id: str, data_dir: Path | None, out: Path | None, ingester_user: str,
            rotate: bool, hosts: tuple[str, ...], tls_port: int, plain_port: int | None, run_as: str | None,
            config_dir: Path, name: str | None, kind: str, grade: str | None, town: str | None,
            as_json: bool) -> None:
    """Create (or show) one station's broker credentials, add it to the ACL and write its config skeleton."""
    problem = station_id_problem(station_id)
    if problem:
        raise click.ClickException(problem)
    registered = _registered(data_dir, station_id)
    if registered is None:
        grade = _skeleton_grade(kind, grade)
    else:
        # Refused before any password or file is written: the skeleton would disagree with the registry, and
        # importing it back would change the station's kind, grade or name behind the bureau's back.
        conflict = _registry_conflict(ctx, registered, {"kind": kind, "grade": grade, "name": name, "town": town})
        if conflict:
            raise click.ClickException(conflict)
        kind, grade, name, town = registered.kind, registered.grade, registered.name, registered.town
    out = _out_dir(out, data_dir)
    for user in (ingester_user, WORKER):
        _credential(out, user, rotate=False)
    password = _credential(out, station_id, rotate)
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
        differs = _kept_identity_differs(skeleton, kind, grade)
        # On stderr, so a script reading --json sees it too: the registry imports what the file says.
        if registered is not None and differs:
            click.echo(f"warning: {skeleton} says {differs}, but the registry has {_identity(kind, grade)}; "
                       "importing the file would change the registry: edit its kind/grade", err=True)
        elif given and differs:
            click.echo(f"warning: {skeleton} says {differs}, not {_identity(kind, grade)}; edit its kind/grade if "
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
