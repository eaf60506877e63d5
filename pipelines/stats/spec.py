"""What the statistics are: duration buckets and their labels, the text fields, caps on the
distributions kept, and the paper's reference figures (docs/statistics.md). No pyspark here: the
HTML page reads this too."""

from __future__ import annotations

from typing import Any

from pipelines.core.tables import DURATION_BUCKETS

QUANTILES = (0.1, 0.5, 0.9)

# (name, lower bound in seconds, upper bound or None): [lower, upper)
BUCKETS = DURATION_BUCKETS
BUCKET_LABELS = {"0_3": "0-3 s", "3_10": "3-10 s", "10_60": "10-60 s", "60_plus": "over 60 s"}

# Text fields of `nodes`, and the nodes each one is expected on (docs/data.md).
TEXT_FIELDS: tuple[tuple[str, str], ...] = (
    ("plm_action", "all"),
    ("plm_caption", "all"),
    ("llama3_caption", "is_leaf"),
    ("summary_brief", "has_gpt"),
    ("summary_detailed", "has_gpt"),
    ("action_brief", "has_gpt"),
    ("action_detailed", "has_gpt"),
    ("action_actor", "has_gpt"),
)

# The paper's figures (Action100M, arXiv 2601.10592, docs/statistics.md).
PAPER_BUCKET_SHARES = {"0_3": 0.64, "3_10": 0.238, "10_60": 0.102, "60_plus": 0.02}
PAPER_MEAN_WORDS = {
    "action_brief": 3.2,
    "summary_brief": 19.2,
    "action_detailed": 27.8,
    "summary_detailed": 95.3,
}
PAPER_NA_RATE = 0.0323
PAPER_TOP_DUPLICATES = (
    "speak to camera",
    "speak",
    "speak and gesture",
    "stir mixture",
    "talk to camera",
)

# Caps on what a table keeps of a distribution (all bounded by vocabulary, not by the corpus).
TOP_VERBS_WITH_OBJECTS = 200
TOP_OBJECTS_PER_VERB = 20
TOP_ACTORS = 200
TOP_DUPLICATES = 200


def paper_figures() -> dict[str, Any]:
    return {
        "bucket_shares": PAPER_BUCKET_SHARES,
        "mean_words": PAPER_MEAN_WORDS,
        "na_rate": PAPER_NA_RATE,
        "top_duplicates": list(PAPER_TOP_DUPLICATES),
        "source": "Action100M, arXiv 2601.10592",
    }
