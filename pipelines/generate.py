"""Synthetic Action100M corpus: the release schema, realistic shape, deterministic, with faults.

``generate(out, videos, seed, shards, faults)`` writes ``shard-00000.parquet`` ... into ``out``,
each with exactly ``RAW_ARROW_SCHEMA``, plus ``manifest.json``. Shard ``k`` holds the videos
``k * videos // shards`` up to ``(k + 1) * videos // shards``, written in row groups of
``ROW_GROUP_VIDEOS`` videos; every row group is drawn from its own random stream keyed by
``(seed, shard, row group)``, so a shard can be generated alone (``write_shard``) and equals the
same shard of a full run, and memory stays bounded whatever the corpus size.

What the clean data looks like (DESIGN.md section 3, tuned against the 10-video real sample):

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
"""

from __future__ import annotations

import json
import os
import random
from collections import defaultdict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipelines.schema import RAW_ARROW_SCHEMA

__all__ = [
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

# A few hundred videos (about 100 MB of text) per row group: big enough for readers to scan
# efficiently, small enough that two in flight stay well under a gigabyte.
ROW_GROUP_VIDEOS = 200
VERSION = 1
GPT_MIN_SECONDS = 4.0
NA = "N/A"

# The types of the nested fields, all taken from the one raw schema.
_META_T = RAW_ARROW_SCHEMA.field("metadata").type
_LINE_T = _META_T.field("transcript").type.value_type
_NODE_T = RAW_ARROW_SCHEMA.field("nodes").type.value_type
_GPT_T = _NODE_T.field("gpt").type
_SUMMARY_T = _GPT_T.field("summary").type
_ACTION_T = _GPT_T.field("action").type

# Low-cardinality columns are the only ones worth a dictionary; trying one on unique text costs a
# full dictionary build per page before Parquet falls back to plain encoding.
_DICTIONARY_COLUMNS = ["nodes.list.element.level", "metadata.upload_date"]

# Random streams: (_SALT, purpose, ...). Distinct purposes never share a stream.
_SALT = 0xA100
_DATA, _FAULTS, _PLAN, _BAD, _LEXICON = 1, 2, 3, 4, 5


def _rng(*keys: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([_SALT, *keys]))


# =============================================================================================
# Vocabulary (written for this generator; nothing here comes from the release)
# =============================================================================================


def _words(text: str) -> tuple[str, ...]:
    """Split a comma-separated list; entries may hold spaces ("cutting board")."""
    return tuple(w.strip() for w in text.split(",") if w.strip())


# Prose words in rough frequency order (the order is the Zipf rank). Hyphens are U+2011 and the
# quotes are curly on purpose: the release's GPT text is full of them.
_GENERAL = _words(
    """the, a, and, of, to, in, is, on, with, his, her, their, as, at, while, then, it, from, into,
    an, for, that, this, are, person, hand, hands, camera, which, onto, holding, wearing, using,
    video, scene, over, table, background, showing, one, left, right, two, some, its, before,
    after, standing, man, woman, white, small, frame, room, screen, shot, view, appears, begins,
    continues, shows, holds, uses, moves, places, close‑up, visible, shown, black, large, wooden,
    clear, bright, dark, light, side, top, surface, object, item, area, each, another, other, both,
    near, next, up, down, out, off, around, through, across, behind, under, between, again, also,
    still, just, now, slowly, quickly, carefully, gently, briefly, clearly, blue, red, green, gray,
    silver, metal, plastic, round, flat, long, short, final, first, same, different, various,
    several, empty, full, open, closed, main, simple, detailed, quick, steady, static, natural,
    soft, warm, indoor, outdoor, casual, neutral, looking, talking, speaking, moving, placing,
    pointing, turns, opens, picks, puts, reaches, takes, makes, adds, explains, demonstrates,
    remains, returns, stops, starts, focuses, zooms, pans, displays, features, includes, reveals,
    person’s, it’s, text, overlay, center, segment, moment, process, step, angle, setting, window,
    desk, board, box, container, tool, piece, part, end, corner, edge, front, back, lighting,
    color, image, logo, title, music, voice, audience, viewer, kitchen, counter, shirt, wall,
    floor, sleeve, apron, glove, gloves, finger, fingers, arm, head, face, eyes, smile, gesture,
    motion, movement, action, sequence, detail, details, texture, shape, pattern, position, space,
    level, layer, line, corner, row, stack, pile, set, pair, group, series, number, amount, bit,
    way, time, point, result, finish, look, style, design, model, brand, label, package, product,
    step‑by‑step, well‑lit, hands‑on, built‑in, light‑colored, long‑sleeved, short‑sleeved,
    user’s, man’s, woman’s, doesn’t, “Save”, “Next”, “OK”, “Start”, “Done”, 5 cm, 10 minutes,
    30 seconds, 2 inches, —, there, they, he, she, who, what, where, when, all, more, most, very,
    slightly, fully, partly, firmly, evenly, neatly, closely, directly, finally, meanwhile,
    afterward, together, already, almost, about, toward, along, beside, above, below, inside,
    outside, beneath, against, without, during, until, because, so, but, or, if, than, once,
    remaining, resulting, following, previous, upper, lower, middle, outer, inner, thin, thick,
    narrow, wide, tall, heavy, tiny, huge, old, new, clean, shiny, smooth, rough, soft‑focus,
    blurred, sharp, framed, centered, focused, angled, tilted, handheld, overhead, sideways,
    frontal, rear, distant, close, nearby, adjacent, surrounding, entire, whole, single, multiple,
    additional, extra, specific, particular, certain, typical, common, usual, ordinary, special,
    careful, precise, deliberate, brief, continuous, repeated, rapid, gradual, sudden, smooth,
    relaxed, focused, attentive, calm, cheerful, serious, friendly, professional, home, studio,
    office, garage, workshop, backyard, yard, street, park, store, stage, bathroom, bedroom,
    living room, hallway, doorway, corner, ceiling, shelf, cabinet, drawer, chair, couch, bed,
    lamp, rug, curtain, plant, poster, sign, banner, caption, subtitle, graphic, animation, chart,
    diagram, arrow, circle, note, notes, list, menu, page, sheet, card, paper, book, notebook, pen,
    pencil, phone, tablet, laptop, monitor, keyboard, remote, cable, bag, bottle, cup, mug, glass,
    jar, bowl, plate, tray, towel, cloth, box, case, basket, bucket, lid, cap, handle, button,
    switch, knob, dial, strap, belt, hat, jacket, hoodie, sweater, dress, jeans, shoes, hair,
    beard, glasses, watch, ring, tattoo, reflection, shadow, sunlight, daylight, lamp light,
    spotlight, backdrop, tabletop, countertop, workbench, foreground, midground, horizon, sky,
    clouds, trees, grass, water, road, car, building, door, gate, fence, path, bridge""",
)
# Quantities take a narrow no-break space (U+202F) between number and unit, as GPT writes them.
_GENERAL = tuple(w.replace(" ", "\u202f") if w[0].isdigit() else w for w in _GENERAL)

# Words for transcript lines: spoken, lowercase, with straight apostrophes like auto captions.
_SPEECH = _words(
    """the, and, to, you, a, I, it, is, that, so, this, we, of, in, going, just, like, gonna,
    it's, i'm, on, what, do, can, really, have, your, if, be, get, now, here, right, okay, um,
    uh, all, one, know, little, bit, want, need, let's, go, see, make, put, take, there, they,
    with, up, out, then, thing, things, look, looks, time, guys, today, video, how, about, back,
    first, next, some, good, nice, great, pretty, actually, basically, well, yeah, oh, because,
    when, don't, we're, you're, that's, there's, i'll, i've, we'll, can't, kind, of, sure, make,
    sure, again, down, over, into, for, my, our, me, us, show, try, use, come, start, done,
    finish, keep, give, these, those, other, another, way, same, different, two, three, five,
    ten, minutes, seconds, inches, around, side, top, bottom, end, middle, easy, hard, quick,
    slow, careful, enough, more, less, very, too, much, many, lot, lots, also, still, always,
    never, maybe, probably, definitely, thank, thanks, watching, subscribe, hello, hi, welcome,
    channel, everybody, everyone, folks""",
)

# Verbs any video can use, most common first. Intransitive ones get the complements below.
_GENERAL_VERBS = _words(
    """speak, talk, hold, point, show, gesture, walk, look, pick up, place, put, move, turn, open,
    close, adjust, demonstrate, explain, display, hold up, present, remove, take, reach, touch,
    wave, nod, smile, stand, sit, watch, read, write, hand, give, carry, lift, set down, examine,
    inspect, check, use, grab, push, pull, wear, enter, leave, lean, clap, laugh, dance, listen,
    introduce, describe, unbox, compare, record, film, count, sign, drink, eat, hug""",
)
_GENERAL_NOUNS = _words(
    """camera, phone, box, bag, paper, card, bottle, cup, book, sign, product, item, object, tool,
    remote, tablet, laptop, package, jar, container, mug, pen, notebook, hand, hands, lid, sheet,
    photo, label, device, microphone, chair, door, sample, piece, cable, glass, bowl, plate,
    towel, map, screen""",
)
_GENERAL_PERSONS = _words(
    "man, woman, person, user, presenter, host, speaker, individual, narrator"
)
_INTRANSITIVE: dict[str, tuple[str | None, ...]] = {
    "speak": (
        "to camera",
        None,
        "and gesture",
        "to the camera",
        "to the audience",
        "into microphone",
        "while gesturing",
        "to viewers",
        "directly to camera",
        "with hands",
        "and point",
    ),
    "talk": (
        "to camera",
        None,
        "to the camera",
        "and gesture",
        "to the audience",
        "with guest",
        "while walking",
        "into the microphone",
    ),
    "gesture": (None, "while speaking", "with hands", "toward the screen", "to the audience"),
    "walk": (
        None,
        "forward",
        "toward camera",
        "across the room",
        "into the kitchen",
        "away",
        "down the street",
        "along the path",
        "around the table",
        "to the door",
    ),
    "look": ("at camera", "at the camera", "around", "at the screen", "down", "at notes", "up"),
    "wave": ("to camera", "at camera", None, "goodbye", "to the audience"),
    "nod": (None, "and smile", "to camera", "in agreement"),
    "smile": (None, "at camera", "and wave", "to the camera"),
    "stand": (None, "still", "up", "behind the counter", "near the table", "in front of camera"),
    "sit": (None, "down", "on the couch", "at the desk", "on the floor", "at the table"),
    "listen": (None, "to the speaker", "to music", "carefully"),
    "dance": (None, "to music", "in place", "with partner", "on stage"),
    "laugh": (None, "at camera", "together", "and talk"),
    "clap": (None, "hands", "along", "to the beat"),
    "lean": ("forward", "back", "toward camera", "on the counter"),
    "enter": ("the room", "frame", "the kitchen", "the building"),
    "leave": ("the room", "frame", None, "the kitchen"),
    "point": (
        "at the screen",
        "at camera",
        "at the map",
        "to the left",
        "at the product",
        None,
        "toward the board",
        "with pen",
        "at the whiteboard",
        "to the right",
        "at the sky",
    ),
}
_FIRST_OBJECT = {"stir": "mixture"}  # the release's most duplicated domain action


@dataclass(frozen=True)
class _Domain:
    name: str
    weight: float
    persons: tuple[str, ...]
    verbs: tuple[str, ...]
    nouns: tuple[str, ...]
    adjectives: tuple[str, ...]


def _domain(name: str, weight: float, persons: str, verbs: str, nouns: str, adjs: str) -> _Domain:
    return _Domain(name, weight, _words(persons), _words(verbs), _words(nouns), _words(adjs))


# A video's topic: it biases its actions, actors and prose. "vlog" uses the general lists only.
_DOMAINS: tuple[_Domain, ...] = (
    _domain(
        "cooking",
        0.17,
        "chef, cook, home cook, woman, man, baker",
        """stir, cut, chop, slice, pour, add, mix, whisk, dice, peel, knead, roll, season,
        sprinkle, fry, boil, bake, flip, taste, serve, plate, garnish, melt, drain, blend, measure,
        crack, beat, spread, toss, scoop, squeeze, rinse, heat, cover, grate, mince, transfer,
        arrange, fold""",
        """mixture, onion, garlic, tomato, cucumber, carrot, potato, pepper, batter, dough, sauce,
        pan, pot, bowl, knife, spoon, spatula, cutting board, oven, butter, flour, sugar, egg,
        eggs, milk, oil, salt, cheese, chicken, beef, rice, pasta, noodles, soup, salad, cake,
        bread, lemon, herbs, spices, water, cream, chocolate, broth, skillet, baking tray,
        vegetables, shrimp, mushrooms, ginger, cilantro, dressing, filling, cookies, pie crust,
        meat, tofu, fish""",
        """chopped, sliced, diced, fresh, hot, melted, boiling, golden, crispy, minced, warm, raw,
        cooked, creamy, thick""",
    ),
    _domain(
        "computer",
        0.09,
        "user, presenter, instructor, narrator",
        """click, type, select, open, drag, scroll, copy, paste, save, launch, install, download,
        search, navigate, zoom, highlight, edit, delete, rename, enter, switch, close, log into,
        configure, export, import, upload, format, resize, crop, insert""",
        """menu, window, folder, file, icon, button, tab, browser, settings, keyboard, mouse,
        screen, desktop, document, spreadsheet, cell, link, toolbar, dialog box, application,
        text box, password, cursor, image, slide, timeline, layer, dropdown menu, search bar,
        website, code, terminal, command, email, checkbox, panel, shortcut, app, video clip,
        font""",
        "new, selected, open, blank, default, hidden, top, left, right, bottom, empty, custom",
    ),
    _domain(
        "diy",
        0.09,
        "worker, technician, man, carpenter, craftsman, handyman, plumber, electrician",
        """drill, screw, unscrew, tighten, loosen, hammer, nail, sand, saw, measure, mark, glue,
        clamp, attach, remove, install, replace, align, paint, weld, solder, wire, connect,
        disconnect, insert, pry, secure, mount, fit, trim, cut, seal, caulk, level""",
        """screw, bolt, nut, wrench, screwdriver, drill, board, plank, wall, pipe, faucet, hinge,
        bracket, panel, cable, wire, battery, circuit board, tape measure, sandpaper, saw, hammer,
        nail, clamp, shelf, door, cabinet, tile, grout, drill bit, frame, beam, valve, switch,
        outlet, fixture, wood, metal sheet, joint, edge""",
        "loose, wooden, metal, rusty, old, new, broken, threaded, flat, rough, smooth, heavy",
    ),
    _domain(
        "beauty",
        0.07,
        "makeup artist, woman, stylist, girl, model, hairdresser",
        """apply, blend, brush, comb, curl, straighten, braid, trim, wash, dry, style, spray, pin,
        tie, section, moisturize, contour, line, dab, pat, smooth, massage, rub, wipe, cleanse,
        file, paint""",
        """foundation, concealer, eyeshadow, mascara, lipstick, eyeliner, brush, sponge, hair,
        strand, curler, comb, mirror, palette, powder, blush, highlighter, serum, cream, nails,
        nail polish, face, eyebrows, lashes, braid, bun, ponytail, lips, cheeks, skin, lotion,
        hairspray, bobby pin, flat iron, hair dryer, primer, toner, cotton pad""",
        "light, dark, pink, nude, thin, thick, wet, dry, smooth, shiny, matte, curly",
    ),
    _domain(
        "fitness",
        0.07,
        "athlete, trainer, coach, man, woman, player, instructor",
        """lift, squat, stretch, lunge, jump, run, kick, throw, catch, swing, dribble, shoot, pass,
        block, punch, row, press, curl, balance, bend, twist, raise, lower, bounce, serve, spin""",
        """barbell, dumbbell, dumbbells, kettlebell, ball, racket, bat, mat, bench, weights, rope,
        net, hoop, goal, bar, legs, arms, knees, punching bag, resistance band, treadmill, bike,
        club, puck, frisbee, skateboard""",
        "heavy, light, left, right, overhead, slow, fast, high, low",
    ),
    _domain(
        "music",
        0.06,
        "guitarist, pianist, musician, singer, drummer, player, man, woman",
        "play, strum, pluck, tune, press, tap, sing, hum, drum, record, adjust, bow, pick, mute",
        """guitar, strings, chord, piano, keys, drum, drumsticks, violin, bow, microphone,
        amplifier, pedal, note, melody, fretboard, ukulele, bass, cymbal, snare, riff, song,
        tuning peg, capo, keyboard, flute, saxophone""",
        "acoustic, electric, open, minor, major, low, high, soft, loud",
    ),
    _domain(
        "crafts",
        0.08,
        "crafter, artist, person, woman, girl, maker",
        """sew, stitch, knit, crochet, thread, fold, cut, glue, paint, draw, sketch, color, shade,
        trace, tape, wrap, tie, weave, iron, pin, measure, mark, stamp, punch, shape, mold, carve,
        decorate""",
        """fabric, needle, thread, yarn, paper, card, scissors, glue, paint, brush, canvas, pencil,
        marker, ribbon, bead, beads, pattern, seam, hook, loop, stitch, sheet, clay, foam, felt,
        button, frame, stencil, outline, sketchbook, watercolor, cardboard""",
        """red, blue, green, yellow, white, black, colored, small, large, folded, thin, bright""",
    ),
    _domain(
        "gardening",
        0.05,
        "gardener, farmer, man, woman, homeowner",
        """dig, plant, water, prune, trim, rake, mow, weed, fertilize, harvest, repot, spray, cut,
        mulch, pull, spread, transplant, fill""",
        """soil, plant, seedling, pot, shovel, hose, lawn, leaves, branch, flowers, seeds, roots,
        tomato plant, hedge, garden bed, compost, trowel, pruning shears, lawn mower, weeds, tree,
        bush, watering can, fence, mulch, vines, grass""",
        "dry, wet, dead, young, green, tall, small, potted",
    ),
    _domain(
        "vehicles",
        0.06,
        "mechanic, driver, rider, technician, man",
        """drive, steer, park, start, check, inspect, remove, install, pump, jack up, tighten,
        wash, polish, replace, change, fill, ride, shift, unscrew, lift""",
        """car, engine, tire, wheel, hood, oil, filter, brake, battery, dashboard, steering wheel,
        bike, chain, pedal, motorcycle, headlight, bumper, spark plug, lug nuts, jack, gear, seat,
        mirror, radiator, hose, brake pad, trunk""",
        "front, rear, flat, new, old, left, right, dirty, clean",
    ),
    _domain(
        "cleaning",
        0.06,
        "cleaner, woman, man, person, homeowner",
        """clean, wipe, scrub, sweep, mop, vacuum, dust, wash, rinse, dry, fold, hang, organize,
        arrange, empty, fill, spray, polish, soak, sort, stack, load, unload""",
        """counter, floor, sink, towel, cloth, sponge, bucket, mop, broom, laundry, shirt, clothes,
        dishes, window, table, bed, sheets, shelf, drawer, basket, stove top, bathtub, toilet,
        mirror, carpet, trash bag, cleaner, detergent, closet, pillow""",
        "dirty, clean, wet, dry, folded, white, stained, greasy",
    ),
    _domain(
        "pets",
        0.04,
        "owner, dog owner, trainer, man, woman, girl, boy",
        """feed, pet, brush, groom, walk, train, hold, bathe, stroke, carry, reward, leash, call,
        play with""",
        """dog, cat, puppy, kitten, leash, collar, treat, treats, food bowl, horse, fish, tank,
        cage, bird, toy, litter box, fur, paw, rabbit, hamster""",
        "small, big, brown, black, white, fluffy, wet, young",
    ),
    _domain(
        "games",
        0.04,
        "child, player, kid, boy, girl, collector, reviewer",
        """play, move, roll, build, stack, open, unbox, show, assemble, arrange, shuffle, deal,
        flip, connect, press, control""",
        """lego, blocks, toy, cards, dice, controller, board game, puzzle, figure, box, car, piece,
        pieces, set, doll, track, robot, game, cube""",
        "small, plastic, colorful, new, toy, tiny, large",
    ),
    _domain(
        "outdoors",
        0.05,
        "hiker, fisherman, camper, man, woman, guide, kayaker",
        """hike, climb, paddle, swim, fish, cast, set up, pitch, light, carry, point, tie, reel,
        row, cross, pack, hang, chop""",
        """trail, rock, tent, fire, backpack, kayak, paddle, fishing rod, line, boat, map, rope,
        water, river, lake, knot, campfire, firewood, hook, bait, lure, stove, compass, hill""",
        "wet, steep, rocky, small, wooden, long, heavy",
    ),
    _domain("vlog", 0.07, "vlogger, host, speaker", "", "", ""),
)

_COLORS = _words("red, blue, black, white, gray, green, yellow, dark, light blue, striped, plaid")
_GARMENTS = _words("shirt, t‑shirt, jacket, apron, hoodie, sweater, cap, dress, hat, uniform, coat")
_FEATURES = _words(
    "long dark hair, short hair, blonde hair, a beard, glasses, curly hair, a ponytail, gray hair"
)
_PERSON_ADJS = _words("young, older, bearded, smiling, seated, standing")
_PLACES = _words(
    """kitchen, garage, room, studio, backyard, workshop, office, bathroom, table, counter, desk,
    floor, stage, park, street"""
)
_PREPOSITIONS = _words("on, with, into, from, onto, next to, in, over, under, using")
_NO_ACTION = _words(
    """No action, no action, No action is being performed, no specific action, The person is not
    performing any action, nothing happens, No visible action, None, no clear action, Not doing
    anything"""
)

# Chunk kinds of the phrase table. A long text is a chain of chunks: it opens with S0 (or V0, an
# imperative verb first), sentences end with E (or SE, a one-chunk sentence), the next opens with
# S. Transcript lines are chains of T0 T T ... (double-spaced, like auto captions) or U0 U U ...
_KINDS = ("S0", "S", "M", "E", "SE", "V0", "T0", "T", "U0", "U")
_KIND = {k: i for i, k in enumerate(_KINDS)}
# Chunks per (domain, kind), powers of two. Small tables keep the random gathers in cache (a 20 MB
# table made text generation three times slower) and repeat phrases about as often as real prose
# does (zstd compresses the result 3.3 to 3.8 times, the release's captions 3.3 to 4.2); the
# tables a text opens and ends with are larger so that texts stay unique.
_KIND_SIZE = {
    "S0": 4096, "S": 512, "M": 2048, "E": 2048, "SE": 256,
    "V0": 2048, "T0": 2048, "T": 2048, "U0": 1024, "U": 1024,
}  # fmt: skip
_PROSE_CHUNK_WORDS = (3, 7)  # inclusive bounds; mean 5
_SPEECH_CHUNK_WORDS = (2, 4)  # mean 3
_SENTENCE_END_P = 0.3  # of a non-final chunk: sentences of about three to four chunks

# Text styles of _Lexicon.prose()
PROSE, IMPERATIVE, TITLE, SPEECH_DOUBLE, SPEECH_SINGLE = range(5)


def _kind_lut() -> np.ndarray:
    """Chunk kind by code = style * 8 + first * 4 + after a sentence end * 2 + ends a sentence."""
    lut = np.empty(5 * 8, np.int32)
    for style in range(5):
        for code in range(8):
            first, after_end, ends = code & 4, code & 2, code & 1
            if style == TITLE:
                kind = "S0" if first else "M"
            elif style == SPEECH_DOUBLE:
                kind = "T0" if first else "T"
            elif style == SPEECH_SINGLE:
                kind = "U0" if first else "U"
            elif first:
                kind = "V0" if style == IMPERATIVE else "S0"
            elif after_end:
                kind = "SE" if ends else "S"
            else:
                kind = "E" if ends else "M"
            lut[style * 8 + code] = _KIND[kind]
    return lut


_KIND_LUT = _kind_lut()


def _third_person(verb: str) -> str:
    head, _, rest = verb.partition(" ")
    if head.endswith(("s", "sh", "ch", "x", "z", "o")):
        head += "es"
    elif head.endswith("y") and head[-2:-1] not in "aeiou":
        head = head[:-1] + "ies"
    else:
        head += "s"
    return f"{head} {rest}".strip()


_DOUBLING = frozenset(
    """cut stir chop put run dig grab swim drop hit set plan shop wrap spin trim slip tap pat rub
    scrub skip snap strum hug jog nod plug drum mop dab sit pin clap flip pet dip knit pop tip zip
    tug scan skim""".split()
)


def _gerund(verb: str) -> str:
    head, _, rest = verb.partition(" ")
    if head.endswith("ie"):
        head = head[:-2] + "ying"
    elif head.endswith("e") and not head.endswith(("ee", "ye", "oe")):
        head = head[:-1] + "ing"
    elif head in _DOUBLING:
        head = head + head[-1] + "ing"
    else:
        head += "ing"
    return f"{head} {rest}".strip()


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _a(word: str) -> str:
    """The word with its indefinite article."""
    return f"{'an' if word[:1] in 'aeiou' else 'a'} {word}"


def _zipf_cdf(n: int, s: float = 1.0, q: float = 2.7) -> np.ndarray:
    """Cumulative Zipf-Mandelbrot weights over ranks 0..n-1 (q flattens the very top)."""
    w = 1.0 / (np.arange(n) + q) ** s
    c = np.cumsum(w)
    return c / c[-1]


def _draw(rng: np.random.Generator, cdf: np.ndarray, size: int) -> np.ndarray:
    return np.minimum(np.searchsorted(cdf, rng.random(size), side="right"), len(cdf) - 1)


def _join_lists(tokens: pa.Array, counts: np.ndarray, sep: str) -> pa.Array:
    offsets = np.zeros(len(counts) + 1, np.int32)
    np.cumsum(counts, out=offsets[1:])
    return pc.binary_join(pa.ListArray.from_arrays(pa.array(offsets), tokens), sep)


def _string_array(offsets: np.ndarray, data: pa.Buffer, valid: np.ndarray | None = None):
    """A string array over an existing data buffer: no text is copied."""
    n = len(offsets) - 1
    if valid is None:
        return pa.StringArray.from_buffers(n, pa.py_buffer(offsets.astype(np.int32)), data)
    bitmap = pa.py_buffer(np.packbits(valid, bitorder="little"))
    nulls = int(n - valid.sum())
    return pa.StringArray.from_buffers(
        n, pa.py_buffer(offsets.astype(np.int32)), data, bitmap, nulls
    )


def _spread(values: pa.Array, present: np.ndarray) -> pa.Array:
    """Put ``values`` (one per True of ``present``) in an array of len(present), null elsewhere."""
    assert values.offset == 0 and len(values) == int(present.sum())
    if len(values) == 0:
        return pa.nulls(len(present), pa.string())
    offs = np.frombuffer(values.buffers()[1], np.int32, len(values) + 1)
    full = np.empty(len(present) + 1, np.int32)
    full[0] = 0
    full[1:] = offs[np.cumsum(present)]
    return _string_array(full, values.buffers()[2], present)


class _Lexicon:
    """Every table text is drawn from, built once per process from a fixed random stream."""

    def __init__(self) -> None:
        rng = _rng(_LEXICON)
        self.n_domains = len(_DOMAINS)
        self.domain_cdf = np.cumsum([d.weight for d in _DOMAINS])
        self.domain_cdf /= self.domain_cdf[-1]
        self.vlog = next(i for i, d in enumerate(_DOMAINS) if d.name == "vlog")
        self._build_chunks(rng)
        # Scalar draws for the small phrase tables: Python's generator is far cheaper per call.
        scalar = random.Random(int(rng.integers(1 << 62)))
        self._build_verbs(scalar)
        self._build_actors(scalar)
        self._build_tails(scalar)
        self.no_action = pa.array(_NO_ACTION)

    # -- phrase chunks for long text -----------------------------------------------------------

    def _build_chunks(self, rng: np.random.Generator) -> None:
        general = pa.array(_GENERAL)
        general_cdf = _zipf_cdf(len(_GENERAL), 1.0)
        speech = pa.array(_SPEECH)
        speech_cdf = _zipf_cdf(len(_SPEECH), 1.0)
        parts, base = [], np.zeros((self.n_domains, len(_KINDS)), np.int64)
        position = 0
        for d, dom in enumerate(_DOMAINS):
            topical = self._topical_words(dom)
            for k, kind in enumerate(_KINDS):
                base[d, k] = position
                n = _KIND_SIZE[kind]
                if kind[0] in "TU":
                    chunk = self._chunks(rng, n, kind, speech, speech_cdf, topical, 0.2)
                else:
                    chunk = self._chunks(rng, n, kind, general, general_cdf, topical, 0.3)
                if kind == "V0":  # imperative: "Open ...", "Stir ..." with the domain's verbs
                    chunk = self._imperative(rng, chunk, dom.verbs or _GENERAL_VERBS)
                parts.append(chunk)
                position += n
        self.chunks = pa.concat_arrays(parts)
        self.chunk_base_flat = base.ravel().astype(np.int32)
        self.chunk_mask = np.array([_KIND_SIZE[k] - 1 for k in _KINDS], np.uint16)

    @staticmethod
    def _topical_words(dom: _Domain) -> tuple[str, ...]:
        forms = [f(v) for v in dom.verbs for f in (_third_person, _gerund)]
        return dom.nouns + dom.adjectives + dom.persons + tuple(forms) or _GENERAL_NOUNS

    @staticmethod
    def _chunks(
        rng: np.random.Generator,
        n: int,
        kind: str,
        common: pa.Array,
        common_cdf: np.ndarray,
        topical: tuple[str, ...],
        topical_share: float,
    ) -> pa.Array:
        """n chunks of 3 to 7 (speech: 2 to 4) words of one kind, as final strings."""
        speech = kind[0] in "TU"
        lo, hi = _SPEECH_CHUNK_WORDS if speech else _PROSE_CHUNK_WORDS
        counts = rng.integers(lo, hi + 1, n)
        total = int(counts.sum())
        vocab = pa.concat_arrays([common, pa.array(topical)])
        v = len(vocab)
        idx = _draw(rng, common_cdf, total)
        topic = rng.random(total) < topical_share
        idx[topic] = len(common) + _draw(rng, _zipf_cdf(len(topical), 0.7), int(topic.sum()))
        first = np.zeros(total, bool)
        first[np.cumsum(counts) - counts] = True
        last = np.zeros(total, bool)
        last[np.cumsum(counts) - 1] = True
        cap_first = kind in ("S0", "S", "SE")
        comma = ~last & (rng.random(total) < (0.0 if speech else 0.06))
        # Variants: plain, capitalised, plain + ",", capitalised + ",".
        capitalised = pa.array([_cap(w) for w in vocab.to_pylist()]) if cap_first else vocab
        variants = pa.concat_arrays(
            [
                vocab,
                capitalised,
                pc.binary_join_element_wise(vocab, ",", ""),
                pc.binary_join_element_wise(capitalised, ",", ""),
            ]
        )
        variant = (first & cap_first).astype(np.int64) + 2 * comma
        joined = _join_lists(variants.take(pa.array(idx + v * variant)), counts, " ")
        if kind in ("T0", "T"):
            joined = pc.replace_substring(joined, " ", "  ")
        lead = {"S0": "", "V0": "", "T0": "", "U0": "", "T": "  "}.get(kind, " ")
        tail = "." if kind in ("E", "SE") else ""
        return pc.binary_join_element_wise(lead, joined, tail, "")

    @staticmethod
    def _imperative(rng: np.random.Generator, chunks: pa.Array, verbs: tuple[str, ...]):
        """Chunks opened by a capitalised verb."""
        heads = pa.array([_cap(v) for v in verbs])
        picked = heads.take(pa.array(rng.integers(0, len(verbs), len(chunks))))
        return pc.binary_join_element_wise(picked, chunks, " ")

    def prose(
        self,
        rng: np.random.Generator,
        words: np.ndarray,
        domain: np.ndarray,
        style: int | np.ndarray = PROSE,
    ) -> pa.Array:
        """One text per entry of ``words`` (its target word count), drawn from its domain.

        The text is a chain of table chunks taken in one pass: the taken chunks' bytes are already
        the concatenated texts, so the string offsets are a subset of the chunk offsets.
        """
        n = len(words)
        style = np.broadcast_to(np.asarray(style, np.int32), (n,))
        per_chunk = np.where(style >= SPEECH_DOUBLE, 3.0, 5.0)
        # Three chunks at least (two for speech): short texts would otherwise repeat.
        min_chunks = np.where(style <= IMPERATIVE, 3, 2)
        n_chunks = np.maximum(min_chunks, np.rint(words / per_chunk)).astype(np.int32)
        ends = np.cumsum(n_chunks, dtype=np.int64)
        total = int(ends[-1]) if n else 0
        if total == 0:
            return pa.array([""] * n, pa.string())
        starts = ends - n_chunks
        # code = style * 8 + first * 4 + previous chunk ended a sentence * 2 + this one ends one
        u = rng.random(total, dtype=np.float32)
        end = u < _SENTENCE_END_P
        end[ends - 1] = True
        code = end.view(np.uint8).astype(np.int32)
        code[1:] += 2 * code[:-1]
        code[starts] = 4 + (code[starts] & 1)
        code += np.repeat(style * 8, n_chunks)
        kind = _KIND_LUT[code]
        slot = np.repeat(domain.astype(np.int32) * len(_KINDS), n_chunks) + kind
        pick = rng.integers(0, 1 << 16, total, dtype=np.uint16) & self.chunk_mask[kind]
        taken = self.chunks.take(pa.array(self.chunk_base_flat[slot] + pick.astype(np.int32)))
        chunk_offsets = np.frombuffer(taken.buffers()[1], np.int32, total + 1)
        offsets = np.empty(n + 1, np.int32)
        offsets[0] = 0
        offsets[1:] = chunk_offsets[ends]
        return _string_array(offsets, taken.buffers()[2])

    # -- verbs, complements and brief actions --------------------------------------------------

    def _build_verbs(self, rng: random.Random) -> None:
        """Verb groups (0 = general, 1 + d = domain d) and C complements per verb."""
        groups = [(_GENERAL_VERBS, _GENERAL_NOUNS, _words("small, new, large, white, black"))]
        groups += [(d.verbs, d.nouns, d.adjectives) for d in _DOMAINS]
        self.n_complements = 48
        verbs: list[str] = []
        complements: list[str | None] = []
        self.verb_base, self.verb_cdf = [], []
        for group_verbs, nouns, adjs in groups:
            self.verb_base.append(len(verbs))
            self.verb_cdf.append(_zipf_cdf(max(len(group_verbs), 1), 1.0, 2.5))
            for verb in group_verbs:
                verbs.append(verb)
                complements += self._complements(rng, verb, nouns, adjs, group_verbs)
        self.n_verbs = len(verbs)
        forms = [verbs, [_cap(v) for v in verbs]]
        forms += [[_third_person(v) for v in verbs], [_gerund(v) for v in verbs]]
        # Form index: 0 lowercase base, 1 capitalised base, 2 "points", 3 "cutting".
        self.verb_forms = pa.array([f for form in forms for f in form])
        self.complements = pa.array(complements, pa.string())
        self.complement_cdf = _zipf_cdf(self.n_complements, 1.0, 2.0)

    def _complements(
        self,
        rng: random.Random,
        verb: str,
        nouns: tuple[str, ...],
        adjs: tuple[str, ...],
        verbs: tuple[str, ...],
    ) -> list[str | None]:
        """The verb's complements, most frequent first: its favourite objects lead."""
        c = self.n_complements
        if verb in _INTRANSITIVE:
            fixed = list(_INTRANSITIVE[verb])
            objects = rng.sample(nouns, len(nouns))
            extra = [f"{p} the {o}" for p, o in zip(_PREPOSITIONS, objects, strict=False)]
            return (fixed + extra * c)[:c]
        objects = rng.sample(nouns, len(nouns))
        if verb in _FIRST_OBJECT:
            objects.insert(0, _FIRST_OBJECT[verb])
        templates = ("o", "the o", "a o", "the a o", "o p the o2", "o and o2", "and v o", None)
        weights = (0.27, 0.27, 0.13, 0.08, 0.12, 0.04, 0.05, 0.04)
        out: list[str | None] = []
        for r in range(c):
            favourite = r == 0 and verb in _FIRST_OBJECT
            template = "o" if favourite else rng.choices(templates, weights)[0]
            if template is None:
                out.append(None)
                continue
            words = {
                "o": objects[r % len(objects)],
                "o2": objects[(r * 7 + 3) % len(objects)],
                "a": rng.choice(adjs),
                "p": rng.choice(_PREPOSITIONS),
                "v": rng.choice(verbs),
            }
            out.append(" ".join(words.get(t, t) for t in template.split()))
        return out

    def _verbs(self, rng: np.random.Generator, domain: np.ndarray, general_share: float):
        """Global verb indices: per node, a general verb or one of its domain's."""
        group = np.where(
            (domain == self.vlog) | (rng.random(len(domain)) < general_share), 0, 1 + domain
        )
        verb = np.empty(len(domain), np.int64)
        for g in np.unique(group):
            mask = group == g
            verb[mask] = self.verb_base[g] + _draw(rng, self.verb_cdf[g], int(mask.sum()))
        return verb

    def brief_actions(self, rng: np.random.Generator, domain: np.ndarray) -> pa.Array:
        """'Stir mixture', 'speak to camera', 'points at the map', 'cutting onions' ..."""
        n = len(domain)
        verb = self._verbs(rng, domain, 0.25)
        form = _draw(rng, np.cumsum([0.06, 0.86, 0.04, 0.04]), n)
        complement = verb * self.n_complements + _draw(rng, self.complement_cdf, n)
        return pc.binary_join_element_wise(
            self.verb_forms.take(pa.array(form * self.n_verbs + verb)),
            self.complements.take(pa.array(complement)),
            " ",
            null_handling="skip",
        )

    # -- actors, PLM actions ---------------------------------------------------------------------

    def _build_actors(self, rng: random.Random) -> None:
        self.n_actors = 256
        actors = []
        for dom in _DOMAINS:
            persons = dom.persons + _GENERAL_PERSONS
            objects = dom.nouns or _GENERAL_NOUNS
            for _ in range(self.n_actors):
                actors.append(self._actor(rng, persons, objects))
        self.actors = pa.array(actors)
        self.actor_cdf = _zipf_cdf(self.n_actors, 0.9, 4.0)

    @staticmethod
    def _actor(rng: random.Random, persons: tuple[str, ...], objects: tuple[str, ...]) -> str:
        pick = rng.choice
        p = persons[min(int(rng.expovariate(0.5)), len(persons) - 1)]
        the = rng.random() < 0.6
        head = f"the {p}" if the else _a(p)
        head = _cap(head) if rng.random() < 0.3 else head
        colour, garment, feature = pick(_COLORS), pick(_GARMENTS), pick(_FEATURES)
        adjective = pick(_PERSON_ADJS)
        adj_head = f"the {adjective} {p}" if the else _a(f"{adjective} {p}")
        templates = (
            f"{head}",
            f"{head} in the {colour} {garment}",
            f"{head} wearing a {colour} {garment}",
            f"{head} with {feature}",
            f"the {p}’s hands",
            f"{head} (off‑screen)",
            f"{head} handling the {pick(objects)}",
            f"{adj_head}",
            f"{head} standing at the {pick(_PLACES)}",
            f"{head} holding the {pick(objects)} in the {pick(_PLACES)}",
            f"{head} in the {colour} {garment}, seen from above",
            f"{head} and a second person beside them",
            f"the {p} (only the hands are visible)",
            f"{adj_head} with {feature} wearing a {colour} {garment}",
        )
        weights = (16, 12, 10, 10, 4, 3, 8, 6, 7, 7, 4, 4, 4, 5)
        return rng.choices(templates, weights)[0]

    def actors_for(self, rng: np.random.Generator, domain: np.ndarray) -> pa.Array:
        pick = domain * self.n_actors + _draw(rng, self.actor_cdf, len(domain))
        return self.actors.take(pa.array(pick))

    def _build_tails(self, rng: random.Random) -> None:
        self.n_tails = 128
        tails = []
        for dom in _DOMAINS:
            nouns = dom.nouns or _GENERAL_NOUNS
            adjs = dom.adjectives or ("small", "white", "large")
            for _ in range(self.n_tails):
                prep, noun, place = (
                    rng.choice(_PREPOSITIONS),
                    rng.choice(nouns),
                    rng.choice(_PLACES),
                )
                options = (
                    f"{prep} the {noun}",
                    f"{prep} {_a(rng.choice(adjs))} {noun}",
                    f"in the {place}",
                    f"{prep} the {noun} in the {place}",
                    "in front of the camera",
                    "with both hands",
                )
                tails.append(rng.choices(options, (0.3, 0.2, 0.15, 0.25, 0.05, 0.05))[0])
        self.tails = pa.array(tails)

    def plm_actions(self, rng: np.random.Generator, domain: np.ndarray) -> pa.Array:
        """PLM's short action phrases, with free-form 'no action' strings (never "N/A")."""
        n = len(domain)
        verb = self._verbs(rng, domain, 0.3)
        form = np.where(rng.random(n) < 0.1, 0, 1)
        complement = verb * self.n_complements + _draw(rng, self.complement_cdf, n)
        tail = domain * self.n_tails + rng.integers(0, self.n_tails, n)
        tails = self.tails.take(pa.array(tail, mask=rng.random(n) > 0.85))
        phrase = pc.binary_join_element_wise(
            self.verb_forms.take(pa.array(form * self.n_verbs + verb)),
            self.complements.take(pa.array(complement)),
            tails,
            " ",
            null_handling="skip",
        )
        no_action = self.no_action.take(pa.array(rng.integers(0, len(self.no_action), n)))
        return pc.if_else(pa.array(rng.random(n) < 0.015), no_action, phrase)


@cache
def _lexicon() -> _Lexicon:
    return _Lexicon()


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
    return _string_array(np.arange(n + 1) * 11, pa.py_buffer(chars.tobytes()))


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
    return _string_array(np.arange(n + 1) * 36, pa.py_buffer(_uuid_bytes(rng, n).tobytes()))


def _uuid(rng: np.random.Generator) -> str:
    return _uuid_bytes(rng, 1).tobytes().decode()


# =============================================================================================
# Trees
# =============================================================================================

# Tuned so that the shape matches the real sample and the paper (see the module docstring).
_LEAF_SCALE = (3.0, 0.45)  # median seconds and log-sd of the per-video split scale
_STOP_SHAPE = 3.0  # sharpness of the stop probability exp(-(d / scale)^k)
_MAX_NODES_SCALE = 1450.0  # long videos split coarser: scale >= duration / this
_MAX_LEVEL = 24
_MIN_CHILD = 0.5  # seconds
_NEAR_GPT = 0.006  # no node lasts within this of the 4 s gpt threshold


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
        near = (np.abs(left - GPT_MIN_SECONDS) < _NEAR_GPT) | (
            np.abs(right - GPT_MIN_SECONDS) < _NEAR_GPT
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
    lex = _lexicon()
    domain = np.searchsorted(lex.domain_cdf, rng.random(n), side="right")
    tree_end = np.round(np.clip(230.0 * np.exp(rng.normal(0.0, 0.85, n)), 10.0, 5400.0), 2)
    # A few trees run past the stated duration (1 to 40 s); the rest differ by rounding only.
    overrun = np.where(
        rng.random(n) < 0.06, np.clip(5.0 * np.exp(rng.normal(0.0, 0.9, n)), 1.0, 40.0), 0.0
    )
    duration = np.maximum(np.rint(tree_end - overrun), 1).astype(np.int64)
    return _Videos(uid, np.minimum(domain, lex.n_domains - 1), tree_end, duration)


def _gpt_array(rng: np.random.Generator, domain: np.ndarray, present: np.ndarray) -> pa.Array:
    """The gpt struct column: present where asked, with the release's "N/A" quirks."""
    lex = _lexicon()
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
    brief = pc.if_else(no_action, NA, brief)
    detailed = pc.if_else(no_action, NA, detailed)
    actor = pc.if_else(pc.or_(no_action, no_actor), NA, actor)
    mask = pa.array(~present)
    summary = pa.StructArray.from_arrays(
        [_spread(summary_brief, present), _spread(summary_detailed, present)],
        fields=list(_SUMMARY_T),
        mask=mask,
    )
    full = [_spread(a, present) for a in (brief, detailed, actor)]
    action = pa.StructArray.from_arrays(full, fields=list(_ACTION_T), mask=mask)
    return pa.StructArray.from_arrays([summary, action], fields=list(_GPT_T), mask=mask)


def _nodes_array(rng: np.random.Generator, videos: _Videos) -> tuple[pa.Array, np.ndarray]:
    """The flat node structs of all videos, and the node count of each video."""
    lex = _lexicon()
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
        _spread(plm_caption, caption_present),
        _spread(llama3, forest.leaf),
        _gpt_array(rng, domain, gpt_present),
    ]
    counts = np.bincount(forest.video, minlength=n_videos)
    return pa.StructArray.from_arrays(arrays, fields=list(_NODE_T)), counts


def _transcripts(rng: np.random.Generator, videos: _Videos) -> pa.Array:
    """Transcript lists: times strictly increasing from near 0, as text ("32.16", "64.0")."""
    lex = _lexicon()
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
    line_structs = pa.StructArray.from_arrays([text_time, text], fields=list(_LINE_T))
    offsets = np.concatenate([[0], np.cumsum(lines)]).astype(np.int32)
    list_type = _META_T.field("transcript").type
    return pa.ListArray.from_arrays(pa.array(offsets), line_structs, type=list_type)


def _metadata(rng: np.random.Generator, videos: _Videos) -> pa.Array:
    lex = _lexicon()
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
    return pa.StructArray.from_arrays(arrays, fields=list(_META_T))


def _videos_table(keys: tuple[int, ...], first: int, n: int, seed: int) -> pa.Table:
    """n clean videos (global indices first ..), drawn from the random stream ``keys``."""
    rng = _rng(*keys)
    videos = _draw_videos(rng, _video_uids(seed, first, n))
    nodes, counts = _nodes_array(rng, videos)
    metadata = _metadata(rng, videos)
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
    node_lists = pa.ListArray.from_arrays(
        pa.array(offsets), nodes, type=RAW_ARROW_SCHEMA.field("nodes").type
    )
    return pa.Table.from_arrays([videos.uid, metadata, node_lists], schema=RAW_ARROW_SCHEMA)


# =============================================================================================
# Row-level faults
# =============================================================================================


@dataclass(frozen=True)
class _Planned:
    """One row fault to inject: into video ``video`` (a global index); for a duplicate, ``video``
    is the original and ``target`` the shard whose file gets the copy."""

    kind: str
    video: int
    target: int = -1


@dataclass(frozen=True)
class _Plan:
    faults: tuple[_Planned, ...]
    reserved: frozenset[int]  # every planned video: a fallback never lands on one


def _bounds(videos: int, shards: int) -> list[int]:
    return [k * videos // shards for k in range(shards + 1)]


def _shard_of(bounds: list[int], video: int) -> int:
    return int(np.searchsorted(bounds, video, side="right")) - 1


def min_fault_videos() -> int:
    """The smallest corpus ``faults=True`` accepts: room for every fault and its fallbacks."""
    return 2 * 3 * len(ROW_FAULT_KINDS)


def _fault_plan(seed: int, videos: int, shards: int) -> _Plan:
    """Which video gets which fault: a function of (seed, videos, shards) only."""
    if videos < min_fault_videos():
        raise ValueError(f"faults need at least {min_fault_videos()} videos, got {videos}")
    rng = _rng(_PLAN, seed, videos, shards)
    counts = [int(rng.integers(2, 4)) for _ in ROW_FAULT_KINDS]
    picks = iter(rng.choice(videos, size=sum(counts), replace=False).tolist())
    bounds = _bounds(videos, shards)
    faults = []
    for kind, count in zip(ROW_FAULT_KINDS, counts, strict=True):
        for _ in range(count):
            video = next(picks)
            target = (_shard_of(bounds, video) + 1) % shards if kind == _DUPLICATE_VIDEO else -1
            faults.append(_Planned(kind, video, target))
    faults.sort(key=lambda f: f.video)
    return _Plan(tuple(faults), frozenset(f.video for f in faults))


_DUPLICATE_VIDEO = "duplicate_video_across_shards"


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
    gpt = _gpt_array(rng, np.array([_lexicon().vlog]), np.array([True])).to_pylist()[0]
    if gpt["action"]["brief"] == NA:  # an "N/A" action would break a second rule
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
    row = dict(t.nodes[a], node_id=_uuid(rng), parent_id=_uuid(rng))
    t.nodes.insert(a + 1, row)
    detail = f"extra leaf at {t.where(a)}; its parent_id {row['parent_id']} names no node"
    return row["node_id"], [row["node_id"]], detail


def _second_root(t: _Tree, rng: np.random.Generator) -> _Injected:
    leaf = t.nodes[_pick(rng, t.leaves)]
    root = t.nodes[t.root]
    row = dict(leaf, node_id=_uuid(rng), parent_id=None, level=0)
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
        if d < GPT_MIN_SECONDS <= longer + _NEAR_GPT or abs(longer - GPT_MIN_SECONDS) < _NEAR_GPT:
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
        return gpt is not None and NA not in gpt["action"].values()

    c = _pick(rng, [i for i in t.internal if fits(i)])
    if c is None:
        return None
    t.nodes[c]["gpt"]["action"]["brief"] = NA
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


def _inject(table: pa.Table, local: int, kind: str, rng: np.random.Generator):
    """Break video ``local`` of ``table``; returns (its new one-row table, injected) or None."""
    row = table.slice(local, 1).to_pylist()[0]
    injected = _INJECTORS[kind](_Tree(row["nodes"]), rng)
    if injected is None:
        return None
    row["nodes"].sort(key=lambda n: (n["level"], n["start"]))  # stable: ties keep their order
    return pa.Table.from_pylist([row], schema=RAW_ARROW_SCHEMA), injected


def _replace_rows(table: pa.Table, rows: dict[int, pa.Table]) -> pa.Table:
    parts, previous = [], 0
    for i in sorted(rows):
        parts += [table.slice(previous, i - previous), rows[i]]
        previous = i + 1
    parts.append(table.slice(previous))
    return pa.concat_tables(parts).combine_chunks()


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
    plan: _Plan | None

    @property
    def bounds(self) -> list[int]:
        return _bounds(self.videos, self.shards)

    def row_groups(self, shard: int) -> int:
        lo, hi = self.bounds[shard], self.bounds[shard + 1]
        return -(-(hi - lo) // ROW_GROUP_VIDEOS)

    def clean_row_group(self, shard: int, rg: int) -> pa.Table:
        first = self.bounds[shard] + rg * ROW_GROUP_VIDEOS
        n = min(ROW_GROUP_VIDEOS, self.bounds[shard + 1] - first)
        return _videos_table((_DATA, self.seed, shard, rg), first, n, self.seed)


def _row_group(layout: _Layout, shard: int, rg: int) -> tuple[pa.Table, list[dict]]:
    """One row group of a shard, faults injected; fault entries carry the row within the file."""
    table = layout.clean_row_group(shard, rg)
    if layout.plan is None:
        return table, []
    first = layout.bounds[shard] + rg * ROW_GROUP_VIDEOS
    rows_before = rg * ROW_GROUP_VIDEOS
    rng = _rng(_FAULTS, layout.seed, shard, rg)
    taken = set(layout.plan.reserved)
    replaced: dict[int, pa.Table] = {}
    entries = []
    for fault in layout.plan.faults:
        if fault.kind == _DUPLICATE_VIDEO or not first <= fault.video < first + len(table):
            continue
        local = fault.video - first
        # A video without a node the fault fits hands it on to the next free video.
        for step in range(len(table)):
            candidate = (local + step) % len(table)
            if candidate in replaced or (step and first + candidate in taken):
                continue
            result = _inject(table, candidate, fault.kind, rng)
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
    return (_replace_rows(table, replaced) if replaced else table), entries


def _append_duplicates(layout: _Layout, shard: int, table: pa.Table, rows_before: int):
    """Copies of other shards' clean videos, appended to this shard's last row group."""
    copies, entries = [], []
    for fault in layout.plan.faults:
        if fault.kind != _DUPLICATE_VIDEO or fault.target != shard:
            continue
        source = _shard_of(layout.bounds, fault.video)
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
    layout = _Layout(seed, videos, shards, _fault_plan(seed, videos, shards) if faults else None)
    _lexicon()  # build it once, before the worker thread needs it
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
        raise ValueError(f"seed must be >= 0, got {seed}")
    if videos < 1 or shards < 1 or shards > videos:
        raise ValueError(f"need 1 <= shards <= videos, got videos={videos} shards={shards}")
    if not 0 <= shard < shards:
        raise ValueError(f"shard {shard} is not in 0..{shards - 1}")


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
# File-level faults
# =============================================================================================


def _drop_node_field(table: pa.Table, name: str) -> pa.Table:
    lists = table["nodes"].combine_chunks()
    flat = lists.flatten()
    fields = [f for f in _NODE_T if f.name != name]
    struct = pa.StructArray.from_arrays([flat.field(f.name) for f in fields], fields=fields)
    rebuilt = pa.ListArray.from_arrays(lists.offsets, struct)
    return table.set_column(2, pa.field("nodes", rebuilt.type), rebuilt)


def _with_node_type(table: pa.Table, name: str, dtype: pa.DataType) -> pa.Table:
    fields = [pa.field(f.name, dtype) if f.name == name else f for f in _NODE_T]
    schema = pa.schema(
        [*list(RAW_ARROW_SCHEMA)[:2], pa.field("nodes", pa.list_(pa.struct(fields)))]
    )
    return table.cast(schema)


def _write_file_faults(out: Path, seed: int, videos: int) -> list[dict]:
    """One broken file per file-level kind, with videos that are not in the shards."""
    entries = []
    for k, kind in enumerate(FILE_FAULT_KINDS):
        path = out / f"bad-{kind}.parquet"
        table = _videos_table((_BAD, seed, k), videos + 3 * k, 3, seed)
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
        _fault_plan(seed, videos, shards)  # fail before writing anything
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    _remove_stale(out)
    written = [write_shard(out, k, videos, seed, shards, faults) for k in range(shards)]
    row_faults = [entry for shard in written for entry in shard["row_faults"]]
    file_faults = _write_file_faults(out, seed, videos) if faults else []
    counts = dict.fromkeys(FAULT_KINDS, 0)
    for entry in row_faults + file_faults:
        counts[entry["kind"]] += 1
    manifest = {
        "generator": "pipelines.generate",
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
