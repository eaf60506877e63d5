"""Killed runs, two writers at once, odd lake states: the lake always ends as one clean run
leaves it. Real processes: each killed run is an `a100m` child process that a named failpoint
ends with os._exit (no finally, no except), or that the test kills with a real SIGKILL."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from delta.tables import DeltaTable
from pyspark.sql import functions as F

from pipelines.cli import EXIT_BUSY
from pipelines.core import lease as lease_module
from pipelines.core.errors import LakeBusyError, LakeStateError
from pipelines.core.failpoints import FAILPOINT_VARIABLE, KILLED_EXIT_CODE
from pipelines.core.journal import (
    COMMITTED,
    NO_TABLE,
    journal_path,
    outside_commits,
    read_state,
    read_state_without_spark,
    snapshot_without_spark,
    utc_now,
)
from pipelines.core.lake import read_table, table_path, table_version
from pipelines.core.lease import held_lease
from pipelines.core.runs import committed_snapshot, lake_run, lake_tables, new_run_id
from pipelines.ingest.stage import EXPLODE_TABLES, explode
from pipelines.quality.validate import validate
from pipelines.stats.stage import compute_stats
from pipelines.synth import generate
from tests.processes import SPARK_FLAGS
from tests.rawdata import commit_newer_protocol, node, small_tree_video, write_raw

ROOT = Path(__file__).resolve().parents[1]
# Columns that differ between two equal runs: run ids, times, and table versions (a recovery's
# RESTORE makes versions of its own).
VOLATILE = {
    "run_id",
    "ingest_run_id",
    "ingest_runs",
    "ingested_at",
    "quarantined_at",
    "computed_at",
    "validated_at",
    "table_version",
    "videos_version",
    "nodes_version",
}
VALIDATE_TABLES = ("videos", "nodes", "transcripts", "quarantine", "dq_results")
STATS_CHECKED = ("stats_summary", "stats_levels", "stats_verbs", "actions")


def a100m(
    *args: str,
    failpoint: str | None = None,
    lease_seconds: int = 12,
    extra_env: dict[str, str] | None = None,
    **popen,
) -> subprocess.Popen:
    # a short lease, so that the next run takes over a killed child's lake in seconds (long
    # enough that a live child renews it in time on a loaded 2-core machine)
    env = {
        **os.environ,
        "PYSPARK_PYTHON": sys.executable,
        "A100M_LEASE_SECONDS": str(lease_seconds),
    }
    env.pop(FAILPOINT_VARIABLE, None)
    env.update(extra_env or {})
    if failpoint:
        env[FAILPOINT_VARIABLE] = failpoint
    # Files, not pipes: a child that logs more than a pipe holds (64 KiB) blocks until someone
    # reads it, and a test finishing one child while another holds the lake would never read the
    # holder's pipe: the holder would stop, and the waiter wait out its whole --wait.
    out, err = tempfile.TemporaryFile("w+"), tempfile.TemporaryFile("w+")
    process = subprocess.Popen(
        [sys.executable, "-m", "pipelines", *args, *SPARK_FLAGS],
        cwd=ROOT,
        env=env,
        stdout=out,
        stderr=err,
        text=True,
        **popen,
    )
    process.output_files = (out, err)  # type: ignore[attr-defined]
    return process


def finish(process: subprocess.Popen, timeout: float = 600) -> tuple[int, str, str]:
    process.wait(timeout=timeout)
    texts = []
    for file in process.output_files:  # type: ignore[attr-defined]
        file.seek(0)
        texts.append(file.read())
        file.close()
    return process.returncode, texts[0], texts[1]


def a100m_line(err: str) -> str:
    """The CLI's own last line on stderr (logging may follow it)."""
    return [line for line in err.splitlines() if line.startswith("a100m ")][-1]


def once_free(spark, lake: str, action):
    """Run action holding the lake, with no wait: a killed child of this host is seen as gone,
    so its lease is taken over at once, however long it had left."""
    with lake_run(spark, lake, new_run_id(), "test", wait_seconds=0):
        return action()


