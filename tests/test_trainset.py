"""`a100m select` and `a100m export` on a lake of the real sample, checked against expectations
built straight from the raw Parquet with pyarrow (never from the lake's own tables)."""

from __future__ import annotations

import hashlib
import json
import random
import re
import string
from pathlib import Path

import jsonschema
import pyarrow.parquet as pq
import pytest
from pyspark.sql import functions as F

from pipelines.cli import EXIT_OK, EXIT_USAGE, main
from pipelines.core.lake import read_table
from pipelines.ingest.stage import explode
from pipelines.trainset.options import SelectionError, parse_split
from pipelines.trainset.output import stream_lines
from pipelines.trainset.select import split_column
from tests.conftest import REAL_SAMPLE, ROOT, require_real_sample
from tests.rawdata import small_tree_video, write_raw

SPLIT = "train=0.6,val=0.2,test=0.2"
VIDEO = "PDmUmo5EOGw"  # 117 nodes, 43 brief actions of which 4 are "N/A"


@pytest.fixture(scope="module")
def raw() -> dict[str, dict]:
    """The real sample's rows by video id, as pyarrow reads them."""
    require_real_sample(REAL_SAMPLE)
    return {r["video_uid"]: r for r in pq.read_table(REAL_SAMPLE).to_pylist()}


@pytest.fixture(scope="module")
def sample_lake(spark, tmp_path_factory, raw) -> str:
    lake = str(tmp_path_factory.mktemp("trainset") / "lake")
    explode(spark, [str(REAL_SAMPLE)], lake)
    return lake


@pytest.fixture(scope="module")
def out_root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("trainset-out")


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _py_split(uid: str, spec=((("train", 0.6), ("val", 0.2), ("test", 0.2)))) -> str:
    u = int(hashlib.sha256(uid.encode()).hexdigest()[:13], 16) / 16**13
    bound = 0.0
    for name, fraction in spec[:-1]:
        bound += fraction
        if u < bound:
            return name
    return spec[-1][0]


def _actions(row: dict) -> list[dict]:
    """The video's nodes with a brief action, as the raw row has them."""
    return [
        n for n in row["nodes"] if n["gpt"] and n["gpt"]["action"] and n["gpt"]["action"]["brief"]
    ]


def _t(value: float) -> float:
    return round(float(value), 3)


def _one_line(text: str) -> str:
    """Tabs and line breaks as spaces; U+202F and the like kept."""
    return re.sub(r"[\t\r\n ]+", " ", text).strip(" ")


# --- splits -------------------------------------------------------------------------------------


def test_split_is_sha256_of_the_id_and_fractions_hold_on_10000_videos(spark):
    rng = random.Random(15)
    alphabet = string.ascii_letters + string.digits + "-_"
    uids = sorted({"".join(rng.choices(alphabet, k=11)) for _ in range(10_000)})
    spec = parse_split("train=0.8,val=0.1,test=0.1")
    got = dict(
        spark.createDataFrame([(u,) for u in uids], "video_uid string")
        .select("video_uid", split_column(spec, F.col("video_uid")).alias("split"))
        .collect()
    )
    assert got == {u: _py_split(u, spec) for u in uids}  # reproducible outside Spark
    for name, fraction in spec:
        share = sum(1 for s in got.values() if s == name) / len(uids)
        assert abs(share - fraction) < 0.01, (name, share)


@pytest.mark.parametrize(
    "spec, message",
    [
        ("train=0.8,test=0.1", "sum to 0.9, not 1"),
        ("train=0.5,train=0.5", "repeated"),
        ("train=abc,test=1", "bad fraction"),
        ("train", "NAME=FRACTION"),
        ("all=1", "reserved"),
        ("train=1.5,test=-0.5", "not in (0, 1]"),
    ],
)
def test_bad_split_specs_are_refused_in_one_line(spec, message):
    with pytest.raises(SelectionError, match=re.escape(message)):
        parse_split(spec)


