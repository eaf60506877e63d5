"""Shards, row groups, the Parquet writer, the manifest: ``generate`` and its summary.

Shard ``k`` holds the videos ``shard_bounds(videos, shards)[k]`` up to the next bound, in row
groups of ``ROW_GROUP_VIDEOS`` videos; each row group is drawn from its own stream keyed by
``(seed, shard, row group)`` and gets its planned faults injected before it is written.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipelines.core.errors import UsageError
from pipelines.core.raw import RAW_ARROW_SCHEMA
from pipelines.synth.faults import (
    DUPLICATE_VIDEO,
    FAULT_KINDS,
    ROW_FAULT_KINDS,
    Plan,
    fault_plan,
    inject,
    replace_rows,
    shard_bounds,
    shard_of,
    write_file_faults,
)
from pipelines.synth.lexicon import shared_lexicon
from pipelines.synth.streams import DATA, FAULTS, stream
from pipelines.synth.trees import videos_table

# A few hundred videos (about 100 MB of text) per row group: big enough for readers to scan
# efficiently, small enough that two in flight stay well under a gigabyte.
ROW_GROUP_VIDEOS = 200
VERSION = 1
# The manifest's "generator": the module's old name, kept so that manifests stay byte-identical.
GENERATOR = "pipelines.synth"

# Low-cardinality columns are the only ones worth a dictionary; trying one on unique text costs a
# full dictionary build per page before Parquet falls back to plain encoding.
_DICTIONARY_COLUMNS = ["nodes.list.element.level", "metadata.upload_date"]


# =============================================================================================
# Shards
# =============================================================================================


def shard_name(shard: int) -> str:
    return f"shard-{shard:05d}.parquet"


@dataclass(frozen=True)
class _Layout:
    seed: int
    videos: int
    shards: int
    plan: Plan | None

    @property
    def bounds(self) -> list[int]:
        return shard_bounds(self.videos, self.shards)

    def row_groups(self, shard: int) -> int:
        lo, hi = self.bounds[shard], self.bounds[shard + 1]
        return -(-(hi - lo) // ROW_GROUP_VIDEOS)

    def clean_row_group(self, shard: int, rg: int) -> pa.Table:
        first = self.bounds[shard] + rg * ROW_GROUP_VIDEOS
        n = min(ROW_GROUP_VIDEOS, self.bounds[shard + 1] - first)
        return videos_table((DATA, self.seed, shard, rg), first, n, self.seed)


def _row_group(layout: _Layout, shard: int, rg: int) -> tuple[pa.Table, list[dict]]:
    """One row group of a shard, faults injected; fault entries carry the row within the file."""
    table = layout.clean_row_group(shard, rg)
    if layout.plan is None:
        return table, []
    first = layout.bounds[shard] + rg * ROW_GROUP_VIDEOS
    rows_before = rg * ROW_GROUP_VIDEOS
    rng = stream(FAULTS, layout.seed, shard, rg)
    taken = set(layout.plan.reserved)
    replaced: dict[int, pa.Table] = {}
    entries = []
    for fault in layout.plan.faults:
        if fault.kind == DUPLICATE_VIDEO or not first <= fault.video < first + len(table):
            continue
        local = fault.video - first
        # A video without a node the fault fits hands it on to the next free video.
        for step in range(len(table)):
            candidate = (local + step) % len(table)
            if candidate in replaced or (step and first + candidate in taken):
                continue
            result = inject(table, candidate, fault.kind, rng)
            if result is not None:
                break
        else:
            raise RuntimeError(f"no video of shard {shard} row group {rg} fits {fault.kind}")
        replaced[candidate], (node_id, affected, detail) = result
        taken.add(first + candidate)
        entries.append(
            {
                "kind": fault.kind,
                "file": shard_name(shard),
                "row": rows_before + candidate,
                "video_uid": table["video_uid"][candidate].as_py(),
                "node_id": node_id,
                "affected_nodes": affected,
                "detail": detail,
            }
        )
    if rg == layout.row_groups(shard) - 1:
        table, more = _append_duplicates(layout, shard, table, rows_before)
        entries += more
    return (replace_rows(table, replaced) if replaced else table), entries


def _append_duplicates(layout: _Layout, shard: int, table: pa.Table, rows_before: int):
    """Copies of other shards' clean videos, appended to this shard's last row group."""
    copies, entries = [], []
    for fault in layout.plan.faults:
        if fault.kind != DUPLICATE_VIDEO or fault.target != shard:
            continue
        source = shard_of(layout.bounds, fault.video)
        local = fault.video - layout.bounds[source]
        rg, within = divmod(local, ROW_GROUP_VIDEOS)
        this_row_group = (source, rg) == (shard, layout.row_groups(shard) - 1)
        origin = table if this_row_group else layout.clean_row_group(source, rg)
        copies.append(origin.slice(within, 1))
        entries.append(
            {
                "kind": fault.kind,
                "file": shard_name(shard),
                "row": rows_before + len(table) + len(copies) - 1,
                "video_uid": origin["video_uid"][within].as_py(),
                "node_id": None,
                "affected_nodes": [],
                "detail": f"exact copy of {shard_name(source)} row {local}",
            }
        )
    if not copies:
        return table, entries
    return pa.concat_tables([table, *copies]).combine_chunks(), entries


def shard_tables(
    shard: int, videos: int, seed: int = 0, shards: int = 1, faults: bool = False
) -> Iterator[tuple[pa.Table, list[dict]]]:
    """Shard ``shard``'s row groups in order, each with its row-fault entries.

    The next row group is generated in a worker thread while the caller writes the current one:
    numpy and Arrow release the GIL, so generation and Parquet encoding use both cores.
    """
    _check(videos, seed, shards, shard)
    layout = _Layout(seed, videos, shards, fault_plan(seed, videos, shards) if faults else None)
    shared_lexicon()  # build it once, before the worker thread needs it
    count = layout.row_groups(shard)
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(_row_group, layout, shard, 0) if count else None
        for rg in range(count):
            result = pending.result()
            if rg + 1 < count:
                pending = pool.submit(_row_group, layout, shard, rg + 1)
            yield result


def _check(videos: int, seed: int, shards: int, shard: int = 0) -> None:
    if seed < 0:
        raise UsageError(f"seed must be >= 0, got {seed}")
    if videos < 1 or shards < 1 or shards > videos:
        raise UsageError(f"need 1 <= shards <= videos, got videos={videos} shards={shards}")
    if not 0 <= shard < shards:
        raise UsageError(f"shard {shard} is not in 0..{shards - 1}")


# Statistics only where a reader can prune with them; on long text they cost time and say nothing.
_STATISTICS_COLUMNS = [
    "video_uid",
    "metadata.duration",
    "metadata.upload_date",
    "nodes.list.element.level",
    "nodes.list.element.start",
    "nodes.list.element.end",
]


def _writer(path: Path) -> pq.ParquetWriter:
    return pq.ParquetWriter(
        path,
        RAW_ARROW_SCHEMA,
        compression="snappy",  # as the release's files
        use_dictionary=_DICTIONARY_COLUMNS,
        write_statistics=_STATISTICS_COLUMNS,
    )


def write_shard(
    out: str | Path, shard: int, videos: int, seed: int = 0, shards: int = 1, faults: bool = False
) -> dict:
    """Write ``out/shard-NNNNN.parquet`` alone; equal to the same shard of ``generate``.

    Returns {"file", "rows", "nodes", "bytes", "row_faults"}. The file appears only when complete.
    """
    Path(out).mkdir(parents=True, exist_ok=True)
    path = Path(out) / shard_name(shard)
    partial = path.with_name(path.name + ".partial")
    rows = nodes = 0
    entries: list[dict] = []
    writer = _writer(partial)
    try:
        for table, found in shard_tables(shard, videos, seed, shards, faults):
            writer.write_table(table, row_group_size=table.num_rows)
            rows += table.num_rows
            nodes += int(pc.sum(pc.list_value_length(table["nodes"])).as_py() or 0)
            entries += found
    finally:
        writer.close()
    os.replace(partial, path)
    return {
        "file": path.name,
        "rows": rows,
        "nodes": nodes,
        "bytes": path.stat().st_size,
        "row_faults": entries,
    }


# =============================================================================================
# The corpus
# =============================================================================================

MANIFEST = "manifest.json"


def _remove_stale(out: Path) -> None:
    """Drop files an earlier run left under this generator's own names (other shard counts)."""
    for path in [*out.glob("shard-[0-9][0-9][0-9][0-9][0-9].parquet"), *out.glob("bad-*.parquet")]:
        path.unlink()
    for path in out.glob("shard-*.parquet.partial"):
        path.unlink()


