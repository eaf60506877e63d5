"""One tree of the project's errors; the CLI maps each kind to its exit code in one place.

Every error carries a message that is one line a person can act on: what is wrong and where
(the file, the record, the field, the table, the setting).
"""

from __future__ import annotations

import sys
from typing import Any


class A100mError(Exception):
    """Base of every error the project raises on purpose."""


class UsageError(A100mError, ValueError):
    """A flag, an argument or a combination of them that cannot work (exit 2)."""


class SettingsError(UsageError):
    """A settings file, variable or override that cannot be used (exit 2)."""


class InputError(A100mError):
    """Input files refused before anything was written; one line per problem (exit 1)."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


class HubError(InputError):
    """An hf:// input that cannot be listed or fetched (exit 1)."""

    def __init__(self, message: str):
        super().__init__([message])


class MissingTableError(UsageError):
    """A table a command needs is not in the lake (the commands ran out of order); names the
    table and the command that creates it (exit 2)."""

    def __init__(self, lake: str, tables: list[str], created_by: str = "a100m explode"):
        self.lake = lake
        self.tables = tables
        super().__init__(f"lake {lake} has no table {', '.join(tables)}: run `{created_by}` first")


class ClassicSessionRequiredError(UsageError):
    """A Spark Connect session asked for what only a classic session's JVM has: the Hadoop file
    system, the session catalog's entries, the Spark Connect service itself (exit 2)."""


class NoFileSystemError(UsageError):
    """A path whose scheme no file system on Spark's class path serves (gs:// without its
    connector JAR) (exit 2); among the explode stage's inputs, one refused input (exit 1)."""


class LakeBusyError(A100mError):
    """Another run holds the lake's lease: the same command can succeed later (exit 75)."""


class LakeStateError(A100mError):
    """The lake is in a state no run can safely change: it needs an operator (exit 1)."""


# Delta's error conditions (the name in brackets that opens its message; the keys of
# delta-error-classes.json in the delta-spark JAR) for a lake no run can use as it is.
_NEWER_DELTA = frozenset(
    {
        "DELTA_INVALID_PROTOCOL_VERSION",
        "DELTA_UNSUPPORTED_FEATURES_FOR_READ",
        "DELTA_UNSUPPORTED_FEATURES_FOR_WRITE",
    }
)
_NOT_DELTA = frozenset({"DELTA_MISSING_DELTA_TABLE"})  # a folder with files but no _delta_log
_LAKE_STATE_LINES = (
    (
        _NEWER_DELTA,
        "the lake has a table written by a newer Delta Lake than this one reads: upgrade "
        "delta-spark, or use the tool that wrote it",
    ),
    (
        _NOT_DELTA,
        "the folder of a table holds files but is not a Delta table (no _delta_log): it was "
        "written by another tool, or its log was removed",
    ),
)
# The SQLSTATE Delta gives every commit conflict (DELTA_CONCURRENT_APPEND, _WRITE, _DELETE_READ,
# _DELETE_DELETE, _TRANSACTION, DELTA_METADATA_CHANGED, DELTA_PROTOCOL_CHANGED): another writer
# committed between this one's read and its commit, so the same command can succeed later.
_COMMIT_CONFLICT_STATE = "2D521"


def spark_condition(exc: BaseException) -> tuple[str | None, str | None]:
    """(error condition, SQLSTATE) of a Spark or Delta error; (None, None) for any other.

    PySpark converts the JVM's Spark errors to typed ones (AnalysisException...) that carry
    their condition; Delta's own exception classes (DeltaUnsupportedTableFeatureException, its
    commit conflicts without `delta.exceptions` imported) reach Python unconverted, as the Py4J
    error, whose JVM exception still carries the condition.
    """
    # Taken from sys.modules, not imported: generate and synth load this module and no Spark.
    spark_errors: Any = sys.modules.get("pyspark.errors")
    if spark_errors is None:  # Spark never loaded: this is not a Spark error
        return None, None
    if isinstance(exc, spark_errors.PySparkException):
        try:
            return exc.getCondition(), exc.getSqlState()
        except Exception:  # a converted error with no JVM origin left to ask
            return None, None
    java: Any = getattr(exc, "java_exception", None)  # a Py4JJavaError from the classic client
    try:
        # Delta's exceptions (DeltaThrowable) declare getErrorClass and getSqlState but are not
        # SparkThrowable to PySpark's converter, which would answer None: ask the JVM object.
        return str(java.getErrorClass()) or None, str(java.getSqlState()) or None
    except Exception:  # not a Java error, one with no condition, or the session stopped
        return None, None


def lake_state_problem(exc: BaseException) -> str | None:
    """One line for a Delta or Spark failure that means the lake cannot be used as it is,
    recognised by Delta's error condition."""
    condition, _ = spark_condition(exc)
    for conditions, line in _LAKE_STATE_LINES:
        if condition in conditions:
            return line
    return None


def is_commit_conflict(exc: BaseException) -> bool:
    """Delta refused a commit because another writer committed first (retry later)."""
    return spark_condition(exc)[1] == _COMMIT_CONFLICT_STATE
