"""The figures: every statistic computed by Spark from the node facts and the actions, and the
rows of the stats_* tables made from them. Only aggregates reach the driver."""

from __future__ import annotations

import math
from typing import Any

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from pipelines.core.columns import conform, is_not_available
from pipelines.core.contracts import (
    ACTIONS_SCHEMA,
    PROVENANCE,
    STATS_DURATIONS_SCHEMA,
    STATS_SCHEMAS,
)
from pipelines.stats.spec import (
    ACCURACY,
    BUCKETS,
    PAPER_BUCKET_SHARES,
    PAPER_MEAN_WORDS,
    PAPER_NA_RATE,
    QUANTILES,
    TEXT_FIELDS,
    TOP_ACTORS,
    TOP_DUPLICATES,
    TOP_OBJECTS_PER_VERB,
    TOP_VERBS_WITH_OBJECTS,
)
from pipelines.stats.verbs import word_count

# ---------------------------------------------------------------------------------------------
# Node facts and the actions
# ---------------------------------------------------------------------------------------------


def node_facts(nodes: DataFrame) -> DataFrame:
    """The columns the statistics need: numbers and flags, word counts instead of long texts."""
    return nodes.select(
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
        *[word_count(F.col(name)).alias(f"{name}_words") for name, _ in TEXT_FIELDS],
    )


def real_actions(facts: DataFrame) -> DataFrame:
    """Nodes with a real action: has_gpt, action_brief not null and not "N/A"."""
    return facts.where(
        F.col("has_gpt")
        & F.col("action_brief").isNotNull()
        & ~is_not_available(F.col("action_brief"))
    ).select("video_uid", "node_id", "action_brief", "action_actor", "start", "end", "level")


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
# Aggregates
# ---------------------------------------------------------------------------------------------


def _count_if(condition: Column) -> Column:
    return F.count(F.when(condition, F.lit(1)))


def _distribution(column: Column, prefix: str) -> list[Column]:
    """mean, min, p10, p50, p90, max of column (nulls ignored)."""
    quantiles = F.percentile_approx(column, list(QUANTILES), ACCURACY)
    return [
        F.avg(column).alias(f"{prefix}mean"),
        F.min(column).cast("double").alias(f"{prefix}min"),
        *[
            quantiles[i].cast("double").alias(f"{prefix}p{round(q * 100)}")
            for i, q in enumerate(QUANTILES)
        ],
        F.max(column).cast("double").alias(f"{prefix}max"),
    ]


def _duration_aggs(prefix: str = "") -> list[Column]:
    duration = F.col("duration")
    buckets = []
    for name, lower, upper in BUCKETS:
        inside = duration >= lower if upper is None else (duration >= lower) & (duration < upper)
        buckets.append(_count_if(inside).alias(f"{prefix}bucket_{name}"))
    return [
        F.count(duration).alias(f"{prefix}nodes"),
        *_distribution(duration, prefix),
        (F.sum(duration) / 3600).alias(f"{prefix}hours"),
        *buckets,
    ]


