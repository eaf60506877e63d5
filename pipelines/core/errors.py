"""One tree of the project's errors; the CLI maps each kind to its exit code in one place.

Every error carries a message that is one line a person can act on: what is wrong and where
(the file, the record, the field, the table, the setting).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from typing import Any, Self

# An option named in a message: `{name}` or `{name=VALUE}`, by its Python name (`wait_seconds`).
_FIELD = re.compile(r"\{([a-z][a-z0-9_]*)(?:=([^{}]*))?\}")
# How a caller spells an option: (its Python name, the value shown or None for a switch) -> text.
OptionText = Callable[[str, str | None], str]
_SWITCH = object()  # `about` without a value: the option is a switch (`full`)


def python_option(name: str, value: str | None) -> str:
    """An option as Python code gives it: `full`, `wait_seconds=SECONDS`."""
    return name if value is None else f"{name}={value}"


def _fill(template: str, values: dict[str, object], option_text: OptionText) -> str:
    """The template's fields: a value given by name as it is, anything else as an option (one
    pass, so a value's own braces are never read as fields)."""

    def field(match: re.Match[str]) -> str:
        name, value = match[1], match[2]
        if value is None and name in values:
            return str(values[name])
        if value is not None and value in values:  # `{min_duration=LOW}`, LOW given
            value = str(values[value])
        return option_text(name, value)

    return _FIELD.sub(field, template)


class A100mError(Exception):
    """Base of every error the project raises on purpose.

    Made by `naming` or `about`, a message names the options a caller can change by their Python
    names; `str()` spells them as Python does (`wait_seconds=SECONDS`), `render` as the caller
    does (the CLI: `--wait SECONDS`). So nothing under pipelines/ but cli.py names a flag.
    """

    _template: str | None = None
    _values: dict[str, object] = {}
    _option: tuple[str, object] | None = None

    @classmethod
    def naming(cls, template: str, /, **values: object) -> Self:
        """A message whose `{name}` fields are the values given, and whose other fields,
        `{option}` or `{option=VALUE}`, name options."""
        exc = cls(_fill(template, values, python_option))
        exc._template, exc._values = template, values
        return exc

    @classmethod
    def about(cls, option: str, problem: str, value: object = _SWITCH, /, **values: object) -> Self:
        """One option's value at fault: `option=VALUE: problem` (a switch: `option: problem`);
        the problem is a template as `naming`'s."""
        shown = None if value is _SWITCH else repr(value)
        exc = cls(f"{python_option(option, shown)}: {_fill(problem, values, python_option)}")
        exc._template, exc._values, exc._option = problem, values, (option, value)
        return exc

    def render(self, option_text: OptionText) -> str:
        """The message with its options spelled by option_text (the CLI's flags)."""
        if self._template is None:
            return str(self)
        text = _fill(self._template, self._values, option_text)
        if self._option is None:
            return text
        option, value = self._option
        return f"{option_text(option, None if value is _SWITCH else str(value))}: {text}"


class UsageError(A100mError, ValueError):
    """An option, an argument or a combination of them that cannot work (exit 2)."""


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
