"""What a table looks like on disk: its files, sizes, clustering and properties, and how many
files Spark opens to read one video."""

from __future__ import annotations

from dataclasses import dataclass, field

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from pipelines.core.lake import table_path
from pipelines.core.runs import lake_tables

# Tables read by video: clustered on video_uid by `optimize`.
CLUSTERED_TABLES = ("nodes", "transcripts", "actions")
CLUSTER_COLUMN = "video_uid"
CDF_PROPERTY = "delta.enableChangeDataFeed"
# A file under this size counts as small (OPTIMIZE's own minimum is 1 GB; our tables' files
# after compaction are tens to hundreds of MB).
SMALL_FILE_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class TableLayout:
    table: str
    files: int
    bytes: int
    clustering: tuple[str, ...] = ()
    properties: dict[str, str] = field(default_factory=dict)

    @property
    def cdf(self) -> bool:
        return self.properties.get(CDF_PROPERTY, "false").lower() == "true"


def data_tables(spark: SparkSession, lake: str) -> list[str]:
    """The lake's tables without the journal and other internal ones (names starting with _)."""
    return [t for t in lake_tables(spark, lake) if not t.startswith("_")]


def table_layout(spark: SparkSession, lake: str, table: str) -> TableLayout:
    detail = spark.sql(f"DESCRIBE DETAIL delta.`{table_path(lake, table)}`").first()
    return TableLayout(
        table=table,
        files=int(detail["numFiles"] or 0),
        bytes=int(detail["sizeInBytes"] or 0),
        clustering=tuple(detail["clusteringColumns"] or ()),
        properties=dict(detail["properties"] or {}),
    )


def files_read_for_video(
    spark: SparkSession, lake: str, table: str, video_uid: str, version: int | None = None
) -> int:
    """How many data files Spark opens to read one video's rows (after data skipping)."""
    reader = spark.read.format("delta")
    if version is not None:
        reader = reader.option("versionAsOf", version)
    frame = reader.load(table_path(lake, table)).where(F.col(CLUSTER_COLUMN) == video_uid)
    return len(frame.inputFiles())


def format_bytes(size: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TB"
