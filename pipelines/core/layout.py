"""What a lake table looks like on disk: its files, bytes, clustering and properties at its
latest version, and the sizes of the files of any version. Shared by `a100m optimize`
(pipelines/lakeops/) and the scheduled report (pipelines/report/), which may not import each
other."""

from __future__ import annotations

from dataclasses import dataclass, field

from pyspark.sql import SparkSession

from pipelines.core import files
from pipelines.core.lake import table_path
from pipelines.core.runs import lake_tables

CDF_PROPERTY = "delta.enableChangeDataFeed"
# A file under this size counts as small (OPTIMIZE's own minimum is 1 GB; our tables' files
# after compaction are tens to hundreds of MB).
SMALL_FILE_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class TableLayout:
    """One table's files as of one version."""

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
    """The table's files, size, clustering and properties at its latest version."""
    detail = spark.sql(f"DESCRIBE DETAIL delta.`{table_path(lake, table)}`").first()
    assert detail is not None  # DESCRIBE DETAIL returns one row (or raises: no such table)
    return TableLayout(
        table=table,
        files=int(detail["numFiles"] or 0),
        bytes=int(detail["sizeInBytes"] or 0),
        clustering=tuple(detail["clusteringColumns"] or ()),
        properties=dict(detail["properties"] or {}),
    )


def file_sizes(spark: SparkSession, lake: str, table: str, version: int) -> list[int]:
    """The size of every data file the table's version reads (DESCRIBE DETAIL knows only the
    latest version): the files from the version's Delta log, no data read, sized on disk."""
    data_files = (
        spark.read.format("delta")
        .option("versionAsOf", version)
        .load(table_path(lake, table))
        .inputFiles()
    )
    return files.sizes(spark, list(data_files))


def format_bytes(size: float) -> str:
    """A size for people: B, KB, MB or GB (powers of 1024)."""
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TB"
