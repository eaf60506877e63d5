"""The export formats: each turns the selection into one line of text per item, built by Spark
from its own functions (to_json, arrays, a level-by-level join for the nested trees).

Spark writes the lines as part files, ordered and partitioned by split; `write_document` then
streams each split's parts in order into the one document the format needs (a JSON object for
ActivityNet and dense captions, a text or JSON Lines file for the others), one line in memory at
a time. `jsonl` and `parquet` are Spark's own part files, one folder per split.

One rule for empty splits, in every format: a split with nothing in it gets no file (its folder,
where the format has split folders, is there and empty), so that readers globbing a folder (HF
`datasets`, 2D-TAN, ActionFormer) never meet a 0-byte or header-only file. The manifest counts 0.

Times are the stored float32 values, widened to double exactly and rounded only here, to
`precision` decimals (default 3: a millisecond); `jsonl` and `parquet` keep the float32 itself.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from pyspark import StorageLevel
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from pipelines.trainset.options import NO_SPLIT
from pipelines.trainset.output import part_files, stream_lines
from pipelines.trainset.select import YOUTUBE_URL

# ActivityNet's own subset names, for the usual split names; any other name is kept as it is.
# Without --split every video is in "validation": the subset the ActivityNet evaluator scores by
# default and the one ActionFormer's and OpenTAD's ActivityNet configs evaluate.
ACTIVITYNET_SUBSETS = {
    "train": "training",
    "val": "validation",
    "test": "testing",
    NO_SPLIT: "validation",
}
# The corpus has no frame rate; ActionFormer-style loaders need one per video (or a default in
# their config) to map seconds to feature frames. 30 is a nominal value, set by --fps.
DEFAULT_FPS = 30.0


@dataclass(frozen=True)
class Document:
    """How one split's lines become its file."""

    file: str
    head: str
    sep: str
    tail: str
    unit: str  # what one line is


DOCUMENTS = {
    "activitynet": Document(
        "activitynet.json",
        '{"version": "VERSION 1.3", "taxonomy": [], "database": {\n',
        ",\n",
        "\n}}\n",
        "videos",
    ),
    "dense-captions": Document("dense_captions.json", "{\n", ",\n", "\n}\n", "videos"),
    # 2D-TAN's names, in one data folder (its DATA_DIR): charades_sta_{split}.txt and the
    # durations Charades_v1_{split}.csv (id,length) it reads beside them
    "charades-sta": Document("charades_sta_{split}.txt", "", "\n", "\n", "segments"),
    "steps": Document("steps.jsonl", "", "\n", "\n", "sequences"),
    "hierarchy": Document("hierarchy.jsonl", "", "\n", "\n", "videos"),
    # QVHighlights / Moment-DETR / lighthouse: one query (a segment's sentence) per line
    "moment-detr": Document("moment_detr.jsonl", "", "\n", "\n", "queries"),
}
CHARADES_DURATIONS = Document("Charades_v1_{split}.csv", "id,length\n", "\n", "\n", "videos")
# the formats written as files at the output's root (a reader's data folder), not per split
ROOT_FORMATS = ("charades-sta",)


def seconds(column: str, precision: int) -> Column:
    """A stored float32 time as a double rounded to `precision` decimals, for output only."""
    return F.round(F.col(column).cast("double"), precision)


def _keyed(key: Column, value: Column) -> Column:
    """`"key": {value as JSON}`: one member of a JSON object, escaped by to_json itself."""
    whole = F.to_json(F.create_map(key, value))
    return whole.substr(F.lit(2), F.length(whole) - F.lit(2))


def _labelled(segments: DataFrame, field: str) -> DataFrame:
    label = F.col(field)
    return segments.where(label.isNotNull() & (F.trim(label) != ""))


def _vid(prefix: str) -> Column:
    """The video id as the format writes it: --id-prefix (e.g. `v_`) before the YouTube id."""
    return F.concat(F.lit(prefix), F.col("video_uid")) if prefix else F.col("video_uid")


def covering(duration: Column, end: Column) -> Column:
    """A video's duration for an export: its stated one (already raised to its tree's end), or
    its latest exported segment end if later, so no reader clips or drops a segment."""
    return F.greatest(duration, F.max(end.cast("double")))


