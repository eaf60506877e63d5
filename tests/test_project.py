"""The project's own promises: README's commands are the ones CI runs; the CLI answers."""

from __future__ import annotations

import re
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


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=ROOT)


def test_help_lists_exactly_the_commands_the_cli_runs():
    from pipelines.cli import COMMANDS, WITHOUT_SPARK

    done = _run("-m", "pipelines", "--help")
    assert done.returncode == 0
    section = done.stdout.split("COMMAND\n", 1)[1].split("\n\n", 1)[0]
    # a command's line is indented 4 spaces; its wrapped help, further
    listed = [line.split()[0] for line in section.splitlines() if re.match(r"^    \S", line)]
    assert sorted(listed) == sorted([*COMMANDS, *WITHOUT_SPARK])


def test_each_job_is_its_command():
    for job in sorted((ROOT / "jobs").glob("*.py")):
        command = re.search(r'main\(\["([a-z]+)"', job.read_text()).group(1)
        # a job runs with jobs/ first on sys.path: named like a standard module (select.py), it
        # would shadow that module for every import of the run
        assert job.stem not in sys.stdlib_module_names, job
        assert job.stem.split("_")[0] == command, job
        done = _run(str(job), "--help")
        assert done.returncode == 0, (job, done.stderr)
        assert done.stdout.startswith(f"usage: a100m {command} "), (job, done.stdout[:80])


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


def test_ci_checks_lint_format_and_types_before_the_tests():
    """A finding fails CI (set -e) before the tests' half hour, not after it."""
    import tomllib

    lines = (ROOT / ".ci" / "run").read_text().splitlines()
    assert "set -euo pipefail" in lines
    marker = lines.index("# The test command, exactly as README.md gives it:")
    for check in (".venv/bin/ruff check .", ".venv/bin/ruff format --check .", ".venv/bin/mypy"):
        assert check in lines[:marker], check
    mypy = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mypy"]
    assert mypy["strict"] is True and "pipelines/core" in mypy["files"]
