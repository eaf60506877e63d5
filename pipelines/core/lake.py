"""The Delta lake: where each table lives, and writes that all land or none does."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from delta.tables import DeltaTable
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import types as T

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


def table_version(spark: SparkSession, path: str) -> int | None:
    """The current version of the Delta table at path, or None when there is none."""
    if not DeltaTable.isDeltaTable(spark, path):
        return None
    return int(DeltaTable.forPath(spark, path).history(1).select("version").first()[0])


def read_table(spark: SparkSession, lake: str, table: str, version: int | None = None) -> DataFrame:
    reader = spark.read.format("delta")
    if version is not None:
        reader = reader.option("versionAsOf", version)
    return reader.load(table_path(lake, table))


def ensure_table(spark: SparkSession, path: str, schema: T.StructType) -> None:
    """Create the table with the contract's schema (NOT NULL columns enforced by Delta)."""
    DeltaTable.createIfNotExists(spark).location(path).addColumns(schema).execute()


@dataclass
class LakeWrite:
    """The tables one run changes, with their versions before it started."""

    spark: SparkSession
    lake: str
    run_id: str
    before: dict[str, int | None] = field(default_factory=dict)
    written: dict[str, int] = field(default_factory=dict)

    def append(self, table: str, df: DataFrame, schema: T.StructType) -> tuple[int, int]:
        """Append df to the table (created on first use); return (version, rows added)."""
        return self._write(table, df, schema, "append")

    def overwrite(self, table: str, df: DataFrame, schema: T.StructType) -> tuple[int, int]:
        """Replace the table's rows with df (a new version; older ones stay readable)."""
        return self._write(table, df, schema, "overwrite")

    def _write(self, table: str, df: DataFrame, schema: T.StructType, mode: str) -> tuple[int, int]:
        started = time.monotonic()
        path = table_path(self.lake, table)
        previous = table_version(self.spark, path)
        self.before.setdefault(table, previous)
        if previous is None:
            ensure_table(self.spark, path, schema)
            previous = table_version(self.spark, path)
        df.write.format("delta").mode(mode).option("userMetadata", self.run_id).save(path)
        last = DeltaTable.forPath(self.spark, path).history(1).first()
        log.info("%s %s: %.1f s", mode, table, time.monotonic() - started)
        if last["version"] == previous:  # Delta makes no commit for an empty append
            return previous, 0
        self.written[table] = int(last["version"])
        return int(last["version"]), int((last["operationMetrics"] or {}).get("numOutputRows", 0))

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
        last = target.history(1).first()
        if last["version"] == previous:
            return previous, 0
        self.written[table] = int(last["version"])
        return int(last["version"]), int(
            (last["operationMetrics"] or {}).get("numTargetRowsDeleted", 0)
        )

    def roll_back(self) -> None:
        """Put every touched table back as it was: RESTORE, or remove a table this run created."""
        for table, version in self.before.items():
            path = table_path(self.lake, table)
            try:
                if version is None:
                    _delete_path(self.spark, path)
                elif table_version(self.spark, path) != version:
                    DeltaTable.forPath(self.spark, path).restoreToVersion(version)
            except Exception:  # keep restoring the others; the original error is re-raised
                log.exception("could not roll back table %s to version %s", table, version)


@contextmanager
def lake_write(spark: SparkSession, lake: str, run_id: str) -> Iterator[LakeWrite]:
    """All appends made through the yielded LakeWrite land, or none of them stays."""
    write = LakeWrite(spark, lake, run_id)
    try:
        yield write
    except BaseException:
        write.roll_back()
        raise


def _delete_path(spark: SparkSession, path: str) -> None:
    jvm = spark.sparkContext._jvm
    hadoop_path = jvm.org.apache.hadoop.fs.Path(path)
    fs = hadoop_path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())
    if fs.exists(hadoop_path):
        fs.delete(hadoop_path, True)
