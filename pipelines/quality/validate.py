"""The validate stage: Great Expectations suites over the videos no committed validation has
seen (scope.py), Data Docs, the `dq_results` history table, and the quarantine of records that
break a hard rule.

Order of work: decide the scope (new ingest runs, or everything); read each table once at the
last committed version, restricted to that scope; compute the check frames (frames.py, from the
rule registry) and cache them; run every suite from expectations/ through a Great Expectations
checkpoint (results as JSON and Data Docs in the report folder); then, in one atomic lake write,
move every video that breaks a fail-severity row-level check out of videos/nodes/transcripts into
quarantine (the raw row rebuilt exactly, with its reason codes) and append the dq_results rows:
this run's counts, and the lake's counts merged over the generation's runs.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from datetime import UTC, datetime

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from pipelines.core.contracts import DQ_RESULTS_SCHEMA, QUARANTINE_SCHEMA
from pipelines.core.errors import MissingTableError
from pipelines.core.lake import read_table, table_path, table_version
from pipelines.core.records import (
    count_reasons,
    nest,
    quarantine_records,
    quarantine_table_rows,
)
from pipelines.core.results import CheckOutcome, ValidationResult
from pipelines.core.runs import committed_snapshot, journaled_write, lake_run
from pipelines.core.severity import Severity
from pipelines.core.tables import DATA_TABLES
from pipelines.quality.frames import (
    failing_videos,
    node_check_frame,
    transcript_check_frame,
    video_check_frame,
)
from pipelines.quality.gx import run_suites
from pipelines.quality.rules import CHECK_ASSETS, rules_of
from pipelines.quality.scope import (
    LAKE_SCOPE,
    RUN_SCOPE,
    NothingToValidateError,
    Scope,
    kept_counts,
    merge_outcomes,
    plan_scope,
    suite_expectations,
    suite_mostly,
)
from pipelines.quality.suites import SuiteFile, load_suites

log = logging.getLogger(__name__)

# Every table a validate run may change (the journal records their versions first).
VALIDATE_TABLES = ("dq_results", "quarantine", *DATA_TABLES)

# Which table's version a frame was computed from (for dq_results).
ASSET_TABLE = {
    "videos": "videos",
    "nodes": "nodes",
    "transcripts": "transcripts",
    "node_checks": "nodes",
    "video_checks": "videos",
    "transcript_checks": "transcripts",
}


def build_frames(
    spark: SparkSession, lake: str, versions: dict[str, int | None], scope: Scope | None = None
) -> dict[str, DataFrame]:
    """The rows a run checks (all, without a scope) at the given versions, and the check
    frames built from them."""
    tables = [read_table(spark, lake, t, versions[t]) for t in DATA_TABLES]
    videos, nodes, transcripts = (scope.restrict(t) for t in tables) if scope else tables
    return {
        "videos": videos,
        "nodes": nodes,
        "transcripts": transcripts,
        "node_checks": node_check_frame(nodes, videos),
        "video_checks": video_check_frame(nodes, videos),
        "transcript_checks": transcript_check_frame(transcripts, videos),
    }


def videos_to_quarantine(frames: dict[str, DataFrame]) -> DataFrame:
    """video_uid, reason_codes, reason_detail of every video breaking a fail-severity rule of
    the registry; the reason codes are the rules' names."""
    parts = [
        failing_videos(frames[asset], [r.name for r in rules_of(asset, Severity.FAIL)])
        for asset in CHECK_ASSETS
    ]
    union = parts[0]
    for part in parts[1:]:
        union = union.unionByName(part)
    return union.groupBy("video_uid").agg(
        F.array_sort(F.array_distinct(F.flatten(F.collect_list("reason_codes")))).alias(
            "reason_codes"
        ),
        F.concat_ws("; ", F.collect_list("reason_detail")).alias("reason_detail"),
    )


def _quarantine_rows(
    frames: dict[str, DataFrame], bad: DataFrame, run_id: str, now: datetime
) -> DataFrame:
    at = F.lit(now).cast("timestamp")
    keys = bad.select("video_uid")
    raw = nest(*(frames[t].join(keys, "video_uid", "left_semi") for t in DATA_TABLES))
    provenance = frames["videos"].select("video_uid", "source_file", "source_row")
    records = raw.join(bad, "video_uid").join(provenance, "video_uid")
    whole_videos = quarantine_records(records, run_id, at)
    # Rows whose video has no videos row cannot be nested back: each is kept as it was found.
    orphans = bad.join(frames["videos"].select("video_uid"), "video_uid", "left_anti")
    return whole_videos.unionByName(
        quarantine_table_rows(frames["nodes"], "nodes", "node", orphans, run_id, at)
    ).unionByName(
        quarantine_table_rows(
            frames["transcripts"], "transcripts", "transcript_line", orphans, run_id, at
        )
    )