def fingerprint(spark, lake: str, tables) -> dict[str, list | None]:
    """Every row of every table, without the columns two equal runs differ in."""
    found: dict[str, list | None] = {}
    for table in tables:
        if table_version(spark, table_path(lake, table)) is None:
            found[table] = None
            continue
        frame = read_table(spark, lake, table)
        if table == "stats_summary":
            # p10/p50/p90 come from KLL sketches, which compact at random once a sketch holds
            # more than k values: two equal runs agree within the rank error, not to the bit
            # (tests/test_incremental_stats.py checks that error).
            frame = frame.where(~F.col("name").rlike(r"_p(10|50|90)$"))
        columns = [c for c in frame.columns if c not in VOLATILE]
        found[table] = sorted(
            json.dumps(r.asDict(recursive=True), default=str, sort_keys=True)
            for r in frame.select(*columns).collect()
        )
    return found


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> list[str]:
    """Two shards of clean generated videos, a copy of one video under another file (a
    duplicate, so explode writes quarantine too), and a file of damaged videos."""
    root = tmp_path_factory.mktemp("crash-corpus")
    manifest = generate(root / "raw", videos=10, seed=5, shards=2)
    shards = [str(root / "raw" / name) for name in manifest["files"]]
    shifted = small_tree_video("vidshifted1")
    for n in shifted["nodes"]:
        n["level"] += 3  # the whole tree at root level 3: every parent/child rule still holds
    two_roots = small_tree_video("vidtworoot1")
    two_roots["nodes"].append(node("r2", None, 0, 0.0, 10.0, leaf=True))
    damaged = write_raw(
        root / "raw" / "zz-damaged.parquet",
        [small_tree_video("vidhealthy1"), shifted, two_roots, small_tree_video("vidhealthy1")],
    )
    return [*shards, str(damaged)]


@pytest.fixture(scope="module")
def clean(spark, corpus, tmp_path_factory):
    """One clean explode, validate and stats over the corpus: what every recovery must equal."""
    root = tmp_path_factory.mktemp("clean")
    lake = str(root / "lake")
    explode(spark, corpus, lake)
    after_explode = fingerprint(spark, lake, EXPLODE_TABLES)
    shutil.copytree(lake, root / "exploded")
    validate(spark, lake, str(root / "report"), "clean-validate")
    after_validate = fingerprint(spark, lake, VALIDATE_TABLES)
    shutil.copytree(lake, root / "validated")
    compute_stats(spark, lake, str(root / "stats"), "clean-stats")
    after_stats = fingerprint(spark, lake, STATS_CHECKED)
    return {
        "explode": after_explode,
        "validate": after_validate,
        "stats": after_stats,
        # copies of the lake after each stage, for tests that start from there: a Delta table's
        # log names its files relative to the table, so a copied lake is that lake
        "exploded": root / "exploded",
        "validated": root / "validated",
    }


def lake_after(clean, stage: str, tmp_path: Path) -> str:
    """A fresh copy of the clean lake as it was after stage ("exploded" or "validated")."""
    target = tmp_path / "lake"
    shutil.copytree(clean[stage], target)
    return str(target)


def test_the_clean_run_quarantines_the_damaged_videos(clean):
    reasons = {
        json.loads(r)["video_uid"]: json.loads(r)["reason_codes"]
        for r in clean["validate"]["quarantine"]
    }
    assert reasons["vidshifted1"] == ["root_level_zero"]
    assert (
        reasons["vidtworoot1"] == ["binary_branching", "one_root"]
        or "one_root" in reasons["vidtworoot1"]
    )
    assert "duplicate_video" in json.dumps(clean["explode"]["quarantine"])


EXPLODE_FAILPOINTS = [
    "after_journal_started_explode",
    "after_commit_explode_quarantine",
    "after_commit_explode_nodes",
    "after_commit_explode_transcripts",
    "after_commit_explode_videos",
    "after_commit_explode_ingest_log",
]


@pytest.mark.parametrize("point", EXPLODE_FAILPOINTS)
def test_explode_killed_at_each_commit_then_rerun_equals_one_clean_run(
    spark, corpus, clean, tmp_path, point
):
    lake = str(tmp_path / "lake")
    code, out, err = finish(a100m("explode", "--input", *corpus, "--lake", lake, failpoint=point))
    assert code == KILLED_EXIT_CODE, err[-2000:]
    assert f"failpoint {point}" in err
    # readers see the last committed state: nothing of the killed run
    assert set(committed_snapshot(spark, lake, ("videos", "nodes")).values()) == {None}
    # delta-rs (a100m snapshot without a JVM) reads the killed run's state as Spark does
    assert read_state_without_spark(Path(lake)) == read_state(spark, lake)
    tables = lake_tables(spark, lake)
    assert snapshot_without_spark(lake) == (
        committed_snapshot(spark, lake, tables),
        outside_commits(spark, lake, tables),
    )

    result = once_free(spark, lake, lambda: explode(spark, corpus, lake))
    assert result.files_read == len(corpus)
    assert fingerprint(spark, lake, EXPLODE_TABLES) == clean["explode"]