def _per_video(segments: DataFrame, field: str, precision: int, with_id: bool = False):
    """One row per labelled video: its segments in time order, as (s, e, label[, id, level])."""
    item = F.struct(
        seconds("start", precision).alias("s"),
        seconds("end", precision).alias("e"),
        F.col(field).alias("label"),
        *([F.col("label_id").alias("id"), F.col("level")] if with_id else []),
    )
    return (
        _labelled(segments, field)
        .groupBy("split", "video_uid")
        .agg(
            F.array_sort(F.collect_list(item)).alias("items"),
            covering(F.max("video_duration"), F.col("end")).alias("video_duration"),
        )
    )


def label_ids(segments: DataFrame, field: str) -> DataFrame:
    """Dense class ids 0..n-1 for the distinct labels of the whole selection (every split), in
    label order: what ActionFormer-style loaders read as `label_id`. Numbered by zipWithIndex,
    distributed; Python touches the distinct labels only."""
    labels = _labelled(segments, field).select(field).distinct()
    numbered = labels.orderBy(field).rdd.zipWithIndex().map(lambda pair: (pair[0][0], pair[1]))
    return numbered.toDF(f"`{field}` string, label_id long")


def subset_name(split: Column) -> Column:
    """ActivityNet's subset name of a split (training / validation / testing, else its name)."""
    subsets = F.create_map(*(F.lit(x) for kv in ACTIVITYNET_SUBSETS.items() for x in kv))
    return F.coalesce(F.element_at(subsets, split), split)


def activitynet_lines(
    segments: DataFrame, field: str, precision: int, prefix: str = "", fps: float = DEFAULT_FPS
) -> DataFrame:
    with_ids = segments.join(label_ids(segments, field), field)
    videos = _per_video(with_ids, field, precision, with_id=True)
    entry = F.struct(
        subset_name(F.col("split")).alias("subset"),
        F.round("video_duration", precision).alias("duration"),
        F.lit(float(fps)).alias("fps"),
        F.concat(F.lit(YOUTUBE_URL), "video_uid").alias("url"),
        F.transform(
            "items",
            lambda x: F.struct(
                F.array(x["s"], x["e"]).alias("segment"),
                x["label"].alias("label"),
                x["id"].alias("label_id"),
                x["level"].alias("level"),  # extra key, ignored by readers: per-level scores
            ),
        ).alias("annotations"),
    )
    return videos.select("split", "video_uid", _keyed(_vid(prefix), entry).alias("line"))


def dense_caption_lines(
    segments: DataFrame, field: str, precision: int, prefix: str = ""
) -> DataFrame:
    videos = _per_video(segments, field, precision)
    entry = F.struct(
        F.round("video_duration", precision).alias("duration"),
        F.transform("items", lambda x: F.array(x["s"], x["e"])).alias("timestamps"),
        F.transform("items", lambda x: x["label"]).alias("sentences"),
    )
    return videos.select("split", "video_uid", _keyed(_vid(prefix), entry).alias("line"))


def _sentence(field: str) -> Column:
    """A label on one line: tabs and line breaks become spaces, and `##` (Charades-STA's
    separator, which its readers split on) a single `#`; other characters (U+202F, U+2011,
    curly quotes) are kept as the release has them."""
    one_line = F.regexp_replace(F.col(field), r"[\t\r\n ]+", " ")
    return F.trim(F.regexp_replace(one_line, "#{2,}", "#"))


def charades_lines(
    segments: DataFrame, field: str, precision: int, prefix: str = ""
) -> tuple[DataFrame, DataFrame]:
    """The annotation lines (one per segment) and the durations lines (`id,length`, one per
    video, covering every exported segment's end)."""
    labelled = _labelled(segments, field)
    line = F.concat(
        F.concat_ws(
            " ",
            _vid(prefix),
            seconds("start", precision).cast("string"),
            seconds("end", precision).cast("string"),
        ),
        F.lit("##"),
        _sentence(field),
    )
    lines = labelled.select("split", "video_uid", "start", "end", "node_id", line.alias("line"))
    videos = labelled.groupBy("split", "video_uid").agg(
        covering(F.max("video_duration"), F.col("end")).alias("length")
    )
    durations = videos.select(
        "split",
        "video_uid",
        F.concat_ws(",", _vid(prefix), F.round("length", precision).cast("string")).alias("line"),
    )
    return lines, durations


