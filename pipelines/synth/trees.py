"""Clean videos: identifiers, the trees of segments, and the arrays of a row group.

``videos_table(keys, first, n, seed)`` draws n clean videos from the random stream ``keys``: their
YouTube-like ids, one binary tree of segments each (``_grow``), the node structs with their text,
the transcripts and the metadata, as one table of the raw schema.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.core.raw import (
    GPT,
    GPT_MIN_SECONDS,
    METADATA,
    NODE,
    NOT_AVAILABLE,
    RAW_ARROW_SCHEMA,
    TRANSCRIPT_LINE,
)
from pipelines.synth.lexicon import (
    IMPERATIVE,
    SPEECH_DOUBLE,
    SPEECH_SINGLE,
    TITLE,
    shared_lexicon,
    spread,
    string_array,
)
from pipelines.synth.streams import stream

_SUMMARY_T = GPT.field("summary").type
_ACTION_T = GPT.field("action").type


# =============================================================================================
# Identifiers
# =============================================================================================

_YT_ALPHABET = np.frombuffer(
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", np.uint8
)
_YT_LAST = np.frombuffer(b"AEIMQUYcgkosw048", np.uint8)  # an id's last char holds 4 bits
_HEX = np.frombuffer(b"0123456789abcdef", np.uint8)
_M64 = (1 << 64) - 1


def _mix64(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: a bijection on uint64, so distinct inputs give distinct outputs."""
    with np.errstate(over="ignore"):
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return x ^ (x >> np.uint64(31))


def _video_uids(seed: int, first: int, n: int) -> pa.Array:
    """11-char YouTube-like ids of the videos first .. first+n-1; unique for one seed."""
    key = int(_mix64(np.array([seed & _M64], np.uint64))[0])
    with np.errstate(over="ignore"):
        x = _mix64(np.arange(first, first + n, dtype=np.uint64) + np.uint64(key))
    chars = np.empty((n, 11), np.uint8)
    for i in range(10):
        chars[:, i] = _YT_ALPHABET[(x >> np.uint64(58 - 6 * i)) & np.uint64(63)]
    chars[:, 10] = _YT_LAST[x & np.uint64(15)]
    return string_array(np.arange(n + 1) * 11, pa.py_buffer(chars.tobytes()))


def _uuid_bytes(rng: np.random.Generator, n: int) -> np.ndarray:
    """n UUID texts (version 5 layout, like the release's) as an (n, 36) uint8 array."""
    raw = rng.integers(0, 256, (n, 16), dtype=np.uint8)
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x50
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80
    hexed = np.empty((n, 32), np.uint8)
    hexed[:, 0::2] = _HEX[raw >> 4]
    hexed[:, 1::2] = _HEX[raw & 15]
    out = np.full((n, 36), ord("-"), np.uint8)
    for lo, hi, at in ((0, 8, 0), (8, 12, 9), (12, 16, 14), (16, 20, 19), (20, 32, 24)):
        out[:, at : at + hi - lo] = hexed[:, lo:hi]
    return out


def _uuids(rng: np.random.Generator, n: int) -> pa.Array:
    return string_array(np.arange(n + 1) * 36, pa.py_buffer(_uuid_bytes(rng, n).tobytes()))


def uuid_text(rng: np.random.Generator) -> str:
    return _uuid_bytes(rng, 1).tobytes().decode()


# =============================================================================================
# Trees
# =============================================================================================

# Tuned so that the shape matches the real sample and the paper (see pipelines.synth's docstring).
_LEAF_SCALE = (3.0, 0.45)  # median seconds and log-sd of the per-video split scale
_STOP_SHAPE = 3.0  # sharpness of the stop probability exp(-(d / scale)^k)
_MAX_NODES_SCALE = 1450.0  # long videos split coarser: scale >= duration / this
_MAX_LEVEL = 24
_MIN_CHILD = 0.5  # seconds
NEAR_GPT = 0.006  # no node lasts within this of the 4 s gpt threshold


