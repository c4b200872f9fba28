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


def test_production_needs_its_own_secret_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ELDERCARE_ENVIRONMENT", "production")
    with pytest.raises(ValidationError, match="ELDERCARE_SECRET_KEY is not set"):
        load_settings()
    monkeypatch.setenv("ELDERCARE_SECRET_KEY", "a-real-long-random-secret-3f9c1b7e2d")
    assert load_settings().environment == "production"


@pytest.mark.parametrize("environment", ["development", "production"])
@pytest.mark.parametrize("key", ["change-me", "CHANGEME", "", "x", "secret", " secret ", "short-but-random-9f2c",
                                 "change-me-change-me-change-me-change-me", "ab" * 20])
def test_every_mode_refuses_a_weak_secret_key(monkeypatch: pytest.MonkeyPatch, environment: str, key: str) -> None:
    monkeypatch.setenv("ELDERCARE_ENVIRONMENT", environment)
    monkeypatch.setenv("ELDERCARE_SECRET_KEY", key)
    with pytest.raises(ValidationError, match=r"ELDERCARE_SECRET_KEY (is|repeats)"):
        load_settings()


def test_an_unset_key_in_development_is_random_per_process(monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = load_settings().secret_key.get_secret_value(), load_settings().secret_key.get_secret_value()
    assert first != second and len(first) >= 32


def test_secret_key_from_a_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    key = tmp_path / "secret_key"
    key.write_text("k" * 4 + "a-key-from-a-file-0123456789abcdef\n")
    monkeypatch.setenv("ELDERCARE_ENVIRONMENT", "production")
    monkeypatch.setenv("ELDERCARE_SECRET_KEY_FILE", str(key))
    assert load_settings().secret_key.get_secret_value() == "kkkka-key-from-a-file-0123456789abcdef"
    key.write_text("change-me\n")
    with pytest.raises(ValidationError, match="placeholder"):
        load_settings()


@pytest.mark.parametrize("url", ["postgresql+psycopg://eldercare:change-me@postgres/eldercare",
                                 "postgresql+psycopg://eldercare:secret@postgres/eldercare"])
def test_production_refuses_a_placeholder_database_password(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    monkeypatch.setenv("ELDERCARE_ENVIRONMENT", "production")
    monkeypatch.setenv("ELDERCARE_SECRET_KEY", "a-real-long-random-secret-3f9c1b7e2d")
    monkeypatch.setenv("ELDERCARE_DATABASE_URL", url)
    with pytest.raises(ValidationError, match="ELDERCARE_DATABASE_URL still holds a placeholder"):
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


def test_a_weak_key_from_a_file_names_the_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # The operator has to fix the file, not an ELDERCARE_SECRET_KEY they never set.
    key = tmp_path / "secret_key"
    key.write_text("short\n")
    monkeypatch.delenv("ELDERCARE_SECRET_KEY", raising=False)
    monkeypatch.setenv("ELDERCARE_SECRET_KEY_FILE", str(key))
    with pytest.raises(ValidationError, match=f"the key in {key} \\(ELDERCARE_SECRET_KEY_FILE\\) is 5 bytes long"):
        load_settings()