def test_splits_are_stable_across_lakes_built_in_another_order_and_versions_reproduce(
    spark, sample_lake, tmp_path, capsys, raw
):
    # lake B: first a video that is not in the sample, then the sample (the corpus grows)
    other = write_raw(tmp_path / "in" / "other.parquet", [small_tree_video("zzOther0001")])
    lake_b = str(tmp_path / "lake-b")
    explode(spark, [str(other)], lake_b)
    code, _, _ = _run(
        capsys, "select", "--lake", lake_b, "--out", str(tmp_path / "s1"), "--split", SPLIT
    )
    assert code == EXIT_OK
    first = json.loads((tmp_path / "s1" / "manifest.json").read_text())
    assert first["counts"]["segments"] == 5 and first["versions"] == {"nodes": 1, "videos": 1}
    explode(spark, [str(REAL_SAMPLE)], lake_b)

    splits = {}
    for lake, name in ((sample_lake, "a"), (lake_b, "b")):
        code, out, _ = _run(
            capsys, "select", "--lake", lake, "--out", str(tmp_path / name), "--split", SPLIT
        )
        assert code == EXIT_OK, out
        rows = spark.read.parquet(str(tmp_path / name / "segments")).select("video_uid", "split")
        splits[name] = {r["video_uid"]: r["split"] for r in rows.distinct().collect()}
    assert {u: splits["b"][u] for u in raw} == splits["a"]
    assert splits["a"] == {u: _py_split(u) for u in raw}
    per_video = spark.read.parquet(str(tmp_path / "a" / "segments")).groupBy("video_uid")
    assert per_video.agg(F.countDistinct("split").alias("n")).where("n > 1").count() == 0

    # the first manifest's versions still give exactly its rows, though the lake moved on
    grown = json.loads((tmp_path / "b" / "manifest.json").read_text())
    assert grown["versions"]["nodes"] == 2 and grown["counts"]["segments"] == 4480 + 5
    old = read_table(spark, lake_b, "nodes", first["versions"]["nodes"])
    assert old.count() == first["counts"]["segments"]


# --- select -------------------------------------------------------------------------------------


def test_filters_compose_as_the_raw_rows_say(spark, sample_lake, out_root, capsys, raw):
    out = out_root / "filtered"
    code, text, _ = _run(
        capsys, "select", "--lake", sample_lake, "--out", str(out), "--internal",
        "--min-duration", "4", "--max-duration", "30", "--exclude-na", "--actor-regex", "(?i)woman",
        "--dedup", "video",
    )  # fmt: skip
    assert code == EXIT_OK, text
    expected = set()
    for uid, row in raw.items():
        seen = {}
        for n in sorted(row["nodes"], key=lambda n: (float(n["start"]), n["level"], n["node_id"])):
            duration = float(n["end"]) - float(n["start"])
            action = (n["gpt"] or {}).get("action") or {}
            is_leaf = not any(c["parent_id"] == n["node_id"] for c in row["nodes"])
            if is_leaf or not 4 <= duration <= 30 or action.get("brief") == "N/A":
                continue
            if not re.search("woman", action.get("actor") or "", re.I):
                continue
            key = re.sub(r"[\s.!]+$", "", re.sub(r"\s+", " ", action["brief"].strip().lower()))
            seen.setdefault(key, n["node_id"])
        expected.update((uid, node_id) for node_id in seen.values())
    got = spark.read.parquet(str(out / "segments")).select("video_uid", "node_id").collect()
    assert sorted(tuple(r) for r in got) == sorted(expected)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["counts"]["segments"] == len(expected) > 0
    assert manifest["query"]["dedup"] == "video" and manifest["query"]["leaves"] is False


def test_videos_file_sample_and_transcript_filters(spark, sample_lake, out_root, capsys, raw):
    ids = out_root / "ids.txt"
    ids.write_text(f"# still online\n{VIDEO}\nhySSAAw4t24\n\n")
    draws = []
    for n, seed in enumerate((1, 1, 2)):
        out = out_root / f"sampled-{n}"
        code, _, _ = _run(
            capsys, "select", "--lake", sample_lake, "--out", str(out), "--videos", str(ids),
            "--with-transcript", "--sample", "50", "--seed", str(seed),
        )  # fmt: skip
        assert code == EXIT_OK
        rows = spark.read.parquet(str(out / "segments")).select("video_uid", "node_id").collect()
        draws.append(sorted(tuple(r) for r in rows))
    assert len(draws[0]) == 50 and {u for u, _ in draws[0]} <= {VIDEO, "hySSAAw4t24"}
    assert draws[0] == draws[1] and draws[0] != draws[2]


def test_delta_output_and_a_query_matching_nothing(spark, sample_lake, out_root, capsys):
    out = out_root / "nothing"
    code, text, _ = _run(
        capsys, "select", "--lake", sample_lake, "--out", str(out), "--as", "delta",
        "--min-duration", "100000",
    )  # fmt: skip
    assert code == EXIT_OK and "matched nothing" in text
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["empty"] is True and manifest["counts"]["segments"] == 0
    assert spark.read.format("delta").load(str(out / "segments")).count() == 0
    code, _, _ = _run(
        capsys,
        "export",
        "--selection",
        str(out),
        "--format",
        "activitynet",
        "--out",
        str(out_root / "nothing-anet"),
    )
    # the one file of every subset is there, empty; the empty split has no file (one rule)
    doc = json.loads((out_root / "nothing-anet" / "activitynet.json").read_text())
    assert code == EXIT_OK and doc["database"] == {}
    assert list((out_root / "nothing-anet" / "all").iterdir()) == []


