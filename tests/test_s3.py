"""The lake on a real S3 endpoint (SeaweedFS on loopback, tests/s3.py): the pipeline end to end
equals the same run on a local folder; two processes racing for the lease never both win; and a
writer on S3 with nothing to keep commits apart is refused in one line (docs/storage.md)."""

from __future__ import annotations

import json
import multiprocessing
import os
import queue
import subprocess
import sys
from collections import Counter

import pytest

from pipelines.core import deltars
from pipelines.core.errors import SettingsError
from pipelines.core.objectstore import CONDITIONAL_PUT, SETTING
from pipelines.core.settings import load_settings
from pipelines.synth import generate
from tests.conftest import ROOT
from tests.s3 import S3Server, seaweedfs
from tests.s3race import ROUND_SECONDS, START_SECONDS, contend

# The race's rounds: each is one simultaneous commit of the same journal version by both.
RACE_ROUNDS = 25
# The mechanism the race runs with; A100M_S3_RACE_COMMITS=single_writer runs the same race
# through Spark's default S3 log store, to see it fail (docs/storage.md gives the figures).
RACE_COMMITS = os.environ.get("A100M_S3_RACE_COMMITS", CONDITIONAL_PUT)


@pytest.fixture(scope="module")
def s3(tmp_path_factory) -> S3Server:
    with seaweedfs(tmp_path_factory.mktemp("seaweedfs")) as server:
        yield server


def deltars_options(server: S3Server) -> dict[str, str]:
    return {
        "AWS_ENDPOINT_URL": server.endpoint,
        "AWS_ALLOW_HTTP": "true",
        "AWS_ACCESS_KEY_ID": server.access_key,
        "AWS_SECRET_ACCESS_KEY": server.secret_key,
        "AWS_REGION": server.region,
    }


# ---------------------------------------------------------------------------------------------
# The refusal
# ---------------------------------------------------------------------------------------------


def test_a_writer_on_s3_without_a_commit_mechanism_is_refused_in_one_line(spark, tmp_path):
    from pipelines.api import Lake

    lake = Lake("s3a://somewhere/lake", spark=spark)  # never reached: refused before any I/O
    with pytest.raises(SettingsError) as refused:
        lake.recover()
    line = str(refused.value)
    assert "\n" not in line
    assert SETTING in line and "A100M_OBJECT_STORE_COMMITS" in line
    assert "s3a://somewhere/lake" in line and "docs/storage.md" in line


def test_object_store_commits_takes_its_two_values_or_none(tmp_path, monkeypatch):
    for value in ("conditional_put", "single_writer"):
        monkeypatch.setenv("A100M_OBJECT_STORE_COMMITS", value)
        assert load_settings("local").object_store_commits == value
    monkeypatch.setenv("A100M_OBJECT_STORE_COMMITS", "")
    assert load_settings("local").object_store_commits is None
    monkeypatch.setenv("A100M_OBJECT_STORE_COMMITS", "dynamodb")
    with pytest.raises(SettingsError, match="object_store_commits 'dynamodb' is not one of"):
        load_settings("local")


# ---------------------------------------------------------------------------------------------
# The race
# ---------------------------------------------------------------------------------------------


