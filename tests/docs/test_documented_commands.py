"""What README.md, docs/*.md and docker-compose.yml's steps tell a user to type is what the code takes: every
`eldercare …` command they show names a real command and only options it has, and every `ELDERCARE_*` variable they
name is read by something."""

import re
from collections.abc import Iterator
from pathlib import Path

import click
import pytest

from cloud.registry.csv_rows import parse_station_csv
from cloud.settings import Settings
from eldercare.cli import cli

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
COMPOSE = ROOT / "docker-compose.yml"
# Where `eldercare` starts a command in a shell line: at the start, after a pipe or `&&`, after `exec`/`sudo`, or as
# a path's last part (`.venv/bin/eldercare`); `sudo -u eldercare` and `git clone … eldercare` are not commands.
COMMAND_START = re.compile(r"(?:^\s*|[|;&]\s*|\bexec\s+|\bsudo\s+|/bin/)eldercare\s+(.*)")
OPTION = re.compile(r"(?<![\w-])(--?[a-zA-Z][\w-]*)")


def pieces(text: str) -> Iterator[tuple[bool, str]]:
    """(inside a code fence, text) for each stretch of a Markdown file, fences paired line by line."""
    lines: list[str] = []
    code = False
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            yield code, "\n".join(lines)
            lines, code = [], not code
            continue
        lines.append(line)
    yield code, "\n".join(lines)


def documented_commands(text: str) -> Iterator[str]:
    """Every `eldercare …` command line: in code blocks (continuation lines joined, comments cut) and in `inline`."""
    for code, body in pieces(text):
        if code:
            # A line continued with `\`, or an indented line of more options (a synopsis), belongs to the one above.
            body = re.sub(r"\n\s+(?=\[?--)", " ", body.replace("\\\n", " "))
            for line in body.splitlines():
                found = COMMAND_START.search(line.split(" #")[0])
                if found:
                    yield found.group(1).strip()
        else:
            for inline in re.findall(r"`([^`\n]+)`", body):
                found = re.match(r"(?:\.venv/bin/)?eldercare\s+(.*)", inline)
                if found:
                    yield found.group(1)


def problems(command: str) -> list[str]:
    """Why the command would not run as written: a command that does not exist, or an option it does not have.
    Alternatives are written `a|b` (or `a/b`): each must exist."""
    words = command.replace("\\|", "|").split()
    group: click.Command = cli
    context = click.Context(cli, info_name="eldercare")
    path = ["eldercare"]
    while isinstance(group, click.Group) and words and not words[0].strip("[]").startswith("-"):
        names = [name for name in re.split(r"[|/]", words[0].strip("[]`")) if name]
        found = [group.get_command(context, name) for name in names]
        if not names or None in found:
            return [f"{' '.join(path)} has no command {words[0]!r}"]
        if len(found) > 1:
            return []  # `provision broker|station ID [--json]`: options shared loosely, checked where written alone
        group, words = found[0], words[1:]  # type: ignore[assignment]
        path.append(names[0])
        context = click.Context(group, info_name=names[0], parent=context)
    if isinstance(group, click.Group):
        return []
    known = {option for param in group.params for option in (*param.opts, *param.secondary_opts)} | {"-h", "--help"}
    wrong = [f"{' '.join(path)} has no option {option}" for word in words for option in OPTION.findall(word)
             if option not in known and not re.fullmatch(r"-\d+", option)]
    # A synopsis's `[--option VALUE]` with a literal value shows the default: it must be the code's.
    defaults = {option: param.default for param in group.params for option in param.opts}
    for option, value in re.findall(r"\[(--[\w-]+) ([a-z0-9.]+)\]", " ".join(words)):
        default = defaults.get(option)
        if isinstance(default, int | float | str) and not isinstance(default, bool) and str(default) != value \
                and not (isinstance(default, int | float) and float(value) == default):
            wrong.append(f"{' '.join(path)} {option}: the synopsis shows {value}, the default is {default}")
    return wrong


def test_the_reader_finds_the_commands() -> None:
    # The reader itself: a fence in another language before a shell block must not swallow it.
    text = ("```json\n{}\n```\n\n```sh\neldercare edge gallery --config x.yaml   # ids\n"
            "eldercare cloud ingest [--group ingest]\n                       [--batch-ms 200]\n```\n"
            "then `eldercare demo --port 1`")
    assert list(documented_commands(text)) == ["edge gallery --config x.yaml",
                                               "cloud ingest [--group ingest] [--batch-ms 200]", "demo --port 1"]
    assert problems("edge gallery --config x.yaml") == []
    assert problems("edge galery") == ["eldercare edge has no command 'galery'"]
    assert problems("cloud ingest [--batch-size 500] [--batchms 200]") == [
        "eldercare cloud ingest has no option --batchms"]
    assert problems("users add NAME --role bureau\\|town") == []
    assert problems("cloud ingest [--batch-size 500] [--session-expiry 60]") == [
        "eldercare cloud ingest --session-expiry: the synopsis shows 60, the default is 259200"]
    counts = {doc.name: len(list(documented_commands(doc.read_text(encoding="utf-8")))) for doc in DOCS}
    assert counts["README.md"] >= 20 and counts["edge.md"] >= 3 and counts["face.md"] >= 5, counts


@pytest.mark.parametrize("doc", DOCS, ids=lambda doc: doc.name)
def test_every_documented_command_and_option_exists(doc: Path) -> None:
    found = [f"{problem}:  eldercare {command}" for command in documented_commands(doc.read_text(encoding="utf-8"))
             for problem in problems(command)]
    assert not found, "\n".join(found)


