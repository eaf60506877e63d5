"""Lake operations on real Spark, Delta and Spark Connect: optimize keeps every row and reads a
video from fewer files, a killed optimize is rolled back, VACUUM keeps what the journal needs and
refuses a retention below Delta's safety check, the catalog registers idempotently and follows a
moved lake, `a100m sql` answers and names what it cannot resolve, the change data feed returns a
version's inserted rows, and `a100m serve` answers a real Spark Connect client."""

from __future__ import annotations

import io
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from delta.tables import DeltaTable

from pipelines.core.contracts import NODES_SCHEMA, TRANSCRIPTS_SCHEMA
from pipelines.core.errors import UsageError
from pipelines.core.failpoints import FAILPOINT_VARIABLE, KILLED_EXIT_CODE
from pipelines.core.journal import read_state
from pipelines.core.lake import read_table, table_path, table_version
from pipelines.core.runs import committed_snapshot, journaled_write, lake_run, new_run_id
from pipelines.ingest.stage import explode
from pipelines.lakeops.catalog import SEGMENTS_COLUMNS, register_catalog
from pipelines.lakeops.layout import CDF_PROPERTY, files_read_for_video, table_layout
from pipelines.lakeops.optimize import optimize_lake, vacuum_lake
from pipelines.lakeops.query import QueryError, run_sql
from pipelines.lakeops.serve import PortInUseError, check_port
from pipelines.synth import generate
from tests.processes import SPARK_FLAGS

ROOT = Path(__file__).resolve().parents[1]
APPENDS = 4


def _env(**extra: str) -> dict[str, str]:
    env = {**os.environ, "PYSPARK_PYTHON": sys.executable, "A100M_LEASE_SECONDS": "12", **extra}
    if FAILPOINT_VARIABLE not in extra:
        env.pop(FAILPOINT_VARIABLE, None)
    return env


def a100m(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pipelines", *args, *SPARK_FLAGS],
        cwd=ROOT,
        env=_env(**env),
        capture_output=True,
        text=True,
        timeout=600,
    )


def a100m_line(err: str) -> str:
    return [line for line in err.splitlines() if line.startswith("a100m ")][-1]


def rows(spark, lake: str, table: str, version: int | None = None) -> list[str]:
    frame = read_table(spark, lake, table, version)
    return sorted(json.dumps(r.asDict(recursive=True), default=str) for r in frame.collect())


@pytest.fixture(scope="module")
def appended(spark, tmp_path_factory):
    """A lake after several appends (one explode per shard), as nightly ingestion leaves it."""
    root = tmp_path_factory.mktemp("lakeops")
    manifest = generate(root / "raw", videos=12, seed=11, shards=APPENDS)
    lake = str(root / "lake")
    shards = [str(root / "raw" / name) for name in sorted(manifest["files"])]
    for shard in shards:
        explode(spark, [shard], lake)
    return {"lake": lake, "shards": shards}


@pytest.fixture
def lake_copy(appended, tmp_path) -> str:
    target = tmp_path / "lake"
    shutil.copytree(appended["lake"], target)
    return str(target)


def test_optimize_keeps_every_row_and_reads_a_video_from_fewer_files(spark, lake_copy):
    lake = lake_copy
    path = table_path(lake, "transcripts")
    spark.sql(f"ALTER TABLE delta.`{path}` SET TBLPROPERTIES ({CDF_PROPERTY} = false)")
    tables = ("videos", "nodes", "transcripts")
    before = {t: rows(spark, lake, t) for t in tables}
    old = committed_snapshot(spark, lake, tables)
    # the video whose rows data skipping cannot narrow to one file (which video that is depends
    # on how the appends' files fall, so take the worst rather than any)
    uids = [r[0] for r in read_table(spark, lake, "videos").select("video_uid").collect()]
    read_before, uid = max((files_read_for_video(spark, lake, "nodes", u), u) for u in uids)
    files_before = table_layout(spark, lake, "nodes").files
    assert files_before >= APPENDS and read_before > 1

    result = optimize_lake(spark, lake, new_run_id())

    assert {t: rows(spark, lake, t) for t in tables} == before
    nodes = next(t for t in result.tables if t.table == "nodes")
    assert nodes.after.files < files_before
    assert files_read_for_video(spark, lake, "nodes", uid) == 1
    new = committed_snapshot(spark, lake, tables)
    assert new["nodes"] == nodes.version > old["nodes"]
    assert rows(spark, lake, "nodes", old["nodes"]) == before["nodes"]  # time travel still exact
    assert table_layout(spark, lake, "transcripts").cdf  # an existing table gets its feed
    assert read_state(spark, lake).open == {}
    again = optimize_lake(spark, lake, new_run_id())
    assert all(t.version is None for t in again.tables)  # nothing left to rewrite


