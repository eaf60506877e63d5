"""Our exports read by the code their communities use, on the real sample and on a generated
corpus: ActionFormer's ActivityNet loader, dataset and evaluator (tests/readers.py, from PyPI),
HF `datasets` for the JSON Lines and Parquet formats, and the documented contracts of 2D-TAN's
Charades-STA loader and PDVC's dense-caption loader (neither is on PyPI: see docs/readers.md).

Expectations come from the raw Parquet through pyarrow, never from the lake or the export."""

from __future__ import annotations

import csv
import hashlib
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from pipelines import synth
from pipelines.cli import EXIT_OK, main
from pipelines.ingest.stage import explode
from tests.conftest import REAL_SAMPLE, require_real_sample
from tests.readers import actionformer_dataset, actionformer_metrics

SPEC = (("train", 0.6), ("val", 0.2), ("test", 0.2))
SPLIT = ",".join(f"{n}={f}" for n, f in SPEC)
SUBSET = {"train": "training", "val": "validation", "test": "testing"}
HF_SPLIT = {"train": "train", "val": "validation", "test": "test"}
TIOU = np.array([0.3, 0.5, 0.7])


def split_of(uid: str, spec=SPEC) -> str:
    u = int(hashlib.sha256(uid.encode()).hexdigest()[:13], 16) / 16**13
    bound = 0.0
    for name, fraction in spec[:-1]:
        bound += fraction
        if u < bound:
            return name
    return spec[-1][0]


def labelled(rows: list[dict]) -> list[tuple]:
    """(video, start, end, level, node_id, brief action) of every node with a brief action."""
    out = []
    for row in rows:
        for n in row["nodes"]:
            action = ((n["gpt"] or {}).get("action") or {}).get("brief")
            if action and action.strip():
                out.append(
                    (row["video_uid"], n["start"], n["end"], n["level"], n["node_id"], action)
                )
    return out


def t3(value: float) -> float:
    return round(float(value), 3)


def export(lake: str, out: Path, fmt: str, *more: str) -> Path:
    code = main(["export", "--lake", lake, "--format", fmt, "--out", str(out), *more])
    assert code == EXIT_OK, (fmt, more)
    # only what the format's readers read: no Hadoop checksums or _SUCCESS markers
    side = [p for p in out.rglob("*") if p.name == "_SUCCESS" or p.name.endswith(".crc")]
    side = [p for p in side if "_delta_log" not in p.parts or p.name.startswith(".")]
    assert side == [], side
    return out


@pytest.fixture(scope="module")
def corpora(spark, tmp_path_factory) -> dict[str, tuple[str, list[dict]]]:
    """Two lakes, built once: the real sample and a generated corpus of 60 videos."""
    require_real_sample(REAL_SAMPLE)
    root = tmp_path_factory.mktemp("readers")
    raw = root / "generated"
    synth.generate(raw, videos=60, seed=27)
    done = {}
    for name, files in (
        ("sample", [REAL_SAMPLE]),
        ("generated", sorted(raw.glob("shard-*.parquet"))),
    ):
        lake = str(root / f"lake-{name}")
        explode(spark, [str(f) for f in files], lake)
        rows = [r for f in files for r in pq.read_table(f).to_pylist()]
        done[name] = (lake, rows)
    return done


@pytest.fixture(scope="module")
def out_root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("readers-out")


@pytest.fixture(scope="module")
def anet(corpora, out_root) -> dict[str, Path]:
    """The activitynet export of each corpus, split by video."""
    return {
        name: export(lake, out_root / f"anet-{name}", "activitynet", "--split", SPLIT)
        for name, (lake, _) in corpora.items()
    }


# --- ActivityNet: ActionFormer ------------------------------------------------------------------


@pytest.mark.parametrize("corpus", ["sample", "generated"])
def test_activitynet_one_file_of_every_subset_read_by_actionformer(corpora, anet, corpus):
    out, (_, rows) = anet[corpus], corpora[corpus]
    expected = labelled(rows)
    labels = sorted({label for *_, label in expected})
    ids = {label: i for i, label in enumerate(labels)}
    metrics = actionformer_metrics()
    whole = out / "activitynet.json"
    for split, subset in SUBSET.items():
        gt = metrics.load_gt_seg_from_json(str(whole), split=subset)
        got = set(gt.itertuples(index=False, name=None))
        want = {
            (v, t3(s), t3(e), ids[label])
            for v, s, e, _, _, label in expected
            if split_of(v) == split
        }
        assert got == want and len(got) > 0, split
        # the per-split file holds the same subset, and only it
        alone = metrics.load_gt_seg_from_json(str(out / split / "activitynet.json"))
        assert set(alone.itertuples(index=False, name=None)) == want
    # ActionFormer's dataset: the label dict of the one file numbers every class (its assert
    # `len(label_dict) == num_classes`), the training subset is the train split's videos,
    # each with the fps we wrote and a duration covering its segments
    data, label_dict = actionformer_dataset(whole, ("training",), num_classes=len(labels))
    assert label_dict == ids
    train = {v for v, *_ in expected if split_of(v) == "train"}
    assert {d["id"] for d in data} == train
    for item in data:  # ActionFormer holds the times as float32
        assert item["fps"] == 30.0 and np.float32(item["duration"]) >= item["segments"].max()
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["output"]["whole"] == "activitynet.json" and manifest["output"]["fps"] == 30.0


