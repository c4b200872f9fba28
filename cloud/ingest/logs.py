"""Structured logs: one JSON object (or key=value line) per record, with the record's `extra` fields."""

import json
import logging
from datetime import UTC, datetime
from typing import Any

_STANDARD = frozenset(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime"}


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
        "level": record.levelname.lower(),
        "logger": record.name,
        "msg": record.getMessage(),
    }
    fields.update({k: v for k, v in vars(record).items() if k not in _STANDARD})
    if record.exc_info:
        fields["error"] = logging.Formatter().formatException(record.exc_info)
    return fields


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return json.dumps(_fields(record), ensure_ascii=False, default=str)


class KeyValueFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return " ".join(f"{k}={json.dumps(v, ensure_ascii=False, default=str)}" for k, v in _fields(record).items())


def configure(logger_name: str, style: str, level: int = logging.INFO) -> logging.Logger:
    """Send `logger_name`'s records to stderr as JSON (`json`) or key=value (`kv`) lines, and only there."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if style == "json" else KeyValueFormatter())
    logger = logging.getLogger(logger_name)
    logger.handlers[:] = [handler]
    logger.setLevel(level)
    logger.propagate = False
    return logger
