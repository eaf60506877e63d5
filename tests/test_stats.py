"""The stats stage: every figure of hand-built trees worked out by hand, the real sample against
independent pyarrow/Python counts, a growing corpus, and the report.

Spark work is kept small: one module-scoped lake per dataset.
"""

from __future__ import annotations

import copy
import json
import re
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from pyspark.sql import functions as F

from pipelines.core.contracts import ACTIONS_SCHEMA, STATS_SCHEMAS, STATS_TABLES
from pipelines.core.errors import MissingTableError
from pipelines.core.lake import read_table, table_path, table_version
from pipelines.ingest.stage import explode
from pipelines.stats.stage import compute_stats
from pipelines.stats.verbs import (
    lemma_map,
    parse_actions,
    verb_lemma,
    verb_lemmas,
    with_verb_and_object,
)
from tests.rawdata import columns_and_types, node, small_tree_video, write_raw

HOUR = 3600.0


def second_video() -> dict:
    """A 70 s video, one level deeper than small_tree_video, built to hit the bucket edges.

    r 0-70 (gpt "Then quickly pour the water into a pot", actor "The chef")
      a 0-64 (gpt "N/A", actor "N/A")
        a1 0-3 leaf (exactly 3 s: in 3-10)
        a2 3-64 (gpt "cook  Soup", actor "the  Chef")
          a2x 3-60 leaf
          a2y 60-64 leaf
      b 64-70 leaf
    Durations: r 70, a 64, a2 61 (60+); a2x 57 (10-60); b 6, a1 3, a2y 4 (3-10); none in 0-3.
    """
    video = small_tree_video("vid00000002", duration=70)
    video["nodes"] = [
        node(
            "r",
            None,
            0,
            0.0,
            70.0,
            gpt=True,
            action="Then quickly pour the water into a pot",
            actor="The chef",
        ),
        node("a", "r", 1, 0.0, 64.0, gpt=True, action="N/A", actor="N/A"),
        node("b", "r", 1, 64.0, 70.0, leaf=True),
        node("a1", "a", 2, 0.0, 3.0, leaf=True),
        node("a2", "a", 2, 3.0, 64.0, gpt=True, action="cook  Soup", actor="the  Chef"),
        node("a2x", "a2", 3, 3.0, 60.0, leaf=True),
        node("a2y", "a2", 3, 60.0, 64.0, leaf=True),
    ]
    return video


@pytest.fixture(scope="module")
def grown(spark, tmp_path_factory):
    """small_tree_video alone (run-1), then with second_video added as a new shard (run-2)."""
    base = tmp_path_factory.mktemp("stats_hand")
    lake = str(base / "lake")
    explode(spark, [str(write_raw(base / "in" / "shard-1.parquet", [small_tree_video()]))], lake)
    first = compute_stats(spark, lake, str(base / "out-1"), run_id="run-1")
    explode(spark, [str(write_raw(base / "in" / "shard-2.parquet", [second_video()]))], lake)
    second = compute_stats(spark, lake, str(base / "out-2"), run_id="run-2")
    return SimpleNamespace(lake=lake, first=first, second=second)


@pytest.fixture(scope="module")
def real(spark, real_sample, tmp_path_factory):
    base = tmp_path_factory.mktemp("stats_real")
    lake = str(base / "lake")
    explode(spark, [str(real_sample)], lake)
    result = compute_stats(spark, lake, str(base / "out"), run_id="real-1")
    return SimpleNamespace(lake=lake, result=result, out=base / "out")


def figures(result) -> dict[str, float | None]:
    return {row["name"]: row["value"] for row in result.figures["summary"]}


def run_rows(spark, lake, table, run_id, *columns):
    df = read_table(spark, lake, table).where(F.col("run_id") == run_id)
    return [tuple(r) for r in df.select(*columns).orderBy(*columns).collect()]


# ---------------------------------------------------------------------------------------------
# Verb and object rules
# ---------------------------------------------------------------------------------------------


def test_verb_lemma_of_single_words():
    assert verb_lemma("cutting") == "cut"
    assert verb_lemma("points") == "point"
    assert verb_lemma("reattach") == "reattach"  # unknown to lemminflect, letters only
    for not_a_verb in ("person", "quickly", "then", "the", "camera", "thumbs‑up", "3d", ""):
        assert verb_lemma(not_a_verb) is None, not_a_verb


