"""`a100m evaluate` against the third-party evaluators (tests/readers.py) on our exports of the
real sample: detection against ActionFormer's `ANETdetection` (from PyPI), moment retrieval
against Moment-DETR's QVHighlights `standalone_eval` (vendored in tests/third_party); a perfect
and a perturbed prediction file, every level, to 1e-6."""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipelines.cli import EXIT_DATA, EXIT_OK, main
from pipelines.ingest.stage import explode
from tests.conftest import REAL_SAMPLE, require_real_sample
from tests.readers import actionformer_metrics, qvhighlights_eval

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


def _qvhighlights(truth: list[dict], lines: list[dict], thresholds) -> tuple[dict, dict, dict]:
    """standalone_eval's compute_mr_ap and compute_mr_r1 (what its eval_submission reports as
    "full"; one worker) on the same lines. They round to 0.01 %: the unrounded means are read
    from the values they average, the per-query APs of its compute_average_precision_detection
    and the top windows' IoUs of its compute_temporal_iou_batch_paired, recorded on the way."""
    qv = qvhighlights_eval()
    aps, ious = [], []
    ap_of, iou_of = qv.compute_average_precision_detection, qv.compute_temporal_iou_batch_paired

    def recorded_ap(*args, **kwargs):
        aps.append(ap_of(*args, **kwargs))
        return aps[-1]

    def recorded_iou(*args):
        ious.append(iou_of(*args))
        return ious[-1]

    qv.compute_average_precision_detection = recorded_ap
    qv.compute_temporal_iou_batch_paired = recorded_iou
    try:
        m_ap = qv.compute_mr_ap(
            copy.deepcopy(lines), copy.deepcopy(truth), iou_thds=thresholds, num_workers=1
        )
        r1 = qv.compute_mr_r1(copy.deepcopy(lines), copy.deepcopy(truth), iou_thds=thresholds)
    finally:
        qv.compute_average_precision_detection = ap_of
        qv.compute_temporal_iou_batch_paired = iou_of
    assert len(aps) == len(truth) and len(ious) == 1
    exact_ap = dict(zip([f"{t:g}" for t in thresholds], np.mean(aps, axis=0), strict=True))
    exact_r1 = {f"{t:g}": float(np.mean(ious[0] >= t)) for t in thresholds}
    return m_ap, r1, {"mAP": exact_ap, "R1": exact_r1}


@pytest.mark.parametrize("perturb", [False, True], ids=["perfect", "perturbed"])
def test_moment_retrieval_agrees_with_qvhighlights_standalone_eval(
    exports, tmp_path, capsys, perturb
):
    """MR-mAP and R1 of Moment-DETR's standalone_eval, at our thresholds and at its own ten
    (0.5 to 0.95: its MR-full-mAP is their average), on every level's queries."""
    truth_file = exports["moment-detr"] / "val" / "moment_detr.jsonl"
    truth = qvhighlights_eval().load_jsonl(str(truth_file))
    lines = _windows(truth, perturb)
    pred_file = tmp_path / "predictions.jsonl"
    pred_file.write_text("".join(json.dumps(x) + "\n" for x in lines))
    own = [round(float(t), 2) for t in np.linspace(0.5, 0.95, 10)]  # standalone_eval's
    worst = 0.0
    for name, thresholds in (("ours", THRESHOLDS), ("standalone_eval's", own)):
        out = tmp_path / f"m-{len(thresholds)}"
        code = main(
            ["evaluate", str(exports["moment-detr"]), "--split", "val",
             "--predictions", str(pred_file), "--out", str(out),
             "--tiou", ",".join(f"{t:g}" for t in thresholds)]
        )  # fmt: skip
        assert code == EXIT_OK, capsys.readouterr().err
        result = json.loads((out / "metrics.json").read_text())
        for level in ("all", *sorted({str(q["level"]) for q in truth})):
            mine = [q for q in truth if level == "all" or str(q["level"]) == level]
            asked = {q["qid"] for q in mine}
            m_ap, r1, exact = _qvhighlights(
                mine, [x for x in lines if x["qid"] in asked], thresholds
            )
            ours = result["levels"][level]
            assert ours["queries"] == len(mine) > 0
            if level == "all":
                print(f"standalone_eval, {len(mine)} queries: MR-mAP {m_ap}, R1 {r1}")
            for t in thresholds:
                key = f"{t:g}"
                got_ap, got_r1 = ours["mAP"][key], ours["recall"]["R@1"][key]
                worst = max(worst, abs(got_ap - exact["mAP"][key]), abs(got_r1 - exact["R1"][key]))
                assert abs(got_ap - exact["mAP"][key]) <= 1e-6, (name, level, t)
                assert abs(got_r1 - exact["R1"][key]) <= 1e-6, (name, level, t)
                # and as standalone_eval prints them, in percent to 2 places
                assert float(f"{100 * got_ap:.2f}") == m_ap[str(t)], (name, level, t)
                assert float(f"{100 * got_r1:.2f}") == r1[str(t)], (name, level, t)
            assert float(f"{100 * ours['mAP']['average']:.2f}") == m_ap["average"], level
    print(f"largest difference from standalone_eval: {worst:.3g}")
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