VALIDATE_FAILPOINTS = [
    "after_commit_validate_dq_results",
    "after_commit_validate_quarantine",
    "after_commit_validate_videos",
    "after_commit_validate_nodes",
    "after_commit_validate_transcripts",
]


@pytest.mark.parametrize("point", VALIDATE_FAILPOINTS)
def test_validate_killed_at_each_commit_then_recover_and_rerun_equals_one_clean_run(
    spark, corpus, clean, tmp_path, point
):
    lake = lake_after(clean, "exploded", tmp_path)
    args = ("validate", "--lake", lake, "--report", str(tmp_path / "report"))
    code, _, err = finish(a100m(*args, failpoint=point))
    assert code == KILLED_EXIT_CODE, err[-2000:]

    if point == VALIDATE_FAILPOINTS[0]:  # the operator's command, once (a JVM start each)
        code, out, err = finish(a100m("recover", "--lake", lake, "--wait", "60"))
        assert code == 0, err[-2000:]
        recovered = out
    else:
        recovered = "\n".join(once_free(spark, lake, lambda: held_lease(lake).recovered))
    assert "rolled back validate of run" in recovered
    # nothing of the killed run stays: no quarantine, no deleted rows, no dq_results
    assert fingerprint(spark, lake, EXPLODE_TABLES) == clean["explode"]

    once_free(spark, lake, lambda: validate(spark, lake, str(tmp_path / "report"), "after"))
    assert fingerprint(spark, lake, VALIDATE_TABLES) == clean["validate"]


@pytest.mark.parametrize(
    "point",
    [
        "after_commit_stats_stats_partials",  # partials replaced, actions not yet
        "after_commit_stats_actions",
        "after_journal_started_stats",
    ],
)
def test_stats_killed_then_rerun_equals_one_clean_run(spark, corpus, clean, tmp_path, point):
    lake = lake_after(clean, "validated", tmp_path)
    args = ("stats", "--lake", lake, "--out", str(tmp_path / "stats"))
    code, _, err = finish(a100m(*args, failpoint=point))
    assert code == KILLED_EXIT_CODE, err[-2000:]
    once_free(spark, lake, lambda: compute_stats(spark, lake, str(tmp_path / "stats"), "again"))
    assert fingerprint(spark, lake, STATS_CHECKED) == clean["stats"]


def _wait_for(predicate, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if (value := predicate()) is not None:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_real_sigkill_while_explode_writes_is_undone_by_the_next_run(
    spark, corpus, clean, tmp_path
):
    lake = tmp_path / "lake"
    process = a100m("explode", "--input", *corpus, "--lake", str(lake))
    # kill it as soon as its first data table has a commit (version 1 of nodes or quarantine)
    first_commit = [lake / t / "_delta_log" / f"{1:020d}.json" for t in ("quarantine", "nodes")]
    _wait_for(lambda: True if any(p.exists() for p in first_commit) else None, 300, "a commit")
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=60)
    assert process.returncode == -signal.SIGKILL

    assert committed_snapshot(spark, str(lake), ("nodes", "videos")) == {
        "nodes": None,
        "videos": None,
    }
    # the next run on this host sees the holder's process is gone: no wait for its lease
    with lake_run(spark, str(lake), new_run_id(), "explode", wait_seconds=0) as lease:
        assert lease.took_over is not None and lease.took_over.pid == process.pid
        assert any("rolled back explode" in line for line in lease.recovered)
        explode(spark, corpus, str(lake))
    assert fingerprint(spark, str(lake), EXPLODE_TABLES) == clean["explode"]


