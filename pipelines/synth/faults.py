"""Faults: which video gets which row fault, the injectors, and the broken files.

``fault_plan(seed, videos, shards)`` picks the videos; ``inject`` breaks one video of a row group
with one kind's injector; ``write_file_faults`` writes the file-level kinds. ``BROKEN_RULES`` says
which validation rules each row kind breaks. The kinds are described in ``pipelines.synth``.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.core.errors import UsageError
from pipelines.core.raw import GPT_MIN_SECONDS, NODE, NOT_AVAILABLE, RAW_ARROW_SCHEMA
from pipelines.synth.lexicon import shared_lexicon
from pipelines.synth.streams import BAD, PLAN, stream
from pipelines.synth.trees import NEAR_GPT, gpt_array, uuid_text, videos_table

ROW_FAULT_KINDS: tuple[str, ...] = (
    "duplicate_node_id",
    "orphan_parent",
    "second_root",
    "missing_root",
    "child_outside_parent",
    "sibling_gap",
    "sibling_overlap",
    "level_jump",
    "end_not_after_start",
    "negative_start",
    "gpt_on_short_node",
    "gpt_on_leaf",
    "leaf_without_llama3",
    "inconsistent_na",
    "duplicate_video_across_shards",
)
FILE_FAULT_KINDS: tuple[str, ...] = (
    "wrong_type",
    "missing_column",
    "extra_column",
    "truncated_file",
    "empty_file",
)
FAULT_KINDS: tuple[str, ...] = ROW_FAULT_KINDS + FILE_FAULT_KINDS

DUPLICATE_VIDEO = "duplicate_video_across_shards"

# What one injection of each row kind makes each validation rule flag (the rule names are the
# validator's checks; docs/data.md). A count is rows flagged per injection; "affected" means
# len(affected_nodes) of the manifest entry. DUPLICATE_VIDEO is absent: it breaks no row rule, the
# copy is refused at ingest with the reason ``duplicate_video``.
BROKEN_RULES: dict[str, dict[str, int | str]] = {
    "duplicate_node_id": {"node_key_unique": 2},
    "orphan_parent": {"parent_exists": 1},
    "second_root": {"one_root": 1},
    "missing_root": {"one_root": 1, "parent_exists": 2},
    "child_outside_parent": {"inside_parent": 1, "tiles_parent": 1},
    "sibling_gap": {"tiles_parent": 1},
    "sibling_overlap": {"tiles_parent": 1},
    "level_jump": {"level_is_parent_plus_one": 1},
    # the leaf ends where it starts, so its sibling no longer starts where it ends
    "end_not_after_start": {"end_after_start": 1, "tiles_parent": 1},
    "negative_start": {"start_non_negative": "affected", "root_starts_at_zero": 1},
    "gpt_on_short_node": {"gpt_iff_internal_4s": 1},
    "gpt_on_leaf": {"gpt_iff_internal_4s": 1},
    "leaf_without_llama3": {"llama3_iff_leaf": 1},
    "inconsistent_na": {"na_coupling": 1},
}


# =============================================================================================
# The plan
# =============================================================================================


@dataclass(frozen=True)
class _Planned:
    """One row fault to inject: into video ``video`` (a global index); for a duplicate, ``video``
    is the original and ``target`` the shard whose file gets the copy."""

    kind: str
    video: int
    target: int = -1


@dataclass(frozen=True)
class Plan:
    faults: tuple[_Planned, ...]
    reserved: frozenset[int]  # every planned video: a fallback never lands on one


def shard_bounds(videos: int, shards: int) -> list[int]:
    """Shard k holds the videos bounds[k] up to bounds[k + 1]."""
    return [k * videos // shards for k in range(shards + 1)]


def shard_of(bounds: list[int], video: int) -> int:
    return int(np.searchsorted(bounds, video, side="right")) - 1


def min_fault_videos() -> int:
    """The smallest corpus ``faults=True`` accepts: room for every fault and its fallbacks."""
    return 2 * 3 * len(ROW_FAULT_KINDS)


def fault_plan(seed: int, videos: int, shards: int) -> Plan:
    """Which video gets which fault: a function of (seed, videos, shards) only."""
    if videos < min_fault_videos():
        raise UsageError(f"faults need at least {min_fault_videos()} videos, got {videos}")
    rng = stream(PLAN, seed, videos, shards)
    counts = [int(rng.integers(2, 4)) for _ in ROW_FAULT_KINDS]
    picks = iter(rng.choice(videos, size=sum(counts), replace=False).tolist())
    bounds = shard_bounds(videos, shards)
    faults = []
    for kind, count in zip(ROW_FAULT_KINDS, counts, strict=True):
        for _ in range(count):
            video = next(picks)
            target = (shard_of(bounds, video) + 1) % shards if kind == DUPLICATE_VIDEO else -1
            faults.append(_Planned(kind, video, target))
    faults.sort(key=lambda f: f.video)
    return Plan(tuple(faults), frozenset(f.video for f in faults))


# =============================================================================================
# Injectors
# =============================================================================================


class _Tree:
    """Parent / child lookups over one video's node dicts."""

    def __init__(self, nodes: list[dict]) -> None:
        self.nodes = nodes
        self.index = {n["node_id"]: i for i, n in enumerate(nodes)}
        kids: dict[str, list[int]] = defaultdict(list)
        for i, n in enumerate(nodes):
            if n["parent_id"] is not None:
                kids[n["parent_id"]].append(i)
        self.kids = {p: sorted(c, key=lambda i: nodes[i]["start"]) for p, c in kids.items()}
        self.root = next(i for i, n in enumerate(nodes) if n["parent_id"] is None)
        self.leaves = [i for i, n in enumerate(nodes) if n["node_id"] not in self.kids]
        self.internal = [i for i, n in enumerate(nodes) if n["node_id"] in self.kids]

    def id(self, i: int) -> str:
        return self.nodes[i]["node_id"]

    def parent(self, i: int) -> int | None:
        return self.index.get(self.nodes[i]["parent_id"])

    def children(self, i: int) -> list[int]:
        return self.kids.get(self.id(i), [])

    def position(self, i: int) -> int:
        """0 for a first child, 1 for a second child, -1 for the root."""
        p = self.parent(i)
        return -1 if p is None else self.children(p).index(i)

    def sibling(self, i: int) -> int:
        a, b = self.children(self.parent(i))
        return b if a == i else a

    def duration(self, i: int) -> float:
        return float(np.float64(self.nodes[i]["end"]) - np.float64(self.nodes[i]["start"]))

    def where(self, i: int) -> str:
        n = self.nodes[i]
        return f"level {n['level']}, {n['start']:.2f}-{n['end']:.2f} s"


