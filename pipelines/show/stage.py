"""`a100m show`: pick a video, read its tree (and only its rows), mark what failed, write the page.

The checks are the quality stage's; this stage takes them as a function (`offences`), which the
CLI passes in, so that it reads no other stage (the house rules, tests/test_house.py).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from pipelines.core.errors import UsageError
from pipelines.core.lake import read_table, write_text_atomic
from pipelines.core.severity import Severity
from pipelines.core.treefigure import write_png
from pipelines.core.treeread import read_frames, read_trees, require_found, snapshot
from pipelines.core.treeview import Offence, VideoTree, render_html


class RowOffence(Protocol):
    video_uid: str
    asset: str
    key: str | None
    rule: str
    severity: Severity
    offence: str


OffenceFinder = Callable[[DataFrame, DataFrame, DataFrame | None], list[RowOffence]]


@dataclass
class ShowResult:
    video_uid: str
    html: Path
    png: Path | None
    nodes: int
    levels: int
    failed: dict[str, tuple[str, int]]
    source: str
    seconds: float

    def summary(self) -> str:
        checks = (
            ", ".join(f"{rule} [{sev}] {n:,}" for rule, (sev, n) in self.failed.items())
            or "none failed"
        )
        lines = [
            f"show {self.video_uid}: {self.nodes:,} nodes on {self.levels} levels in "
            f"{self.seconds:.1f} s; checks: {checks}",
            f"  wrote {self.html}" + (f" and {self.png}" if self.png else ""),
        ]
        return "\n".join(lines)


def pick_video(
    spark: SparkSession,
    lake: str,
    versions: dict[str, int | None],
    *,
    where: str | None = None,
    random: bool = False,
    seed: int | None = None,
) -> str:
    """A video_uid of the videos table: the first (by video_uid) matching `where`, or a random
    one of them with `random`. Reads the videos table only (one row per video)."""
    videos = read_table(spark, lake, "videos", versions["videos"])
    if where:
        try:
            videos = videos.where(F.expr(where))
        except Exception as exc:  # Spark's analysis error: name the expression
            raise UsageError.about("where", "{why}", where, why=str(exc).splitlines()[0]) from exc
    order = F.rand(seed) if random else F.col("video_uid")
    try:
        row = videos.select("video_uid").orderBy(order).limit(1).first()
    except Exception as exc:
        raise UsageError.about("where", "{why}", where, why=str(exc).splitlines()[0]) from exc
    if row is None:
        if where:
            raise UsageError.naming(
                "no video of lake {lake} matches {where=WHERE}", lake=lake, WHERE=repr(where)
            )
        raise UsageError(f"lake {lake} has no videos")
    return row["video_uid"]


def mark(tree: VideoTree, found: list[RowOffence]) -> None:
    """Put each offence on its node; video and transcript offences on the video."""
    node_ids = {str(n["node_id"]) for n in tree.nodes}
    for o in found:
        if o.video_uid != tree.video_uid:
            continue
        offence = Offence(o.rule, o.severity, o.offence)
        if o.asset == "node_checks" and o.key in node_ids:
            tree.node_offences.setdefault(o.key, []).append(offence)
        else:
            tree.video_offences.append(offence)


def page_name(video_uid: str) -> str:
    """A file name for the video's page: its uid, with anything but [A-Za-z0-9_-] as '_'."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", video_uid) + ".html"


def show(
    spark: SparkSession,
    lake: str,
    video_uid: str | None,
    out: str | Path,
    *,
    png: bool = False,
    where: str | None = None,
    random: bool = False,
    seed: int | None = None,
    offences: OffenceFinder | None = None,
) -> ShowResult:
    """Write one video's page (out: an .html file, or a folder for <uid>.html) and, with png,
    the PNG beside it."""
    started = time.monotonic()
    versions = snapshot(spark, lake)
    if video_uid is None:
        video_uid = pick_video(spark, lake, versions, where=where, random=random, seed=seed)
    trees = read_trees(spark, lake, [video_uid], versions)
    require_found(trees, [video_uid], lake)
    tree = trees[video_uid]
    if offences is not None and not tree.quarantined:
        # Evaluate every rule on this video's rows alone (a quarantined video carries its own).
        videos, nodes, transcripts = read_frames(spark, lake, [video_uid], versions)
        mark(tree, offences(nodes, videos, transcripts))
    out = Path(out)
    html = out if out.suffix == ".html" else out / page_name(video_uid)
    html.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(html, render_html(tree))
    picture = write_png(tree, html.with_suffix(".png")) if png else None
    return ShowResult(
        video_uid,
        html,
        picture,
        len(tree.nodes),
        tree.levels,
        tree.failed_rules(),
        tree.source,
        time.monotonic() - started,
    )