def test_two_explodes_at_once_on_a_new_lake_one_writes_the_other_names_the_holder(
    spark, corpus, clean, tmp_path
):
    lake = str(tmp_path / "lake")
    first = a100m("explode", "--input", *corpus, "--lake", lake)
    second = a100m("explode", "--input", *corpus, "--lake", lake)
    results = sorted([finish(first), finish(second)], key=lambda r: r[0])
    (ok, ok_out, ok_err), (busy, _, err) = results
    assert (ok, busy) == (0, EXIT_BUSY), err[-2000:]
    line = a100m_line(err)
    assert "is busy" in line and "explode" in line and "pid" in line and "host" in line
    # Quiet: the terminal has the summary, one progress line and the log's name; Spark's, Ivy's
    # and the JVM's lines are all in that log file.
    assert ok_out.startswith("explode run ") and "nodes" in ok_out, ok_out
    *progress, named = ok_err.strip().splitlines()
    assert [p.split(":")[0] for p in progress] == ["explode"], ok_err
    assert named.startswith("full log: "), ok_err
    log_text = (ROOT / named.removeprefix("full log: ")).read_text()
    assert "log4j" in log_text and "pipelines.core.lake" in log_text
    assert fingerprint(spark, lake, EXPLODE_TABLES) == clean["explode"]


def test_two_explodes_with_wait_on_overlapping_inputs_each_does_only_what_is_left(
    spark, corpus, clean, tmp_path
):
    lake = str(tmp_path / "lake")
    explode(spark, corpus[:1], lake)  # an existing lake
    first = a100m("explode", "--input", *corpus[:2], "--lake", lake, "--wait", "600")
    second = a100m("explode", "--input", *corpus, "--lake", lake, "--wait", "600")
    for process in (first, second):
        code, _, err = finish(process)
        assert code == 0, err[-3000:]
    assert fingerprint(spark, lake, EXPLODE_TABLES) == clean["explode"]


def test_two_validates_at_once_quarantine_once_and_the_second_finds_nothing_new(
    spark, corpus, clean, tmp_path
):
    lake = lake_after(clean, "exploded", tmp_path)
    # The second waits for the whole of the first, so the wait is far longer than a validate on a
    # loaded 2-core machine (a wait that ran out would exit 75, busy).
    args = ("validate", "--lake", lake, "--report", str(tmp_path / "report"), "--wait", "1500")
    # A lease long enough that neither child loses it while both JVMs share two cores.
    both = [a100m(*args, lease_seconds=60) for _ in range(2)]
    finished = [finish(p, timeout=1800) for p in both]
    outs = [out for _, out, _ in finished]
    # One ran first and quarantined the damaged videos (exit 1: its checks failed); the other
    # waited, found no video no validation had seen, and judged the lake as it now is.
    assert sorted(code for code, _, _ in finished) == [0, 1], [
        [line for line in err.splitlines() if "pipelines" in line or "a100m" in line][-15:]
        for *_, err in finished
    ]
    assert sum("no new videos since validate run" in out for out in outs) == 1, outs
    assert fingerprint(spark, lake, ("videos", "nodes", "transcripts", "quarantine")) == {
        t: clean["validate"][t] for t in ("videos", "nodes", "transcripts", "quarantine")
    }


def test_a_writer_beside_a_running_explode_is_refused_and_readers_see_the_last_commit(
    spark, corpus, tmp_path
):
    lake = str(tmp_path / "lake")
    explode(spark, corpus[:1], lake)
    committed = committed_snapshot(spark, lake, ("videos", "nodes"))
    videos_before = read_table(spark, lake, "videos").count()
    process = a100m(
        "explode", "--input", *corpus, "--lake", lake, failpoint="after_commit_explode_nodes"
    )

    # a validate while the explode holds the lake: refused, naming the explode
    def explode_holds_the_lake():
        state = read_state(spark, lake)
        return True if state is not None and state.command == "explode" and state.holder else None

    _wait_for(explode_holds_the_lake, 300, "the explode to take the lease")
    with pytest.raises(LakeBusyError, match=r"explode.*on host .*pid"):
        validate(spark, lake, str(tmp_path / "report"), "beside-explode")
    code, _, err = finish(process)
    assert code == KILLED_EXIT_CODE, err[-2000:]
    # nodes has the dead run's commit; readers still get the last committed versions
    assert table_version(spark, table_path(lake, "nodes")) > committed["nodes"]
    snapshot = committed_snapshot(spark, lake, ("videos", "nodes"))
    assert snapshot == committed
    assert read_table(spark, lake, "videos", snapshot["videos"]).count() == videos_before