def _f32(x: float) -> float:
    """x as the float32 the file will hold (Python floats read from float32 are exact already)."""
    return float(np.float32(x))


def _pick(rng: np.random.Generator, candidates: list[int]) -> int | None:
    return candidates[int(rng.integers(len(candidates)))] if candidates else None


def _fresh_gpt(rng: np.random.Generator) -> dict:
    """A gpt struct with text of its own, as a Python dict."""
    gpt = gpt_array(rng, np.array([shared_lexicon().vlog]), np.array([True])).to_pylist()[0]
    if gpt["action"]["brief"] == NOT_AVAILABLE:  # an "N/A" action would break a second rule
        detailed = gpt["summary"]["brief"]
        gpt["action"] = {"brief": "Hold up product", "detailed": detailed, "actor": "the host"}
    return gpt


# Each injector edits one video's node list in place and returns (node_id, affected node ids,
# detail), or None when the video has no node the fault fits (the caller then moves on).
_Injected = tuple[str | None, list[str], str] | None


def _duplicate_node_id(t: _Tree, rng: np.random.Generator) -> _Injected:
    a = _pick(rng, t.leaves)
    if a is None:
        return None
    b = _pick(rng, [b for b in t.leaves if t.parent(b) != t.parent(a)])
    if b is None:
        return None
    dup = t.id(b)
    t.nodes[a]["node_id"] = dup
    return dup, [dup], f"leaf at {t.where(a)} took the node_id of the leaf at {t.where(b)}"


def _orphan_parent(t: _Tree, rng: np.random.Generator) -> _Injected:
    a = _pick(rng, t.leaves)
    if a is None:
        return None
    row = dict(t.nodes[a], node_id=uuid_text(rng), parent_id=uuid_text(rng))
    t.nodes.insert(a + 1, row)
    detail = f"extra leaf at {t.where(a)}; its parent_id {row['parent_id']} names no node"
    return row["node_id"], [row["node_id"]], detail


def _second_root(t: _Tree, rng: np.random.Generator) -> _Injected:
    leaf = t.nodes[_pick(rng, t.leaves)]
    root = t.nodes[t.root]
    row = dict(leaf, node_id=uuid_text(rng), parent_id=None, level=0)
    row.update(start=root["start"], end=root["end"], gpt=None)
    t.nodes.insert(t.root + 1, row)
    return row["node_id"], [row["node_id"]], "extra level-0 row with a null parent_id (a leaf)"


