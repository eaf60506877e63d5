"""hf:// inputs, with the real huggingface_hub client against a local hub the tests build from
generated shards (tests/hubserver.py); no test reaches the network."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest

from pipelines.cli import EXIT_DATA, main
from pipelines.core.errors import HubError, InputError
from pipelines.core.lake import read_table
from pipelines.ingest.hub import glob_pattern, parse_hub_input, staged_uri
from pipelines.ingest.sources import resolve_inputs
from pipelines.ingest.stage import explode
from pipelines.synth import generate
from tests.hubserver import HubServer

REPO = "facebook/action100m-preview"
SHARDS = "hf://datasets/facebook/action100m-preview/data/*.parquet"


@pytest.fixture(scope="module")
def hub_repo(tmp_path_factory) -> Path:
    """A dataset repository shaped like the preview: README.md and data/shard-*.parquet."""
    root = tmp_path_factory.mktemp("hub") / "repo"
    generate(root / "data", videos=8, seed=5, shards=4)
    (root / "data" / "manifest.json").unlink(missing_ok=True)
    (root / "README.md").write_text("# a hub-shaped test dataset\n")
    return root


@pytest.fixture
def hub(hub_repo, monkeypatch):
    with HubServer({REPO: hub_repo}) as server:
        monkeypatch.setenv("HF_ENDPOINT", server.url)
        monkeypatch.delenv("HF_TOKEN", raising=False)
        monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
        yield server


def _videos_in(paths) -> int:
    return sum(pq.ParquetFile(p).metadata.num_rows for p in paths)


def test_hub_shards_are_fetched_ingested_and_never_fetched_again(
    spark, hub, hub_repo, tmp_path, monkeypatch
):
    lake, staging = str(tmp_path / "lake"), tmp_path / "staging"
    shards = sorted((hub_repo / "data").glob("shard-*.parquet"))

    first = explode(spark, [SHARDS], lake, staging=str(staging), limit_shards=2)
    assert hub.downloads() == ["data/shard-00000.parquet", "data/shard-00001.parquet"]
    assert first.files_read == 2
    assert read_table(spark, lake, "videos").count() == _videos_in(shards[:2])
    logged = {r.source_file for r in read_table(spark, lake, "ingest_log").collect()}
    staged = [staging / REPO / "data" / s.name for s in shards]
    assert logged == {staged_uri(p) for p in staged[:2]}

    # Two more shards: the two already ingested are neither downloaded nor read again.
    second = explode(spark, [SHARDS], lake, staging=str(staging), limit_shards=4)
    assert hub.downloads()[2:] == ["data/shard-00002.parquet", "data/shard-00003.parquet"]
    assert (second.files_found, second.files_skipped, second.files_read) == (4, 2, 2)
    nodes = read_table(spark, lake, "nodes")
    assert nodes.count() == sum(
        len(pq.read_table(s).column("nodes").combine_chunks().flatten()) for s in shards
    )
    assert nodes.select("video_uid", "node_id").distinct().count() == nodes.count()

    # Offline, the staged shards are all there is, and all are ingested: nothing to do, no call.
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    calls = len(hub.requests)
    third = explode(spark, [SHARDS], lake, staging=str(staging))
    assert (third.files_found, third.files_skipped, third.files_read) == (4, 4, 0)
    assert len(hub.requests) == calls


def test_an_interrupted_run_resumes_with_the_shards_it_had_not_staged(hub, hub_repo, tmp_path):
    from pipelines.ingest.hub import stage_hub_input

    # A run staged two shards, then stopped before ingesting (killed, or the lake was away).
    staged, _ = stage_hub_input(SHARDS, tmp_path, 2, ingested={})
    assert hub.downloads() == ["data/shard-00000.parquet", "data/shard-00001.parquet"]
    # The next run checks the staged two against the hub (HEAD only) and downloads the rest.
    again, _ = stage_hub_input(SHARDS, tmp_path, None, ingested={})
    assert hub.downloads()[2:] == ["data/shard-00002.parquet", "data/shard-00003.parquet"]
    assert again[:2] == staged
    for path in again:
        assert Path(path).read_bytes() == (hub_repo / "data" / Path(path).name).read_bytes()


def test_hub_errors_are_one_line_and_leave_the_lake_untouched(
    spark, hub, tmp_path, capsys, monkeypatch
):
    lake = tmp_path / "lake"

    def refused(uri: str) -> str:
        code = main(
            ["explode", "--input", uri, "--lake", str(lake), "--staging", str(tmp_path / "s")]
        )
        assert code == EXIT_DATA
        # no table was written: at most the run journal, which recorded the lease
        assert not lake.exists() or [p.name for p in lake.iterdir()] == ["_runs"]
        problem = capsys.readouterr().err.splitlines()[-1].strip()
        assert problem.startswith(uri)
        return problem

    assert "no dataset nobody/nothing" in refused("hf://datasets/nobody/nothing/data/*.parquet")
    assert "set HF_TOKEN if the dataset is private" in refused("hf://datasets/nobody/nothing/x")
    assert "matches 'data/*.json'" in refused(f"hf://datasets/{REPO}/data/*.json")
    assert "no revision 'v9'" in refused(f"hf://datasets/{REPO}@v9/data/*.parquet")
    assert "expected hf://datasets/" in refused("hf://models/meta/llama/x.bin")

    hub.gated.add(REPO)
    gated = refused(SHARDS)
    assert "is gated" in gated and "set HF_TOKEN" in gated
    monkeypatch.setenv("HF_TOKEN", "hf_wrong")
    assert "has no access" in refused(SHARDS)
    hub.gated.discard(REPO)

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert "HF_HUB_OFFLINE is set" in refused(SHARDS)
    monkeypatch.delenv("HF_HUB_OFFLINE")

    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # nothing listens there
    problem = refused(SHARDS)
    assert "cannot reach http://127.0.0.1:9" in problem and "HF_HUB_OFFLINE=1" in problem


def test_a_gated_dataset_is_fetched_with_the_token(spark, hub, tmp_path, monkeypatch):
    hub.gated.add(REPO)
    monkeypatch.setenv("HF_TOKEN", hub.token)
    result = explode(spark, [SHARDS], str(tmp_path / "lake"), staging=str(tmp_path / "s"),
                     limit_shards=1)  # fmt: skip
    assert result.files_read == 1 and hub.downloads() == ["data/shard-00000.parquet"]


def test_hub_uris_and_globs():
    parsed = parse_hub_input(
        "hf://datasets/facebook/action100m-preview@refs%2Fconvert%2Fparquet/data/*.parquet"
    )
    assert (parsed.repo_id, parsed.revision, parsed.glob) == (
        "facebook/action100m-preview", "refs/convert/parquet", "data/*.parquet"
    )  # fmt: skip
    assert parse_hub_input(SHARDS).revision is None
    with pytest.raises(HubError, match="expected hf://datasets/"):
        parse_hub_input("hf://datasets/only-a-name")
    one_folder = glob_pattern("data/*.parquet")
    assert one_folder.match("data/shard-00000.parquet")
    assert not one_folder.match("data/old/shard-00000.parquet")
    assert not one_folder.match("data/shard-00000.parquet.lock")
    assert glob_pattern("**/*.parquet").match("data/old/shard-1.parquet")
    assert glob_pattern("**/*.parquet").match("top.parquet")


def test_object_store_uris_pass_through_unchanged_and_a_missing_connector_is_named(spark):
    from pipelines.core.lake import table_path

    for root in ("s3a://bucket/lake", "gs://bucket/lake", "abfss://c@acct.dfs.core.windows.net/lake",
                 "hdfs://namenode:8020/lake"):  # fmt: skip
        assert table_path(root + "/", "nodes") == f"{root}/nodes"
    # s3a:// is mapped to a class that is not installed, gs:// is not mapped at all.
    with pytest.raises(InputError) as refused:
        resolve_inputs(spark, ["s3a://no-such-bucket/data/*.parquet", "gs://no-such-bucket/x"])
    s3a, gs = refused.value.problems
    assert s3a.startswith("s3a://no-such-bucket/data/*.parquet: Spark has no file system for s3a:")
    assert gs.startswith("gs://no-such-bucket/x: Spark has no file system for gs://")
    assert "conf/cluster.yaml" in s3a