# --- export -------------------------------------------------------------------------------------

ACTIVITYNET_SCHEMA = {  # from the ActivityNet 1.3 release's own description of its JSON
    "type": "object",
    "required": ["version", "taxonomy", "database"],
    "properties": {
        "version": {"type": "string", "pattern": "^VERSION 1\\.3$"},
        "taxonomy": {"type": "array"},
        "database": {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "required": ["subset", "duration", "url", "annotations"],
                "properties": {
                    "subset": {"enum": ["training", "validation", "testing"]},
                    "duration": {"type": "number", "exclusiveMinimum": 0},
                    "url": {"type": "string", "pattern": "^https://www\\.youtube\\.com/watch\\?v="},
                    "annotations": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["segment", "label", "label_id"],
                            "properties": {
                                "segment": {
                                    "type": "array",
                                    "items": {"type": "number", "minimum": 0},
                                    "minItems": 2,
                                    "maxItems": 2,
                                },
                                "label": {"type": "string", "minLength": 1},
                                "label_id": {"type": "integer", "minimum": 0},
                            },
                        },
                    },
                },
            },
        },
    },
}


@pytest.fixture(scope="module")
def exported(sample_lake, out_root):
    """Export every format of the whole lake, split by video."""
    done = {}
    for fmt in ("activitynet", "dense-captions", "charades-sta", "steps", "hierarchy", "parquet"):
        out = out_root / f"export-{fmt}"
        code = main(
            ["export", "--lake", sample_lake, "--format", fmt, "--out", str(out), "--split", SPLIT]
        )
        assert code == EXIT_OK, fmt
        done[fmt] = out
    return done


def test_activitynet_has_every_segment_of_a_known_video(exported, raw):
    split = _py_split(VIDEO)
    doc = json.loads((exported["activitynet"] / split / "activitynet.json").read_text())
    jsonschema.validate(doc, ACTIVITYNET_SCHEMA)
    entry = doc["database"][VIDEO]
    row = raw[VIDEO]
    expected = sorted(
        ([_t(n["start"]), _t(n["end"])], n["gpt"]["action"]["brief"]) for n in _actions(row)
    )
    got = [(a["segment"], a["label"]) for a in entry["annotations"]]
    assert got == expected and len(got) == 43
    assert entry["duration"] == 176.13  # stated 176 s; the tree ends at 176.13
    assert entry["subset"] == {"train": "training", "val": "validation", "test": "testing"}[split]
    assert entry["url"] == f"https://www.youtube.com/watch?v={VIDEO}"
    everywhere, ids = {}, set()
    for name in ("train", "val", "test"):
        database = json.loads((exported["activitynet"] / name / "activitynet.json").read_text())[
            "database"
        ]
        everywhere.update({uid: name for uid in database})
        ids |= {(a["label"], a["label_id"]) for v in database.values() for a in v["annotations"]}
    # one dense class id per distinct label, the same in every split (ActionFormer's label_id)
    labels = sorted({n["gpt"]["action"]["brief"] for row in raw.values() for n in _actions(row)})
    assert sorted(ids) == [(label, i) for i, label in enumerate(labels)]
    assert everywhere == {uid: _py_split(uid) for uid in raw}
    long_tree = json.loads(
        (exported["activitynet"] / _py_split("xOuGjjvOdIs") / "activitynet.json").read_text()
    )["database"]["xOuGjjvOdIs"]
    assert long_tree["duration"] == 345.55  # the tree runs 28.5 s past the stated 317 s
    manifest = json.loads((exported["activitynet"] / "manifest.json").read_text())
    assert manifest["counts"]["videos"] == 10 and manifest["output"]["label"] == "action_brief"


def test_dense_captions_of_a_known_video(exported, raw):
    doc = json.loads(
        (exported["dense-captions"] / _py_split(VIDEO) / "dense_captions.json").read_text()
    )
    entry = doc[VIDEO]
    summaries = sorted(
        ([_t(n["start"]), _t(n["end"])], n["gpt"]["summary"]["brief"])
        for n in raw[VIDEO]["nodes"]
        if n["gpt"] and n["gpt"]["summary"] and n["gpt"]["summary"]["brief"]
    )
    assert entry["duration"] == 176.13
    assert list(zip(entry["timestamps"], entry["sentences"], strict=True)) == summaries


