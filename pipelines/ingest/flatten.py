"""Pure transformations from raw nested rows to the flat tables, and the choice of one copy of
each video. (The inverse, nesting flat rows back, is core/records.py: validation uses it too.)

Every function here is DataFrame -> DataFrame and uses Spark's own functions, and the project's
JVM function a100m_child_counts where the session has it (core/native.py).
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from pipelines.core import native
from pipelines.core.columns import conform
from pipelines.core.contracts import (
    NODES_SCHEMA,
    SOURCE_FILE,
    SOURCE_ROW,
    TRANSCRIPTS_SCHEMA,
    VIDEOS_SCHEMA,
)

# Reason codes for whole raw records that are not ingested (docs/tables.md, quarantine).
MISSING_VIDEO_UID = "missing_video_uid"
DUPLICATE_VIDEO = "duplicate_video"
VIDEO_ALREADY_INGESTED = "video_already_ingested"


def to_videos(raw: DataFrame, run_id: str, ingested_at: Column) -> DataFrame:
    """One row per raw record: metadata, counts and provenance."""
    meta = F.col("metadata")
    return conform(
        raw.select(
            "video_uid",
            meta["title"].alias("title"),
            meta["description"].alias("description"),
            meta["view_count"].alias("view_count"),
            meta["like_count"].alias("like_count"),
            meta["duration"].alias("duration"),
            F.try_to_date(meta["upload_date"], "yyyyMMdd").alias("upload_date"),
            meta["upload_date"].alias("upload_date_text"),
            _size_or_null(meta["transcript"]).alias("transcript_count"),
            _size_or_null(F.col("nodes")).alias("node_count"),
            # nodes.level (not a lambda over nodes) lets Parquet read that one nested field only.
            F.array_max(F.col("nodes.level")).alias("max_level"),
            meta.isNotNull().alias("has_metadata"),
            SOURCE_FILE,
            SOURCE_ROW,
            F.lit(run_id).alias("ingest_run_id"),
            ingested_at.alias("ingested_at"),
        ),
        VIDEOS_SCHEMA,
    )


def _size_or_null(array: Column) -> Column:
    # size() of a null array is -1 (or null under ANSI); the contract says null.
    return F.when(array.isNotNull(), F.size(array))


def to_nodes(raw: DataFrame, run_id: str) -> DataFrame:
    """One row per node, with duration, child_count, is_leaf and the gpt fields flattened."""
    node = F.col("node")
    gpt = node["gpt"]
    counted = native.available(raw.sparkSession)
    # With the JVM function, each video's child counts are one array computed beside its nodes,
    # read by position after the explode: no group-by of the nodes joined back (a shuffle of
    # every wide node row, about 30 s of 79 s at 10,000 videos).
    # In their own select: beside posexplode in one select, Spark evaluates the other columns
    # after the explode, once per node (a 500-node video's counts 500 times).
    if counted:
        kids = native.child_counts(F.col("nodes.node_id"), F.col("nodes.parent_id"))
        raw = raw.select("video_uid", "nodes", kids.alias("kids"))
    flat = raw.select(
        "video_uid", *(["kids"] if counted else []), F.posexplode("nodes").alias("seq", "node")
    ).select(
        "video_uid",
        "seq",
        *[node[name].alias(name) for name in ("node_id", "parent_id", "level", "start", "end")],
        (node["end"].cast("double") - node["start"].cast("double")).alias("duration"),
        *[node[name].alias(name) for name in ("plm_action", "plm_caption", "llama3_caption")],
        gpt.isNotNull().alias("has_gpt"),
        gpt["summary"]["brief"].alias("summary_brief"),
        gpt["summary"]["detailed"].alias("summary_detailed"),
        gpt["action"]["brief"].alias("action_brief"),
        gpt["action"]["detailed"].alias("action_detailed"),
        gpt["action"]["actor"].alias("action_actor"),
        gpt["summary"].isNotNull().alias("has_gpt_summary"),
        gpt["action"].isNotNull().alias("has_gpt_action"),
        F.lit(run_id).alias("ingest_run_id"),
        # never null (one count per node); coalesce keeps the column non-nullable, as the join's
        *(
            [F.coalesce(F.col("kids")[F.col("seq")], F.lit(0)).alias("child_count")]
            if counted
            else []
        ),
    )
    if counted:
        flat = flat.withColumn("is_leaf", F.col("child_count") == 0)
    else:
        flat = flat.transform(with_child_counts)
    return conform(flat, NODES_SCHEMA)


def with_child_counts(nodes: DataFrame) -> DataFrame:
    """Add child_count (nodes naming this node as parent) and is_leaf: the built-in form, a
    group-by joined back (a shuffle), used where the session lacks a100m_child_counts."""
    children = (
        nodes.where(F.col("parent_id").isNotNull())
        .groupBy("video_uid", F.col("parent_id").alias("node_id"))
        .agg(F.count(F.lit(1)).cast("int").alias("child_count"))
    )
    # Hash the narrow side instead of sorting the wide node rows for a sort-merge join.
    counted = nodes.join(children.hint("shuffle_hash"), ["video_uid", "node_id"], "left")
    child_count = F.coalesce(F.col("child_count"), F.lit(0))
    return counted.withColumn("child_count", child_count).withColumn("is_leaf", child_count == 0)


def to_transcripts(raw: DataFrame, run_id: str) -> DataFrame:
    """One row per transcript line; time parsed to a double, its text kept."""
    line = F.col("line")
    return conform(
        raw.select("video_uid", F.posexplode("metadata.transcript").alias("seq", "line")).select(
            "video_uid",
            "seq",
            line["time"].try_cast("double").alias("time"),
            line["time"].alias("time_text"),
            line["text"].alias("text"),
            F.lit(run_id).alias("ingest_run_id"),
        ),
        TRANSCRIPTS_SCHEMA,
    )


# ---------------------------------------------------------------------------------------------
# Choosing one copy of each video
# ---------------------------------------------------------------------------------------------


def rank_copies(keys: DataFrame, ingested_uids: DataFrame | None) -> DataFrame:
    """For every raw record (video_uid, source_file, source_row), the reasons it is not ingested.

    The kept copy of a video is the one from the first source file by name, then the first row;
    a video already in the lake keeps the lake's copy. Returns the records to reject, with
    reason_codes and a reason_detail naming the copy that was kept.
    """
    by_video = Window.partitionBy("video_uid").orderBy(SOURCE_FILE, SOURCE_ROW)
    ranked = keys.select(
        "video_uid",
        SOURCE_FILE,
        SOURCE_ROW,
        F.row_number().over(by_video).alias("copy"),
        F.first(SOURCE_FILE).over(by_video).alias("kept_file"),
        F.first(SOURCE_ROW).over(by_video).alias("kept_row"),
    )
    if ingested_uids is not None:
        flagged = ingested_uids.select("video_uid", F.lit(True).alias("in_lake")).distinct()
        ranked = ranked.join(flagged, "video_uid", "left")
    else:
        ranked = ranked.withColumn("in_lake", F.lit(None).cast("boolean"))
    reasons = F.array_compact(
        F.array(
            F.when(F.col("video_uid").isNull(), F.lit(MISSING_VIDEO_UID)),
            F.when(F.col("video_uid").isNotNull() & (F.col("copy") > 1), F.lit(DUPLICATE_VIDEO)),
            F.when(F.col("in_lake"), F.lit(VIDEO_ALREADY_INGESTED)),
        )
    )
    detail = F.when(
        F.col("copy") > 1,
        F.format_string("kept the copy in %s row %d", F.col("kept_file"), F.col("kept_row")),
    ).when(F.col("in_lake"), F.lit("the lake already holds this video"))
    return ranked.select(
        "video_uid",
        SOURCE_FILE,
        SOURCE_ROW,
        reasons.alias("reason_codes"),
        detail.alias("reason_detail"),
    ).where(F.size("reason_codes") > 0)
