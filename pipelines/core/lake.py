"""The Delta lake: where each table lives, how it is read, and the writes of one stage.

A LakeWrite makes a stage's table commits and can undo them. No commit is ever retried (a run
id writes each table of a stage once), so commits carry no txnAppId: Delta would look the id up
in the table's whole state first, 2-3 s a commit on 2 cores. The journal and the lease around it (core/journal.py, core/lease.py, core/runs.py) make a stage land
whole even when the process is killed between two commits.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from delta.tables import DeltaTable
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import types as T

from pipelines.core import deltars, files
from pipelines.core.contracts import arrow_schema
from pipelines.core.errors import LakeStateError, UsageError, lake_state_problem
from pipelines.core.failpoints import failpoint
from pipelines.core.timings import phase

log = logging.getLogger(__name__)


def table_path(lake: str, table: str) -> str:
    """The table's folder; a local lake given as a relative path is made absolute (Delta's
    table builder takes a relative location for a table name)."""
    if "://" not in lake and not lake.startswith("file:"):
        lake = os.path.abspath(lake)
    return f"{lake.rstrip('/')}/{table}"


def write_text_atomic(path: str | Path, text: str) -> Path:
    """Write a local file whole: a reader never sees half of it, a crash leaves the old one."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return target


def check_writable_folder(folder: str) -> None:
    """Refuse, before anything is written, a local output folder that cannot be written."""
    if "://" in folder:
        return  # an object store or HDFS path: its writer reports its own errors
    path = Path(folder)
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / f".a100m-write-check-{os.getpid()}"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise UsageError(f"folder {folder} cannot be written: {exc.strerror or exc}") from exc


def table_version(spark: SparkSession, path: str) -> int | None:
    """The current version of the Delta table at path, or None when there is none: read from
    the log by delta-rs on a local lake (milliseconds, no Spark job), else by Spark."""
    if (commit := _last_commit_without_spark(path)) is not None:
        return None if commit == _NO_TABLE else commit[0]
    if not DeltaTable.isDeltaTable(spark, path):
        return None
    newest = DeltaTable.forPath(spark, path).history(1).select("version").first()
    assert newest is not None  # a Delta table's history holds at least its version 0
    return int(newest[0])


_NO_TABLE: tuple[int, dict[str, Any]] = (-1, {})


def _delta_rs_root(path: str) -> Path | None:
    """The table's local folder when delta-rs may write it (a local path), else None."""
    return deltars.local_root(path)


def _python_rows(rows: list[tuple[Any, ...]], schema: T.StructType) -> list[dict[str, Any]]:
    """Rows as createDataFrame takes them, as dicts for pyarrow. A naive datetime is local
    time, as Spark reads it; pyarrow would read it as UTC, so it is made aware first."""
    names = schema.names
    stamps = {f.name for f in schema.fields if isinstance(f.dataType, T.TimestampType)}
    out = []
    for row in rows:
        values = dict(zip(names, row, strict=True))
        for name in stamps:
            value = values[name]
            if value is not None and value.tzinfo is None:
                values[name] = value.astimezone()
        out.append(values)
    return out


def _last_commit_without_spark(path: str) -> tuple[int, dict[str, Any]] | None:
    """(version, operation metrics) of a local table's last commit by delta-rs; (-1, {}) where
    there is no table; None where delta-rs cannot say (a remote path, a feature it does not
    read): then Spark is asked."""
    root = deltars.local_root(path)
    if root is None:
        return None
    if not (root / "_delta_log").is_dir():
        return _NO_TABLE
    try:
        return deltars.last_commit(root)
    except Exception as exc:  # Spark reads every table it wrote; delta-rs nearly every one
        log.info("delta-rs could not read %s, asking Spark: %s", path, exc)
        return None


