"""The broker's files: one generated password per user, Mosquitto's password file and ACL rebuilt from them, TLS and
mosquitto.conf. Used by `eldercare cloud provision` and by `eldercare serve` (its embedded broker reads the same files).

A reader (Mosquitto, or the embedded broker reloading) sees each file old or new, never half written.
"""

import os
import pwd
import tempfile
from pathlib import Path

import click

from cloud.provision.acl import render_acl
from cloud.provision.passwords import new_password, write_password_file
from cloud.provision.tls import TlsFiles, make_tls

INGESTER = "eldercare-ingest"
WORKER = "eldercare-worker"  # the command sender's account, named when the derivation worker sent the commands
LISTENER_FILE = "listener.json"  # where a running `eldercare serve` says its broker listens


def credential(out: Path, user: str, rotate: bool) -> str:
    path = out / "credentials" / f"{user}.password"
    if path.exists() and not rotate:
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    password = new_password()
    write_private(path, password + "\n")
    return password


def write_private(path: Path, text: str) -> None:
    """Write `path` mode 0600 in one step: a reader (the broker) sees the old file or the new one, never half."""
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        Path(tmp_name).replace(path)
    finally:
        Path(tmp_name).unlink(missing_ok=True)


def users_with_credentials(out: Path) -> dict[str, str]:
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
    users = users_with_credentials(out)
    stations = [u for u in users if u not in (ingester, WORKER)]
    try:
        acl = render_acl(stations, ingester, WORKER if WORKER in users else None)
    except ValueError as exc:
        raise click.ClickException(f"{out / 'credentials'}: {exc}; remove that file") from None
    write_private(out / "acl", acl)
    write_password_file(out / "passwd", users)


def ensure_service_users(out: Path, ingester: str = INGESTER) -> None:
    """Credentials for the ingester and the command sender (kept if they exist), and passwd/acl to match."""
    for user in (ingester, WORKER):
        credential(out, user, rotate=False)
    write_access(out, ingester)
