"""Synthetic Action100M corpus: the release schema, realistic shape, deterministic, with faults.

``generate(out, videos, seed, shards, faults)`` writes ``shard-00000.parquet`` ... into ``out``,
each with exactly ``RAW_ARROW_SCHEMA``, plus ``manifest.json``. Shard ``k`` holds the videos
``k * videos // shards`` up to ``(k + 1) * videos // shards``, written in row groups of
``ROW_GROUP_VIDEOS`` videos; every row group is drawn from its own random stream keyed by
``(seed, shard, row group)``, so a shard can be generated alone (``write_shard``) and equals the
same shard of a full run, and memory stays bounded whatever the corpus size.

What the clean data looks like (docs/data.md; tuned against the 10-video real sample):

- one binary tree per video: the root (level 0, start 0, ``parent_id`` null) spans the video;
  every internal node has two children that tile it exactly in float32 (the first starts at the
  parent's start, the second starts where the first ends and ends at the parent's end); nodes are
  stored sorted by (level, start); split points are rounded to 0.01 s like the release's;
- about 450 nodes per video on average (from 7 to about 5,600; median about 290), depth 11 to 20
  on typical videos (100 to 1,000 nodes), video lengths from 10 s to 90 min; leaves last 0.5 s and
  more (median about 1.1 s); segment durations split 63 / 24 / 10 / 2 % over the paper's buckets
  (0-3 s, 3-10 s, 10-60 s, over 60 s; the paper: 64 / 23.8 / 10.2 / 2);
- ``gpt`` exactly on internal nodes lasting at least 4.0 s (no node lasts within 0.006 s of 4.0 s,
  so float32 and float64 arithmetic agree on that threshold); ``llama3_caption`` exactly on leaves;
  ``plm_action`` / ``plm_caption`` on every node but a few nulls; about 3.4% of gpt nodes carry
  "N/A" as action brief, detailed and actor, about 0.8% as actor alone;
- ``metadata.duration`` is the tree's end rounded to whole seconds, except for about 6% of videos
  whose tree runs 1 to 40 s past it (the release's quirk);
- text: long fields (captions, summaries, detailed actions, descriptions) are chains of at least
  three phrases drawn per node from tables built once from a fixed vocabulary (about 2^34 chains
  of three), so they do not repeat across videos, and they compress like the release's text
  (snappy about 2.1x, zstd 3.1 to 3.6x; the release's captions 2.2 to 2.6x, 3.3 to 4.2x);
  word counts match the paper's means (brief action 3.2, brief summary 19.2, detailed action
  27.8, detailed summary 95.3). Brief actions, actors and PLM actions come from a few hundred
  verbs with objects and long-tailed weights, so they repeat ("Speak to camera" leads the dedup
  groups); a few start lowercase or with an inflected verb; U+2011, U+202F and curly quotes appear
  as in GPT's text. Transcript lines are short and may repeat now and then, as captions do.

Faults (``faults=True``). Each row-level kind is injected two or three times (the count is drawn
from the seed), each into its own video (never two faults on one video), in the normal shards.
The manifest lists every injection with ``affected_nodes``: the node ids of the rows that break the
kind's rule, i.e. the rows a validator of that rule must flag. Unless said otherwise the faulty
node is a leaf, so no descendant is disturbed, and the video stays sorted by (level, start).

- ``duplicate_node_id``: a leaf's ``node_id`` is overwritten with the id of another leaf (with a
  different parent) of the same video. Affected: that id (carried by two rows; both flag on a
  uniqueness check). The overwritten id was a leaf's, so no ``parent_id`` dangles.
- ``orphan_parent``: an extra leaf row (fresh ``node_id``, a copy of an existing leaf's level, times
  and captions) whose ``parent_id`` names no node of the video. Affected: the extra row. It is
  nobody's child, so no branching or tiling check changes.
- ``second_root``: an extra row with ``parent_id`` null, level 0, start 0 and the root's end, with
  leaf annotations (captions copied from a leaf, no gpt). Affected: the extra root; the video fails
  "exactly one root".
- ``missing_root``: the root row is removed. ``node_id`` in the manifest is the removed root's id;
  affected: the two level-1 rows, whose parent no longer exists (necessarily). The video fails
  "exactly one root".
- ``child_outside_parent``: a leaf that is the second child of a first child has its ``end`` moved
  0.01 to 1 s past its parent's end (still inside the grandparent). Affected: the leaf. Necessarily
  its parent is no longer tiled (its last child ends after it).
- ``sibling_gap``: the second child (a leaf) of one parent starts later than its sibling ends (by
  0.01 to 0.5 s; it still ends at the parent's end). Affected: that leaf (a per-parent tiling check
  flags its parent).
- ``sibling_overlap``: the second child (a leaf) of one parent starts 0.01 to 0.5 s before its
  sibling ends (still after the sibling's start). Affected: that leaf (or its parent, per parent).
- ``level_jump``: a leaf's ``level`` is its parent's level + 2; the row is moved to stay sorted.
  Affected: the leaf.
- ``end_not_after_start``: a leaf that is a first child gets ``end == start``. Affected: the leaf.
  Necessarily its parent is no longer tiled (the sibling starts after the leaf's new end).
- ``negative_start``: the video's left spine (the root and the chain of first children down to a
  leaf, all starting at 0) starts at -0.25 s instead; tiling and containment still hold, and no
  spine node crosses the 4 s gpt threshold. Affected: every spine node (the root also fails "root
  starts at 0").
- ``gpt_on_short_node``: an internal node lasting under 4 s gets a gpt struct. Affected: the node.
- ``gpt_on_leaf``: a leaf gets a gpt struct. Affected: the leaf.
- ``leaf_without_llama3``: a leaf's ``llama3_caption`` is null. Affected: the leaf.
- ``inconsistent_na``: a gpt node gets ``action.brief == "N/A"`` while ``action.detailed`` and
  ``action.actor`` keep real text. Affected: the node. (The actor alone being "N/A" is real data
  and not a fault.)
- ``duplicate_video_across_shards``: an exact copy of a clean video's row is appended as the last
  row of the next shard (of the same shard when ``shards == 1``). ``node_id`` is null and affected
  is empty: the rule broken is the video's (``video_uid`` unique; every (video_uid, node_id) of the
  copy repeats too). The detail names the original's file and row.

File-level kinds, each written once as its own file ``bad-<kind>.parquet`` beside the shards (never
listed in ``files``), holding three videos that are not in the shards:

- ``wrong_type``: ``nodes.element.level`` stored as a string ("3");
- ``missing_column``: ``nodes.element.end`` dropped;
- ``extra_column``: an extra top-level string column ``extra_note``;
- ``truncated_file``: a valid file cut to half its bytes (no footer; readers fail);
- ``empty_file``: 0 bytes.

Manifest (``out/manifest.json``)::

    {"generator", "version", "seed", "videos", "shards", "faults", "rows", "nodes",
     "files": [shard names], "file_stats": {name: {"rows", "nodes", "bytes"}},
     "row_faults": [{"kind", "file", "row", "video_uid", "node_id" | null, "affected_nodes",
                     "detail"}],
     "file_faults": [{"kind", "file", "field" | null, "detail"}],
     "counts": {kind: n for every kind in FAULT_KINDS}}

``rows`` and ``nodes`` count the shards' rows and nodes as written (duplicated videos and injected
rows included); ``row`` is the row's index in its file.

``BROKEN_RULES`` (``pipelines.synth.faults``) names, per row kind, the validation rules one
injection breaks and how many rows each flags; ``duplicate_video_across_shards`` is not in it (it
breaks no row rule: ingest refuses the copy with the reason ``duplicate_video``).

Modules (pyarrow and numpy only, never pyspark): ``vocabulary`` (word lists, domains, word forms),
``lexicon`` (the text tables and Arrow string helpers), ``streams`` (the random streams),
``trees`` (ids, the trees and the clean row groups), ``faults`` (fault plan, injectors, broken
files, ``BROKEN_RULES``), ``writer`` (shards, Parquet, manifest, ``generate``, ``format_summary``).
"""

from __future__ import annotations

from pipelines.synth.faults import (
    BROKEN_RULES,
    FAULT_KINDS,
    FILE_FAULT_KINDS,
    ROW_FAULT_KINDS,
    min_fault_videos,
)
from pipelines.synth.writer import (
    MANIFEST,
    ROW_GROUP_VIDEOS,
    format_summary,
    generate,
    shard_name,
    shard_tables,
    write_shard,
)

__all__ = [
    "BROKEN_RULES",
    "FAULT_KINDS",
    "FILE_FAULT_KINDS",
    "MANIFEST",
    "ROW_FAULT_KINDS",
    "ROW_GROUP_VIDEOS",
    "format_summary",
    "generate",
    "min_fault_videos",
    "shard_name",
    "shard_tables",
    "write_shard",
]
