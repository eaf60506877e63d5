"""What a validate run checks, and the lake's verdict merged over runs (docs/checks.md).

Every row-level check is local to one video, and video uniqueness is enforced at ingest, so a run
validates only the videos that no committed validation under the current suites and rules has
seen: the videos of the ingest runs (`ingest_run_id`) that no `dq_results` row of the current
*generation* lists. A generation starts with a full validation: the lake's first, one asked for
with `--full`, or one started by itself because the fingerprint (the suites' content hashes and
the rule code) changed since the generation began.

Each run records, per check, the counts it saw (`scope = "run"`) and the counts left once its own
quarantine moved videos out (`kept_*`). The lake's figures (`scope = "lake"`, written by every
run, even one with nothing new) are the sums of the kept counts over the generation's runs: the
lake as it is, without re-reading it.
"""

from __future__ import annotations

import hashlib
import importlib
from collections.abc import Iterable
from dataclasses import dataclass, replace

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from pipelines.core.errors import A100mError
from pipelines.core.lake import read_table
from pipelines.core.results import CheckOutcome
from pipelines.quality.suites import SuiteFile

FULL, INCREMENTAL = "full", "incremental"
RUN_SCOPE, LAKE_SCOPE = "run", "lake"
# The modules whose code decides what a check finds: a change to them re-validates everything.
RULE_MODULES = ("pipelines.quality.rules", "pipelines.quality.frames")


class NothingToValidateError(A100mError):
    """`--full` on a lake that holds no videos."""


def fingerprint(suites: Iterable[SuiteFile]) -> str:
    """What the checks are: every suite's content hash and the rule code, hashed together."""
    digest = hashlib.sha256()
    for suite in sorted(suites, key=lambda s: s.name):
        digest.update(f"{suite.name}={suite.content_hash};".encode())
    for name in RULE_MODULES:
        module = importlib.import_module(name)
        source = module.__loader__.get_source(name) or ""  # works from a zip too
        digest.update(hashlib.sha256(source.encode()).digest())
    return digest.hexdigest()[:16]


@dataclass(frozen=True)
class Scope:
    """The videos one validate run checks."""

    mode: str
    reason: str
    fingerprint: str
    ingest_runs: tuple[str, ...]  # the ingest runs whose videos this run checks
    generation: tuple[str, ...]  # earlier validate runs whose kept counts make the lake's verdict

    @property
    def is_empty(self) -> bool:
        return not self.ingest_runs

    def restrict(self, table: DataFrame) -> DataFrame:
        """The table's rows of the videos this run checks (Delta skips other runs' files)."""
        if self.mode == FULL:
            return table
        return table.where(F.col("ingest_run_id").isin(list(self.ingest_runs)))


@dataclass(frozen=True)
class _PastRun:
    run_id: str
    mode: str
    fingerprint: str
    ingest_runs: tuple[str, ...]


def _past_runs(dq: DataFrame | None) -> list[_PastRun]:
    if dq is None:
        return []
    rows = (
        dq.where(F.col("scope") == RUN_SCOPE)
        .groupBy("run_id")
        .agg(
            F.min("validated_at").alias("validated_at"),
            F.first("mode").alias("mode"),
            F.first("fingerprint").alias("fingerprint"),
            F.array_sort(F.array_distinct(F.flatten(F.collect_list("ingest_runs")))).alias(
                "ingest_runs"
            ),
        )
        .collect()  # one small row per validate run
    )
    return [
        _PastRun(r.run_id, r.mode, r.fingerprint, tuple(r.ingest_runs or ()))
        for r in sorted(rows, key=lambda r: (r.validated_at, r.run_id))
    ]


