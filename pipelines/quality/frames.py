"""Check frames: each rule of the registry evaluated by Spark into one compact frame per asset.

A check frame has the row's keys and one `chk_<rule>` column per rule (null when fine, the offence
when not), so every rule of an asset runs in one projection, Great Expectations validates each
column with `expect_column_values_to_be_null` (its unexpected count is the true number of
offending rows), and offending rows can be split off.

The nodes are hash-partitioned by video once; every later join, aggregation and window keys on
video_uid plus something, so none of them shuffles the nodes again (the session sets
`spark.sql.requireAllClusterKeysForCoPartition=false` for that, see core/session.py). What is
shuffled is kept narrow: the rules ask of the action texts only whether each is exactly the "N/A"
marker, so the marker travels, not the text (at 10,000 videos the detailed texts alone are
224 MB), and a node id's repeat count is a window over the partitioned rows, not a join.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from pipelines.core.columns import is_not_available_exact
from pipelines.core.raw import NOT_AVAILABLE
from pipelines.quality.rules import (
    CHECK_PREFIX,
    NODE_CHECKS,
    TRANSCRIPT_CHECKS,
    VIDEO_CHECKS,
    rules_of,
)


def _with_rules(ctx: DataFrame, asset: str, *keys: str) -> DataFrame:
    return ctx.select(*keys, *[r.offence().alias(r.column) for r in rules_of(asset)])


# The node texts the annotation rules read, and only as "is it exactly the N/A marker".
ACTION_TEXTS = ("action_brief", "action_detailed", "action_actor")


def _marker_only(column: str) -> Column:
    """The column as the rules see it: the "N/A" marker where it is exactly that, else null."""
    return F.when(is_not_available_exact(F.col(column)), F.lit(NOT_AVAILABLE)).alias(column)


def _video_ids(videos: DataFrame) -> DataFrame:
    return videos.select(
        "video_uid", F.col("duration").alias("video_duration"), F.lit(True).alias("video_found")
    )


def node_check_frame(nodes: DataFrame, videos: DataFrame) -> DataFrame:
    """One row per node: video_uid, node_id and one chk_<rule> column per node rule."""
    partitions = int(nodes.sparkSession.conf.get("spark.sql.shuffle.partitions"))
    base = nodes.select(
        "video_uid",
        "node_id",
        "parent_id",
        "level",
        "start",
        "end",
        "duration",
        "is_leaf",
        "child_count",
        "has_gpt",
        F.col("llama3_caption").isNotNull().alias("has_llama3"),
        *[_marker_only(c) for c in ACTION_TEXTS],
    ).repartition(partitions, "video_uid")

    ids = base.groupBy("video_uid", "node_id").agg(
        F.min("level").alias("parent_level"),
        F.min("start").alias("parent_start"),
        F.max("end").alias("parent_end"),
    )
    parents = ids.select(
        "video_uid",
        F.col("node_id").alias("parent_id"),
        "parent_level",
        "parent_start",
        "parent_end",
        F.lit(True).alias("parent_found"),
    )
    siblings = Window.partitionBy("video_uid", "parent_id").orderBy("start", "end", "node_id")
    same_id = Window.partitionBy("video_uid", "node_id")
    ctx = (
        base.withColumn("id_count", F.count(F.lit(1)).over(same_id))
        .join(parents, ["video_uid", "parent_id"], "left")
        .withColumn("prev_end", F.lag("end").over(siblings))
        .withColumn("is_last_child", F.lead(F.lit(1)).over(siblings).isNull())
        .join(F.broadcast(_video_ids(videos)), "video_uid", "left")
    )
    return _with_rules(ctx, NODE_CHECKS, "video_uid", "node_id")


def video_check_frame(nodes: DataFrame, videos: DataFrame) -> DataFrame:
    """One row per video: video_uid and one chk_<rule> column per video rule."""
    is_root = F.col("parent_id").isNull()
    roots = nodes.groupBy("video_uid").agg(
        F.sum(is_root.cast("int")).alias("root_count"),
        F.min(F.when(is_root, F.col("start"))).alias("root_start"),
        F.min(F.when(is_root, F.col("level"))).alias("root_level"),
        F.count(F.lit(1)).alias("nodes_found"),
    )
    ctx = videos.select("video_uid", "node_count", "upload_date", "upload_date_text").join(
        roots, "video_uid", "left"
    )
    return _with_rules(ctx, VIDEO_CHECKS, "video_uid")


def transcript_check_frame(transcripts: DataFrame, videos: DataFrame) -> DataFrame:
    """One row per transcript line: its keys and one chk_<rule> column per transcript rule."""
    found = videos.select("video_uid", F.lit(True).alias("video_found"))
    ctx = transcripts.join(F.broadcast(found), "video_uid", "left")
    return _with_rules(ctx, TRANSCRIPT_CHECKS, "video_uid", "seq")


def failing_videos(checks: DataFrame, rule_names: list[str]) -> DataFrame:
    """video_uid, the sorted names of the given rules failing on any of its rows, and a few of
    the offences as reason_detail."""
    columns = [F.col(CHECK_PREFIX + n) for n in rule_names]
    reasons = F.array_compact(
        F.array(
            *[F.when(c.isNotNull(), F.lit(n)) for n, c in zip(rule_names, columns, strict=True)]
        )
    )
    return (
        checks.select(
            "video_uid", reasons.alias("reasons"), F.concat_ws("; ", *columns).alias("detail")
        )
        .where(F.size("reasons") > 0)
        .groupBy("video_uid")
        .agg(
            F.array_sort(F.array_distinct(F.flatten(F.collect_list("reasons")))).alias(
                "reason_codes"
            ),
            F.concat_ws("; ", F.slice(F.collect_list("detail"), 1, 5)).alias("reason_detail"),
        )
    )