def test_verb_and_object_of_phrases(spark):
    cases = {
        "Cutting the cucumber": ("cut", "cucumber"),
        "points at the screen": ("point", "screen"),
        "Person cuts onion": ("cut", "onion"),
        "quickly stir the soup": ("stir", "soup"),
        "then pour water into a pot": ("pour", "water"),
        "Speak to camera": ("speak", "camera"),
        "Speak and gesture": ("speak", None),
        "Open, wipe, and close sealer": ("open", None),
        "Add butter, chocolate chips, and sea salt": ("add", "butter"),
        "Pick up components": ("pick", "components"),
        "Shift to first gear and apply parking brake": ("shift", "gear"),
        "Show a browser window with text": ("show", "window"),
        "Dry them": ("dry", None),
        "Wave": ("wave", None),
        "  Cook\u202fsoup  ": ("cook", "soup"),
        "Camera pans around the locker": ("pan", "locker"),
        "the the the the cut": (None, None),  # no verb in the first four words
    }
    df = spark.createDataFrame([(text,) for text in cases], "action_brief string")
    words = {w.lower() for text in cases for w in re.findall(r"[\w‑]+", text)}
    got = with_verb_and_object(df, lemma_map(spark, verb_lemmas(words))).collect()
    assert {r.action_brief: (r.verb, r.object) for r in got} == cases


def test_parse_actions_parses_each_distinct_brief_once_and_gives_every_row_its_verb(spark):
    rows = [  # (node, brief) -> (verb, object), beside each other; repeats and a null
        ("n1", "Cutting the cucumber", "cut", "cucumber"),
        ("n2", "Cutting the cucumber", "cut", "cucumber"),
        ("n3", "Speak and gesture", "speak", None),
        ("n4", "Speak and gesture", "speak", None),
        ("n5", "Wave", "wave", None),
        ("n6", None, None, None),
    ]
    df = spark.createDataFrame([r[:2] for r in rows], "node_id string, action_brief string")
    got = parse_actions(spark, df).collect()
    assert sorted((r.node_id, r.action_brief, r.verb, r.object) for r in got) == rows


# ---------------------------------------------------------------------------------------------
# Hand-built trees
# ---------------------------------------------------------------------------------------------


def test_every_figure_of_the_hand_built_tree(grown):
    f = figures(grown.first)
    expected = {
        "videos": 1,
        "nodes": 5,
        "leaves": 3,
        "internal_nodes": 2,
        "gpt_nodes": 2,
        "roots": 1,
        "nodes_per_video_min": 5,
        "nodes_per_video_max": 5,
        "nodes_per_video_mean": 5,
        "nodes_per_video_p50": 5,
        "depth_min": 2,
        "depth_max": 2,
        "depth_mean": 2,
        "branching_min": 2,
        "branching_max": 2,
        "branching_mean": 2,
        # a1 2.5 | a 6, b 4, a2 3.5 | r 10 (10.0 is in [10, 60)) | -
        "bucket_0_3": 1,
        "bucket_3_10": 3,
        "bucket_10_60": 1,
        "bucket_60_plus": 0,
        "bucket_0_3_share": 0.2,
        "bucket_3_10_share": 0.6,
        "bucket_10_60_share": 0.2,
        "bucket_60_plus_share": 0.0,
        "duration_min": 2.5,
        "duration_max": 10.0,
        "duration_mean": 26.0 / 5,
        "coverage_plm_action": 1.0,
        "coverage_plm_caption": 1.0,
        "coverage_llama3_caption": 0.6,
        "coverage_summary_brief": 0.4,
        "coverage_action_brief": 0.4,
        "coverage_action_actor": 0.4,
        # "plm action r", "summary r", "Cook soup" / "Cutting onions", "detailed Cook soup", "person"
        "words_plm_action": 3,
        "words_summary_brief": 2,
        "words_action_brief": 2,
        "words_action_detailed": 3,
        "words_summary_detailed": 3,
        "words_action_actor": 1,
        "actions": 2,
        "na_actions": 0,
        "na_rate": 0.0,
        "actor_na_nodes": 0,
        "distinct_verbs": 2,
        "actions_without_verb": 0,
        "actions_with_object": 2,
        "distinct_brief_actions": 2,
        "duplicate_groups": 0,
        "largest_duplicate_group": 1,
    }
    assert {k: f[k] for k in expected} == pytest.approx(expected)
    assert f["video_hours"] == pytest.approx(10 / HOUR)
    assert f["root_hours"] == pytest.approx(10 / HOUR)
    doc = grown.first.figures
    assert [(v["verb"], v["actions"], v["share"]) for v in doc["verbs"]] == [
        ("cook", 1, 0.5),
        ("cut", 1, 0.5),
    ]
    assert [(p["verb"], p["object"], p["actions"]) for p in doc["verb_objects"]] == [
        ("cook", "soup", 1),
        ("cut", "onions", 1),
    ]
    assert [(a["actor"], a["actions"]) for a in doc["actors"]] == [("person", 2)]
    assert doc["duplicates"] == []


