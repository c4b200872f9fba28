from pathlib import Path

import pytest
from pydantic import ValidationError

from cloud.settings import load_settings


def test_defaults_are_the_embedded_platform(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ELDERCARE_DATA_DIR", str(tmp_path))
    settings = load_settings()
    assert settings.resolved_database_url == f"sqlite:///{tmp_path / 'eldercare.db'}"
    assert (settings.mqtt_host, settings.mqtt_port, settings.mqtt_tls) == ("127.0.0.1", 1883, False)


def test_environment_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ELDERCARE_DATABASE_URL", "postgresql+psycopg://u@db/eldercare")
    monkeypatch.setenv("ELDERCARE_MQTT_URL", "mqtts://broker.example:8883")
    settings = load_settings()
    assert settings.resolved_database_url == "postgresql+psycopg://u@db/eldercare"
    assert (settings.mqtt_host, settings.mqtt_port, settings.mqtt_tls) == ("broker.example", 8883, True)


def test_bad_mqtt_url_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ELDERCARE_MQTT_URL", "http://broker")
    with pytest.raises(ValidationError, match="mqtt://host:1883"):
        load_settings()


def test_production_refuses_placeholder_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ELDERCARE_ENVIRONMENT", "production")
    with pytest.raises(ValidationError, match="ELDERCARE_SECRET_KEY still holds the placeholder"):
        load_settings()
    monkeypatch.setenv("ELDERCARE_SECRET_KEY", "a-real-long-random-secret")
    assert load_settings().environment == "production"


def test_production_refuses_a_placeholder_database_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ELDERCARE_ENVIRONMENT", "production")
    monkeypatch.setenv("ELDERCARE_SECRET_KEY", "a-real-long-random-secret")
    monkeypatch.setenv("ELDERCARE_DATABASE_URL", "postgresql+psycopg://eldercare:change-me@postgres/eldercare")
    with pytest.raises(ValidationError, match="ELDERCARE_DATABASE_URL still holds the placeholder"):
        load_settings()


def test_mqtt_password_from_a_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    secret = tmp_path / "ingest.password"
    secret.write_text("s3cret-from-provision\n")
    monkeypatch.setenv("ELDERCARE_MQTT_PASSWORD_FILE", str(secret))
    password = load_settings().mqtt_password
    assert password is not None and password.get_secret_value() == "s3cret-from-provision"
    monkeypatch.setenv("ELDERCARE_MQTT_PASSWORD_FILE", str(tmp_path / "missing"))
    with pytest.raises(ValidationError, match="cannot read"):
        load_settings()
