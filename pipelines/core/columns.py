"""Column helpers and constants shared by more than one stage (docs/data.md, docs/checks.md)."""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from pipelines.core.raw import NOT_AVAILABLE

# Seconds. float32 holds a time near 1.5 h to about 0.0005 s; boundaries shared by siblings are
# the same float32 value, so anything above this is a real gap, overlap or overhang.
TIME_TOLERANCE = 1e-3


def is_not_available_exact(text: Column) -> Column:
    """The release's own "N/A" marker, compared exactly: the checks hold the data to the
    convention, so " N/A" is a deviation, not a marker. Null is not "N/A"."""
    return F.coalesce(text == NOT_AVAILABLE, F.lit(False))


def is_not_available(text: Column) -> Column:
    """ "N/A" as a reader sees it (white space around it ignored): what the statistics count.
    Null is not "N/A"."""
    return F.coalesce(F.trim(text) == NOT_AVAILABLE, F.lit(False))


def conform(df: DataFrame, schema: T.StructType) -> DataFrame:
    """Select exactly the contract's columns, in its order, with its types."""
    return df.select(*[F.col(f.name).cast(f.dataType).alias(f.name) for f in schema.fields])