def _missing_root(t: _Tree, rng: np.random.Generator) -> _Injected:
    root = t.id(t.root)
    orphans = [t.id(i) for i in t.children(t.root)]
    del t.nodes[t.root]
    return root, orphans, "root row removed; its two children's parent_id now dangles"


def _child_outside_parent(t: _Tree, rng: np.random.Generator) -> _Injected:
    def fits(i: int) -> bool:
        p = t.parent(i)
        return t.position(i) == 1 and p is not None and t.position(p) == 0

    c = _pick(rng, [i for i in t.leaves if fits(i)])
    if c is None:
        return None
    p = t.parent(c)
    delta = round(min(1.0, t.duration(t.sibling(p)) / 2), 2)
    t.nodes[c]["end"] = _f32(t.nodes[p]["end"] + delta)
    detail = f"leaf ends {delta:.2f} s after its parent ({t.where(p)}); the parent's tiling breaks"
    return t.id(c), [t.id(c)], detail


def _sibling_gap(t: _Tree, rng: np.random.Generator) -> _Injected:
    c = _pick(rng, [i for i in t.leaves if t.position(i) == 1 and t.duration(i) >= 0.1])
    if c is None:
        return None
    delta = round(min(0.5, t.duration(c) / 3), 2)
    t.nodes[c]["start"] = _f32(t.nodes[c]["start"] + delta)
    return t.id(c), [t.id(c)], f"second child starts {delta:.2f} s after its sibling ends"


def _sibling_overlap(t: _Tree, rng: np.random.Generator) -> _Injected:
    def fits(i: int) -> bool:
        return t.position(i) == 1 and t.duration(t.sibling(i)) >= 0.1

    c = _pick(rng, [i for i in t.leaves if fits(i)])
    if c is None:
        return None
    delta = round(min(0.5, t.duration(t.sibling(c)) / 3), 2)
    t.nodes[c]["start"] = _f32(t.nodes[c]["start"] - delta)
    return t.id(c), [t.id(c)], f"second child starts {delta:.2f} s before its sibling ends"


def _level_jump(t: _Tree, rng: np.random.Generator) -> _Injected:
    c = _pick(rng, [i for i in t.leaves if i != t.root])
    if c is None:
        return None
    t.nodes[c]["level"] += 1
    return t.id(c), [t.id(c)], f"leaf at {t.where(c)}: level is its parent's level + 2"


def _end_not_after_start(t: _Tree, rng: np.random.Generator) -> _Injected:
    c = _pick(rng, [i for i in t.leaves if t.position(i) == 0])
    if c is None:
        return None
    t.nodes[c]["end"] = t.nodes[c]["start"]
    detail = "first-child leaf with end == start; its sibling now starts after it ends"
    return t.id(c), [t.id(c)], detail


_NEGATIVE_START = -0.25


def _negative_start(t: _Tree, rng: np.random.Generator) -> _Injected:
    spine = [t.root]
    while t.children(spine[-1]):
        spine.append(t.children(spine[-1])[0])
    for i in spine[:-1]:  # internal nodes must not cross (or come near) the gpt threshold
        d, longer = t.duration(i), t.duration(i) - _NEGATIVE_START
        if d < GPT_MIN_SECONDS <= longer + NEAR_GPT or abs(longer - GPT_MIN_SECONDS) < NEAR_GPT:
            return None
    for i in spine:
        t.nodes[i]["start"] = _NEGATIVE_START
    ids = [t.id(i) for i in spine]
    return ids[0], ids, f"the left spine ({len(spine)} nodes) starts at {_NEGATIVE_START} s"


def _gpt_on_short_node(t: _Tree, rng: np.random.Generator) -> _Injected:
    c = _pick(rng, [i for i in t.internal if t.duration(i) < GPT_MIN_SECONDS])
    if c is None:
        return None
    t.nodes[c]["gpt"] = _fresh_gpt(rng)
    return t.id(c), [t.id(c)], f"internal node at {t.where(c)} carries gpt"


def _gpt_on_leaf(t: _Tree, rng: np.random.Generator) -> _Injected:
    c = _pick(rng, t.leaves)
    t.nodes[c]["gpt"] = _fresh_gpt(rng)
    return t.id(c), [t.id(c)], f"leaf at {t.where(c)} carries gpt"


def _leaf_without_llama3(t: _Tree, rng: np.random.Generator) -> _Injected:
    c = _pick(rng, [i for i in t.leaves if t.nodes[i]["llama3_caption"] is not None])
    if c is None:
        return None
    t.nodes[c]["llama3_caption"] = None
    return t.id(c), [t.id(c)], f"leaf at {t.where(c)} has no llama3_caption"


