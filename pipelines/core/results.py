"""What a validation run found, as plain data: shared by the quality stage that produces it and
the report that presents it (neither imports the other)."""

from __future__ import annotations

from dataclasses import dataclass, field

from pipelines.core.severity import Severity


def counted(count: int, noun: str, plural: str | None = None) -> str:
    """A count and its noun, singular for one: "1 check", "2 checks", "2 anomalies"."""
    return f"{count:,} {noun if count == 1 else plural or noun + 's'}"


@dataclass
class CheckOutcome:
    suite: str
    asset: str
    check_id: str
    expectation: str
    column: str | None
    severity: str  # Great Expectations' name (critical, warning); `level` is the project's
    success: bool
    observed_value: str | None
    element_count: int | None
    unexpected_count: int | None
    unexpected_percent: float | None
    examples: list[str]
    # What is left of the counts once the run's quarantine moved its videos out.
    kept_element_count: int | None = None
    kept_unexpected_count: int | None = None

    @property
    def level(self) -> Severity:
        return Severity.of_gx(self.severity)


@dataclass
class ValidationResult:
    run_id: str
    versions: dict[str, int | None]
    # What this run checked (empty when there was nothing new to check) ...
    outcomes: list[CheckOutcome] = field(default_factory=list)
    # ... and the lake's figures, merged over the runs since the last full validation.
    lake_outcomes: list[CheckOutcome] = field(default_factory=list)
    mode: str = "full"
    scope_reason: str = ""
    checked_runs: list[str] = field(default_factory=list)
    quarantined_by_reason: dict[str, int] = field(default_factory=dict)
    quarantined_videos: int = 0
    quarantine_total_by_reason: dict[str, int] = field(default_factory=dict)
    data_docs: str | None = None
    results_dir: str | None = None
    seconds: float = 0.0

    @property
    def failed(self) -> list[CheckOutcome]:
        """This run's failed fail-severity checks; the lake's when it checked nothing."""
        judged = self.outcomes if self.outcomes else self.lake_outcomes
        return [o for o in judged if not o.success and o.level is Severity.FAIL]

    @property
    def lake_failed(self) -> list[CheckOutcome]:
        return [o for o in self.lake_outcomes if not o.success and o.level is Severity.FAIL]

    @property
    def passed(self) -> bool:
        return not self.failed

    def summary(self) -> str:
        verdict = (
            "PASSED"
            if self.passed
            else f"FAILED ({counted(len(self.failed), 'fail-severity check')})"
        )
        lines = [
            f"validate run {self.run_id}: {verdict}; {len(self.outcomes)} expectations on "
            + ", ".join(f"{t} v{v}" for t, v in self.versions.items())
            + f" in {self.seconds:.1f} s",
            f"  {self.mode} validation: {self.scope_reason}",
        ]
        if self.lake_outcomes:
            lake = "PASSED" if not self.lake_failed else f"FAILED ({len(self.lake_failed)} checks)"
            lines.append(f"  the lake as it stands: {lake}")
        noteworthy = [o for o in self.outcomes if not o.success or (o.unexpected_count or 0) > 0]
        for o in sorted(noteworthy, key=lambda o: (o.success, o.level, o.suite, o.check_id)):
            status = (
                "FAIL"
                if not o.success and o.level is Severity.FAIL
                else ("WARN" if not o.success else "note")
            )
            count = "" if o.unexpected_count is None else f"{o.unexpected_count:>8} rows"
            observed = "" if o.unexpected_count is not None else f" observed {o.observed_value}"
            lines.append(f"  {status} [{o.level}] {o.suite}.{o.check_id:<32} {count}{observed}")
            if o.examples:
                lines.append(f"       e.g. {o.examples[0][:110]}")
        if self.quarantined_videos:
            lines.append(f"  quarantined {self.quarantined_videos} videos in this run:")
            for reason, videos in sorted(self.quarantined_by_reason.items()):
                lines.append(f"    {videos:>8} videos  {reason}")
        if self.quarantine_total_by_reason:
            lines.append("  quarantine table, records per reason (all runs):")
            for reason, records in sorted(self.quarantine_total_by_reason.items()):
                lines.append(f"    {records:>8}  {reason}")
        if self.data_docs:
            lines.append(f"  Data Docs: {self.data_docs}")
        return "\n".join(lines)
