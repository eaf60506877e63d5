"""The benchmark harness runs end to end on a tiny corpus and reports consistent ratios."""

from __future__ import annotations

import json

from benchmarks.harness import main, scaling


def test_the_harness_writes_stage_times_and_ratios(spark, tmp_path):
    assert main(["--videos", "6", "--seed", "2", "--shards", "1", "--work", str(tmp_path)]) == 0
    result = json.loads((tmp_path / "result-6.json").read_text())
    stages = result["stages"]
    for stage in ("duckdb_unnest", "duckdb_sql", "explode", "validate", "stats", "pipeline", "run"):
        assert stages[stage]["seconds"] > 0, stage
    assert stages["explode"]["rows"] == result["nodes"] > 0
    # every ratio is judged against the budget docs/environment.md states
    assert result["budgets"] == {
        "explode / duckdb_unnest": 1.5,
        "pipeline / duckdb_sql": 2.0,
        "validate / explode": 0.5,
        "night on the lake / on an empty lake": 1.25,
        "run / duckdb_sql": 2.0,
    }
    # The night of a tenth as many videos (here 1) ran on the lake, on an empty lake, and with
    # the whole corpus from scratch.
    for where in ("night_on_lake", "night_on_empty", "all_from_scratch"):
        for stage in ("explode", "validate", "stats"):
            assert stages[f"{where}_{stage}"]["seconds"] > 0, (where, stage)
    assert set(result["ratios"]) == set(result["budgets"])
    assert result["driver_peak_rss_mb"] > 0
    # The whole `a100m run` in its own process wrote the same lake as the stages did here.
    run_lake = tmp_path / "run" / "lake"
    assert spark.read.format("delta").load(str(run_lake / "nodes")).count() == result["nodes"]


def test_scaling_compares_the_largest_size_with_the_smallest():
    def result(videos, nodes, seconds, rss):
        stages = {s: {"seconds": seconds} for s in ("explode", "validate", "stats", "pipeline")}
        stages["duckdb_sql"] = {"seconds": seconds / 10}
        return {"videos": videos, "nodes": nodes, "stages": stages, "driver_peak_rss_mb": rss}

    scale = scaling([result(10, 4_000, 20.0, 900), result(100, 40_000, 100.0, 1000)])
    assert scale["videos"] == [10, 100]
    assert scale["data_ratio"] == 10
    assert scale["time_ratio"]["explode"] == 5
    assert scale["driver_peak_rss_mb"] == [900, 1000]