def test_a_killed_optimize_is_rolled_back_by_the_next_run(spark, lake_copy):
    lake = lake_copy
    before = rows(spark, lake, "nodes")
    version = table_version(spark, table_path(lake, "nodes"))
    done = a100m("optimize", "--lake", lake, A100M_FAILPOINT="after_commit_optimize_nodes")
    assert done.returncode == KILLED_EXIT_CODE, done.stderr[-2000:]
    assert table_version(spark, table_path(lake, "nodes")) > version  # the rewrite landed
    assert committed_snapshot(spark, lake, ["nodes"])["nodes"] == version

    with lake_run(spark, lake, new_run_id(), "test", wait_seconds=60) as lease:
        assert any("rolled back optimize" in line for line in lease.recovered)
    assert rows(spark, lake, "nodes") == before
    assert read_state(spark, lake).open == {}


def test_vacuum_refuses_a_retention_below_the_safety_check(spark, appended):
    lake = appended["lake"]
    versions = committed_snapshot(spark, lake, ["nodes", "videos"])
    with pytest.raises(UsageError) as refused:
        optimize_lake(spark, lake, new_run_id(), vacuum=True, retention_hours=1)
    message = str(refused.value)
    assert "\n" not in message and "below" in message and "168" in message
    assert committed_snapshot(spark, lake, ["nodes", "videos"]) == versions  # nothing changed


def test_vacuum_removes_what_no_needed_version_reads_and_keeps_the_rest(spark, lake_copy):
    lake = lake_copy
    tables = ["nodes", "transcripts"]
    for table in tables:  # an operator who set the tables' own safety limit to zero hours
        spark.sql(
            f"ALTER TABLE delta.`{table_path(lake, table)}` SET TBLPROPERTIES "
            "(delta.deletedFileRetentionDuration = 'interval 0 hours')"
        )
    appended = {t: table_version(spark, table_path(lake, t)) for t in tables}
    with journaled_write(spark, lake, new_run_id(), "test-edit", tables) as write:
        write.overwrite("nodes", read_table(spark, lake, "nodes"), NODES_SCHEMA)
        write.overwrite("transcripts", read_table(spark, lake, "transcripts"), TRANSCRIPTS_SCHEMA)
    committed = committed_snapshot(spark, lake, tables)
    expected = rows(spark, lake, "nodes", committed["nodes"])
    # a writer outside the journal then replaces every file of nodes' committed version
    nodes = table_path(lake, "nodes")
    read_table(spark, lake, "nodes").write.format("delta").mode("overwrite").save(nodes)
    assert table_version(spark, nodes) > committed["nodes"]

    with lake_run(spark, lake, new_run_id(), "test"):
        done = {v.table: v for v in vacuum_lake(spark, lake, tables, retention_hours=0)}

    # transcripts: its committed version is its latest; the appended files nothing reads go
    assert done["transcripts"].retention_hours == 0 and done["transcripts"].files_removed > 0
    assert done["transcripts"].kept_version is None
    # nodes: the retention grew to cover the committed version, whose files all stay
    assert done["nodes"].kept_version == committed["nodes"]
    assert done["nodes"].retention_hours >= 1 and done["nodes"].files_removed == 0
    # Delta also refuses, by policy, to time travel past a table's retention (zero here);
    # lifted for these reads, the files tell what VACUUM kept
    policy = "spark.databricks.delta.vacuum.enforceTimeTravelWithinDeletedFileRetentionDuration"
    spark.conf.set(policy, "false")
    try:
        assert rows(spark, lake, "nodes", committed["nodes"]) == expected
        gone = read_table(spark, lake, "transcripts", appended["transcripts"]).inputFiles()
        assert gone and not any(Path(f.removeprefix("file:")).exists() for f in gone)
    finally:
        spark.conf.unset(policy)