def test_activitynet_without_split_is_validation_scored_by_actionformer(corpora, out_root):
    lake, rows = corpora["sample"]
    out = export(lake, out_root / "anet-all", "activitynet", "--id-prefix", "v_", "--fps", "15")
    doc = json.loads((out / "activitynet.json").read_text())
    database = doc["database"]
    assert {e["subset"] for e in database.values()} == {"validation"}
    assert set(database) == {f"v_{r['video_uid']}" for r in rows}
    video = next(iter(database))
    assert database[video]["url"].endswith("=" + video[2:])  # the url keeps the YouTube id
    assert {e["fps"] for e in database.values()} == {15.0}
    # the evaluator's default subset, validation: our ground truth as predictions scores 1,
    # a copy shifted by 40 % of each segment's length lower at every threshold
    metrics = actionformer_metrics()
    truth = metrics.load_gt_seg_from_json(str(out / "activitynet.json"), split="validation")
    detection = metrics.ANETdetection(
        str(out / "activitynet.json"), split="validation", tiou_thresholds=TIOU, num_workers=1
    )
    perfect = truth.assign(score=np.linspace(1, 0.5, len(truth)))
    m_ap, average, _ = detection.evaluate(perfect, verbose=False)
    assert np.allclose(m_ap, 1.0) and average == pytest.approx(1.0)
    length = truth["t-end"] - truth["t-start"]
    shifted = perfect.assign(
        **{"t-start": truth["t-start"] + 0.4 * length, "t-end": truth["t-end"] + 0.4 * length}
    )
    m_ap_shifted, average_shifted, _ = detection.evaluate(shifted, verbose=False)
    # a shift of 0.4 x length leaves its own segment a tIoU of 0.6 / 1.4 = 0.43: mostly found
    # at 0.3, mostly missed above
    assert m_ap_shifted[0] > 0.8 and m_ap_shifted[1] < 0.2 and m_ap_shifted[2] < 0.2
    assert average_shifted < average


# --- Charades-STA: 2D-TAN's contract ----------------------------------------------------------


def read_like_2d_tan(folder: Path, split: str) -> tuple[dict, list[dict]]:
    """What 2D-TAN's lib/datasets/charades.py does (not on PyPI, so written here from its
    source, which stays out of the repo): durations from Charades_v1_{split}.csv (`id`,
    `length`, csv.DictReader), then each line of charades_sta_{split}.txt split on `##` into
    exactly two parts, the sentence cut at its first '.\\n', the head split on single spaces
    into id, start, end; the end clipped to the duration and the segment kept if start < end."""
    with (folder / f"Charades_v1_{split}.csv").open(newline="") as f:
        durations = {row["id"]: float(row["length"]) for row in csv.DictReader(f)}
    kept = []
    for line in (folder / f"charades_sta_{split}.txt").open():
        head, sentence = line.split("##")  # exactly one separator, or ValueError
        sentence = sentence.split(".\n")[0]
        vid, start, end = head.split(" ")
        clipped = min(float(end), durations[vid])
        if float(start) < clipped:
            kept.append(
                {"video": vid, "times": [float(start), clipped], "end": float(end),
                 "description": sentence.rstrip("\n")}
            )  # fmt: skip
    return durations, kept


def described(label: str) -> str:
    """The sentence 2D-TAN ends up with: ours on one line, cut at its final '.'."""
    sentence = re.sub(r"#{2,}", "#", re.sub(r"[\t\r\n ]+", " ", label)).strip(" ")
    return (sentence + "\n").split(".\n")[0].rstrip("\n")


@pytest.mark.parametrize("corpus", ["sample", "generated"])
def test_charades_files_read_as_2d_tan_reads_them_none_clipped(corpora, out_root, corpus):
    lake, rows = corpora[corpus]
    out = export(lake, out_root / f"charades-{corpus}", "charades-sta", "--split", SPLIT)
    expected = labelled(rows)
    for split in SUBSET:
        mine = sorted(
            (v, t3(s), t3(e), node, label)
            for v, s, e, _, node, label in expected
            if split_of(v) == split
        )
        durations, kept = read_like_2d_tan(out, split)
        assert len(kept) == len(mine) > 0, split  # nothing dropped
        assert all(a["times"][1] == a["end"] for a in kept)  # nothing clipped
        got = sorted((a["video"], *a["times"], a["description"]) for a in kept)
        assert got == sorted((v, s, e, described(label)) for v, s, e, _, label in mine)
        assert set(durations) == {v for v, *_ in mine}
    assert not list(out.glob("*/"))  # one data folder, 2D-TAN's DATA_DIR


# --- moment-detr (QVHighlights JSON Lines), steps, hierarchy, jsonl, parquet: HF datasets --------


