"""The selection: the lake's segments that pass a Query, with their split, as one DataFrame.

Everything is Spark's own functions (no Python UDF): the filters are column predicates, the
split is a SHA-256 of `video_uid`, deduplication is a window, sampling an order by a hash. The
lake is read at its committed snapshot (core/runs.py), and those versions go to the manifest.
"""

from __future__ import annotations

import json
from pathlib import Path

from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from pipelines.core.errors import MissingTableError
from pipelines.core.lake import read_table
from pipelines.core.runs import committed_snapshot
from pipelines.trainset.options import NO_SPLIT, SEGMENT_COLUMNS, Query, SelectionError

NA = "N/A"
HASH_HEX_DIGITS = 13  # 52 bits: exact in a double, so u = int(hex[:13], 16) / 16**13
YOUTUBE_URL = "https://www.youtube.com/watch?v="


def split_unit(video_uid: Column) -> Column:
    """A number in [0, 1) from the video id alone: the first 13 hex digits of SHA-256(id),
    over 16**13. Python: int(hashlib.sha256(uid.encode()).hexdigest()[:13], 16) / 16**13."""
    digits = F.substring(F.sha2(video_uid, 256), 1, HASH_HEX_DIGITS)
    return F.conv(digits, 16, 10).cast("double") / float(16**HASH_HEX_DIGITS)


def split_column(split: tuple[tuple[str, float], ...], video_uid: Column) -> Column:
    """The split of each video: the first whose cumulative fraction is above its unit."""
    if not split:
        return F.lit(NO_SPLIT)
    unit = split_unit(video_uid)
    result = None
    bound = 0.0
    for name, fraction in split[:-1]:
        bound += fraction
        result = F.when(unit < bound, name) if result is None else result.when(unit < bound, name)
    last = split[-1][0]
    return F.lit(last) if result is None else result.otherwise(last)


def normalised(text: Column) -> Column:
    """Brief action as compared by --dedup: lower case, runs of spaces as one, no end dot."""
    squeezed = F.regexp_replace(F.lower(F.trim(text)), r"\s+", " ")
    return F.regexp_replace(squeezed, r"[\s.!]+$", "")


def snapshot_tables(query: Query) -> tuple[str, ...]:
    return ("videos", "nodes", *(("actions",) if query.verbs else ()))


def read_snapshot(spark: SparkSession, lake: str, query: Query) -> dict[str, int]:
    """The committed version of every table the query reads; a missing one is refused."""
    versions = committed_snapshot(spark, lake, snapshot_tables(query))
    missing = [t for t, v in versions.items() if v is None]
    if missing:
        maker = "a100m stats" if missing == ["actions"] else "a100m explode"
        raise MissingTableError(lake, missing, maker)
    return {t: int(v) for t, v in versions.items() if v is not None}


def _video_ids(spark: SparkSession, path: str) -> DataFrame:
    local = Path(path)
    if "://" not in path and not local.is_file():
        raise SelectionError.about("videos_file", "no such file", path)
    ids = spark.read.text(path).select(F.trim("value").alias("video_uid"))
    return ids.where((F.col("video_uid") != "") & ~F.col("video_uid").startswith("#")).distinct()


def video_info(spark: SparkSession, lake: str, versions: dict[str, int]) -> DataFrame:
    """Per video: its duration for exports (the stated whole seconds, raised to the end of
    its tree when the tree runs past it, a quirk of the release) and transcript count."""
    roots = (
        read_table(spark, lake, "nodes", versions["nodes"])
        .where(F.col("level") == 0)
        .groupBy("video_uid")
        .agg(F.max(F.col("end").cast("double")).alias("tree_end"))
    )
    videos = read_table(spark, lake, "videos", versions["videos"]).select(
        "video_uid", "duration", "transcript_count"
    )
    return videos.join(roots, "video_uid", "left").select(
        "video_uid",
        "transcript_count",
        F.greatest(F.col("duration").cast("double"), F.col("tree_end")).alias("video_duration"),
    )


