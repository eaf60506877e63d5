"""Read a few videos' trees from the lake, and nothing else of it.

Each table is read at the version the last committed stages left (core/journal.py) and filtered
on `video_uid` with a literal, so Delta skips every file whose `video_uid` range (its min/max
statistics) cannot hold the video: after `a100m optimize` one video is one file, and each
append's files hold that append's videos only. A video that validation moved out of the lake is
drawn from its quarantined raw record instead, with the offences the quarantine row names.
"""

from __future__ import annotations

import json
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from pipelines.core.errors import MissingTableError, UsageError
from pipelines.core.lake import read_table
from pipelines.core.runs import committed_snapshot
from pipelines.core.severity import Severity
from pipelines.core.treeview import NODE_TEXTS, Offence, VideoTree, tree_from_records

TABLES = ("videos", "nodes", "transcripts", "quarantine")
NODE_COLUMNS = ("node_id", "parent_id", "level", "start", "end", *NODE_TEXTS)


def snapshot(spark: SparkSession, lake: str) -> dict[str, int | None]:
    """The committed version of each table show reads (None: no such table)."""
    versions = committed_snapshot(spark, lake, TABLES)
    if versions.get("nodes") is None or versions.get("videos") is None:
        raise MissingTableError(lake, [t for t in ("videos", "nodes") if versions.get(t) is None])
    return versions


def of_videos(frame: DataFrame, uids: list[str]) -> DataFrame:
    """The rows of these videos: a literal predicate on video_uid, which Delta skips files by."""
    if len(uids) == 1:
        return frame.where(F.col("video_uid") == F.lit(uids[0]))
    return frame.where(F.col("video_uid").isin(uids))


def _rows(frame: DataFrame) -> list[dict[str, Any]]:
    return [row.asDict() for row in frame.collect()]


def read_frames(
    spark: SparkSession, lake: str, uids: list[str], versions: dict[str, int | None]
) -> tuple[DataFrame, DataFrame, DataFrame | None]:
    """videos, nodes and transcripts (None: no table) of these videos, at those versions."""
    videos = of_videos(read_table(spark, lake, "videos", versions["videos"]), uids)
    nodes = of_videos(read_table(spark, lake, "nodes", versions["nodes"]), uids)
    transcripts = None
    if versions.get("transcripts") is not None:
        transcripts = of_videos(
            read_table(spark, lake, "transcripts", versions["transcripts"]), uids
        )
    return videos, nodes, transcripts


def read_trees(
    spark: SparkSession,
    lake: str,
    uids: list[str],
    versions: dict[str, int | None] | None = None,
) -> dict[str, VideoTree]:
    """The tree of each video found (in the tables, else in quarantine), by video_uid."""
    versions = versions or snapshot(spark, lake)
    videos, nodes, transcripts = read_frames(spark, lake, uids, versions)
    video_rows = {r["video_uid"]: r for r in _rows(videos.select("video_uid", "title", "duration"))}
    node_rows: dict[str, list[dict[str, Any]]] = {}
    for row in _rows(nodes.select("video_uid", *NODE_COLUMNS)):
        node_rows.setdefault(row["video_uid"], []).append(row)
    line_rows: dict[str, list[dict[str, Any]]] = {}
    if transcripts is not None:
        for row in _rows(transcripts.select("video_uid", "time", "text")):
            line_rows.setdefault(row["video_uid"], []).append(row)
    source = (
        f"From lake {lake}: nodes v{versions['nodes']}, videos v{versions['videos']}"
        + (f", transcripts v{versions['transcripts']}" if transcripts is not None else "")
        + "."
    )
    trees = {
        uid: tree_from_records(
            uid, node_rows[uid], line_rows.get(uid, []), video_rows.get(uid), source
        )
        for uid in uids
        if uid in node_rows
    }
    missing = [uid for uid in uids if uid not in trees]
    if missing and (quarantine := versions.get("quarantine")) is not None:
        trees.update(quarantined_trees(spark, lake, missing, quarantine))
    return trees


def quarantined_trees(
    spark: SparkSession, lake: str, uids: list[str], version: int
) -> dict[str, VideoTree]:
    """Videos found only in quarantine: the tree from the last raw record kept of each, every
    node the quarantine row's detail names marked with the row's reason codes."""
    rows = _rows(
        of_videos(read_table(spark, lake, "quarantine", version), uids)
        .where(F.col("record_type") == "video")
        .select(
            "video_uid", "run_id", "quarantined_at", "reason_codes", "reason_detail", "raw_record"
        )
    )
    latest: dict[str, dict[str, Any]] = {}
    for row in sorted(rows, key=lambda r: (r["quarantined_at"], r["run_id"])):
        latest[row["video_uid"]] = row
    trees = {}
    for uid, row in latest.items():
        raw = json.loads(row["raw_record"] or "{}")
        metadata = raw.get("metadata") or {}
        nodes = [_flat_node(n) for n in raw.get("nodes") or []]
        lines = [
            {"time": _float(t.get("time")), "text": t.get("text")}
            for t in metadata.get("transcript") or []
        ]
        tree = tree_from_records(
            uid,
            nodes,
            lines,
            {"title": metadata.get("title"), "duration": metadata.get("duration")},
            f"From lake {lake}: quarantine v{version}, run {row['run_id']} (this video is not "
            f"in the tables: it was quarantined for {', '.join(row['reason_codes'])}).",
        )
        tree.quarantined = True
        mark_quarantine_offences(tree, row["reason_codes"], row["reason_detail"])
        trees[uid] = tree
    return trees


def _float(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _flat_node(node: dict[str, Any]) -> dict[str, Any]:
    """A raw node (gpt nested) as a nodes-table row (gpt fields flat)."""
    gpt = node.get("gpt") or {}
    summary, action = gpt.get("summary") or {}, gpt.get("action") or {}
    return {
        **{k: node.get(k) for k in ("node_id", "parent_id", "level", "start", "end")},
        "plm_action": node.get("plm_action"),
        "plm_caption": node.get("plm_caption"),
        "llama3_caption": node.get("llama3_caption"),
        "summary_brief": summary.get("brief"),
        "summary_detailed": summary.get("detailed"),
        "action_brief": action.get("brief"),
        "action_detailed": action.get("detailed"),
        "action_actor": action.get("actor"),
    }


def mark_quarantine_offences(tree: VideoTree, codes: list[str], detail: str | None) -> None:
    """Each offence of the detail ("uid/node: what", "; "-separated) on its node, else on the
    video; the rule is the row's reason codes, since the detail does not say which is whose."""
    rule = "+".join(codes) or "quarantined"
    node_ids = {str(n["node_id"]) for n in tree.nodes}
    for part in (detail or "").split("; "):
        if not part:
            continue
        where, _, what = part.partition(": ")
        node_id = where.partition("/")[2]
        offence = Offence(rule, Severity.FAIL, what or part)
        if node_id in node_ids:
            tree.node_offences.setdefault(node_id, []).append(offence)
        else:
            tree.video_offences.append(offence)
    if not tree.node_offences and not tree.video_offences:
        tree.video_offences.append(Offence(rule, Severity.FAIL, "quarantined"))


def require_found(trees: dict[str, VideoTree], uids: list[str], lake: str) -> None:
    """A usage error naming the videos that are neither in the tables nor in quarantine."""
    missing = [uid for uid in uids if uid not in trees]
    if missing:
        raise UsageError.naming(
            "no video {missing} in lake {lake} (not in videos/nodes, not in quarantine): pick "
            "one with {random} or {where}",
            missing=", ".join(missing),
            lake=lake,
        )