def _die_holding_the_lake(spark, lake: str, run_id: str, open_stage: dict | None = None):
    """Take the lease as run_id, maybe open a stage, then stop as a killed process would: no
    renewal, no release."""
    with lake_run(spark, lake, run_id, "explode") as lease:
        if open_stage is not None:
            lease.begin_stage("explode", open_stage)
        lease._stop.set()
        lease.release = lambda: None


def test_a_lease_whose_holder_died_is_taken_over_after_it_expires(spark, tmp_path, monkeypatch):
    lake = str(tmp_path / "lake")
    monkeypatch.setenv("A100M_LEASE_SECONDS", "3")
    _die_holding_the_lake(spark, lake, "dead-run")
    with pytest.raises(LakeBusyError, match=r"run dead-run \(explode\) on host .*, pid \d+"):
        with lake_run(spark, lake, "too-early", "validate"):
            pass
    time.sleep(3.5)
    with lake_run(spark, lake, "later", "validate") as taken:
        assert taken.took_over is not None and taken.took_over.holder == "dead-run"
    assert read_state(spark, lake).holder is None  # given back


def test_an_expired_lease_whose_holder_still_runs_here_is_not_taken_over(
    spark, tmp_path, monkeypatch
):
    lake = str(tmp_path / "lake")
    monkeypatch.setenv("A100M_LEASE_SECONDS", "2")
    holder = subprocess.Popen(["sleep", "120"])  # a live process of this host, late renewing
    try:
        with monkeypatch.context() as m:
            m.setattr(os, "getpid", lambda: holder.pid)
            _die_holding_the_lake(spark, lake, "slow-run")
        time.sleep(2.5)
        with pytest.raises(LakeBusyError, match=rf"slow-run.*pid {holder.pid}.*process is alive"):
            with lake_run(spark, lake, "eager", "validate"):
                pass
    finally:
        holder.kill()
        holder.wait()
    with lake_run(spark, lake, "later", "validate") as taken:  # now it is dead: taken over
        assert taken.took_over is not None and taken.took_over.holder == "slow-run"


def test_a_holder_whose_process_is_gone_from_this_host_is_taken_over_before_its_lease_ends(
    spark, tmp_path, monkeypatch
):
    lake = str(tmp_path / "lake")
    gone = subprocess.Popen(["true"])  # a pid of this host that no longer runs
    gone.wait()
    with monkeypatch.context() as m:
        m.setattr(os, "getpid", lambda: gone.pid)
        _die_holding_the_lake(spark, lake, "killed-run", open_stage={"videos": NO_TABLE})
    state = read_state(spark, lake)
    assert state.holder == "killed-run" and state.expires_at > utc_now()  # 120 s left
    with lake_run(spark, lake, "next", "validate") as taken:  # wait 0: would raise if busy
        assert taken.took_over is not None and taken.took_over.holder == "killed-run"
        assert any("rolled back explode of run killed-run" in line for line in taken.recovered)


def test_a_holder_pid_now_used_by_another_process_is_taken_over_at_once(
    spark, tmp_path, monkeypatch
):
    lake = str(tmp_path / "lake")
    other = subprocess.Popen(["sleep", "120"])  # alive, but not the process that held the lake
    try:
        with monkeypatch.context() as m:
            m.setattr(os, "getpid", lambda: other.pid)
            m.setattr(lease_module, "process_start", lambda pid: "another-boot:1")
            _die_holding_the_lake(spark, lake, "reused-pid-run")
        with lake_run(spark, lake, "next", "validate") as taken:
            assert taken.took_over is not None and taken.took_over.holder == "reused-pid-run"
        # the same pid with its own start time is alive: its lease is respected
        with monkeypatch.context() as m:
            m.setattr(os, "getpid", lambda: other.pid)
            _die_holding_the_lake(spark, lake, "live-run")
        with pytest.raises(LakeBusyError, match=rf"live-run.*pid {other.pid}"):
            with lake_run(spark, lake, "eager", "validate"):
                pass
    finally:
        other.kill()
        other.wait()


