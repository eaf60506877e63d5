"""A few example videos for the statistics page, each drawn as its tree (the page of `a100m show`,
without the check marks, which are the quality stage's), written beside report.html.

The examples are the videos with the most nodes, the median number and the fewest: two small
aggregations of `videos` (one row per video), then the rows of those three videos only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from pipelines.core.lake import write_text_atomic
from pipelines.core.treeread import read_trees
from pipelines.core.treeview import render_html

EXAMPLES_FOLDER = "show"


def pick_examples(videos: DataFrame | None) -> list[dict[str, Any]]:
    """[{video_uid, nodes, why}] for the largest, a median and the smallest tree (distinct)."""
    if videos is None:
        return []
    counted = videos.where(F.col("node_count").isNotNull())
    row = counted.agg(
        F.max_by("video_uid", F.struct("node_count", "video_uid")).alias("most"),
        F.max("node_count").alias("most_nodes"),
        F.min_by("video_uid", F.struct("node_count", "video_uid")).alias("fewest"),
        F.min("node_count").alias("fewest_nodes"),
        F.percentile_approx("node_count", 0.5).alias("median_nodes"),
    ).first()
    if row is None or row["most"] is None:
        return []
    median = (
        counted.where(F.col("node_count") >= row["median_nodes"])
        .orderBy("node_count", "video_uid")
        .select("video_uid", "node_count")
        .first()
    )
    found = [
        (row["most"], row["most_nodes"], "the most nodes"),
        (median["video_uid"], median["node_count"], "a median number of nodes"),
        (row["fewest"], row["fewest_nodes"], "the fewest nodes"),
    ]
    examples, seen = [], set()
    for uid, nodes, why in found:
        if uid not in seen:
            seen.add(uid)
            examples.append(
                {"video_uid": uid, "nodes": int(nodes), "why": why, "page": page_path(uid)}
            )
    return examples


def page_path(video_uid: str) -> str:
    """The page's path relative to report.html (the uid made safe for a file name)."""
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in video_uid)
    return f"{EXAMPLES_FOLDER}/{safe}.html"


def write_example_pages(
    spark: SparkSession,
    lake: str,
    out: str,
    examples: list[dict[str, Any]],
    versions: dict[str, int | None],
) -> list[Path]:
    """Each example's tree page under out/show/, read at the versions the statistics used."""
    if not examples:
        return []
    trees = read_trees(spark, lake, [e["video_uid"] for e in examples], versions)
    written = []
    for example in examples:
        tree = trees.get(example["video_uid"])
        if tree is not None:
            written.append(write_text_atomic(Path(out) / example["page"], render_html(tree)))
    return written
