"""The node facts and the actions the partials are computed from, and the rows of the stats_*
tables made from the merged figures (pipelines/stats/merge.py)."""

from __future__ import annotations

import math
from typing import Any

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from pipelines.core import native
from pipelines.core.columns import conform, is_not_available
from pipelines.core.contracts import (
    ACTIONS_SCHEMA,
    PROVENANCE,
    STATS_SCHEMAS,
)
from pipelines.stats.spec import (
    BUCKETS,
    PAPER_BUCKET_SHARES,
    PAPER_NA_RATE,
    TEXT_FIELDS,
)
from pipelines.stats.verbs import word_count

# ---------------------------------------------------------------------------------------------
# Node facts and the actions
# ---------------------------------------------------------------------------------------------


def node_facts(nodes: DataFrame) -> DataFrame:
    """The columns the statistics need: numbers and flags, word counts instead of long texts."""
    jvm = native.available(nodes.sparkSession)
    return nodes.select(
        "ingest_run_id",
        "video_uid",
        "node_id",
        "level",
        "start",
        "end",
        "duration",
        "is_leaf",
        "child_count",
        "has_gpt",
        F.col("parent_id").isNull().alias("is_root"),
        "action_brief",
        "action_actor",
        *[word_count(F.col(name), jvm).alias(f"{name}_words") for name, _ in TEXT_FIELDS],
    )


def real_actions(facts: DataFrame) -> DataFrame:
    """Nodes with a real action: has_gpt, action_brief not null and not "N/A"."""
    return facts.where(
        F.col("has_gpt")
        & F.col("action_brief").isNotNull()
        & ~is_not_available(F.col("action_brief"))
    ).select(
        "ingest_run_id",
        "video_uid",
        "node_id",
        "action_brief",
        "action_actor",
        "start",
        "end",
        "level",
    )


def to_actions(actions: DataFrame, run_id: str, nodes_version: int, computed_at) -> DataFrame:
    """The `actions` table's rows (docs/tables.md)."""
    return conform(
        actions.select(
            "video_uid",
            "node_id",
            "action_brief",
            "verb",
            "object",
            F.col("action_actor").alias("actor"),
            "start",
            "end",
            "level",
            "ingest_run_id",
            F.lit(run_id).alias("run_id"),
            F.lit(nodes_version).alias("nodes_version"),
            F.lit(computed_at).alias("computed_at"),
        ),
        ACTIONS_SCHEMA,
    )


def normalized(column: Column) -> Column:
    """Lowercased, trimmed, inner white space collapsed to one space: the grouping key."""
    return F.lower(
        F.regexp_replace(F.regexp_replace(column, r"(?U)^\s+|\s+$", ""), r"(?U)\s+", " ")
    )


# ---------------------------------------------------------------------------------------------
# Rows of the tables
# ---------------------------------------------------------------------------------------------


def summary_rows(figures: dict[str, Any]) -> list[dict[str, Any]]:
    """stats_summary: one row per figure, with the paper's value where there is one."""
    totals, videos, acts = figures["_totals"], figures["_videos"], figures["_actions"]
    everything = next(d for d in figures["durations"] if d["scope"] == "all")
    rows: list[dict[str, Any]] = []

    def add(section, name, value, unit, paper=None):
        if isinstance(value, float) and math.isnan(value):
            value = None
        rows.append(
            {
                "section": section,
                "name": name,
                "value": None if value is None else float(value),
                "unit": unit,
                "paper_value": paper,
            }
        )

    add("corpus", "videos", videos["videos"], "count")
    for name in ("nodes", "leaves", "internal_nodes", "gpt_nodes", "roots"):
        add("corpus", name, totals[name], "count")
    add("corpus", "video_hours", videos["video_hours"], "hours")
    add("corpus", "root_hours", totals["root_hours"], "hours")
    for prefix, unit in (
        ("nodes_per_video_", "nodes"),
        ("depth_", "levels"),
        ("branching_", "children"),
    ):
        source = totals if prefix == "branching_" else videos
        for stat in ("min", "p10", "p50", "p90", "max", "mean"):
            add("tree", f"{prefix}{stat}", source[f"{prefix}{stat}"], unit)
    for stat in ("min", "p10", "p50", "p90", "max", "mean"):
        add("durations", f"duration_{stat}", everything[stat], "seconds")
    for name, _, _ in BUCKETS:
        count = everything[f"bucket_{name}"]
        add("durations", f"bucket_{name}", count, "count")
        add(
            "durations",
            f"bucket_{name}_share",
            share(count, everything["nodes"]),
            "share",
            PAPER_BUCKET_SHARES[name],
        )
    for row in figures["fields"]:
        add("text", f"coverage_{row['field']}", row["coverage"], "share")
    for row in figures["fields"]:
        add("text", f"words_{row['field']}", row["mean_words"], "words", row["paper_mean_words"])
    add("actions", "actions", acts["actions"], "count")
    add("actions", "na_actions", totals["na_actions"], "count")
    add(
        "actions",
        "na_rate",
        share(totals["na_actions"], totals["gpt_nodes"]),
        "share",
        PAPER_NA_RATE,
    )
    add("actions", "gpt_without_brief", totals["gpt_without_brief"], "count")
    add("actions", "actor_na_nodes", totals["actor_na_nodes"], "count")
    add("actions", "actions_without_actor", acts["actions_without_actor"], "count")
    add("actions", "distinct_actors", acts["distinct_actors"], "count")
    add("verbs", "distinct_verbs", acts["distinct_verbs"], "count")
    add("verbs", "actions_without_verb", acts["actions_without_verb"], "count")
    add("verbs", "actions_with_object", acts["actions_with_object"], "count")
    top = figures["verbs"][0]["share"] if figures["verbs"] else None
    add("verbs", "top_verb_share", top, "share")
    for name in (
        "distinct_brief_actions",
        "duplicate_groups",
        "actions_in_duplicate_groups",
        "largest_duplicate_group",
    ):
        add("duplicates", name, acts[name], "count")
    return rows


def share(part: float | None, whole: float | None) -> float | None:
    if part is None or not whole:
        return None
    return part / whole


def _names(schema: T.StructType) -> list[str]:
    """The columns of a stats table before its provenance columns."""
    return schema.names[: -len(PROVENANCE)]


def table_rows(table: str, figures: dict[str, Any], provenance: tuple) -> list[tuple]:
    """The rows of one stats table, provenance columns last."""
    schema = STATS_SCHEMAS[table]
    fields = schema.fields[: -len(PROVENANCE)]
    source = {
        "stats_summary": figures["summary"],
        "stats_levels": figures["levels"],
        "stats_durations": figures["durations"],
        "stats_fields": figures["fields"],
        "stats_verbs": figures["verbs"],
        "stats_verb_objects": figures["verb_objects"],
        "stats_actors": figures["actors"],
        "stats_duplicates": figures["duplicates"],
    }[table]
    return [(*(_plain(row[f.name], f.dataType) for f in fields), *provenance) for row in source]


def _plain(value: Any, dtype: T.DataType | None = None) -> Any:
    """A value createDataFrame accepts for dtype: NaN as null, whole numbers as floats."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(dtype, T.DoubleType) and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value
