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
