"""Runs: the id every writing command gets, the lease it holds on the lake while it works, and
the journaled write of each of its stages (docs/operations.md).

    with lake_run(spark, lake, run_id, "explode"):        # lease, then recovery of dead runs
        ...read what the stage needs...
        with journaled_write(spark, lake, run_id, "explode", TABLES) as write:
            write.append(...)                              # started row, commits, committed row

Both are re-entrant per lake within a process, so `a100m run` holds one lease for its stages,
and a stage called on its own (a test, a notebook) takes the lease itself.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from pyspark.sql import SparkSession

from pipelines.core import files, journal
from pipelines.core.errors import MissingTableError
from pipelines.core.lake import LakeWrite, check_lake_root, table_path, table_version
from pipelines.core.lease import PROTOCOL_CLOCK, Lease, hold_lake

log = logging.getLogger(__name__)


def new_run_id(now: datetime | None = None) -> str:
    """A sortable, unique run id: UTC time to the second, then 8 random hex digits."""
    now = now or datetime.now(UTC)
    return f"{now:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"


@contextmanager
def lake_run(
    spark: SparkSession,
    lake: str,
    run_id: str,
    command: str,
    wait_seconds: float = 0.0,
) -> Iterator[Lease]:
    """Hold the lake's lease for the block; on taking it, roll back what dead runs left."""

    def recover(lease: Lease) -> None:
        lease.recovered = lease.recover()
        for line in lease.recovered:
            print(line)

    with hold_lake(spark, lake, run_id, command, wait_seconds, on_acquired=recover) as lease:
        yield lease


@contextmanager
def journaled_write(
    spark: SparkSession, lake: str, run_id: str, stage: str, tables: Iterable[str]
) -> Iterator[LakeWrite]:
    """The stage's writes to the given tables land whole or not at all, even under kill -9."""
    tables = list(tables)
    with lake_run(spark, lake, run_id, stage) as lease:
        with PROTOCOL_CLOCK.timing():
            before = {t: table_version(spark, table_path(lake, t)) for t in tables}
        lease.begin_stage(stage, before)
        write = LakeWrite(spark, lake, run_id, stage)
        try:
            yield write
            lease.check_held()
        except BaseException as exc:
            write.roll_back()
            lease.end_stage(stage, None, detail=f"{type(exc).__name__}: {exc}"[:300])
            raise
        lease.end_stage(stage, dict(write.written))


def committed_snapshot(
    spark: SparkSession, lake: str, tables: Iterable[str]
) -> dict[str, int | None]:
    """The version of each table that the last committed stages left (core/journal.py)."""
    return journal.committed_versions(spark, lake, tuple(tables))


def lake_tables(spark: SparkSession, lake: str) -> list[str]:
    """The Delta tables under the lake root (the journal and lease included), by name."""
    check_lake_root(spark, lake)
    root = table_path(lake, "").rstrip("/")
    if not files.exists(spark, root):
        raise MissingTableError(lake, ["videos"])
    return sorted(
        entry.name
        for entry in files.list_folder(spark, root)
        if entry.is_dir and files.exists(spark, f"{entry.uri}/_delta_log")
    )
