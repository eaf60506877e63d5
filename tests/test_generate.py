"""Tests of the synthetic corpus generator: pyarrow and numpy only, no Spark."""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from pipelines import synth
from pipelines.core.raw import GPT_MIN_SECONDS, RAW_ARROW_SCHEMA
from pipelines.synth import writer
from tests.conftest import REAL_SAMPLE, require_real_sample

# The real sample (docs/data.md), read in place and never copied.
SAMPLE = REAL_SAMPLE
NA = "N/A"
CLEAN = {"videos": 240, "seed": 7, "shards": 2}
FAULTY = {"videos": 150, "seed": 11, "shards": 3, "faults": True}


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("clean")
    return out, synth.generate(out, **CLEAN)


@pytest.fixture(scope="module")
def faulty(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("faulty")
    return out, synth.generate(out, **FAULTY)


def read_all(out: Path, manifest: dict) -> list[tuple[str, pa.Table]]:
    return [(name, pq.read_table(out / name)) for name in manifest["files"]]


def flat_nodes(table: pa.Table) -> pa.StructArray:
    return table["nodes"].combine_chunks().flatten()


def text_field(nodes: pa.StructArray, *path: str) -> pa.Array:
    value = nodes
    for name in path:
        value = pc.struct_field(value, name)
    return value


# ---------------------------------------------------------------------------------------------
# A small checker of the rules of docs/data.md. Each flag is (rule, file, row, node_id or None).
# Tiling is flagged on the parent whose children do not tile it.
# ---------------------------------------------------------------------------------------------


def video_nodes(table: pa.Table) -> list[dict[str, list]]:
    """Per video, the columns the rules need, as Python lists."""
    nodes = table["nodes"].combine_chunks()
    offsets = nodes.offsets.to_pylist()
    flat = nodes.flatten()
    gpt = flat.field("gpt")
    action = gpt.field("action")
    columns = {
        "id": flat.field("node_id").to_pylist(),
        "parent": flat.field("parent_id").to_pylist(),
        "level": flat.field("level").to_pylist(),
        "start": flat.field("start").to_pylist(),
        "end": flat.field("end").to_pylist(),
        "llama3": flat.field("llama3_caption").is_valid().to_pylist(),
        "gpt": gpt.is_valid().to_pylist(),
        "brief": action.field("brief").to_pylist(),
        "detailed": action.field("detailed").to_pylist(),
        "actor": action.field("actor").to_pylist(),
    }
    return [
        {k: v[lo:hi] for k, v in columns.items()}
        for lo, hi in zip(offsets[:-1], offsets[1:], strict=True)
    ]


def check_video(v: dict[str, list], file: str, row: int) -> set[tuple]:
    flags: set[tuple] = set()

    def flag(rule: str, node: str | None = None) -> None:
        flags.add((rule, file, row, node))

    n = len(v["id"])
    roots = [i for i in range(n) if v["parent"][i] is None]
    if len(roots) != 1:
        flag("one_root")
    for i in roots:
        if v["level"][i] != 0 or v["start"][i] != 0.0:
            flag("root_at_zero", v["id"][i])
    for node, count in Counter(v["id"]).items():
        if count > 1:
            flag("unique_node_id", node)
    index = {node: i for i, node in enumerate(v["id"])}
    children: dict[str, list[int]] = defaultdict(list)
    for i in range(n):
        parent = v["parent"][i]
        if parent is None:
            continue
        if parent not in index:
            flag("parent_exists", v["id"][i])
            continue
        children[parent].append(i)
        if v["level"][i] != v["level"][index[parent]] + 1:
            flag("level", v["id"][i])
    for parent, kids in children.items():
        p = index[parent]
        kids.sort(key=lambda i: v["start"][i])
        if len(kids) != 2:
            flag("binary", parent)
        for k in kids:
            if v["start"][k] < v["start"][p] or v["end"][k] > v["end"][p]:
                flag("inside_parent", v["id"][k])
        tiled = v["start"][kids[0]] == v["start"][p] and v["end"][kids[-1]] == v["end"][p]
        tiled &= all(v["start"][b] == v["end"][a] for a, b in zip(kids, kids[1:], strict=False))
        if not tiled:
            flag("tiling", parent)
    keys = list(zip(v["level"], v["start"], strict=True))
    if keys != sorted(keys):
        flag("sorted")
    for i in range(n):
        node, start, end = v["id"][i], v["start"][i], v["end"][i]
        if start < 0:
            flag("start_nonneg", node)
        if end <= start:
            flag("end_after_start", node)
        leaf = node not in children
        if v["gpt"][i] != (not leaf and end - start >= GPT_MIN_SECONDS):
            flag("gpt_iff", node)
        if v["llama3"][i] != leaf:
            flag("llama3_iff", node)
        coupled = v["detailed"][i] == NA and v["actor"][i] == NA
        if v["gpt"][i] and v["brief"][i] == NA and not coupled:
            flag("na_coupling", node)
    return flags


def check_corpus(files: list[tuple[str, pa.Table]]) -> set[tuple]:
    flags: set[tuple] = set()
    rows_of: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for name, table in files:
        for row, (uid, v) in enumerate(
            zip(table["video_uid"].to_pylist(), video_nodes(table), strict=True)
        ):
            flags |= check_video(v, name, row)
            rows_of[uid].append((name, row))
    for rows in rows_of.values():
        if len(rows) > 1:  # every row of a repeated video_uid
            flags |= {("unique_video_uid", name, row, None) for name, row in rows}
    return flags


# ---------------------------------------------------------------------------------------------
# Schema
# ---------------------------------------------------------------------------------------------


def test_schema_is_the_release_schema(clean: tuple[Path, dict]) -> None:
    out, manifest = clean
    assert manifest["files"] == ["shard-00000.parquet", "shard-00001.parquet"]
    for name in manifest["files"]:
        schema = pq.read_schema(out / name)
        assert schema.names == RAW_ARROW_SCHEMA.names
        for field in RAW_ARROW_SCHEMA:
            assert schema.field(field.name) == field, field.name
        assert schema.equals(RAW_ARROW_SCHEMA)
        if SAMPLE.exists():
            assert schema.equals(pq.read_schema(SAMPLE))


def test_identifiers_and_metadata_look_like_the_release(clean: tuple[Path, dict]) -> None:
    out, manifest = clean
    table = pa.concat_tables(t for _, t in read_all(out, manifest))
    uids = table["video_uid"].to_pylist()
    assert len(set(uids)) == len(uids) == CLEAN["videos"]
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{10}[AEIMQUYcgkosw048]", u) for u in uids)
    node_ids = flat_nodes(table).field("node_id").to_pylist()
    uuid = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
    assert all(uuid.fullmatch(n) for n in node_ids[:5000])
    assert len(set(node_ids)) == len(node_ids)
    meta = table["metadata"].combine_chunks()
    for date in meta.field("upload_date").to_pylist():
        assert dt.datetime.strptime(date, "%Y%m%d").year >= 2005
    for video in meta.field("transcript").to_pylist():
        times = [float(line["time"]) for line in video]
        assert times == sorted(set(times)) and all(t >= 0 for t in times)
        assert all(re.fullmatch(r"\d+\.\d{1,3}", line["time"]) for line in video)


# ---------------------------------------------------------------------------------------------
# Structure and shape of clean data
# ---------------------------------------------------------------------------------------------


def test_clean_data_breaks_no_rule(clean: tuple[Path, dict]) -> None:
    out, manifest = clean
    assert check_corpus(read_all(out, manifest)) == set()
    assert manifest["row_faults"] == [] and manifest["file_faults"] == []
    assert set(manifest["counts"]) == set(synth.FAULT_KINDS)
    assert not any(manifest["counts"].values())


def shape(table: pa.Table) -> dict[str, float]:
    """The figures docs/data.md quotes, for any table of the raw schema."""
    nodes = flat_nodes(table)
    counts = pc.list_value_length(table["nodes"]).to_numpy()
    level = nodes.field("level").to_numpy()
    dur = nodes.field("end").to_numpy().astype(np.float64) - nodes.field("start").to_numpy()
    leaf = nodes.field("llama3_caption").is_valid().to_numpy(zero_copy_only=False)
    gpt = nodes.field("gpt").is_valid().to_numpy(zero_copy_only=False)
    brief = text_field(nodes, "gpt", "action", "brief").drop_null()
    actor = text_field(nodes, "gpt", "action", "actor").drop_null()
    starts = np.cumsum(counts) - counts
    depth = np.maximum.reduceat(level, starts)
    duration = table["metadata"].combine_chunks().field("duration").to_numpy()
    tree_end = nodes.field("end").to_numpy()[starts]

    def words(*path: str) -> float:
        values = text_field(nodes, *path).drop_null()
        values = values.filter(pc.not_equal(values, NA))
        return float(np.mean([len(s.split()) for s in values.to_pylist()]))

    return {
        "nodes_mean": counts.mean(),
        "leaf_share": leaf.mean(),
        "gpt_share": gpt.mean(),
        "na_rate": pc.sum(pc.equal(brief, NA)).as_py() / len(brief),
        "actor_only_na": pc.sum(pc.equal(actor, NA)).as_py() / len(brief),
        "depth_median": float(np.median(depth)),
        "under_3s": (dur < 3).mean(),
        "3_to_10s": ((dur >= 3) & (dur < 10)).mean(),
        "10_to_60s": ((dur >= 10) & (dur < 60)).mean(),
        "over_60s": (dur >= 60).mean(),
        "past_duration_1s": (tree_end > duration + 1).mean(),
        "plm_caption_null": nodes.field("plm_caption").null_count / len(nodes),
        "words_brief_action": words("gpt", "action", "brief"),
        "words_brief_summary": words("gpt", "summary", "brief"),
        "words_detailed_action": words("gpt", "action", "detailed"),
        "words_detailed_summary": words("gpt", "summary", "detailed"),
    }


def test_the_real_sample_has_the_figures_the_generator_is_tuned_to() -> None:
    require_real_sample(SAMPLE)
    real = shape(pq.read_table(SAMPLE))  # the sample's figures, as docs/data.md quotes them
    assert real["gpt_share"] == pytest.approx(1237 / 4480)
    assert real["na_rate"] == pytest.approx(42 / 1237)


def test_shape_is_close_to_the_real_sample(clean: tuple[Path, dict]) -> None:
    out, manifest = clean
    ours = shape(pa.concat_tables(t for _, t in read_all(out, manifest)))
    assert ours["leaf_share"] == pytest.approx(0.5, abs=0.01)
    assert ours["gpt_share"] == pytest.approx(1237 / 4480, abs=0.03)
    assert ours["na_rate"] == pytest.approx(0.034, abs=0.01)
    assert 0.002 < ours["actor_only_na"] - ours["na_rate"] < 0.02
    assert 330 < ours["nodes_mean"] < 600  # the release's mean is about 450
    assert 10 <= ours["depth_median"] <= 19
    paper = {"under_3s": 0.64, "3_to_10s": 0.238, "10_to_60s": 0.102, "over_60s": 0.02}
    for bucket, share in paper.items():
        assert ours[bucket] == pytest.approx(share, abs=0.03), bucket
    assert 0.01 < ours["past_duration_1s"] < 0.15
    assert 0 < ours["plm_caption_null"] < 0.005
    means = {"brief_action": 3.2, "brief_summary": 19.2, "detailed_action": 27.8}
    means["detailed_summary"] = 95.3
    for name, mean in means.items():
        assert ours[f"words_{name}"] == pytest.approx(mean, rel=0.12), name


def test_text_has_the_release_quirks(clean: tuple[Path, dict]) -> None:
    out, manifest = clean
    nodes = flat_nodes(pa.concat_tables(t for _, t in read_all(out, manifest)))
    briefs = text_field(nodes, "gpt", "action", "brief").drop_null().to_pylist()
    top = Counter(b.lower() for b in briefs if b != NA).most_common(20)
    assert top[0][1] >= 30  # exact duplicates form dedup groups
    assert any(b.startswith("speak") for b, _ in top[:5])
    assert sum(b[0].islower() for b in briefs) > 0.03 * len(briefs)
    assert any(re.match(r"[a-z]+ing ", b) for b in briefs)
    assert any(re.match(r"[a-z]+s (at|the|to) ", b) for b in briefs)
    detailed = " ".join(text_field(nodes, "gpt", "summary", "detailed").drop_null().to_pylist())
    for char in ("\u2011", "\u202f", "\u201c", "\u201d", "\u2019"):
        assert char in detailed, repr(char)


def test_long_text_never_repeats_across_videos(clean: tuple[Path, dict]) -> None:
    out, manifest = clean
    table = pa.concat_tables(t for _, t in read_all(out, manifest))
    counts = pc.list_value_length(table["nodes"]).to_numpy()
    owner = np.repeat(np.arange(len(counts)), counts)
    nodes = flat_nodes(table)
    fields = [
        ("gpt", "summary", "detailed"),
        ("gpt", "summary", "brief"),
        ("gpt", "action", "detailed"),
        ("llama3_caption",),
        ("plm_caption",),
    ]
    for path in fields:
        videos_of: dict[str, set[int]] = defaultdict(set)
        for text, video in zip(text_field(nodes, *path).to_pylist(), owner, strict=True):
            if text is not None and text != NA:
                videos_of[text].add(int(video))
        assert max(len(v) for v in videos_of.values()) == 1, path
    descriptions = table["metadata"].combine_chunks().field("description").to_pylist()
    assert len(set(descriptions)) == len(descriptions)


# ---------------------------------------------------------------------------------------------
# Determinism and independent shards
# ---------------------------------------------------------------------------------------------


def test_same_seed_same_bytes_other_seed_other_data(tmp_path: Path) -> None:
    first = synth.generate(tmp_path / "a", videos=30, seed=3)
    again = synth.generate(tmp_path / "b", videos=30, seed=3)
    other = synth.generate(tmp_path / "c", videos=30, seed=4)
    name = first["files"][0]
    assert first == again
    a, b, c = (pq.read_table(tmp_path / d / name) for d in "abc")
    assert a.equals(b)
    assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    assert not a.equals(c)
    assert not set(a["video_uid"].to_pylist()) & set(c["video_uid"].to_pylist())
    assert other["nodes"] != first["nodes"]


def test_a_shard_generated_alone_equals_the_full_runs(
    clean: tuple[Path, dict], faulty: tuple[Path, dict], tmp_path: Path
) -> None:
    for (out, manifest), config in ((clean, CLEAN), (faulty, FAULTY)):
        alone = tmp_path / f"alone-{config['seed']}"
        alone.mkdir()
        result = synth.write_shard(alone, 1, **config)
        name = synth.shard_name(1)
        assert (alone / name).read_bytes() == (out / name).read_bytes()
        assert result["row_faults"] == [f for f in manifest["row_faults"] if f["file"] == name]


def test_shards_are_written_row_group_by_row_group(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(writer, "ROW_GROUP_VIDEOS", 16)
    manifest = synth.generate(tmp_path, videos=50, seed=5)
    meta = pq.ParquetFile(tmp_path / manifest["files"][0]).metadata
    assert [meta.row_group(i).num_rows for i in range(meta.num_row_groups)] == [16, 16, 16, 2]
    assert check_corpus(read_all(tmp_path, manifest)) == set()


# ---------------------------------------------------------------------------------------------
# Faults
# ---------------------------------------------------------------------------------------------


def test_fault_counts_match_the_manifest(faulty: tuple[Path, dict]) -> None:
    out, manifest = faulty
    on_disk = json.loads((out / synth.MANIFEST).read_text())
    assert on_disk == manifest
    kinds = Counter(f["kind"] for f in manifest["row_faults"] + manifest["file_faults"])
    assert dict(kinds) == {k: n for k, n in manifest["counts"].items() if n}
    assert all(2 <= manifest["counts"][k] <= 3 for k in synth.ROW_FAULT_KINDS)
    assert all(manifest["counts"][k] == 1 for k in synth.FILE_FAULT_KINDS)
    videos = [(f["file"], f["row"]) for f in manifest["row_faults"]]
    assert len(set(videos)) == len(videos)  # never two faults on one video
    assert set(synth.FAULT_KINDS) == set(synth.ROW_FAULT_KINDS) | set(synth.FILE_FAULT_KINDS)


def test_broken_rules_cover_every_row_kind_but_the_duplicate_video() -> None:
    # The duplicate video breaks no row rule: ingest refuses it (reason duplicate_video).
    assert set(synth.BROKEN_RULES) == set(synth.ROW_FAULT_KINDS) - {"duplicate_video_across_shards"}
    for rules in synth.BROKEN_RULES.values():
        assert rules and all(n == "affected" or (type(n) is int and n > 0) for n in rules.values())


def expected_flags(manifest: dict, files: dict[str, pa.Table]) -> set[tuple]:
    """The checker's flags each injected fault must cause, and nothing else."""
    expected: set[tuple] = set()
    for f in manifest["row_faults"]:
        where = (f["file"], f["row"])
        table = files[f["file"]]
        assert table["video_uid"][f["row"]].as_py() == f["video_uid"]
        ids = table["nodes"][f["row"]].values.field("node_id").to_pylist()
        parents = table["nodes"][f["row"]].values.field("parent_id").to_pylist()
        parent = {i: p for i, p in zip(ids, parents, strict=True)}
        affected = f["affected_nodes"]
        kind = f["kind"]
        rules = {
            "duplicate_node_id": ["unique_node_id"],
            "orphan_parent": ["parent_exists"],
            "missing_root": ["parent_exists"],
            "child_outside_parent": ["inside_parent"],
            "level_jump": ["level"],
            "end_not_after_start": ["end_after_start"],
            "negative_start": ["start_nonneg"],
            "gpt_on_short_node": ["gpt_iff"],
            "gpt_on_leaf": ["gpt_iff"],
            "leaf_without_llama3": ["llama3_iff"],
            "inconsistent_na": ["na_coupling"],
        }.get(kind, [])
        expected |= {(rule, *where, node) for rule in rules for node in affected}
        if kind in ("second_root", "missing_root"):
            expected.add(("one_root", *where, None))
        if kind in (
            "child_outside_parent",
            "sibling_gap",
            "sibling_overlap",
            "end_not_after_start",
        ):
            expected.add(("tiling", *where, parent[affected[0]]))
        if kind == "negative_start":
            expected.add(("root_at_zero", *where, f["node_id"]))
        if kind == "duplicate_video_across_shards":
            assert affected == [] and f["node_id"] is None
            source, row = re.fullmatch(r"exact copy of (\S+) row (\d+)", f["detail"]).groups()
            expected |= {
                ("unique_video_uid", *where, None),
                ("unique_video_uid", source, int(row), None),
            }
    return expected


def test_each_row_fault_breaks_exactly_its_rule(faulty: tuple[Path, dict]) -> None:
    out, manifest = faulty
    files = read_all(out, manifest)
    flags = check_corpus(files)
    assert flags == expected_flags(manifest, dict(files))
    assert not any(flag[0] in ("sorted", "binary") for flag in flags)


def test_duplicate_videos_are_exact_copies_in_another_shard(faulty: tuple[Path, dict]) -> None:
    out, manifest = faulty
    files = dict(read_all(out, manifest))
    for f in manifest["row_faults"]:
        if f["kind"] != "duplicate_video_across_shards":
            continue
        source, row = re.fullmatch(r"exact copy of (\S+) row (\d+)", f["detail"]).groups()
        assert source != f["file"]
        assert files[source].slice(int(row), 1).equals(files[f["file"]].slice(f["row"], 1))


def test_file_faults_are_really_broken(faulty: tuple[Path, dict]) -> None:
    out, manifest = faulty
    by_kind = {f["kind"]: out / f["file"] for f in manifest["file_faults"]}
    assert not set(p.name for p in by_kind.values()) & set(manifest["files"])
    assert by_kind["empty_file"].stat().st_size == 0
    for kind in ("truncated_file", "empty_file"):
        with pytest.raises((pa.ArrowInvalid, OSError)):
            pq.read_table(by_kind[kind])
    node_fields = {f.name: f for f in RAW_ARROW_SCHEMA.field("nodes").type.value_type}

    def nodes_of(schema: pa.Schema) -> dict[str, pa.Field]:
        return {f.name: f for f in schema.field("nodes").type.value_type}

    wrong = pq.read_schema(by_kind["wrong_type"])
    assert nodes_of(wrong)["level"].type == pa.string()
    assert {k: v for k, v in nodes_of(wrong).items() if k != "level"} == {
        k: v for k, v in node_fields.items() if k != "level"
    }
    missing = pq.read_schema(by_kind["missing_column"])
    assert nodes_of(missing) == {k: v for k, v in node_fields.items() if k != "end"}
    extra = pq.read_schema(by_kind["extra_column"])
    assert extra.names == [*RAW_ARROW_SCHEMA.names, "extra_note"]
    assert extra.remove(extra.get_field_index("extra_note")).equals(RAW_ARROW_SCHEMA)
    assert pq.read_table(by_kind["extra_column"]).num_rows == 3


def test_too_few_videos_for_faults_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least"):
        synth.generate(tmp_path, videos=20, faults=True)
    assert not any(tmp_path.iterdir())


def test_summary_fits_a_screen(faulty: tuple[Path, dict], clean: tuple[Path, dict]) -> None:
    for _, manifest in (faulty, clean):
        text = synth.format_summary(manifest)
        assert len(text.splitlines()) <= 24
        assert max(len(line) for line in text.splitlines()) <= 100
    assert "missing_root" in synth.format_summary(faulty[1])


# ---------------------------------------------------------------------------------------------
# Dependencies
# ---------------------------------------------------------------------------------------------


def test_synth_imports_neither_pyspark_nor_the_rest_of_pipelines() -> None:
    package = Path(synth.__file__).parent
    stems = sorted(p.stem for p in package.glob("*.py") if p.stem != "__init__")
    modules = ["pipelines.synth"] + [f"pipelines.synth.{stem}" for stem in stems]
    code = (
        "import importlib, json, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "print(json.dumps(sorted(sys.modules)))"
    )
    root = Path(__file__).resolve().parents[1]
    run = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True
    )
    loaded = json.loads(run.stdout)
    assert len(modules) >= 7  # the package and its six modules
    assert "pyspark" not in loaded
    assert not [m for m in loaded if m.startswith("pyspark.")]
    ours = [m for m in loaded if m.startswith("pipelines.")]
    assert all(m.startswith(("pipelines.synth", "pipelines.core")) for m in ours), ours
