"""The run journal and table versions through delta-rs (the `deltalake` package), without a JVM.

On a local lake (a path or a file: URI) the journal's steps (core/journal.py, core/lease.py) are
committed and read here: each is a one-row blind append of a few milliseconds, where the same
commit through Spark is a Spark job and a Delta commit of a second or more, and a renewal never
waits for a task slot. `a100m snapshot` reads the lake's state here without starting Spark. The
state is computed by the same functions as Spark's reader, from the same commits; delta-rs's
commits are put-if-absent on a local file system, as Spark's are.

For a lake on HDFS or an object store, local_root is None and the callers use Spark, whose file
systems and credentials the settings configure; except on S3 with `object_store_commits:
conditional_put`, where the journal's steps are committed here too, with put-if-absent commit
files (core/objectstore.py).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pipelines.core.errors import LakeStateError, MissingTableError


def local_root(lake: str) -> Path | None:
    """The lake's folder on this machine's file system, or None for a remote lake."""
    if lake.startswith("file://"):
        return Path(lake.removeprefix("file://"))
    if lake.startswith("file:"):
        return Path(lake.removeprefix("file:"))
    if "://" in lake:
        return None
    return Path(os.path.abspath(lake))


def table_version(folder: Path) -> int | None:
    """The table's latest version, or None where there is no Delta table."""
    if not (folder / "_delta_log").is_dir():
        return None
    from deltalake import DeltaTable
    from deltalake.exceptions import TableNotFoundError

    try:
        return DeltaTable(str(folder)).version()
    except TableNotFoundError:
        return None


def history(folder: Path, limit: int) -> list[tuple[int, str | None]] | None:
    """(version, userMetadata) of the table's newest commits, newest first; None for no table."""
    if not (folder / "_delta_log").is_dir():
        return None
    from deltalake import DeltaTable
    from deltalake.exceptions import TableNotFoundError

    try:
        commits = DeltaTable(str(folder)).history(limit)
    except TableNotFoundError:
        return None
    return [(int(c["version"]), c.get("userMetadata")) for c in commits]


def last_commit(folder: Path) -> tuple[int, dict[str, Any]]:
    """(version, operation metrics) of the table's newest commit."""
    from deltalake import DeltaTable

    table = DeltaTable(str(folder))
    [commit] = table.history(1)
    return int(commit["version"]), dict(commit.get("operationMetrics") or {})


def logged_files(folder: Path) -> set[tuple[str, int, int | None]]:
    """(source_file, size_bytes, modified_at in ms since the epoch) of every row of the ingest
    log, as ingest.stage.logged_files reads them through Spark (unix_millis truncates)."""
    import pyarrow as pa
    from deltalake import DeltaTable

    table = DeltaTable(str(folder)).to_pyarrow_table(
        columns=["source_file", "size_bytes", "modified_at"]
    )
    stamps = table["modified_at"].cast(pa.timestamp("us", "UTC")).cast(pa.int64()).to_pylist()
    millis: list[int | None] = [None if us is None else us // 1000 for us in stamps]
    return set(
        zip(table["source_file"].to_pylist(), table["size_bytes"].to_pylist(), millis, strict=True)
    )


def append_rows(folder: Path, rows: list[dict[str, Any]], schema: Any, user_metadata: str) -> None:
    """Commit rows to an existing table (a blind append) with userMetadata."""
    import pyarrow as pa
    from deltalake import CommitProperties, write_deltalake

    write_deltalake(
        str(folder),
        pa.Table.from_pylist(rows, schema=schema),
        mode="append",
        commit_properties=CommitProperties(custom_metadata={"userMetadata": user_metadata}),
    )


def append_row(
    folder: Path | str,
    row: dict[str, Any],
    schema: Any,
    user_metadata: str,
    configuration: dict[str, str],
    storage_options: dict[str, str] | None = None,
) -> None:
    """Commit one row (a blind append) with userMetadata; configuration applies when the
    commit creates the table. schema: the table's pyarrow schema. folder: a local folder, or
    an s3:// URI with its storage_options (core/objectstore.py)."""
    import pyarrow as pa
    from deltalake import CommitProperties, write_deltalake

    write_deltalake(
        str(folder),
        pa.Table.from_pylist([row], schema=schema),
        mode="append",
        configuration=configuration,
        commit_properties=CommitProperties(custom_metadata={"userMetadata": user_metadata}),
        storage_options=storage_options,
    )


def remote_history(
    uri: str, limit: int, storage_options: dict[str, str]
) -> list[tuple[int, str | None]] | None:
    """history() of a table on an object store (an s3:// URI); None where there is none."""
    from deltalake import DeltaTable
    from deltalake.exceptions import TableNotFoundError

    try:
        commits = DeltaTable(uri, storage_options=storage_options).history(limit)
    except TableNotFoundError:
        return None
    return [(int(c["version"]), c.get("userMetadata")) for c in commits]


def lake_tables(root: Path, lake: str) -> list[str]:
    """The Delta tables under the lake root, by name (runs.lake_tables without Spark)."""
    if root.exists() and not root.is_dir():
        raise LakeStateError(f"lake {lake} is a file, not a folder: give the lake's folder")
    if not root.is_dir():
        raise MissingTableError(lake, ["videos"])
    return sorted(
        entry.name
        for entry in os.scandir(root)
        if entry.is_dir() and os.path.isdir(os.path.join(entry.path, "_delta_log"))
    )


def data_file_sizes(folder: Path, version: int) -> list[int]:
    """The size of every data file the table's version reads, from its Delta log (no data
    read): what Spark's inputFiles of that version lists, sized as the log records them."""
    from deltalake import DeltaTable

    actions = DeltaTable(str(folder), version=version).get_add_actions(flatten=True)
    return [int(size) for size in actions.column("size_bytes").to_pylist()]


def last_commit_time(folder: Path, operation: str, at_most: int) -> float | None:
    """Epoch seconds of the table's newest commit of operation (OPTIMIZE, ...) at or below
    version at_most, from its commit history; None when there is none."""
    from deltalake import DeltaTable

    times = [
        int(commit["timestamp"]) / 1000
        for commit in DeltaTable(str(folder)).history()
        if commit.get("operation") == operation and int(commit["version"]) <= at_most
    ]
    return max(times, default=None)
