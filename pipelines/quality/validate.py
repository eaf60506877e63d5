"""The validate stage: Great Expectations suites over the lake's current tables, Data Docs, the
`dq_results` history table, and the quarantine of records that break a hard rule.

Order of work: read each table once at one version; compute the check frames (frames.py, from the rule registry) and
cache them; run every suite from expectations/ through a Great Expectations checkpoint (results as
JSON and Data Docs in the report folder); then, in one atomic lake write, append one dq_results row
per expectation and move every video that breaks a fail-severity row-level check out of
videos/nodes/transcripts into quarantine (the raw row rebuilt exactly, with its reason codes).
"""

from __future__ import annotations

import logging
import time
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
from pipelines.core.results import ValidationResult
from pipelines.core.runs import committed_snapshot, journaled_write, lake_run
from pipelines.core.tables import DATA_TABLES
from pipelines.quality.frames import (
    failing_videos,
    node_check_frame,
    transcript_check_frame,
    video_check_frame,
)
from pipelines.quality.gx import run_suites
from pipelines.quality.rules import CHECK_ASSETS, FAIL, rules_of
from pipelines.quality.suites import GX_FAIL, SuiteFile, load_suites

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
    spark: SparkSession, lake: str, versions: dict[str, int | None]
) -> dict[str, DataFrame]:
    """The tables at the given versions and the check frames computed from them."""
    videos, nodes, transcripts = (read_table(spark, lake, t, versions[t]) for t in DATA_TABLES)
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
        failing_videos(frames[asset], [r.name for r in rules_of(asset, FAIL)])
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


def _dq_rows(spark: SparkSession, result: ValidationResult, now: datetime) -> DataFrame:
    rows = [
        (
            result.run_id,
            now,
            o.suite,
            o.asset,
            ASSET_TABLE[o.asset],
            result.versions.get(ASSET_TABLE[o.asset]),
            o.check_id,
            o.expectation,
            o.column,
            o.level,
            o.success,
            o.observed_value,
            o.element_count,
            o.unexpected_count,
            None if o.unexpected_percent is None else float(o.unexpected_percent),
            o.examples,
        )
        for o in result.outcomes
    ]
    return spark.createDataFrame(rows, DQ_RESULTS_SCHEMA)


def validate(
    spark: SparkSession,
    lake: str,
    report: str,
    run_id: str,
    quarantine: bool = True,
    suites: list[SuiteFile] | None = None,
) -> ValidationResult:
    """Validate the lake's last committed tables; see the module docstring for what is written."""
    with lake_run(spark, lake, run_id, "validate"):
        return _validate(spark, lake, report, run_id, quarantine, suites)


def _validate(
    spark: SparkSession,
    lake: str,
    report: str,
    run_id: str,
    quarantine: bool,
    suites: list[SuiteFile] | None,
) -> ValidationResult:
    started = time.monotonic()
    versions = committed_snapshot(spark, lake, DATA_TABLES)
    missing = [t for t, v in versions.items() if v is None]
    if missing:
        raise MissingTableError(lake, missing)
    suites = suites if suites is not None else load_suites()
    result = ValidationResult(run_id, versions)

    frames = build_frames(spark, lake, versions)
    cached = []
    for name in ("node_checks", "video_checks", "transcript_checks"):
        frames[name] = frames[name].cache()
        cached.append(frames[name])
    try:
        result.outcomes, result.data_docs, result.results_dir = run_suites(
            frames, suites, report, run_id
        )
        now = datetime.now(UTC)
        # The suites already counted the offending rows: only look for videos when some did.
        rows_broken = any(
            o.severity == GX_FAIL and o.asset in CHECK_ASSETS and (o.unexpected_count or 0) > 0
            for o in result.outcomes
        )
        with journaled_write(spark, lake, run_id, "validate", VALIDATE_TABLES) as write:
            write.append("dq_results", _dq_rows(spark, result, now), DQ_RESULTS_SCHEMA)
            if quarantine and rows_broken:
                bad = videos_to_quarantine(frames).cache()
                cached.append(bad)
                result.quarantined_by_reason = count_reasons(bad)
                result.quarantined_videos = bad.count()
                write.append(
                    "quarantine", _quarantine_rows(frames, bad, run_id, now), QUARANTINE_SCHEMA
                )
                for table in DATA_TABLES:
                    write.delete_videos(table, bad.select("video_uid"))
    finally:
        for frame in cached:
            frame.unpersist()
    result.quarantine_total_by_reason = quarantine_counts(spark, lake)
    result.seconds = time.monotonic() - started
    return result


def quarantine_counts(spark: SparkSession, lake: str) -> dict[str, int]:
    """Records in the quarantine table per reason code, over all runs."""
    if table_version(spark, table_path(lake, "quarantine")) is None:
        return {}
    return count_reasons(read_table(spark, lake, "quarantine"))