def test_levels_and_durations_tables_of_the_hand_built_tree(spark, grown):
    lake = grown.lake
    assert run_rows(
        spark,
        lake,
        "stats_levels",
        "run-1",
        "level",
        "nodes",
        "leaves",
        "gpt_nodes",
        "actions",
        "videos",
    ) == [
        (0, 1, 0, 1, 1, 1),
        (1, 2, 1, 1, 1, 1),
        (2, 2, 2, 0, 0, 1),
    ]
    durations = run_rows(
        spark,
        lake,
        "stats_durations",
        "run-1",
        "scope",
        "level",
        "nodes",
        "mean",
        "min",
        "p50",
        "max",
        "bucket_0_3",
        "bucket_3_10",
        "bucket_10_60",
        "bucket_60_plus",
    )
    assert durations == [
        ("all", None, 5, 5.2, 2.5, 4.0, 10.0, 1, 3, 1, 0),
        ("level", 0, 1, 10.0, 10.0, 10.0, 10.0, 0, 0, 1, 0),
        ("level", 1, 2, 5.0, 4.0, 4.0, 6.0, 0, 2, 0, 0),  # percentile_approx: an observed value
        ("level", 2, 2, 3.0, 2.5, 2.5, 3.5, 1, 1, 0, 0),
    ]
    actions = read_table(spark, lake, "actions", version=1)
    assert columns_and_types(actions) == columns_and_types(ACTIONS_SCHEMA)
    assert [
        tuple(r)
        for r in actions.select(
            "video_uid",
            "node_id",
            "action_brief",
            "verb",
            "object",
            "actor",
            "start",
            "end",
            "level",
            "run_id",
            "nodes_version",
        )
        .orderBy("node_id")
        .collect()
    ] == [
        ("vid00000001", "a", "Cutting onions", "cut", "onions", "person", 0.0, 6.0, 1, "run-1", 1),
        ("vid00000001", "r", "Cook soup", "cook", "soup", "person", 0.0, 10.0, 0, "run-1", 1),
    ]


def test_the_page_links_to_example_trees_written_beside_it(grown):
    """The most nodes, a median and the fewest (here the median is the smaller tree: kept once)."""
    examples = grown.second.figures["examples"]
    assert [(e["video_uid"], e["nodes"]) for e in examples] == [
        ("vid00000002", 7),
        ("vid00000001", 5),
    ]
    out = Path(grown.second.report_html).parent
    page = Path(grown.second.report_html).read_text()
    for example in examples:
        assert f'href="{example["page"]}"' in page
        tree_page = (out / example["page"]).read_text()
        assert f'"video_uid":"{example["video_uid"]}"' in tree_page


def test_every_stats_table_carries_its_provenance(spark, grown):
    for table, schema in STATS_SCHEMAS.items():
        df = read_table(spark, grown.lake, table)
        assert columns_and_types(df) == columns_and_types(schema), table
        tags = {
            tuple(r)
            for r in df.select(
                "run_id", "videos_version", "nodes_version", F.col("computed_at").isNotNull()
            )
            .distinct()
            .collect()
        }
        runs = {t[0] for t in tags}
        assert {("run-1", 1, 1, True), ("run-2", 2, 2, True)} >= tags, table
        # stats_duplicates has no rows in run-1 (no duplicates yet)
        assert runs == ({"run-2"} if table == "stats_duplicates" else {"run-1", "run-2"}), table


