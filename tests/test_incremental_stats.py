"""Mergeable statistics: each stats run computes the partials of new or changed ingest runs only,
and the merged figures equal a from-scratch (`--full`) computation of the same lake."""

from __future__ import annotations

import numpy as np
import pytest
from pyspark.sql import functions as F

from pipelines.cli import EXIT_DATA, EXIT_OK, main
from pipelines.core.contracts import STATS_PARTIALS_SCHEMA
from pipelines.core.errors import LakeStateError
from pipelines.core.lake import read_table, table_path, table_version
from pipelines.core.runs import journaled_write, new_run_id
from pipelines.ingest.stage import explode
from pipelines.quality.validate import validate
from pipelines.stats.partials import QUANTILE_RANK_ERROR
from pipelines.stats.plan import FULL, INCREMENTAL
from pipelines.stats.stage import compute_stats
from pipelines.synth import generate

QUANTILE_NAMES = {
    f"{prefix}{q}"
    for prefix in ("duration_", "nodes_per_video_", "depth_", "branching_")
    for q in ("p10", "p50", "p90")
}


@pytest.fixture(scope="module")
def four_parts(spark, tmp_path_factory):
    """A damaged corpus ingested in four parts with stats after each; before the third night's
    stats a full validation quarantines damaged videos of the first nights' runs."""
    root = tmp_path_factory.mktemp("stats_nights")
    manifest = generate(root / "raw", videos=90, seed=5, shards=4, faults=True)
    lake, report = str(root / "lake"), str(root / "report")
    ingests, nights = [], []
    for night, name in enumerate(manifest["files"]):
        ingests.append(explode(spark, [str(root / "raw" / name)], lake, run_id=new_run_id()).run_id)
        if night == 2:
            validate(spark, lake, report, new_run_id(), quarantine=True, full=True)
        nights.append(compute_stats(spark, lake, str(root / f"stats-{night}"), new_run_id()))
    return lake, root, ingests, nights


def _summary(result) -> dict[str, tuple[float | None, str]]:
    return {r["name"]: (r["value"], r["unit"]) for r in result.figures["summary"]}


def test_each_stats_run_computes_only_new_or_changed_runs(spark, four_parts):
    lake, _, ingests, nights = four_parts
    parts = [n.figures["partials"] for n in nights]
    assert nights[0].figures["mode"] == FULL and parts[0]["computed"] == [ingests[0]]
    assert nights[1].figures["mode"] == INCREMENTAL
    assert parts[1]["computed"] == [ingests[1]] and parts[1]["kept"] == 1
    # night 2: its own run, plus the earlier runs that lost quarantined videos, no others
    gone = read_table(spark, lake, "quarantine").select("video_uid").distinct()
    before = read_table(spark, lake, "videos", nights[1].videos_version)
    quarantined = {
        r.ingest_run_id
        for r in before.join(gone, "video_uid").select("ingest_run_id").distinct().collect()
    }
    assert quarantined, "the faults should have hit the first nights"
    assert set(parts[2]["computed"]) == {ingests[2], *quarantined}
    assert parts[3]["computed"] == [ingests[3]] and parts[3]["kept"] == 3
    # the stored partials hold each run once
    stored = read_table(spark, lake, "stats_partials").where(F.col("kind") == "totals")
    assert sorted(r.ingest_run_id for r in stored.collect()) == sorted(ingests)


def test_incremental_figures_equal_a_full_recomputation(spark, four_parts):
    lake, root, _, nights = four_parts
    incremental = nights[-1]
    full = compute_stats(spark, lake, str(root / "full"), new_run_id(), full=True)
    assert full.figures["mode"] == FULL and len(full.figures["partials"]["computed"]) == 4
    mine, theirs = _summary(incremental), _summary(full)
    assert mine.keys() == theirs.keys()
    for name, (value, unit) in theirs.items():
        if name in QUANTILE_NAMES:
            continue
        if unit == "count":
            assert mine[name][0] == value, name
        else:
            assert mine[name][0] == pytest.approx(value, rel=1e-9, abs=1e-12), name
    for table in ("verbs", "verb_objects", "actors", "duplicates", "levels", "fields"):
        assert incremental.figures[table] == full.figures[table], table
    # a run with nothing new computes nothing, and merges the partials the full run stored
    again = compute_stats(spark, lake, str(root / "again"), new_run_id())
    assert again.figures["partials"] == {"computed": [], "dropped": [], "kept": 4}
    assert "stats_partials" not in again.versions and "actions" not in again.versions
    assert {n: v for n, (v, u) in _summary(again).items() if u == "count"} == {
        n: v for n, (v, u) in theirs.items() if u == "count"
    }
    # quantiles: within the stated rank error of the exact ones, both ways
    durations = np.sort(
        np.array(
            [r.duration for r in read_table(spark, lake, "nodes").select("duration").collect()],
            dtype=float,
        )
    )
    n = len(durations)
    for result in (incremental, full):
        figures = _summary(result)
        for q in (0.1, 0.5, 0.9):
            value = figures[f"duration_p{round(q * 100)}"][0]
            low = np.searchsorted(durations, value, "left") / n
            high = np.searchsorted(durations, value, "right") / n
            assert low - QUANTILE_RANK_ERROR - 1 / n <= q <= high + QUANTILE_RANK_ERROR + 1 / n


def _plant(spark, lake: str, ingest_run_id: str, sketch_format: str) -> None:
    """One partials row committed through the journal, as a buggy or older writer would."""
    row = read_table(spark, lake, "stats_partials").where(F.col("kind") == "totals").limit(1)
    planted = row.withColumn("ingest_run_id", F.lit(ingest_run_id)).withColumn(
        "sketch_format", F.lit(sketch_format)
    )
    with journaled_write(spark, lake, new_run_id(), "tamper", ["stats_partials"]) as write:
        write.append("stats_partials", planted, STATS_PARTIALS_SCHEMA)


def test_bad_partials_are_refused_in_one_line_and_full_rebuilds(spark, four_parts, capsys):
    lake, root, _, nights = four_parts
    from pipelines.stats.partials import SKETCH_FORMAT

    for ingest_run_id, sketch_format, words in (
        ("20990101T000000Z-ghost", SKETCH_FORMAT, "no explode in the run journal committed"),
        (nights[0].figures["partials"]["computed"][0], "kll_float/k=200", "kll_float/k=200"),
    ):
        _plant(spark, lake, ingest_run_id, sketch_format)
        before = {
            t: table_version(spark, table_path(lake, t))
            for t in ("stats_partials", "actions", "stats_summary")
        }
        with pytest.raises(LakeStateError, match=words):
            compute_stats(spark, lake, str(root / "refused"), new_run_id())
        code = main(["stats", "--lake", lake, "--out", str(root / "refused")])
        err = capsys.readouterr().err.strip().splitlines()
        assert code == EXIT_DATA and len(err) == 1 and "with stats --full" in err[0], err
        after = {t: table_version(spark, table_path(lake, t)) for t in before}
        assert after == before
        assert main(["stats", "--full", "--lake", lake, "--out", str(root / "rebuilt")]) == EXIT_OK
        capsys.readouterr()
    formats = read_table(spark, lake, "stats_partials").select("sketch_format").distinct()
    assert [r.sketch_format for r in formats.collect()] == [SKETCH_FORMAT]


def test_full_stats_on_an_empty_lake_is_one_line(tmp_path, capsys):
    code = main(["stats", "--full", "--lake", str(tmp_path / "empty")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == EXIT_DATA
    assert len(err) == 1 and "nothing to recompute" in err[0] and "empty" in err[0]