def _dq_rows(result: ValidationResult, scope: Scope, now: datetime) -> list[tuple]:
    """The run's own rows (what it checked) and the lake's rows (merged figures)."""

    def row(o: CheckOutcome, row_scope: str, runs: list[str] | None) -> tuple:
        table = ASSET_TABLE[o.asset]
        return (
            result.run_id,
            now,
            o.suite,
            o.asset,
            table,
            result.versions.get(table),
            o.check_id,
            o.expectation,
            o.column,
            o.level.value,  # the text: a row may be pickled to the JVM, which knows no enum
            o.success,
            o.observed_value,
            o.element_count,
            o.unexpected_count,
            None if o.unexpected_percent is None else float(o.unexpected_percent),
            o.examples,
            row_scope,
            scope.mode,
            scope.fingerprint,
            runs,
            o.kept_element_count,
            o.kept_unexpected_count,
        )

    rows = [row(o, RUN_SCOPE, list(scope.ingest_runs)) for o in result.outcomes]
    rows += [row(o, LAKE_SCOPE, None) for o in result.lake_outcomes]
    return rows


def validate(
    spark: SparkSession,
    lake: str,
    report: str,
    run_id: str,
    quarantine: bool = True,
    suites: list[SuiteFile] | None = None,
    full: bool = False,
    data_docs: bool = True,
) -> ValidationResult:
    """Validate what no committed validation has seen (everything with full=True); see the
    module docstring for what is written. data_docs=False skips GX Data Docs (the `data_docs`
    setting: their pages load their assets from public CDNs)."""
    with lake_run(spark, lake, run_id, "validate"):
        return _validate(spark, lake, report, run_id, quarantine, suites, full, data_docs)


def _validate(
    spark: SparkSession,
    lake: str,
    report: str,
    run_id: str,
    quarantine: bool,
    suites: list[SuiteFile] | None,
    full: bool,
    data_docs: bool = True,
) -> ValidationResult:
    started = time.monotonic()
    versions = committed_snapshot(spark, lake, VALIDATE_TABLES)
    missing = [t for t in DATA_TABLES if versions[t] is None]
    if missing:
        if full:
            raise NothingToValidateError.about(
                "full", "lake {lake} holds no videos, so there is nothing to re-validate", lake=lake
            )
        raise MissingTableError(lake, missing)
    suites = suites if suites is not None else load_suites()
    scope = plan_scope(spark, lake, versions, suites, full)
    log.info("%s validation: %s", scope.mode, scope.reason)
    result = ValidationResult(
        run_id,
        {t: versions[t] for t in DATA_TABLES},
        mode=scope.mode,
        scope_reason=scope.reason,
        checked_runs=list(scope.ingest_runs),
    )
    history = _generation_outcomes(spark, lake, versions, scope)
    frames: dict[str, DataFrame] = {}
    cached: list[DataFrame] = []
    try:
        if not scope.is_empty:
            frames = build_frames(spark, lake, versions, scope)
            for name in CHECK_ASSETS:
                frames[name] = frames[name].cache()
                cached.append(frames[name])
            result.outcomes, result.data_docs, result.results_dir = run_suites(
                frames, suites, report, run_id, data_docs
            )
        with journaled_write(spark, lake, run_id, "validate", VALIDATE_TABLES) as write:
            if frames:
                removed = None
                if quarantine and _rows_broken(result):
                    removed = _quarantine(write, result, frames, run_id, cached)
                _keep_counts(result, frames, removed, suites)
            result.lake_outcomes = merge_outcomes(
                history + _as_kept(result.outcomes), suite_mostly(suites)
            )
            write.append_rows(
                "dq_results", _dq_rows(result, scope, datetime.now(UTC)), DQ_RESULTS_SCHEMA
            )
    finally:
        for frame in cached:
            frame.unpersist()
    result.quarantine_total_by_reason = quarantine_counts(spark, lake)
    result.seconds = time.monotonic() - started
    return result


