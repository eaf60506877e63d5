"""Cross-row checks of DESIGN.md section 5, computed by Spark into compact check frames.

Each check is a Column that is null when the row is fine and a short text naming the offence when
it is not (the Databricks Labs DQX style), so that every check runs in one projection, Great
Expectations validates each check column with `expect_column_values_to_be_null` (its unexpected
count is then the true number of offending rows), and offending rows can be split off.

The nodes are hash-partitioned by video once; every later join, aggregation and window keys on
video_uid plus something, so none of them shuffles the nodes again.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F

# Seconds. float32 holds a time near 1.5 h to about 0.0005 s; boundaries shared by siblings are
# the same float32 value, so anything above this is a real gap, overlap or overhang.
TIME_TOLERANCE = 1e-3
# DESIGN.md section 3: metadata.duration is rounded to whole seconds; trees may run past it.
DURATION_SLACK = 1.0
GPT_MIN_SECONDS = 4.0
NOT_AVAILABLE = "N/A"

CHECK_PREFIX = "chk_"


def _where(condition: Column, text: Column) -> Column:
    """The offence text when condition holds, else null (a null condition counts as fine)."""
    return F.when(F.coalesce(condition, F.lit(False)), text)


def _node_ref() -> Column:
    return F.concat_ws("/", F.col("video_uid"), F.coalesce(F.col("node_id"), F.lit("<null>")))


def _say(template: str, *columns: Column) -> Column:
    return F.format_string("%s: " + template, _node_ref(), *columns)


def node_checks(ctx: DataFrame) -> dict[str, Column]:
    """Row-level checks on nodes joined to their parent, siblings and video (see node_check_frame)."""
    start, end = F.col("start"), F.col("end")
    parent_found = F.col("parent_found")
    internal = ~F.col("is_leaf")
    tol = F.lit(TIME_TOLERANCE)
    return {
        # schema / keys
        "node_key_unique": _where(
            F.col("id_count") > 1, _say("node_id appears %d times", F.col("id_count"))
        ),
        # temporal
        "start_non_negative": _where(start < 0, _say("start %s < 0", start)),
        "end_after_start": _where(end <= start, _say("end %s <= start %s", end, start)),
        "duration_is_end_minus_start": _where(
            F.abs(F.col("duration") - (end.cast("double") - start.cast("double"))) > 1e-9,
            _say("duration %s != end - start", F.col("duration")),
        ),
        "end_within_video_duration": _where(
            end > F.col("video_duration"),
            _say("end %s > video duration %d", end, F.col("video_duration")),
        ),
        "end_within_video_duration_1s": _where(
            end > F.col("video_duration") + DURATION_SLACK,
            _say("end %s > video duration %d + 1 s", end, F.col("video_duration")),
        ),
        # tree
        "parent_exists": _where(
            F.col("parent_id").isNotNull() & parent_found.isNull(),
            _say("parent %s not found", F.col("parent_id")),
        ),
        "level_is_parent_plus_one": _where(
            parent_found & (F.col("level") != F.col("parent_level") + 1),
            _say("level %d, parent level %d", F.col("level"), F.col("parent_level")),
        ),
        "inside_parent": _where(
            parent_found
            & ((start < F.col("parent_start") - tol) | (end > F.col("parent_end") + tol)),
            _say(
                "[%s, %s] outside parent [%s, %s]",
                start,
                end,
                F.col("parent_start"),
                F.col("parent_end"),
            ),
        ),
        "tiles_parent": _where(
            parent_found
            & (
                (F.col("prev_end").isNull() & (F.abs(start - F.col("parent_start")) > tol))
                | (F.col("prev_end").isNotNull() & (F.abs(start - F.col("prev_end")) > tol))
                | (F.col("is_last_child") & (F.abs(end - F.col("parent_end")) > tol))
            ),
            _say(
                "[%s, %s] does not tile parent [%s, %s] after sibling ending %s",
                start,
                end,
                F.col("parent_start"),
                F.col("parent_end"),
                F.coalesce(F.col("prev_end").cast("string"), F.lit("-")),
            ),
        ),
        "binary_branching": _where(
            internal & (F.col("child_count") != 2), _say("%d children", F.col("child_count"))
        ),
        # annotation
        "gpt_iff_internal_4s": _where(
            F.col("has_gpt") != (internal & (F.col("duration") >= GPT_MIN_SECONDS)),
            _say(
                "has_gpt %s on a %s of %.3f s",
                F.col("has_gpt"),
                F.when(internal, F.lit("internal node")).otherwise(F.lit("leaf")),
                F.col("duration"),
            ),
        ),
        "llama3_iff_leaf": _where(
            F.col("has_llama3") != F.col("is_leaf"),
            _say(
                "llama3_caption %s on a %s",
                F.when(F.col("has_llama3"), "present").otherwise("absent"),
                F.when(internal, F.lit("internal node")).otherwise(F.lit("leaf")),
            ),
        ),
        "na_coupling": _where(
            (F.col("action_brief") == NOT_AVAILABLE)
            & (
                ~F.col("action_detailed").eqNullSafe(NOT_AVAILABLE)
                | ~F.col("action_actor").eqNullSafe(NOT_AVAILABLE)
            ),
            _say("brief action is N/A but detailed/actor are not"),
        ),
    }


def node_check_frame(spark: SparkSession, nodes: DataFrame, videos: DataFrame) -> DataFrame:
    """One row per node: video_uid, node_id and one chk_<name> column per row-level check."""
    # Joins on (video_uid, x) reuse the partitioning by video_uid instead of shuffling again.
    spark.conf.set("spark.sql.requireAllClusterKeysForCoPartition", "false")
    partitions = int(spark.conf.get("spark.sql.shuffle.partitions"))
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
        "action_brief",
        "action_detailed",
        "action_actor",
    ).repartition(partitions, "video_uid")

    ids = base.groupBy("video_uid", "node_id").agg(
        F.count(F.lit(1)).alias("id_count"),
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
    durations = videos.select("video_uid", F.col("duration").alias("video_duration"))
    ctx = (
        base.join(ids.select("video_uid", "node_id", "id_count"), ["video_uid", "node_id"], "left")
        .join(parents, ["video_uid", "parent_id"], "left")
        .withColumn("prev_end", F.lag("end").over(siblings))
        .withColumn("is_last_child", F.lead(F.lit(1)).over(siblings).isNull())
        .join(F.broadcast(durations), "video_uid", "left")
    )
    checks = node_checks(ctx)
    return ctx.select(
        "video_uid", "node_id", *[c.alias(CHECK_PREFIX + n) for n, c in checks.items()]
    )


def video_check_frame(nodes: DataFrame, videos: DataFrame) -> DataFrame:
    """One row per video: video_uid and one chk_<name> column per video-level check."""
    roots = nodes.groupBy("video_uid").agg(
        F.sum(F.col("parent_id").isNull().cast("int")).alias("root_count"),
        F.min(F.when(F.col("parent_id").isNull(), F.col("start"))).alias("root_start"),
        F.count(F.lit(1)).alias("nodes_found"),
    )
    v = videos.select("video_uid", "node_count", "upload_date", "upload_date_text").join(
        roots, "video_uid", "left"
    )
    ref = F.col("video_uid")
    checks = {
        "one_root": _where(
            F.coalesce(F.col("root_count"), F.lit(0)) != 1,
            F.format_string("%s: %d roots", ref, F.coalesce(F.col("root_count"), F.lit(0))),
        ),
        "root_starts_at_zero": _where(
            F.abs(F.col("root_start")) > TIME_TOLERANCE,
            F.format_string("%s: root starts at %s", ref, F.col("root_start")),
        ),
        "node_count_matches": _where(
            F.coalesce(F.col("node_count"), F.lit(0)) != F.coalesce(F.col("nodes_found"), F.lit(0)),
            F.format_string(
                "%s: node_count %s but %s node rows", ref, F.col("node_count"), F.col("nodes_found")
            ),
        ),
        "upload_date_valid": _where(
            F.col("upload_date").isNull() & F.col("upload_date_text").isNotNull(),
            F.format_string(
                "%s: upload_date %s is not a YYYYMMDD date", ref, F.col("upload_date_text")
            ),
        ),
    }
    return v.select("video_uid", *[c.alias(CHECK_PREFIX + n) for n, c in checks.items()])


def transcript_check_frame(transcripts: DataFrame) -> DataFrame:
    """One row per transcript line: its keys and one chk_<name> column per check."""
    where = F.concat_ws("/", F.col("video_uid"), F.col("seq").cast("string"))
    checks = {
        "time_parsed": _where(
            F.col("time").isNull() & F.col("time_text").isNotNull(),
            F.format_string("%s: time %s is not a number", where, F.col("time_text")),
        ),
        "time_non_negative": _where(
            F.col("time") < 0, F.format_string("%s: time %s < 0", where, F.col("time"))
        ),
    }
    return transcripts.select(
        "video_uid", "seq", *[c.alias(CHECK_PREFIX + n) for n, c in checks.items()]
    )


def failing_videos(checks: DataFrame, check_names: list[str]) -> DataFrame:
    """video_uid, the sorted names of the given checks failing on any of its rows, and a few of
    the offences as reason_detail."""
    columns = [F.col(CHECK_PREFIX + n) for n in check_names]
    reasons = F.array_compact(
        F.array(
            *[F.when(c.isNotNull(), F.lit(n)) for n, c in zip(check_names, columns, strict=True)]
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