def test_the_change_data_feed_returns_the_rows_a_version_inserted(spark, appended):
    lake = appended["lake"]
    path = table_path(lake, "videos")
    history = DeltaTable.forPath(spark, path).history().collect()
    version = sorted(h.version for h in history if h.operation == "WRITE")[1]  # 2nd append
    changes = (
        spark.read.format("delta")
        .option("readChangeFeed", "true")
        .option("startingVersion", version)
        .option("endingVersion", version)
        .load(path)
    )
    got = changes.select("video_uid", "_change_type", "_commit_version").collect()
    shard = pq.read_table(appended["shards"][1], columns=["video_uid"]).column(0).to_pylist()
    assert sorted(r.video_uid for r in got) == sorted(shard)
    assert {(r._change_type, r._commit_version) for r in got} == {("insert", version)}


def test_catalog_registration_is_idempotent_and_follows_a_moved_lake(spark, lake_copy, tmp_path):
    lake, db = lake_copy, "lakeops_test"
    try:
        first = register_catalog(spark, lake, db)
        assert "nodes" in first.registered and not first.kept
        assert first.views == ["segments"]  # no actions table before stats ran
        second = register_catalog(spark, lake, db)
        assert second.registered == [] and sorted(second.kept) == sorted(first.registered)
        # SHOW TABLES, not spark.catalog.listTables: the latter cannot decode its rows under the
        # tests' interpreted evaluation (tests/processes.py); the lake's code never calls it
        tables = {r.tableName for r in spark.sql(f"SHOW TABLES IN {db}").collect()}
        assert tables == {*first.registered, "segments"}

        segments = spark.table(f"{db}.segments")
        assert tuple(segments.columns) == SEGMENTS_COLUMNS
        assert segments.count() == read_table(spark, lake, "nodes").count()
        child = segments.where("parent_id IS NOT NULL").orderBy("video_uid", "node_id").first()
        parent = (
            read_table(spark, lake, "nodes")
            .where(f"video_uid = '{child.video_uid}' AND node_id = '{child.parent_id}'")
            .first()
        )
        assert child.parent_action_brief == parent.action_brief

        moved = str(tmp_path / "moved")
        shutil.move(lake, moved)
        third = register_catalog(spark, moved, db)
        assert sorted(third.moved) == sorted(first.registered)
        files = spark.table(f"{db}.nodes").inputFiles()
        assert files and all("/moved/nodes/" in f for f in files)
    finally:
        spark.sql(f"DROP DATABASE IF EXISTS {db} CASCADE")


def test_sql_reads_the_committed_snapshot(spark, appended):
    lake = appended["lake"]
    out = io.StringIO()
    result = run_sql(spark, lake, "SELECT count(*) AS n FROM segments", fmt="csv", stream=out)
    assert out.getvalue() == f"n\n{read_table(spark, lake, 'nodes').count()}\n"
    assert result.columns == ["n"]
    with pytest.raises(QueryError) as refused:
        run_sql(spark, lake, "SELECT * FROM no_such_table", stream=io.StringIO())
    assert "no_such_table" in str(refused.value) and "\n" not in str(refused.value)
    for view in ("videos", "nodes", "transcripts", "quarantine", "ingest_log", "segments"):
        spark.catalog.dropTempView(view)


