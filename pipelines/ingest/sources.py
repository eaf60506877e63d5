"""Find the input files, check each one against the raw schema, and read them as one DataFrame.

Nothing is coerced: a file whose schema differs from the release schema in any field (missing,
extra or of another type) is refused with an error naming the file and the field path, and an
unreadable file is refused with an error naming the file.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import pyarrow as pa
import pyarrow.parquet as pq
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T
from pyspark.sql.pandas.types import from_arrow_schema, from_arrow_type

from pipelines.core import files
from pipelines.core.contracts import RAW_SCHEMA, SOURCE_FILE, SOURCE_ROW
from pipelines.core.errors import InputError, NoFileSystemError
from pipelines.core.raw import RAW_ARROW_SCHEMA

PARQUET = "parquet"
JSON = "json"


@dataclass(frozen=True)
class SourceFile:
    uri: str  # Hadoop Path.toString() (file:/..., s3a://...): the key of the ingest log
    kind: str  # PARQUET or JSON
    size_bytes: int
    modified_at: datetime

    @property
    def name(self) -> str:
        return self.uri.rstrip("/").rsplit("/", 1)[-1]

    @property
    def local_path(self) -> Path | None:
        parsed = urlparse(self.uri)
        return Path(unquote(parsed.path)) if parsed.scheme in ("", "file") else None


# ---------------------------------------------------------------------------------------------
# Finding the files
# ---------------------------------------------------------------------------------------------


def resolve_inputs(spark: SparkSession, inputs: list[str]) -> list[SourceFile]:
    """Expand files, folders (their *.parquet files, recursively) and globs, through Hadoop's
    FileSystem so that s3a://, hdfs:// and local paths behave alike. JSON files are taken only
    when named (or globbed) explicitly."""
    found: dict[str, SourceFile] = {}
    problems: list[str] = []
    for given in inputs:
        try:
            statuses = files.glob(spark, given)
        except NoFileSystemError as exc:
            problems.append(str(exc))
            continue
        if not statuses:
            problems.append(f"{given}: no such file, folder or matching glob")
            continue
        for status in statuses:
            if status.is_dir:
                matched = _parquet_files_under(spark, status)
                if not matched:
                    problems.append(f"{given}: folder holds no *.parquet file")
                for child in matched:
                    found.setdefault(child.uri, _source(child, PARQUET))
            else:
                kind = _kind_of(status.name)
                if kind is None:
                    problems.append(f"{given}: not a .parquet or .json file")
                    continue
                found.setdefault(status.uri, _source(status, kind))
    if problems:
        raise InputError(problems)
    return sorted(found.values(), key=lambda s: s.uri)


def _parquet_files_under(spark: SparkSession, folder: files.FileStatus) -> list[files.FileStatus]:
    base = folder.uri.rstrip("/")
    matched = []
    for status in files.list_files(spark, folder.uri):
        # Spark and Delta keep bookkeeping in _x and .x files; they are not inputs.
        relative_parts = status.uri[len(base) :].strip("/").split("/")
        hidden = any(part.startswith(("_", ".")) for part in relative_parts)
        if not hidden and status.name.endswith(".parquet"):
            matched.append(status)
    return matched


def _kind_of(name: str) -> str | None:
    if name.endswith(".parquet"):
        return PARQUET
    if name.endswith(".json"):
        return JSON
    return None


def _source(status: files.FileStatus, kind: str) -> SourceFile:
    return SourceFile(
        uri=status.uri, kind=kind, size_bytes=status.size_bytes, modified_at=status.modified_at
    )


# ---------------------------------------------------------------------------------------------
# Checking each file against the raw schema
# ---------------------------------------------------------------------------------------------


def schema_problems(expected: T.DataType, found: T.DataType, path: str = "") -> list[str]:
    """Every difference between two Spark types, as 'field.path: what is wrong'."""
    if isinstance(expected, T.StructType) and isinstance(found, T.StructType):
        problems = []
        found_fields = {f.name: f for f in found.fields}
        for field in expected.fields:
            child = f"{path}.{field.name}" if path else field.name
            if field.name not in found_fields:
                problems.append(
                    f"{child}: missing field (expected {field.dataType.simpleString()})"
                )
            else:
                problems += schema_problems(
                    field.dataType, found_fields[field.name].dataType, child
                )
        expected_names = {f.name for f in expected.fields}
        for field in found.fields:
            if field.name not in expected_names:
                child = f"{path}.{field.name}" if path else field.name
                problems.append(f"{child}: unexpected field ({field.dataType.simpleString()})")
        return problems
    if isinstance(expected, T.ArrayType) and isinstance(found, T.ArrayType):
        return schema_problems(expected.elementType, found.elementType, f"{path}.element")
    if type(expected) is not type(found):
        return [f"{path}: expected {expected.simpleString()}, found {found.simpleString()}"]
    return []


def check_parquet(source: SourceFile, spark: SparkSession) -> list[str]:
    """Problems of one Parquet file: unreadable footer or a schema that is not the release's."""
    try:
        found = _parquet_schema(source, spark)
    except Exception as exc:  # any failure to read the footer means the file is unusable
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return [f"{source.uri}: unreadable Parquet file ({reason})"]
    return [f"{p} in {source.name}" for p in schema_problems(RAW_SCHEMA, found)]