def test_recover_refuses_in_one_line_when_vacuum_removed_the_version_it_needs(
    spark, corpus, tmp_path, monkeypatch
):
    lake = str(tmp_path / "lake")
    explode(spark, corpus[:1], lake)
    nodes = table_path(lake, "nodes")
    version = table_version(spark, nodes)
    monkeypatch.setenv("A100M_LEASE_SECONDS", "1")
    _die_holding_the_lake(spark, lake, "ghost", open_stage={"nodes": version})
    read_table(spark, lake, "nodes").limit(1).write.format("delta").mode("overwrite").save(nodes)
    spark.conf.set("spark.databricks.delta.retentionDurationCheck.enabled", "false")
    try:
        DeltaTable.forPath(spark, nodes).vacuum(0)
    finally:
        spark.conf.set("spark.databricks.delta.retentionDurationCheck.enabled", "true")
    time.sleep(1.5)
    with pytest.raises(
        LakeStateError, match=f"cannot restore table nodes of .* to version {version}"
    ):
        with lake_run(spark, lake, "next", "explode"):
            pass
    code, _, err = finish(a100m("recover", "--lake", lake))
    assert code == 1 and a100m_line(err).startswith("a100m recover: cannot restore")


def test_a_lake_that_is_a_file_is_refused_in_one_line(tmp_path, corpus):
    lake = tmp_path / "lake"
    lake.write_text("not a folder")
    code, _, err = finish(a100m("explode", "--input", corpus[0], "--lake", str(lake)))
    assert code == 1
    assert a100m_line(err) == (
        f"a100m explode: lake {lake} is a file, not a folder: give the lake's folder"
    )
    assert lake.read_text() == "not a folder"


def test_a_table_of_a_newer_delta_protocol_is_refused_in_one_line(spark, corpus, tmp_path):
    lake = str(tmp_path / "lake")
    explode(spark, corpus[:1], lake)
    version = table_version(spark, table_path(lake, "videos"))
    commit_newer_protocol(Path(lake) / "videos", version + 1)
    code, _, err = finish(a100m("validate", "--lake", lake, "--report", str(tmp_path / "r")))
    assert code == 1, err[-2000:]
    assert "newer Delta Lake" in a100m_line(err)


def test_snapshot_prints_the_committed_versions_as_json(spark, corpus, tmp_path):
    lake = str(tmp_path / "lake")
    explode(spark, corpus[:1], lake)
    # snapshot reads a local lake with delta-rs: no JVM (with no Java at all, it still works)
    code, out, err = finish(a100m("snapshot", "--lake", lake, extra_env=_without_java()))
    assert code == 0, err[-2000:]
    snapshot = json.loads(out)
    assert snapshot["videos"] == table_version(spark, table_path(lake, "videos"))
    assert {"nodes", "transcripts", "ingest_log", "_runs"} <= set(snapshot)
    journal = spark.read.format("delta").load(journal_path(lake))
    assert journal.where(f"state = '{COMMITTED}' and stage = 'explode'").count() == 1
    assert "outside the pipeline" not in err
    # A hand-run DELETE is a commit no stage made: readers keep the committed version, and
    # snapshot says so in one line.
    DeltaTable.forPath(spark, table_path(lake, "videos")).delete("true")
    code, out, err = finish(a100m("snapshot", "--lake", lake, extra_env=_without_java()))
    assert json.loads(out)["videos"] == snapshot["videos"]
    line = a100m_line(err)
    assert "table videos has versions" in line and "made outside the pipeline" in line
    tables = lake_tables(spark, lake)
    assert snapshot_without_spark(lake) == (
        committed_snapshot(spark, lake, tables),
        outside_commits(spark, lake, tables),
    )


def _without_java() -> dict[str, str]:
    """The environment with no Java to start: a command that needs a JVM fails at once."""
    return {"JAVA_HOME": "/nonexistent-java"}


def test_bad_spark_settings_end_at_once_instead_of_hanging(tmp_path):
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pipelines",
            "validate",
            "--lake",
            str(tmp_path / "lake"),
            "--spark-conf",
            "spark.sql.shuffle.partitions=-5",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "spark.sql.shuffle.partitions='-5' must be a positive integer" in done.stderr


def test_an_unwritable_report_folder_stops_run_before_anything_is_written(tmp_path, corpus):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    lake = tmp_path / "lake"
    code, _, err = finish(
        a100m("run", "--input", corpus[0], "--lake", str(lake), "--report", str(blocker / "report"))
    )
    assert code == 2 and "cannot be written" in a100m_line(err)
    assert not (lake / "nodes").exists()
