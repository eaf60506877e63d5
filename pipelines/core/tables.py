"""The names the lake is made of, without pyspark (the HTML pages read them too): the tables that
hold the corpus, and the paper's duration buckets whose names are columns of stats_durations."""

from __future__ import annotations

# The tables that hold the corpus itself (the others are derived or history).
DATA_TABLES = ("videos", "nodes", "transcripts")

# The paper's duration buckets, [lower, upper) seconds (None: no upper bound).
DURATION_BUCKETS: tuple[tuple[str, float, float | None], ...] = (
    ("0_3", 0.0, 3.0),
    ("3_10", 3.0, 10.0),
    ("10_60", 10.0, 60.0),
    ("60_plus", 60.0, None),
)
