"""The project's own promises: README's commands are the ones CI runs; the CLI answers."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _test_command() -> str:
    lines = (ROOT / ".ci" / "run").read_text().splitlines()
    marker = lines.index("# The test command, exactly as README.md gives it:")
    return lines[marker + 1]


def test_ci_runs_exactly_the_readme_test_command():
    assert _test_command() in (ROOT / "README.md").read_text()


def test_python_dash_m_and_the_jobs_use_the_same_cli():
    out = subprocess.run(
        [sys.executable, "-m", "pipelines", "--help"], capture_output=True, text=True, check=True
    ).stdout
    for command in ("explode", "run", "generate"):
        assert command in out
    for job in (ROOT / "jobs").glob("*.py"):
        command = job.stem
        assert f'main(["{command}", *sys.argv[1:]])' in job.read_text(), job


def test_usage_errors_exit_2():
    done = subprocess.run(
        [sys.executable, "-m", "pipelines", "explode"], capture_output=True, text=True
    )
    assert done.returncode == 2 and "--input" in done.stderr
    done = subprocess.run(
        [sys.executable, "-m", "pipelines", "explode", "--input", "x", "--env", "nowhere"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2 and "known environments" in done.stderr