def node_figures(facts: DataFrame, videos: DataFrame | None) -> dict[str, Any]:
    """Everything that comes from nodes (and videos): three small aggregations."""
    gpt = F.col("has_gpt")
    applicable = {"all": F.lit(True), "is_leaf": F.col("is_leaf"), "has_gpt": gpt}
    text_aggs = []
    for name, applies_to in TEXT_FIELDS:
        words = F.col(f"{name}_words")
        text_aggs += [
            F.count(words).alias(f"{name}__non_null"),
            _count_if(applicable[applies_to]).alias(f"{name}__applicable_nodes"),
            _count_if(applicable[applies_to] & words.isNotNull()).alias(
                f"{name}__applicable_non_null"
            ),
            F.avg(words).alias(f"{name}__mean_words"),
        ]
    internal = F.col("child_count") > 0
    brief = F.col("action_brief")
    totals = facts.agg(
        F.count(F.lit(1)).alias("nodes"),
        _count_if(F.col("is_leaf")).alias("leaves"),
        _count_if(internal).alias("internal_nodes"),
        _count_if(gpt).alias("gpt_nodes"),
        _count_if(F.col("is_root")).alias("roots"),
        (F.sum(F.when(F.col("is_root"), F.col("duration"))) / 3600).alias("root_hours"),
        _count_if(gpt & is_not_available(brief)).alias("na_actions"),
        _count_if(gpt & brief.isNull()).alias("gpt_without_brief"),
        _count_if(gpt & is_not_available(F.col("action_actor"))).alias("actor_na_nodes"),
        *_distribution(F.when(internal, F.col("child_count")), "branching_"),
        *_duration_aggs("all_"),
        *text_aggs,
    ).first()
    # Two small shuffles of the nodes: to per-level rows, and to per-video rows.
    per_level = (
        facts.groupBy("level")
        .agg(
            F.count(F.lit(1)).alias("level_nodes"),
            _count_if(F.col("is_leaf")).alias("leaves"),
            _count_if(gpt).alias("gpt_nodes"),
            _count_if(gpt & brief.isNotNull() & ~is_not_available(brief)).alias("actions"),
            F.countDistinct("video_uid").alias("videos"),
            *_duration_aggs(),
        )
        .orderBy("level")
        .collect()
    )

    per_video = facts.groupBy("video_uid").agg(
        F.count(F.lit(1)).alias("nodes"), F.max("level").alias("depth")
    )
    if videos is not None:
        listed = videos.select("video_uid", "duration", F.lit(True).alias("listed"))
        per_video = listed.join(per_video, "video_uid", "full")
    else:
        per_video = per_video.select(
            "*", F.lit(None).cast("long").alias("duration"), F.lit(True).alias("listed")
        )
    # Videos without nodes count as 0 nodes; nodes of a video missing from `videos` still count.
    node_count = F.coalesce(F.col("nodes"), F.lit(0))
    video_totals = per_video.agg(
        F.count("listed").alias("videos"),
        (F.sum("duration") / 3600).alias("video_hours"),
        *_distribution(node_count, "nodes_per_video_"),
        *_distribution(F.col("depth"), "depth_"),
    ).first()

    figures: dict[str, Any] = {"_totals": totals.asDict(), "_videos": video_totals.asDict()}
    if videos is None:
        figures["_videos"]["video_hours"] = None
    figures["levels"] = [
        {
            "level": row["level"],
            "nodes": row["level_nodes"],
            "leaves": row["leaves"],
            "gpt_nodes": row["gpt_nodes"],
            "actions": row["actions"],
            "videos": row["videos"],
        }
        for row in per_level
    ]
    duration_keys = _names(STATS_DURATIONS_SCHEMA)[2:]  # after scope and level
    everything = {key: totals[f"all_{key}"] for key in duration_keys}
    figures["durations"] = [{"scope": "all", "level": None, **everything}]
    figures["durations"] += [
        {"scope": "level", "level": row["level"], **_pick(row, duration_keys)} for row in per_level
    ]
    figures["fields"] = [
        {
            "field": name,
            "applies_to": applies_to,
            "nodes": totals["nodes"],
            "non_null": totals[f"{name}__non_null"],
            "coverage": _share(totals[f"{name}__non_null"], totals["nodes"]),
            "applicable_nodes": totals[f"{name}__applicable_nodes"],
            "applicable_non_null": totals[f"{name}__applicable_non_null"],
            "applicable_coverage": _share(
                totals[f"{name}__applicable_non_null"], totals[f"{name}__applicable_nodes"]
            ),
            "mean_words": totals[f"{name}__mean_words"],
            "paper_mean_words": PAPER_MEAN_WORDS.get(name),
        }
        for name, applies_to in TEXT_FIELDS
    ]
    return figures


def _pick(row, keys: list[str]) -> dict[str, Any]:
    return {key: row[key] for key in keys}


