"""Hand-built raw rows in the release schema, for tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.core.raw import RAW_ARROW_SCHEMA


def node(
    node_id: str,
    parent_id: str | None,
    level: int,
    start: float,
    end: float,
    *,
    gpt: bool = False,
    leaf: bool = False,
    action: str = "stir the mixture",
    actor: str = "person",
) -> dict[str, Any]:
    return {
        "node_id": node_id,
        "parent_id": parent_id,
        "level": level,
        "start": start,
        "end": end,
        "plm_action": f"plm action {node_id}",
        "plm_caption": f"plm caption {node_id}",
        "llama3_caption": f"llama caption {node_id}" if leaf else None,
        "gpt": {
            "summary": {"brief": f"summary {node_id}", "detailed": f"detailed summary {node_id}"},
            "action": {"brief": action, "detailed": f"detailed {action}", "actor": actor},
        }
        if gpt
        else None,
    }


def small_tree_video(video_uid: str = "vid00000001", duration: int = 10) -> dict[str, Any]:
    """A 10 s video: root r splits at 6 into a and b; a splits at 2.5 into a1 and a2.

    r (0-10, gpt), a (0-6, gpt), b (6-10, leaf), a1 (0-2.5, leaf), a2 (2.5-6, leaf).
    """
    return {
        "video_uid": video_uid,
        "metadata": {
            "title": "Making soup",
            "description": "A short soup video",
            "view_count": 1200,
            "like_count": 34,
            "duration": duration,
            "upload_date": "20200131",
            "transcript": [
                {"time": "0.5", "text": "hello"},
                {"time": "3.25", "text": "now we stir"},
            ],
        },
        "nodes": [
            node("r", None, 0, 0.0, 10.0, gpt=True, action="Cook soup"),
            node("a", "r", 1, 0.0, 6.0, gpt=True, action="Cutting onions"),
            node("b", "r", 1, 6.0, 10.0, leaf=True),
            node("a1", "a", 2, 0.0, 2.5, leaf=True),
            node("a2", "a", 2, 2.5, 6.0, leaf=True),
        ],
    }


def raw_table(rows: list[dict[str, Any]], schema: pa.Schema = RAW_ARROW_SCHEMA) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=schema)


def write_raw(path: Path, rows: list[dict[str, Any]], schema: pa.Schema = RAW_ARROW_SCHEMA) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(raw_table(rows, schema), path)
    return path


def columns_and_types(schema_or_df) -> list[tuple[str, str]]:
    """Column names and types, ignoring nullability (Delta enforces that at write time)."""
    schema = getattr(schema_or_df, "schema", schema_or_df)

    def strip(dtype):
        from pyspark.sql import types as T

        if isinstance(dtype, T.StructType):
            return T.StructType(
                [T.StructField(f.name, strip(f.dataType), True) for f in dtype.fields]
            )
        if isinstance(dtype, T.ArrayType):
            return T.ArrayType(strip(dtype.elementType), True)
        return dtype

    return [(f.name, strip(f.dataType).simpleString()) for f in schema.fields]


_VERBS = ("cut", "stir", "pour", "hold", "mix", "slice", "add", "wipe", "fold", "press")
_OBJECTS = ("the onion", "the dough", "the sauce", "the board", "the bowl", "the pan", "the lid")


def big_tree_video(video_uid: str, node_count: int = 6001, duration: int = 3600) -> dict[str, Any]:
    """A long video whose binary tree has node_count nodes (odd), split breadth first at
    deterministic points on the 0.01 s grid; gpt on internal nodes of 4 s or more, llama3 on
    leaves, as in the release."""
    assert node_count % 2 == 1, "a binary tree has an odd number of nodes"
    spans: list[tuple[str, str | None, int, float, float]] = [("n0", None, 0, 0.0, float(duration))]
    children: dict[str, int] = {}
    queue, state = [0], 12345
    while len(spans) < node_count:
        i = queue.pop(0)
        node_id, _, level, start, end = spans[i]
        state = (state * 1103515245 + 12345) % 2**31
        cut = round(start + (end - start) * (0.3 + 0.4 * state / 2**31), 2)
        for s, e in ((start, cut), (cut, end)):
            queue.append(len(spans))
            spans.append((f"n{len(spans)}", node_id, level + 1, s, e))
        children[node_id] = 2
    rows = []
    for k, (node_id, parent_id, level, start, end) in enumerate(spans):
        leaf = node_id not in children
        action = f"{_VERBS[k % len(_VERBS)]} {_OBJECTS[k % len(_OBJECTS)]}"
        rows.append(
            node(
                node_id,
                parent_id,
                level,
                start,
                end,
                gpt=not leaf and end - start >= 4.0,
                leaf=leaf,
                action=action.capitalize(),
            )
        )
    video = small_tree_video(video_uid, duration)
    video["metadata"]["title"] = f"A long video of {node_count} segments"
    video["metadata"]["transcript"] = [
        {"time": f"{t:.2f}", "text": f"line at {t:.0f} seconds"} for t in range(0, duration, 30)
    ]
    video["nodes"] = rows
    return video


def commit_newer_protocol(table: Path, version: int) -> None:
    """Commit, as version of the Delta table, a protocol asking for a reader feature no Delta
    Lake knows: the table of a newer Delta that every reader and writer must refuse."""
    future = {
        "protocol": {
            "minReaderVersion": 3,
            "minWriterVersion": 7,
            "readerFeatures": ["aFeatureFromTheFuture"],
            "writerFeatures": ["aFeatureFromTheFuture"],
        }
    }
    (table / "_delta_log" / f"{version:020d}.json").write_text(json.dumps(future) + "\n")
