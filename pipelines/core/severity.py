"""The project's two severities, and Great Expectations' names for them (no pyspark).

A member equals its text (`Severity.FAIL == "fail"`), so the suites in expectations/, report.json
and the `severity` column of `dq_results` read as they did when severities were strings. Rows
built in Python take `.value`: Spark pickles them to the JVM, which knows no Python enum.
"""

from __future__ import annotations

from enum import StrEnum


class Severity(StrEnum):
    """How much a broken check or an anomalous metric matters (docs/checks.md)."""

    # In rising order of gravity, the default first: settings list them so ("warn, fail").
    WARN = "warn"  # reported with its counts, never fatal
    FAIL = "fail"  # fails the run; a row-level rule's offence quarantines the video

    @property
    def gx(self) -> str:
        """Great Expectations' name for it, as the suites and GX's results spell it."""
        return _GX_NAMES[self]

    @classmethod
    def of_gx(cls, name: str) -> Severity:
        """The severity of a Great Expectations result: `critical` fails; `warning` (and GX's
        `info`, which no suite uses) only warns."""
        return cls.FAIL if name == _GX_NAMES[cls.FAIL] else cls.WARN


_GX_NAMES: dict[Severity, str] = {Severity.FAIL: "critical", Severity.WARN: "warning"}
