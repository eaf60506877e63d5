"""The run journal `_runs`: every stage's start and end, and the lake's lease, in one Delta table.

A stage that writes several tables appends `started` with every table's version before it
writes anything, commits its tables, then appends `committed` with the versions it committed:
that row is the stage's commit point. A stage that fails in Python rolls its own commits back and
appends `rolled_back`. A stage killed where Python cannot react (kill -9, the OOM killer, a lost
container) leaves `started` with no end: the next run that takes the lease rolls those tables back
to the recorded versions before doing anything else, says so in one line, and appends
`rolled_back` for it (`recover`).

Every commit to the journal is also one step of the lake's lease (core/lease.py), and carries
in its `userMetadata` the whole state of the lake as JSON: the lease (holder, expiry), the stages
still open with the versions they started from, and each table's last committed version. Steps
are numbered (`epoch`); commits are blind appends, totally ordered by the Delta log, whose
put-if-absent commit files give every commit its own version even when two processes commit at
once. The first commit of an epoch is that epoch's step; a later commit claiming the same epoch
lost a race and is void. So the state of the lake is the newest valid step, read from the last
commits' metadata alone, without reading the table; and recovery needs no scan either.
"""

from __future__ import annotations

import json
import logging
import os
import socket
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from delta.tables import DeltaTable
from pyspark.sql import Column, SparkSession
from pyspark.sql import functions as F

from pipelines.core import deltars, objectstore
from pipelines.core.contracts import JOURNAL_SCHEMA, arrow_schema
from pipelines.core.errors import LakeStateError
from pipelines.core.failpoints import failpoint
from pipelines.core.lake import delete_path, java_message, table_path, table_version

log = logging.getLogger(__name__)

JOURNAL_TABLE = "_runs"
LEASE_STAGE = "lease"
STARTED, COMMITTED, ROLLED_BACK = "started", "committed", "rolled_back"
ACQUIRED, RENEWED, RELEASED = "acquired", "renewed", "released"
NO_TABLE = -1
# A Delta checkpoint of the journal took 3.5 s on 2 cores against 0.3 s for a plain step: at
# Delta's default (every 10 commits) every second or third command paid it. Every 100 commits,
# about one command in 25 does; replaying up to 100 small commit files costs less than that.
JOURNAL_CHECKPOINT_INTERVAL = "100"


def journal_path(lake: str) -> str:
    return table_path(lake, JOURNAL_TABLE)


def utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


@dataclass(frozen=True)
class LakeState:
    """The lease and the committed snapshot, as of one journal step."""

    epoch: int = 0
    by: str | None = None  # "<run id>#<epoch>": who committed this step
    holder: str | None = None
    command: str | None = None
    host: str | None = None
    pid: int | None = None
    # when the holder's process started (core/lease.py: process_start), so that a pid reused by
    # another process after the holder died is not taken for the holder
    pid_start: str | None = None
    since: str | None = None
    expires: str | None = None
    # "<run id>/<stage>" -> {run_id, stage, command, host, pid, started, before: {table: v}}
    open: dict[str, dict[str, Any]] = field(default_factory=dict)
    # table -> the version the last committed stage that wrote it left
    committed: dict[str, int] = field(default_factory=dict)

    @property
    def expires_at(self) -> datetime | None:
        return datetime.fromisoformat(self.expires) if self.expires else None

    def held_by_other(self, run_id: str, now: datetime) -> bool:
        return self.holder not in (None, run_id) and (self.expires_at or now) > now

    def describe(self) -> str:
        return (
            f"run {self.holder} ({self.command}) on host {self.host}, pid {self.pid}, "
            f"since {(self.since or '?')[:19].replace('T', ' ')} UTC"
        )


# How many of the newest commits are read to find the newest valid step: more than the void
# commits a race can leave (one per losing contender).
STATE_WINDOW = 20


def read_state(spark: SparkSession, lake: str) -> LakeState | None:
    """The newest valid step's state; None for a lake with no journal. A local lake's journal
    is read by delta-rs (core/deltars.py), a remote one's by Spark."""
    if (root := deltars.local_root(lake)) is not None:
        return read_state_without_spark(root)
    path = journal_path(lake)
    if objectstore.journal_through_deltars(spark, lake):  # S3, conditional puts
        found = deltars.remote_history(
            objectstore.deltars_uri(path), STATE_WINDOW, objectstore.storage_options(spark)
        )
        return None if found is None else state_from_commits(path, found)
    if not DeltaTable.isDeltaTable(spark, path):
        return None
    commits = (
        DeltaTable.forPath(spark, path)
        .history(STATE_WINDOW)
        .select("version", "userMetadata")
        .collect()
    )
    return state_from_commits(path, [(c.version, c.userMetadata) for c in commits])


