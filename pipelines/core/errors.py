"""One tree of the project's errors; the CLI maps each kind to its exit code in one place.

Every error carries a message that is one line a person can act on: what is wrong and where
(the file, the record, the field, the table, the setting).
"""

from __future__ import annotations


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
    """Another run holds the lake's lease (exit 1)."""


class LakeStateError(A100mError):
    """The lake is in a state no run can safely change: it needs an operator (exit 1)."""


# What Delta or Spark say about a lake no run can use as it is, and the line a person needs.
_LAKE_STATE_MARKERS = (
    (
        ("DELTA_INVALID_PROTOCOL_VERSION", "InvalidProtocolVersion", "DELTA_UNSUPPORTED_FEATURES"),
        "the lake has a table written by a newer Delta Lake than this one reads: upgrade "
        "delta-spark, or use the tool that wrote it",
    ),
)


def lake_state_problem(exc: BaseException) -> str | None:
    """One line for a Delta or Spark failure that means the lake cannot be used as it is."""
    text = f"{type(exc).__name__}: {exc}"
    for markers, line in _LAKE_STATE_MARKERS:
        if any(m in text for m in markers):
            return line
    return None
