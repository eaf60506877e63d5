"""Which ingest runs' partials a stats run computes, and which it drops.

A run's partial is kept while the run still has, in `nodes` and `videos`, the row counts it was
computed from; a run whose rows changed since (validate quarantined some of its videos) is
recomputed, only that run; a run new to the lake is computed for the first time; a run whose
rows are all gone (every video quarantined) has its partial dropped. `--full` recomputes all.
Finding the counts is one scan of the narrow `ingest_run_id` column of each table.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from pipelines.core.errors import A100mError, LakeStateError
from pipelines.core.journal import COMMITTED, journal_path
from pipelines.stats.partials import RUN, SKETCH_FORMAT, TOTALS, VIDEOS

FULL, INCREMENTAL = "full", "incremental"


class NothingToComputeError(A100mError):
    """`--full` on a lake that holds no nodes (exit 1)."""


@dataclass(frozen=True)
class PartialsPlan:
    mode: str
    to_compute: tuple[str, ...]  # ingest runs whose partial is (re)computed now
    to_drop: tuple[str, ...]  # ingest runs whose rows are all gone
    kept: tuple[str, ...]  # ingest runs whose stored partial still holds

    def restrict(self, table: DataFrame) -> DataFrame:
        """The rows of the runs computed now (Delta skips other runs' files)."""
        if self.mode == FULL:
            return table
        return table.where(F.col(RUN).isin(list(self.to_compute)))

    def replace_where(self) -> str | None:
        """The predicate of the rows this run replaces (None: the whole table)."""
        if self.mode == FULL:
            return None
        runs = sorted({*self.to_compute, *self.to_drop})
        quoted = ", ".join("'" + run.replace("'", "''") + "'" for run in runs)
        return f"{RUN} IN ({quoted})"

    def describe(self) -> dict[str, object]:
        return {
            "computed": list(self.to_compute),
            "dropped": list(self.to_drop),
            "kept": len(self.kept),
        }


def _counts(table: DataFrame | None, name: str) -> dict[str, int]:
    if table is None:
        return {}
    rows = table.groupBy(RUN).agg(F.count(F.lit(1)).alias(name)).collect()  # one per run
    return {row[RUN]: row[name] for row in rows}


def _ingested_runs(spark: SparkSession, lake: str) -> set[str]:
    """The runs the journal saw commit an explode stage."""
    journal = spark.read.format("delta").load(journal_path(lake))
    rows = (
        journal.where((F.col("stage") == "explode") & (F.col("state") == COMMITTED))
        .select("run_id")
        .distinct()
        .collect()
    )
    return {row.run_id for row in rows}


def _stored_counts(stored: DataFrame, lake: str) -> dict[str, tuple[int, int]]:
    """run -> (nodes, videos) its partial was computed from; refuses sketches of another format."""
    formats = [
        row.sketch_format
        for row in stored.where(F.col("sketch_format").isNotNull())
        .select("sketch_format")
        .distinct()
        .collect()
    ]
    foreign = sorted(f for f in formats if f != SKETCH_FORMAT)
    if foreign:
        raise LakeStateError.naming(
            "lake {lake}: stats_partials holds sketches in format {theirs}, and this version "
            "reads {ours}: recompute them with stats {full}",
            lake=lake,
            theirs=foreign[0],
            ours=SKETCH_FORMAT,
        )
    rows = (
        stored.where(F.col("kind").isin(TOTALS, VIDEOS))
        .groupBy(RUN)
        .agg(
            F.sum(F.when(F.col("kind") == TOTALS, F.col("metrics")["nodes"])).alias("nodes"),
            F.sum(F.when(F.col("kind") == VIDEOS, F.col("metrics")["videos"])).alias("videos"),
        )
        .collect()
    )
    return {row[RUN]: (int(row.nodes or 0), int(row.videos or 0)) for row in rows}


def plan_partials(
    spark: SparkSession,
    lake: str,
    nodes: DataFrame,
    videos: DataFrame | None,
    stored: DataFrame | None,
    full: bool,
) -> PartialsPlan:
    """Compare each run's rows now with those its stored partial was computed from."""
    node_counts, video_counts = _counts(nodes, "nodes"), _counts(videos, "videos")
    runs = sorted(set(node_counts) | set(video_counts))
    if full or stored is None:
        return PartialsPlan(FULL, tuple(runs), (), ())
    known = _stored_counts(stored, lake)
    orphans = sorted(set(known) - set(runs))
    if orphans:
        foreign = sorted(set(orphans) - _ingested_runs(spark, lake))
        if foreign:
            raise LakeStateError.naming(
                "lake {lake}: stats_partials holds a partial of ingest run {run}, which no "
                "explode in the run journal committed: rebuild the partials from the lake's "
                "rows with stats {full}",
                lake=lake,
                run=foreign[0],
            )
    now = {run: (node_counts.get(run, 0), video_counts.get(run, 0)) for run in runs}
    to_compute = tuple(run for run in runs if known.get(run) != now[run])
    kept = tuple(run for run in runs if run not in to_compute)
    return PartialsPlan(INCREMENTAL, to_compute, tuple(orphans), kept)
