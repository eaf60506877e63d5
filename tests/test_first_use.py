"""What a new user met first (issue 28): a SQL error is one line on the terminal, the plan and the
Java stack trace only in the log file (or with --verbose)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from pyspark.errors import AnalysisException

from pipelines.core.console import (
    attach_log_file,
    close_log_file,
    configure_console,
    route_query_errors,
)
from pipelines.lakeops.query import error_line


@pytest.fixture
def console() -> Iterator[None]:
    """configure_console for one test, the root logger as pytest had it afterwards."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    close_log_file()
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)


def _refused(spark) -> AnalysisException:
    with pytest.raises(AnalysisException) as refused:
        spark.sql("SELECT no_such_column FROM range(3)").collect()
    return refused.value


def test_a_sql_error_reaches_the_terminal_only_as_the_commands_own_line(
    spark, console, tmp_path: Path, capfd
):
    configure_console(verbose=False)
    route_query_errors()  # as every command that starts Spark does
    log = attach_log_file(tmp_path / "sql.log")
    exc = _refused(spark)
    line = error_line(exc)
    assert capfd.readouterr().err == ""  # PySpark's own 10 KB JSON line is not printed
    assert "\n" not in line and line.startswith("[UNRESOLVED_COLUMN")
    assert "no_such_column" in line and "line 1 pos 7" in line  # where in the query
    assert "Project" not in line  # the plan is left out
    logged = log.read_text()
    assert "UNRESOLVED_COLUMN" in logged and "CheckAnalysis" in logged  # the stack trace


def test_verbose_shows_the_stack_trace_on_the_terminal(spark, console, capfd):
    configure_console(verbose=True)
    route_query_errors()
    _refused(spark)
    err = capfd.readouterr().err
    assert "UNRESOLVED_COLUMN" in err and "CheckAnalysis" in err
    assert '{"ts"' not in err  # in our log format, not PySpark's JSON
