"""`a100m evaluate`: predictions scored against a split of an `a100m export`, as the community's
evaluators score them, per level of the tree. numpy on the driver (a split's ground truth and
its predictions are small), no Spark.

Over 500 lines because both tasks' readers, matchers and metrics, and the page, must agree with
the third-party evaluators line for line; kept in one module so the equivalence reads in one place.

Two tasks, decided by the export's format:

- **detection** (an `activitynet` export; predictions in ActivityNet's results JSON,
  `{"results": {VIDEO: [{"label", "score", "segment": [start, end]}]}}`): per class, average
  precision at each tIoU threshold, predictions matched greedily in descending score to the
  unmatched ground truth of highest tIoU, precision interpolated as in VOC 2011 (the ActivityNet
  evaluator's and ActionFormer's `ANETdetection`); mAP the mean over the ground truth's classes.
  Recall@k is ActionFormer's "Recall@kx": per class and video, the top k x n predictions (n the
  video's ground truth segments of that class) cover how many of them, averaged over classes.
  Ground truth segments repeated in a video (same label, both ends within 1 ms) and segments
  shorter than 1 ms count once or not at all, as ActionFormer's loader drops them.
- **moment retrieval** (a `moment-detr` export; predictions in QVHighlights' JSON Lines,
  `{"qid", "pred_relevant_windows": [[start, end, score], ...]}`, best first): per query, the
  average precision of its first 10 windows (Moment-DETR's `standalone_eval`), averaged over
  the queries; Recall@k the share of queries one of whose first k windows reaches the tIoU with
  a ground-truth window (R@1 is `standalone_eval`'s R1). A query without predictions scores 0.

Scores are fractions in [0, 1]. Each level of the tree is scored on its own ground truth
(detection: its segments, with every prediction; retrieval: its queries), and `all` on all.
"""

from __future__ import annotations

import html
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipelines.core.errors import A100mError
from pipelines.trainset.options import NO_SPLIT

TIOU_THRESHOLDS = (0.3, 0.5, 0.7)
TOP_K = (1, 5)
MAX_WINDOWS = 10  # windows of a query that count for its AP (standalone_eval's max_pred_windows)
DUPLICATE_TOLERANCE = 1e-3
TASKS = {"activitynet": "detection", "moment-detr": "moment retrieval"}
METRICS = "metrics.json"
PAGE = "metrics.html"


class EvaluationError(A100mError):
    """A prediction or ground-truth file that cannot be scored; one line (exit 1: the data was
    refused, unlike a selection's usage mistakes)."""


@dataclass
class Segments:
    """Segments as parallel arrays: their group (video or query), label, times, score, level."""

    group: np.ndarray  # object: video id (detection) or qid (retrieval)
    label: np.ndarray  # object
    start: np.ndarray
    end: np.ndarray
    score: np.ndarray
    level: np.ndarray

    def __len__(self) -> int:
        return len(self.start)

    def take(self, mask: np.ndarray) -> Segments:
        return Segments(*(a[mask] for a in self._arrays()))

    def _arrays(self):
        return (self.group, self.label, self.start, self.end, self.score, self.level)


def _segments(rows: list[tuple]) -> Segments:
    columns = [list(c) for c in zip(*rows, strict=True)] if rows else [[] for _ in range(6)]
    group, label, start, end, score, level = columns
    return Segments(
        np.array(group, dtype=object),
        np.array(label, dtype=object),
        np.array(start, dtype=float),
        np.array(end, dtype=float),
        np.array(score, dtype=float),
        np.array(level, dtype=int),
    )


# --- reading, with one clear line per bad record ---------------------------------------------


def _load_json(path: Path, what: str):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise EvaluationError(f"{what} {path}: no such file") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise EvaluationError(f"{what} {path}: not JSON ({exc})") from None


