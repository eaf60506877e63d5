"""Re-runs, new shards, duplicate videos and failed runs against a real Delta lake."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from delta.tables import DeltaTable
from pyspark.sql import functions as F
from pyspark.testing import assertDataFrameEqual

from pipelines.core import deltars
from pipelines.core.lake import read_table, table_path, table_version
from pipelines.ingest.flatten import DUPLICATE_VIDEO, VIDEO_ALREADY_INGESTED
from pipelines.ingest.stage import EXPLODE_TABLES, explode
from tests.rawdata import small_tree_video, write_raw

DATA_TABLES = ("videos", "nodes", "transcripts")


def _versions(spark, lake):
    return {t: table_version(spark, table_path(lake, t)) for t in EXPLODE_TABLES}


def _snapshot(spark, lake):
    """Every row of every table, to compare a lake before and after."""
    return {
        t: read_table(spark, lake, t).drop("ingested_at", "quarantined_at").collect()
        for t in EXPLODE_TABLES
        if table_version(spark, table_path(lake, t)) is not None
    }


def _counts(spark, lake):
    return {t: read_table(spark, lake, t).count() for t in DATA_TABLES}


def test_second_run_over_the_same_input_changes_nothing(spark, tmp_path, lake):
    shard = write_raw(tmp_path / "in" / "shard-0.parquet", [small_tree_video("vid00000001")])
    explode(spark, [str(tmp_path / "in")], lake)
    before, versions = _snapshot(spark, lake), _versions(spark, lake)

    again = explode(spark, [str(shard)], lake)

    assert (again.files_skipped, again.files_read, again.rows_written) == (1, 0, {})
    assert _versions(spark, lake) == versions
    assert _snapshot(spark, lake) == before


def test_delta_rs_reads_the_ingest_log_and_versions_as_spark_does(spark, tmp_path, lake):
    write_raw(tmp_path / "in" / "shard-0.parquet", [small_tree_video("vid00000001")])
    write_raw(tmp_path / "in" / "shard-1.parquet", [small_tree_video("vid00000002")])
    explode(spark, [str(tmp_path / "in")], lake)
    by_spark = {
        (r.source_file, r.size_bytes, r.modified_ms)
        for r in read_table(spark, lake, "ingest_log")
        .select("source_file", "size_bytes", F.unix_millis("modified_at").alias("modified_ms"))
        .collect()
    }
    assert len(by_spark) == 2
    assert deltars.logged_files(Path(table_path(lake, "ingest_log"))) == by_spark
    for table in ("nodes", "transcripts", "videos", "ingest_log"):  # delta-rs answers locally
        path = table_path(lake, table)
        assert table_version(spark, path) == DeltaTable.forPath(spark, path).history(1).first()[0]


def test_a_new_shard_adds_only_its_rows(spark, tmp_path, lake):
    folder = tmp_path / "in"
    write_raw(folder / "shard-0.parquet", [small_tree_video("vid00000001")])
    explode(spark, [str(folder)], lake)
    first_nodes = read_table(spark, lake, "nodes")
    first = first_nodes.collect()

    write_raw(folder / "shard-1.parquet", [small_tree_video("vid00000002")])
    result = explode(spark, [str(folder)], lake)

    assert (result.files_skipped, result.files_read) == (1, 1)
    assert result.rows_written["videos"] == 1 and result.rows_written["nodes"] == 5
    assert _counts(spark, lake) == {"videos": 2, "nodes": 10, "transcripts": 4}
    # The rows of the first shard are untouched: same values, same run id.
    old = read_table(spark, lake, "nodes").where("video_uid = 'vid00000001'")
    assertDataFrameEqual(old, first)


def test_a_video_in_two_inputs_is_kept_once_from_the_first_file(spark, tmp_path, lake):
    a = small_tree_video("vid00000001")
    b = small_tree_video("vid00000001")
    b["metadata"]["title"] = "the later copy"
    write_raw(tmp_path / "in" / "a.parquet", [a])
    write_raw(tmp_path / "in" / "b.parquet", [b, small_tree_video("vid00000002")])

    result = explode(spark, [str(tmp_path / "in")], lake)

    assert result.quarantined_by_reason == {DUPLICATE_VIDEO: 1}
    videos = {r.video_uid: r for r in read_table(spark, lake, "videos").collect()}
    assert videos["vid00000001"].title == "Making soup"
    assert videos["vid00000001"].source_file.endswith("/in/a.parquet")
    assert _counts(spark, lake) == {"videos": 2, "nodes": 10, "transcripts": 4}
    [q] = read_table(spark, lake, "quarantine").collect()
    assert q.reason_codes == [DUPLICATE_VIDEO]
    assert q.source_file.endswith("/in/b.parquet") and q.source_row == 0
    assert "the later copy" in q.raw_record and "a.parquet row 0" in q.reason_detail


def test_the_same_rows_under_another_file_name_are_not_ingested_twice(spark, tmp_path, lake):
    shard = write_raw(tmp_path / "in" / "shard-0.parquet", [small_tree_video("vid00000001")])
    explode(spark, [str(shard)], lake)
    copy = tmp_path / "elsewhere" / "renamed.parquet"
    copy.parent.mkdir()
    shutil.copy(shard, copy)

    result = explode(spark, [str(copy)], lake)

    assert result.quarantined_by_reason == {VIDEO_ALREADY_INGESTED: 1}
    assert result.rows_written["nodes"] == 0
    assert _counts(spark, lake) == {"videos": 1, "nodes": 5, "transcripts": 2}


def test_a_failed_run_leaves_every_table_as_it_was(spark, tmp_path, lake):
    write_raw(tmp_path / "in" / "shard-0.parquet", [small_tree_video("vid00000001")])
    explode(spark, [str(tmp_path / "in")], lake)
    # A constraint the next shard's transcripts break: that write fails after nodes committed.
    spark.sql(
        f"ALTER TABLE delta.`{table_path(lake, 'transcripts')}` "
        "ADD CONSTRAINT known_videos CHECK (video_uid = 'vid00000001')"
    )
    before, versions = _snapshot(spark, lake), _versions(spark, lake)
    write_raw(tmp_path / "in" / "shard-1.parquet", [small_tree_video("vid00000002")])

    with pytest.raises(Exception, match="known_videos"):
        explode(spark, [str(tmp_path / "in")], lake)

    assert _snapshot(spark, lake) == before
    after = _versions(spark, lake)
    assert after["videos"] == versions["videos"] and after["ingest_log"] == versions["ingest_log"]
    assert after["nodes"] > versions["nodes"]  # the append happened, then was restored

    # Once the cause is gone, the shard is ingested (the failed run did not log it).
    spark.sql(f"ALTER TABLE delta.`{table_path(lake, 'transcripts')}` DROP CONSTRAINT known_videos")
    result = explode(spark, [str(tmp_path / "in")], lake)
    assert result.files_read == 1 and _counts(spark, lake)["nodes"] == 10


def test_a_failed_first_run_leaves_no_table_behind(spark, tmp_path, lake, real_sample):
    corrupt = tmp_path / "in" / "corrupt.parquet"
    _corrupt_copy(real_sample, corrupt)

    with pytest.raises(Exception, match="corrupt.parquet"):
        explode(spark, [str(corrupt)], lake)

    assert all(table_version(spark, table_path(lake, t)) is None for t in EXPLODE_TABLES)


def _corrupt_copy(source, target):
    """A copy whose footer reads fine but whose compressed pages do not decode."""
    import pyarrow.parquet as pq

    target.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pq.read_table(source), target, compression="zstd")
    size = target.stat().st_size
    with open(target, "r+b") as f:
        f.seek(size // 3)
        f.write(b"\xff" * 4096)


def test_a_later_shard_is_logged_with_its_own_counts(spark, tmp_path, lake):
    """Regression: writing `videos` made Spark recompute the cached rejects, so every video of a
    second run was logged as quarantined (the quarantine table itself was right)."""
    first = write_raw(tmp_path / "a.parquet", [small_tree_video("vidfirst001")])
    second = write_raw(
        tmp_path / "b.parquet",
        [small_tree_video("vidsecond01"), small_tree_video("vidsecond02")],
    )
    explode(spark, [str(first)], lake)
    explode(spark, [str(first), str(second)], lake)
    logged = {
        r.source_file.rsplit("/", 1)[-1]: (r.rows_read, r.videos_written, r.videos_quarantined)
        for r in read_table(spark, lake, "ingest_log").collect()
    }
    assert logged == {"a.parquet": (1, 1, 0), "b.parquet": (2, 2, 0)}