def read_state_without_spark(root: Path) -> LakeState | None:
    """The journal's newest valid step read by delta-rs from a local lake's folder, as
    read_state reads it through Spark."""
    commits = deltars.history(root / JOURNAL_TABLE, STATE_WINDOW)
    if commits is None:
        return None
    return state_from_commits(table_path(str(root), JOURNAL_TABLE), commits)


def state_from_commits(path: str, commits: list[tuple[int, str | None]]) -> LakeState | None:
    """The newest valid step among the journal's newest commits, (version, userMetadata) each:
    the first commit of the highest epoch. Shared by Spark's reader and delta-rs's
    (core/deltars.py), so both read the same state."""
    first_of_epoch: dict[int, tuple[int, LakeState]] = {}
    for version, metadata in commits:
        try:
            state = LakeState(**json.loads(metadata or "{}"))
        except (TypeError, ValueError) as exc:
            raise LakeStateError(
                f"the run journal {path} holds a state this version cannot read (commit {version})"
            ) from exc
        known = first_of_epoch.get(state.epoch)
        if known is None or version < known[0]:
            first_of_epoch[state.epoch] = (version, state)
    if not first_of_epoch:
        return None
    return first_of_epoch[max(first_of_epoch)][1]


def _map_items(values: dict[str, int] | None) -> list[tuple[str, int]] | None:
    return None if values is None else [(k, int(v)) for k, v in sorted(values.items())]


def _literal_map(values: dict[str, int] | None) -> Column:
    if values is None:
        return F.lit(None).cast("map<string,bigint>")
    if not values:
        return F.create_map().cast("map<string,bigint>")
    pairs = [c for k, v in sorted(values.items()) for c in (F.lit(k), F.lit(int(v)))]
    return F.create_map(*pairs).cast("map<string,bigint>")


def append_row(
    spark: SparkSession,
    lake: str,
    state: LakeState,
    run_id: str,
    stage: str,
    row_state: str,
    versions_before: dict[str, int] | None = None,
    versions_committed: dict[str, int] | None = None,
    detail: str | None = None,
) -> None:
    """Commit one journal row, a blind append whose metadata is the step's state (its epoch is
    the current one + 1): by delta-rs on a local lake, else by Spark, from literals (no Python
    rows to ship to the JVM). On S3 with conditional puts, by delta-rs too (core/objectstore.py)."""
    root = deltars.local_root(lake)
    remote = root is None and objectstore.journal_through_deltars(spark, lake)
    if root is not None or remote:
        row = {
            "run_id": run_id,
            "stage": stage,
            "command": state.command,
            "state": row_state,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "at": utc_now().replace(tzinfo=UTC),
            "versions_before": _map_items(versions_before),
            "versions_committed": _map_items(versions_committed),
            "detail": detail,
            "epoch": state.epoch,
            "expires_at": state.expires_at.replace(tzinfo=UTC) if state.expires_at else None,
        }
        deltars.append_row(
            root / JOURNAL_TABLE
            if root is not None
            else objectstore.deltars_uri(journal_path(lake)),
            row,
            arrow_schema(JOURNAL_SCHEMA),
            json.dumps(asdict(state), sort_keys=True),
            {"delta.checkpointInterval": JOURNAL_CHECKPOINT_INTERVAL},
            None if root is not None else objectstore.storage_options(spark),
        )
        failpoint(f"after_journal_{row_state}_{stage}")
        return
    values = {
        "run_id": F.lit(run_id),
        "stage": F.lit(stage),
        "command": F.lit(state.command),
        "state": F.lit(row_state),
        "host": F.lit(socket.gethostname()),
        "pid": F.lit(os.getpid()).cast("long"),
        "at": F.lit(utc_now()),
        "versions_before": _literal_map(versions_before),
        "versions_committed": _literal_map(versions_committed),
        "detail": F.lit(detail),
        "epoch": F.lit(state.epoch),
        "expires_at": F.lit(state.expires_at),
    }
    frame = spark.range(1).select(
        *[values[f.name].cast(f.dataType).alias(f.name) for f in JOURNAL_SCHEMA.fields]
    )
    (
        frame.write.format("delta")
        .mode("append")
        .option("userMetadata", json.dumps(asdict(state), sort_keys=True))
        .option("delta.checkpointInterval", JOURNAL_CHECKPOINT_INTERVAL)  # on creation
        .save(journal_path(lake))
    )
    failpoint(f"after_journal_{row_state}_{stage}")


# ---------------------------------------------------------------------------------------------
# Recovery
# ---------------------------------------------------------------------------------------------