def read_table(spark: SparkSession, lake: str, table: str, version: int | None = None) -> DataFrame:
    """The table, at the given version (time travel) or its latest."""
    reader = spark.read.format("delta")
    if version is not None:
        reader = reader.option("versionAsOf", version)
    try:
        return reader.load(table_path(lake, table))
    except Exception as exc:
        if (problem := lake_state_problem(exc)) is not None:
            raise LakeStateError(f"table {table}: {problem}") from exc
        if version is None:
            raise
        raise LakeStateError(
            f"cannot read table {table} of {lake} at version {version}: {java_message(exc)}"
        ) from exc


def java_message(exc: BaseException) -> str:
    """The JVM exception's own message from a Py4J or captured Spark error, on one line."""
    for line in str(exc).splitlines():
        if "Exception:" in line or "Error:" in line:
            return line.split(": ", 1)[-1].strip()[:300]
    return str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__


def check_lake_root(spark: SparkSession, lake: str) -> None:
    """Refuse, in one line, a lake root that is a regular file."""
    root = files.status(spark, table_path(lake, "").rstrip("/"))
    if root is not None and not root.is_dir:
        raise LakeStateError(f"lake {lake} is a file, not a folder: give the lake's folder")


def ensure_table(spark: SparkSession, path: str, schema: T.StructType) -> None:
    """Create the table with the contract's schema (NOT NULL columns enforced by Delta), with
    its change data feed on, so readers can take only what changed since a version."""
    (
        DeltaTable.createIfNotExists(spark)
        .location(path)
        .addColumns(schema)
        .property("delta.enableChangeDataFeed", "true")
        .execute()
    )


