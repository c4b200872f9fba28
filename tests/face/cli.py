"""Run `eldercare ...` in-process through the real root command (its error formatting and exit codes)."""

from dataclasses import dataclass

import pytest

from eldercare.cli import main


@dataclass
class Result:
    code: int
    out: str
    err: str


def eldercare(capsys: pytest.CaptureFixture[str], *args: str) -> Result:
    capsys.readouterr()
    with pytest.raises(SystemExit) as exited:
        main(list(args))
    captured = capsys.readouterr()
    code = exited.value.code
    return Result(code if isinstance(code, int) else 1, captured.out, captured.err)
