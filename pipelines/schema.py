"""The one place where every schema of the project is written down.

The raw schema is the Action100M release schema (DESIGN.md section 2), as pyarrow types; Spark's
copy is derived from it. The published tables' contracts (DESIGN.md section 4) are Spark schemas.
"""

from __future__ import annotations

import pyarrow as pa
from pyspark.sql import types as T
from pyspark.sql.pandas.types import from_arrow_schema

# ---------------------------------------------------------------------------------------------
# Raw rows, exactly as released
# ---------------------------------------------------------------------------------------------

TRANSCRIPT_LINE = pa.struct([("time", pa.string()), ("text", pa.string())])

METADATA = pa.struct(
    [
        ("title", pa.string()),
        ("description", pa.string()),
        ("view_count", pa.int64()),
        ("like_count", pa.int64()),
        ("duration", pa.int64()),
        ("upload_date", pa.string()),
        ("transcript", pa.list_(TRANSCRIPT_LINE)),
    ]
)

GPT = pa.struct(
    [
        ("summary", pa.struct([("brief", pa.string()), ("detailed", pa.string())])),
        (
            "action",
            pa.struct([("brief", pa.string()), ("detailed", pa.string()), ("actor", pa.string())]),
        ),
    ]
)

NODE = pa.struct(
    [
        ("node_id", pa.string()),
        ("parent_id", pa.string()),
        ("level", pa.int16()),
        ("start", pa.float32()),
        ("end", pa.float32()),
        ("plm_action", pa.string()),
        ("plm_caption", pa.string()),
        ("llama3_caption", pa.string()),
        ("gpt", GPT),
    ]
)

RAW_ARROW_SCHEMA = pa.schema(
    [("video_uid", pa.string()), ("metadata", METADATA), ("nodes", pa.list_(NODE))]
)

RAW_SCHEMA: T.StructType = from_arrow_schema(RAW_ARROW_SCHEMA)

# Columns that tell where a raw record came from; added at read time, never part of the input.
SOURCE_FILE = "source_file"
SOURCE_ROW = "source_row"

# ---------------------------------------------------------------------------------------------
# Published tables
# ---------------------------------------------------------------------------------------------


def struct_schema(*fields: tuple[str, T.DataType, bool]) -> T.StructType:
    """A StructType from (name, type, nullable) triples."""
    return T.StructType([T.StructField(name, dtype, nullable) for name, dtype, nullable in fields])


VIDEOS_SCHEMA = struct_schema(
    ("video_uid", T.StringType(), False),
    ("title", T.StringType(), True),
    ("description", T.StringType(), True),
    ("view_count", T.LongType(), True),
    ("like_count", T.LongType(), True),
    ("duration", T.LongType(), True),
    ("upload_date", T.DateType(), True),
    # The source text, kept so that a date that does not parse is not lost.
    ("upload_date_text", T.StringType(), True),
    # Null when the source list itself is null (as opposed to empty).
    ("transcript_count", T.IntegerType(), True),
    ("node_count", T.IntegerType(), True),
    ("max_level", T.ShortType(), True),
    ("has_metadata", T.BooleanType(), False),
    ("source_file", T.StringType(), False),
    ("source_row", T.LongType(), False),
    ("ingest_run_id", T.StringType(), False),
    ("ingested_at", T.TimestampType(), False),
)

NODES_SCHEMA = struct_schema(
    ("video_uid", T.StringType(), False),
    # Position in the source list: keeps the stored order, so the rows nest back exactly.
    ("seq", T.IntegerType(), False),
    ("node_id", T.StringType(), True),
    ("parent_id", T.StringType(), True),
    ("level", T.ShortType(), True),
    ("start", T.FloatType(), True),
    ("end", T.FloatType(), True),
    ("duration", T.DoubleType(), True),
    ("is_leaf", T.BooleanType(), False),
    ("child_count", T.IntegerType(), False),
    ("plm_action", T.StringType(), True),
    ("plm_caption", T.StringType(), True),
    ("llama3_caption", T.StringType(), True),
    ("has_gpt", T.BooleanType(), False),
    ("summary_brief", T.StringType(), True),
    ("summary_detailed", T.StringType(), True),
    ("action_brief", T.StringType(), True),
    ("action_detailed", T.StringType(), True),
    ("action_actor", T.StringType(), True),
    # gpt.summary / gpt.action can be null inside a present gpt; kept so nesting back is exact.
    ("has_gpt_summary", T.BooleanType(), False),
    ("has_gpt_action", T.BooleanType(), False),
)

TRANSCRIPTS_SCHEMA = struct_schema(
    ("video_uid", T.StringType(), False),
    ("seq", T.IntegerType(), False),
    ("time", T.DoubleType(), True),
    # The source text ("32.16"), kept because a double does not give the same text back.
    ("time_text", T.StringType(), True),
    ("text", T.StringType(), True),
)

QUARANTINE_SCHEMA = struct_schema(
    ("run_id", T.StringType(), False),
    ("quarantined_at", T.TimestampType(), False),
    ("source_file", T.StringType(), False),
    ("source_row", T.LongType(), True),
    ("record_type", T.StringType(), False),
    ("video_uid", T.StringType(), True),
    ("node_id", T.StringType(), True),
    ("reason_codes", T.ArrayType(T.StringType(), False), False),
    ("reason_detail", T.StringType(), True),
    # The whole raw record as JSON, so that nothing rejected is lost.
    ("raw_record", T.StringType(), True),
)

INGEST_LOG_SCHEMA = struct_schema(
    ("source_file", T.StringType(), False),
    ("size_bytes", T.LongType(), False),
    ("modified_at", T.TimestampType(), True),
    ("run_id", T.StringType(), False),
    ("ingested_at", T.TimestampType(), False),
    ("rows_read", T.LongType(), False),
    ("videos_written", T.LongType(), False),
    ("videos_quarantined", T.LongType(), False),
)

TABLE_SCHEMAS: dict[str, T.StructType] = {
    "videos": VIDEOS_SCHEMA,
    "nodes": NODES_SCHEMA,
    "transcripts": TRANSCRIPTS_SCHEMA,
    "quarantine": QUARANTINE_SCHEMA,
    "ingest_log": INGEST_LOG_SCHEMA,
}

TABLE_KEYS: dict[str, tuple[str, ...]] = {
    "videos": ("video_uid",),
    "nodes": ("video_uid", "node_id"),
    "transcripts": ("video_uid", "seq"),
}