@dataclass
class LakeWrite:
    """The tables one run changes, with their versions before it started."""

    spark: SparkSession
    lake: str
    run_id: str
    stage: str = "write"
    before: dict[str, int | None] = field(default_factory=dict)
    written: dict[str, int] = field(default_factory=dict)

    def append(self, table: str, df: DataFrame, schema: T.StructType) -> tuple[int, int]:
        """Append df to the table (created on first use); return (version, rows added)."""
        return self._write(table, df, schema, "append")

    def append_rows(
        self, table: str, rows: list[tuple[Any, ...]], schema: T.StructType
    ) -> tuple[int, int]:
        """Append a few rows built in Python (statistics, check results, the ingest log): on a
        local lake committed by delta-rs, with no Spark job (a commit of milliseconds where
        Spark's is seconds); elsewhere as a DataFrame through Spark. Same table, same commit
        metadata, either way; returns (version, rows added)."""
        path = table_path(self.lake, table)
        root = _delta_rs_root(path)
        if root is None or not rows:
            return self.append(table, self.spark.createDataFrame(rows, schema), schema)
        with phase("table_writes"):
            started = time.monotonic()
            previous = table_version(self.spark, path)
            self.before.setdefault(table, previous)
            if previous is None:
                ensure_table(self.spark, path, schema)
            deltars.append_rows(root, _python_rows(rows, schema), arrow_schema(schema), self.run_id)
            version, _ = self._last_commit(path)
            log.info("append %s: %.1f s (delta-rs)", table, time.monotonic() - started)
            failpoint(f"after_commit_{self.stage}_{table}")
            self.written[table] = version
            return version, len(rows)

    def overwrite(
        self, table: str, df: DataFrame, schema: T.StructType, replace_where: str | None = None
    ) -> tuple[int, int]:
        """Replace the table's rows with df (a new version; older ones stay readable); with
        replace_where, only the rows matching that predicate, in the same one commit."""
        return self._write(table, df, schema, "overwrite", replace_where)

    def _write(
        self,
        table: str,
        df: DataFrame,
        schema: T.StructType,
        mode: str,
        replace_where: str | None = None,
    ) -> tuple[int, int]:
        with phase("table_writes"):
            return self._timed_write(table, df, schema, mode, replace_where)

    def _timed_write(
        self,
        table: str,
        df: DataFrame,
        schema: T.StructType,
        mode: str,
        replace_where: str | None,
    ) -> tuple[int, int]:
        started = time.monotonic()
        path = table_path(self.lake, table)
        previous = table_version(self.spark, path)
        self.before.setdefault(table, previous)
        if previous is None:
            ensure_table(self.spark, path, schema)
            previous = table_version(self.spark, path)
        writer = df.write.format("delta").mode(mode)
        if replace_where is not None:
            writer = writer.option("replaceWhere", replace_where)
        try:
            writer.option("userMetadata", self.run_id).save(path)
        except Exception as exc:
            if (problem := contract_mismatch(self.spark, path, table, schema)) is not None:
                raise LakeStateError(problem) from exc
            raise
        version, metrics = self._last_commit(path)
        log.info("%s %s: %.1f s", mode, table, time.monotonic() - started)
        failpoint(f"after_commit_{self.stage}_{table}")
        if version == previous:  # Delta makes no commit for an empty append
            return previous, 0
        self.written[table] = version
        return version, int(metrics.get("numOutputRows", 0))

    def _last_commit(self, path: str) -> tuple[int, dict[str, Any]]:
        """(version, operation metrics) of the table's newest commit."""
        if (commit := _last_commit_without_spark(path)) not in (None, _NO_TABLE):
            return commit
        last = DeltaTable.forPath(self.spark, path).history(1).first()
        assert last is not None  # the table exists: its history holds at least its version 0
        return int(last["version"]), dict(last["operationMetrics"] or {})

    def delete_videos(self, table: str, video_uids: DataFrame) -> tuple[int, int]:
        """Delete every row of the given videos from the table; return (version, rows deleted)."""
        path = table_path(self.lake, table)
        previous = table_version(self.spark, path)
        if previous is None:
            return -1, 0
        self.before.setdefault(table, previous)
        target = DeltaTable.forPath(self.spark, path)
        (
            target.alias("t")
            .merge(video_uids.distinct().alias("s"), "t.video_uid = s.video_uid")
            .whenMatchedDelete()
            .execute()
        )
        version, metrics = self._last_commit(path)
        failpoint(f"after_commit_{self.stage}_{table}")
        if version == previous:
            return previous, 0
        self.written[table] = version
        return version, int(metrics.get("numTargetRowsDeleted", 0))

    def roll_back(self) -> None:
        """Undo this run's own commits: RESTORE each touched table, or remove a table this run
        created. A table someone else committed to since is left alone (and logged): rolling
        back must never erase another run's rows."""
        for table, version in self.before.items():
            path = table_path(self.lake, table)
            try:
                current = table_version(self.spark, path)
                if current is not None and current != self.written.get(table, current):
                    log.error(
                        "not rolling back %s: version %s is not this run's last commit %s",
                        table,
                        current,
                        self.written.get(table),
                    )
                elif version is None:
                    delete_path(self.spark, path)
                elif current != version:
                    DeltaTable.forPath(self.spark, path).restoreToVersion(version)
            except Exception:  # keep restoring the others; the original error is re-raised
                log.exception("could not roll back table %s to version %s", table, version)


def contract_mismatch(
    spark: SparkSession, path: str, table: str, schema: T.StructType
) -> str | None:
    """One line when the stored table's columns are not the contract's (a lake written by
    another version of a100m), else None."""
    stored = spark.read.format("delta").load(path).schema.names
    missing = [c for c in schema.names if c not in stored]
    extra = [c for c in stored if c not in schema.names]
    if not missing and not extra:
        return None
    return (
        f"table {table} at {path} was written by another version of a100m (columns missing: "
        f"{', '.join(missing) or 'none'}; unknown: {', '.join(extra) or 'none'}): explode the "
        "raw files into a new lake"
    )


def delete_path(spark: SparkSession, path: str) -> None:
    """Remove a folder (a table this run created) and everything in it, if it is there."""
    files.delete(spark, path)
