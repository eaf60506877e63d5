"""`a100m optimize`: compact every table, cluster nodes, transcripts and actions on video_uid,
turn the change data feed on where it is off, and optionally VACUUM.

The rewrite runs as one journaled stage (core/runs.py): the versions before are in the run
journal before the first OPTIMIZE commits, so an optimize killed half way is rolled back by the
next run like any other stage (RESTORE; the rows are the same either way). VACUUM runs after the
stage committed, under the same lease, and never removes a file that a version the journal
still needs (the committed snapshot, an open stage's starting point) reads.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

from delta.tables import DeltaTable
from pyspark.sql import SparkSession

from pipelines.core import files, journal
from pipelines.core.errors import MissingTableError, UsageError
from pipelines.core.failpoints import failpoint
from pipelines.core.lake import table_path, table_version
from pipelines.core.runs import committed_snapshot, journaled_write, lake_run
from pipelines.lakeops.catalog import Registration
from pipelines.lakeops.layout import (
    CDF_PROPERTY,
    CLUSTER_COLUMN,
    CLUSTERED_TABLES,
    TableLayout,
    data_tables,
    format_bytes,
    table_layout,
)

STAGE = "optimize"
# Measured by benchmarks/lakeops.py (docs/lakeops.md): both read one video from one file after
# optimize; Z-order keeps the tables readable and writable by every Delta engine (no writer
# features), so it is the default. "liquid" is kept for lakes that prefer incremental clustering.
LAYOUTS = ("zorder", "liquid")
DEFAULT_LAYOUT = "zorder"
DEFAULT_RETENTION_HOURS = 7 * 24
# OPTIMIZE's target file size (Delta's default is 1 GB). One file per table makes reading one
# video decompress a whole 128 MB row group; files of this size keep a video in one small file
# (benchmarks/lakeops.py).
MAX_FILE_SIZE = "spark.databricks.delta.optimize.maxFileSize"
CLUSTERED_FILE_BYTES = 32 * 1024 * 1024
# Slack on top of a needed version's age: a rewrite stamps the files it removes with the time
# it started, which can be before the commit it made.
VERSION_MARGIN_HOURS = 1.0


@dataclass
class TableResult:
    table: str
    before: TableLayout
    after: TableLayout
    version: int | None
    seconds: float
    action: str


@dataclass
class VacuumResult:
    table: str
    retention_hours: float
    kept_version: int | None
    files_removed: int
    bytes_removed: int


@dataclass
class OptimizeResult:
    run_id: str
    lake: str
    layout: str
    tables: list[TableResult] = field(default_factory=list)
    vacuumed: list[VacuumResult] = field(default_factory=list)
    seconds: float = 0.0
    registration: Registration | None = None  # the catalog's, when the settings name one

    def summary(self) -> str:
        lines = [
            f"optimize run {self.run_id} on {self.lake} ({self.layout}) in {self.seconds:.1f} s"
        ]
        for t in self.tables:
            version = f"-> version {t.version}" if t.version is not None else "unchanged"
            lines.append(
                f"  {t.table:<18} {t.before.files:>5} -> {t.after.files:>4} files, "
                f"{format_bytes(t.before.bytes):>9} -> {format_bytes(t.after.bytes):>9}  "
                f"{version}  {t.action} ({t.seconds:.1f} s)"
            )
        for v in self.vacuumed:
            kept = f", kept version {v.kept_version}" if v.kept_version is not None else ""
            lines.append(
                f"  vacuum {v.table:<11} retention {v.retention_hours:.2f} h{kept}: "
                f"{v.files_removed} files ({format_bytes(v.bytes_removed)}) removed"
            )
        return "\n".join(lines)


def optimize_lake(
    spark: SparkSession,
    lake: str,
    run_id: str,
    layout: str = DEFAULT_LAYOUT,
    vacuum: bool = False,
    retention_hours: float | None = None,
    wait_seconds: float = 0.0,
) -> OptimizeResult:
    """Compact and cluster every table in one journaled stage, then VACUUM if asked."""
    if layout not in LAYOUTS:
        raise UsageError(f"layout {layout!r} is not one of {', '.join(LAYOUTS)}")
    if retention_hours is not None and (math.isnan(retention_hours) or retention_hours < 0):
        raise UsageError.about("retention_hours", "must be 0 or more", retention_hours)
    started = time.monotonic()
    result = OptimizeResult(run_id, lake, layout)
    with lake_run(spark, lake, run_id, STAGE, wait_seconds):
        tables = data_tables(spark, lake)
        if not tables:
            raise MissingTableError(lake, ["videos"])
        if vacuum:  # refuse a too-short retention before anything is rewritten
            plan_vacuum(spark, lake, tables, retention_hours)
        with journaled_write(spark, lake, run_id, STAGE, tables) as write:
            for table in tables:
                path = table_path(lake, table)
                previous = table_version(spark, path)
                write.before.setdefault(table, previous)
                result.tables.append(_optimize_table(spark, lake, table, layout))
                current = table_version(spark, path)
                if current != previous:
                    write.written[table] = current
                    result.tables[-1].version = current
                failpoint(f"after_commit_{STAGE}_{table}")
        if vacuum:
            # VACUUM logs its start and end as commits: journaled, so that readers and
            # `a100m snapshot` take them as the pipeline's own, not as outside edits.
            with journaled_write(spark, lake, run_id, "vacuum", tables) as write:
                before = {t: table_version(spark, table_path(lake, t)) for t in tables}
                result.vacuumed = vacuum_lake(spark, lake, tables, retention_hours)
                for table, version in before.items():
                    write.before.setdefault(table, version)
                    current = table_version(spark, table_path(lake, table))
                    if current != version:
                        write.written[table] = current
    result.seconds = time.monotonic() - started
    return result


def _optimize_table(spark: SparkSession, lake: str, table: str, layout: str) -> TableResult:
    started = time.monotonic()
    path = table_path(lake, table)
    before = table_layout(spark, lake, table)
    target = f"delta.`{path}`"
    actions = []
    if not before.cdf:
        spark.sql(f"ALTER TABLE {target} SET TBLPROPERTIES ({CDF_PROPERTY} = true)")
        actions.append("change data feed on")
    with _session_conf(spark, MAX_FILE_SIZE, str(CLUSTERED_FILE_BYTES)):
        actions += _rewrite(spark, table, target, before, layout)
    after = table_layout(spark, lake, table)
    return TableResult(table, before, after, None, time.monotonic() - started, ", ".join(actions))


def _rewrite(
    spark: SparkSession, table: str, target: str, before: TableLayout, layout: str
) -> list[str]:
    actions = []
    path = target[len("delta.`") : -1]
    if table in CLUSTERED_TABLES and layout == "liquid":
        full = ""
        if before.clustering != (CLUSTER_COLUMN,):
            spark.sql(f"ALTER TABLE {target} CLUSTER BY ({CLUSTER_COLUMN})")
            full = " FULL"  # recluster what an earlier layout wrote
        spark.sql(f"OPTIMIZE {target}{full}")
        actions.append(f"liquid clustering on {CLUSTER_COLUMN}")
    elif table in CLUSTERED_TABLES:
        if before.clustering:
            spark.sql(f"ALTER TABLE {target} CLUSTER BY NONE")
        if not _zordered(spark, path):  # nothing appended since the last Z-order: done
            spark.sql(f"OPTIMIZE {target} ZORDER BY ({CLUSTER_COLUMN})")
        actions.append(f"Z-order on {CLUSTER_COLUMN}")
    else:
        spark.sql(f"OPTIMIZE {target}")
        actions.append("compaction")
    return actions


def _zordered(spark: SparkSession, path: str) -> bool:
    """True when the table's single file was written by a Z-order OPTIMIZE since its last
    data change (Delta would rewrite it again, for nothing)."""
    for row in DeltaTable.forPath(spark, path).history(20).collect():
        if row["operation"] == "OPTIMIZE":
            return CLUSTER_COLUMN in ((row["operationParameters"] or {}).get("zOrderBy") or "")
        if row["operation"] not in ("SET TBLPROPERTIES", "VACUUM START", "VACUUM END"):
            return False
    return False


# ---------------------------------------------------------------------------------------------
# VACUUM
# ---------------------------------------------------------------------------------------------

_INTERVAL = re.compile(r"^\s*(?:interval\s+)?(\d+(?:\.\d+)?)\s*([a-z]+)\s*$", re.IGNORECASE)
_UNIT_HOURS = {
    "week": 168.0,
    "day": 24.0,
    "hour": 1.0,
    "minute": 1 / 60,
    "second": 1 / 3600,
    "millisecond": 1 / 3_600_000,
}


def safety_hours(layout: TableLayout) -> float:
    """The shortest retention Delta's safety check allows for the table: its
    delta.deletedFileRetentionDuration (Delta's default: one week)."""
    text = layout.properties.get("delta.deletedFileRetentionDuration", "interval 1 week")
    match = _INTERVAL.match(text)
    unit = match.group(2).lower().rstrip("s") if match else ""
    if not match or unit not in _UNIT_HOURS:
        return float(DEFAULT_RETENTION_HOURS)
    return float(match.group(1)) * _UNIT_HOURS[unit]


def plan_vacuum(
    spark: SparkSession, lake: str, tables: list[str], retention_hours: float | None
) -> dict[str, float]:
    """Each table's retention: the one asked for (default 7 days, or the table's own safety
    limit when longer); a retention below a table's safety limit is refused in one line."""
    plan = {}
    for table in tables:
        limit = safety_hours(table_layout(spark, lake, table))
        if retention_hours is None:
            plan[table] = max(float(DEFAULT_RETENTION_HOURS), limit)
        elif retention_hours < limit:
            raise UsageError.naming(
                "retention {hours} h is below what Delta's safety check allows for table "
                "{table} ({limit} h, its delta.deletedFileRetentionDuration): give "
                "{retention_hours=LEAST} or more; nothing was vacuumed",
                hours=f"{retention_hours:g}",
                table=table,
                limit=f"{limit:g}",
                LEAST=math.ceil(limit),
            )
        else:
            plan[table] = float(retention_hours)
    return plan


def needed_versions(spark: SparkSession, lake: str, tables: list[str]) -> dict[str, int]:
    """The oldest version of each table the run journal still needs: the committed snapshot
    readers are told to read, and the version each open stage would be rolled back to."""
    needed = {t: v for t, v in committed_snapshot(spark, lake, tables).items() if v is not None}
    state = journal.read_state(spark, lake)
    for stage in (state.open if state else {}).values():
        for table, version in stage.get("before", {}).items():
            if table in tables and version != journal.NO_TABLE:
                needed[table] = min(needed.get(table, version), version)
    return needed


def _hours_since(spark: SparkSession, path: str, version: int) -> float:
    row = (
        DeltaTable.forPath(spark, path)
        .history()
        .where(f"version = {int(version)}")
        .select("timestamp")
        .first()
    )
    if row is None:  # the commit is gone from the log: keep everything there is
        return float("inf")
    stamp = row["timestamp"].replace(tzinfo=UTC)
    return (datetime.now(UTC) - stamp).total_seconds() / 3600


def vacuum_lake(
    spark: SparkSession,
    lake: str,
    tables: list[str],
    retention_hours: float | None = None,
    margin_hours: float = VERSION_MARGIN_HOURS,
) -> list[VacuumResult]:
    """VACUUM each table with a retention long enough for every version the journal needs
    (its age plus margin_hours). Run it holding the lake's lease (`lake_run`)."""
    plan = plan_vacuum(spark, lake, tables, retention_hours)
    needed = needed_versions(spark, lake, tables)
    results = []
    for table in tables:
        path = table_path(lake, table)
        hours = plan[table]
        kept = needed.get(table)
        if kept is not None and kept < (table_version(spark, path) or 0):
            age = _hours_since(spark, path, kept) + margin_hours
            if age > hours:
                hours = age if math.isfinite(age) else None
        else:
            kept = None
        if hours is None:
            results.append(VacuumResult(table, float("inf"), kept, 0, 0))
            continue
        # Delta rounds the retention to whole hours (half up): round up ourselves, so that
        # neither the safety limit nor a needed version's age is ever cut short
        hours = math.ceil(hours)
        files_before, bytes_before = _data_files(spark, path)
        with _session_conf(spark, RETENTION_WINDOW_IGNORE, "false"):
            DeltaTable.forPath(spark, path).vacuum(float(hours))
        files_after, bytes_after = _data_files(spark, path)
        results.append(
            VacuumResult(
                table, float(hours), kept, files_before - files_after, bytes_before - bytes_after
            )
        )
    return results


# Delta 4.4 ignores VACUUM's retention argument (other than 0) unless this is off, and uses the
# table's delta.deletedFileRetentionDuration instead: that would drop the longer retention a
# needed version gets. Delta's own safety check still applies to the retention given.
RETENTION_WINDOW_IGNORE = "spark.databricks.delta.vacuum.retentionWindowIgnore.enabled"


@contextmanager
def _session_conf(spark: SparkSession, key: str, value: str) -> Iterator[None]:
    """Set a Spark SQL property for the block only."""
    previous = spark.conf.get(key, None)
    spark.conf.set(key, value)
    try:
        yield
    finally:
        if previous is None:
            spark.conf.unset(key)
        else:
            spark.conf.set(key, previous)


def _data_files(spark: SparkSession, path: str) -> tuple[int, int]:
    """Data files on disk under the table's folder (the log excluded), and their bytes."""
    data = [
        status
        for status in files.list_files(spark, path)
        if "/_delta_log/" not in status.uri and not status.name.startswith((".", "_"))
    ]
    return len(data), sum(status.size_bytes for status in data)