def _share(part: float | None, whole: float | None) -> float | None:
    if part is None or not whole:
        return None
    return part / whole


def action_figures(actions: DataFrame) -> dict[str, Any]:
    """Verbs, verb -> object pairs, actors and duplicate groups: small aggregates of actions."""
    verb_counts = actions.groupBy("verb").agg(
        F.count(F.lit(1)).alias("actions"), F.count("object").alias("with_object")
    )
    counted = verb_counts.collect()  # one row per verb: bounded by the vocabulary
    total = sum(row["actions"] for row in counted)
    without_verb = sum(row["actions"] for row in counted if row["verb"] is None)
    with_object = sum(row["with_object"] for row in counted)
    ranked = sorted(
        (r for r in counted if r["verb"] is not None), key=lambda r: (-r["actions"], r["verb"])
    )
    verbs = [
        {"rank": i, "verb": r["verb"], "actions": r["actions"], "share": r["actions"] / total}
        for i, r in enumerate(ranked, 1)
    ]
    verb_rank = {v["verb"]: v["rank"] for v in verbs}
    verb_total = {v["verb"]: v["actions"] for v in verbs}

    by_verb = Window.partitionBy("verb").orderBy(F.desc("actions"), F.asc("object"))
    pairs = (
        actions.where(F.col("verb").isNotNull() & F.col("object").isNotNull())
        .groupBy("verb", "object")
        .agg(F.count(F.lit(1)).alias("actions"))
        .withColumn("object_rank", F.row_number().over(by_verb))
        .where(F.col("object_rank") <= TOP_OBJECTS_PER_VERB)
        .collect()
    )
    verb_objects = sorted(
        (
            {
                "verb_rank": verb_rank[r["verb"]],
                "verb": r["verb"],
                "object_rank": r["object_rank"],
                "object": r["object"],
                "actions": r["actions"],
                "share_of_verb": r["actions"] / verb_total[r["verb"]],
            }
            for r in pairs
            if verb_rank[r["verb"]] <= TOP_VERBS_WITH_OBJECTS
        ),
        key=lambda r: (r["verb_rank"], r["object_rank"]),
    )

    actor = normalized(F.col("action_actor"))
    actor_groups = (
        actions.where(F.col("action_actor").isNotNull() & ~is_not_available(F.col("action_actor")))
        .groupBy(actor.alias("actor"))
        .agg(F.count(F.lit(1)).alias("actions"))
        .cache()
    )
    try:
        actor_totals = actor_groups.agg(
            F.count(F.lit(1)).alias("distinct_actors"), F.sum("actions").alias("with_actor")
        ).first()
        top_actors = actor_groups.orderBy(F.desc("actions"), "actor").limit(TOP_ACTORS).collect()
    finally:
        actor_groups.unpersist()
    actors = [
        {"rank": i, "actor": r["actor"], "actions": r["actions"], "share": r["actions"] / total}
        for i, r in enumerate(top_actors, 1)
    ]

    groups = (
        actions.groupBy(normalized(F.col("action_brief")).alias("action"))
        .agg(F.count(F.lit(1)).alias("members"), F.countDistinct("video_uid").alias("videos"))
        .cache()
    )
    try:
        dup_totals = groups.agg(
            F.count(F.lit(1)).alias("distinct_actions"),
            _count_if(F.col("members") > 1).alias("groups"),
            F.sum(F.when(F.col("members") > 1, F.col("members"))).alias("members"),
            F.max("members").alias("largest"),
        ).first()
        top_groups = (
            groups.where(F.col("members") > 1)
            .orderBy(F.desc("members"), "action")
            .limit(TOP_DUPLICATES)
            .collect()
        )
    finally:
        groups.unpersist()
    duplicates = [
        {"rank": i, "action": r["action"], "members": r["members"], "videos": r["videos"]}
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
            _share(count, everything["nodes"]),
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
        _share(totals["na_actions"], totals["gpt_nodes"]),
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
