"""The API-security migration on both dialects: users keep logging in, old failure rows go, and it reverses."""

from datetime import UTC, datetime

from alembic import command
from sqlalchemy import inspect, text

from cloud.store.db import make_engine
from cloud.store.migrate import alembic_config, head_revisions, upgrade

REVISION = "0005_api_security"


def test_users_survive_and_the_migration_reverses(db_url: str) -> None:
    engine = make_engine(db_url)
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0003")
        connection.execute(text(
            "INSERT INTO users (name, role, password_hash, active, created_at) VALUES ('li', 'station', 'h', true, :t)"
        ), {"t": datetime(2026, 11, 1, tzinfo=UTC)})
        connection.execute(text("INSERT INTO login_failures (key, at) VALUES ('li|10.0.0.1', :t)"),
                           {"t": datetime(2026, 11, 1, tzinfo=UTC)})
    assert upgrade(engine) == head_revisions()  # every head, and so this revision (later ones build on it)
    tables = set(inspect(engine).get_table_names())
    assert {"login_limits", "revoked_tokens"} <= tables and "login_failures" not in tables
    with engine.connect() as connection:
        users = connection.execute(text("SELECT name, token_generation FROM users"))
        assert [tuple(row) for row in users] == [("li", 0)]
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0003")
    tables = set(inspect(engine).get_table_names())
    assert "login_failures" in tables and not {"login_limits", "revoked_tokens"} & tables
    assert upgrade(engine) == head_revisions()  # every head, and so this revision (later ones build on it)
    engine.dispose()