def hf_load(folder: Path, fmt: str, cache: Path):
    import datasets

    return datasets.load_dataset(fmt, data_dir=str(folder), cache_dir=str(cache))


def test_moment_detr_lines_read_by_hf_datasets(corpora, out_root, tmp_path):
    lake, rows = corpora["sample"]
    out = export(lake, out_root / "mdetr", "moment-detr", "--split", SPLIT)
    loaded = hf_load(out, "json", tmp_path / "hf")
    expected = labelled(rows)
    assert set(loaded) == set(HF_SPLIT.values())
    for split, hf in HF_SPLIT.items():
        mine = {
            int(hashlib.sha256(f"{v}/{node}".encode()).hexdigest()[:15], 16): (v, t3(s), t3(e), lv)
            for v, s, e, lv, node, _ in expected
            if split_of(v) == split
        }
        got = loaded[hf]
        assert len(got) == len(mine) == len(set(got["qid"]))
        for line in got:
            v, s, e, level = mine[line["qid"]]
            assert (line["vid"], line["relevant_windows"], line["level"]) == (v, [[s, e]], level)
            assert line["duration"] >= e and line["query"].strip()


def test_one_empty_split_rule_for_every_format(corpora, out_root, tmp_path):
    """A split with nothing in it gets no file, in every format: HF datasets loads the others."""
    lake, rows = corpora["sample"]
    one = rows[0]["video_uid"]
    videos = tmp_path / "one.txt"
    videos.write_text(one + "\n")
    split = split_of(one)
    empty = [s for s in SUBSET if s != split]
    flags = ("--split", SPLIT, "--videos", str(videos))
    for fmt, reader in (
        ("steps", "json"),
        ("hierarchy", "json"),
        ("moment-detr", "json"),
        ("jsonl", "json"),
        ("parquet", "parquet"),
        ("dense-captions", None),
        ("activitynet", None),
        ("charades-sta", None),
    ):
        out = export(lake, out_root / f"empty-{fmt}", fmt, *flags)
        manifest = json.loads((out / "manifest.json").read_text())
        counts = {s: next(iter(c.values())) for s, c in manifest["counts"]["splits"].items()}
        assert counts[split] > 0 and all(counts[s] == 0 for s in empty), fmt
        files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
        for gone in empty:
            assert not [f for f in files if f.split("/")[0] == gone or f"_{gone}." in f], fmt
        assert not [f for f in files if (out / f).stat().st_size == 0], fmt
        if fmt != "charades-sta":
            assert all((out / s).is_dir() and not any((out / s).iterdir()) for s in empty), fmt
        if reader:
            loaded = hf_load(out, reader, tmp_path / f"hf-{fmt}")
            assert dict(loaded.num_rows) == {HF_SPLIT[split]: counts[split]}, fmt
    whole = json.loads((out_root / "empty-activitynet" / "activitynet.json").read_text())
    assert list(whole["database"]) == [one]


# --- dense captions: PDVC's contract -----------------------------------------------------------


def test_dense_captions_read_as_pdvc_reads_them(corpora, out_root):
    """PDVC (not on PyPI) reads {VIDEO: {duration, timestamps, sentences}} and, with the
    ActivityNet Captions ids it is built for, video ids that start with `v_`."""
    lake, rows = corpora["generated"]
    out = export(lake, out_root / "dense", "dense-captions", "--split", SPLIT, "--id-prefix", "v_")
    want = {}
    for row in rows:
        for n in row["nodes"]:
            summary = ((n["gpt"] or {}).get("summary") or {}).get("brief")
            if summary and summary.strip():
                want.setdefault(row["video_uid"], []).append(
                    ([t3(n["start"]), t3(n["end"])], summary)
                )
    for split in SUBSET:
        doc = json.loads((out / split / "dense_captions.json").read_text())
        assert set(doc) == {f"v_{v}" for v in want if split_of(v) == split}
        for vid, entry in doc.items():
            assert len(entry["timestamps"]) == len(entry["sentences"])
            assert all(0 <= s <= e <= entry["duration"] for s, e in entry["timestamps"])
            pairs = list(zip(entry["timestamps"], entry["sentences"], strict=True))
            assert pairs == sorted(want[vid[2:]])


def test_actionformer_evaluator_sees_labels_from_every_split(anet):
    """The validation subset of the one file lacks some classes of the corpus; the evaluator
    still scores its own classes at 1 when our ground truth is fed back as predictions."""
    out = anet["generated"]
    metrics = actionformer_metrics()
    whole = str(out / "activitynet.json")
    truth = metrics.load_gt_seg_from_json(whole, split="validation")
    detection = metrics.ANETdetection(
        whole, split="validation", tiou_thresholds=TIOU, num_workers=1
    )
    m_ap, _, recall = detection.evaluate(
        pd.DataFrame(truth).assign(score=np.linspace(1, 0.1, len(truth))), verbose=False
    )
    assert np.allclose(m_ap, 1.0) and np.allclose(recall, 1.0)