def plan_scope(
    spark: SparkSession,
    lake: str,
    versions: dict[str, int | None],
    suites: list[SuiteFile],
    full: bool,
) -> Scope:
    """Decide what this run checks, and say why in `reason`."""
    current = fingerprint(suites)
    lake_runs = tuple(
        sorted(
            r.ingest_run_id
            for r in read_table(spark, lake, "videos", versions["videos"])
            .select("ingest_run_id")
            .distinct()
            .collect()
        )
    )
    if full and not lake_runs:
        raise NothingToValidateError.about(
            "full", "lake {lake} holds no videos, so there is nothing to re-validate", lake=lake
        )
    dq = (
        read_table(spark, lake, "dq_results", versions["dq_results"])
        if versions.get("dq_results") is not None
        else None
    )
    past = _past_runs(dq)
    fulls = [i for i, run in enumerate(past) if run.mode == FULL]
    generation = past[fulls[-1] :] if fulls else []
    changed = next((run for run in generation if run.fingerprint != current), None)

    def everything(reason: str) -> Scope:
        return Scope(FULL, reason, current, lake_runs, ())

    if full:
        return everything("a full re-validation asked")
    if not generation:
        return everything("the lake's first validation")
    if changed is not None:
        return everything(
            f"the suites or rules changed since validate run {changed.run_id} (fingerprint "
            f"{changed.fingerprint} -> {current}): re-validating every video"
        )
    seen = {r for run in generation for r in run.ingest_runs}
    new = tuple(r for r in lake_runs if r not in seen)
    reason = (
        f"{len(new)} ingest run(s) not validated since full run {generation[0].run_id}"
        if new
        else f"no new videos since validate run {generation[-1].run_id}"
    )
    return Scope(INCREMENTAL, reason, current, new, tuple(run.run_id for run in generation))


# ---------------------------------------------------------------------------------------------
# Kept counts and the lake's verdict
# ---------------------------------------------------------------------------------------------


def kept_counts(
    checks: DataFrame, rule_columns: list[str], removed: DataFrame | None
) -> dict[str, tuple[int, int]]:
    """For each check column: (rows, offending rows) left once the removed videos are gone,
    in one aggregation over the (cached) check frame."""
    kept = (
        checks if removed is None else checks.join(F.broadcast(removed), "video_uid", "left_anti")
    )
    aggregates: list[Column] = [F.count(F.lit(1)).alias("_rows")] + [
        F.count(F.col(c)).alias(c)
        for c in rule_columns  # count() skips nulls: the offences
    ]
    row = kept.agg(*aggregates).first()
    return {c: (int(row["_rows"]), int(row[c])) for c in rule_columns}


def merge_outcomes(
    history: list[CheckOutcome], mostly: dict[tuple[str, str], float | None]
) -> list[CheckOutcome]:
    """The lake's outcome of each check from the kept counts of the generation's runs: counts
    summed, success judged on the sums (with the check's `mostly`), or, for a check without
    counts (a column list, a type), passed only when it passed in every run."""
    merged: dict[tuple[str, str], CheckOutcome] = {}
    for outcome in history:
        key = (outcome.suite, outcome.check_id)
        known = merged.get(key)
        if known is None:
            merged[key] = replace(outcome, examples=list(outcome.examples))
            continue
        merged[key] = replace(
            known,
            success=known.success and outcome.success,
            element_count=_add(known.element_count, outcome.element_count),
            unexpected_count=_add(known.unexpected_count, outcome.unexpected_count),
            examples=known.examples or list(outcome.examples),
            observed_value=outcome.observed_value or known.observed_value,
        )
    result = []
    for key, outcome in sorted(merged.items()):
        if outcome.unexpected_count is not None and outcome.element_count is not None:
            elements, unexpected = outcome.element_count, outcome.unexpected_count
            allowed = (1.0 - (mostly.get(key) or 1.0)) * elements
            outcome = replace(
                outcome,
                success=unexpected <= allowed + 1e-9,
                unexpected_percent=100.0 * unexpected / elements if elements else 0.0,
                examples=outcome.examples if unexpected else [],
            )
        result.append(outcome)
    return result


def _add(a: int | None, b: int | None) -> int | None:
    return None if a is None and b is None else (a or 0) + (b or 0)


def suite_expectations(suites: list[SuiteFile]) -> dict[tuple[str, str], dict]:
    """(suite, check id) -> the expectation's declaration (type, kwargs, meta)."""
    return {
        (s.name, (e.get("meta") or {}).get("id") or e["type"]): e
        for s in suites
        for e in s.data["expectations"]
    }


def suite_mostly(suites: list[SuiteFile]) -> dict[tuple[str, str], float | None]:
    """(suite, check id) -> the expectation's `mostly` (None: every row must pass)."""
    return {key: e["kwargs"].get("mostly") for key, e in suite_expectations(suites).items()}
