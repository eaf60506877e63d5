"""The a100m command in process, on the shared session."""

from __future__ import annotations

from pipelines.cli import EXIT_OK, main
from pipelines.core.lake import read_table
from tests.rawdata import small_tree_video, write_raw


def test_run_prints_tables_rows_versions_and_stage_times(spark, tmp_path, lake, capsys):
    shard = write_raw(tmp_path / "in" / "shard-0.parquet", [small_tree_video()])
    code = main(
        ["run", "--input", str(shard), "--lake", lake, "--report", str(tmp_path / "report")]
    )
    out = capsys.readouterr().out
    assert code == EXIT_OK
    assert "nodes        +        5 rows  -> version 1" in out
    assert "videos       +        1 rows  -> version 1" in out
    assert "stage explode" in out
    assert read_table(spark, lake, "videos").count() == 1

    code = main(["explode", "--input", str(shard), "--lake", lake])
    assert code == EXIT_OK
    assert "1 already ingested, 0 read" in capsys.readouterr().out