def moment_detr_lines(
    segments: DataFrame, field: str, precision: int, prefix: str = ""
) -> DataFrame:
    """QVHighlights JSON Lines: one query per labelled segment, `{"qid", "query", "vid",
    "duration", "relevant_windows": [[start, end]]}`, with the segment's `node_id` and `level`.
    The qid is a number from the video and node ids alone (the first 15 hex digits of
    sha256("video_uid/node_id")), so it is the same in every export of that segment."""
    labelled = _labelled(segments, field)
    qid = F.conv(
        F.substring(F.sha2(F.concat_ws("/", "video_uid", "node_id"), 256), 1, 15), 16, 10
    ).cast("long")
    lengths = labelled.groupBy("video_uid").agg(
        covering(F.max("video_duration"), F.col("end")).alias("length")
    )
    line = F.to_json(
        F.struct(
            qid.alias("qid"),
            _sentence(field).alias("query"),
            _vid(prefix).alias("vid"),
            F.round("length", precision).alias("duration"),
            F.array(F.array(seconds("start", precision), seconds("end", precision))).alias(
                "relevant_windows"
            ),
            F.col("node_id"),
            F.col("level"),
        )
    )
    return labelled.join(lengths, "video_uid").select(
        "split", "video_uid", "start", "end", "node_id", line.alias("line")
    )


def steps_lines(
    segments: DataFrame, nodes: DataFrame, field: str, precision: int, prefix: str = ""
) -> DataFrame:
    """Each parent's selected children in time order (two or more), with the parent's brief
    summary as the goal; the parent is read from the lake at the selection's version."""
    step = F.struct(
        seconds("start", precision).alias("start"),
        seconds("end", precision).alias("end"),
        F.col("node_id"),
        F.col(field).alias("step"),
    )
    groups = (
        _labelled(segments, field)
        .where(F.col("parent_id").isNotNull())
        .groupBy("split", "video_uid", "parent_id")
        .agg(F.array_sort(F.collect_list(step)).alias("steps"))
        .where(F.size("steps") >= 2)
    )
    parents = nodes.select(
        "video_uid",
        F.col("node_id").alias("parent_id"),
        F.col("level").alias("goal_level"),
        seconds("start", precision).alias("goal_start"),
        seconds("end", precision).alias("goal_end"),
        F.col("summary_brief").alias("goal"),
        F.col("action_brief").alias("goal_action"),
    )
    joined = groups.join(parents, ["video_uid", "parent_id"])
    line = F.to_json(
        F.struct(
            _vid(prefix).alias("video_id"),
            "split",
            F.col("parent_id").alias("goal_id"),
            "goal",
            "goal_action",
            "goal_level",
            "goal_start",
            "goal_end",
            "steps",
        )
    )
    return joined.select("split", "video_uid", "goal_start", "parent_id", line.alias("line"))


def _own_json(precision: int) -> Column:
    """A node's own fields as JSON (null fields left out), before its children are spliced in."""
    return F.to_json(
        F.struct(
            "node_id",
            "level",
            seconds("start", precision).alias("start"),
            seconds("end", precision).alias("end"),
            F.col("summary_brief").alias("summary"),
            F.col("action_brief").alias("action"),
            F.col("action_actor").alias("actor"),
            F.col("llama3_caption").alias("caption"),
        )
    )


