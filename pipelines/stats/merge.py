"""The published figures as merges of the per-run partials (pipelines/stats/partials.py).

Counts and sums add up, extremes take the min or max, quantiles come from the merged KLL
sketches (`kll_merge_agg_double`), and the top lists rank the summed count rows. The result has
the shape the stats_* rows and the pages read (figures.summary_rows, figures.table_rows). Only
aggregates reach the driver: one row per metric, plus the bounded top lists.
"""

from __future__ import annotations

from typing import Any

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from pipelines.core.contracts import PROVENANCE, STATS_DURATIONS_SCHEMA
from pipelines.stats.figures import share
from pipelines.stats.partials import ACTION, ACTOR, LEVEL, PAIR, TOTALS, VERB, VIDEOS
from pipelines.stats.spec import (
    BUCKETS,
    PAPER_MEAN_WORDS,
    QUANTILES,
    TEXT_FIELDS,
    TOP_ACTORS,
    TOP_DUPLICATES,
    TOP_OBJECTS_PER_VERB,
    TOP_VERBS_WITH_OBJECTS,
)

Metrics = dict[str, float | None]


def _merged_metrics(partials: DataFrame) -> dict[tuple[str, int | None], Metrics]:
    """(kind, level) -> every metric and quantile, merged over the runs."""
    parts = partials.where(F.col("kind").isin(TOTALS, LEVEL, VIDEOS))
    name = F.col("name")
    numbers = (
        parts.select("kind", "level", F.explode("metrics").alias("name", "value"))
        .groupBy("kind", "level", "name")
        .agg(
            F.when(name.startswith("min_"), F.min("value"))
            .when(name.startswith("max_"), F.max("value"))
            .otherwise(F.sum("value"))
            .alias("value")
        )
        .collect()
    )
    ranks = F.array(*[F.lit(q) for q in QUANTILES])
    quantiles = (
        parts.select("kind", "level", F.explode("sketches").alias("name", "sketch"))
        .groupBy("kind", "level", "name")
        .agg(F.kll_merge_agg_double("sketch").alias("sketch"))
        .select(
            "kind",
            "level",
            "name",
            F.when(
                F.kll_sketch_get_n_double("sketch") > 0,
                F.kll_sketch_get_quantile_double("sketch", ranks),
            ).alias("quantiles"),
        )
        .collect()
    )
    merged: dict[tuple[str, int | None], Metrics] = {}
    for row in numbers:
        merged.setdefault((row["kind"], row["level"]), {})[row["name"]] = row["value"]
    for row in quantiles:
        values = row["quantiles"] or [None] * len(QUANTILES)
        target = merged.setdefault((row["kind"], row["level"]), {})
        for q, value in zip(QUANTILES, values, strict=True):
            target[f"p{round(q * 100)}_{row['name']}"] = value
    return merged


def _distribution(m: Metrics, prefix: str) -> dict[str, float | None]:
    """mean, min, p10, p50, p90, max (keys prefixed) from a distribution's merged parts."""
    count = m.get(f"{prefix}count") or 0
    out = {f"{prefix}mean": (m[f"{prefix}sum"] / count) if count else None}
    out[f"{prefix}min"] = m.get(f"min_{prefix}")
    for q in QUANTILES:
        out[f"{prefix}p{round(q * 100)}"] = m.get(f"p{round(q * 100)}_{prefix}")
    out[f"{prefix}max"] = m.get(f"max_{prefix}")
    return out


def _count(m: Metrics, name: str) -> int:
    return int(m.get(name) or 0)


def _durations(m: Metrics, prefix: str = "") -> dict[str, Any]:
    dist = _distribution(m, prefix)
    seconds = m.get(f"{prefix}sum")
    return {
        "nodes": _count(m, f"{prefix}count"),
        **{key.removeprefix(prefix): value for key, value in dist.items()},
        "hours": None if seconds is None else seconds / 3600,
        **{f"bucket_{name}": _count(m, f"{prefix}bucket_{name}") for name, _, _ in BUCKETS},
    }


def node_figures(merged: dict[tuple[str, int | None], Metrics], has_videos: bool) -> dict:
    """Totals, levels, durations and fields, in the figures' shape."""
    t = merged.get((TOTALS, None), {})
    v = merged.get((VIDEOS, None), {})
    totals: dict[str, Any] = {
        name: _count(t, name)
        for name in (
            "nodes",
            "leaves",
            "internal_nodes",
            "gpt_nodes",
            "roots",
            "na_actions",
            "gpt_without_brief",
            "actor_na_nodes",
        )
    }
    root_seconds = t.get("root_seconds")
    totals["root_hours"] = None if root_seconds is None else root_seconds / 3600
    totals.update(_distribution(t, "branching_"))
    video_seconds = v.get("video_seconds")
    videos = {
        "videos": _count(v, "videos"),
        "video_hours": None if (video_seconds is None or not has_videos) else video_seconds / 3600,
        **_distribution(v, "nodes_per_video_"),
        **_distribution(v, "depth_"),
    }
    levels = sorted(level for kind, level in merged if kind == LEVEL)
    duration_keys = STATS_DURATIONS_SCHEMA.names[2 : -len(PROVENANCE)]  # after scope, level
    everything = _durations(t, "all_")
    figures: dict[str, Any] = {"_totals": totals, "_videos": videos}
    figures["levels"] = [
        {
            "level": level,
            "nodes": _count(merged[(LEVEL, level)], "level_nodes"),
            "leaves": _count(merged[(LEVEL, level)], "leaves"),
            "gpt_nodes": _count(merged[(LEVEL, level)], "gpt_nodes"),
            "actions": _count(merged[(LEVEL, level)], "actions"),
            "videos": _count(merged[(LEVEL, level)], "videos"),
        }
        for level in levels
    ]
    figures["durations"] = [{"scope": "all", "level": None, **_pick(everything, duration_keys)}]
    figures["durations"] += [
        {
            "scope": "level",
            "level": level,
            **_pick(_durations(merged[(LEVEL, level)]), duration_keys),
        }
        for level in levels
    ]
    nodes = totals["nodes"]
    figures["fields"] = []
    for name, applies_to in TEXT_FIELDS:
        non_null = _count(t, f"{name}__non_null")
        applicable = _count(t, f"{name}__applicable_nodes")
        applicable_non_null = _count(t, f"{name}__applicable_non_null")
        words = t.get(f"{name}__words")
        figures["fields"].append(
            {
                "field": name,
                "applies_to": applies_to,
                "nodes": nodes,
                "non_null": non_null,
                "coverage": share(non_null, nodes),
                "applicable_nodes": applicable,
                "applicable_non_null": applicable_non_null,
                "applicable_coverage": share(applicable_non_null, applicable),
                "mean_words": (words / non_null) if non_null and words is not None else None,
                "paper_mean_words": PAPER_MEAN_WORDS.get(name),
            }
        )
    return figures


