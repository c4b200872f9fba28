"""Deployment settings from the environment (`ELDERCARE_…`), validated once at start-up. Never at import time."""

from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PLACEHOLDER = "change-me"


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

    secret_key: SecretStr = SecretStr(PLACEHOLDER)
    token_minutes: int = Field(default=60, gt=0)

    @field_validator("mqtt_url")
    @classmethod
    def _mqtt_scheme(cls, value: str) -> str:
        if urlsplit(value).scheme not in ("mqtt", "mqtts"):
            raise ValueError("must look like mqtt://host:1883 or mqtts://host:8883")
        return value

    @model_validator(mode="after")
    def _password_from_file(self) -> "Settings":
        # Secrets as files (Docker secrets, provisioned credentials) keep them out of the environment and of git.
        if self.mqtt_password_file is not None:
            try:
                self.mqtt_password = SecretStr(self.mqtt_password_file.read_text(encoding="utf-8").strip())
            except OSError as exc:
                raise ValueError(f"ELDERCARE_MQTT_PASSWORD_FILE: cannot read {self.mqtt_password_file}: "
                                 f"{exc.strerror}") from None
        return self

    @model_validator(mode="after")
    def _no_placeholders_in_production(self) -> "Settings":
        if self.environment == "production":
            for name in ("secret_key", "mqtt_password", "influx_token"):
                secret = getattr(self, name)
                if secret is not None and PLACEHOLDER in secret.get_secret_value():
                    raise ValueError(f"ELDERCARE_{name.upper()} still holds the placeholder; set a real secret")
            if self.database_url and PLACEHOLDER in self.database_url:
                raise ValueError("ELDERCARE_DATABASE_URL still holds the placeholder password; set a real one")
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
