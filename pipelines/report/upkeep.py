"""The lake's upkeep as the report shows it: each table's files and size, the time since its last
OPTIMIZE, and a warning when a table holds too many small files (docs/lakeops.md).

Everything is read at the committed snapshot (core/runs.py `committed_snapshot`), as the rest of
the report: the files are those the committed version reads (its Delta log), sized on disk; the
last optimize is the newest OPTIMIZE commit in the table's Delta history at or below the
committed version. On a local lake both come from the Delta log through delta-rs
(core/deltars.py: milliseconds a table, where Spark ran a job for each); on HDFS or an object
store, through Spark. The history is the table's own record, so an OPTIMIZE another engine ran
counts too, once a stage has committed on top of it; the run journal knows only ours.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from delta.tables import DeltaTable
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from pipelines.core import deltars
from pipelines.core.lake import table_path
from pipelines.core.layout import SMALL_FILE_BYTES, data_tables, file_sizes, format_bytes
from pipelines.core.runs import committed_snapshot

# The small-file rule: a table has too many small files when at least this many of its files are
# under SMALL_FILE_BYTES. Delta's auto compaction starts at the same count
# (spark.databricks.delta.autoCompact.minNumFiles, 50). An optimized table never trips it: a table
# smaller than optimize's 32 MB target becomes one file, a larger one files of about 32 MB.
SMALL_FILES_MIN = 50


@dataclass(frozen=True)
class TableUpkeep:
    """One table's files as of its committed version, and when it was last optimized."""

    table: str
    version: int
    files: int
    bytes: int
    small: int  # files under SMALL_FILE_BYTES
    last_optimize: str | None  # ISO time (UTC) of the last OPTIMIZE commit, if any
    hours_since_optimize: float | None

    @property
    def mean_file_bytes(self) -> float:
        return self.bytes / self.files if self.files else 0.0

    @property
    def small_files(self) -> bool:
        """The small-file rule (SMALL_FILES_MIN)."""
        return self.small >= SMALL_FILES_MIN

    def as_fact(self) -> dict[str, Any]:
        """The row report.json keeps: raw figures and the texts the page shows."""
        return {
            **asdict(self),
            "mean_file_bytes": round(self.mean_file_bytes),
            "size": format_bytes(self.bytes),
            "mean_file_size": format_bytes(self.mean_file_bytes),
            "since_optimize": age_text(self.hours_since_optimize),
            "small_files": self.small_files,
        }


def age_text(hours: float | None) -> str:
    """How long ago, for people: "never", "25 min", "5.2 h", "3 days"."""
    if hours is None:
        return "never"
    if hours < 1:
        return f"{max(hours * 60, 1):.0f} min"
    if hours < 48:
        return f"{hours:.1f} h"
    return f"{hours / 24:.0f} days"


def small_file_warning(t: TableUpkeep, lake: str) -> str:
    """The one line a person reads and acts on."""
    return (
        f"table {t.table} has {t.small} small files (under {format_bytes(SMALL_FILE_BYTES)}; "
        f"{t.files} files, {format_bytes(t.bytes)} in all): run `a100m optimize --lake {lake}` "
        "to compact it"
    )


def _last_optimize(spark: SparkSession, lake: str, table: str, version: int) -> float | None:
    """Epoch seconds of the table's newest OPTIMIZE commit at or below version."""
    folder = deltars.local_root(table_path(lake, table))
    if folder is not None:
        return deltars.last_commit_time(folder, "OPTIMIZE", version)
    return last_optimize_through_spark(spark, lake, table, version)


def last_optimize_through_spark(
    spark: SparkSession, lake: str, table: str, version: int
) -> float | None:
    """_last_optimize read from the table's history by Spark (any file system)."""
    history = DeltaTable.forPath(spark, table_path(lake, table)).history()
    at = (
        history.where((F.col("operation") == "OPTIMIZE") & (F.col("version") <= version))
        # epoch seconds: a collected timestamp would be in the Python process's time zone
        .agg(F.max(F.col("timestamp").cast("double")).alias("at"))
        .first()["at"]
    )
    return float(at) if at is not None else None


def _file_sizes(spark: SparkSession, lake: str, table: str, version: int) -> list[int]:
    folder = deltars.local_root(table_path(lake, table))
    if folder is not None:
        return deltars.data_file_sizes(folder, version)
    return file_sizes(spark, lake, table, version)


def lake_upkeep(spark: SparkSession, lake: str, now: datetime | None = None) -> list[TableUpkeep]:
    """Every table of the lake (not the journal) at its committed version, by name."""
    now = now or datetime.now(UTC)
    tables = data_tables(spark, lake)
    found = []
    for table, version in sorted(committed_snapshot(spark, lake, tables).items()):
        if version is None:
            continue
        sizes = _file_sizes(spark, lake, table, version)
        at = _last_optimize(spark, lake, table, version)
        optimized = datetime.fromtimestamp(at, UTC) if at is not None else None
        found.append(
            TableUpkeep(
                table,
                version,
                len(sizes),
                sum(sizes),
                sum(size < SMALL_FILE_BYTES for size in sizes),
                optimized.isoformat(timespec="seconds") if optimized else None,
                (now - optimized).total_seconds() / 3600 if optimized else None,
            )
        )
    return found
