"""Every check a few videos' rows fail, row by row: what `a100m show` marks on a tree.

The same registry and check frames as validation (rules.py, frames.py), on rows the caller has
already cut down to the videos it shows, so the marks are exactly what a validation of those
videos would find: warn-severity offences included, which stay in the lake.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import reduce

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from pipelines.core.severity import Severity
from pipelines.quality.frames import node_check_frame, transcript_check_frame, video_check_frame
from pipelines.quality.rules import NODE_CHECKS, TRANSCRIPT_CHECKS, VIDEO_CHECKS, rules_of


@dataclass(frozen=True)
class RowOffence:
    """One failed check of one row: the asset (node, video or transcript checks), the row's key
    (node_id, the transcript line's seq, or None for the video), the rule, severity, offence."""

    video_uid: str
    asset: str
    key: str | None
    rule: str
    severity: Severity
    offence: str


def row_offences(
    nodes: DataFrame, videos: DataFrame, transcripts: DataFrame | None
) -> list[RowOffence]:
    """Every (row, rule) that fails among these rows; only the failing rows reach the driver."""
    frames = [
        (NODE_CHECKS, node_check_frame(nodes, videos), "node_id"),
        (VIDEO_CHECKS, video_check_frame(nodes, videos), None),
    ]
    if transcripts is not None:
        frames.append((TRANSCRIPT_CHECKS, transcript_check_frame(transcripts, videos), "seq"))
    found: list[RowOffence] = []
    for asset, frame, key in frames:
        rules = rules_of(asset)
        failing = reduce(lambda a, b: a | b, [F.col(r.column).isNotNull() for r in rules])
        for row in frame.where(failing).collect():
            for rule in rules:
                if row[rule.column] is not None:
                    found.append(
                        RowOffence(
                            row["video_uid"],
                            asset,
                            None if key is None else str(row[key]),
                            rule.name,
                            rule.severity,
                            row[rule.column],
                        )
                    )
    return found
