"""Deployment settings from the environment (`ELDERCARE_…`), validated once at start-up. Never at import time."""

import secrets
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from cloud.placeholders import is_placeholder, secret_key_problem


class Settings(BaseSettings):
    """Everything a cloud process needs to know about its deployment."""

    model_config = SettingsConfigDict(env_prefix="ELDERCARE_", extra="ignore")

    environment: Literal["development", "production"] = "development"
    data_dir: Path = Path("data")
    database_url: str | None = Field(default=None, description="SQLAlchemy URL; default SQLite in data_dir")
    timezone: str = "Asia/Shanghai"
    # One rules configuration and one calendar per deployment: the worker, the API and the CLI read these.
    rules_file: Path | None = Field(default=None, description="RulesConfig keys as YAML/JSON; default values if unset")
    holidays_file: Path | None = Field(default=None, description="local holiday CSV date,kind,name")

    mqtt_url: str = "mqtt://127.0.0.1:1883"
    mqtt_username: str | None = None
    mqtt_password: SecretStr | None = None
    mqtt_password_file: Path | None = Field(default=None, description="read the password from this file instead")
    mqtt_ca_file: Path | None = None

    influx_url: str | None = Field(default=None, description="InfluxDB 2 URL; telemetry sink off when unset")
    influx_org: str = "eldercare"
    influx_bucket: str = "telemetry"
    influx_token: SecretStr | None = None

    # Unset in development: a random key for this process only (tokens end when it stops). `eldercare serve` keeps
    # one in its data directory instead; production must set one.
    secret_key: SecretStr = Field(default_factory=lambda: SecretStr(secrets.token_urlsafe(32)))
    secret_key_file: Path | None = Field(default=None, description="read the token signing key from this file")
    token_minutes: int = Field(default=60, gt=0)
    # The sender's time checks are judged against this host's clock (cloud.alerts.reference_clock).
    reference_clock: Literal["ntp", "off"] = Field(
        default="ntp", description="ntp: ask stations for their time only while this host's kernel reports its "
        "clock synchronised by NTP; off: whatever the kernel says (a host whose clock is kept right otherwise)")

    # Retention (the worker purges; derived results are kept): see cloud/store/retention.py and docs/face.md.
    retention_events_days: int = Field(default=400, gt=0, description="raw events are deleted after this many days")
    retention_dead_letters_days: int = Field(default=90, gt=0, description="dead letters are deleted after this")
    retention_person_days: int = Field(default=31, gt=0, description="person ids in face events are blanked after")

    @field_validator("mqtt_url")
    @classmethod
    def _mqtt_scheme(cls, value: str) -> str:
        if urlsplit(value).scheme not in ("mqtt", "mqtts"):
            raise ValueError("must look like mqtt://host:1883 or mqtts://host:8883")
        return value

    @model_validator(mode="after")
    def _secrets_from_files(self) -> "Settings":
        # Secrets as files (Docker secrets, provisioned credentials) keep them out of the environment and of git.
        if self.mqtt_password_file is not None:
            self.mqtt_password = SecretStr(_read_secret(self.mqtt_password_file, "ELDERCARE_MQTT_PASSWORD_FILE"))
        if self.secret_key_file is not None:
            self.secret_key = SecretStr(_read_secret(self.secret_key_file, "ELDERCARE_SECRET_KEY_FILE"))
        return self

    @model_validator(mode="after")
    def _no_weak_secrets(self) -> "Settings":
        # Every mode: a development API on a laptop still hands out tokens that work until it stops.
        # A key read from a file is named by the file: that is what the operator has to fix.
        name = (f"the key in {self.secret_key_file} (ELDERCARE_SECRET_KEY_FILE)" if self.secret_key_file is not None
                else "ELDERCARE_SECRET_KEY")
        problem = secret_key_problem(self.secret_key.get_secret_value(), name=name)
        if problem:
            raise ValueError(problem)
        if self.environment == "production":
            if not {"secret_key", "secret_key_file"} & self.model_fields_set:
                raise ValueError("ELDERCARE_SECRET_KEY is not set; production needs one key shared by every API "
                                 "process (at least 32 random bytes)")
            for name in ("mqtt_password", "influx_token"):
                secret = getattr(self, name)
                if secret is not None and is_placeholder(secret.get_secret_value()):
                    raise ValueError(f"ELDERCARE_{name.upper()} still holds a placeholder; set a real secret")
            password = urlsplit(self.database_url).password if self.database_url else None
            if password is not None and is_placeholder(password):
                raise ValueError("ELDERCARE_DATABASE_URL still holds a placeholder password; set a real one")
        return self

    @property
    def resolved_database_url(self) -> str:
        """The configured URL, else SQLite in the data directory."""
        return self.database_url or f"sqlite:///{(self.data_dir / 'eldercare.db').resolve()}"

    @property
    def mqtt_host(self) -> str:
        return urlsplit(self.mqtt_url).hostname or "127.0.0.1"

    @property
    def mqtt_port(self) -> int:
        parts = urlsplit(self.mqtt_url)
        return parts.port or (8883 if parts.scheme == "mqtts" else 1883)

    @property
    def mqtt_tls(self) -> bool:
        return urlsplit(self.mqtt_url).scheme == "mqtts"


def load_settings() -> Settings:
    """Read and validate the settings; the caller turns a ValidationError into a one-line CLI error."""
    return Settings()


def _read_secret(path: Path, name: str) -> str:
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ValueError(f"{name}: cannot read {path}: {exc.strerror}") from None
