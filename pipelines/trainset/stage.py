"""`a100m select` and `a100m export`: from the lake (at its committed snapshot) to a subset of
segments, split by video, and to the formats training and evaluation code reads.

Both write a folder outside the lake, whole or not at all (pipelines/trainset/output.py), with a
`manifest.json` recording the query, the lake's table versions (so `versionAsOf` reproduces the
rows) and the counts. See docs/trainset.md.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from pipelines.core.lake import read_table, table_path
from pipelines.trainset.formats import (
    CHARADES_DURATIONS,
    DEFAULT_FPS,
    DOCUMENTS,
    activitynet_lines,
    charades_lines,
    dense_caption_lines,
    hierarchy_lines,
    moment_detr_lines,
    steps_lines,
    write_document,
    write_flat,
)
from pipelines.trainset.options import (
    DEFAULT_FIELD,
    FORMATS,
    SEGMENT_COLUMNS,
    TEXT_FIELDS,
    Query,
    SelectionError,
    check_field,
    check_fps,
    check_id_prefix,
)
from pipelines.trainset.output import check_output, read_manifest, staged_output, write_manifest
from pipelines.trainset.select import HASH_HEX_DIGITS, read_snapshot, select_segments

TABLE_FORMATS = ("parquet", "delta")
SEGMENTS = "segments"
SPLIT_RULE = (
    f"split of a video: u = int(sha256(video_uid).hexdigest()[:{HASH_HEX_DIGITS}], 16) / "
    f"16**{HASH_HEX_DIGITS}; the first split, in the order given, whose cumulative fraction "
    "is above u"
)


@dataclass
class TrainsetResult:
    command: str
    out: str
    manifest: dict
    seconds: float = 0.0

    def summary(self) -> str:
        m = self.manifest
        versions = ", ".join(f"{t} v{v}" for t, v in sorted(m["versions"].items()))
        what = m["format"]
        head = f"{self.command} {what} of lake {m['lake']} ({versions}) in {self.seconds:.1f} s"
        rows = [head]
        unit = m["counts"]["unit"]
        for split, counts in m["counts"]["splits"].items():
            extra = "".join(f", {n:,} {k}" for k, n in counts.items() if k != unit)
            rows.append(f"  {split:<8} {counts[unit]:>10,} {unit}{extra}")
        if m["empty"]:
            rows.append("  the query matched nothing: the output is empty (see manifest.json)")
        rows.append(f"  wrote {self.out} (manifest.json beside it)")
        return "\n".join(rows)


def _manifest(command: str, fmt: str, lake: str, versions: dict, query: Query, **more) -> dict:
    return {
        "command": command,
        "created_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "format": fmt,
        "lake": table_path(lake, "").rstrip("/"),
        "versions": dict(sorted(versions.items())),
        "read_with": "spark.read.format('delta').option('versionAsOf', V).load(LAKE/TABLE)",
        "query": query.as_json(),
        "split_rule": SPLIT_RULE,
        **more,
    }


def _split_counts(frame: DataFrame, query: Query) -> dict[str, dict[str, int]]:
    found = {
        row["split"]: {"segments": int(row["segments"]), "videos": int(row["videos"])}
        for row in frame.groupBy("split")
        .agg(F.count("*").alias("segments"), F.countDistinct("video_uid").alias("videos"))
        .collect()
    }
    return {s: found.get(s, {"segments": 0, "videos": 0}) for s in query.split_names}


def select(
    spark: SparkSession,
    lake: str,
    query: Query,
    out: str,
    table_format: str = "parquet",
    overwrite: bool = False,
) -> TrainsetResult:
    """Write the segments that pass the query to OUT/segments, with OUT/manifest.json."""
    started = time.monotonic()
    if table_format not in TABLE_FORMATS:
        raise SelectionError.about("table_format", "give parquet or delta", table_format)
    target = check_output(out, lake, overwrite)
    versions = read_snapshot(spark, lake, query)
    segments = select_segments(spark, lake, query, versions)
    with staged_output(target) as stage:
        segments.write.format(table_format).save(str(stage / SEGMENTS))
        written = spark.read.format(table_format).load(str(stage / SEGMENTS))
        splits = _split_counts(written, query)
        total = sum(c["segments"] for c in splits.values())
        manifest = _manifest(
            "select",
            table_format,
            lake,
            versions,
            query,
            output={"path": SEGMENTS, "format": table_format, "columns": list(SEGMENT_COLUMNS)},
            counts={
                "unit": "segments",
                "segments": total,
                "videos": sum(c["videos"] for c in splits.values()),
                "splits": splits,
            },
            empty=total == 0,
        )
        write_manifest(stage, manifest)
    return TrainsetResult("select", str(target), manifest, time.monotonic() - started)


def _flat_fields(fields: str | None) -> list[str]:
    if not fields:
        return [c for c in SEGMENT_COLUMNS if c != "split"]
    names = [f.strip() for f in fields.split(",") if f.strip()]
    for name in names:
        check_field(name, SEGMENT_COLUMNS, "fields")
    return [n for n in dict.fromkeys(names) if n != "split"]


def export(
    spark: SparkSession,
    fmt: str,
    out: str,
    lake: str | None = None,
    query: Query | None = None,
    selection: str | None = None,
    label: str | None = None,
    fields: str | None = None,
    precision: int = 3,
    overwrite: bool = False,
    fps: float | None = None,
    id_prefix: str = "",
) -> TrainsetResult:
    """Export a selection (an `a100m select` folder) or the lake's segments that pass the query,
    one folder per split (Charades-STA: one file per split at the root), in the format asked
    for."""
    started = time.monotonic()
    if fmt not in FORMATS:
        raise SelectionError.about(
            "fmt", "unknown format; known: {known}", fmt, known=", ".join(FORMATS)
        )
    if not 0 <= precision <= 6:
        raise SelectionError.about("precision", "give 0 to 6 decimals", precision)
    check_id_prefix(id_prefix)
    if fps is not None and fmt != "activitynet":
        raise SelectionError.naming("{fps} is for {fmt=activitynet}, not {given}", given=fmt)
    fps = DEFAULT_FPS if fps is None else check_fps(fps)
    label = check_field(label or DEFAULT_FIELD.get(fmt, "action_brief"), TEXT_FIELDS, "label")
    flat = _flat_fields(fields)
    if selection is not None:
        if query is not None and query != Query(seed=query.seed):
            raise SelectionError.naming(
                "give {selection} or filters, not both: filter with a100m select"
            )
        source = read_manifest(selection)
        lake, versions = source["lake"], {t: int(v) for t, v in source["versions"].items()}
        query = Query.from_json(source["query"])
    else:
        if lake is None:
            raise SelectionError.naming("give {lake} or {selection}")
        query = query or Query()
    target = check_output(out, lake, overwrite)
    if selection is not None:
        folder = Path(selection).resolve() / source["output"]["path"]
        segments = spark.read.format(source["output"]["format"]).load(str(folder))
    else:
        versions = read_snapshot(spark, lake, query)
        segments = select_segments(spark, lake, query, versions)
    splits = query.split_names
    with staged_output(target) as stage:
        if fmt in DOCUMENTS:
            doc = DOCUMENTS[fmt]
            output = {"label": label, "precision": precision, "id_prefix": id_prefix}
            if fmt == "activitynet":
                lines = activitynet_lines(segments, label, precision, id_prefix, fps)
                counts = write_document(lines, ["video_uid"], doc, stage, splits, whole=True)
                output.update(file=doc.file, whole=doc.file, fps=fps)
            elif fmt == "charades-sta":
                lines, durations = charades_lines(segments, label, precision, id_prefix)
                order = ["video_uid", "start", "end", "node_id"]
                counts = write_document(lines, order, doc, stage, splits, root=True)
                write_document(
                    durations, ["video_uid"], CHARADES_DURATIONS, stage, splits, root=True
                )
                output.update(
                    files=[
                        d.file.format(split=s)
                        for s in splits
                        if counts[s]
                        for d in (doc, CHARADES_DURATIONS)
                    ]
                )
            else:
                if fmt == "dense-captions":
                    lines = dense_caption_lines(segments, label, precision, id_prefix)
                    order = ["video_uid"]
                elif fmt == "moment-detr":
                    lines = moment_detr_lines(segments, label, precision, id_prefix)
                    order = ["video_uid", "start", "end", "node_id"]
                elif fmt == "steps":
                    nodes = read_table(spark, lake, "nodes", versions["nodes"])
                    lines = steps_lines(segments, nodes, label, precision, id_prefix)
                    order = ["video_uid", "goal_start", "parent_id"]
                else:
                    lines, order = hierarchy_lines(segments, precision, id_prefix), ["video_uid"]
                counts = write_document(lines, order, doc, stage, splits)
                output["file"] = doc.file
            unit = doc.unit
        else:
            counts = write_flat(segments.select(*flat, "split"), fmt, stage, splits)
            unit, output = "segments", {"columns": flat, "times": "float32 as stored"}
        total = sum(counts.values())
        manifest = _manifest(
            "export",
            fmt,
            lake,
            versions,
            query,
            selection=str(Path(selection).resolve()) if selection else None,
            output={"folders": [] if fmt == "charades-sta" else list(splits), **output},
            counts={"unit": unit, unit: total, "splits": {s: {unit: n} for s, n in counts.items()}},
            empty=total == 0,
        )
        write_manifest(stage, manifest)
    return TrainsetResult("export", str(target), manifest, time.monotonic() - started)