def hierarchy_lines(segments: DataFrame, precision: int, prefix: str = "") -> DataFrame:
    """One JSON document per video: the selected nodes nested by parent (goal -> step ->
    substep), built from the deepest level up, one join per level; a selected node whose
    parent is not selected is a top entry of its video.

    The selection is read once into a slim frame (ids, level, start, own JSON), materialised
    on the executors' disks; each level is then materialised once too, so a level's join reads
    the level below, not its plan, and the lake is not scanned again per level."""
    base = segments.select(
        "video_uid", "node_id", "parent_id", "level", "start", _own_json(precision).alias("own")
    ).localCheckpoint(storageLevel=StorageLevel.DISK_ONLY)
    bounds = base.agg(F.min("level"), F.max("level")).first()
    if bounds[0] is None:
        return segments.sparkSession.createDataFrame(
            [], "split string, video_uid string, line string"
        )
    pending = None
    tops: list[DataFrame] = []
    for level in range(int(bounds[1]), int(bounds[0]) - 1, -1):
        here = base.where(F.col("level") == level)
        json = F.col("own")
        if pending is not None:
            kids = pending.groupBy("video_uid", F.col("parent_id").alias("node_id")).agg(
                F.array_sort(F.collect_list(F.struct("start", "node_id", "json"))).alias("kids")
            )
            keys = here.select("video_uid", F.col("node_id").alias("parent_id"))
            tops.append(pending.join(keys, ["video_uid", "parent_id"], "left_anti"))
            here = here.join(kids, ["video_uid", "node_id"], "left")
            spliced = F.concat(
                F.expr("substring(own, 1, length(own) - 1)"),
                F.lit(',"children":['),
                F.array_join(F.transform("kids", lambda k: k["json"]), ","),
                F.lit("]}"),
            )
            json = F.when(F.col("kids").isNull(), F.col("own")).otherwise(spliced)
        pending = here.select(
            "video_uid", "parent_id", "start", "node_id", json.alias("json")
        ).localCheckpoint(storageLevel=StorageLevel.DISK_ONLY)
    tops.append(pending)
    top = tops[0]
    for more in tops[1:]:
        top = top.unionByName(more)
    per_video = top.groupBy("video_uid").agg(
        F.array_sort(F.collect_list(F.struct("start", "node_id", "json"))).alias("tops")
    )
    videos = segments.select("split", "video_uid", "video_duration").distinct()
    head = F.to_json(
        F.struct(
            _vid(prefix).alias("video_id"),
            "split",
            F.round("video_duration", precision).alias("duration"),
        )
    )
    line = F.concat(
        F.expr("substring(_head, 1, length(_head) - 1)"),
        F.lit(',"nodes":['),
        F.array_join(F.transform("tops", lambda k: k["json"]), ","),
        F.lit("]}"),
    )
    return (
        per_video.join(videos, "video_uid")
        .withColumn("_head", head)
        .select("split", "video_uid", line.alias("line"))
    )


def _write_parts(lines: DataFrame, order: list[str], parts: Path) -> None:
    (
        lines.orderBy("split", *order)
        .select("split", "line")
        .write.partitionBy("split")
        .text(str(parts))
    )


def _split_parts(parts: Path, split: str) -> list[Path]:
    source = parts / f"split={split}"
    return part_files(source) if source.is_dir() else []


def _stream(files: list[Path], out: Path, doc: Document, keep_empty: bool = False) -> int:
    """Stream the part files into one document; an empty one is not left behind (the one
    empty-split rule) unless keep_empty."""
    count = stream_lines(files, out, doc.head, doc.sep, doc.tail)
    if not count and not keep_empty:
        out.unlink()
    return count


def write_document(
    lines: DataFrame,
    order: list[str],
    doc: Document,
    stage: Path,
    splits,
    whole: bool = False,
    root: bool = False,
    name: str = "_parts",
) -> dict:
    """Write the lines as part files by split (Spark, in parallel), then stream each split's
    parts in order into its document: `SPLIT/FILE`, or `FILE` named after the split at the
    root (root); with whole, also every split's lines in one document at the root (ActivityNet's
    one file of every subset). Returns the lines per split."""
    parts = stage / name
    _write_parts(lines, order, parts)
    counts = {}
    for split in splits:
        if root:
            out = stage / doc.file.format(split=split)
        else:
            (stage / split).mkdir(parents=True, exist_ok=True)
            out = stage / split / doc.file
        counts[split] = _stream(_split_parts(parts, split), out, doc)
    if whole:
        files = [f for split in splits for f in _split_parts(parts, split)]
        _stream(files, stage / doc.file, doc, keep_empty=True)
    shutil.rmtree(parts)
    return counts


def write_flat(frame: DataFrame, fmt: str, stage: Path, splits) -> dict:
    """jsonl / parquet: Spark's part files, one folder per split; returns the rows per split."""
    parts = stage / "_parts"
    writer = frame.write.partitionBy("split").format("json" if fmt == "jsonl" else "parquet")
    writer.option("ignoreNullFields", "false").save(str(parts))
    spark = frame.sparkSession
    counts = {}
    for split in splits:
        source = parts / f"split={split}"
        if source.is_dir():
            source.rename(stage / split)
            reader = spark.read.schema(frame.drop("split").schema)
            counts[split] = (
                reader.format("json" if fmt == "jsonl" else "parquet")
                .load(str(stage / split))
                .count()
            )
        else:
            (stage / split).mkdir()
            counts[split] = 0
    shutil.rmtree(parts)
    return counts
