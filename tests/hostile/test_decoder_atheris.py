"""The decoder under coverage-guided fuzzing (atheris): a fixed number of runs from a seed corpus of one valid
message per type finds no input that breaks the properties of fuzz_decoder_atheris.py. The harness first shows it
reports a broken property (its self-check mode fails on the first valid seed)."""

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.protocol.payloads import examples

HARNESS = Path(__file__).with_name("fuzz_decoder_atheris.py")
ROOT = Path(__file__).resolve().parents[2]


def _corpus(directory: Path) -> Path:
    directory.mkdir()
    for i, (topic, payload) in enumerate(examples().items()):
        (directory / f"seed-{i}").write_bytes(f"{topic}\n{json.dumps(payload, ensure_ascii=False)}".encode())
    return directory


def _fuzz(corpus: Path, *flags: str, self_check: bool = False) -> tuple[int, str, list[Path]]:
    """libFuzzer's exit status, its output (Python tracebacks go to stdout) and the crash files it wrote."""
    artifacts = corpus.with_name(corpus.name + "-artifacts")
    artifacts.mkdir()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "FUZZ_SELF_CHECK": "1" if self_check else "0"}
    done = subprocess.run(
        [sys.executable, str(HARNESS), str(corpus), "-seed=1", "-max_len=4096", "-timeout=20",
         f"-artifact_prefix={artifacts}/", *flags],
        env=env, cwd=artifacts, capture_output=True, text=True, timeout=600,
    )
    return done.returncode, done.stdout + done.stderr, sorted(artifacts.glob("crash-*"))


def test_atheris_finds_no_input_that_breaks_the_decoder(tmp_path: Path) -> None:
    status, output, crashes = _fuzz(_corpus(tmp_path / "self-check"), "-runs=100", self_check=True)
    assert status != 0 and "self-check: the harness saw a valid message" in output and len(crashes) == 1

    status, output, crashes = _fuzz(_corpus(tmp_path / "corpus"), "-runs=300000")
    assert status == 0 and crashes == [], output[-4000:]
    assert "Done 300000 runs" in output
