"""Per-ingest-run partial aggregates: what each run's own videos contribute to every figure.

A partial is computed once, from one ingest run's rows (a night pays for its own data), in one
pass over those rows grouped by `ingest_run_id`, so a `--full` rebuild computes every run's
partial in the same single pass. The rows follow STATS_PARTIALS_SCHEMA (core/contracts.py):

- kind "totals" (one row per run) and "level" (one per run and tree level): `metrics` holds exact
  counts and sums (words, seconds, children), and "min_*"/"max_*" extremes; `sketches` holds a
  KLL sketch (Spark's `kll_sketch_agg_double`, k = SKETCH_K) per distribution;
- kind "videos": per-video figures (nodes per video, depth, video seconds) of the run's videos;
- kinds "verb", "pair", "actor", "action": additive count rows, keyed by verb, verb -> object,
  normalised actor, normalised brief action; `count` is actions (members for "action") and
  `count2` the actions with an object ("verb") or the distinct videos ("action").

Distinct counts add up across runs because a video belongs to exactly one ingest run (video
uniqueness is enforced at ingest), so no theta or HLL sketch is needed: every count is exact.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from pipelines.core.columns import conform, is_not_available
from pipelines.core.contracts import STATS_PARTIALS_SCHEMA
from pipelines.stats.figures import normalized
from pipelines.stats.spec import BUCKETS, TEXT_FIELDS

# KLL's k: normalised rank error about 0.07% (DataSketches: 2.296 / k^0.9723), exact while a
# sketch holds fewer than k values; a sketch of n values keeps O(k log(n/k)) of them.
SKETCH_K = 4096
SKETCH_FORMAT = f"kll_double/k={SKETCH_K}"
# The rank error quantiles are published with (DataSketches' bound for k, 99% confidence).
QUANTILE_RANK_ERROR = round(2.296 / SKETCH_K**0.9723, 5)
RUN = "ingest_run_id"
TOTALS, VIDEOS, LEVEL = "totals", "videos", "level"
VERB, PAIR, ACTOR, ACTION = "verb", "pair", "actor", "action"


def _count_if(condition: Column) -> Column:
    return F.count(F.when(condition, F.lit(1)))


def _distribution(column: Column, prefix: str) -> list[Column]:
    """The mergeable parts of mean, min, quantiles and max: count, sum, min, max, a sketch."""
    return [
        F.count(column).alias(f"{prefix}count"),
        F.sum(column).cast("double").alias(f"{prefix}sum"),
        F.min(column).cast("double").alias(f"min_{prefix}"),
        F.max(column).cast("double").alias(f"max_{prefix}"),
        F.kll_sketch_agg_double(column.cast("double"), SKETCH_K).alias(f"sketch_{prefix}"),
    ]


def _duration_aggs(prefix: str = "") -> list[Column]:
    duration = F.col("duration")
    buckets = []
    for name, lower, upper in BUCKETS:
        inside = duration >= lower if upper is None else (duration >= lower) & (duration < upper)
        buckets.append(_count_if(inside).alias(f"{prefix}bucket_{name}"))
    return [*_distribution(duration, prefix), *buckets]


def _packed(aggregated: DataFrame, keys: list[str], kind: str) -> DataFrame:
    """Named metrics into one map<string,double>, sketches (columns "sketch_*") into another."""
    names = [c for c in aggregated.columns if c not in keys]
    sketches = [c for c in names if c.startswith("sketch_")]
    metrics = [c for c in names if c not in sketches]
    return aggregated.select(
        F.col(RUN),
        F.lit(kind).alias("kind"),
        (F.col("level") if "level" in keys else F.lit(None)).cast("short").alias("level"),
        F.map_from_arrays(
            F.array(*[F.lit(m) for m in metrics]),
            F.array(*[F.col(m).cast("double") for m in metrics]),
        ).alias("metrics"),
        F.map_from_arrays(
            F.array(*[F.lit(s.removeprefix("sketch_")) for s in sketches]),
            F.array(*[F.col(s) for s in sketches]),
        ).alias("sketches"),
    )


def node_partials(facts: DataFrame, videos: DataFrame | None) -> DataFrame:
    """kind totals, level and videos, for every ingest run in facts (see node_facts)."""
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
            F.sum(words).cast("double").alias(f"{name}__words"),
        ]
    internal = F.col("child_count") > 0
    brief = F.col("action_brief")
    totals = facts.groupBy(RUN).agg(
        F.count(F.lit(1)).alias("nodes"),
        _count_if(F.col("is_leaf")).alias("leaves"),
        _count_if(internal).alias("internal_nodes"),
        _count_if(gpt).alias("gpt_nodes"),
        _count_if(F.col("is_root")).alias("roots"),
        F.sum(F.when(F.col("is_root"), F.col("duration"))).alias("root_seconds"),
        _count_if(gpt & is_not_available(brief)).alias("na_actions"),
        _count_if(gpt & brief.isNull()).alias("gpt_without_brief"),
        _count_if(gpt & is_not_available(F.col("action_actor"))).alias("actor_na_nodes"),
        *_distribution(F.when(internal, F.col("child_count")), "branching_"),
        *_duration_aggs("all_"),
        *text_aggs,
    )
    per_level = facts.groupBy(RUN, "level").agg(
        F.count(F.lit(1)).alias("level_nodes"),
        _count_if(F.col("is_leaf")).alias("leaves"),
        _count_if(gpt).alias("gpt_nodes"),
        _count_if(gpt & brief.isNotNull() & ~is_not_available(brief)).alias("actions"),
        F.countDistinct("video_uid").alias("videos"),
        *_duration_aggs(),
    )
    per_video = facts.groupBy(RUN, "video_uid").agg(
        F.count(F.lit(1)).alias("nodes"), F.max("level").alias("depth")
    )
    if videos is not None:
        listed = videos.select(RUN, "video_uid", "duration", F.lit(True).alias("listed"))
        per_video = listed.join(per_video, [RUN, "video_uid"], "full")
    else:
        per_video = per_video.select(
            "*", F.lit(None).cast("long").alias("duration"), F.lit(True).alias("listed")
        )
    # Videos without nodes count as 0 nodes; nodes of a video missing from `videos` still count.
    node_count = F.coalesce(F.col("nodes"), F.lit(0))
    video_totals = per_video.groupBy(RUN).agg(
        F.count("listed").alias("videos"),
        F.sum("duration").cast("double").alias("video_seconds"),
        *_distribution(node_count, "nodes_per_video_"),
        *_distribution(F.col("depth"), "depth_"),
    )
    return (
        _packed(totals, [RUN], TOTALS)
        .unionByName(_packed(per_level, [RUN, "level"], LEVEL))
        .unionByName(_packed(video_totals, [RUN], VIDEOS))
        .select(
            "*",
            *[F.lit(None).cast("string").alias(c) for c in ("key", "key2")],
            *[F.lit(None).cast("long").alias(c) for c in ("count", "count2")],
        )
    )


def action_partials(actions: DataFrame) -> DataFrame:
    """kind verb, pair, actor and action: additive counts of the actions (with verb and object)."""
    verbs = actions.groupBy(RUN, F.col("verb").alias("key")).agg(
        F.count(F.lit(1)).alias("count"), F.count("object").alias("count2")
    )
    pairs = (
        actions.where(F.col("verb").isNotNull() & F.col("object").isNotNull())
        .groupBy(RUN, F.col("verb").alias("key"), F.col("object").alias("key2"))
        .agg(F.count(F.lit(1)).alias("count"))
    )
    actors = (
        actions.where(F.col("action_actor").isNotNull() & ~is_not_available(F.col("action_actor")))
        .groupBy(RUN, normalized(F.col("action_actor")).alias("key"))
        .agg(F.count(F.lit(1)).alias("count"))
    )
    briefs = actions.groupBy(RUN, normalized(F.col("action_brief")).alias("key")).agg(
        F.count(F.lit(1)).alias("count"), F.countDistinct("video_uid").alias("count2")
    )

    def shaped(df: DataFrame, kind: str) -> DataFrame:
        present = set(df.columns)
        return df.select(
            RUN,
            F.lit(kind).alias("kind"),
            F.lit(None).cast("short").alias("level"),
            "key",
            (F.col("key2") if "key2" in present else F.lit(None).cast("string")).alias("key2"),
            "count",
            (F.col("count2") if "count2" in present else F.lit(None).cast("long")).alias("count2"),
            F.lit(None).cast("map<string,double>").alias("metrics"),
            F.lit(None).cast("map<string,binary>").alias("sketches"),
        )

    return (
        shaped(verbs, VERB)
        .unionByName(shaped(pairs, PAIR))
        .unionByName(shaped(actors, ACTOR))
        .unionByName(shaped(briefs, ACTION))
    )


def partial_rows(
    node_parts: DataFrame, action_parts: DataFrame, run_id: str, computed_at, nodes_version: int
) -> DataFrame:
    """Both kinds of partials as stats_partials rows, with this stats run's provenance."""
    return conform(
        node_parts.unionByName(action_parts).select(
            "*",
            F.lit(SKETCH_FORMAT).alias("sketch_format"),
            F.lit(run_id).alias("run_id"),
            F.lit(computed_at).alias("computed_at"),
            F.lit(nodes_version).alias("nodes_version"),
        ),
        STATS_PARTIALS_SCHEMA,
    )
