"""`eldercare -v`: the default log level is info, so `-v` must show debug lines, as its help says."""

import subprocess
import sys

import pytest

# A debug and an info line logged by the process after the command ran, through whatever logging it set up.
PROBE = ("import atexit, logging, sys\n"
         "from eldercare.cli import main\n"
         "def probe():\n"
         "    logging.getLogger('probe').debug('probe: a debug line')\n"
         "    logging.getLogger('probe').info('probe: an info line')\n"
         "atexit.register(probe)\n"
         "main(sys.argv[1:])\n")


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", PROBE, *args, "contract", "--help"], capture_output=True, text=True,
                          timeout=60)


@pytest.mark.parametrize("flag", ["-v", "--verbose", "-vv"])
def test_one_v_shows_debug_lines(flag: str) -> None:
    result = run(flag)
    assert result.returncode == 0, result.stderr
    assert "DEBUG probe: probe: a debug line" in result.stderr
    assert "INFO probe: probe: an info line" in result.stderr


def test_by_default_info_shows_and_debug_does_not() -> None:
    result = run()
    assert result.returncode == 0, result.stderr
    assert "INFO probe: probe: an info line" in result.stderr
    assert "a debug line" not in result.stderr


def test_the_help_says_what_v_does() -> None:
    result = subprocess.run([sys.executable, "-m", "eldercare", "--help"], capture_output=True, text=True, timeout=60)
    assert "-v, --verbose" in result.stdout and "Debug log output" in result.stdout