@dataclass
class _Forest:
    """Nodes of many videos ordered by (video, level, start); parent: a row index, -1 at roots."""

    video: np.ndarray
    level: np.ndarray
    start: np.ndarray  # float32
    end: np.ndarray  # float32
    parent: np.ndarray
    leaf: np.ndarray

    @property
    def duration(self) -> np.ndarray:
        return self.end.astype(np.float64) - self.start


def _split_points(rng: np.random.Generator, s: np.ndarray, e: np.ndarray) -> np.ndarray:
    """Where each segment [s, e) splits: float32, 0.01 s grid, both parts >= 0.5 s and not ~4 s."""
    d = e.astype(np.float64) - s
    a = 0.8 + 12.0 / d  # short segments split near their middle, long ones anywhere
    x = np.round(s + rng.beta(a, a) * d, 2)
    x = np.clip(x, s + _MIN_CHILD, e - _MIN_CHILD)
    for shift in (0.02, -0.04, 0.06, -0.08):
        x32 = x.astype(np.float32)
        left = x32.astype(np.float64) - s
        right = e.astype(np.float64) - x32
        near = (np.abs(left - GPT_MIN_SECONDS) < NEAR_GPT) | (
            np.abs(right - GPT_MIN_SECONDS) < NEAR_GPT
        )
        if not near.any():
            break
        x = np.where(near, x + shift, x)
    return x.astype(np.float32)


def _grow(rng: np.random.Generator, root_end: np.ndarray, scale: np.ndarray) -> _Forest:
    """Split every video's root level by level; returns the nodes ordered by (video, level, start).

    Every level's frontier is ordered by (video, start), so the children, made pairwise in frontier
    order, are too: sorting by video alone (stable) gives the release's storage order.
    """
    n = len(root_end)
    video = np.arange(n)
    start = np.zeros(n, np.float32)
    end = root_end.astype(np.float32)
    parent = np.full(n, -1, np.int64)
    ids = np.arange(n)
    levels, next_id, level = [], n, 0
    while len(video):
        d = end.astype(np.float64) - start
        stop = rng.random(len(video)) < np.exp(-((d / scale[video]) ** _STOP_SHAPE))
        # A few long leaves: static shots the captioner never split.
        stop |= (rng.random(len(video)) < 0.004) & (level > 1) & (d < 30.0)
        stop = (stop & (level > 0)) | (d < 2 * _MIN_CHILD) | (level >= _MAX_LEVEL)
        levels.append((video, np.full(len(video), level, np.int16), start, end, parent, ids, stop))
        split = ~stop
        s, e = start[split], end[split]
        x = _split_points(rng, s, e)
        video = np.repeat(video[split], 2)
        start = np.stack([s, x], 1).ravel()
        end = np.stack([x, e], 1).ravel()
        parent = np.repeat(ids[split], 2)
        ids = np.arange(next_id, next_id + len(video))
        next_id += len(video)
        level += 1
    cols = [np.concatenate(c) for c in zip(*levels, strict=True)]
    v, lv, st, en, par, node_id, leaf = cols
    order = np.argsort(v, kind="stable")
    row_of = np.empty(next_id, np.int64)
    row_of[node_id[order]] = np.arange(next_id)
    par = par[order]
    parent_row = np.where(par >= 0, row_of[np.maximum(par, 0)], -1)
    return _Forest(v[order], lv[order], st[order], en[order], parent_row, leaf[order])


# =============================================================================================
# Row groups
# =============================================================================================


def _lognormal_counts(rng, median: float, sigma: float, lo: int, hi: int, n: int) -> np.ndarray:
    return np.clip(np.rint(median * np.exp(rng.normal(0.0, sigma, n))), lo, hi)


@dataclass
class _Videos:
    """Per-video draws of one row group."""

    uid: pa.Array
    domain: np.ndarray
    tree_end: np.ndarray  # float64 seconds, on the 0.01 grid
    duration: np.ndarray  # int64: metadata.duration