def test_charades_sta_lines_of_a_known_video(exported, raw):
    split = _py_split(VIDEO)
    lines = (exported["charades-sta"] / f"charades_sta_{split}.txt").read_text().splitlines()
    mine = [line for line in lines if line.startswith(VIDEO + " ")]
    expected = sorted(
        (float(n["start"]), float(n["end"]), n["node_id"], n["gpt"]["action"]["brief"])
        for n in _actions(raw[VIDEO])
    )
    assert mine == [f"{VIDEO} {_t(s)} {_t(e)}##{_one_line(label)}" for s, e, _, label in expected]
    assert all(re.fullmatch(r"\S+ \d+(\.\d+)? \d+(\.\d+)?##.+", line) for line in lines)


def test_steps_are_the_ordered_children_with_the_parent_summary_as_goal(exported, raw):
    path = exported["steps"] / _py_split(VIDEO) / "steps.jsonl"
    got = [json.loads(line) for line in path.read_text().splitlines()]
    got = {s["goal_id"]: s for s in got if s["video_id"] == VIDEO}
    nodes = {n["node_id"]: n for n in raw[VIDEO]["nodes"]}
    brief = {n["node_id"]: n["gpt"]["action"]["brief"] for n in _actions(raw[VIDEO])}
    expected = {}
    for parent in nodes.values():
        kids = sorted(
            (
                n
                for n in nodes.values()
                if n["parent_id"] == parent["node_id"] and n["node_id"] in brief
            ),
            key=lambda n: float(n["start"]),
        )
        if len(kids) >= 2:
            expected[parent["node_id"]] = [
                (k["node_id"], brief[k["node_id"]], _t(k["start"])) for k in kids
            ]
    assert {
        g: [(s["node_id"], s["step"], s["start"]) for s in v["steps"]] for g, v in got.items()
    } == expected
    root = next(n for n in nodes.values() if n["parent_id"] is None)
    assert got[root["node_id"]]["goal"] == root["gpt"]["summary"]["brief"]


def test_hierarchy_rebuilds_the_tree_of_a_known_video(exported, raw):
    path = exported["hierarchy"] / _py_split(VIDEO) / "hierarchy.jsonl"
    docs = {d["video_id"]: d for d in map(json.loads, path.read_text().splitlines())}
    doc = docs[VIDEO]
    assert doc["duration"] == 176.13 and len(doc["nodes"]) == 1

    def edges(node, parent=None):
        yield (node["node_id"], parent, node["start"])
        for child in node.get("children", []):
            yield from edges(child, node["node_id"])

    got = list(edges(doc["nodes"][0]))
    expected = {(n["node_id"], n["parent_id"], _t(n["start"])) for n in raw[VIDEO]["nodes"]}
    assert len(got) == 117 and set(got) == expected

    def ordered(node):
        starts = [c["start"] for c in node.get("children", [])]
        return starts == sorted(starts) and all(ordered(c) for c in node.get("children", []))

    assert ordered(doc["nodes"][0])  # children in time order


def test_parquet_export_keeps_the_stored_float32_times(spark, exported, raw):
    split = _py_split(VIDEO)
    rows = spark.read.parquet(str(exported["parquet"] / split)).where(F.col("video_uid") == VIDEO)
    got = {r["node_id"]: (r["start"], r["end"]) for r in rows.collect()}
    assert got == {n["node_id"]: (n["start"], n["end"]) for n in raw[VIDEO]["nodes"]}


def test_jsonl_of_a_selection_with_chosen_fields(spark, sample_lake, out_root, capsys):
    selection = out_root / "leaves"
    assert (
        _run(capsys, "select", "--lake", sample_lake, "--out", str(selection), "--leaves")[0] == 0
    )
    out = out_root / "leaves-jsonl"
    code, text, _ = _run(
        capsys, "export", "--selection", str(selection), "--format", "jsonl", "--out", str(out),
        "--fields", "video_uid,node_id,start,llama3_caption",
    )  # fmt: skip
    assert code == EXIT_OK, text
    rows = [
        json.loads(line)
        for p in sorted((out / "all").glob("part-*.json"))
        for line in p.read_text().splitlines()
    ]
    assert len(rows) == 2245 and set(rows[0]) == {"video_uid", "node_id", "start", "llama3_caption"}
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["selection"] == str(selection) and manifest["versions"] == {
        "nodes": 1,
        "videos": 1,
    }


# --- refusals ------------------------------------------------------------------------------------


