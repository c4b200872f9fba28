"""Station files: the examples load, bad files give one clear line per problem, the schema is current."""

import json
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner
from pydantic import ValidationError

from edge.commands import check_config
from firmware_config.load import ConfigError, load_station, parse_station
from firmware_config.schedule import Schedule
from firmware_config.schema import SCHEMA_PATH, render

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "firmware_config" / "examples").glob("*.yaml"))

GOOD = """\
station: qd-test-01
name: 测试站
grade: 3A
town: 汇龙镇
address: 某路1号
schedule: {weekdays: "1-5", hours: "08:30-11:30 13:30-17:00"}
mqtt: {host: localhost, port: 1883, tls: false}
devices:
  - {type: counter, id: flow-1, port: /dev/ttyUSB0, unit: 1}
  - {type: door, id: door-1, pin: 17}
  - {type: button, id: call-1, pin: 22, led_pin: 23}
"""


def problems_of(text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_station(text, "s.yaml")
    return caught.value.problems


def test_examples_cover_grades_and_load() -> None:
    grades = {load_station(path).grade for path in EXAMPLES}
    assert grades == {"2A", "3A", "4A"}


def test_good_file_with_schedule() -> None:
    config = parse_station(GOOD)
    assert config.schedule is not None and config.schedule.minutes_per_day == 390
    assert [d.type for d in config.devices] == ["counter", "door", "button"]


def test_typo_names_file_line_key_and_suggestion() -> None:
    text = GOOD.replace("port: 1883", "prot: 1883")
    assert problems_of(text) == ["s.yaml:7: mqtt.prot: unknown key 'prot' (did you mean 'port'?)"]


def test_each_problem_is_one_line() -> None:
    text = GOOD.replace("qd-test-01", "QD_Test").replace("type: door", "type: doorr").replace(
        "led_pin: 23", "led_pin: 22").replace("id: call-1", "id: agent")
    problems = problems_of(text)
    assert "s.yaml:1: station: station id 'QD_Test' contains 'D' 'Q' 'T' '_'; only a-z, 0-9 and '-' are allowed" \
        in problems
    assert "s.yaml:10: devices[1].type: unknown driver 'doorr'; known drivers: button, camera, counter, door" \
        in problems
    assert "s.yaml:11: devices[2].id: device id 'agent' is reserved by the protocol" in problems
    assert len(problems) == 3  # the pin clash is reported once the button itself is valid


def test_pin_used_twice_and_duplicate_ids() -> None:
    text = GOOD.replace("led_pin: 23", "led_pin: 17").replace("id: call-1", "id: door-1")
    assert problems_of(text) == [
        "s.yaml:11: devices[2].id: device id 'door-1' is already used by devices[1]",
        "s.yaml:11: devices[2].led_pin: GPIO 17 is already used by devices[1].pin",
    ]


def test_the_outbox_device_id_is_the_agents() -> None:
    assert problems_of(GOOD.replace("id: call-1", "id: outbox")) == [
        "s.yaml:11: devices[2].id: device id 'outbox' is used by the agent for its outbox's health"]


def test_bus_settings_and_units() -> None:
    text = GOOD + "  - {type: counter, id: flow-2, port: /dev/ttyUSB0, unit: 1, baud: 19200}\n"
    problems = problems_of(text)
    assert any("devices[3].baud: bus /dev/ttyUSB0 is 9600 baud" in p for p in problems)
    assert any("devices[3].unit: Modbus unit 1 on /dev/ttyUSB0 is already devices[0]" in p for p in problems)


@pytest.mark.parametrize(("addresses", "shown"), [("in_address: 0, out_address: 1", "in: 0-1, out: 1-2"),
                                                   ("in_address: 4, out_address: 4", "in: 4-5, out: 4-5"),
                                                   ("in_address: 3, out_address: 2", "in: 3-4, out: 2-3")])
def test_counter_registers_that_overlap_are_refused(addresses: str, shown: str, tmp_path: Path) -> None:
    # Each counter is 32 bits over two registers: overlapping ones would read half of one value as the other's.
    path = tmp_path / "s.yaml"
    path.write_text(GOOD.replace("unit: 1}", f"unit: 1, registers: {{{addresses}}}}}"))
    result = CliRunner().invoke(check_config, [str(path)])
    assert result.exit_code == 1
    first, second = (a.split(": ")[1] for a in addresses.split(", "))
    assert (f"{path}:9: devices[0].registers: in_address {first} and out_address {second} overlap: each counter "
            f"takes two registers ({shown}); put them at least 2 apart") in result.output
    assert parse_station(GOOD.replace("unit: 1}", "unit: 1, registers: {in_address: 2, out_address: 0}}"))


def test_counter_limits_that_would_count_a_wrong_word_order_are_refused() -> None:
    # One person reads as 65,536 in the wrong word order: a limit that high would count the mistake as visitors.
    [problem] = problems_of(GOOD.replace("unit: 1}", "unit: 1, max_per_min: 2000, max_step: 100000, interval_s: 3600}"))
    assert problem == ("s.yaml:9: devices[0]: max_per_min 2000 and max_step 100000 let one reading every 3600 s gain "
                       "100000 people; one person reads as 65536 when word_order is wrong, so keep the gain per "
                       "reading below 65536")
    # A file written before max_per_min existed, with the old default written out, still loads.
    parse_station(GOOD.replace("unit: 1}", "unit: 1, max_step: 100000}"))


def test_missing_type_bad_yaml_and_duplicate_keys() -> None:
    assert problems_of(GOOD.replace("type: door, ", "")) == [
        "s.yaml:10: devices[1]: 'type' is missing: say which driver (button, camera, counter, door)"]
    assert problems_of("station: [\n")[0].startswith("s.yaml:2: not valid YAML")
    assert problems_of(GOOD + "grade: 4A\n") == ["s.yaml:12: grade: key 'grade' appears twice"]


def test_bad_schedule_is_reported() -> None:
    problems = problems_of(GOOD.replace('"1-5"', '"5-1"'))
    assert problems == ["s.yaml:6: schedule.weekdays: weekdays range '5-1' runs backwards"]


def test_committed_schema_is_current() -> None:
    assert SCHEMA_PATH.read_text(encoding="utf-8") == render(), "run: python -m firmware_config.schema"
    schema = json.loads(render())
    assert set(schema["$defs"]) >= {"CounterConfig", "DoorConfig", "ButtonConfig", "CameraConfig"}


def test_check_config_cli(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(GOOD.replace("grade: 3A", "grade: 6A"))
    runner = CliRunner()
    ok = runner.invoke(check_config, [str(p) for p in EXAMPLES])
    assert ok.exit_code == 0, ok.output
    assert ok.output.count(": ok: ") == 3
    result = runner.invoke(check_config, [str(EXAMPLES[0]), str(bad)])
    assert result.exit_code == 1
    assert f"{bad}:3: grade: input should be '2A', '3A', '4A' or '5A' (got '6A')" in result.output
    assert "1 of 2 station files are invalid" in result.output


def test_heartbeats_further_apart_than_the_clouds_liveness_are_refused() -> None:
    # Every 30 minutes would leave a door-only station's quiet open hours unknown between them: an equipment-off day.
    [problem] = problems_of(GOOD + "agent: {heartbeat_s: 1800}\n")
    assert problem.startswith("s.yaml:12: agent.heartbeat_s:") and "300" in problem, problem
    assert parse_station(GOOD + "agent: {heartbeat_s: 300}\n", "s.yaml").agent.heartbeat_s == 300


def test_clock_behind_margin_defaults_and_bounds() -> None:
    assert parse_station(GOOD, "s.yaml").agent.clock_behind_warn_s == 120
    assert parse_station(GOOD + "agent: {clock_behind_warn_s: 30}\n", "s.yaml").agent.clock_behind_warn_s == 30
    for bad, bound in (("0", "greater than 0"), ("7200", "3600")):
        [problem] = problems_of(GOOD + f"agent: {{clock_behind_warn_s: {bad}}}\n")
        assert problem.startswith("s.yaml:12: agent.clock_behind_warn_s:") and bound in problem, problem


@pytest.mark.parametrize(("weekdays", "hours"), [
    ("1-5", "08:30-11:30 13:30-17:00"), ("1 - 5", "08:30-11:30\t13:30-17:00"), (3, "8:00-12:00"),
    ("1,3, 5", "  08:30-17:00  "),
])
def test_the_editors_schema_takes_every_schedule_the_loader_takes(weekdays: object, hours: str) -> None:
    # An editor must not mark in red a file the agent accepts.
    Schedule.model_validate({"weekdays": weekdays, "hours": hours})
    station = {"station": "qd-test-01", "name": "n", "grade": "2A", "town": "t", "address": "a",
               "mqtt": {"host": "h"}, "devices": [], "schedule": {"weekdays": weekdays, "hours": hours}}
    jsonschema.validate(station, json.loads(render()))


@pytest.mark.parametrize(("weekdays", "hours"), [("1-8", "08:30-11:30"), ("mon-fri", "08:30-11:30"),
                                                 ("1-5", "08:30"), (9, "08:30-11:30")])
def test_the_editors_schema_marks_a_schedule_the_loader_refuses(weekdays: object, hours: str) -> None:
    with pytest.raises(ValidationError):
        Schedule.model_validate({"weekdays": weekdays, "hours": hours})
    station = {"station": "qd-test-01", "name": "n", "grade": "2A", "town": "t", "address": "a",
               "mqtt": {"host": "h"}, "devices": [], "schedule": {"weekdays": weekdays, "hours": hours}}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(station, json.loads(render()))
