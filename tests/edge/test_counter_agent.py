"""Counters on a simulated RS-485 bus (a real pty) through the agent to a subscriber on a real Mosquitto."""

from pathlib import Path

from edge.agent import Agent
from simulators.modbus_counter import Fault, ModbusCounterSim, SimCounter
from station_protocol import Flow, Health
from tests.edge.conftest import AgentThread, Subscriber, station_config
from tests.localservices import Mosquitto


def counters(port: Path, interval: float = 0.1) -> list[dict[str, object]]:
    return [
        {"type": "counter", "id": "flow-1", "port": str(port), "unit": 1, "interval_s": interval,
         "timeout_s": 0.2, "max_step": 1000},
        {"type": "counter", "id": "flow-2", "port": str(port), "unit": 2, "interval_s": interval,
         "timeout_s": 0.2, "max_step": 1000, "registers": {"in_address": 16, "out_address": 18,
                                                          "word_order": "little", "function": "input"}},
    ]


def totals(sub: Subscriber, device: str) -> tuple[int, int]:
    flows = [d.message for d in sub.of_kind("flow", device)]
    assert all(isinstance(f, Flow) for f in flows)
    return sum(f.in_ for f in flows), sum(f.out for f in flows)


def last_health(sub: Subscriber, device: str) -> Health | None:
    found = [d.message for d in sub.of_kind("health", device)]
    return found[-1] if found else None


def test_counts_resets_wraps_and_faults(mosquitto: Mosquitto, subscriber: Subscriber, tmp_path: Path) -> None:
    unit1 = SimCounter(1, people_in=2**32 - 5, people_out=100)
    unit2 = SimCounter(2, people_in=7, in_address=16, out_address=18, word_order="little", function="input")
    with ModbusCounterSim([unit1, unit2], tmp_path / "ttyUSB0") as sim:
        config = station_config(mosquitto.port, tmp_path, counters(sim.port))
        with AgentThread(Agent(config, fsync=False)):
            subscriber.wait_for(lambda _m: len(subscriber.of_kind("flow", "flow-1")) >= 2)
            unit1.add(10, 4)  # wraps past 2**32
            unit2.add(3, 1)
            subscriber.wait_for(lambda _m: totals(subscriber, "flow-1") == (10, 4))
            unit1.add(20, 0)
            subscriber.wait_for(lambda _m: totals(subscriber, "flow-1") == (30, 4))
            unit1.reset()  # power cut on the counter: it counts from zero again
            unit1.add(6, 2)
            subscriber.wait_for(lambda _m: totals(subscriber, "flow-1") == (36, 6))

            # Unit 2 answers garbage, then a broken CRC, then nothing: it reports unhealthy, unit 1 keeps counting.
            faults: list[Fault] = ["garbage", "crc", "silence"]
            for fault in faults:
                unit2.fault = fault
                subscriber.wait_for(lambda _m: (h := last_health(subscriber, "flow-2")) is not None and not h.ok)
                wanted = len(subscriber.of_kind("flow", "flow-1")) + 3
                unit1.add(1, 0)
                subscriber.wait_for(lambda _m: len(subscriber.of_kind("flow", "flow-1")) >= wanted)  # noqa: B023
                unit2.fault = None
                subscriber.wait_for(lambda _m: (h := last_health(subscriber, "flow-2")) is not None and h.ok,
                                    timeout=15)
            unit2.add(5, 5)
            subscriber.wait_for(lambda _m: totals(subscriber, "flow-2") == (8, 6))
            assert totals(subscriber, "flow-1") == (39, 6)
            health = last_health(subscriber, "flow-2")
            assert health is not None and health.detail == {"port": str(sim.port), "unit": 2}
    flows = subscriber.of_kind("flow", "flow-1")
    seqs = [d.message.seq for d in subscriber.of_kind("flow", "flow-1")]
    assert seqs == sorted(seqs)
    assert all(isinstance(d.message, Flow) and d.message.counter_in is not None for d in flows)


