"""The one place where every table contract of the project is written down (docs/tables.md).

The raw release schema is pyarrow's, in core/raw.py; Spark's copy is derived from it here. Every
published table's contract is a Spark schema below: the data tables, the quarantine and ingest
log, the validation history (dq_results), the statistics history (stats_*) and `actions`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from pyspark.sql import types as T
from pyspark.sql.pandas.types import from_arrow_schema, from_arrow_type

from pipelines.core.raw import NODE, RAW_ARROW_SCHEMA
from pipelines.core.tables import DURATION_BUCKETS

if TYPE_CHECKING:
    import pyarrow as pa

# ---------------------------------------------------------------------------------------------
# Raw rows, as Spark reads them
# ---------------------------------------------------------------------------------------------

RAW_SCHEMA: T.StructType = from_arrow_schema(RAW_ARROW_SCHEMA)
# from_arrow_type returns a StructType for NODE, a pyarrow struct; metadata is a struct whose
# transcript is a list
NODE_TYPE: T.StructType = cast(T.StructType, from_arrow_type(NODE))
TRANSCRIPT_TYPE: T.ArrayType = cast(
    T.ArrayType, cast(T.StructType, RAW_SCHEMA["metadata"].dataType)["transcript"].dataType
)

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
    # The explode run that wrote the row: each append's files hold one run, so a filter on it
    # skips every other run's files (incremental validation and statistics read only new runs).
    ("ingest_run_id", T.StringType(), False),
)

TRANSCRIPTS_SCHEMA = struct_schema(
    ("video_uid", T.StringType(), False),
    ("seq", T.IntegerType(), False),
    ("time", T.DoubleType(), True),
    # The source text ("32.16"), kept because a double does not give the same text back.
    ("time_text", T.StringType(), True),
    ("text", T.StringType(), True),
    ("ingest_run_id", T.StringType(), False),
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

# ---------------------------------------------------------------------------------------------
# Validation history: one row per expectation per validate run
# ---------------------------------------------------------------------------------------------

DQ_RESULTS_SCHEMA = T.StructType(
    [
        T.StructField("run_id", T.StringType(), False),
        T.StructField("validated_at", T.TimestampType(), False),
        T.StructField("suite", T.StringType(), False),
        T.StructField("asset", T.StringType(), False),
        T.StructField("table_name", T.StringType(), False),
        T.StructField("table_version", T.LongType(), True),
        T.StructField("check_id", T.StringType(), True),
        T.StructField("expectation", T.StringType(), False),
        T.StructField("column", T.StringType(), True),
        T.StructField("severity", T.StringType(), False),
        T.StructField("success", T.BooleanType(), False),
        T.StructField("observed_value", T.StringType(), True),
        T.StructField("element_count", T.LongType(), True),
        T.StructField("unexpected_count", T.LongType(), True),
        T.StructField("unexpected_percent", T.DoubleType(), True),
        T.StructField("examples", T.ArrayType(T.StringType()), True),
        # "run": what this run checked; "lake": the lake's figures as of this run, merged over
        # the runs since the last full validation (quality/scope.py); "anomaly": a metric of the
        # history that `a100m report` found out of its usual range (report/history.py), in these
        # same columns, so readers of "run" and "lake" rows never see it (docs/tables.md).
        T.StructField("scope", T.StringType(), False),
        T.StructField("mode", T.StringType(), False),  # full | incremental
        T.StructField("fingerprint", T.StringType(), False),  # the suites and rules checked
        T.StructField("ingest_runs", T.ArrayType(T.StringType()), True),  # "run" rows
        # What is left of element_count and unexpected_count once this run's quarantine moved
        # its videos out: the counts the lake's figures add up.
        T.StructField("kept_element_count", T.LongType(), True),
        T.StructField("kept_unexpected_count", T.LongType(), True),
    ]
)

# ---------------------------------------------------------------------------------------------
# Statistics history (stats_*) and the actions table
# ---------------------------------------------------------------------------------------------


PROVENANCE = (
    ("run_id", T.StringType(), False),
    ("computed_at", T.TimestampType(), False),
    ("videos_version", T.LongType(), True),  # null when the lake has no videos table
    ("nodes_version", T.LongType(), False),
)
_QUANTILE_FIELDS = tuple(
    (name, T.DoubleType(), True) for name in ("mean", "min", "p10", "p50", "p90", "max")
)

STATS_SUMMARY_SCHEMA = struct_schema(
    ("section", T.StringType(), False),
    ("name", T.StringType(), False),
    ("value", T.DoubleType(), True),
    ("unit", T.StringType(), False),
    ("paper_value", T.DoubleType(), True),
    *PROVENANCE,
)
STATS_LEVELS_SCHEMA = struct_schema(
    ("level", T.ShortType(), True),
    ("nodes", T.LongType(), False),
    ("leaves", T.LongType(), False),
    ("gpt_nodes", T.LongType(), False),
    ("actions", T.LongType(), False),
    ("videos", T.LongType(), False),  # videos with at least one node at this level
    *PROVENANCE,
)
STATS_DURATIONS_SCHEMA = struct_schema(
    ("scope", T.StringType(), False),  # "all" (level null) or "level"
    ("level", T.ShortType(), True),
    ("nodes", T.LongType(), False),  # nodes with a duration
    *_QUANTILE_FIELDS,
    ("hours", T.DoubleType(), True),
    *((f"bucket_{name}", T.LongType(), False) for name, _, _ in DURATION_BUCKETS),
    *PROVENANCE,
)
STATS_FIELDS_SCHEMA = struct_schema(
    ("field", T.StringType(), False),
    ("applies_to", T.StringType(), False),  # all, is_leaf or has_gpt
    ("nodes", T.LongType(), False),
    ("non_null", T.LongType(), False),
    ("coverage", T.DoubleType(), True),  # non_null / nodes
    ("applicable_nodes", T.LongType(), False),
    ("applicable_non_null", T.LongType(), False),
    ("applicable_coverage", T.DoubleType(), True),
    ("mean_words", T.DoubleType(), True),
    ("paper_mean_words", T.DoubleType(), True),
    *PROVENANCE,
)
STATS_VERBS_SCHEMA = struct_schema(
    ("rank", T.IntegerType(), False),
    ("verb", T.StringType(), False),
    ("actions", T.LongType(), False),
    ("share", T.DoubleType(), False),  # of all actions (an action without a verb counts too)
    *PROVENANCE,
)
STATS_VERB_OBJECTS_SCHEMA = struct_schema(
    ("verb_rank", T.IntegerType(), False),
    ("verb", T.StringType(), False),
    ("object_rank", T.IntegerType(), False),
    ("object", T.StringType(), False),
    ("actions", T.LongType(), False),
    ("share_of_verb", T.DoubleType(), False),  # of the verb's actions, with or without object
    *PROVENANCE,
)
STATS_ACTORS_SCHEMA = struct_schema(
    ("rank", T.IntegerType(), False),
    ("actor", T.StringType(), False),  # lowercased, white space collapsed
    ("actions", T.LongType(), False),
    ("share", T.DoubleType(), False),
    *PROVENANCE,
)
STATS_DUPLICATES_SCHEMA = struct_schema(
    ("rank", T.IntegerType(), False),
    ("action", T.StringType(), False),  # lowercased, white space collapsed
    ("members", T.LongType(), False),
    ("videos", T.LongType(), False),
    *PROVENANCE,
)

ACTIONS_SCHEMA = struct_schema(
    ("video_uid", T.StringType(), False),
    ("node_id", T.StringType(), True),
    ("action_brief", T.StringType(), False),
    ("verb", T.StringType(), True),
    ("object", T.StringType(), True),
    ("actor", T.StringType(), True),
    ("start", T.FloatType(), True),
    ("end", T.FloatType(), True),
    ("level", T.ShortType(), True),
    ("ingest_run_id", T.StringType(), False),  # kept per ingest run: a night replaces its own
    ("run_id", T.StringType(), False),
    ("nodes_version", T.LongType(), False),
    ("computed_at", T.TimestampType(), False),
)

# Mergeable statistics: one ingest run's aggregates, computed once from its own videos
# (docs/statistics.md). kind "totals", "videos" and "level" carry named exact numbers in
# `metrics` (counts and sums add up, names starting "min_"/"max_" take the min/max) and KLL
# sketches in `sketches`; "verb", "pair", "actor" and "action" are additive count rows.
STATS_PARTIALS_SCHEMA = struct_schema(
    ("ingest_run_id", T.StringType(), False),
    ("kind", T.StringType(), False),
    ("level", T.ShortType(), True),
    ("key", T.StringType(), True),
    ("key2", T.StringType(), True),
    ("count", T.LongType(), True),
    ("count2", T.LongType(), True),
    ("metrics", T.MapType(T.StringType(), T.DoubleType()), True),
    ("sketches", T.MapType(T.StringType(), T.BinaryType()), True),
    ("sketch_format", T.StringType(), True),
    ("run_id", T.StringType(), False),  # the stats run that computed it
    ("computed_at", T.TimestampType(), False),
    ("nodes_version", T.LongType(), False),
)

STATS_SCHEMAS: dict[str, T.StructType] = {
    "stats_summary": STATS_SUMMARY_SCHEMA,
    "stats_levels": STATS_LEVELS_SCHEMA,
    "stats_durations": STATS_DURATIONS_SCHEMA,
    "stats_fields": STATS_FIELDS_SCHEMA,
    "stats_verbs": STATS_VERBS_SCHEMA,
    "stats_verb_objects": STATS_VERB_OBJECTS_SCHEMA,
    "stats_actors": STATS_ACTORS_SCHEMA,
    "stats_duplicates": STATS_DUPLICATES_SCHEMA,
}
STATS_TABLES = (*STATS_SCHEMAS, "actions", "stats_partials")


# ---------------------------------------------------------------------------------------------
# The run journal, which also carries the lake's lease (docs/operations.md)
# ---------------------------------------------------------------------------------------------

JOURNAL_SCHEMA = T.StructType(
    [
        T.StructField("run_id", T.StringType(), False),
        T.StructField("stage", T.StringType(), False),
        T.StructField("command", T.StringType(), True),
        T.StructField("state", T.StringType(), False),
        T.StructField("host", T.StringType(), True),
        T.StructField("pid", T.LongType(), True),
        T.StructField("at", T.TimestampType(), False),
        # table -> version before the stage wrote (-1: the table did not exist)
        T.StructField("versions_before", T.MapType(T.StringType(), T.LongType()), True),
        # table -> version the stage committed (committed rows only)
        T.StructField("versions_committed", T.MapType(T.StringType(), T.LongType()), True),
        T.StructField("detail", T.StringType(), True),
        # Every commit to the journal is one step of the lake's lease: rows of stage "lease" take,
        # renew and give it back, and expires_at is when the holder's lease ends.
        T.StructField("epoch", T.LongType(), False),
        T.StructField("expires_at", T.TimestampType(), True),
    ]
)


def arrow_schema(schema: T.StructType) -> pa.Schema:
    """The contract as a pyarrow schema, nullability kept (delta-rs writes the journal with it)."""
    from pyspark.sql.pandas.types import to_arrow_schema

    return to_arrow_schema(schema)
