"""The deployment's rules and holiday file, read the same way by the worker, the API, `cloud derive` and
`cloud rederive`: `ELDERCARE_RULES_FILE` (or `--rules`) and `ELDERCARE_HOLIDAYS_FILE` (or `--holidays`).

Errors are one plain line naming the file, the key or line, and what is wrong; the callers turn them into a CLI
error or a refused start, never a half-configured process.
"""

from pathlib import Path

from pydantic import ValidationError

from cloud.rules.config import RulesConfig
from cloud.rules.holidays_file import HolidayFileError, LocalDay, parse_holidays

MAX_HOLIDAY_FILE_BYTES = 1_000_000  # a few years of days fit in a few kB; more is not a holiday file


class ConfigFileError(ValueError):
    """A rules or holiday file that cannot be used; the message is one line (a holiday file: one per problem)."""


def read_rules(path: Path | None) -> RulesConfig:
    """The rules configuration from a YAML/JSON file with the keys of RulesConfig; the defaults when `path` is None."""
    if path is None:
        return RulesConfig()
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise ConfigFileError(f"rules file {path}: {exc.strerror or exc}") from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ConfigFileError(f"rules file {path}: not YAML/JSON: {str(exc).splitlines()[0]}") from None
    if not isinstance(data, dict):
        raise ConfigFileError(f"rules file {path}: expected a mapping of RulesConfig keys, got {type(data).__name__}")
    try:
        return RulesConfig.model_validate(data)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        key = ".".join(str(p) for p in first["loc"]) or "(file)"
        return_msg = str(first["msg"]).removeprefix("Value error, ")
        raise ConfigFileError(f"rules file {path}: {key}: {return_msg}") from None


def decode_holidays(data: bytes, where: str) -> list[LocalDay]:
    """Validate a holiday file's bytes (UTF-8, BOM allowed); ConfigFileError lists every problem, one per line."""
    if len(data) > MAX_HOLIDAY_FILE_BYTES:
        raise ConfigFileError(f"{where}: larger than {MAX_HOLIDAY_FILE_BYTES:,} bytes; not a holiday file")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigFileError(f"{where}: not UTF-8 (byte {exc.start}); save it as 'CSV UTF-8'") from None
    try:
        return parse_holidays(text)
    except HolidayFileError as exc:
        raise ConfigFileError("\n".join(f"{where}: {p}" for p in exc.problems)) from None


def read_holidays(path: Path) -> tuple[list[LocalDay], bytes]:
    """The days of a holiday file and its bytes (for the version's checksum)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigFileError(f"holiday file {path}: {exc.strerror or exc}") from None
    return decode_holidays(data, f"holiday file {path}"), data
