"""The explode stage: raw files in, Delta tables videos / nodes / transcripts / quarantine out.

Re-runs are idempotent in two layers: the `ingest_log` table lists every file already read (by
URI, size and modification time), so an unchanged file is not even opened again; and a video
already in the lake is never appended again (it goes to quarantine as `video_already_ingested`),
so the same rows under another file name cannot duplicate either.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from pipelines.core import deltars
from pipelines.core.contracts import (
    INGEST_LOG_SCHEMA,
    NODES_SCHEMA,
    QUARANTINE_SCHEMA,
    SOURCE_FILE,
    SOURCE_ROW,
    TRANSCRIPTS_SCHEMA,
    VIDEOS_SCHEMA,
)
from pipelines.core.lake import LakeWrite, read_table, table_path, table_version
from pipelines.core.records import count_reasons, quarantine_records
from pipelines.core.runs import journaled_write, lake_run, new_run_id
from pipelines.ingest.flatten import (
    rank_copies,
    to_nodes,
    to_transcripts,
    to_videos,
)
from pipelines.ingest.hub import is_hub_input, stage_hub_input
from pipelines.ingest.sources import (
    SourceFile,
    check_sources,
    read_raw,
    resolve_inputs,
    unreadable_file_error,
)

log = logging.getLogger(__name__)

# Tables in the order they are written; videos comes last among the data tables because the
# next run decides what is already ingested from it.
EXPLODE_TABLES = ("quarantine", "nodes", "transcripts", "videos", "ingest_log")


@dataclass
class ExplodeResult:
    run_id: str
    files_found: int
    files_skipped: int
    files_read: int
    rows_read: int = 0
    rows_written: dict[str, int] = field(default_factory=dict)
    versions: dict[str, int] = field(default_factory=dict)
    quarantined_by_reason: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def summary(self) -> str:
        lines = [
            f"explode run {self.run_id}: {self.files_found} input files, "
            f"{self.files_skipped} already ingested, {self.files_read} read, {self.rows_read} raw rows "
            f"in {self.seconds:.1f} s"
        ]
        for table in EXPLODE_TABLES:
            if table in self.rows_written:
                lines.append(
                    f"  {table:<12} +{self.rows_written[table]:>9} rows  -> version {self.versions[table]}"
                )
        for reason, count in sorted(self.quarantined_by_reason.items()):
            lines.append(f"  quarantined  {count:>10} records: {reason}")
        return "\n".join(lines)


def logged_files(spark: SparkSession, lake: str) -> set[tuple[str, int, int | None]]:
    """(URI, size, modification time in ms) of every file in the ingest log: read by delta-rs
    on a local lake (an explode with nothing new then runs no Spark job before it knows it)."""
    if table_version(spark, table_path(lake, "ingest_log")) is None:
        return set()
    if (root := deltars.local_root(table_path(lake, "ingest_log"))) is not None:
        try:
            return deltars.logged_files(root)
        except Exception as exc:  # a table feature delta-rs does not read: Spark does
            log.info("delta-rs could not read %s, asking Spark: %s", root, exc)
    return {
        (row.source_file, row.size_bytes, row.modified_ms)
        for row in read_table(spark, lake, "ingest_log")
        .select("source_file", "size_bytes", F.unix_millis("modified_at").alias("modified_ms"))
        .collect()  # one small row per file ever ingested
    }


def already_ingested(logged: set[tuple[str, int, int]], sources: list[SourceFile]) -> set[str]:
    """URIs of the given files that the ingest log holds with the same size and time."""
    return {s.uri for s in sources if (s.uri, s.size_bytes, _millis(s.modified_at)) in logged}


def _millis(moment: datetime) -> int:
    return round(moment.timestamp() * 1000)


def stage_inputs(
    inputs: list[str],
    logged: set[tuple[str, int, int]],
    staging: str,
    limit_shards: int | None = None,
) -> tuple[list[str], list[str]]:
    """Replace each hf:// input by its staged shards (fetched unless already ingested); other
    inputs (local, s3a://, gs://, abfss://, hdfs://) pass through unchanged.
    Returns (inputs to resolve, staged shards skipped as already ingested)."""
    if not any(is_hub_input(given) for given in inputs):
        return inputs, []
    # A hub shard is not local yet: its staged URI and the size the hub reports identify it.
    ingested = {uri: size for uri, size, _ in logged}
    resolved: list[str] = []
    skipped: list[str] = []
    for given in inputs:
        if not is_hub_input(given):
            resolved.append(given)
            continue
        todo, already = stage_hub_input(given, staging, limit_shards, ingested)
        resolved += todo
        skipped += already
    return resolved, skipped


def explode(
    spark: SparkSession,
    inputs: list[str],
    lake: str,
    run_id: str | None = None,
    staging: str = "staging",
    limit_shards: int | None = None,
) -> ExplodeResult:
    """Ingest the raw files named by inputs into the lake; all tables change, or none does.

    hf:// inputs are first fetched into staging (the first limit_shards shards of each, leaving
    out those already ingested); see pipelines.ingest.hub.
    """
    run_id = run_id or new_run_id()
    with lake_run(spark, lake, run_id, "explode"):
        return _explode(spark, inputs, lake, run_id, staging, limit_shards)


def _explode(
    spark: SparkSession,
    inputs: list[str],
    lake: str,
    run_id: str,
    staging: str,
    limit_shards: int | None,
) -> ExplodeResult:
    started = time.monotonic()
    logged = logged_files(spark, lake)
    inputs, hub_skipped = stage_inputs(inputs, logged, staging, limit_shards)
    sources = resolve_inputs(spark, inputs) if inputs else []
    skip = already_ingested(logged, sources)
    todo = [s for s in sources if s.uri not in skip]
    result = ExplodeResult(
        run_id, len(sources) + len(hub_skipped), len(skip) + len(hub_skipped), len(todo)
    )
    if not todo:
        result.seconds = time.monotonic() - started
        return result
    check_sources(spark, todo)

    now = datetime.now(UTC)
    ingested_at = F.lit(now).cast("timestamp")
    raw = read_raw(spark, todo)
    videos_path = table_path(lake, "videos")
    ingested_uids = (
        read_table(spark, lake, "videos").select("video_uid")
        if table_version(spark, videos_path) is not None
        else None
    )
    # Small (three columns per video) and used four times: rank, count, quarantine, ingest log.
    keys = raw.select("video_uid", SOURCE_FILE, SOURCE_ROW).cache()
    rejected = rank_copies(keys, ingested_uids).cache()
    try:
        rejected_count = rejected.count()
        accepted = (
            raw
            if rejected_count == 0
            else raw.join(
                F.broadcast(rejected.select(SOURCE_FILE, SOURCE_ROW)),
                [SOURCE_FILE, SOURCE_ROW],
                "left_anti",
            )
        )
        # Counted before anything is written: a Delta write to `videos` makes Spark recompute
        # every cached plan that reads it, `rejected` included, which would then see this run's
        # own videos as already ingested.
        read_per_file = _count_per_file(keys)
        rejected_per_file = _count_per_file(rejected) if rejected_count else {}
        if rejected_count:
            result.quarantined_by_reason = count_reasons(rejected)
        log_rows = _ingest_log_rows(todo, read_per_file, rejected_per_file, run_id, now)
        with journaled_write(spark, lake, run_id, "explode", EXPLODE_TABLES) as write:
            if rejected_count:
                quarantine = _quarantine_records(raw, rejected, run_id, ingested_at)
                _append(write, result, "quarantine", quarantine, QUARANTINE_SCHEMA)
            _append(write, result, "nodes", to_nodes(accepted, run_id), NODES_SCHEMA)
            _append(
                write, result, "transcripts", to_transcripts(accepted, run_id), TRANSCRIPTS_SCHEMA
            )
            _append(
                write, result, "videos", to_videos(accepted, run_id, ingested_at), VIDEOS_SCHEMA
            )
            result.rows_read = result.rows_written["videos"] + rejected_count
            result.versions["ingest_log"], result.rows_written["ingest_log"] = write.append_rows(
                "ingest_log", log_rows, INGEST_LOG_SCHEMA
            )
    except Exception as exc:
        # The tables are back as they were; say which file was unreadable when that was it.
        unreadable = unreadable_file_error(exc)
        if unreadable is not None:
            raise unreadable from exc
        raise
    finally:
        rejected.unpersist()
        keys.unpersist()
    result.seconds = time.monotonic() - started
    return result


def _append(write: LakeWrite, result: ExplodeResult, table: str, df: DataFrame, schema) -> None:
    result.versions[table], result.rows_written[table] = write.append(table, df, schema)


def _quarantine_records(
    raw: DataFrame, rejected: DataFrame, run_id: str, quarantined_at
) -> DataFrame:
    """Whole raw records that are not ingested, as JSON, with their reasons."""
    records = rejected.drop("video_uid").join(raw, [SOURCE_FILE, SOURCE_ROW], "inner")
    return quarantine_records(records, run_id, quarantined_at)


def _count_per_file(records: DataFrame) -> dict[str, int]:
    """Records per source file (one small row per file)."""
    return {r[SOURCE_FILE]: int(r["count"]) for r in records.groupBy(SOURCE_FILE).count().collect()}


def _ingest_log_rows(
    sources: list[SourceFile],
    read_per_file: dict[str, int],
    rejected_per_file: dict[str, int],
    run_id: str,
    ingested_at: datetime,
) -> list[tuple]:
    """One ingest_log row per file read, from counts taken before the write."""
    rows = []
    for s in sources:
        read, rejected = read_per_file.get(s.uri, 0), rejected_per_file.get(s.uri, 0)
        rows.append(
            (
                s.uri,
                s.size_bytes,
                s.modified_at,
                run_id,
                ingested_at,
                read,
                read - rejected,
                rejected,
            )
        )
    return rows
