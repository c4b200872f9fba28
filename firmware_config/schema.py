"""The JSON Schema of station files, generated from the models (editors validate YAML with it).

`python -m firmware_config.schema` rewrites firmware_config/station.schema.json; a test fails when it is stale.
"""

import json
from pathlib import Path
from typing import Any

from firmware_config.station import StationConfig

SCHEMA_PATH = Path(__file__).with_name("station.schema.json")


def build() -> dict[str, Any]:
    schema = StationConfig.model_json_schema(mode="validation")
    # Schedule parses the bureaus' text forms ("1-5", "08:30-11:30 13:30-17:00"); say so to editors, accepting what
    # the loader accepts (spaces inside weekdays, a bare weekday number, any whitespace between sessions), so an
    # editor never marks a file the agent takes. The loader still gives the exact reason for a bad value.
    props = schema["$defs"]["Schedule"]["properties"]
    props["weekdays"] = {"type": ["string", "integer"], "minimum": 1, "maximum": 7,
                         "pattern": r"^ *[1-7]( *- *[1-7])?( *, *[1-7]( *- *[1-7])?)* *$",
                         "description": props["weekdays"]["description"], "examples": ["1-5", "1,3,5"]}
    props["hours"] = {"type": "string",
                      "pattern": r"^\s*\d{1,2}:\d{2}-\d{1,2}:\d{2}(\s+\d{1,2}:\d{2}-\d{1,2}:\d{2})*\s*$",
                      "description": props["hours"]["description"], "examples": ["08:30-11:30 13:30-17:00"]}
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}


def render() -> str:
    return json.dumps(build(), indent=2, ensure_ascii=False, sort_keys=True) + "\n"


if __name__ == "__main__":
    SCHEMA_PATH.write_text(render(), encoding="utf-8")
    print(f"wrote {SCHEMA_PATH}")
