"""Pure transformations from raw nested rows to the flat tables, and back.

Every function here is DataFrame -> DataFrame and uses Spark's own functions only.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T
from pyspark.sql.pandas.types import from_arrow_type

from pipelines.schema import (
    NODE,
    NODES_SCHEMA,
    RAW_SCHEMA,
    SOURCE_FILE,
    SOURCE_ROW,
    TRANSCRIPTS_SCHEMA,
    VIDEOS_SCHEMA,
)

NODE_TYPE: T.StructType = from_arrow_type(NODE)
TRANSCRIPT_TYPE: T.ArrayType = RAW_SCHEMA["metadata"].dataType["transcript"].dataType

# Reason codes for whole raw records that are not ingested (DESIGN.md section 4, quarantine).
MISSING_VIDEO_UID = "missing_video_uid"
DUPLICATE_VIDEO = "duplicate_video"
VIDEO_ALREADY_INGESTED = "video_already_ingested"


def conform(df: DataFrame, schema: T.StructType) -> DataFrame:
    """Select exactly the contract's columns, in its order, with its types."""
    return df.select(*[F.col(f.name).cast(f.dataType).alias(f.name) for f in schema.fields])


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


def to_nodes(raw: DataFrame) -> DataFrame:
    """One row per node, with duration, child_count, is_leaf and the gpt fields flattened."""
    node = F.col("node")
    gpt = node["gpt"]
    flat = raw.select("video_uid", F.posexplode("nodes").alias("seq", "node")).select(
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
    )
    return flat.transform(with_child_counts).transform(lambda df: conform(df, NODES_SCHEMA))


def with_child_counts(nodes: DataFrame) -> DataFrame:
    """Add child_count (nodes naming this node as parent) and is_leaf."""
    children = (
        nodes.where(F.col("parent_id").isNotNull())
        .groupBy("video_uid", F.col("parent_id").alias("node_id"))
        .agg(F.count(F.lit(1)).cast("int").alias("child_count"))
    )
    # Hash the narrow side instead of sorting the wide node rows for a sort-merge join.
    counted = nodes.join(children.hint("shuffle_hash"), ["video_uid", "node_id"], "left")
    child_count = F.coalesce(F.col("child_count"), F.lit(0))
    return counted.withColumn("child_count", child_count).withColumn("is_leaf", child_count == 0)


def to_transcripts(raw: DataFrame) -> DataFrame:
    """One row per transcript line; time parsed to a double, its text kept."""
    line = F.col("line")
    return conform(
        raw.select("video_uid", F.posexplode("metadata.transcript").alias("seq", "line")).select(
            "video_uid",
            "seq",
            line["time"].try_cast("double").alias("time"),
            line["time"].alias("time_text"),
            line["text"].alias("text"),
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


def quarantine_records(records: DataFrame, run_id: str, quarantined_at: Column) -> DataFrame:
    """Whole raw video records (release columns, provenance, reason_codes, reason_detail) as
    rows of the quarantine table, the record kept as JSON so that nothing rejected is lost."""
    return records.select(
        F.lit(run_id).alias("run_id"),
        quarantined_at.alias("quarantined_at"),
        SOURCE_FILE,
        SOURCE_ROW,
        F.lit("video").alias("record_type"),
        "video_uid",
        F.lit(None).cast("string").alias("node_id"),
        "reason_codes",
        "reason_detail",
        F.to_json(F.struct(*RAW_SCHEMA.names)).alias("raw_record"),
    )


def count_reasons(records: DataFrame) -> dict[str, int]:
    """How many records carry each reason code (an aggregate: one row per code)."""
    rows = (
        records.select(F.explode("reason_codes").alias("reason"))
        .groupBy("reason")
        .count()
        .collect()
    )
    return {row.reason: int(row["count"]) for row in rows}


# ---------------------------------------------------------------------------------------------
# Nesting back
# ---------------------------------------------------------------------------------------------


def nest(videos: DataFrame, nodes: DataFrame, transcripts: DataFrame) -> DataFrame:
    """Rebuild raw rows (the release schema) from the flat tables: the inverse of the explode."""
    node_struct = F.struct(
        *[F.col(n) for n in ("node_id", "parent_id", "level", "start", "end")],
        *[F.col(n) for n in ("plm_action", "plm_caption", "llama3_caption")],
        F.when(
            F.col("has_gpt"),
            F.struct(
                F.when(
                    F.col("has_gpt_summary"),
                    F.struct(
                        F.col("summary_brief").alias("brief"),
                        F.col("summary_detailed").alias("detailed"),
                    ),
                ).alias("summary"),
                F.when(
                    F.col("has_gpt_action"),
                    F.struct(
                        F.col("action_brief").alias("brief"),
                        F.col("action_detailed").alias("detailed"),
                        F.col("action_actor").alias("actor"),
                    ),
                ).alias("action"),
            ),
        ).alias("gpt"),
    ).cast(NODE_TYPE)
    nested_nodes = nodes.groupBy("video_uid").agg(_ordered_list(node_struct).alias("nested_nodes"))
    line = F.struct(F.col("time_text").alias("time"), F.col("text").alias("text"))
    nested_lines = transcripts.groupBy("video_uid").agg(_ordered_list(line).alias("nested_lines"))

    joined = videos.join(nested_nodes, "video_uid", "left").join(nested_lines, "video_uid", "left")
    metadata = F.when(
        F.col("has_metadata"),
        F.struct(
            *[F.col(n) for n in ("title", "description", "view_count", "like_count", "duration")],
            F.col("upload_date_text").alias("upload_date"),
            _list_or_null("transcript_count", "nested_lines", TRANSCRIPT_TYPE).alias("transcript"),
        ),
    )
    return joined.select(
        "video_uid",
        metadata.cast(RAW_SCHEMA["metadata"].dataType).alias("metadata"),
        _list_or_null("node_count", "nested_nodes", T.ArrayType(NODE_TYPE)).alias("nodes"),
    )


def _ordered_list(item: Column) -> Column:
    """collect_list ordered by the source position (seq), without the position."""
    pairs = F.array_sort(F.collect_list(F.struct(F.col("seq").alias("seq"), item.alias("item"))))
    return F.transform(pairs, lambda p: p["item"])


def _list_or_null(count_column: str, nested_column: str, array_type: T.ArrayType) -> Column:
    empty = F.array().cast(array_type)
    return F.when(F.col(count_column).isNotNull(), F.coalesce(F.col(nested_column), empty))