def _draw_videos(rng: np.random.Generator, uid: pa.Array) -> _Videos:
    n = len(uid)
    lex = shared_lexicon()
    domain = np.searchsorted(lex.domain_cdf, rng.random(n), side="right")
    tree_end = np.round(np.clip(230.0 * np.exp(rng.normal(0.0, 0.85, n)), 10.0, 5400.0), 2)
    # A few trees run past the stated duration (1 to 40 s); the rest differ by rounding only.
    overrun = np.where(
        rng.random(n) < 0.06, np.clip(5.0 * np.exp(rng.normal(0.0, 0.9, n)), 1.0, 40.0), 0.0
    )
    duration = np.maximum(np.rint(tree_end - overrun), 1).astype(np.int64)
    return _Videos(uid, np.minimum(domain, lex.n_domains - 1), tree_end, duration)


def gpt_array(rng: np.random.Generator, domain: np.ndarray, present: np.ndarray) -> pa.Array:
    """The gpt struct column: present where asked, with the release's "N/A" quirks."""
    lex = shared_lexicon()
    dom = domain[present]
    k = len(dom)
    summary_brief = lex.prose(rng, _lognormal_counts(rng, 17.8, 0.28, 7, 70, k), dom)
    summary_detailed = lex.prose(rng, _lognormal_counts(rng, 88.0, 0.39, 25, 300, k), dom)
    brief = lex.brief_actions(rng, dom)
    detailed = lex.prose(rng, _lognormal_counts(rng, 25.0, 0.36, 8, 90, k), dom, IMPERATIVE)
    actor = lex.actors_for(rng, dom)
    u = rng.random(k)
    no_action = pa.array(u < 0.034)
    no_actor = pa.array(u >= 0.992)  # the actor alone is "N/A" on a few more
    brief = pc.if_else(no_action, NOT_AVAILABLE, brief)
    detailed = pc.if_else(no_action, NOT_AVAILABLE, detailed)
    actor = pc.if_else(pc.or_(no_action, no_actor), NOT_AVAILABLE, actor)
    mask = pa.array(~present)
    summary = pa.StructArray.from_arrays(
        [spread(summary_brief, present), spread(summary_detailed, present)],
        fields=list(_SUMMARY_T),
        mask=mask,
    )
    full = [spread(a, present) for a in (brief, detailed, actor)]
    action = pa.StructArray.from_arrays(full, fields=list(_ACTION_T), mask=mask)
    return pa.StructArray.from_arrays([summary, action], fields=list(GPT), mask=mask)


def _nodes_array(rng: np.random.Generator, videos: _Videos) -> tuple[pa.Array, np.ndarray]:
    """The flat node structs of all videos, and the node count of each video."""
    lex = shared_lexicon()
    n_videos = len(videos.domain)
    scale = _LEAF_SCALE[0] * np.exp(rng.normal(0.0, _LEAF_SCALE[1], n_videos))
    scale = np.maximum(scale, videos.tree_end / _MAX_NODES_SCALE)
    forest = _grow(rng, videos.tree_end, scale)
    n = len(forest.video)
    domain = videos.domain[forest.video]
    node_id = _uuids(rng, n)
    parent_id = node_id.take(pa.array(forest.parent, mask=forest.parent < 0))
    gpt_present = ~forest.leaf & (forest.duration >= GPT_MIN_SECONDS)
    plm_action = lex.plm_actions(rng, domain)
    plm_action = pc.if_else(
        pa.array(rng.random(n) < 0.0002), pa.scalar(None, pa.string()), plm_action
    )
    caption_present = rng.random(n) >= 0.0013
    plm_caption = lex.prose(
        rng,
        _lognormal_counts(rng, 51.0, 0.78, 8, 1000, int(caption_present.sum())),
        domain[caption_present],
    )
    n_leaves = int(forest.leaf.sum())
    llama3 = lex.prose(
        rng, _lognormal_counts(rng, 159.0, 0.31, 20, 820, n_leaves), domain[forest.leaf]
    )
    arrays = [
        node_id,
        parent_id,
        pa.array(forest.level, pa.int16()),
        pa.array(forest.start, pa.float32()),
        pa.array(forest.end, pa.float32()),
        plm_action,
        spread(plm_caption, caption_present),
        spread(llama3, forest.leaf),
        gpt_array(rng, domain, gpt_present),
    ]
    counts = np.bincount(forest.video, minlength=n_videos)
    return pa.StructArray.from_arrays(arrays, fields=list(NODE)), counts


