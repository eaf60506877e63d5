"""What reaches the terminal, and the run's log file that holds everything else.

The terminal gets the commands' own lines (summaries on stdout; warnings, errors and one progress
line per stage on stderr). Under spark-submit, whose PythonRunner merges this process's stderr
into its stdout, the warnings and progress lines go to the log file only, so stdout stays the
summary (and an error's one line); the JVM's own log lines are on spark-submit's stderr. Every log line, ours at INFO and every library's (Spark's JVM, py4j,
Great Expectations, Ivy), goes to the log file, which the command names at the end. `--verbose`
shows INFO lines of every library on the terminal too.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

# Our loggers: their warnings reach the terminal; a library's need to be errors to.
OWN_LOGGERS = ("pipelines", "a100m", "benchmarks")
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# The folder under the report folder that holds each command's log file.
LOG_FOLDER = "logs"
# Libraries that log INFO at import or per call (GX: 209 lines at import alone).
CHATTY_LOGGERS = ("great_expectations", "py4j", "urllib3", "matplotlib", "filelock")
# PySpark logs every SQL error it raises, at ERROR with the Java stack trace and the query plan
# (one JSON line, 10 KB and more), on a handler of its own. The command reports the error itself
# in one line (lakeops/query.py), so these records go to the log file (and, with --verbose, to the
# terminal) like any library's INFO line.
QUERY_ERROR_LOGGERS = ("SQLQueryContextLogger", "DataFrameQueryContextLogger")


def under_spark_submit() -> bool:
    """True when this Python process was launched by spark-submit (it owns the JVM and its conf)."""
    return "PYSPARK_GATEWAY_PORT" in os.environ


class _ToRoot(logging.Handler):
    """Hand a record to the root logger's handlers (PySpark turns propagation off per call)."""

    def emit(self, record: logging.LogRecord) -> None:
        for handler in logging.getLogger().handlers:
            if record.levelno >= handler.level:
                handler.handle(record)


class _QuietLibraries(logging.Filter):
    """Pass our own records from WARNING, other libraries' from ERROR."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name in QUERY_ERROR_LOGGERS:
            return False
        own = record.name.split(".")[0] in OWN_LOGGERS
        return record.levelno >= (logging.WARNING if own else logging.ERROR)


def configure_console(verbose: bool = False) -> None:
    """The terminal's handler; the log file is attached later (attach_log_file), once the
    settings say where the report folder is."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "a100m", False):
            root.removeHandler(handler)
    if verbose or not under_spark_submit():
        console = logging.StreamHandler(sys.stderr)
        console.a100m = True  # type: ignore[attr-defined]
        console.setFormatter(logging.Formatter(LOG_FORMAT))
        if verbose:
            console.setLevel(logging.INFO)
        else:
            console.addFilter(_QuietLibraries())
        root.addHandler(console)
    root.setLevel(logging.INFO)
    logging.captureWarnings(True)  # Python warnings of libraries go to the log, not the terminal
    for name in CHATTY_LOGGERS:
        # before their import: GX logs its INFO lines while importing
        logging.getLogger(name).setLevel(logging.INFO if verbose else logging.WARNING)


def route_query_errors() -> None:
    """PySpark's query-error loggers: their own stderr handler replaced by the root's handlers.

    Called by the commands that start Spark only: importing pyspark costs the others (snapshot,
    generate, evaluate, --help) about a second."""
    from pyspark.logger import PySparkLogger

    for name in QUERY_ERROR_LOGGERS:
        # created as PySparkLogger, whose exception() takes the keywords PySpark passes
        logger = PySparkLogger.getLogger(name)
        for handler in list(logger.handlers):
            logger.removeHandler(handler)
        logging.Logger.addHandler(logger, _ToRoot())  # keep our format, not PySpark's JSON


def default_log_file(report: str, command: str, now: datetime | None = None) -> Path:
    """<report>/logs/<UTC time>-<command>.log for a local report folder; for a report folder on
    a remote file system, the same name under the system's temporary folder."""
    now = now or datetime.now(UTC)
    local = report.removeprefix("file://") if report.startswith("file:") else report
    folder = (
        Path(tempfile.gettempdir()) / "a100m-logs" if "://" in local else Path(local) / LOG_FOLDER
    )
    return folder / f"{now:%Y%m%dT%H%M%S.%fZ}-{command}.log"


def attach_log_file(path: str | Path) -> Path:
    """Every log record, at INFO and above, goes to path from now on (appended)."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(path, encoding="utf-8")
    except OSError:
        # A report folder that cannot be written is the command's own one-line error (it checks
        # before it writes anything); the log goes to the temporary folder meanwhile.
        path = Path(tempfile.gettempdir()) / "a100m-logs" / path.name
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(path, encoding="utf-8")
    handler.a100m = True  # type: ignore[attr-defined]
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    handler.setLevel(logging.INFO)
    logging.getLogger().addHandler(handler)
    return path


def close_log_file() -> None:
    root = logging.getLogger()
    for handler in list(root.handlers):
        if isinstance(handler, logging.FileHandler) and getattr(handler, "a100m", False):
            handler.close()
            root.removeHandler(handler)