def test_two_processes_racing_for_the_lease_on_s3_never_both_win(s3, tmp_path):
    """RACE_ROUNDS times, two processes (two JVMs) commit the same journal version at once:
    exactly one takes the lease each round, and no commit is lost (every step a writer was told
    had landed is in the journal, at its own version, as the lease relies on)."""
    lake = s3.uri(f"race-{RACE_COMMITS}")
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(2)
    results = context.Queue()
    contenders = [
        context.Process(
            target=contend,
            args=(name, s3, lake, RACE_COMMITS, RACE_ROUNDS, barrier, results, str(tmp_path)),
        )
        for name in ("a", "b")
    ]
    for process in contenders:
        process.start()
    seen = []
    try:
        while len(seen) < 2 * RACE_ROUNDS:
            # the children start Spark first (tens of seconds on 2 busy cores)
            seen.append(results.get(timeout=START_SECONDS if not seen else ROUND_SECONDS * 3))
            assert seen[-1][1] >= 0, f"contender {seen[-1][0]} failed: {seen[-1][3]}"
    except queue.Empty:
        pytest.fail(f"the race stopped after {len(seen)} answers (logs in {tmp_path})")
    finally:
        for process in contenders:
            process.join(timeout=120)
            if process.is_alive():
                process.kill()
    winners = Counter(round_ for _, round_, won, _, _ in seen if won)
    rounds_with = Counter(winners.values())
    assert [r for r in range(RACE_ROUNDS) if winners[r] != 1] == [], (
        f"rounds won by both: {rounds_with[2]}, by neither: {RACE_ROUNDS - len(winners)}"
    )
    # each loser backed off naming the winner, never an error
    for name, round_, won, busy, _ in seen:
        assert won or "is busy" in busy, (name, round_, busy)
    # no commit was lost: every step a contender's commit call returned for is in the journal's
    # history, each at its own version, and nothing else is. (A loser that read the state after
    # the winner's acquisition landed backs off without writing: not a lost commit.)
    commits = deltars.remote_history(
        f"s3://{s3.bucket}/race-{RACE_COMMITS}/_runs", 10_000, deltars_options(s3)
    )
    assert commits is not None
    landed = Counter(json.loads(metadata or "{}").get("by", "") for _, metadata in commits)
    written = Counter(by for *_, steps in seen for by in steps)
    assert all(len(steps) == 2 for _, _, won, _, steps in seen if won)  # acquired, released
    missing = sorted(written - landed)
    assert missing == [], f"{len(missing)} lost commits: {missing[:10]}"
    assert landed == written


# ---------------------------------------------------------------------------------------------
# The pipeline end to end
# ---------------------------------------------------------------------------------------------


# About 17 minutes on 2 cores (both lakes, one driver): too long for CI as it stands, so it runs
# when asked; the race and the refusal run always.
FULL_PIPELINE = os.environ.get("A100M_S3_PIPELINE") == "1"


@pytest.mark.skipif(not FULL_PIPELINE, reason="set A100M_S3_PIPELINE=1 (about 17 min on 2 cores)")
def test_the_pipeline_on_s3_equals_the_same_run_on_a_local_folder(s3, tmp_path):
    """explode, validate, stats (as run), report, select, export, optimize with vacuum and
    snapshot on s3a://lake/lake from synthetic shards on s3a://, then on a local folder from the
    same shards: every table equal, row for row (tests/s3pipeline.py runs both in one Spark
    driver; run ids, times and the places' URIs set aside)."""
    raw = tmp_path / "raw"
    generate(raw, videos=4, seed=26, shards=2)
    inputs = s3.upload(raw, "inputs")
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "tests" / "s3pipeline.py"),
            json.dumps(
                {
                    "server": s3.__dict__ | {"log": str(s3.log)},
                    "s3_input": inputs,
                    "local_input": str(raw),
                    "s3_lake": s3.uri("lake"),
                    "local_lake": str(tmp_path / "lake"),
                    "work": str(tmp_path),
                }
            ),
        ],
        capture_output=True,
        text=True,
        timeout=1500,
        cwd=ROOT,
    )
    (tmp_path / "child.log").write_text(done.stdout + done.stderr)
    assert done.returncode == 0, done.stderr[-4000:]
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["differences"] == {}, summary["differences"]
    # the tables the run makes, all compared, each with rows
    assert {"videos", "nodes", "transcripts", "dq_results"} <= set(summary["rows"])
    assert all(summary["rows"][t] > 0 for t in ("videos", "nodes", "transcripts", "dq_results"))
    # the lake really is in the bucket: its tables' logs and files are objects there
    keys = s3.keys("lake")
    assert any(k.startswith("lake/nodes/_delta_log/") for k in keys)
    assert any(k.startswith("lake/_runs/_delta_log/") for k in keys)
    # the same tables in both snapshots (their versions differ: optimize commits twice a table on
    # the local lake and not on S3, which is left to look into)
    assert summary["snapshot"].keys() == summary["local_snapshot"].keys()
    assert summary["selected"] == summary["local_selected"]
    assert summary["exported"] == summary["local_exported"]
    assert summary["selected"]["splits"] and summary["exported"]["splits"]
