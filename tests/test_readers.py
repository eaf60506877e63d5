"""Our exports read by the code their communities use, on the real sample and on a generated
corpus: ActionFormer's ActivityNet loader, dataset and evaluator (from PyPI), 2D-TAN's
Charades-STA dataset, PDVC's dense-caption dataset and evaluator, Moment-DETR's QVHighlights
evaluator (vendored in tests/third_party: none is on PyPI), and HF `datasets` for the JSON Lines
and Parquet formats (tests/readers.py loads them; docs/readers.md says how).

Expectations come from the raw Parquet through pyarrow, never from the lake or the export."""

from __future__ import annotations

import hashlib
import json
import re
import types
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from pipelines import synth
from pipelines.cli import EXIT_OK, main
from pipelines.ingest.stage import explode
from tests.conftest import REAL_SAMPLE, require_real_sample
from tests.readers import (
    actionformer_dataset,
    actionformer_metrics,
    pdvc_evaluate2018,
    pdvc_video_dataset,
    qvhighlights_eval,
    two_d_tan_charades,
)

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


# --- Charades-STA: 2D-TAN -----------------------------------------------------------------------


def described(label: str) -> str:
    """The description 2D-TAN keeps: our label on one line (the export turns tabs and line
    breaks into spaces and `##` into `#`), then its own `sent.split('.\\n')[0]` of the line's
    text after `##` (so a sentence without a final '.' keeps its line break, as Charades-STA's
    own lines with one drop theirs; its tokenizer, `description.split()`, drops it either way)."""
    sentence = re.sub(r"#{2,}", "#", re.sub(r"[\t\r\n ]+", " ", label)).strip(" ")
    return (sentence + "\n").split(".\n")[0]


@pytest.mark.parametrize("corpus", ["sample", "generated"])
def test_charades_files_read_by_2d_tan_none_clipped_or_dropped(corpora, out_root, corpus):
    lake, rows = corpora[corpus]
    out = export(lake, out_root / f"charades-{corpus}", "charades-sta", "--split", SPLIT)
    expected = labelled(rows)
    for split in SUBSET:
        mine = [
            (v, t3(s), t3(e), label) for v, s, e, _, _, label in expected if split_of(v) == split
        ]
        # 2D-TAN's Charades(split) with DATA_DIR = OUT: its __init__ reads both files
        dataset = two_d_tan_charades(out, split)
        assert len(dataset) == len(mine) > 0, split  # nothing dropped (start < clipped end)
        got = sorted(
            (a["video"], a["times"][0], a["times"][1], a["description"])
            for a in dataset.annotations
        )
        # every segment as the raw Parquet has it: none clipped to its video's length
        assert got == sorted((v, s, e, described(label)) for v, s, e, label in mine), split
        assert set(dataset.durations) == {v for v, *_ in mine}
        assert all(a["duration"] >= a["times"][1] for a in dataset.annotations)
        first = min(mine)
        assert (first[0], first[1], first[2]) in {
            (a["video"], *a["times"]) for a in dataset.annotations
        }
    assert not list(out.glob("*/"))  # one data folder, 2D-TAN's DATA_DIR


# --- moment-detr (QVHighlights JSON Lines), steps, hierarchy, jsonl, parquet: HF datasets --------


def hf_load(folder: Path, fmt: str, cache: Path):
    import datasets

    return datasets.load_dataset(fmt, data_dir=str(folder), cache_dir=str(cache))


@pytest.fixture(scope="module")
def mdetr(corpora, out_root) -> dict[str, Path]:
    """The moment-detr export of each corpus, split by video."""
    return {
        name: export(lake, out_root / f"mdetr-{name}", "moment-detr", "--split", SPLIT)
        for name, (lake, _) in corpora.items()
    }


def test_moment_detr_lines_read_by_hf_datasets(corpora, mdetr, tmp_path):
    _, rows = corpora["sample"]
    out = mdetr["sample"]
    loaded = hf_load(out, "json", tmp_path / "hf")
    expected = labelled(rows)
    assert set(loaded) == set(HF_SPLIT.values())
    for split, hf in HF_SPLIT.items():
        mine = {
            qid_of(v, node): (v, t3(s), t3(e), lv)
            for v, s, e, lv, node, _ in expected
            if split_of(v) == split
        }
        got = loaded[hf]
        assert len(got) == len(mine) == len(set(got["qid"]))
        for line in got:
            v, s, e, level = mine[line["qid"]]
            assert (line["vid"], line["relevant_windows"], line["level"]) == (v, [[s, e]], level)
            assert line["duration"] >= e and line["query"].strip()


def qid_of(video: str, node: str) -> int:
    return int(hashlib.sha256(f"{video}/{node}".encode()).hexdigest()[:15], 16)


