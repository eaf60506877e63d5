"""What a table looks like on disk: its files, sizes, clustering and properties (from
pipelines/core/layout.py, which the report shares), and how many files Spark opens to read one
video."""

from __future__ import annotations

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from pipelines.core.lake import table_path
from pipelines.core.layout import (
    CDF_PROPERTY,
    SMALL_FILE_BYTES,
    TableLayout,
    data_tables,
    format_bytes,
    table_layout,
)

# Re-exported: lakeops' modules, its benchmark and tests import these from here.
__all__ = [
    "CDF_PROPERTY",
    "CLUSTERED_TABLES",
    "CLUSTER_COLUMN",
    "SMALL_FILE_BYTES",
    "TableLayout",
    "data_tables",
    "files_read_for_video",
    "format_bytes",
    "table_layout",
]

# Tables read by video: clustered on video_uid by `optimize`.
CLUSTERED_TABLES = ("nodes", "transcripts", "actions")
CLUSTER_COLUMN = "video_uid"


def files_read_for_video(
    spark: SparkSession, lake: str, table: str, video_uid: str, version: int | None = None
) -> int:
    """How many data files Spark opens to read one video's rows (after data skipping)."""
    reader = spark.read.format("delta")
    if version is not None:
        reader = reader.option("versionAsOf", version)
    frame = reader.load(table_path(lake, table)).where(F.col(CLUSTER_COLUMN) == video_uid)
    return len(frame.inputFiles())
