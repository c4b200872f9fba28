"""`eldercare demo`: `serve` plus a simulated fleet on an accelerated clock, with the cases a bureau must see.

A month of history passes in a few minutes: a station closed on three spot-check days (the veto), one below its
monthly threshold, one whose agent went offline, a care centre and a neighbourhood point (no grade: their threshold,
veto and subsidy read 不适用), and two emergency presses live — one acknowledged by the dispatch centre, one left to
escalate to the town and dispatch. Live, the stations heartbeat and answer the platform's time checks as real agents
do (simulators.fleet_agents), so a live day shows its time checks.

What the demo seeds and simulates reads one clock, passed down from `demo`: the real one, or with `--today` a clock
that starts at that moment in the stations' zone and runs on at real speed (so a test, or a bureau rehearsing a
holiday, gets the same history whatever the date). The platform it starts keeps the real clock: on a `--today` clock
the fleet answers no time check, since every answer would read as a clock set behind by the difference.
"""

import json
import logging
import secrets
import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from datetime import time as dt_time
from pathlib import Path
from uuid import UUID
from zoneinfo import ZoneInfo

import click
import httpx
from sqlalchemy.exc import SQLAlchemyError

from cloud.derive.plans import create_plan
from cloud.rules.calendar import DayKind, national_day
from cloud.store.db import make_engine, make_session_factory
from cloud.store.options import settings_for
from eldercare.datalock import LOCK_FILE
from eldercare.homecare_demo import seed_demo as seed_homecare
from eldercare.ports import free_port
from eldercare.serve import ServeOptions, claim, make_supervisor, run_until_stopped, start_platform
from eldercare.supervisor import Supervisor, eldercare
from simulators.day_events import SimEvent
from simulators.fleet import Fleet, build_fleet, stations_csv
from simulators.fleet_commands import DEFAULT_TIMEZONE, Span, run_fleet
from simulators.publisher import BrokerTarget, FleetPublisher, real_now
from station_protocol import Call, encode, new_event_id
from station_protocol.codec import EARLIEST
from station_protocol.topics import device_topic

ESCALATE_MINUTES = 1.0
NOON = dt_time(12)
Clock = Callable[[], datetime]


def parse_today(text: str, zone: str = DEFAULT_TIMEZONE) -> datetime:
    """`--today`: YYYY-MM-DD (noon that day) or YYYY-MM-DDTHH:MM, in the stations' zone."""
    try:
        if "T" in text or " " in text:
            moment = datetime.fromisoformat(text)
            if moment.tzinfo is not None:
                raise ValueError("has a zone")
        else:
            moment = datetime.combine(date.fromisoformat(text), NOON)
    except ValueError:
        raise click.BadParameter(f"{text!r} is not a date YYYY-MM-DD or a local time YYYY-MM-DDTHH:MM",
                                 param_hint="--today") from None
    return moment.replace(tzinfo=ZoneInfo(zone))


MARKER = ".eldercare-demo"  # written in a folder the demo made: only such a folder is wiped at the next start


def wipeable(root: Path) -> Path:
    """`root` when the demo may wipe it: new, empty, or one it made (older demos left stations.csv and rules.json);
    else a one-line refusal, since `--data-dir` pointed at `serve`'s folder would lose the bureau's data."""
    if not root.exists():
        return root
    if not root.is_dir():
        raise click.BadParameter(f"{root} is not a folder", param_hint="--data-dir")
    made = (root / MARKER).exists() or {"stations.csv", "rules.json"} <= {p.name for p in root.iterdir()}
    if made or not any(p.name != LOCK_FILE for p in root.iterdir()):
        return root
    raise click.BadParameter(f"{root} holds data the demo did not make; the demo wipes its folder at each start, so "
                             "give it a new or empty one", param_hint="--data-dir")


def wipe(root: Path) -> None:
    """Empty the demo's folder, all but the lock this demo holds on it."""
    for path in root.iterdir():
        if path.name == LOCK_FILE:
            continue
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


def demo_clock(today: datetime | None, days: int) -> Clock:
    """The clock the demo seeds and simulates by: the real one, or `today` running on at real speed from now.

    The platform refuses device times from its future and from before 2020, so `today` (and its history) must lie
    between them."""
    if today is None:
        return real_now
    if today > datetime.now(UTC):
        raise click.BadParameter(f"{today.isoformat()} is in the future: the platform refuses events from its future",
                                 param_hint="--today")
    if datetime.combine(today.date() - timedelta(days=days), dt_time(), today.tzinfo) < EARLIEST:
        raise click.BadParameter(f"{days} days before {today.date()} is before 2020: the platform refuses device "
                                 "times that early", param_hint="--today")
    started = time.monotonic()
    return lambda: (today + timedelta(seconds=time.monotonic() - started)).astimezone(UTC)


def is_holiday(day: date) -> bool:
    """A statutory holiday in the national calendar (its working days moved to a weekend are not)."""
    return national_day(day).kind is DayKind.HOLIDAY


