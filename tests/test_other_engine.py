"""The published tables are plain Delta: another engine (delta-rs) reads the same rows."""

from __future__ import annotations

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from deltalake import DeltaTable

from pipelines.core.lake import table_path
from pipelines.ingest.stage import explode


@pytest.fixture(scope="module")
def lake(spark, real_sample, tmp_path_factory):
    lake = str(tmp_path_factory.mktemp("engine") / "lake")
    explode(spark, [str(real_sample)], lake)
    return lake


def test_delta_rs_reads_the_same_rows_as_spark(spark, lake):
    for table in ("videos", "nodes", "transcripts", "ingest_log"):
        by_rs = DeltaTable(table_path(lake, table)).to_pyarrow_table()
        assert by_rs.num_rows == spark.read.format("delta").load(table_path(lake, table)).count(), (
            table
        )


def test_delta_rs_sees_exact_values(lake, real_sample):
    nodes = DeltaTable(table_path(lake, "nodes")).to_pyarrow_table()
    source = pc.list_flatten(pq.read_table(real_sample)["nodes"]).combine_chunks()
    assert sorted(nodes["node_id"].to_pylist()) == sorted(source.field("node_id").to_pylist())
    assert sorted(nodes["start"].to_pylist()) == sorted(source.field("start").to_pylist())
    assert str(nodes.schema.field("level").type) == "int16"
    videos = DeltaTable(table_path(lake, "videos")).to_pyarrow_table()
    assert str(videos.schema.field("upload_date").type) == "date32[day]"
    assert pc.sum(videos["node_count"]).as_py() == 4480