def test_sql_with_a_catalog_reads_the_committed_snapshot_unless_a_table_is_named_by_database(
    spark, lake_copy
):
    lake, db = lake_copy, "lakeops_sql"
    committed = read_table(spark, lake, "videos").count()
    # A commit the journal does not list, as a run still writing (or killed) leaves one.
    one = read_table(spark, lake, "videos").limit(1).collect()
    spark.createDataFrame(one, read_table(spark, lake, "videos").schema).write.format("delta").mode(
        "append"
    ).save(table_path(lake, "videos"))

    def count(table: str) -> str:
        out = io.StringIO()
        run_sql(spark, lake, f"SELECT count(*) AS n FROM {table}", "csv", catalog_db=db, stream=out)
        return out.getvalue()

    try:
        assert count("videos") == f"n\n{committed}\n"
        assert count(f"{db}.videos") == f"n\n{committed + 1}\n"
    finally:
        for view in ("videos", "nodes", "transcripts", "quarantine", "ingest_log", "segments"):
            spark.catalog.dropTempView(view)
        spark.sql("USE default")
        spark.sql(f"DROP DATABASE IF EXISTS {db} CASCADE")


def test_sql_names_an_unknown_column_in_one_line_and_exits_1(appended):
    done = a100m("sql", "SELECT no_such_column FROM nodes", "--lake", appended["lake"])
    assert done.returncode == 1, done.stderr[-2000:]
    line = a100m_line(done.stderr)
    assert "no_such_column" in line and "UNRESOLVED_COLUMN" in line
    # PySpark's own record of the error (JSON with the Java stack trace) is in the log file only
    assert "CheckAnalysis" not in done.stderr and '{"ts"' not in done.stderr, done.stderr[:500]
    assert done.stdout == ""


def test_a_port_in_use_is_refused_in_one_line():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        with pytest.raises(PortInUseError, match=f"port {port} on 127.0.0.1 is in use"):
            check_port(port)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_serve_answers_a_spark_connect_client(spark, lake_copy):
    lake, port = lake_copy, _free_port()
    expected = read_table(spark, lake, "nodes").count()
    # docs/lake-and-sql.md's change-feed example: the last commit of videos, found by the client
    last = table_version(spark, table_path(lake, "videos"))
    changed = (
        spark.read.format("delta")
        .option("readChangeFeed", "true")
        .option("startingVersion", last)
        .load(table_path(lake, "videos"))
        .count()
    )
    server = subprocess.Popen(
        [sys.executable, "-m", "pipelines", "serve", "--lake", lake, "--port", str(port)]
        + SPARK_FLAGS,
        cwd=ROOT,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        ready = ""
        deadline = time.monotonic() + 300
        while "Spark Connect server on" not in ready and time.monotonic() < deadline:
            line = server.stdout.readline()
            if not line and server.poll() is not None:
                break
            ready += line
        assert f"sc://127.0.0.1:{port}" in ready, (ready, server.poll())
        client = (
            "from pyspark.sql import SparkSession\n"
            f"spark = SparkSession.builder.remote('sc://127.0.0.1:{port}').getOrCreate()\n"
            "print(spark.sql('SELECT count(*) FROM a100m.segments').first()[0])\n"
            "print(spark.table('a100m.segments').where('level = 0').count())\n"
            "last = spark.sql('DESCRIBE HISTORY a100m.videos LIMIT 1').first()['version']\n"
            "print(spark.read.format('delta').option('readChangeFeed', 'true')"
            ".option('startingVersion', last).table('a100m.videos').count())\n"
            "spark.stop()\n"
        )
        done = subprocess.run(
            [sys.executable, "-c", client], capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, done.stderr[-2000:]
        assert done.stdout.split() == [str(expected), "12", str(changed)]
        assert Path(lake, "_catalog", "metastore_db").is_dir()  # Derby lives in the lake
    finally:
        server.terminate()
        try:
            out, err = server.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            server.kill()
            out, err = server.communicate()
    assert server.returncode == 0, err[-2000:]
    assert "Spark Connect server stopped" in out
    # quiet: the metastore's and Spark's log lines (Hive SerDe warnings, ...) are in the log file
    noise = [line for line in (out + err).splitlines() if "WARN" in line or "SerDe" in line]
    assert noise == [], noise[:5]
