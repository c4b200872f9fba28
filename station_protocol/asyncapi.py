"""The AsyncAPI 3.0 document of protocol v1, generated from the models so the two cannot drift apart."""

import json
from typing import Any

from pydantic.json_schema import models_json_schema

from station_protocol.codec import COMMANDS, MODELS
from station_protocol.ids import ID_PATTERN
from station_protocol.kinds import KINDS
from station_protocol.topics import AGENT_KINDS, DEVICE_KINDS, RETAINED_KINDS


def _param(description: str) -> dict[str, Any]:
    return {"description": f"{description}: 1-63 characters matching {ID_PATTERN}"}


def build() -> dict[str, Any]:
    """The AsyncAPI document as a dict."""
    models = [(model, "validation") for model in [*MODELS.values(), *COMMANDS.values()]]
    _, top = models_json_schema(models, ref_template="#/components/schemas/{model}")  # type: ignore[arg-type]
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}

    def add(name: str, address: str, params: list[str], model: str, summary: str, action: str, retained: bool) -> None:
        messages[name] = {
            "name": name,
            "summary": summary,
            "contentType": "application/json",
            "payload": {"$ref": f"#/components/schemas/{model}"},
            "bindings": {"mqtt": {"bindingVersion": "0.2.0"}},
        }
        channels[name] = {
            "address": address,
            "parameters": {p: _param(p) for p in params},
            "messages": {name: {"$ref": f"#/components/messages/{name}"}},
        }
        operations[f"{action}-{name}"] = {
            "action": action,
            "channel": {"$ref": f"#/channels/{name}"},
            "messages": [{"$ref": f"#/channels/{name}/messages/{name}"}],
            "bindings": {"mqtt": {"qos": 1, "retain": retained, "bindingVersion": "0.2.0"}},
        }

    for kind in sorted(DEVICE_KINDS):
        add(kind.value, f"eldercare/v1/{{station}}/{{device}}/{kind}", ["station", "device"],
            MODELS[kind].__name__, KINDS[kind].summary, "receive", kind in RETAINED_KINDS)
    for kind in sorted(AGENT_KINDS):
        add(kind.value, f"eldercare/v1/{{station}}/agent/{kind}", ["station"],
            MODELS[kind].__name__, KINDS[kind].summary, "receive", kind in RETAINED_KINDS)
    for command, model in sorted(COMMANDS.items()):
        add(f"cmd-{command}", f"eldercare/v1/{{station}}/cmd/{command}", ["station"], model.__name__,
            f"Command {command} from the cloud to the station", "send", False)
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Eldercare station protocol",
            "version": "1.0.0",
            "description": "Station protocol v1: what crosses MQTT between eldercare stations and the cloud. "
            "Operations are written from the cloud's side. See docs/PROTOCOL.md for the receiver rules.",
        },
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": operations,
        "components": {"schemas": top["$defs"], "messages": messages},
    }


def render() -> str:
    """The document as stable, pretty JSON text."""
    return json.dumps(build(), indent=2, ensure_ascii=False) + "\n"