def select_segments(
    spark: SparkSession, lake: str, query: Query, versions: dict[str, int]
) -> DataFrame:
    """The segments (SEGMENT_COLUMNS) that pass every filter of the query."""
    nodes = read_table(spark, lake, "nodes", versions["nodes"])
    conditions: list[Column] = []
    if query.levels:
        conditions.append(F.col("level").isin(list(query.levels)))
    if query.leaves is not None:
        conditions.append(F.col("is_leaf") == F.lit(query.leaves))
    if query.min_duration is not None:
        conditions.append(F.col("duration") >= query.min_duration)
    if query.max_duration is not None:
        conditions.append(F.col("duration") <= query.max_duration)
    if query.actor is not None:
        conditions.append(F.lower("action_actor").contains(query.actor.lower()))
    if query.actor_regex is not None:
        conditions.append(F.col("action_actor").rlike(query.actor_regex))
    if query.exclude_na:
        conditions.append(F.coalesce(F.col("action_brief") != NA, F.lit(True)))
    for condition in conditions:
        nodes = nodes.where(condition)
    if query.verbs:
        actions = read_table(spark, lake, "actions", versions["actions"])
        verbs = actions.where(F.col("verb").isin(list(query.verbs))).select("video_uid", "node_id")
        nodes = nodes.join(verbs.distinct(), ["video_uid", "node_id"], "left_semi")
    if query.videos_file:
        nodes = nodes.join(_video_ids(spark, query.videos_file), "video_uid", "left_semi")
    info = video_info(spark, lake, versions)
    if query.with_transcript:
        info = info.where(F.col("transcript_count") > 0)
    segments = nodes.join(info, "video_uid").withColumn(
        "split", split_column(query.split, F.col("video_uid"))
    )
    if query.dedup:
        key = normalised(F.col("action_brief"))
        scope = [key] if query.dedup == "corpus" else [F.col("video_uid"), key]
        first = Window.partitionBy(*scope).orderBy("video_uid", "start", "level", "node_id")
        segments = (
            segments.withColumn("_rank", F.row_number().over(first))
            .where(key.isNull() | (F.col("_rank") == 1))
            .drop("_rank")
        )
    if query.sample is not None and query.resampled:
        # weighted sampling without replacement (Efraimidis-Spirakis): the N smallest
        # -ln(u) / weight, u in (0, 1) from a hash of the seed and the segment
        bits = F.pmod(F.xxhash64(F.lit(query.seed), "video_uid", "node_id"), F.lit(1 << 52))
        unit = (bits.cast("double") + 0.5) / float(1 << 52)
        weights = resample_weights(spark, query.resampled, versions)
        segments = segments.join(weights, ["video_uid", "node_id"])
        key = -F.log(unit) / F.col("weight")
        segments = segments.orderBy(key, "video_uid", "node_id").limit(query.sample)
    elif query.sample is not None:
        draw = F.xxhash64(F.lit(query.seed), "video_uid", "node_id")
        segments = segments.orderBy(draw, "video_uid", "node_id").limit(query.sample)
    return segments.select(*SEGMENT_COLUMNS)


def resample_weights(spark: SparkSession, folder: str, versions: dict[str, int]) -> DataFrame:
    """The weights of an `a100m resample` output, refused when made from another nodes version."""
    path = Path(folder).resolve()
    try:
        manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise SelectionError.about("resampled", "no readable manifest.json", folder) from None
    if manifest.get("command") != "resample":
        raise SelectionError.about("resampled", "not an `a100m resample` output", folder)
    made_from = manifest["versions"]["nodes"]
    if made_from != versions["nodes"]:
        raise SelectionError.about(
            "resampled",
            "made from nodes v{made}, the lake is at v{now}: run `a100m resample` again",
            folder,
            made=made_from,
            now=versions["nodes"],
        )
    return (
        spark.read.format("delta")
        .load(str(path / "weights"))
        .select("video_uid", "node_id", "weight")
    )
