"""`a100m evaluate` against ActionFormer's evaluator (tests/readers.py, from PyPI) on our exports
of the real sample: a perfect and a perturbed prediction file, every level, to 1e-6."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipelines.cli import EXIT_DATA, EXIT_OK, main
from pipelines.ingest.stage import explode
from tests.conftest import REAL_SAMPLE, require_real_sample
from tests.readers import actionformer_metrics

SPLIT = "train=0.6,val=0.2,test=0.2"
THRESHOLDS = (0.3, 0.5, 0.7)
TOP_K = (1, 5)


@pytest.fixture(scope="module")
def exports(spark, tmp_path_factory) -> dict[str, Path]:
    """activitynet and moment-detr exports of the real sample, split by video, built once."""
    require_real_sample(REAL_SAMPLE)
    root = tmp_path_factory.mktemp("evaluate")
    lake = str(root / "lake")
    explode(spark, [str(REAL_SAMPLE)], lake)
    done = {}
    for fmt in ("activitynet", "moment-detr"):
        out = root / fmt
        argv = ["export", "--lake", lake, "--format", fmt, "--out", str(out), "--split", SPLIT]
        assert main(argv) == EXIT_OK
        done[fmt] = out
    return done


def _detections(truth: dict, perturb: bool, seed: int = 3) -> dict:
    """ActivityNet results: every ground-truth segment once, scored; perturbed: times moved by up
    to 40 % of the length, one label in five swapped, and a few spurious segments per video."""
    rng = random.Random(seed)
    labels = sorted({a["label"] for v in truth.values() for a in v["annotations"]})
    results = {}
    for video, entry in truth.items():
        found = []
        for a in entry["annotations"]:
            s, e = a["segment"]
            label = a["label"]
            if perturb:
                length = e - s
                s += rng.uniform(-0.4, 0.4) * length
                e += rng.uniform(-0.4, 0.4) * length
                s, e = min(s, e), max(s, e) + 0.01
                if rng.random() < 0.2:
                    label = rng.choice(labels)
            found.append({"label": label, "score": rng.random(), "segment": [s, e]})
        for _ in range(rng.randint(0, 5) if perturb else 0):
            s = rng.uniform(0, entry["duration"])
            found.append(
                {"label": rng.choice(labels), "score": rng.random(), "segment": [s, s + 5]}
            )
        results[video] = found
    return {"version": "VERSION 1.3", "results": results, "external_data": {}}


def _actionformer(truth_file: Path, predictions: dict, level: int | None, tmp: Path) -> tuple:
    """ActionFormer's ANETdetection on the same files (a level: its annotations only)."""
    metrics = actionformer_metrics()
    doc = json.loads(truth_file.read_text())
    if level is not None:
        for entry in doc["database"].values():
            entry["annotations"] = [a for a in entry["annotations"] if a["level"] == level]
    path = tmp / f"truth-{level}.json"
    path.write_text(json.dumps(doc))
    ids = {a["label"]: a["label_id"] for v in doc["database"].values() for a in v["annotations"]}
    rows = [
        (video, p["segment"][0], p["segment"][1], ids[p["label"]], p["score"])
        for video, found in predictions["results"].items()
        for p in found
        if p["label"] in ids  # a label the subset lacks: ANETdetection ignores its class
    ]
    frame = pd.DataFrame(rows, columns=["video-id", "t-start", "t-end", "label", "score"])
    detection = metrics.ANETdetection(
        str(path), tiou_thresholds=np.array(THRESHOLDS), top_k=TOP_K, num_workers=1
    )
    return detection.evaluate(frame, verbose=False)


@pytest.mark.parametrize("perturb", [False, True], ids=["perfect", "perturbed"])
def test_detection_agrees_with_actionformer_at_every_level(exports, tmp_path, capsys, perturb):
    truth_file = exports["activitynet"] / "train" / "activitynet.json"
    truth = json.loads(truth_file.read_text())["database"]
    predictions = _detections(truth, perturb)
    pred_file = tmp_path / "predictions.json"
    pred_file.write_text(json.dumps(predictions))
    out = tmp_path / "metrics"
    code = main(
        ["evaluate", str(exports["activitynet"]), "--split", "train",
         "--predictions", str(pred_file), "--out", str(out)]
    )  # fmt: skip
    printed = capsys.readouterr().out
    assert code == EXIT_OK and "level 0" in printed
    result = json.loads((out / "metrics.json").read_text())
    levels = sorted({a["level"] for v in truth.values() for a in v["annotations"]})
    assert set(result["levels"]) == {"all", *map(str, levels)} and len(levels) >= 3
    for level in (None, *levels):
        ours = result["levels"]["all" if level is None else str(level)]
        m_ap, average, recall = _actionformer(truth_file, predictions, level, tmp_path)
        got = [ours["mAP"][f"{t:g}"] for t in THRESHOLDS]
        assert np.allclose(got, m_ap, rtol=0, atol=1e-6), level
        assert abs(ours["mAP"]["average"] - average) <= 1e-6
        for k_index, k in enumerate(TOP_K):
            got = [ours["recall"][f"R@{k}x"][f"{t:g}"] for t in THRESHOLDS]
            assert np.allclose(got, recall[:, k_index], rtol=0, atol=1e-6), (level, k)
    whole = result["levels"]["all"]["mAP"]
    if perturb:
        assert 0.05 < whole["0.7"] < whole["0.3"] < 0.95  # lower, and falling with the tIoU
    else:
        assert whole == {"0.3": 1.0, "0.5": 1.0, "0.7": 1.0, "average": 1.0}
    page = (out / "metrics.html").read_text()
    assert "<table>" in page and "http" not in page.replace(str(out), "")  # nothing fetched


