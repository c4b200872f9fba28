"""`eldercare users`: create dashboard and API users; the password is read from standard input, never an argument."""

import sys
from pathlib import Path

import click
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from cloud.accounts import homecare_problem, name_problem, password_problem, scope_problem
from cloud.store.options import data_dir_option, database_url, open_store


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
    from cloud.store.admin import AuditEntry, command_line_actor
    from cloud.store.db import make_session_factory, safe_url
    from cloud.store.models import Station, utcnow
    from cloud.store.user_scope import unregistered_problem
    from cloud.store.users import User, UserTown

    problem = (name_problem(name) or scope_problem(role, towns, station)
               or homecare_problem(role, provider, caregiver))
    if problem:
        raise click.ClickException(problem)
    if sys.stdin.isatty():
        password = click.prompt("password", hide_input=True, confirmation_prompt=True, err=True)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    problem = password_problem(password)
    if problem:
        raise click.ClickException(f"on standard input: {problem}")

    url = database_url(data_dir)
    engine = open_store(url)
    try:
        with make_session_factory(engine)() as session:
            if session.scalar(select(User.id).where(User.name == name)) is not None:
                raise click.ClickException(f"user {name!r} already exists")
            # Refused as the API refuses it: an account scoped to nobody's data. A station may be imported after
            # its staff's accounts (the station id is all they need), so that is only a warning.
            unregistered = unregistered_problem(session, provider, caregiver)
            if unregistered:
                source = "providers" if role == "provider" else "caregivers"
                raise click.ClickException(f"{unregistered}: import it first (`eldercare cloud homecare import "
                                           f"{source} FILE`); no user created")
            if station and session.get(Station, station) is None:
                click.echo(f"warning: station {station!r} is not registered yet", err=True)
            # Likewise a town no registered station is in: a typo would give the officer an empty dashboard.
            for town in dict.fromkeys(towns):
                if session.scalar(select(Station.id).where(Station.town == town).limit(1)) is None:
                    click.echo(f"warning: no registered station is in town {town!r} yet", err=True)
            user = User(name=name, role=role, password_hash=hash_password(password), station_id=station,
                        provider_id=provider, caregiver_id=caregiver)
            user.towns = [UserTown(town=t) for t in dict.fromkeys(towns)]
            session.add(user)
            actor, actor_role = command_line_actor()
            session.add(AuditEntry(at=utcnow(), actor=actor, actor_role=actor_role, action="user.add",
                                   target_kind="user", target=name,
                                   after={"role": role, "towns": sorted(set(towns)), "station": station,
                                          "provider": provider, "caregiver": caregiver, "active": True}))
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
    from cloud.store.admin import AuditEntry, command_line_actor
    from cloud.store.db import make_session_factory
    from cloud.store.models import utcnow
    from cloud.store.users import User

    engine = open_store(database_url(data_dir))
    try:
        with make_session_factory(engine)() as session:
            user = session.scalars(select(User).where(User.name == name)).first()
            if user is None:
                raise click.ClickException(f"no user {name!r}")
            if user.active != enable:
                actor, actor_role = command_line_actor()
                session.add(AuditEntry(at=utcnow(), actor=actor, actor_role=actor_role,
                                       action="user.enable" if enable else "user.disable", target_kind="user",
                                       target=name, before={"active": user.active}, after={"active": enable}))
            user.active = enable
            if not enable:
                revoke_all(user)
            session.commit()
    finally:
        engine.dispose()
    click.echo(f"user {name} {'enabled' if enable else 'disabled'}")