def compose_commands() -> list[str]:
    """The commands in docker-compose.yml's comments: `eldercare …` on the host, and `docker compose run … migrate
    ARGS`, which runs `eldercare ARGS` in the image (its entrypoint)."""
    comments = [line.strip().lstrip("#").strip() for line in COMPOSE.read_text(encoding="utf-8").splitlines()
                if line.strip().startswith("#")]
    shell = "\n".join(comments).replace("\\\n", " ")
    commands = list(documented_commands(f"```sh\n{shell}\n```"))
    commands += re.findall(r"docker compose run .*?\bmigrate (.*)", shell)
    return commands


def test_the_compose_files_steps_use_real_commands_and_options() -> None:
    commands = compose_commands()
    assert any(c.startswith("cloud provision broker") for c in commands), commands
    assert any(c.startswith("cloud stations import") for c in commands), commands
    assert any(c.startswith("users add") for c in commands), commands
    found = [f"{problem}:  {command}" for command in commands for problem in problems(command)]
    assert not found, "\n".join(found)


def named_variables(text: str) -> set[str]:
    """`ELDERCARE_*` names, the shorthand `ELDERCARE_MQTT_USERNAME`/`_PASSWORD` expanded."""
    names = set(re.findall(r"ELDERCARE_[A-Z][A-Z_]*[A-Z](?![A-Z_])", text))  # not a family: `ELDERCARE_INFLUX_*`
    for first, rest in re.findall(r"`(ELDERCARE_[A-Z_]+)`((?:/`_[A-Z_]+`)+)", text):
        stem = "_".join(first.split("_")[:2])  # ELDERCARE_MQTT of `ELDERCARE_MQTT_USERNAME`/`_PASSWORD`
        names |= {stem + suffix for suffix in re.findall(r"`(_[A-Z_]+)`", rest)}
    return names


def test_every_documented_variable_is_read_and_every_setting_is_in_the_readme() -> None:
    settings = {f"ELDERCARE_{name.upper()}" for name in Settings.model_fields}
    source = "\n".join(path.read_text(encoding="utf-8") for folder in ("cloud", "edge", "eldercare", "firmware_config")
                       for path in (ROOT / folder).rglob("*.py"))
    deployment = "\n".join((ROOT / name).read_text(encoding="utf-8")
                           for name in ("docker-compose.yml", "deploy/caddy/Caddyfile"))
    documented = set().union(*(named_variables(doc.read_text(encoding="utf-8")) for doc in DOCS))
    unread = sorted(name for name in documented
                    if name not in settings and f'"{name}"' not in source and f"{{${name}" not in deployment
                    and f"${{{name}" not in deployment)
    assert not unread, f"documented but read by nothing: {unread}"
    readme = named_variables((ROOT / "README.md").read_text(encoding="utf-8"))
    assert not sorted(settings - readme), f"settings the README does not name: {sorted(settings - readme)}"


def test_the_compose_steps_give_the_secrets_to_the_images_users() -> None:
    # Compose mounts file secrets with the host's owner and mode (0600): the step must name the users that read them.
    header = COMPOSE.read_text(encoding="utf-8").split("\nname:", 1)[0]
    user = re.search(r"useradd --system --uid (\d+) eldercare", (ROOT / "Dockerfile").read_text())
    assert user is not None
    app_uid = user.group(1)
    assert f"chown {app_uid} deploy/provision/credentials/eldercare-ingest.password" in header
    assert "deploy/provision/credentials/eldercare-worker.password" in header
    assert "--run-as 1883" in header  # eclipse-mosquitto's own uid, which it drops to before reading its files


def test_the_build_context_leaves_out_secrets_and_keeps_what_the_image_copies() -> None:
    # `docker compose build` sends the folder to the daemon: .env, the provisioned passwords and the CA key stay out.
    ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
               if line.strip() and not line.startswith("#")}
    assert {".env", "deploy/provision", "deploy/tls", "data", ".venv"} <= ignored
    copied = re.findall(r"^COPY (\S+)", (ROOT / "Dockerfile").read_text(), re.MULTILINE)
    assert copied and not set(copied) & ignored


def test_every_repository_path_and_test_the_docs_cite_exists() -> None:
    # A file moved or a test renamed leaves the docs pointing at nothing; topics and paths on a station are not files.
    generated = ("deploy/provision", "deploy/tls", "firmware_config/stations", "eldercare/v1")
    folders = "tests|bench|cloud|edge|eldercare|simulators|firmware_config|station_protocol|dashboards|deploy|scripts"
    missing = []
    for doc in DOCS:
        text = doc.read_text(encoding="utf-8")
        for path in set(re.findall(rf"(?<![\w/.-])((?:{folders})/[\w./-]*\w)", text)):
            if not path.startswith(generated) and not (ROOT / path).exists():
                missing.append(f"{doc.name}: {path}")
        for path, name in re.findall(r"(tests/[\w/]+\.py)::(\w+)", text):
            if (ROOT / path).exists() and f"def {name}" not in (ROOT / path).read_text(encoding="utf-8"):
                missing.append(f"{doc.name}: {path}::{name}")
    assert not missing, "\n".join(sorted(missing))


def test_the_readmes_station_csv_is_one_the_import_takes() -> None:
    blocks = [body for code, body in pieces((ROOT / "README.md").read_text(encoding="utf-8"))
              if code and body.startswith("station_id,")]
    assert blocks, "the README lost its example station CSV"
    records, problems_found = parse_station_csv(blocks[0] + "\n")
    assert not problems_found and [(r.id, r.kind, r.grade) for r in records] == [
        ("qd-huilong-01", "station", "3A"), ("hn-xinc-01", "care_centre", None)]