def test_figures_add_up_when_the_corpus_grows(spark, grown):
    f = figures(grown.second)
    expected = {
        "videos": 2,
        "nodes": 12,
        "leaves": 7,
        "internal_nodes": 5,
        "gpt_nodes": 5,
        "roots": 2,
        "nodes_per_video_min": 5,
        "nodes_per_video_max": 7,
        "nodes_per_video_mean": 6,
        "depth_min": 2,
        "depth_max": 3,
        "depth_mean": 2.5,
        "bucket_0_3": 1,
        "bucket_3_10": 3 + 3,
        "bucket_10_60": 1 + 1,
        "bucket_60_plus": 0 + 3,
        "bucket_60_plus_share": 3 / 12,
        "actions": 4,
        "na_actions": 1,
        "na_rate": 1 / 5,
        "actor_na_nodes": 1,
        "actions_without_actor": 0,
        # brief actions: 2, 2 | 8 ("Then quickly pour the water into a pot"), 1 ("N/A"), 2
        "words_action_brief": (2 + 2 + 8 + 1 + 2) / 5,
        "distinct_verbs": 3,
        "distinct_brief_actions": 3,
        "duplicate_groups": 1,
        "actions_in_duplicate_groups": 2,
        "largest_duplicate_group": 2,
    }
    assert {k: f[k] for k in expected} == pytest.approx(expected)
    assert f["video_hours"] == pytest.approx(80 / HOUR)
    doc = grown.second.figures
    assert [(v["rank"], v["verb"], v["actions"]) for v in doc["verbs"]] == [
        (1, "cook", 2),
        (2, "cut", 1),
        (3, "pour", 1),
    ]
    assert ("pour", "water", 1) in [
        (p["verb"], p["object"], p["actions"]) for p in doc["verb_objects"]
    ]
    assert [(a["actor"], a["actions"]) for a in doc["actors"]] == [("person", 2), ("the chef", 2)]
    assert [(d["action"], d["members"], d["videos"]) for d in doc["duplicates"]] == [
        ("cook soup", 2, 2)
    ]
    levels = run_rows(spark, grown.lake, "stats_levels", "run-2", "level", "nodes", "videos")
    assert levels == [(0, 2, 2), (1, 4, 2), (2, 4, 2), (3, 2, 1)]


def test_history_holds_both_runs_and_actions_are_not_duplicated(spark, grown):
    first, second = grown.first, grown.second
    assert (first.nodes_version, second.nodes_version) == (1, 2)
    assert (first.videos_version, second.videos_version) == (1, 2)
    assert set(first.versions) == set(second.versions) == {*STATS_TABLES}
    assert all(second.versions[t] > first.versions.get(t, -1) for t in second.versions)
    # two runs' rows, told apart by run id and source versions
    history = (
        read_table(spark, grown.lake, "stats_summary")
        .where(F.col("name") == "nodes")
        .select("run_id", "nodes_version", "value")
        .orderBy("run_id")
        .collect()
    )
    assert [tuple(r) for r in history] == [("run-1", 1, 5.0), ("run-2", 2, 12.0)]
    # actions is kept per ingest run: the second stats run added the new run's rows only, and
    # kept the first run's (computed by run-1); no row twice
    actions = read_table(spark, grown.lake, "actions")
    assert actions.count() == 4
    by_run = actions.groupBy("run_id").count().collect()
    assert sorted(tuple(r) for r in by_run) == [("run-1", 2), ("run-2", 2)]
    assert actions.select("video_uid", "node_id").distinct().count() == 4
    assert read_table(spark, grown.lake, "actions", version=first.versions["actions"]).count() == 2
    assert first.rows_written["actions"] == 2 and second.rows_written["actions"] == 2
    assert second.figures["partials"]["kept"] == 1