def demo_users(fleet: Fleet) -> list[tuple[str, str, list[str]]]:
    """(login, role, extra args): the bureau, one officer per town, a station's staff, the dispatch centre."""
    towns = sorted({s.town for s in fleet.stations})
    users: list[tuple[str, str, list[str]]] = [("admin", "bureau", []), ("dispatch", "dispatch", [])]
    users += [(f"town{i + 1}", "town", ["--town", town]) for i, town in enumerate(towns)]
    users.append(("station1", "station", ["--station", fleet.stations[3].station]))
    return users


def demo_password() -> str:
    """The demo logins' password, new at each start and printed for the person running it: a fixed one would let
    anyone on the machine who read the README log in as the bureau."""
    return secrets.token_urlsafe(12)


def create_users(supervisor: Supervisor, fleet: Fleet, password: str) -> list[tuple[str, str, list[str]]]:
    users = demo_users(fleet)
    for login, role, extra in users:
        subprocess.run(eldercare("users", "add", login, "--role", role, *extra), input=password, text=True,
                       env=supervisor.env, check=True, capture_output=True)
    return users


class Api:
    """The demo's own API client: it acknowledges a call as dispatch."""

    def __init__(self, base: str, password: str) -> None:
        self.http = httpx.Client(base_url=base + "api/v1", timeout=30)
        self.password = password

    def login(self, user: str) -> dict[str, str]:
        response = self.http.post("/auth/token", data={"username": user, "password": self.password})
        response.raise_for_status()
        return {"Authorization": f"Bearer {response.json()['access_token']}"}

    def wait_for_call_alert(self, station: str, timeout: float = 60) -> int | None:
        headers = self.login("dispatch")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            alerts = self.http.get("/alerts", params={"kind": "emergency_call", "station": station},
                                   headers=headers).json()
            if alerts:
                return int(alerts[0]["id"])
            time.sleep(0.5)
        return None

    def acknowledge(self, alert_id: int) -> None:
        headers = self.login("dispatch")
        self.http.post(f"/alerts/{alert_id}/acknowledge", json={"notes": "已联系站点工作人员上门"},
                       headers=headers).raise_for_status()


def plan_spot_checks(data_dir: Path, fleet: Fleet, now: datetime) -> None:
    """The month's spot checks, written to the store as if the bureau had planned them at the time.

    The API refuses a plan for a past day (a check chosen knowing the answer); the demo's history is simulated after
    the fact, so its plans go in directly, marked as the demo's.
    """
    engine = make_engine(f"sqlite:///{data_dir / 'eldercare.db'}")
    try:
        with make_session_factory(engine)() as session:
            for day in fleet.check_days:
                create_plan(session, day=day, start=dt_time(9, 30), end=dt_time(11), scope="all",
                            created_by="demo (simulated history)", now=now)
            session.commit()
    finally:
        engine.dispose()


def press(target: BrokerTarget, station: str, now: datetime) -> str:
    """Press a station's emergency button at `now` (what its agent would publish)."""
    publisher = FleetPublisher(target, [station])
    call = f"demo-{new_event_id()[-12:]}"
    message = Call.model_validate({"v": 1, "id": UUID(new_event_id()), "station": station, "device": "call-1",
                                   "seq": int(time.time()), "ts": now,
                                   "action": "pressed", "call": call})
    event = SimEvent(message.ts, str(device_topic(station, "call-1", "call")), encode(message))
    publisher.publish(event, station).wait_for_publish(10)
    publisher.close()
    return call


def live_calls(api: Api, target: BrokerTarget, fleet: Fleet, say: Callable[[str], None], clock: Clock) -> None:
    acked, escalating = fleet.stations[3].station, fleet.stations[4].station
    press(target, acked, clock())
    press(target, escalating, clock())
    say(f"emergency buttons pressed at {acked} and {escalating}")
    alert_id = api.wait_for_call_alert(acked)
    if alert_id is None:
        say(f"no emergency alert for {acked} after 60 s: see the ingest log")
        return
    time.sleep(3)
    api.acknowledge(alert_id)
    say(f"dispatch acknowledged {acked}'s call (the station's LED confirms it); {escalating}'s call is left "
        f"unacknowledged and escalates to its town and dispatch after {ESCALATE_MINUTES:g} min")


@click.command()
@click.option("--stations", "count", metavar="N", default=30, show_default=True, type=click.IntRange(5, 2000),
              help="How many simulated stations.")
@click.option("--speed", default=14400.0, show_default=True, type=click.FloatRange(min=0),
              help="Simulated seconds per real second (14400: a month in 3 minutes).")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535), help="Dashboard port.")
@click.option("--days", default=30, show_default=True, type=click.IntRange(3, 120), help="History to simulate.")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Demo data, wiped at each start (only a new or empty folder, or one the demo made). Default: demo/ "
                   "under $ELDERCARE_DATA_DIR, else ./data/demo.")
