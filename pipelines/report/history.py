"""The lake's history as the report reads it, and what the report adds to it.

Read: one RunPoint per run that left figures in the lake, from the run journal (`_runs`: when,
which command), `dq_results` (the lake's rows per table and each check's unexpected rows, scope
"lake") and `stats_summary`; the anomalies earlier reports stored; and the offending rows behind
the examples of the checks with findings, with their times from `nodes`. Every table is read at
the committed snapshot (core/runs.py `committed_snapshot`), as validate and stats read theirs: a
half-landed run or a commit made outside the pipeline is not history. (The journal's own
committed version is its latest: it is the record of commits.) Written: this report's
anomalies, as `dq_results` rows of scope "anomaly" (docs/tables.md).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from pipelines.core.contracts import DQ_RESULTS_SCHEMA
from pipelines.core.journal import COMMITTED, JOURNAL_TABLE
from pipelines.core.lake import read_table
from pipelines.core.results import CheckOutcome
from pipelines.core.runs import committed_snapshot, journaled_write
from pipelines.core.tables import DATA_TABLES
from pipelines.report.anomalies import Anomaly
from pipelines.report.metrics import RunPoint, stats_metrics

ANOMALY_SCOPE = "anomaly"
LAKE_SCOPE = "lake"
SAMPLE_ROWS = 5


HISTORY_TABLES = ("dq_results", "stats_summary", JOURNAL_TABLE)


def read_history(spark: SparkSession, lake: str) -> list[RunPoint]:
    """Every run with figures in the lake, oldest first: a few small rows per run."""
    points: dict[str, RunPoint] = {}
    versions = committed_snapshot(spark, lake, HISTORY_TABLES)

    def point(run_id: str, at: Any) -> RunPoint:
        if run_id not in points:
            points[run_id] = RunPoint(run_id, str(at or ""), "")
        return points[run_id]

    if versions["dq_results"] is not None:
        dq = read_table(spark, lake, "dq_results", versions["dq_results"]).where(
            F.col("scope") == LAKE_SCOPE
        )
        for r in (
            dq.where(
                F.col("table_name").isin(*DATA_TABLES) & (F.col("asset") == F.col("table_name"))
            )
            .groupBy("run_id", "table_name")
            .agg(F.min("validated_at").alias("at"), F.max("element_count").alias("rows"))
            .collect()
        ):
            point(r.run_id, r.at).metrics[f"rows.{r.table_name}"] = r.rows
        for r in (
            dq.where(F.col("check_id").isNotNull() & F.col("unexpected_count").isNotNull())
            .select("run_id", "validated_at", "suite", "check_id", "unexpected_count")
            .collect()
        ):
            point(r.run_id, r.validated_at).metrics[f"check.{r.suite}.{r.check_id}"] = float(
                r.unexpected_count
            )
    if versions["stats_summary"] is not None:
        summaries: dict[str, dict[str, float | None]] = {}
        times: dict[str, Any] = {}
        for r in (
            read_table(spark, lake, "stats_summary", versions["stats_summary"])
            .select("run_id", "computed_at", "name", "value")
            .collect()
        ):
            summaries.setdefault(r.run_id, {})[r.name] = r.value
            times[r.run_id] = r.computed_at
        for run_id, summary in summaries.items():
            point(run_id, times[run_id]).metrics.update(stats_metrics(summary))
    if versions[JOURNAL_TABLE] is not None:
        for r in (
            read_table(spark, lake, JOURNAL_TABLE, versions[JOURNAL_TABLE])
            .where(F.col("run_id").isin(list(points)) & (F.col("state") == COMMITTED))
            .groupBy("run_id")
            .agg(F.min("at").alias("at"), F.first("command").alias("command"))
            .collect()
        ):
            points[r.run_id].at = str(r.at)
            points[r.run_id].command = r.command or ""
    return sorted(points.values(), key=lambda p: (p.at, p.run_id))


def stored_anomalies(spark: SparkSession, lake: str) -> dict[str, list[str]]:
    """run id -> the metrics earlier reports found anomalous in it (committed snapshot)."""
    version = committed_snapshot(spark, lake, ("dq_results",))["dq_results"]
    if version is None:
        return {}
    found: dict[str, list[str]] = {}
    for r in (
        read_table(spark, lake, "dq_results", version)
        .where(F.col("scope") == ANOMALY_SCOPE)
        .select("run_id", "column")
        .collect()
    ):
        found.setdefault(r.run_id, []).append(r.column)
    return found


def store_anomalies(
    spark: SparkSession, lake: str, run_id: str, anomalies: list[Anomaly], rules: dict[str, Any]
) -> None:
    """This report's anomalies as dq_results rows of scope "anomaly", in one journaled write."""
    if not anomalies:
        return
    now = datetime.now(UTC).replace(tzinfo=None)
    fingerprint = hashlib.sha256(json.dumps(rules, sort_keys=True).encode()).hexdigest()[:16]
    rows = [
        (
            run_id,
            now,
            "anomaly",
            "metrics",
            "dq_results" if a.metric.startswith(("rows.", "check.")) else "stats_summary",
            None,
            a.check_id,
            f"anomaly_{a.strategy}",
            a.metric,
            a.severity.value,  # the text, as the validation's rows (a row reaches the JVM)
            False,
            json.dumps({"value": a.value, "low": a.low, "high": a.high}),
            a.runs_used,
            1,
            None,
            [a.message],
            ANOMALY_SCOPE,
            "report",
            fingerprint,
            None,
            None,
            None,
        )
        for a in anomalies
    ]
    frame = spark.createDataFrame(rows, DQ_RESULTS_SCHEMA)
    with journaled_write(spark, lake, run_id, "report", ["dq_results"]) as write:
        write.append("dq_results", frame, DQ_RESULTS_SCHEMA)


@dataclass(frozen=True)
class SampleRow:
    video: str
    node: str | None  # node id, or a transcript line's seq
    start: float | None
    end: float | None
    offence: str


def failed_row_samples(
    spark: SparkSession,
    lake: str,
    nodes_version: int | None,
    outcomes: list[CheckOutcome],
) -> dict[str, list[SampleRow]]:
    """ "suite.check" -> a few offending rows, parsed from the check's examples ("video/node:
    offence"), with the node's times looked up in the nodes table (one small query)."""
    parsed: dict[str, list[tuple[str, str | None, str]]] = {}
    for o in outcomes:
        if o.success and not o.unexpected_count:
            continue
        rows = []
        for example in o.examples[:SAMPLE_ROWS]:
            ref, sep, offence = example.partition(": ")
            if not sep:
                ref, offence = "", example
            video, _, node = ref.partition("/")
            rows.append((video, node or None, offence))
        if rows:
            parsed[f"{o.suite}.{o.check_id}"] = rows
    keys = {(v, n) for rows in parsed.values() for v, n, _ in rows if v and n}
    times: dict[tuple[str, str], tuple[float | None, float | None]] = {}
    if keys and nodes_version is not None:
        videos = sorted({v for v, _ in keys})
        for r in (
            read_table(spark, lake, "nodes", nodes_version)
            .where(
                F.col("video_uid").isin(videos) & F.col("node_id").isin(sorted(n for _, n in keys))
            )
            .select("video_uid", "node_id", "start", "end")
            .collect()
        ):
            times[(r.video_uid, r.node_id)] = (r.start, r.end)
    return {
        check: [
            SampleRow(v, n, *times.get((v, n or ""), (None, None)), offence)
            for v, n, offence in rows
        ]
        for check, rows in parsed.items()
    }
