"""The benchmark harness runs end to end on a tiny corpus and reports consistent ratios."""

from __future__ import annotations

import json

import pytest

from benchmarks.harness import main


def test_the_harness_writes_stage_times_and_ratios(spark, tmp_path):
    assert main(["--videos", "6", "--seed", "2", "--shards", "1", "--work", str(tmp_path)]) == 0
    result = json.loads((tmp_path / "result-6.json").read_text())
    stages = result["stages"]
    for stage in ("duckdb_unnest", "duckdb_sql", "explode", "validate", "stats", "pipeline"):
        assert stages[stage]["seconds"] > 0, stage
    assert stages["explode"]["rows"] == result["nodes"] > 0
    assert result["ratios"]["validate / explode"] == pytest.approx(
        stages["validate"]["seconds"] / stages["explode"]["seconds"]
    )
    assert result["driver_peak_rss_mb"] > 0
