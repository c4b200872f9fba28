"""The agent's heartbeats through a real Mosquitto carry the boot they were stamped in (its id and the seconds since
it began, from the injected source, read with their time) and `clock: unsynced` while the clock is not trusted: what
the cloud needs to see a wall clock stepped within a boot (cloud.rules.clock_steps)."""

from pathlib import Path
from uuid import UUID

from edge.agent import Agent
from edge.boot import Boot, boot_clock
from hostclock import KernelClock
from tests.edge.conftest import AgentThread, Subscriber, station_config
from tests.edge.test_time_check import ask, beats, connected
from tests.localservices import Mosquitto
from tests.wait import poll

BOOT = UUID("6f1e1a52-6f8e-4a7e-9a0b-2f1c3c4d5e6f")


def test_heartbeats_carry_the_boot_and_say_unsynced_while_the_clock_is_not_trusted(
        mosquitto: Mosquitto, subscriber: Subscriber, tmp_path: Path) -> None:
    kernel = [KernelClock(synced=False, offset_ms=0.0)]  # NTP not reached yet
    uptime = iter(range(100, 100_000, 7))
    agent = Agent(station_config(mosquitto.port, tmp_path, []), fsync=False, clock_check="ntp",
                  kernel=lambda: kernel[0], clock_poll_s=0.05, heartbeat_s=0.2,
                  boot=lambda: Boot(BOOT, float(next(uptime))))
    with AgentThread(agent):
        connected(subscriber)
        subscriber.wait_for(lambda _m: len(beats(subscriber)) >= 2)
        early = beats(subscriber)
        kernel[0] = KernelClock(synced=True, offset_ms=0.4)
        poll(lambda: agent.clock_issue is None, 10, "the clock trusted")
        seen = len(beats(subscriber))
        subscriber.wait_for(lambda _m: len(beats(subscriber)) >= seen + 2)
        ask(subscriber, "tc-boot")
        subscriber.wait_for(lambda _m: any(b.check == "tc-boot" for b in beats(subscriber)))
    assert all(b.clock == "unsynced" for b in early)
    late = beats(subscriber)[seen:]
    assert late and all(b.clock is None for b in late)
    assert all(b.boot == BOOT for b in beats(subscriber))  # the answer to the time check too
    stamped = [b.boot_s for b in beats(subscriber)]
    assert all(s is not None and s >= 100 and s % 7 == 2 for s in stamped)  # each from the source, read once
    assert len(set(stamped)) == len(stamped)


def test_the_real_source_reads_this_boot() -> None:
    boot = boot_clock()
    assert boot is not None  # the tests run on Linux
    assert boot.id == UUID(Path("/proc/sys/kernel/random/boot_id").read_text().strip())
    later = boot_clock()
    assert later is not None and later.id == boot.id and later.seconds >= boot.seconds > 0