def test_unplugged_adapter_reconnects(mosquitto: Mosquitto, subscriber: Subscriber, tmp_path: Path) -> None:
    unit1 = SimCounter(1)
    sim = ModbusCounterSim([unit1], tmp_path / "ttyUSB0")
    config = station_config(mosquitto.port, tmp_path, counters(sim.port)[:1])
    with AgentThread(Agent(config, fsync=False)):
        # Not plugged in at start: the agent runs and reports the device unhealthy.
        subscriber.wait_for(lambda _m: (h := last_health(subscriber, "flow-1")) is not None and not h.ok)
        with sim:
            subscriber.wait_for(lambda _m: (h := last_health(subscriber, "flow-1")) is not None and h.ok, timeout=15)
            subscriber.wait_for(lambda _m: len(subscriber.of_kind("flow", "flow-1")) >= 1)
            unit1.add(4, 0)
            subscriber.wait_for(lambda _m: totals(subscriber, "flow-1") == (4, 0))
        subscriber.wait_for(lambda _m: (h := last_health(subscriber, "flow-1")) is not None and not h.ok)
        unit1.add(3, 3)  # counted while the adapter was out
        with sim:
            subscriber.wait_for(lambda _m: totals(subscriber, "flow-1") == (7, 3), timeout=20)


def default_counter(port: Path, **registers: object) -> dict[str, object]:
    """A counter with the default limits (no `max_step`, no `max_per_min`), polled fast."""
    return {"type": "counter", "id": "flow-1", "port": str(port), "unit": 1, "interval_s": 0.1, "timeout_s": 0.2,
            "registers": registers}


def changes(sub: Subscriber, device: str) -> list[str | None]:
    return [d.message.counter_change for d in sub.of_kind("flow", device)]


def test_a_misread_or_a_spare_counter_never_counts_a_lifetime_total(
        mosquitto: Mosquitto, subscriber: Subscriber, tmp_path: Path) -> None:
    unit = SimCounter(1, people_in=5000, people_out=4000)
    with ModbusCounterSim([unit], tmp_path / "ttyUSB0") as sim:
        config = station_config(mosquitto.port, tmp_path, [default_counter(sim.port)])
        with AgentThread(Agent(config, fsync=False)):
            subscriber.wait_for(lambda _m: len(subscriber.of_kind("flow", "flow-1")) >= 1)
            unit.misread(900_000, 4000)  # one answer far above, then the true 5000 again
            subscriber.wait_for(lambda _m: "jump" in changes(subscriber, "flow-1"))
            unit.misread(0, 0)  # one answer of zeros: no power cut, the next answer is 5000 again
            subscriber.wait_for(lambda _m: "drop" in changes(subscriber, "flow-1"))
            unit.add(10, 3)
            subscriber.wait_for(lambda _m: totals(subscriber, "flow-1") == (10, 3))
            unit.swap(2000, 1900)  # a spare counter with a lower total: none of its 2,000 came to this station
            subscriber.wait_for(lambda _m: "rebase" in changes(subscriber, "flow-1"))
            unit.add(5, 1)
            subscriber.wait_for(lambda _m: totals(subscriber, "flow-1") == (15, 4))
            later = len(subscriber.of_kind("flow", "flow-1")) + 3
            subscriber.wait_for(lambda _m: len(subscriber.of_kind("flow", "flow-1")) >= later)
    assert totals(subscriber, "flow-1") == (15, 4)
    flows = [d.message for d in subscriber.of_kind("flow", "flow-1")]
    held = [f for f in flows if f.counter_change in ("jump", "drop")]
    assert held and all(f.in_ == f.out == 0 for f in held)
    assert any(f.counter_in == 900_000 and f.counter_change == "jump" for f in flows)


def test_a_wrong_word_order_shows_as_a_jump_and_counts_nobody(
        mosquitto: Mosquitto, subscriber: Subscriber, tmp_path: Path) -> None:
    unit = SimCounter(1, people_in=6)  # the device is high word first; the station file says low word first
    with ModbusCounterSim([unit], tmp_path / "ttyUSB0") as sim:
        config = station_config(mosquitto.port, tmp_path, [default_counter(sim.port, word_order="little")])
        with AgentThread(Agent(config, fsync=False)):
            subscriber.wait_for(lambda _m: len(subscriber.of_kind("flow", "flow-1")) >= 1)
            unit.add(1, 0)  # reads as 65,536 more
            subscriber.wait_for(lambda _m: "jump" in changes(subscriber, "flow-1"))
            subscriber.wait_for(lambda _m: "rebase" in changes(subscriber, "flow-1"))
            unit.add(2, 0)
            subscriber.wait_for(lambda _m: changes(subscriber, "flow-1").count("jump") >= 2)
    assert totals(subscriber, "flow-1") == (0, 0)
