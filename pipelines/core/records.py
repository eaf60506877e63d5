"""Raw records and the quarantine: flat rows nested back into release rows, quarantine rows and
reason counts. Shared by the ingest (records it refuses) and validation (videos it moves out).

Every function here is DataFrame -> DataFrame (or an aggregate) and uses Spark's own functions.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from pipelines.core.contracts import (
    NODE_TYPE,
    RAW_SCHEMA,
    SOURCE_FILE,
    SOURCE_ROW,
    TRANSCRIPT_TYPE,
)


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


def quarantine_table_rows(
    rows: DataFrame,
    table: str,
    record_type: str,
    reasons: DataFrame,
    run_id: str,
    quarantined_at: Column,
) -> DataFrame:
    """Flat rows of one table (no videos row to nest them into) as quarantine rows: each row
    kept whole as JSON, its reasons joined from `reasons` (video_uid, reason_codes,
    reason_detail), its source named as the lake table it was found in."""
    node_id = F.col("node_id") if "node_id" in rows.columns else F.lit(None).cast("string")
    return rows.join(reasons, "video_uid").select(
        F.lit(run_id).alias("run_id"),
        quarantined_at.alias("quarantined_at"),
        F.lit(f"lake:{table}").alias(SOURCE_FILE),
        F.lit(None).cast("long").alias(SOURCE_ROW),
        F.lit(record_type).alias("record_type"),
        "video_uid",
        node_id.alias("node_id"),
        "reason_codes",
        "reason_detail",
        F.to_json(F.struct(*[F.col(c) for c in rows.columns])).alias("raw_record"),
    )
