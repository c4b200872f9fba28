"""Load and validate a station file; every problem becomes one line `FILE:LINE: key.path: problem`.

`load_station` is what the agent runs at start-up and what the cloud's registry import calls.
"""

import difflib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, TypeAdapter, ValidationError

from firmware_config.devices import DEVICE_MODELS, KEYS, DeviceConfig
from firmware_config.station import StationConfig, cross_problems

Loc = tuple[str | int, ...]


class ConfigError(ValueError):
    """An invalid station file; `problems` holds one line per problem."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


def key_path(loc: Loc) -> str:
    """`("devices", 2, "pin")` -> `devices[2].pin`."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def _all_keys() -> set[str]:
    from firmware_config.schedule import Schedule
    from firmware_config.station import AgentConfig, MqttConfig

    keys: set[str] = set()
    stack: list[type[BaseModel]] = [StationConfig, AgentConfig, MqttConfig, Schedule]
    stack += DEVICE_MODELS
    for model in stack:
        keys.update(model.model_fields)
    return keys


def _node_at(root: yaml.Node | None, loc: Loc) -> yaml.Node | None:
    """The deepest YAML node along `loc` (for its line number)."""
    node = root
    for part in loc:
        if isinstance(node, yaml.MappingNode) and isinstance(part, str):
            for key, value in node.value:
                if key.value == part:
                    node = value
                    break
            else:
                return node
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
        else:
            return node
    return node


def _key_node(root: yaml.Node | None, loc: Loc) -> yaml.Node | None:
    """The node of the key itself (for 'unknown key' problems), else the value's node."""
    parent = _node_at(root, loc[:-1])
    if isinstance(parent, yaml.MappingNode):
        for key, _ in parent.value:
            if key.value == loc[-1]:
                return key  # type: ignore[no-any-return]
    return _node_at(root, loc)


def _duplicate_keys(node: yaml.Node | None, loc: Loc = ()) -> list[tuple[yaml.Node, Loc, str]]:
    found: list[tuple[yaml.Node, Loc, str]] = []
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            if key.value in seen:
                found.append((key, (*loc, key.value), f"key {key.value!r} appears twice"))
            seen.add(key.value)
            found += _duplicate_keys(value, (*loc, key.value))
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            found += _duplicate_keys(item, (*loc, index))
    return found


def _without_tag(loc: Loc) -> Loc:
    # Pydantic puts the union's tag after the list index: ("devices", 0, "door", "pin").
    if len(loc) > 2 and loc[0] == "devices" and isinstance(loc[1], int) and loc[2] in KEYS:
        return (*loc[:2], *loc[3:])
    return loc


def _message(err: Any, loc: Loc) -> str:
    kind, got = err["type"], err.get("input")
    if kind == "extra_forbidden":
        close = difflib.get_close_matches(str(loc[-1]), _all_keys(), n=1)
        return f"unknown key {loc[-1]!r}" + (f" (did you mean {close[0]!r}?)" if close else "")
    if kind == "union_tag_invalid":
        return f"unknown driver {err['ctx']['tag']!r}; known drivers: {', '.join(KEYS)}"
    if kind == "union_tag_not_found":
        return f"'type' is missing: say which driver ({', '.join(KEYS)})"
    if kind == "missing":
        return "required key is missing"
    if kind == "value_error":
        return str(err["msg"]).removeprefix("Value error, ")
    shown = f" (got {got!r})" if isinstance(got, str | int | float | bool) and len(repr(got)) <= 60 else ""
    msg = str(err["msg"])
    return f"{msg[0].lower()}{msg[1:]}{shown}"


def _valid_devices(raw: object) -> list[tuple[int, Any]]:
    """The devices that are valid on their own, so cross-device checks run even when another key is wrong."""
    if not isinstance(raw, list):
        return []
    adapter: TypeAdapter[Any] = TypeAdapter(DeviceConfig)
    valid = []
    for index, item in enumerate(raw):
        try:
            valid.append((index, adapter.validate_python(item)))
        except ValidationError:
            continue  # its own problems are reported by the full validation
    return valid


def _line(node: yaml.Node | None) -> str:
    return f"{node.start_mark.line + 1}:" if node is not None else ""


def parse_station(text: str, name: str = "<config>") -> StationConfig:
    """Validate a station file's text; raises ConfigError with one `name:line: key: problem` line per problem."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{mark.line + 1}:" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError([f"{name}:{where} not valid YAML: {problem}"]) from None
    if not isinstance(data, dict):
        raise ConfigError([f"{name}: the file must be a YAML mapping of keys (station:, mqtt:, devices:, ...)"])
    problems = [f"{name}:{_line(node)} {key_path(loc)}: {msg}" for node, loc, msg in _duplicate_keys(root)]
    problems += [f"{name}:{_line(_node_at(root, loc))} {key_path(loc)}: {msg}"
                 for loc, msg in cross_problems(_valid_devices(data.get("devices")))]
    try:
        config = StationConfig.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors(include_url=False):
            loc = _without_tag(tuple(err["loc"]))
            if not loc and err["type"] == "value_error":  # the kind and grade do not go together: say where
                loc = ("grade",) if data.get("grade") is not None else ("kind",)
            if err["type"] == "union_tag_invalid":
                loc = (*loc, "type")
            node = _key_node(root, loc) if err["type"] == "extra_forbidden" else _node_at(root, loc)
            problems.append(f"{name}:{_line(node)} {key_path(loc)}: {_message(err, loc)}")
        raise ConfigError(problems) from None
    if problems:
        raise ConfigError(problems)
    return config


def load_station(path: str | Path) -> StationConfig:
    """Read and validate one station file; raises ConfigError (one line per problem) or OSError."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read: {exc.strerror or exc}"]) from None
    except UnicodeDecodeError as exc:
        raise ConfigError([f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})"]) from None
    return parse_station(text, str(path))
