"""`ELDERCARE_DATABASE_URL` as hosting providers write it: postgres:// is PostgreSQL through psycopg 3."""

import pytest
from click.testing import CliRunner

from eldercare.groups import cloud


def test_a_heroku_style_postgres_url_reaches_postgresql(postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    heroku = postgres_url.replace("postgresql+psycopg://", "postgres://", 1)
    assert heroku.startswith("postgres://")
    monkeypatch.setenv("ELDERCARE_DATABASE_URL", heroku)
    result = CliRunner().invoke(cloud, ["migrate"])
    assert result.exit_code == 0, result.output
    assert "schema at" in result.output and "postgres" in result.output