def _parquet_schema(source: SourceFile, spark: SparkSession) -> T.StructType:
    local = source.local_path
    if local is not None:
        arrow_schema = pq.read_schema(local)
        try:
            return from_arrow_schema(arrow_schema)
        except Exception:
            # A type Spark cannot read at all: report it field by field in arrow's words.
            return _arrow_schema_best_effort(arrow_schema)
    return spark.read.parquet(source.uri).schema


def _arrow_schema_best_effort(schema: pa.Schema) -> T.StructType:
    fields = []
    for field in schema:
        try:
            dtype = from_arrow_type(field.type)
        except Exception:
            dtype = _UnreadableType(str(field.type))
        fields.append(T.StructField(field.name, dtype, True))
    return T.StructType(fields)


class _UnreadableType(T.DataType):
    def __init__(self, name: str):
        self._name = name

    def simpleString(self) -> str:  # noqa: N802 (Spark's name)
        return self._name


def read_json_rows(source: SourceFile) -> pa.Table:
    """Read the sample's to_pydict JSON form ({column: [value per row]}) as an Arrow table,
    checking every value against the raw schema first so that nothing is coerced."""
    local = source.local_path
    if local is None:
        raise InputError([f"{source.uri}: JSON inputs are read from local paths only"])
    try:
        data = json.loads(local.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError([f"{source.uri}: unreadable JSON file ({exc})"]) from exc
    if not isinstance(data, dict):
        raise InputError([f"{source.uri}: expected an object of columns, found {_py_type(data)}"])

    problems = []
    for name in RAW_ARROW_SCHEMA.names:
        if name not in data:
            problems.append(f"{name}: missing field in {source.name}")
        elif not isinstance(data[name], list):
            problems.append(f"{name}: expected a list of values, found {_py_type(data[name])}")
    problems += [
        f"{n}: unexpected field in {source.name}" for n in data if n not in RAW_ARROW_SCHEMA.names
    ]
    if not problems:
        lengths = {len(data[n]) for n in RAW_ARROW_SCHEMA.names}
        if len(lengths) > 1:
            problems.append(f"{source.uri}: columns have different lengths {sorted(lengths)}")
    if not problems:
        for name in RAW_ARROW_SCHEMA.names:
            arrow_type = RAW_ARROW_SCHEMA.field(name).type
            for row, value in enumerate(data[name]):
                problems += [
                    f"{p} in {source.name} (record {row})"
                    for p in _value_problems(value, arrow_type, name)
                ]
    if problems:
        raise InputError(problems)
    return pa.Table.from_pydict(
        {n: data[n] for n in RAW_ARROW_SCHEMA.names}, schema=RAW_ARROW_SCHEMA
    )


FLOAT32_MAX = 3.4028234663852886e38

_INT_RANGES = {
    pa.int16(): (-(2**15), 2**15 - 1),
    pa.int32(): (-(2**31), 2**31 - 1),
    pa.int64(): (-(2**63), 2**63 - 1),
}


def _value_problems(value: Any, arrow_type: pa.DataType, path: str) -> list[str]:
    if value is None:
        return []
    expected = _type_name(arrow_type)
    if pa.types.is_struct(arrow_type):
        if not isinstance(value, dict):
            return [f"{path}: expected {expected}, found {_py_type(value)}"]
        problems = []
        names = [arrow_type.field(i).name for i in range(arrow_type.num_fields)]
        for i, name in enumerate(names):
            if name not in value:
                problems.append(f"{path}.{name}: missing field")
            else:
                problems += _value_problems(value[name], arrow_type.field(i).type, f"{path}.{name}")
        problems += [f"{path}.{k}: unexpected field" for k in value if k not in names]
        return problems
    if pa.types.is_list(arrow_type):
        if not isinstance(value, list):
            return [f"{path}: expected {expected}, found {_py_type(value)}"]
        problems = []
        for item in value:
            problems += _value_problems(item, arrow_type.value_type, f"{path}.element")
            if problems:
                break  # one bad element names the field well enough
        return problems
    if pa.types.is_string(arrow_type):
        ok = isinstance(value, str)
    elif pa.types.is_integer(arrow_type):
        low, high = _INT_RANGES[arrow_type]
        ok = isinstance(value, int) and not isinstance(value, bool) and low <= value <= high
    elif pa.types.is_floating(arrow_type):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        if ok and arrow_type == pa.float32() and math.isfinite(value) and abs(value) > FLOAT32_MAX:
            # float32 would store it as infinity: refused, since nothing may be coerced
            return [f"{path}: {value!r:.40} is too large for float"]
    else:  # the raw schema holds no other type
        ok = False
    return [] if ok else [f"{path}: expected {expected}, found {_py_type(value)} {value!r:.40}"]


def _type_name(arrow_type: pa.DataType) -> str:
    return from_arrow_type(arrow_type).simpleString()


def _py_type(value: Any) -> str:
    return {
        str: "string",
        int: "bigint",
        float: "double",
        bool: "boolean",
        dict: "struct",
        list: "array",
    }.get(type(value), type(value).__name__)


def check_sources(spark: SparkSession, sources: list[SourceFile]) -> None:
    """Raise InputError listing every Parquet file that is unreadable or off-schema."""
    problems: list[str] = []
    for source in sources:
        if source.kind == PARQUET:
            problems += check_parquet(source, spark)
    if problems:
        raise InputError(problems)


# ---------------------------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------------------------


def read_raw(spark: SparkSession, sources: list[SourceFile]) -> DataFrame:
    """All raw rows of the given (already checked) files, with source_file and source_row."""
    frames: list[DataFrame] = []
    parquet = [s.uri for s in sources if s.kind == PARQUET]
    if parquet:
        frames.append(
            spark.read.schema(RAW_SCHEMA)
            .parquet(*parquet)
            .select(
                *RAW_SCHEMA.names,
                *_provenance(F.col("_metadata.file_path"), F.col("_metadata.row_index")),
            )
        )
    for source in sources:
        if source.kind == JSON:
            table = read_json_rows(source)
            rows = spark.createDataFrame(table)
            positions = F.monotonically_increasing_id()  # one partition: 0..n-1 in order
            frames.append(
                rows.coalesce(1).select(
                    *RAW_SCHEMA.names, *_provenance(F.lit(source.uri), positions)
                )
            )
    if not frames:
        return spark.createDataFrame([], empty_raw_schema())
    result = frames[0]
    for frame in frames[1:]:
        result = result.unionByName(frame)
    return result


def _spark_file_path() -> Column:
    """The file a row came from, spelt as Hadoop's Path.toString() (SourceFile.uri).

    Spark URL-encodes _metadata.file_path ("a b" -> "a%20b") but leaves "+" alone, which
    url_decode would read as a space; protect it first.
    """
    return F.url_decode(F.replace(F.col("_metadata.file_path"), F.lit("+"), F.lit("%2B")))


def _provenance(file: Column, row: Column) -> list[Column]:
    return [file.cast("string").alias(SOURCE_FILE), row.cast("long").alias(SOURCE_ROW)]


def empty_raw_schema() -> T.StructType:
    return T.StructType(
        [
            *RAW_SCHEMA.fields,
            T.StructField(SOURCE_FILE, T.StringType()),
            T.StructField(SOURCE_ROW, T.LongType()),
        ]
    )


_FAILED_READ = re.compile(r"Encountered error while reading file (\S+?)\.?\s+SQLSTATE")
_CAUSED_BY = re.compile(r"^Caused by: (?:[\w.$]+\.)?(\w+(?:Exception|Error)): (.*)$", re.MULTILINE)


def unreadable_file_error(exc: BaseException) -> InputError | None:
    """An InputError naming the file, when a Spark failure was a file that could not be read."""
    text = str(exc)
    match = _FAILED_READ.search(text)
    if match is None:
        return None
    causes = _CAUSED_BY.findall(text)
    reason = f"{causes[-1][0]}: {causes[-1][1]}" if causes else "read failed"
    return InputError([f"{match.group(1)}: unreadable Parquet data ({reason.strip()})"])
