"""Validation against generated damage: every check finds exactly what was injected, nothing else."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from pyspark.sql import functions as F

from pipelines.cli import EXIT_DATA, EXIT_OK, EXIT_USAGE, main
from pipelines.core.contracts import RAW_SCHEMA
from pipelines.core.lake import read_table
from pipelines.core.records import nest
from pipelines.ingest.sources import read_raw, resolve_inputs
from pipelines.ingest.stage import explode
from pipelines.quality.rules import CHECK_PREFIX, RULES, WARN
from pipelines.quality.suites import load_suites
from pipelines.quality.validate import build_frames, validate
from pipelines.synth import BROKEN_RULES, generate
from tests.test_real_sample import readme_sample_run

# What each injected fault must make each fail-severity rule flag, per injection: the generator
# declares it (pipelines/synth/faults.py), by the registry's rule names. "affected" means
# len(affected_nodes).
EXPECTED_PER_FAULT = BROKEN_RULES
WARN_CHECKS = {r.name for r in RULES if r.severity == WARN}


@pytest.fixture(scope="module")
def damaged(spark, tmp_path_factory):
    root = tmp_path_factory.mktemp("damaged")
    manifest = generate(root / "raw", videos=90, seed=3, shards=2, faults=True)
    shards = [str(root / "raw" / name) for name in manifest["files"]]
    lake = str(root / "lake")
    explode(spark, shards, lake)
    frames = build_frames(spark, lake, {t: None for t in ("videos", "nodes", "transcripts")})
    failures = _failures_per_video(frames)  # before validate() quarantines anything
    result = validate(spark, lake, str(root / "report"), "run-damaged")
    return manifest, shards, lake, root / "report", failures, result


def _failures_per_video(frames) -> dict[str, Counter]:
    """video_uid -> Counter(check -> offending rows), over every check frame."""
    per_video: dict[str, Counter] = defaultdict(Counter)
    for name in ("node_checks", "video_checks", "transcript_checks"):
        frame = frames[name]
        checks = [c for c in frame.columns if c.startswith(CHECK_PREFIX)]
        counts = frame.groupBy("video_uid").agg(
            *[F.count(F.col(c)).alias(c.removeprefix(CHECK_PREFIX)) for c in checks]
        )
        for row in counts.collect():
            for check, n in row.asDict().items():
                if check != "video_uid" and n:
                    per_video[row.video_uid][check] += n
    return per_video


def _expected(fault: dict) -> Counter:
    return Counter(
        {
            check: len(fault["affected_nodes"]) if n == "affected" else n
            for check, n in EXPECTED_PER_FAULT[fault["kind"]].items()
        }
    )


def test_each_fault_fails_exactly_its_checks_with_the_injected_counts(damaged):
    manifest, _, _, _, failures, _ = damaged
    row_faults = [f for f in manifest["row_faults"] if f["kind"] in EXPECTED_PER_FAULT]
    assert {f["kind"] for f in row_faults} == set(EXPECTED_PER_FAULT)
    for fault in row_faults:
        found = Counter(
            {k: v for k, v in failures.get(fault["video_uid"], {}).items() if k not in WARN_CHECKS}
        )
        assert found == _expected(fault), fault


def test_videos_without_faults_pass_every_fail_check(damaged):
    manifest, _, _, _, failures, _ = damaged
    faulty = {f["video_uid"] for f in manifest["row_faults"]}
    clean_failures = {
        video: {k: v for k, v in checks.items() if k not in WARN_CHECKS}
        for video, checks in failures.items()
        if video not in faulty
    }
    assert {v: c for v, c in clean_failures.items() if c} == {}


def test_gx_unexpected_counts_are_the_true_totals(damaged):
    manifest, shards, _, _, _, result = damaged
    expected = Counter()
    for fault in manifest["row_faults"]:
        if fault["kind"] in EXPECTED_PER_FAULT:
            expected += _expected(fault)
    by_check = {o.check_id: o for o in result.outcomes if o.asset.endswith("_checks")}
    for check, outcome in by_check.items():
        if check in WARN_CHECKS:
            continue
        assert outcome.unexpected_count == expected.get(check, 0), check
        assert outcome.success == (expected.get(check, 0) == 0), check
    # the warn-level quirk, counted independently from the raw files
    assert by_check["end_within_video_duration"].unexpected_count == _ends_past_duration(
        shards, 0.0
    )
    assert by_check["end_within_video_duration_1s"].unexpected_count == _ends_past_duration(
        shards, 1.0
    )
    assert not result.passed


def _ends_past_duration(shards: list[str], slack: float) -> int:
    """Nodes ending more than slack after their video's duration, counted with pyarrow alone.

    The copy of a video duplicated across shards is not ingested, so it is counted once."""
    seen, total = set(), 0
    for shard in shards:
        table = pq.read_table(shard)
        for uid, meta, nodes in zip(
            table["video_uid"].to_pylist(),
            table["metadata"].to_pylist(),
            table["nodes"].to_pylist(),
            strict=True,
        ):
            if uid in seen:
                continue
            seen.add(uid)
            total += sum(1 for n in nodes if n["end"] > meta["duration"] + slack)
    return total


def test_quarantine_holds_exactly_the_damaged_videos_with_their_reasons(spark, damaged):
    manifest, _, lake, _, _, _ = damaged
    quarantine = {
        r.video_uid + "@" + r.source_file: r
        for r in read_table(spark, lake, "quarantine").collect()
    }
    by_uid = defaultdict(list)
    for r in quarantine.values():
        by_uid[r.video_uid].append(r)
    for fault in manifest["row_faults"]:
        records = by_uid[fault["video_uid"]]
        if fault["kind"] == "duplicate_video_across_shards":
            assert any(r.reason_codes == ["duplicate_video"] for r in records), fault
        else:
            [record] = records
            assert record.reason_codes == sorted(_expected(fault)), fault
    faulty = {f["video_uid"] for f in manifest["row_faults"]}
    assert set(by_uid) == faulty
    kept = {r.video_uid for r in read_table(spark, lake, "videos").collect()}
    assert not kept & (
        faulty
        - {
            f["video_uid"]
            for f in manifest["row_faults"]
            if f["kind"] == "duplicate_video_across_shards"
        }
    )


def test_kept_plus_quarantined_is_exactly_the_input(spark, damaged):
    _, shards, lake, _, _, _ = damaged
    raw = read_raw(spark, resolve_inputs(spark, shards))
    as_json = F.sha2(F.to_json(F.struct(*RAW_SCHEMA.names)), 256)
    source = sorted(r[0] for r in raw.select(as_json).collect())
    kept = nest(*(read_table(spark, lake, t) for t in ("videos", "nodes", "transcripts")))
    out = [r[0] for r in kept.select(as_json).collect()]
    out += [
        r[0]
        for r in read_table(spark, lake, "quarantine").select(F.sha2("raw_record", 256)).collect()
    ]
    assert sorted(out) == source


def test_results_are_written_as_gx_json_data_docs_and_history(spark, damaged):
    _, _, lake, report, _, result = damaged
    results = sorted(Path(result.results_dir).glob("*.json"))
    assert {p.stem for p in results} == {s.name for s in load_suites()}
    assert '"unexpected_count"' in (Path(result.results_dir) / "tree.json").read_text()
    validations = report / "gx" / "uncommitted" / "data_docs" / "local_site" / "validations"
    pages = list(validations.rglob("*.html"))
    # the site, built once after the last suite, has a page for every suite's result
    assert {p.relative_to(validations).parts[0] for p in pages} == {s.name for s in load_suites()}
    tree_page = next(p for p in pages if "/tree/" in str(p))
    assert "chk_tiles_parent" in tree_page.read_text()
    dq = read_table(spark, lake, "dq_results").where("run_id = 'run-damaged'")
    # One row per expectation for what the run checked, and one for the lake as it stands.
    expectations = sum(len(s.data["expectations"]) for s in load_suites())
    assert dq.where("scope = 'run'").count() == len(result.outcomes) == expectations
    assert dq.where("scope = 'lake'").count() == len(result.lake_outcomes) == expectations
    tiles = dq.where("check_id = 'tiles_parent' AND scope = 'run'").first()
    assert (tiles.success, tiles.severity, tiles.table_name) == (False, "fail", "nodes")
    # Its videos were quarantined by the same run: the lake keeps none of the offences.
    assert (tiles.kept_unexpected_count, tiles.unexpected_count > 0) == (0, True)
    assert not result.lake_failed
    assert "FAIL [fail] tree.tiles_parent" in result.summary()


def test_a_second_validation_passes_once_the_bad_videos_are_quarantined(spark, damaged, tmp_path):
    _, _, lake, _, _, _ = damaged
    code = main(["validate", "--lake", lake, "--report", str(tmp_path / "report")])
    assert code == EXIT_OK


def test_the_real_sample_passes_with_the_duration_quirk_at_warn_level(
    spark, real_sample, tmp_path, capsys
):
    lake = str(tmp_path / "lake")
    explode(spark, [str(real_sample)], lake)
    code = main(["validate", "--lake", lake, "--report", str(tmp_path / "report")])
    out = capsys.readouterr().out
    assert code == EXIT_OK
    assert "note [warn] temporal.end_within_video_duration              55 rows" in out
    assert "note [warn] temporal.end_within_video_duration_1s           36 rows" in out
    # README's run on the sample shows these lines: they are this run's
    shown = [line for line in readme_sample_run() if "note [warn]" in line or "e.g. " in line]
    assert len(shown) == 4 and all(line in out.splitlines() for line in shown), shown
    assert read_table(spark, lake, "nodes").count() == 4480  # nothing quarantined


def test_validate_exit_codes_for_failures_and_missing_tables(spark, tmp_path, damaged):
    manifest, shards, _, _, _, _ = damaged
    lake = str(tmp_path / "lake")
    explode(spark, shards[:1], lake)
    assert (
        main(["validate", "--lake", lake, "--report", str(tmp_path / "r"), "--no-quarantine"])
        == EXIT_DATA
    )
    assert (
        main(["validate", "--lake", str(tmp_path / "empty"), "--report", str(tmp_path / "r")])
        == EXIT_USAGE
    )


def test_rows_whose_video_is_gone_are_quarantined_row_by_row(spark, tmp_path):
    """An edit (or an old crash) left nodes and transcript lines of a video with no videos row:
    each is quarantined as it was found, nothing is lost."""
    from pipelines.core.runs import journaled_write
    from tests.rawdata import small_tree_video, write_raw

    lake = str(tmp_path / "lake")
    shard = write_raw(
        tmp_path / "in.parquet", [small_tree_video("vidkeep0001"), small_tree_video("vidgone0001")]
    )
    explode(spark, [str(shard)], lake)
    # an edit that commits like a stage (readers see committed versions only)
    with journaled_write(spark, lake, "an-edit", "edit", ["videos"]) as write:
        gone = spark.createDataFrame([("vidgone0001",)], "video_uid string")
        write.delete_videos("videos", gone)
    result = validate(spark, lake, str(tmp_path / "report"), "orphans")
    failed = {o.check_id: o.unexpected_count for o in result.failed}
    assert failed == {"node_video_exists": 5, "transcript_video_exists": 2}
    rows = read_table(spark, lake, "quarantine").where("video_uid = 'vidgone0001'").collect()
    kinds = sorted((r.record_type, r.node_id, r.source_file) for r in rows)
    assert kinds == [
        *[("node", n, "lake:nodes") for n in ("a", "a1", "a2", "b", "r")],
        ("transcript_line", None, "lake:transcripts"),
        ("transcript_line", None, "lake:transcripts"),
    ]
    assert all("node_video_exists" in r.reason_codes for r in rows if r.record_type == "node")
    assert {json.loads(r.raw_record)["node_id"] for r in rows if r.record_type == "node"} == {
        "r",
        "a",
        "b",
        "a1",
        "a2",
    }
    for table in ("nodes", "transcripts"):
        assert read_table(spark, lake, table).where("video_uid = 'vidgone0001'").count() == 0
    assert read_table(spark, lake, "nodes").where("video_uid = 'vidkeep0001'").count() == 5


def test_a_transcript_time_of_nan_is_quarantined(spark, tmp_path):
    from tests.rawdata import small_tree_video, write_raw

    lake = str(tmp_path / "lake")
    video = small_tree_video("vidnantime1")
    video["metadata"]["transcript"][1]["time"] = "NaN"
    explode(spark, [str(write_raw(tmp_path / "in.parquet", [video]))], lake)
    validate(spark, lake, str(tmp_path / "report"), "nan")
    [record] = read_table(spark, lake, "quarantine").collect()
    assert record.reason_codes == ["time_finite"]
    assert "vidnantime1/1: time NaN is not a finite number" in record.reason_detail