def _transcripts(rng: np.random.Generator, videos: _Videos) -> pa.Array:
    """Transcript lists: times strictly increasing from near 0, as text ("32.16", "64.0")."""
    lex = shared_lexicon()
    n = len(videos.domain)
    gap = 3.0 * np.exp(rng.normal(0.0, 0.35, n))
    drawn = np.where(rng.random(n) < 0.03, 0, np.floor(videos.tree_end / gap)).astype(np.int64)
    video = np.repeat(np.arange(n), drawn)
    steps = np.maximum(rng.gamma(4.0, gap[video] / 4.0), 0.05)
    starts = np.cumsum(drawn) - drawn
    first = np.zeros(len(video), bool)
    first[starts[drawn > 0]] = True
    steps[first] = rng.uniform(0.0, 4.0, int(first.sum()))
    # A running sum restarted at each video's first line.
    csum = np.cumsum(steps)
    times = csum - np.repeat(np.concatenate([[0.0], csum])[starts], drawn)
    # Most lines on a 10 ms grid, the rest on 1 ms, like the release's captions.
    grid = np.where(rng.random(len(video)) < 0.65, 10.0, 1.0)
    ms = np.rint(times * 1000.0 / grid) * grid
    keep = ms < videos.tree_end[video] * 1000.0
    ms, video = ms[keep], video[keep]
    lines = np.bincount(video, minlength=n)
    # The release prints the shortest text, with a whole second as "64.0".
    text_time = pc.cast(pa.array(ms / 1000.0), pa.string())
    whole = pa.array(ms % 1000 == 0)
    text_time = pc.if_else(whole, pc.binary_join_element_wise(text_time, ".0", ""), text_time)
    style = np.where(rng.random(n) < 0.85, SPEECH_DOUBLE, SPEECH_SINGLE)[video]
    words = _lognormal_counts(rng, 7.5, 0.3, 1, 20, len(video))
    text = lex.prose(rng, words, videos.domain[video], style)
    line_structs = pa.StructArray.from_arrays([text_time, text], fields=list(TRANSCRIPT_LINE))
    offsets = np.concatenate([[0], np.cumsum(lines)]).astype(np.int32)
    list_type = METADATA.field("transcript").type
    return pa.ListArray.from_arrays(pa.array(offsets), line_structs, type=list_type)


def _metadata(rng: np.random.Generator, videos: _Videos) -> pa.Array:
    lex = shared_lexicon()
    n = len(videos.domain)
    title = lex.prose(rng, _lognormal_counts(rng, 7.0, 0.35, 2, 16, n), videos.domain, TITLE)
    description = lex.prose(rng, _lognormal_counts(rng, 70.0, 1.0, 8, 900, n), videos.domain)
    views = np.rint(15000.0 * np.exp(rng.normal(0.0, 1.9, n))).astype(np.int64) + 50
    likes = np.rint(views * 0.012 * np.exp(rng.normal(0.0, 0.8, n))).astype(np.int64)
    days = rng.integers(
        0, (np.datetime64("2024-12-31") - np.datetime64("2006-01-01")).astype(int), n
    )
    dates = np.datetime_as_string(np.datetime64("2006-01-01") + days, unit="D")
    upload = pa.array([d.replace("-", "") for d in dates.tolist()])
    arrays = [
        title,
        description,
        pa.array(views),
        pa.array(likes),
        pa.array(videos.duration),
        upload,
        _transcripts(rng, videos),
    ]
    return pa.StructArray.from_arrays(arrays, fields=list(METADATA))


def videos_table(keys: tuple[int, ...], first: int, n: int, seed: int) -> pa.Table:
    """n clean videos (global indices first ..), drawn from the random stream ``keys``."""
    rng = stream(*keys)
    videos = _draw_videos(rng, _video_uids(seed, first, n))
    nodes, counts = _nodes_array(rng, videos)
    metadata = _metadata(rng, videos)
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
    node_lists = pa.ListArray.from_arrays(
        pa.array(offsets), nodes, type=RAW_ARROW_SCHEMA.field("nodes").type
    )
    return pa.Table.from_arrays([videos.uid, metadata, node_lists], schema=RAW_ARROW_SCHEMA)