def roll_back_tables(spark: SparkSession, lake: str, versions_before: dict[str, int]) -> list[str]:
    """Put each table back at its recorded version (or remove a table the run created).
    Returns the tables that changed. Refuses, naming the table, when a version is gone."""
    changed = []
    for table, version in sorted(versions_before.items()):
        path = table_path(lake, table)
        current = table_version(spark, path)
        if version == NO_TABLE:
            if current is not None:
                delete_path(spark, path)
                changed.append(table)
            continue
        if current is None:
            raise LakeStateError(
                f"table {table} of {lake} is gone, but the journal says it was at version "
                f"{version}: restore it from a backup, then run `a100m recover`"
            )
        if current == version:
            continue
        try:
            DeltaTable.forPath(spark, path).restoreToVersion(version)
        except Exception as exc:
            raise LakeStateError(
                f"cannot restore table {table} of {lake} to version {version}, which the "
                f"journal needs (removed by VACUUM?): {java_message(exc)}"
            ) from exc
        changed.append(table)
    return changed


def recovery_line(stage: dict[str, Any], changed: list[str]) -> str:
    return (
        f"recovered the lake: rolled back {stage['stage']} of run {stage['run_id']} "
        f"({stage.get('command') or '?'} on {stage.get('host')}, pid {stage.get('pid')}, "
        f"started {str(stage.get('started', '?'))[:19].replace('T', ' ')} UTC), which never "
        f"finished; tables restored: {', '.join(changed) or 'none'}"
    )


def committed_versions(
    spark: SparkSession, lake: str, tables: list[str] | tuple[str, ...]
) -> dict[str, int | None]:
    """Each table's version as the last committed stages left it: what readers should read.
    A table written by a stage still open reads as it was before that stage; a table no
    journaled stage wrote (a lake from before the journal) at its latest version."""
    return versions_to_read(
        read_state(spark, lake) or LakeState(),
        tables,
        lambda table: table_version(spark, table_path(lake, table)),
    )


def versions_to_read(
    state: LakeState,
    tables: list[str] | tuple[str, ...],
    latest_version: Callable[[str], int | None],
) -> dict[str, int | None]:
    """committed_versions from a journal state; latest_version(table) for tables it does not
    name."""
    before: dict[str, int] = {}
    for stage in sorted(state.open.values(), key=lambda s: s.get("started", "")):
        for table, version in stage["before"].items():
            before.setdefault(table, version)  # the oldest open stage's "before" wins
    result: dict[str, int | None] = {}
    for table in tables:
        if table in before:
            result[table] = None if before[table] == NO_TABLE else before[table]
        elif table in state.committed:
            result[table] = state.committed[table]
        else:
            result[table] = latest_version(table)
    return result


def outside_commit_note(table: str, committed: int, latest: int) -> str:
    """What a reader is told of a table's commits made outside the pipeline (outside_commits)."""
    return (
        f"table {table} has versions {committed + 1}..{latest} made outside the pipeline; a100m "
        f"reads version {committed} until one of its stages writes {table} (docs/operations.md)"
    )


def outside_commits(
    spark: SparkSession, lake: str, tables: list[str] | tuple[str, ...]
) -> dict[str, tuple[int, int]]:
    """table -> (committed, latest) for each table with commits that no journaled stage made
    and no open stage is making (a hand-run DELETE, another tool): readers do not see them."""
    return commits_outside(
        read_state(spark, lake) or LakeState(),
        tables,
        lambda table: table_version(spark, table_path(lake, table)),
    )


def commits_outside(
    state: LakeState,
    tables: list[str] | tuple[str, ...],
    latest_version: Callable[[str], int | None],
) -> dict[str, tuple[int, int]]:
    """outside_commits from a journal state; latest_version(table) gives each table's newest."""
    writing = {t for stage in state.open.values() for t in stage["before"]}
    found = {}
    for table in tables:
        committed = state.committed.get(table)
        if committed is None or table in writing:
            continue
        latest = latest_version(table)
        if latest is not None and latest > committed:
            found[table] = (committed, latest)
    return found


def snapshot_without_spark(
    lake: str,
) -> tuple[dict[str, int | None], dict[str, tuple[int, int]]] | None:
    """(committed version of each table, commits made outside the pipeline) of a local lake,
    read by delta-rs, as `a100m snapshot` prints them; None for a remote lake (ask Spark)."""
    root = deltars.local_root(lake)
    if root is None:
        return None
    tables = deltars.lake_tables(root, lake)
    state = read_state_without_spark(root) or LakeState()
    latest: dict[str, int | None] = {}

    def latest_version(table: str) -> int | None:
        if table not in latest:
            latest[table] = deltars.table_version(root / table)
        return latest[table]

    return versions_to_read(state, tables, latest_version), commits_outside(
        state, tables, latest_version
    )
