"""The real 10-video sample goes in and comes out exact."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from pipelines.core.lake import read_table
from pipelines.core.raw import RAW_ARROW_SCHEMA
from pipelines.core.records import nest
from pipelines.ingest.stage import explode
from tests.conftest import REAL_SAMPLE_JSON, require_real_sample

README = Path(__file__).resolve().parents[1] / "README.md"


def readme_sample_run() -> list[str]:
    """The lines README shows of a run on the real sample ("Your own copy of the dataset")."""
    section = README.read_text().split("## Your own copy of the dataset", 1)[1]
    block = section.split("```\n", 2)[1]
    assert block.startswith("$ a100m run --input "), block[:80]
    return block.splitlines()


def _nested_back(spark, lake) -> pa.Table:
    back = nest(*(read_table(spark, lake, t) for t in ("videos", "nodes", "transcripts")))
    return _sorted(back.toArrow().cast(RAW_ARROW_SCHEMA))


def _sorted(table: pa.Table) -> pa.Table:
    return table.take(pc.sort_indices(table, [("video_uid", "ascending")]))


@pytest.fixture(scope="module")
def sample_lake(spark, real_sample, tmp_path_factory):
    lake = str(tmp_path_factory.mktemp("sample") / "lake")
    result = explode(spark, [str(real_sample)], lake)
    return lake, result


def test_row_counts_of_the_real_sample(spark, sample_lake, real_sample):
    lake, result = sample_lake
    source = pq.read_table(real_sample)
    nodes = pc.list_flatten(source["nodes"])
    lines = pc.list_flatten(source["metadata"].combine_chunks().field("transcript"))
    assert (len(source), len(nodes), len(lines)) == (10, 4480, 1126)
    assert result.rows_written == {
        "videos": 10,
        "nodes": 4480,
        "transcripts": 1126,
        "ingest_log": 1,
    }
    assert read_table(spark, lake, "nodes").count() == 4480
    assert read_table(spark, lake, "transcripts").count() == 1126


def test_the_readme_shows_what_a_run_on_the_real_sample_writes(spark, sample_lake):
    """README's figures for the sample come from a run: an older explode or another sample would
    not give them."""
    lake, result = sample_lake
    lines = readme_sample_run()
    written = {
        m["table"]: int(m["rows"])
        for line in lines
        if (m := re.fullmatch(r"  (?P<table>\w+) +\+ +(?P<rows>\d+) rows  -> version 1", line))
        and m["table"] in result.rows_written
    }
    assert written == result.rows_written
    raw_rows = re.search(r"(\d+) raw rows", lines[1])
    assert raw_rows and int(raw_rows[1]) == 10
    figures = next(line for line in lines if " leaves, " in line)
    nodes = read_table(spark, lake, "nodes")
    counted = {
        "videos": read_table(spark, lake, "videos").count(),
        "nodes": nodes.count(),
        "leaves": nodes.where("is_leaf").count(),
        "annotated": nodes.where("has_gpt").count(),
    }
    shown = {name: int(n.replace(",", "")) for n, name in re.findall(r"(\d[\d,]*) (\w+)", figures)}
    assert {k: shown[k] for k in counted} == counted, figures
    na = re.search(r"N/A (\d+) ", figures)
    assert na and int(na[1]) == nodes.where("action_brief = 'N/A'").count()


def test_real_sample_nests_back_exactly(spark, sample_lake, real_sample):
    lake, _ = sample_lake
    source = _sorted(pq.read_table(real_sample).cast(RAW_ARROW_SCHEMA))
    back = _nested_back(spark, lake)
    assert back.num_rows == source.num_rows
    for column in RAW_ARROW_SCHEMA.names:  # column by column, so a failure names the column
        assert back[column].equals(source[column]), column


def test_float32_times_are_stored_unrounded(spark, sample_lake, real_sample):
    lake, _ = sample_lake
    source_ends = pc.list_flatten(pq.read_table(real_sample)["nodes"]).combine_chunks().field("end")
    stored = read_table(spark, lake, "nodes").select("end").toArrow()["end"]
    assert sorted(stored.to_pylist()) == sorted(source_ends.to_pylist())
    assert 13.550000190734863 in stored.to_pylist()  # float32 13.55, kept bit for bit


def test_derived_columns_agree_with_the_real_data_facts(spark, sample_lake):
    lake, _ = sample_lake
    nodes = read_table(spark, lake, "nodes")
    assert nodes.where("is_leaf").count() == 2245
    assert nodes.where("has_gpt").count() == 1237
    assert nodes.where("not is_leaf and child_count != 2").count() == 0
    assert nodes.where("action_brief = 'N/A'").count() == 42
    videos = read_table(spark, lake, "videos")
    assert videos.where("upload_date is null").count() == 0
    assert sorted(r.max_level for r in videos.collect()) == sorted(
        r.m for r in nodes.groupBy("video_uid").agg({"level": "max"}).toDF("v", "m").collect()
    )


def test_the_json_form_ingests_like_the_parquet_row(spark, real_sample, tmp_path):
    require_real_sample(REAL_SAMPLE_JSON)
    lake = str(tmp_path / "lake")
    explode(spark, [str(REAL_SAMPLE_JSON)], lake)
    back = _nested_back(spark, lake)
    source = pq.read_table(real_sample).cast(RAW_ARROW_SCHEMA)
    row = source.filter(pc.equal(source["video_uid"], "hySSAAw4t24"))
    assert back.equals(row)
    assert json.loads(REAL_SAMPLE_JSON.read_text())["video_uid"] == ["hySSAAw4t24"]
