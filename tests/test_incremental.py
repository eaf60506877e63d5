"""Incremental validation: each run checks only the videos no validation has seen, and the lake's
merged figures equal a full re-validation of the same lake."""

from __future__ import annotations

import dataclasses

import pytest
from pyspark.sql import functions as F

from pipelines.cli import EXIT_DATA, main
from pipelines.core.lake import read_table
from pipelines.core.runs import new_run_id
from pipelines.ingest.stage import explode
from pipelines.quality.scope import FULL, INCREMENTAL
from pipelines.quality.suites import SuiteFile, load_suites
from pipelines.quality.validate import validate
from pipelines.synth import generate


def _counts(outcomes) -> dict[tuple[str, str], tuple[int | None, int | None, bool]]:
    return {
        (o.suite, o.check_id): (o.element_count, o.unexpected_count, o.success) for o in outcomes
    }


@pytest.fixture(scope="module")
def four_nights(spark, tmp_path_factory):
    """A damaged corpus ingested in four parts, validated after each: the first two nights
    quarantine what breaks a hard rule, the last two only report it."""
    root = tmp_path_factory.mktemp("nights")
    manifest = generate(root / "raw", videos=90, seed=11, shards=4, faults=True)
    shards = [str(root / "raw" / name) for name in manifest["files"]]
    lake, report = str(root / "lake"), str(root / "report")
    nights = []
    for night, shard in enumerate(shards):
        exploded = explode(spark, [shard], lake, run_id=new_run_id())
        result = validate(spark, lake, report, new_run_id(), quarantine=night < 2)
        nights.append((exploded.run_id, result))
    return lake, report, nights


def test_each_night_checks_only_its_own_videos(spark, four_nights):
    lake, _, nights = four_nights
    assert nights[0][1].mode == FULL and "first validation" in nights[0][1].scope_reason
    nodes = read_table(spark, lake, "nodes")
    for ingest_run, result in nights[1:]:
        assert result.mode == INCREMENTAL
        assert result.checked_runs == [ingest_run]
        node_rows = next(o for o in result.outcomes if o.asset == "node_checks")
        # Nothing was quarantined after the last two nights: their nodes are all still there.
        if not result.quarantined_videos:
            assert (
                node_rows.element_count == nodes.where(F.col("ingest_run_id") == ingest_run).count()
            )


def test_merged_figures_equal_a_full_revalidation(spark, four_nights):
    lake, report, nights = four_nights
    incremental = nights[-1][1]
    full = validate(spark, lake, report, new_run_id(), quarantine=False, full=True)
    assert full.mode == FULL and full.scope_reason == "a full re-validation asked"
    # Every count the full run took, the incremental runs' merge gave, check by check.
    counted = {k: v for k, v in _counts(full.outcomes).items() if v[1] is not None}
    merged = _counts(incremental.lake_outcomes)
    assert counted and {k: merged[k] for k in counted} == counted
    # The damage of the last two nights is still in the lake, and both say so.
    assert any(unexpected for _, unexpected, _ in counted.values())
    assert incremental.lake_failed and {o.check_id for o in incremental.lake_failed} == {
        o.check_id for o in full.failed
    }


def test_a_night_with_nothing_new_keeps_the_verdict(spark, four_nights):
    lake, report, nights = four_nights
    again = validate(spark, lake, report, run_id := new_run_id())
    assert again.mode == INCREMENTAL and again.checked_runs == [] and again.outcomes == []
    assert _counts(again.lake_outcomes) == _counts(nights[-1][1].lake_outcomes)
    assert not again.passed  # judged on the lake's figures when nothing was checked
    rows = read_table(spark, lake, "dq_results").where(F.col("run_id") == run_id)
    assert {r.scope for r in rows.select("scope").collect()} == {"lake"}


def test_a_changed_suite_revalidates_everything(spark, tmp_path):
    generate(tmp_path / "raw", videos=6, seed=2)
    lake, report = str(tmp_path / "lake"), str(tmp_path / "report")
    explode(spark, [str(tmp_path / "raw")], lake)
    validate(spark, lake, report, new_run_id())
    suites = load_suites()
    first = suites[0]
    data = {**first.data, "meta": {**first.data["meta"], "note": "edited"}}
    changed = [dataclasses.replace(first, data=data), *suites[1:]]
    assert isinstance(changed[0], SuiteFile) and changed[0].content_hash != first.content_hash
    result = validate(spark, lake, report, new_run_id(), suites=changed)
    assert result.mode == FULL and "changed" in result.scope_reason
    assert result.checked_runs and result.outcomes


def test_full_on_a_lake_without_videos_is_one_line(spark, tmp_path, capsys):
    code = main(["validate", "--full", "--lake", str(tmp_path / "empty")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == EXIT_DATA
    assert len(err) == 1 and "nothing to re-validate" in err[0] and "empty" in err[0]