@pytest.mark.parametrize("corpus", ["sample", "generated"])
def test_moment_detr_lines_read_by_the_qvhighlights_evaluator(corpora, mdetr, corpus):
    """Moment-DETR's standalone_eval reads each split's lines (its load_jsonl) and scores our
    windows fed back as predictions at 100 (its MR-mAP and R1 are percentages)."""
    out, (_, rows) = mdetr[corpus], corpora[corpus]
    expected = labelled(rows)
    qv = qvhighlights_eval()
    for split in SUBSET:
        mine = {
            qid_of(v, node): (v, t3(s), t3(e), label.strip())
            for v, s, e, _, node, label in expected
            if split_of(v) == split
        }
        truth = qv.load_jsonl(str(out / split / "moment_detr.jsonl"))
        assert len(truth) == len(mine) > 0 and {q["qid"] for q in truth} == set(mine), split
        for q in truth:
            v, s, e, label = mine[q["qid"]]
            assert (q["vid"], q["relevant_windows"]) == (v, [[s, e]])
            assert q["duration"] >= e and q["query"].split() == label.split()
        submission = [
            {"qid": q["qid"], "pred_relevant_windows": [[*q["relevant_windows"][0], 1.0]]}
            for q in truth
        ]
        m_ap = qv.compute_mr_ap(submission, truth, num_workers=1)
        r1 = qv.compute_mr_r1(submission, truth)
        assert set(m_ap.values()) == {100.0} and set(r1.values()) == {100.0}, (m_ap, r1)


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


# --- dense captions: PDVC --------------------------------------------------------------------


def summaries(rows: list[dict]) -> dict[str, list]:
    """video -> sorted [([start, end], brief summary)] of the raw Parquet's nodes."""
    want: dict[str, list] = {}
    for row in rows:
        for n in row["nodes"]:
            summary = ((n["gpt"] or {}).get("summary") or {}).get("brief")
            if summary and summary.strip():
                want.setdefault(row["video_uid"], []).append(
                    ([t3(n["start"]), t3(n["end"])], summary)
                )
    return {video: sorted(pairs) for video, pairs in want.items()}


@pytest.mark.parametrize("corpus", ["sample", "generated"])
def test_dense_captions_read_by_pdvc_dataset_and_evaluator(corpora, out_root, tmp_path, corpus):
    """PDVC's PropSeqDataset reads each split's file (with ActivityNet's `v_` ids: it cuts the
    13-character key for its feature files and invalid-video lists); its densevid_eval3
    evaluator scores our captions fed back as predictions at recall and precision 1."""
    lake, rows = corpora[corpus]
    out = export(
        lake, out_root / f"dense-{corpus}", "dense-captions", "--split", SPLIT, "--id-prefix", "v_"
    )
    want = summaries(rows)
    vdata, evaluation = pdvc_video_dataset(), pdvc_evaluate2018()
    words = sorted({w for pairs in want.values() for _, s in pairs for w in s.lower().split()})
    vocab = tmp_path / "vocabulary.json"
    vocab.write_text(
        json.dumps(
            {"word_to_ix": {w: i + 1 for i, w in enumerate(words)},
             "ix_to_word": {str(i + 1): w for i, w in enumerate(words)}}
        )
    )  # fmt: skip
    for split in SUBSET:
        anno = out / split / "dense_captions.json"
        videos = sorted(v for v in want if split_of(v) == split)
        invalid = tmp_path / f"invalid-{split}.json"
        invalid.write_text(json.dumps([f"v_{videos[0]}"]))  # PDVC drops it by `k[:13]`
        opt = types.SimpleNamespace(
            vocab_size=len(words), max_caption_len=30, invalid_video_json=[str(invalid)],
            feature_sample_rate=1, train_proposal_sample_num=30, gt_proposal_sample_num=10**6,
            feature_dim=500, num_queries=10, visual_feature_type="c3d", data_rescale=False,
            data_norm=False, num_classes=1,
        )  # fmt: skip
        # no features here: PDVC pads a missing feature file with 100 zero rows
        dataset = vdata["PropSeqDataset"](
            str(anno), str(tmp_path / "no-features"), str(vocab), False, "gt", opt
        )
        assert len(dataset) == len(videos) - 1 and f"v_{videos[0]}" not in dataset.keys
        for i in range(len(dataset)):
            feats, featstamps, _, labels, stamps, duration, captions, key = dataset[i]
            assert key[:2] == "v_" and len(key) == 13 and key[2:] in want, key
            assert sorted(zip(stamps, captions, strict=True)) == want[key[2:]]
            assert all(0 <= s <= e <= duration for s, e in stamps)
            assert all(0 <= f <= feats.shape[0] - 1 for pair in featstamps for f in pair)
            assert all(label[0] == 0 == label[-1] for label in labels)
        if split != "test":
            continue  # the evaluator, quadratic in a video's captions, on one split
        # the evaluator: our captions as the predictions
        truth = json.loads(anno.read_text())
        for name, shift in (("perfect", 0.0), ("shifted", 0.4)):
            results = {
                video: [
                    {"timestamp": [s + shift * (e - s), e + shift * (e - s)], "sentence": c}
                    for (s, e), c in zip(entry["timestamps"], entry["sentences"], strict=True)
                ]
                for video, entry in truth.items()
            }
            submission = tmp_path / f"pred-{split}-{name}.json"
            submission.write_text(
                json.dumps({"version": "VERSION 1.0", "results": results, "external_data": {}})
            )
            # its default keeps a video's first 1,000 predictions: raise it for longer trees
            # (docs/readers.md)
            args = types.SimpleNamespace(
                references=[str(anno)], submission=str(submission), tious=[0.3, 0.5, 0.7, 0.9],
                max_proposals_per_video=1000, verbose=False, no_lang_eval=1,
            )  # fmt: skip
            scores = evaluation["main"](args)
            if shift:
                assert scores["Recall"][-1] < 1.0 and scores["Precision"][-1] < 1.0, scores
            else:
                assert scores == {"Recall": [1.0] * 4, "Precision": [1.0] * 4}, scores


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