@click.option("--today", "today_text", metavar="DATE[THH:MM]", default=None,
              help="Seed and simulate as if it were this day (noon unless a time is given) in Asia/Shanghai, the "
                   "stations' zone; not in the future. The platform itself keeps the real clock. Default: now.")
def demo(count: int, speed: float, port: int, days: int, data_dir: Path | None, today_text: str | None) -> None:
    """Run the platform with a simulated fleet of --stations N stations until Ctrl-C."""
    clock = demo_clock(parse_today(today_text) if today_text is not None else None, days)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    root = wipeable(data_dir or settings_for(None).data_dir / "demo").resolve()
    options = ServeOptions("127.0.0.1", port, free_port(), root, root / "stations.csv",
                           worker_args=("--rules", str(root / "rules.json"), "--interval", "1"), allow_anonymous=True)
    # Taken before the wipe: a second demo on the same folder would delete the running one's data under it.
    lock = claim(options, "demo", ("--port", "its broker port"))
    wipe(root)
    (root / MARKER).write_text("made by `eldercare demo`, which wipes this folder at its next start\n")
    span = Span.last_days(days, clock())
    fleet = build_fleet(count, span.first, span.last, span.now, holiday=is_holiday)
    (root / "stations.csv").write_text(stations_csv(fleet), encoding="utf-8")
    (root / "rules.json").write_text(json.dumps({"call_escalate_minutes": ESCALATE_MINUTES}))
    try:
        supervisor = make_supervisor(options)
    except RuntimeError as exc:
        raise click.ClickException(str(exc)) from None
    # The simulated stations answer the time checks by this host's clock, the sender's own: a host clock that is off
    # moves both alike, so the demo asks whatever the kernel says of its synchronisation.
    supervisor.env.setdefault("ELDERCARE_REFERENCE_CLOCK", "off")
    supervisor.install_signal_handlers()

    def say(line: str) -> None:
        click.echo(line, err=True)

    try:
        url = start_platform(options, supervisor, say)
        password = demo_password()
        users = create_users(supervisor, fleet, password)
    except (RuntimeError, TimeoutError, subprocess.CalledProcessError) as exc:
        supervisor.stop_all()
        raise click.ClickException(f"could not start the demo: {exc}") from None
    click.echo(f"\ndashboard: {url}")
    click.echo("logins (password " + password + "): " + ", ".join(f"{u} ({r})" for u, r, _ in users))
    click.echo(f"seeding {days} days of {count} stations at {speed:g}x up to {span.last} (today in "
               f"{span.timezone}); Ctrl-C to stop\n")
    target = BrokerTarget("127.0.0.1", options.mqtt_port)
    stop = threading.Event()
    api = Api(url, password)

    def simulate() -> None:
        try:
            caught_up = threading.Event()
            # Live, the fleet answers the platform's time checks by its own clock; on a --today clock (another day
            # than the platform's) every answer would read as a clock behind, so it answers none.
            threading.Thread(target=run_fleet, args=(fleet, target, span, speed, 0, stop, say, caught_up, clock),
                             kwargs={"answer_checks": today_text is None}, daemon=True).start()
            while not stop.is_set() and not caught_up.wait(1):
                pass
            if stop.is_set():
                return
            say(f"history seeded; {fleet.below_threshold} is below its monthly threshold, "
                f"{fleet.offline} went offline")
            say("live: every other station heartbeats and answers the platform's time checks" if today_text is None
                else "live: every other station heartbeats; time checks are not answered (--today sets the fleet's "
                "clock to another day than the platform's: every answer would read as a clock behind)")
            if fleet.care_centre and fleet.neighbourhood_point:
                say(f"{fleet.care_centre} is a care centre (照料中心) and {fleet.neighbourhood_point} a neighbourhood "
                    "point (睦邻点): no grade, so their monthly threshold, veto and subsidy read 不适用")
            # Planned once the days are in, so each check is judged on its day's data (not first as unverifiable).
            plan_spot_checks(options.data_dir, fleet, clock())
            say(f"spot checks planned on {', '.join(d.isoformat() for d in fleet.check_days)}: "
                f"{fleet.closed_on_checks} is closed on all three (the veto)")
            live_calls(api, target, fleet, say, clock)
            seed_homecare(f"sqlite:///{options.data_dir / 'eldercare.db'}", clock(), say, password)
            say(f"the demo is live: open {url}")
        except (httpx.HTTPError, OSError, SQLAlchemyError, ValueError) as exc:
            # Ctrl-C stops the broker under a simulation still publishing: that is the stop, not a failure.
            if not supervisor.stopping:
                say(f"demo simulation stopped: {exc}")

    threading.Thread(target=simulate, daemon=True).start()
    try:
        run_until_stopped(supervisor, on_tick=None)
    finally:
        stop.set()
        lock.close()
