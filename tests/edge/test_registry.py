"""The driver registry against the station file's device types: every type a station file accepts has a driver."""

import importlib

from edge.drivers.modbus_bus import Buses
from edge.drivers.registry import BUILDERS, build_drivers
from firmware_config.devices import CONFIGS, KEYS, config_key
from firmware_config.load import parse_station


def test_every_device_type_has_a_driver_and_every_driver_a_device_type() -> None:
    assert sorted(BUILDERS) == list(KEYS) == ["button", "camera", "counter", "door"]


def test_each_device_module_key_is_its_settings_type() -> None:
    for model in CONFIGS:
        module = importlib.import_module(model.__module__)
        assert config_key(model) == module.KEY, model.__name__


def test_drivers_are_built_from_a_station_file_in_file_order() -> None:
    config = parse_station("""
station: qd-reg-01
name: 测试站
grade: 2A
town: 汇龙镇
address: 1 号
mqtt: {host: 127.0.0.1, tls: false}
devices:
  - {type: door, id: door-1, pin: 17}
  - {type: counter, id: flow-1, port: /dev/null, unit: 1}
  - {type: button, id: call-1, pin: 27}
  - {type: camera, id: face-1, source: "0", gallery: /tmp/gallery}
""")
    buses = Buses()
    drivers = build_drivers(config.devices, buses)
    assert [(d.device_id, type(d).__name__) for d in drivers] == [
        ("door-1", "DoorDriver"), ("flow-1", "CounterDriver"), ("call-1", "ButtonDriver"), ("face-1", "CameraDriver")]
    assert list(buses.by_port) == ["/dev/null"]