def test_bad_options_give_one_line_and_exit_2_and_write_nothing(
    sample_lake, out_root, capsys, tmp_path
):
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "keep.txt").write_text("mine")
    cases = [
        (["export", "--format", "coco"], "unknown format"),
        (["export", "--format", "activitynet", "--field", "title"], "--field title: unknown field"),
        (
            ["export", "--format", "jsonl", "--fields", "video_uid,colour"],
            "--fields colour: unknown field",
        ),
        (["select", "--split", "train=0.7,test=0.2"], "sum to 0.9, not 1"),
        (["select", "--dedup", "everything"], "--dedup everything"),
        (["select", "--out", f"{sample_lake}/mine"], "is inside the lake"),
        (["select", "--out", str(busy)], "exists and is not empty: pass --overwrite"),
        (
            ["export", "--format", "steps", "--selection", str(tmp_path / "none")],
            "has no manifest.json",
        ),
        (["select", "--verb", "cut"], "no table actions: run `a100m stats` first"),
    ]
    for argv, message in cases:
        if "--out" not in argv:
            argv = [*argv, "--out", str(tmp_path / "out")]
        code, _, err = _run(capsys, *argv, "--lake", sample_lake)
        lines = [line for line in err.splitlines() if line.startswith("a100m ")]
        assert len(lines) == 1 and message in lines[0], (argv, err)
        assert code == EXIT_USAGE, argv  # as a bad `sql --format`: every usage mistake exits 2
        assert not (tmp_path / "out").exists(), argv
    assert [p.name for p in busy.iterdir()] == ["keep.txt"]


def test_documents_are_streamed_from_the_parts_in_order(tmp_path):
    parts = []
    for i, lines in enumerate((["a", "b"], [], ["c"])):
        part = tmp_path / f"part-{i:05d}.txt"
        part.write_text("".join(f"{x}\n" for x in lines))
        parts.append(part)
    assert stream_lines(parts, tmp_path / "doc.json", "[", ",", "]") == 3
    assert (tmp_path / "doc.json").read_text() == "[a,b,c]"


# --- resample -----------------------------------------------------------------------------------


def test_resample_is_deterministic_and_flattens_the_top_actions(
    spark, sample_lake, out_root, capsys
):
    weights = []
    for name in ("r1", "r2"):
        out = out_root / name
        code, text, _ = _run(
            capsys, "resample", "--lake", sample_lake, "--out", str(out), "--k", "20", "--seed", "3"
        )
        assert code == EXIT_OK, text
        table = spark.read.format("delta").load(str(out / "weights"))
        weights.append(
            sorted(tuple(r) for r in table.select("node_id", "cluster", "weight").collect())
        )
    assert weights[0] == weights[1]
    manifest = json.loads((out_root / "r1" / "manifest.json").read_text())
    # 1,237 GPT nodes less 42 "N/A"; every one weighted, the weights summing to 1
    assert manifest["counts"]["segments"] == 1195 == len(weights[0])
    assert manifest["counts"]["clusters"] == 20 and manifest["versions"]["nodes"] == 1
    assert abs(sum(w for _, _, w in weights[0]) - 1.0) < 1e-9
    # the top-10 actions (speak to camera, ...) hold 7.2 % of the sample's actions
    assert manifest["top_share_corpus"] == pytest.approx(86 / 1195)
    assert manifest["top_share_resampled"] < manifest["top_share_corpus"] / 2
    assert "top-10 actions' share: corpus" in text
    # the docs quote this run's figures: they cannot go stale
    quoted = f"{manifest['top_share_corpus']:.1%} to {manifest['top_share_resampled']:.1%}"
    quoted = quoted.replace("%", " %")
    for doc in ("docs/trainset.md", "docs/training-sets.md"):
        prose = " ".join((ROOT / doc).read_text(encoding="utf-8").split())
        assert "real sample" in prose and quoted in prose, (doc, quoted)

    draws = []
    for seed in (5, 5):
        out = out_root / f"drawn-{len(draws)}"
        code, _, _ = _run(
            capsys, "select", "--lake", sample_lake, "--out", str(out), "--resampled",
            str(out_root / "r1"), "--sample", "100", "--seed", str(seed),
        )  # fmt: skip
        assert code == EXIT_OK
        draws.append(
            sorted(
                r[0] for r in spark.read.parquet(str(out / "segments")).select("node_id").collect()
            )
        )
    assert len(draws[0]) == 100 == len(set(draws[0])) and draws[0] == draws[1]
    code, _, err = _run(
        capsys,
        "select",
        "--lake",
        sample_lake,
        "--out",
        str(out_root / "x"),
        "--resampled",
        str(out_root / "r1"),
    )
    assert code == EXIT_USAGE and "--resampled needs --sample N" in err
