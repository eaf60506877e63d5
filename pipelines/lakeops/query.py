"""`a100m sql`: one query against the lake, printed as a table, CSV or JSON lines.

Without a catalog, each table is a temporary view over its committed snapshot (the version the
last committed stage left: core/journal.py), with the `segments` and `actions_with_steps` views
over those; a half-landed run is never seen. With a catalog database the same views shadow the
registered tables, which answer when named `db.table` (their latest version). A table can also
be read by path: delta.`/path/to/lake/nodes`.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TextIO

from pyspark.errors import AnalysisException, ParseException
from pyspark.sql import SparkSession

from pipelines.core.errors import A100mError, OptionText, UsageError, python_option
from pipelines.core.lake import write_text_atomic
from pipelines.core.runs import committed_snapshot
from pipelines.lakeops.catalog import register_catalog, register_snapshot_views
from pipelines.lakeops.layout import data_tables

FORMATS = ("table", "csv", "json")
MAX_CELL = 60


class QueryError(A100mError):
    """A query Spark refused (it does not parse, names an unknown column or table): exit 1."""


def error_line(exc: BaseException) -> str:
    """Spark's analyzer or parser message on one line: its condition and what it names."""
    text = str(exc).strip()
    first = text.splitlines()[0] if text else type(exc).__name__
    # "...cannot be resolved. Did you mean one of the following? [...]. SQLSTATE: 42703; line 1
    # pos 7;" : the plan that follows the first line is left out
    return first.rstrip(";").strip()[:500]


@dataclass
class QueryResult:
    columns: list[str]
    rows: int
    truncated: bool
    out: str | None


def run_sql(
    spark: SparkSession,
    lake: str,
    query: str,
    fmt: str = "table",
    out: str | None = None,
    catalog_db: str | None = None,
    max_rows: int = 100,
    stream: TextIO | None = None,
    option_text: OptionText = python_option,
) -> QueryResult:
    if fmt not in FORMATS:
        raise UsageError.about("fmt", "not one of {known}", fmt, known=", ".join(FORMATS))
    if not query.strip():
        raise UsageError("give the SQL query to run, in quotes")
    if catalog_db:
        register_catalog(spark, lake, catalog_db)
        spark.catalog.setCurrentDatabase(catalog_db)
    # Temporary views shadow the catalog's tables of the same name: unqualified names read the
    # committed snapshot even with a catalog, and `db.table` the catalog's latest version.
    tables = data_tables(spark, lake)
    register_snapshot_views(spark, lake, committed_snapshot(spark, lake, tables))
    try:
        frame = spark.sql(query)
        columns = frame.columns
        limit = max_rows if fmt == "table" else None
        rows = frame.limit(limit + 1).collect() if limit is not None else frame.toLocalIterator()
        buffer = io.StringIO() if out else None
        target = buffer or stream or sys.stdout
        count, truncated = _write(target, fmt, columns, rows, limit, option_text)
    except (AnalysisException, ParseException) as exc:
        raise QueryError(error_line(exc)) from exc
    if buffer is not None and out:
        write_text_atomic(out, buffer.getvalue())
    return QueryResult(columns, count, truncated, out)


def _write(
    target: TextIO,
    fmt: str,
    columns: list[str],
    rows: Iterable,
    limit: int | None,
    option_text: OptionText,
) -> tuple[int, bool]:
    if fmt == "csv":
        writer = csv.writer(target, lineterminator="\n")
        writer.writerow(columns)
        count = 0
        for row in rows:
            writer.writerow(["" if v is None else _text(v) for v in row])
            count += 1
        return count, False
    if fmt == "json":
        count = 0
        for row in rows:
            target.write(json.dumps(row.asDict(recursive=True), default=str) + "\n")
            count += 1
        return count, False
    rows = list(rows)
    truncated = limit is not None and len(rows) > limit
    shown = rows[:limit] if truncated else rows
    target.write(format_table(columns, shown))
    footer = f"({len(shown)} row{'s' if len(shown) != 1 else ''}"
    more = f"; first {limit} shown, use {option_text('max_rows', None)})\n"
    target.write(footer + (more if truncated else ")\n"))
    return len(shown), truncated


def _text(value) -> str:
    if isinstance(value, list | dict | tuple):
        return json.dumps(value, default=str)
    if hasattr(value, "asDict"):
        return json.dumps(value.asDict(recursive=True), default=str)
    return str(value)


def _cell(value) -> str:
    text = "NULL" if value is None else _text(value).replace("\n", " ")
    return text if len(text) <= MAX_CELL else text[: MAX_CELL - 3] + "..."


def format_table(columns: list[str], rows: list) -> str:
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]

    def line(values: Iterator[str] | list[str]) -> str:
        return " | ".join(v.ljust(w) for v, w in zip(values, widths, strict=True)).rstrip() + "\n"

    rule = "-+-".join("-" * w for w in widths) + "\n"
    return line(columns) + rule + "".join(line(r) for r in cells)