def generate(
    out: str | Path, videos: int, seed: int = 0, shards: int = 1, faults: bool = False
) -> dict:
    """Write shard-00000.parquet ... into out; return the manifest dict (also out/manifest.json).

    Files this generator names (shard-NNNNN.parquet, bad-*.parquet) already in ``out`` are
    replaced, so that a reader globbing the folder sees this run only.
    """
    _check(videos, seed, shards)
    if faults:
        fault_plan(seed, videos, shards)  # fail before writing anything
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    _remove_stale(out)
    written = [write_shard(out, k, videos, seed, shards, faults) for k in range(shards)]
    row_faults = [entry for shard in written for entry in shard["row_faults"]]
    file_faults = write_file_faults(out, seed, videos) if faults else []
    counts = dict.fromkeys(FAULT_KINDS, 0)
    for entry in row_faults + file_faults:
        counts[entry["kind"]] += 1
    manifest = {
        "generator": GENERATOR,
        "version": VERSION,
        "seed": seed,
        "videos": videos,
        "shards": shards,
        "faults": faults,
        "rows": sum(s["rows"] for s in written),
        "nodes": sum(s["nodes"] for s in written),
        "files": [s["file"] for s in written],
        "file_stats": {s["file"]: {k: s[k] for k in ("rows", "nodes", "bytes")} for s in written},
        "row_faults": row_faults,
        "file_faults": file_faults,
        "counts": counts,
    }
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
    return manifest


