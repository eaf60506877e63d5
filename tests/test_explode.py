"""The explode stage on a hand-built tree whose every value was worked out by hand."""

from __future__ import annotations

import datetime as dt

from pyspark.sql import Row
from pyspark.sql import functions as F
from pyspark.testing import assertDataFrameEqual

from pipelines.core.contracts import NODES_SCHEMA, RAW_SCHEMA, TRANSCRIPTS_SCHEMA, VIDEOS_SCHEMA
from pipelines.core.lake import read_table
from pipelines.core.records import nest
from pipelines.ingest.flatten import to_nodes, to_transcripts, to_videos
from pipelines.ingest.sources import read_raw, resolve_inputs
from pipelines.ingest.stage import explode
from tests.rawdata import columns_and_types, small_tree_video, write_raw


def _raw(spark, tmp_path, rows):
    path = write_raw(tmp_path / "in" / "shard.parquet", rows)
    return read_raw(spark, resolve_inputs(spark, [str(path)]))


def test_nodes_of_a_hand_built_tree(spark, tmp_path):
    nodes = to_nodes(_raw(spark, tmp_path, [small_tree_video()]), "run-1")
    assert columns_and_types(nodes) == columns_and_types(NODES_SCHEMA)
    got = nodes.select(
        "seq",
        "node_id",
        "parent_id",
        "level",
        "duration",
        "child_count",
        "is_leaf",
        "has_gpt",
        "action_brief",
        "llama3_caption",
    )
    expected = [
        Row(
            seq=0,
            node_id="r",
            parent_id=None,
            level=0,
            duration=10.0,
            child_count=2,
            is_leaf=False,
            has_gpt=True,
            action_brief="Cook soup",
            llama3_caption=None,
        ),
        Row(
            seq=1,
            node_id="a",
            parent_id="r",
            level=1,
            duration=6.0,
            child_count=2,
            is_leaf=False,
            has_gpt=True,
            action_brief="Cutting onions",
            llama3_caption=None,
        ),
        Row(
            seq=2,
            node_id="b",
            parent_id="r",
            level=1,
            duration=4.0,
            child_count=0,
            is_leaf=True,
            has_gpt=False,
            action_brief=None,
            llama3_caption="llama caption b",
        ),
        Row(
            seq=3,
            node_id="a1",
            parent_id="a",
            level=2,
            duration=2.5,
            child_count=0,
            is_leaf=True,
            has_gpt=False,
            action_brief=None,
            llama3_caption="llama caption a1",
        ),
        Row(
            seq=4,
            node_id="a2",
            parent_id="a",
            level=2,
            duration=3.5,
            child_count=0,
            is_leaf=True,
            has_gpt=False,
            action_brief=None,
            llama3_caption="llama caption a2",
        ),
    ]
    assertDataFrameEqual(got, expected, rtol=0, atol=0)


def test_videos_and_transcripts_of_a_hand_built_tree(spark, tmp_path):
    raw = _raw(spark, tmp_path, [small_tree_video()])
    videos = to_videos(raw, "run-1", F.lit(dt.datetime(2026, 1, 1)))
    assert columns_and_types(videos) == columns_and_types(VIDEOS_SCHEMA)
    row = videos.first()
    assert row.upload_date == dt.date(2020, 1, 31)
    assert row.upload_date_text == "20200131"
    assert (row.transcript_count, row.node_count, row.max_level) == (2, 5, 2)
    assert (row.view_count, row.like_count, row.duration) == (1200, 34, 10)
    assert row.source_file.endswith("/in/shard.parquet") and row.source_row == 0
    assert row.ingest_run_id == "run-1"

    transcripts = to_transcripts(raw, "run-1")
    assert columns_and_types(transcripts) == columns_and_types(TRANSCRIPTS_SCHEMA)
    assertDataFrameEqual(
        transcripts.select("seq", "time", "time_text", "text"),
        [
            Row(seq=0, time=0.5, time_text="0.5", text="hello"),
            Row(seq=1, time=3.25, time_text="3.25", text="now we stir"),
        ],
    )


def test_null_and_empty_lists_and_bad_dates_survive_the_round_trip(spark, tmp_path):
    odd = small_tree_video("vid00000002")
    odd["metadata"]["transcript"] = None
    odd["metadata"]["upload_date"] = "2020-13-45"
    odd["nodes"][1]["gpt"]["summary"] = None  # gpt present, summary absent
    empty = small_tree_video("vid00000003")
    empty["metadata"]["transcript"] = []
    empty["nodes"] = []
    no_meta = small_tree_video("vid00000004")
    no_meta["metadata"] = None
    no_meta["nodes"] = None
    raw = _raw(spark, tmp_path, [odd, empty, no_meta])

    videos = to_videos(raw, "run-1", F.current_timestamp())
    by_uid = {r.video_uid: r for r in videos.collect()}
    assert by_uid["vid00000002"].upload_date is None
    assert by_uid["vid00000002"].upload_date_text == "2020-13-45"
    assert by_uid["vid00000002"].transcript_count is None
    assert by_uid["vid00000003"].transcript_count == 0 and by_uid["vid00000003"].node_count == 0
    assert by_uid["vid00000004"].has_metadata is False and by_uid["vid00000004"].node_count is None

    back = nest(videos, to_nodes(raw, "run-1"), to_transcripts(raw, "run-1"))
    assert columns_and_types(back) == columns_and_types(RAW_SCHEMA)
    assertDataFrameEqual(back, raw.select(*RAW_SCHEMA.names), rtol=0, atol=0)


def test_explode_writes_the_three_tables(spark, tmp_path, lake):
    path = write_raw(tmp_path / "in" / "shard.parquet", [small_tree_video()])
    result = explode(spark, [str(path)], lake)
    assert result.rows_written == {"nodes": 5, "transcripts": 2, "videos": 1, "ingest_log": 1}
    assert read_table(spark, lake, "nodes").count() == 5
    assert read_table(spark, lake, "videos").schema == VIDEOS_SCHEMA
    log = read_table(spark, lake, "ingest_log").first()
    assert (log.rows_read, log.videos_written, log.videos_quarantined) == (1, 1, 0)


def test_a_relative_lake_path_works(spark, tmp_path, monkeypatch):
    path = write_raw(tmp_path / "in" / "shard.parquet", [small_tree_video()])
    monkeypatch.chdir(tmp_path)
    result = explode(spark, [str(path)], "relative/lake")
    assert result.rows_written["videos"] == 1
    assert (tmp_path / "relative" / "lake" / "videos" / "_delta_log").is_dir()