def _rows_broken(result: ValidationResult) -> bool:
    """The suites already counted the offending rows: only look for videos when some did."""
    return any(
        o.level is Severity.FAIL and o.asset in CHECK_ASSETS and (o.unexpected_count or 0) > 0
        for o in result.outcomes
    )


def _quarantine(
    write, result: ValidationResult, frames: dict[str, DataFrame], run_id: str, cached: list
) -> DataFrame | None:
    """Move every video breaking a fail-severity rule into quarantine; return their ids."""
    bad = videos_to_quarantine(frames).cache()
    cached.append(bad)
    result.quarantined_by_reason = count_reasons(bad)
    result.quarantined_videos = bad.count()
    if not result.quarantined_videos:
        return None
    now = datetime.now(UTC)
    write.append("quarantine", _quarantine_rows(frames, bad, run_id, now), QUARANTINE_SCHEMA)
    for table in DATA_TABLES:
        write.delete_videos(table, bad.select("video_uid"))
    return bad.select("video_uid")


def _keep_counts(
    result: ValidationResult,
    frames: dict[str, DataFrame],
    removed: DataFrame | None,
    suites: list[SuiteFile],
) -> None:
    """Set each outcome's kept counts: what is left of its rows once `removed` is gone."""
    by_asset: dict[str, dict[str, tuple[int, int]]] = {}
    for asset in CHECK_ASSETS:
        columns = sorted({o.column for o in result.outcomes if o.asset == asset and o.column})
        if columns:
            by_asset[asset] = kept_counts(frames[asset], columns, removed)
    declared = suite_expectations(suites)
    for o in result.outcomes:
        if o.asset in by_asset and o.column in by_asset[o.asset]:
            o.kept_element_count, o.kept_unexpected_count = by_asset[o.asset][o.column]
        elif removed is None or o.element_count is None:
            o.kept_element_count, o.kept_unexpected_count = o.element_count, o.unexpected_count
        else:
            table = frames[o.asset].join(F.broadcast(removed), "video_uid", "left_anti")
            o.kept_element_count = table.count()
            o.kept_unexpected_count = _table_offences(
                table, o, declared[(o.suite, o.check_id)]["kwargs"]
            )


def _table_offences(table: DataFrame, outcome: CheckOutcome, kwargs: dict) -> int | None:
    """A table-level expectation's offending rows among the kept rows. Keys are counted again
    (every row of a repeated key, as Great Expectations counts them); types and not-null are
    enforced by Delta on write, so what they found stays as it was."""
    keys = kwargs.get("column_list") or (
        [kwargs["column"]] if outcome.expectation == "expect_column_values_to_be_unique" else None
    )
    if keys is None or outcome.unexpected_count == 0:
        return outcome.unexpected_count
    repeated = table.groupBy(*keys).count().where(F.col("count") > 1)
    return int(repeated.agg(F.coalesce(F.sum("count"), F.lit(0))).first()[0])


def _as_kept(outcomes: list[CheckOutcome]) -> list[CheckOutcome]:
    return [
        replace(o, element_count=o.kept_element_count, unexpected_count=o.kept_unexpected_count)
        for o in outcomes
    ]


def _generation_outcomes(
    spark: SparkSession, lake: str, versions: dict[str, int | None], scope: Scope
) -> list[CheckOutcome]:
    """The kept counts of the earlier runs of this generation, as outcomes."""
    if not scope.generation or versions.get("dq_results") is None:
        return []
    rows = (
        read_table(spark, lake, "dq_results", versions["dq_results"])
        .where((F.col("scope") == RUN_SCOPE) & F.col("run_id").isin(list(scope.generation)))
        .collect()  # one row per expectation and run: tens per run
    )
    return [
        CheckOutcome(
            suite=r.suite,
            asset=r.asset,
            check_id=r.check_id,
            expectation=r.expectation,
            column=r.column,
            severity=Severity(r.severity).gx,
            success=r.success,
            observed_value=r.observed_value,
            element_count=r.kept_element_count,
            unexpected_count=r.kept_unexpected_count,
            unexpected_percent=None,
            examples=list(r.examples or []),
        )
        for r in rows
    ]


def quarantine_counts(spark: SparkSession, lake: str) -> dict[str, int]:
    """Records in the quarantine table per reason code, over all runs."""
    if table_version(spark, table_path(lake, "quarantine")) is None:
        return {}
    return count_reasons(read_table(spark, lake, "quarantine"))