def _inconsistent_na(t: _Tree, rng: np.random.Generator) -> _Injected:
    def fits(i: int) -> bool:
        gpt = t.nodes[i]["gpt"]
        return gpt is not None and NOT_AVAILABLE not in gpt["action"].values()

    c = _pick(rng, [i for i in t.internal if fits(i)])
    if c is None:
        return None
    t.nodes[c]["gpt"]["action"]["brief"] = NOT_AVAILABLE
    return t.id(c), [t.id(c)], 'action.brief is "N/A" but detailed and actor are not'


_INJECTORS = {
    "duplicate_node_id": _duplicate_node_id,
    "orphan_parent": _orphan_parent,
    "second_root": _second_root,
    "missing_root": _missing_root,
    "child_outside_parent": _child_outside_parent,
    "sibling_gap": _sibling_gap,
    "sibling_overlap": _sibling_overlap,
    "level_jump": _level_jump,
    "end_not_after_start": _end_not_after_start,
    "negative_start": _negative_start,
    "gpt_on_short_node": _gpt_on_short_node,
    "gpt_on_leaf": _gpt_on_leaf,
    "leaf_without_llama3": _leaf_without_llama3,
    "inconsistent_na": _inconsistent_na,
}


def inject(table: pa.Table, local: int, kind: str, rng: np.random.Generator):
    """Break video ``local`` of ``table``; returns (its new one-row table, injected) or None."""
    row = table.slice(local, 1).to_pylist()[0]
    injected = _INJECTORS[kind](_Tree(row["nodes"]), rng)
    if injected is None:
        return None
    row["nodes"].sort(key=lambda n: (n["level"], n["start"]))  # stable: ties keep their order
    return pa.Table.from_pylist([row], schema=RAW_ARROW_SCHEMA), injected


def replace_rows(table: pa.Table, rows: dict[int, pa.Table]) -> pa.Table:
    parts, previous = [], 0
    for i in sorted(rows):
        parts += [table.slice(previous, i - previous), rows[i]]
        previous = i + 1
    parts.append(table.slice(previous))
    return pa.concat_tables(parts).combine_chunks()


# =============================================================================================
# File-level faults
# =============================================================================================


def _drop_node_field(table: pa.Table, name: str) -> pa.Table:
    lists = table["nodes"].combine_chunks()
    flat = lists.flatten()
    fields = [f for f in NODE if f.name != name]
    struct = pa.StructArray.from_arrays([flat.field(f.name) for f in fields], fields=fields)
    rebuilt = pa.ListArray.from_arrays(lists.offsets, struct)
    return table.set_column(2, pa.field("nodes", rebuilt.type), rebuilt)


def _with_node_type(table: pa.Table, name: str, dtype: pa.DataType) -> pa.Table:
    fields = [pa.field(f.name, dtype) if f.name == name else f for f in NODE]
    schema = pa.schema(
        [*list(RAW_ARROW_SCHEMA)[:2], pa.field("nodes", pa.list_(pa.struct(fields)))]
    )
    return table.cast(schema)


def write_file_faults(out: Path, seed: int, videos: int) -> list[dict]:
    """One broken file per file-level kind, with videos that are not in the shards."""
    entries = []
    for k, kind in enumerate(FILE_FAULT_KINDS):
        path = out / f"bad-{kind}.parquet"
        table = videos_table((BAD, seed, k), videos + 3 * k, 3, seed)
        field = None
        if kind == "wrong_type":
            field, detail = "nodes.element.level", 'level stored as string, e.g. "3"'
            pq.write_table(_with_node_type(table, "level", pa.string()), path)
        elif kind == "missing_column":
            field, detail = "nodes.element.end", "the nodes' end field is absent"
            pq.write_table(_drop_node_field(table, "end"), path)
        elif kind == "extra_column":
            field, detail = "extra_note", "an extra top-level string column"
            note = pa.array([f"note {i}" for i in range(table.num_rows)])
            pq.write_table(table.append_column("extra_note", note), path)
        elif kind == "truncated_file":
            sink = pa.BufferOutputStream()
            pq.write_table(table, sink)
            data = sink.getvalue().to_pybytes()
            path.write_bytes(data[: len(data) // 2])
            detail = f"a valid file cut to {len(data) // 2} of its {len(data)} bytes (no footer)"
        else:
            path.write_bytes(b"")
            detail = "0 bytes"
        entries.append({"kind": kind, "file": path.name, "field": field, "detail": detail})
    return entries