def _size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} GB"


def format_summary(manifest: dict) -> str:
    """A one-screen summary of a generate() manifest, for the CLI."""
    stats = manifest["file_stats"]
    total = sum(s["bytes"] for s in stats.values())
    files = manifest["files"]
    shown = files[0] if len(files) == 1 else f"{files[0]} .. {files[-1]}"
    lines = [
        f"Synthetic Action100M corpus (seed {manifest['seed']}): {manifest['videos']:,} videos, "
        f"{manifest['nodes']:,} nodes in {manifest['rows']:,} rows",
        f"  {len(files)} shard(s): {shown}, {_size(total)}",
    ]
    if not manifest["faults"]:
        lines.append("  faults: none")
        return "\n".join(lines)
    row_faults = manifest["row_faults"]
    videos = {(f["file"], f["row"]) for f in row_faults}
    lines.append(
        f"  row faults: {len(row_faults)} in {len(videos)} videos (listed in manifest.json)"
    )
    counts = [(k, manifest["counts"][k]) for k in ROW_FAULT_KINDS]
    for i in range(0, len(counts), 2):
        lines.append("    " + "".join(f"{k:<29} {n:>2}    " for k, n in counts[i : i + 2]).rstrip())
    lines.append(f"  file faults: {len(manifest['file_faults'])} (not in the shards)")
    for f in manifest["file_faults"]:
        field = f" [{f['field']}]" if f["field"] else ""
        lines.append(f"    {f['file']:<30} {f['detail']}{field}")
    return "\n".join(lines)
