"""`eldercare users`: create dashboard and API users; the password is read from standard input, never an argument."""

import sys
from pathlib import Path

import click
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from cloud.homecare.records import id_problem
from cloud.store.options import data_dir_option, database_url, open_store
from station_protocol.ids import station_id_problem

MIN_PASSWORD = 8


@click.group()
def users() -> None:
    """Dashboard and API users."""


@users.command()
@click.argument("name")
@click.option("--role", required=True,
              type=click.Choice(["bureau", "town", "station", "dispatch", "provider", "caregiver"]),
              help="bureau: everything; town: its towns; station: its station; dispatch: emergency calls; provider: "
              "a home-care provider's own elders, caregivers, orders and figures; caregiver: their own visits.")
@click.option("--town", "towns", multiple=True, help="A town the officer covers (repeat for several); role town only.")
@click.option("--station", help="The station the staff member works at; role station only.")
@click.option("--provider", help="The home-care provider's id; role provider only.")
@click.option("--caregiver", help="The caregiver's job number; role caregiver only.")
@data_dir_option
def add(name: str, role: str, towns: tuple[str, ...], station: str | None, provider: str | None,
        caregiver: str | None, data_dir: Path | None) -> None:
    """Create user NAME; the password is the first line of standard input (e.g. `echo pw | eldercare users add ...`)."""
    from cloud.api.security import hash_password
    from cloud.store.db import make_session_factory, safe_url
    from cloud.store.homecare import HomecareCaregiver, HomecareProvider
    from cloud.store.models import Station
    from cloud.store.users import User, UserTown

    if not 1 <= len(name) <= 64 or not name.isprintable() or name.strip() != name:
        raise click.ClickException("user name must be 1-64 printable characters without surrounding spaces")
    if role == "town" and not towns:
        raise click.ClickException("a town officer needs at least one --town")
    if role != "town" and towns:
        raise click.ClickException("--town is only for --role town")
    if role == "station" and not station:
        raise click.ClickException("station staff need --station")
    if role != "station" and station:
        raise click.ClickException("--station is only for --role station")
    for option, value, wanted in (("--provider", provider, "provider"), ("--caregiver", caregiver, "caregiver")):
        if role == wanted and not value:
            raise click.ClickException(f"a {wanted} user needs {option}")
        if role != wanted and value:
            raise click.ClickException(f"{option} is only for --role {wanted}")
    problem = (station_id_problem(station) if station else None) or (
        id_problem(provider, "provider") if provider else None) or (
        id_problem(caregiver, "caregiver") if caregiver else None)
    if problem:
        raise click.ClickException(problem)
    if sys.stdin.isatty():
        password = click.prompt("password", hide_input=True, confirmation_prompt=True, err=True)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    if len(password) < MIN_PASSWORD:
        raise click.ClickException(f"the password on standard input must be at least {MIN_PASSWORD} characters")

    url = database_url(data_dir)
    engine = open_store(url)
    try:
        with make_session_factory(engine)() as session:
            if session.scalar(select(User.id).where(User.name == name)) is not None:
                raise click.ClickException(f"user {name!r} already exists")
            if station and session.get(Station, station) is None:
                click.echo(f"warning: station {station!r} is not registered yet", err=True)
            if provider and session.get(HomecareProvider, provider) is None:
                click.echo(f"warning: provider {provider!r} is not registered yet", err=True)
            if caregiver and session.get(HomecareCaregiver, caregiver) is None:
                click.echo(f"warning: caregiver {caregiver!r} is not registered yet", err=True)
            user = User(name=name, role=role, password_hash=hash_password(password), station_id=station,
                        provider_id=provider, caregiver_id=caregiver)
            user.towns = [UserTown(town=t) for t in dict.fromkeys(towns)]
            session.add(user)
            session.commit()
    except OperationalError as exc:
        first = str(exc.orig).strip().splitlines()[0]
        raise click.ClickException(f"cannot write {safe_url(url)}: {first}") from None
    finally:
        engine.dispose()
    scope = {"town": f" for {', '.join(towns)}", "station": f" at {station}", "provider": f" of {provider}",
             "caregiver": f" {caregiver}"}.get(role, "")
    click.echo(f"user {name} ({role}{scope}) created")


@users.command("list")
@data_dir_option
def list_users(data_dir: Path | None) -> None:
    """List users: name, role, scope, and whether they may log in."""
    from cloud.store.db import make_session_factory
    from cloud.store.users import User

    engine = open_store(database_url(data_dir))
    try:
        with make_session_factory(engine)() as session:
            for user in session.scalars(select(User).order_by(User.role, User.name)):
                scope = ", ".join(user.town_names) or user.station_id or user.provider_id or user.caregiver_id or "-"
                click.echo(f"{user.name}\t{user.role}\t{scope}\t{'active' if user.active else 'disabled'}")
    finally:
        engine.dispose()


@users.command()
@click.argument("name")
@click.option("--enable", is_flag=True, help="Allow the user to log in again.")
@data_dir_option
def disable(name: str, enable: bool, data_dir: Path | None) -> None:
    """Stop user NAME from logging in and revoke their tokens (open live streams close within seconds); --enable
    lets them log in again, with new tokens only."""
    from cloud.api.tokens import revoke_all
    from cloud.store.db import make_session_factory
    from cloud.store.users import User

    engine = open_store(database_url(data_dir))
    try:
        with make_session_factory(engine)() as session:
            user = session.scalars(select(User).where(User.name == name)).first()
            if user is None:
                raise click.ClickException(f"no user {name!r}")
            user.active = enable
            if not enable:
                revoke_all(user)
            session.commit()
    finally:
        engine.dispose()
    click.echo(f"user {name} {'enabled' if enable else 'disabled'}")
