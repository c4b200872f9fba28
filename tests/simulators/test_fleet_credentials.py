"""`eldercare simulate fleet --credentials DIR` when a station's password file cannot be read: the operator is told
which file and why, not that the broker cannot be reached (compose's simulator runs as uid 1000 and `cloud provision`
writes the stations' files readable by their owner only)."""

from pathlib import Path

from click.testing import CliRunner

from simulators.fleet_commands import fleet


def test_a_password_file_that_cannot_be_read_is_named(tmp_path: Path) -> None:
    credentials = tmp_path / "credentials"
    credentials.mkdir()  # provisioned for other stations than this fleet's
    result = CliRunner().invoke(fleet, ["--stations", "3", "--days", "0", "--broker", "127.0.0.1:1",
                                        "--credentials", str(credentials)])
    assert result.exit_code == 1
    assert "cannot reach the broker" not in result.output
    assert "broker password" in result.output and str(credentials) in result.output
    assert "No such file or directory" in result.output
    assert isinstance(result.exception, SystemExit)  # a one-line error, no traceback