def test_a_failed_write_leaves_every_table_as_it_was(spark, grown, tmp_path, monkeypatch):
    from delta.tables import DeltaTable

    from pipelines.core.lake import LakeWrite

    def files(table):  # the snapshot's files, from the Delta log alone (no scan)
        detail = DeltaTable.forPath(spark, table_path(grown.lake, table)).detail().first()
        return detail.numFiles, detail.sizeInBytes

    tables = STATS_TABLES
    before = {t: files(t) for t in tables}

    def broken(self, table, df, *args):
        if table == "actions":
            raise RuntimeError("disk full")
        return real_overwrite(self, table, df, *args)

    # a full recomputation replaces the partials, then the actions write fails
    real_overwrite = LakeWrite.overwrite
    monkeypatch.setattr(LakeWrite, "overwrite", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        compute_stats(spark, grown.lake, str(tmp_path / "out"), run_id="run-broken", full=True)
    assert {t: files(t) for t in tables} == before
    summary = read_table(spark, grown.lake, "stats_summary")
    assert summary.where(F.col("run_id") == "run-broken").count() == 0
    assert not (tmp_path / "out" / "stats.json").exists()


def test_a_lake_without_nodes_is_refused(spark, tmp_path):
    with pytest.raises(MissingTableError, match="has no table nodes: run `a100m explode` first"):
        compute_stats(spark, str(tmp_path / "empty-lake"), str(tmp_path / "out"))


def test_stats_json_and_summary_of_the_hand_built_tree(grown):
    result = grown.first
    doc = json.loads(Path(result.stats_json).read_text())
    assert doc["run_id"] == "run-1" and doc["nodes_version"] == 1 and doc["videos_version"] == 1
    assert doc["tables"]["actions"] == {"version": 1, "rows": 2}
    assert {r["name"]: r["value"] for r in doc["summary"]}["nodes"] == 5
    assert doc["paper"]["bucket_shares"]["0_3"] == 0.64
    text = result.summary()
    assert "stats run run-1" in text and "stats_summary" in text and "5 nodes" in text


def test_the_report_escapes_data_text_and_renders_without_data(grown):
    from pipelines.stats.html import render_report

    doc = copy.deepcopy(grown.first.figures)
    doc["duplicates"] = [
        {"rank": 1, "action": "<script>alert(1)</script>", "members": 2, "videos": 1}
    ]
    doc["actors"][0]["actor"] = 'the "chef" & <b>co</b>'
    html = render_report(doc)
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "the &quot;chef&quot; &amp; &lt;b&gt;co&lt;/b&gt;" in html

    empty = copy.deepcopy(grown.first.figures)
    for key in ("levels", "verbs", "verb_objects", "actors", "duplicates"):
        empty[key] = []
    empty["durations"] = empty["durations"][:1]
    for row in empty["summary"]:
        row["value"] = None
    html = render_report(empty)
    assert "no data" in html and html.rstrip().endswith("</html>")


# ---------------------------------------------------------------------------------------------
# The real sample, against independent counts
# ---------------------------------------------------------------------------------------------


def _real_nodes(path: Path) -> dict[str, list]:
    """The sample's nodes as Python columns, read with pyarrow alone."""
    nodes = pc.list_flatten(pq.read_table(path, columns=["nodes"])["nodes"]).combine_chunks()
    gpt = nodes.field("gpt")
    action = pc.struct_field(gpt, "action")
    summary = pc.struct_field(gpt, "summary")
    return {
        "start": nodes.field("start").to_numpy(zero_copy_only=False).astype(np.float64),
        "end": nodes.field("end").to_numpy(zero_copy_only=False).astype(np.float64),
        "has_gpt": gpt.is_valid().to_pylist(),
        "brief": pc.struct_field(action, "brief").to_pylist(),
        "detailed": pc.struct_field(action, "detailed").to_pylist(),
        "summary_brief": pc.struct_field(summary, "brief").to_pylist(),
        "summary_detailed": pc.struct_field(summary, "detailed").to_pylist(),
    }


def test_real_sample_counts_and_duration_buckets(real, real_sample):
    f = figures(real.result)
    raw = _real_nodes(real_sample)
    duration = raw["end"] - raw["start"]
    independent = {
        "bucket_0_3": int(((duration >= 0) & (duration < 3)).sum()),
        "bucket_3_10": int(((duration >= 3) & (duration < 10)).sum()),
        "bucket_10_60": int(((duration >= 10) & (duration < 60)).sum()),
        "bucket_60_plus": int((duration >= 60).sum()),
    }
    assert independent == {
        "bucket_0_3": 2799,
        "bucket_3_10": 1133,
        "bucket_10_60": 463,
        "bucket_60_plus": 85,
    }
    assert {k: int(f[k]) for k in independent} == independent
    assert f["nodes"] == len(duration) == 4480
    shares = [round(100 * f[f"bucket_{k}_share"], 1) for k in ("0_3", "3_10", "10_60", "60_plus")]
    assert shares == [62.5, 25.3, 10.3, 1.9]  # the real sample's buckets (docs/statistics.md)
    assert (f["videos"], f["leaves"], f["gpt_nodes"]) == (10, 2245, 1237)
    assert f["duration_mean"] == pytest.approx(duration.mean())
    # words per field, against Python's str.split
    for field, column in (("action_brief", "brief"), ("summary_detailed", "summary_detailed")):
        values = [len(t.split()) for t in raw[column] if t is not None]
        assert f[f"words_{field}"] == pytest.approx(sum(values) / len(values)), field


def test_real_sample_na_and_actions(spark, real, real_sample):
    f = figures(real.result)
    raw = _real_nodes(real_sample)
    gpt_briefs = [b for b, g in zip(raw["brief"], raw["has_gpt"], strict=True) if g]
    assert len(gpt_briefs) == 1237 and gpt_briefs.count("N/A") == 42
    assert (f["na_actions"], f["gpt_nodes"]) == (42, 1237)
    assert f["na_rate"] == pytest.approx(42 / 1237)
    assert f["actions"] == 1237 - 42
    assert read_table(spark, real.lake, "actions").count() == 1195
    assert real.result.rows_written["actions"] == 1195


def test_real_sample_top_verbs_match_an_independent_count(real, real_sample):
    from lemminflect import getLemma

    raw = _real_nodes(real_sample)
    first_word_lemmas = Counter(
        getLemma(re.sub(r"^\W+|\W+$", "", b.split()[0]).lower(), upos="VERB")[0]
        for b, g in zip(raw["brief"], raw["has_gpt"], strict=True)
        if g and b is not None and b != "N/A"
    )
    verbs = real.result.figures["verbs"]
    top = [(v["verb"], v["actions"]) for v in verbs[:10]]
    assert top == [(verb, first_word_lemmas[verb]) for verb, _ in top]
    assert top[:3] == [("open", 60), ("wipe", 51), ("attach", 38)]
    # the top ten of the independent count are ours too, with the same counts
    ten = sorted(first_word_lemmas.items(), key=lambda kv: (-kv[1], kv[0]))[:10]
    assert sorted(top) == sorted(ten)
    assert sum(v["actions"] for v in verbs) == 1195  # every real action found its verb


def test_real_sample_duplicates_match_an_independent_count(real, real_sample):
    raw = _real_nodes(real_sample)
    groups = Counter(
        " ".join(b.split()).lower()
        for b, g in zip(raw["brief"], raw["has_gpt"], strict=True)
        if g and b is not None and b != "N/A"
    )
    dups = real.result.figures["duplicates"]
    assert (
        dups[0]["action"] == "speak to camera" and dups[0]["members"] == groups["speak to camera"]
    )
    assert len(dups) == sum(1 for n in groups.values() if n > 1)
    assert all(d["members"] == groups[d["action"]] for d in dups)


def test_real_sample_report(real):
    html = (real.out / "report.html").read_text()
    assert html.startswith("<!DOCTYPE html>")
    assert html.count('src="data:image/svg+xml;base64,') == 6
    assert "http://" not in html.replace("http://www.w3.org", "") and "<script" not in html
    for text in (
        "Beside the paper",
        "64.00%",
        "23.80%",
        "10.20%",
        "2.00%",
        "62.48%",
        "3.23%",
        "speak to camera",
        "speak and gesture",
        "stir mixture",
        "talk to camera",
        "95.30",
        "19.20",
        "27.80",
        "3.20",
    ):
        assert text in html, text
    # text from the data is escaped ("the creator’s hands" keeps its curly quote, "'" is escaped)
    assert "the person&#x27;s hands" in html
    doc = json.loads((real.out / "stats.json").read_text())
    assert doc["run_id"] == "real-1" and len(doc["summary"]) == len(real.result.figures["summary"])
    assert doc["tables"]["stats_summary"]["rows"] == len(doc["summary"])


def test_real_sample_tables_are_published(spark, real):
    for table in (*STATS_SCHEMAS, "actions"):
        # created empty (version 0), then one commit of this first run
        assert table_version(spark, table_path(real.lake, table)) == 1, table
    verbs = read_table(spark, real.lake, "stats_verbs").orderBy("rank").limit(2).collect()
    assert [(r.verb, r.actions) for r in verbs] == [("open", 60), ("wipe", 51)]