def _windows(truth: list[dict], perturb: bool, seed: int = 5) -> list[dict]:
    rng = random.Random(seed)
    lines = []
    for query in truth:
        (s, e), duration = query["relevant_windows"][0], query["duration"]
        windows = [[s, e, 1.0]]
        if perturb:
            length = e - s
            shift = rng.uniform(-0.6, 0.6) * length
            windows = [[s + shift, e + shift, 0.9]]
            for _ in range(rng.randint(0, 6)):
                a = rng.uniform(0, duration)
                windows.append([a, min(duration, a + rng.uniform(1, 30)), rng.uniform(0, 0.8)])
        lines.append({"qid": query["qid"], "query": query["query"], "vid": query["vid"],
                      "pred_relevant_windows": windows})  # fmt: skip
    return lines


@pytest.mark.parametrize("perturb", [False, True], ids=["perfect", "perturbed"])
def test_moment_retrieval_agrees_with_the_activitynet_ap_per_query(
    exports, tmp_path, capsys, perturb
):
    """MR-mAP is QVHighlights' standalone_eval: ActivityNet's AP per query over its first 10
    windows, averaged; here computed with ActionFormer's copy of that AP. R@1 is the top
    window's tIoU (ActionFormer's segment_iou) against the best ground-truth window."""
    metrics = actionformer_metrics()
    truth_file = exports["moment-detr"] / "val" / "moment_detr.jsonl"
    truth = [json.loads(line) for line in truth_file.read_text().splitlines()]
    lines = _windows(truth, perturb)
    pred_file = tmp_path / "predictions.jsonl"
    pred_file.write_text("".join(json.dumps(x) + "\n" for x in lines))
    code = main(
        ["evaluate", str(exports["moment-detr"]), "--split", "val",
         "--predictions", str(pred_file), "--out", str(tmp_path / "m")]
    )  # fmt: skip
    assert code == EXIT_OK, capsys.readouterr().err
    result = json.loads((tmp_path / "m" / "metrics.json").read_text())
    by_qid = {x["qid"]: x for x in lines}
    for level in ("all", *sorted({str(q["level"]) for q in truth})):
        mine = [q for q in truth if level == "all" or str(q["level"]) == level]
        aps, r1, r5 = [], [], []
        for q in mine:
            # standalone_eval's frames: the qid as the video id (a string, as ActivityNet's are)
            qid = str(q["qid"])
            gt = pd.DataFrame(
                [{"video-id": qid, "t-start": s, "t-end": e} for s, e in q["relevant_windows"]]
            )
            windows = by_qid[q["qid"]]["pred_relevant_windows"]
            pred = pd.DataFrame(
                [
                    {"video-id": qid, "t-start": s, "t-end": e, "score": c}
                    for s, e, c in windows[:10]
                ]
            )
            aps.append(metrics.compute_average_precision_detection(gt, pred, np.array(THRESHOLDS)))
            best = [
                metrics.segment_iou(np.array(w[:2]), np.array(q["relevant_windows"])).max()
                for w in windows[:5]
            ]
            r1.append([best[0] >= t for t in THRESHOLDS])
            r5.append([max(best) >= t for t in THRESHOLDS])
        ours = result["levels"][level]
        assert ours["queries"] == len(mine) > 0
        got = [ours["mAP"][f"{t:g}"] for t in THRESHOLDS]
        assert np.allclose(got, np.mean(aps, axis=0), rtol=0, atol=1e-6), level
        assert np.allclose([ours["recall"]["R@1"][f"{t:g}"] for t in THRESHOLDS], np.mean(r1, 0))
        assert np.allclose([ours["recall"]["R@5"][f"{t:g}"] for t in THRESHOLDS], np.mean(r5, 0))
    whole = result["levels"]["all"]["mAP"]
    assert (whole["0.5"] < 0.9) if perturb else (whole["average"] == 1.0)


def test_bad_predictions_are_refused_in_one_line_naming_file_record_and_field(
    exports, tmp_path, capsys
):
    anet = exports["activitynet"]
    video = next(iter(json.loads((anet / "train" / "activitynet.json").read_text())["database"]))
    cases = [
        ({"results": {video: [{"label": "x", "score": 0.5, "segment": [3, 1]}]}},
         f'results["{video}"][0].segment: end 1 is before start 3'),
        ({"results": {video: [{"label": "x", "score": "high", "segment": [1, 3]}]}},
         f'results["{video}"][0].score: \'high\' is not a finite number'),
        ({"database": {}}, 'no "results" object'),
    ]  # fmt: skip
    for doc, message in cases:
        path = tmp_path / "bad.json"
        path.write_text(json.dumps(doc))
        code = main(["evaluate", str(anet), "--split", "train", "--predictions", str(path)])
        err = capsys.readouterr().err.strip().splitlines()
        assert code == EXIT_DATA and len(err) == 1, err
        assert str(path) in err[0] and message in err[0], err
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"qid": 1, "pred_relevant_windows": [[0, 1, 0.5]]}\n{"qid": 2}\n')
    code = main(["evaluate", str(exports["moment-detr"]), "--split", "val",
                 "--predictions", str(bad)])  # fmt: skip
    err = capsys.readouterr().err
    assert code == EXIT_DATA and "line 2.pred_relevant_windows: missing" in err
    code = main(["evaluate", str(anet), "--predictions", str(bad)])
    assert code == EXIT_DATA and "has splits train, val, test: give --split" in (
        capsys.readouterr().err
    )