def _jsonl(path: Path, what: str) -> list[tuple[int, dict]]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise EvaluationError(f"{what} {path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise EvaluationError(f"{what} {path}: cannot be read ({exc})") from None
    rows = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError as exc:
            raise EvaluationError(f"{what} {path}: line {number}: not JSON ({exc})") from None
        if not isinstance(record, dict):
            raise EvaluationError(f"{what} {path}: line {number}: not a JSON object")
        rows.append((number, record))
    return rows


def _number(value, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise EvaluationError(f"{where}: {value!r} is not a finite number")
    return float(value)


def _window(value, where: str, with_score: bool = False) -> tuple[float, ...]:
    size = 3 if with_score else 2
    shape = "[start, end, score]" if with_score else "[start, end]"
    if not isinstance(value, list) or len(value) < size:
        raise EvaluationError(f"{where}: {json.dumps(value)[:60]} is not {shape}")
    numbers = tuple(_number(v, where) for v in value[:size])
    if numbers[1] < numbers[0]:
        raise EvaluationError(f"{where}: end {numbers[1]:g} is before start {numbers[0]:g}")
    return numbers


def _remove_duplicates(rows: list[tuple]) -> list[tuple]:
    """ActionFormer's rule: a segment shorter than 1 ms, or one repeating a kept segment of its
    video and label (both ends within 1 ms), is dropped."""
    kept: list[tuple] = []
    for row in rows:
        _, label, s, e, _, _ = row
        if e - s < DUPLICATE_TOLERANCE:
            continue
        if any(
            k[1] == label
            and abs(k[2] - s) <= DUPLICATE_TOLERANCE
            and abs(k[3] - e) <= DUPLICATE_TOLERANCE
            for k in kept
        ):
            continue
        kept.append(row)
    return kept


def read_activitynet_truth(path: Path, subset: str | None = None) -> Segments:
    """An ActivityNet ground-truth file (ours: every annotation has a `level`); only the videos
    of `subset` when given."""
    doc = _load_json(path, "ground truth")
    database = doc.get("database") if isinstance(doc, dict) else None
    if not isinstance(database, dict):
        raise EvaluationError(f'ground truth {path}: no "database" object')
    rows: list[tuple] = []
    for video, entry in database.items():
        if subset is not None and str(entry.get("subset", "")).lower() != subset:
            continue
        mine = []
        for i, ann in enumerate(entry.get("annotations") or []):
            where = f"ground truth {path}: database[{json.dumps(video)}].annotations[{i}]"
            s, e = _window(ann.get("segment"), f"{where}.segment")
            mine.append((video, str(ann.get("label")), s, e, 0.0, int(ann.get("level", -1))))
        rows += _remove_duplicates(mine)
    return _segments(rows)


def read_activitynet_predictions(path: Path) -> Segments:
    doc = _load_json(path, "predictions")
    results = doc.get("results") if isinstance(doc, dict) else None
    if not isinstance(results, dict):
        raise EvaluationError(
            f'predictions {path}: no "results" object (ActivityNet\'s results JSON: '
            '{"results": {VIDEO: [{"label", "score", "segment": [start, end]}]}})'
        )
    rows = []
    for video, found in results.items():
        if not isinstance(found, list):
            raise EvaluationError(f"predictions {path}: results[{json.dumps(video)}]: not a list")
        for i, pred in enumerate(found):
            where = f"predictions {path}: results[{json.dumps(video)}][{i}]"
            if not isinstance(pred, dict):
                raise EvaluationError(f"{where}: not an object")
            if not isinstance(pred.get("label"), str):
                raise EvaluationError(f"{where}.label: missing or not a string")
            s, e = _window(pred.get("segment"), f"{where}.segment")
            score = _number(pred.get("score"), f"{where}.score")
            rows.append((video, pred["label"], s, e, score, -1))
    return _segments(rows)


def read_moment_truth(path: Path) -> Segments:
    rows, seen = [], set()
    for number, record in _jsonl(path, "ground truth"):
        where = f"ground truth {path}: line {number}"
        qid = record.get("qid")
        if qid is None:
            raise EvaluationError(f"{where}.qid: missing")
        if qid in seen:
            raise EvaluationError(f"{where}.qid: {qid} is repeated")
        seen.add(qid)
        windows = record.get("relevant_windows")
        if not isinstance(windows, list) or not windows:
            raise EvaluationError(f"{where}.relevant_windows: missing or empty")
        for w in windows:
            s, e = _window(w, f"{where}.relevant_windows")
            rows.append((qid, "", s, e, 0.0, int(record.get("level", -1))))
    return _segments(rows)


def read_moment_predictions(path: Path) -> dict:
    """qid -> [(start, end, score), ...] in the file's order, best first."""
    found: dict = {}
    for number, record in _jsonl(path, "predictions"):
        where = f"predictions {path}: line {number}"
        qid = record.get("qid")
        if qid is None:
            raise EvaluationError(f"{where}.qid: missing")
        if qid in found:
            raise EvaluationError(f"{where}.qid: {qid} is repeated")
        windows = record.get("pred_relevant_windows")
        if not isinstance(windows, list):
            raise EvaluationError(f"{where}.pred_relevant_windows: missing or not a list")
        found[qid] = [
            _window(w, f"{where}.pred_relevant_windows[{i}]", with_score=True)
            for i, w in enumerate(windows)
        ]
    return found


# --- the measures ---------------------------------------------------------------------------


def tiou(start: float, end: float, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Temporal IoU of one segment with many."""
    inter = np.clip(np.minimum(end, ends) - np.maximum(start, starts), 0, None)
    union = (ends - starts) + (end - start) - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(union > 0, inter / union, 0.0)


def interpolated_ap(precision: np.ndarray, recall: np.ndarray) -> float:
    """VOC 2011 interpolated average precision (the ActivityNet evaluator's)."""
    mprec = np.concatenate([[0.0], precision, [0.0]])
    mrec = np.concatenate([[0.0], recall, [1.0]])
    mprec = np.maximum.accumulate(mprec[::-1])[::-1]
    idx = np.where(mrec[1:] != mrec[:-1])[0] + 1
    return float(np.sum((mrec[idx] - mrec[idx - 1]) * mprec[idx]))


def _order(score: np.ndarray) -> np.ndarray:
    """Descending score; ties in the file's order."""
    return np.argsort(-score, kind="stable")


def average_precision(truth: Segments, preds: Segments, thresholds) -> np.ndarray:
    """AP at each threshold of predictions against ground truth of one class (or one query):
    greedy matching in descending score, each prediction to the unmatched segment of its video
    with the highest tIoU at or above the threshold."""
    ap = np.zeros(len(thresholds))
    if not len(preds) or not len(truth):
        return ap
    order = _order(preds.score)
    tp = np.zeros((len(thresholds), len(preds)))
    by_video: dict = {}
    for j, video in enumerate(truth.group):
        by_video.setdefault(video, []).append(j)
    locked = np.zeros((len(thresholds), len(truth)), dtype=bool)
    for rank, i in enumerate(order):
        mine = by_video.get(preds.group[i])
        if mine is None:
            continue
        mine = np.array(mine)
        overlap = tiou(preds.start[i], preds.end[i], truth.start[mine], truth.end[mine])
        ranked = mine[np.argsort(-overlap, kind="stable")]
        values = np.sort(overlap)[::-1]
        for t, threshold in enumerate(thresholds):
            for j, value in zip(ranked, values, strict=True):
                if value < threshold:
                    break
                if not locked[t, j]:
                    locked[t, j] = True
                    tp[t, rank] = 1
                    break
    tp_sum = np.cumsum(tp, axis=1)
    fp_sum = np.cumsum(1 - tp, axis=1)
    recall = tp_sum / len(truth)
    precision = tp_sum / (tp_sum + fp_sum)
    for t in range(len(thresholds)):
        ap[t] = interpolated_ap(precision[t], recall[t])
    return ap


def topkx_recall(truth: Segments, preds: Segments, thresholds, top_k) -> np.ndarray:
    """ActionFormer's Recall@kx for one class: per video, the top k x n predictions (n its
    ground truth segments) cover how many of them."""
    hits = np.zeros((len(thresholds), len(top_k)))
    if not len(truth):
        return hits
    if not len(preds):
        return hits
    pred_by_video: dict = {}
    for i, video in enumerate(preds.group):
        pred_by_video.setdefault(video, []).append(i)
    for video in dict.fromkeys(truth.group):
        gt = np.flatnonzero(truth.group == video)
        mine = pred_by_video.get(video)
        if mine is None:
            continue
        mine = np.array(mine)
        mine = mine[_order(preds.score[mine])][: max(top_k) * len(gt)]
        overlaps = np.stack(
            [tiou(preds.start[i], preds.end[i], truth.start[gt], truth.end[gt]) for i in mine]
        )
        for t, threshold in enumerate(thresholds):
            for k_index, k in enumerate(top_k):
                covered = (overlaps[: k * len(gt)] >= threshold).any(axis=0)
                hits[t, k_index] += covered.sum()
    return hits / len(truth)


def _labels(seg: Segments) -> list:
    return sorted(set(seg.label.tolist()))


def detection_scores(truth: Segments, preds: Segments, thresholds, top_k) -> dict:
    """mAP and Recall@kx over the ground truth's classes."""
    classes = _labels(truth)
    ap = np.zeros((len(thresholds), len(classes)))
    recall = np.zeros((len(thresholds), len(top_k), len(classes)))
    for c, label in enumerate(classes):
        mine_truth = truth.take(truth.label == label)
        mine_preds = preds.take(preds.label == label)
        ap[:, c] = average_precision(mine_truth, mine_preds, thresholds)
        recall[:, :, c] = topkx_recall(mine_truth, mine_preds, thresholds, top_k)
    mean_ap = ap.mean(axis=1) if classes else np.zeros(len(thresholds))
    mean_recall = recall.mean(axis=2) if classes else np.zeros((len(thresholds), len(top_k)))
    return {
        "ground_truth": len(truth),
        "classes": len(classes),
        "predictions": int(np.isin(preds.label, classes).sum()) if len(preds) else 0,
        "mAP": _by_threshold(mean_ap, thresholds, average=True),
        "recall": {
            f"R@{k}x": _by_threshold(mean_recall[:, i], thresholds) for i, k in enumerate(top_k)
        },
    }


def retrieval_scores(truth: Segments, preds: dict, thresholds, top_k) -> dict:
    """Moment retrieval: mean per-query AP over the first MAX_WINDOWS windows, and R@k."""
    queries = list(dict.fromkeys(truth.group.tolist()))
    ap = np.zeros((len(queries), len(thresholds)))
    hit = np.zeros((len(queries), len(thresholds), len(top_k)))
    index: dict = {}
    for j, qid in enumerate(truth.group):
        index.setdefault(qid, []).append(j)
    answered = 0
    for q, qid in enumerate(queries):
        windows = preds.get(qid) or []
        if not windows:
            continue
        answered += 1
        gt = truth.take(np.array(index[qid]))
        first = windows[:MAX_WINDOWS]
        mine = _segments([(qid, "", s, e, score, -1) for s, e, score in first])
        ap[q] = average_precision(gt, mine, thresholds)
        best = np.array([tiou(s, e, gt.start, gt.end).max() for s, e, _ in windows[: max(top_k)]])
        for k_index, k in enumerate(top_k):
            reached = best[:k].max() if len(best[:k]) else 0.0
            hit[q, :, k_index] = [reached >= t for t in thresholds]
    mean_ap = ap.mean(axis=0) if queries else np.zeros(len(thresholds))
    recall = hit.mean(axis=0) if queries else np.zeros((len(thresholds), len(top_k)))
    return {
        "ground_truth": len(truth),
        "queries": len(queries),
        "answered": answered,
        "mAP": _by_threshold(mean_ap, thresholds, average=True),
        "recall": {f"R@{k}": _by_threshold(recall[:, i], thresholds) for i, k in enumerate(top_k)},
    }


def _by_threshold(values: np.ndarray, thresholds, average: bool = False) -> dict:
    out = {f"{t:g}": float(v) for t, v in zip(thresholds, values, strict=True)}
    if average:
        out["average"] = float(np.mean(values)) if len(values) else 0.0
    return out


# --- the command ----------------------------------------------------------------------------


def _export_split(export: Path, split: str | None) -> tuple[dict, str, Path]:
    manifest_path = export / "manifest.json"
    manifest = _load_json(manifest_path, "export")
    if not isinstance(manifest, dict) or manifest.get("command") != "export":
        raise EvaluationError(f"export {export}: manifest.json is not from `a100m export`")
    fmt = manifest.get("format")
    if fmt not in TASKS:
        raise EvaluationError(
            f"export {export} is {fmt}: evaluate an activitynet or moment-detr export"
        )
    splits = [name for name, _ in manifest["query"].get("split") or []] or [NO_SPLIT]
    if split is None:
        if len(splits) != 1:
            raise EvaluationError.naming(
                "export {export} has splits {splits}: give {split}",
                export=export,
                splits=", ".join(splits),
            )
        split = splits[0]
    if split not in splits:
        raise EvaluationError.about(
            "split", "export {export} has {splits}", split, export=export, splits=", ".join(splits)
        )
    file = export / split / manifest["output"]["file"]
    if not file.is_file():
        raise EvaluationError.about(
            "split", "export {export} has nothing in it", split, export=export
        )
    return manifest, split, file


def evaluate(
    export: str,
    predictions: str,
    split: str | None = None,
    out: str | None = None,
    thresholds: tuple[float, ...] = TIOU_THRESHOLDS,
    top_k: tuple[int, ...] = TOP_K,
) -> dict:
    """Score the predictions against one split of an export; write metrics.json and
    metrics.html into out when given."""
    manifest, split, truth_file = _export_split(Path(export), split)
    task = TASKS[manifest["format"]]
    pred_path = Path(predictions)
    if task == "detection":
        truth = read_activitynet_truth(truth_file)
        preds = read_activitynet_predictions(pred_path)
        score = detection_scores
    else:
        truth = read_moment_truth(truth_file)
        preds = read_moment_predictions(pred_path)
        known = set(truth.group.tolist())
        unknown = [q for q in preds if q not in known]
        if unknown:
            raise EvaluationError(
                f"predictions {pred_path}: qid {unknown[0]} is not in split {split} of {export} "
                f"({len(unknown)} unknown qids)"
            )
        score = retrieval_scores
    levels = {"all": score(truth, preds, thresholds, top_k)}
    for level in sorted(set(truth.level.tolist())):
        levels[str(level)] = score(truth.take(truth.level == level), preds, thresholds, top_k)
    result = {
        "task": task,
        "export": str(Path(export).resolve()),
        "split": split,
        "ground_truth": str(truth_file.resolve()),
        "predictions": str(pred_path.resolve()),
        "label": manifest["output"].get("label"),
        "tiou_thresholds": list(thresholds),
        "top_k": list(top_k),
        "levels": levels,
    }
    if out is not None:
        folder = Path(out)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / METRICS).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
        (folder / PAGE).write_text(page(result), encoding="utf-8")
    return result


def summary(result: dict) -> str:
    """A few lines for the terminal: mAP and the first recall, per level."""
    rows = [f"evaluate {result['task']}: split {result['split']} of {result['export']}"]
    for level, m in result["levels"].items():
        name = "all levels" if level == "all" else f"level {level}"
        maps = ", ".join(f"{t} {v:.4f}" for t, v in m["mAP"].items())
        first = next(iter(m["recall"]))
        recall = ", ".join(f"{t} {v:.4f}" for t, v in m["recall"][first].items())
        rows.append(f"  {name:<11} mAP {maps}; {first} {recall} ({m['ground_truth']:,} segments)")
    return "\n".join(rows)


def page(result: dict) -> str:
    """A small offline page: one table per measure, a row per level (no scripts, no fetches)."""
    thresholds = [f"{t:g}" for t in result["tiou_thresholds"]]
    head = "".join(f"<th>tIoU {html.escape(t)}</th>" for t in thresholds)
    tables = []
    first = next(iter(result["levels"].values()))
    measures = [("mAP", lambda m: m["mAP"], True)] + [
        (name, lambda m, n=name: m["recall"][n], False) for name in first["recall"]
    ]
    for name, pick, average in measures:
        rows = []
        for level, m in result["levels"].items():
            values = pick(m)
            cells = "".join(f"<td>{values[t]:.4f}</td>" for t in thresholds)
            if average:
                cells += f"<td>{values['average']:.4f}</td>"
            label = "all" if level == "all" else f"level {level}"
            rows.append(f"<tr><th>{label}</th>{cells}<td>{m['ground_truth']:,}</td></tr>")
        extra = "<th>average</th>" if average else ""
        tables.append(
            f"<h2>{html.escape(name)}</h2><table><tr><th></th>{head}{extra}"
            f"<th>ground truth</th></tr>{''.join(rows)}</table>"
        )
    title = f"{result['task']}: split {result['split']}"
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>"
        "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:4px 10px;text-align:right}"
        "</style></head><body>"
        f"<h1>{html.escape(title)}</h1>"
        f"<p>export {html.escape(result['export'])}<br>"
        f"predictions {html.escape(result['predictions'])}<br>"
        f"label field {html.escape(str(result['label']))}</p>"
        f"{''.join(tables)}</body></html>\n"
    )