def _pick(row: dict[str, Any], keys: list[str]) -> dict[str, Any]:
    return {key: row[key] for key in keys}


def action_figures(partials: DataFrame) -> dict[str, Any]:
    """Verbs, verb -> object pairs, actors and duplicate groups from the summed count rows."""

    def summed(kind: str, keys: list[str], counts: tuple[str, ...] = ("count",)) -> DataFrame:
        return (
            partials.where(F.col("kind") == kind)
            .groupBy(*keys)
            .agg(*[F.sum(c).alias(c) for c in counts])
        )

    counted = summed(VERB, ["key"], ("count", "count2")).collect()  # bounded by the vocabulary
    total = sum(row["count"] for row in counted)
    without_verb = sum(row["count"] for row in counted if row["key"] is None)
    with_object = sum(row["count2"] for row in counted)
    ranked = sorted(
        (r for r in counted if r["key"] is not None), key=lambda r: (-r["count"], r["key"])
    )
    verbs = [
        {"rank": i, "verb": r["key"], "actions": r["count"], "share": r["count"] / total}
        for i, r in enumerate(ranked, 1)
    ]
    verb_rank = {v["verb"]: v["rank"] for v in verbs}
    verb_total = {v["verb"]: v["actions"] for v in verbs}

    by_verb = Window.partitionBy("key").orderBy(F.desc("count"), F.asc("key2"))
    pairs = (
        summed(PAIR, ["key", "key2"])
        .withColumn("object_rank", F.row_number().over(by_verb))
        .where(F.col("object_rank") <= TOP_OBJECTS_PER_VERB)
        .collect()
    )
    verb_objects = sorted(
        (
            {
                "verb_rank": verb_rank[r["key"]],
                "verb": r["key"],
                "object_rank": r["object_rank"],
                "object": r["key2"],
                "actions": r["count"],
                "share_of_verb": r["count"] / verb_total[r["key"]],
            }
            for r in pairs
            if verb_rank[r["key"]] <= TOP_VERBS_WITH_OBJECTS
        ),
        key=lambda r: (r["verb_rank"], r["object_rank"]),
    )

    actor_groups = summed(ACTOR, ["key"]).cache()
    try:
        actor_totals = actor_groups.agg(
            F.count(F.lit(1)).alias("distinct_actors"), F.sum("count").alias("with_actor")
        ).first()
        top_actors = actor_groups.orderBy(F.desc("count"), "key").limit(TOP_ACTORS).collect()
    finally:
        actor_groups.unpersist()
    actors = [
        {"rank": i, "actor": r["key"], "actions": r["count"], "share": r["count"] / total}
        for i, r in enumerate(top_actors, 1)
    ]

    groups = summed(ACTION, ["key"], ("count", "count2")).cache()
    try:
        many = F.col("count") > 1
        dup_totals = groups.agg(
            F.count(F.lit(1)).alias("distinct_actions"),
            F.count(F.when(many, F.lit(1))).alias("groups"),
            F.sum(F.when(many, F.col("count"))).alias("members"),
            F.max("count").alias("largest"),
        ).first()
        top_groups = groups.where(many).orderBy(F.desc("count"), "key").limit(TOP_DUPLICATES)
        top_groups = top_groups.collect()
    finally:
        groups.unpersist()
    duplicates = [
        {"rank": i, "action": r["key"], "members": r["count"], "videos": r["count2"]}
        for i, r in enumerate(top_groups, 1)
    ]
    return {
        "verbs": verbs,
        "verb_objects": verb_objects,
        "actors": actors,
        "duplicates": duplicates,
        "_actions": {
            "actions": total,
            "actions_without_verb": without_verb,
            "actions_with_object": with_object,
            "distinct_verbs": len(verbs),
            "distinct_actors": actor_totals["distinct_actors"] or 0,
            "actions_without_actor": total - (actor_totals["with_actor"] or 0),
            "distinct_brief_actions": dup_totals["distinct_actions"] or 0,
            "duplicate_groups": dup_totals["groups"] or 0,
            "actions_in_duplicate_groups": dup_totals["members"] or 0,
            "largest_duplicate_group": dup_totals["largest"] or 0,
        },
    }


def merged_figures(partials: DataFrame, has_videos: bool) -> dict[str, Any]:
    """Every figure of the lake, from the partials of the runs it holds."""
    return {
        **action_figures(partials),
        **node_figures(_merged_metrics(partials), has_videos),
    }
