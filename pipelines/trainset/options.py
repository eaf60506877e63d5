"""The query of a selection: its filters and split, parsed and checked without Spark.

`add_selection_options` puts the filter flags on an argparse parser (cli.py's `select` and
`export`), `query_from_args` turns them into a `Query`, refusing what cannot work in one line
(a usage mistake, exit 2, as a bad choice of a flag argparse checks): an unknown field or format, fractions that do not sum to 1, a bad level. This module
never imports pyspark, so `a100m --help` stays fast.
"""

from __future__ import annotations

import argparse
import math
import re
from dataclasses import asdict, dataclass

from pipelines.core.errors import UsageError


class SelectionError(UsageError):
    """A selection or export that cannot be made as asked; one line (exit 2, as every usage
    mistake: `export --format coco` and `sql --format coco` exit alike)."""


# The segment columns a selection carries (docs/trainset.md), in this order.
TEXT_FIELDS = (
    "action_brief",
    "action_detailed",
    "action_actor",
    "summary_brief",
    "summary_detailed",
    "plm_action",
    "plm_caption",
    "llama3_caption",
)
SEGMENT_COLUMNS = (
    "video_uid",
    "node_id",
    "parent_id",
    "level",
    "start",
    "end",
    "duration",
    "is_leaf",
    *TEXT_FIELDS,
    "video_duration",
    "split",
)
FORMATS = (
    "activitynet",
    "dense-captions",
    "charades-sta",
    "steps",
    "hierarchy",
    "moment-detr",
    "jsonl",
    "parquet",
)
DEFAULT_FIELD = {
    "activitynet": "action_brief",
    "dense-captions": "summary_brief",
    "charades-sta": "action_brief",
    "steps": "action_brief",
    "moment-detr": "action_brief",
}
DEDUP_SCOPES = ("video", "corpus")
NO_SPLIT = "all"
_SPLIT_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,31}$")
# what an id prefix may hold: nothing that splits a Charades-STA line or a CSV field
_ID_PREFIX = re.compile(r"^[A-Za-z0-9_.-]{0,16}$")


@dataclass(frozen=True)
class Query:
    """What a selection keeps; every field is recorded in the manifest."""

    levels: tuple[int, ...] = ()
    leaves: bool | None = None  # True: leaves only; False: internal nodes only
    min_duration: float | None = None
    max_duration: float | None = None
    verbs: tuple[str, ...] = ()
    actor: str | None = None  # case-insensitive substring of action_actor
    actor_regex: str | None = None  # Java regex on action_actor
    exclude_na: bool = False
    dedup: str | None = None  # "video" or "corpus"
    videos_file: str | None = None
    with_transcript: bool = False
    sample: int | None = None
    seed: int = 0
    split: tuple[tuple[str, float], ...] = ()
    resampled: str | None = None  # an `a100m resample` folder: --sample draws by its weights

    def as_json(self) -> dict:
        out = asdict(self)
        out["levels"] = list(self.levels)
        out["verbs"] = list(self.verbs)
        out["split"] = [[name, fraction] for name, fraction in self.split]  # order matters
        return out

    @classmethod
    def from_json(cls, data: dict) -> Query:
        fields = dict(data)
        fields["levels"] = tuple(fields.get("levels") or ())
        fields["verbs"] = tuple(fields.get("verbs") or ())
        fields["split"] = tuple((name, float(f)) for name, f in fields.get("split") or ())
        fields.setdefault("resampled", None)
        return cls(**fields)

    @property
    def split_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.split) or (NO_SPLIT,)


def parse_split(spec: str) -> tuple[tuple[str, float], ...]:
    """`train=0.8,val=0.1,test=0.1` -> (("train", 0.8), ...); fractions must sum to 1."""
    parts = [p.strip() for p in spec.split(",") if p.strip()]
    result: list[tuple[str, float]] = []
    for part in parts:
        name, sep, value = part.partition("=")
        name = name.strip()
        if not sep or not _SPLIT_NAME.match(name):
            raise SelectionError(
                f"bad split {part!r} in --split {spec}: write NAME=FRACTION, e.g. "
                "train=0.8,val=0.1,test=0.1"
            )
        try:
            fraction = float(value)
        except ValueError:
            raise SelectionError(
                f"bad fraction {value!r} for split {name} in --split {spec}"
            ) from None
        if not math.isfinite(fraction) or not 0 < fraction <= 1:
            raise SelectionError(f"split {name}: fraction {value} is not in (0, 1]")
        if name in dict(result) or name == NO_SPLIT:
            raise SelectionError(f"split name {name} repeated or reserved in --split {spec}")
        result.append((name, fraction))
    if not result:
        raise SelectionError(f"--split {spec!r} names no split")
    total = math.fsum(f for _, f in result)
    if abs(total - 1.0) > 1e-6:
        raise SelectionError(f"split fractions in --split {spec} sum to {total:g}, not 1")
    return tuple(result)


def parse_levels(spec: str) -> tuple[int, ...]:
    try:
        levels = tuple(sorted({int(p) for p in spec.split(",") if p.strip()}))
    except ValueError:
        raise SelectionError(f"--level {spec}: give whole numbers, e.g. --level 0,1,2") from None
    if not levels or min(levels) < 0:
        raise SelectionError(f"--level {spec}: give levels >= 0, e.g. --level 0,1,2")
    return levels


def check_id_prefix(prefix: str) -> str:
    """--id-prefix: up to 16 letters, digits, `_`, `-` or `.` (e.g. `v_`, as ActivityNet's
    own ids and PDVC's loaders have them)."""
    if not _ID_PREFIX.match(prefix):
        raise SelectionError(
            f"--id-prefix {prefix!r}: give up to 16 letters, digits, '_', '-' or '.', e.g. v_"
        )
    return prefix


def check_fps(fps: float) -> float:
    if not math.isfinite(fps) or fps <= 0:
        raise SelectionError(f"--fps {fps:g}: give a frame rate above 0, e.g. 30")
    return float(fps)


def check_field(name: str, known: tuple[str, ...], flag: str) -> str:
    if name not in known:
        raise SelectionError(f"{flag} {name}: unknown field; known fields: {', '.join(known)}")
    return name


def add_selection_options(parser: argparse.ArgumentParser) -> None:
    """The filter flags shared by `select` and `export` (docs/trainset.md)."""
    group = parser.add_argument_group("filters (they compose: a segment must pass them all)")
    group.add_argument("--level", metavar="N[,N]", help="only nodes at these tree levels")
    kind = group.add_mutually_exclusive_group()
    kind.add_argument("--leaves", action="store_true", help="only leaves")
    kind.add_argument("--internal", action="store_true", help="only internal nodes")
    group.add_argument("--min-duration", type=float, metavar="S", help="segments >= S seconds")
    group.add_argument("--max-duration", type=float, metavar="S", help="segments <= S seconds")
    group.add_argument(
        "--verb",
        metavar="LEMMA[,LEMMA]",
        help="brief action's verb lemma (the actions table, from `a100m stats`)",
    )
    group.add_argument("--actor", metavar="TEXT", help="actor contains TEXT (any case)")
    group.add_argument("--actor-regex", metavar="RE", help="actor matches the Java regex RE")
    group.add_argument(
        "--exclude-na", action="store_true", help='drop segments whose brief action is "N/A"'
    )
    group.add_argument(
        "--dedup",
        metavar="video|corpus",
        help="one segment per normalised brief action per video, or per corpus",
    )
    group.add_argument("--videos", metavar="FILE", help="only these video ids (one per line)")
    group.add_argument(
        "--with-transcript", action="store_true", help="only videos with a transcript"
    )
    group.add_argument("--sample", type=int, metavar="N", help="N segments drawn at random")
    group.add_argument("--seed", type=int, default=0, help="seed of --sample (default 0)")
    group.add_argument(
        "--resampled",
        metavar="DIR",
        help="with --sample: draw by the weights of this `a100m resample` output",
    )
    group.add_argument(
        "--split",
        metavar="NAME=F,...",
        help="split by a hash of video_uid, e.g. train=0.8,val=0.1,test=0.1",
    )


def query_from_args(args: argparse.Namespace) -> Query:
    """The Query the flags ask for, or one SelectionError line."""
    if args.min_duration is not None and args.max_duration is not None:
        if args.min_duration > args.max_duration:
            raise SelectionError(
                f"--min-duration {args.min_duration:g} is above --max-duration "
                f"{args.max_duration:g}: nothing could match"
            )
    if args.dedup is not None and args.dedup not in DEDUP_SCOPES:
        raise SelectionError(f"--dedup {args.dedup}: give video or corpus")
    if args.sample is not None and args.sample <= 0:
        raise SelectionError(f"--sample {args.sample}: give a number of segments > 0")
    if args.actor_regex is not None:
        try:
            re.compile(args.actor_regex)
        except re.error as exc:
            raise SelectionError(f"--actor-regex {args.actor_regex}: not a regex ({exc})") from None
    if args.resampled is not None and args.sample is None:
        raise SelectionError("--resampled needs --sample N: the number of segments to draw")
    verbs = tuple(sorted({v.strip().lower() for v in (args.verb or "").split(",") if v.strip()}))
    return Query(
        levels=parse_levels(args.level) if args.level else (),
        leaves=True if args.leaves else (False if args.internal else None),
        min_duration=args.min_duration,
        max_duration=args.max_duration,
        verbs=verbs,
        actor=args.actor,
        actor_regex=args.actor_regex,
        exclude_na=args.exclude_na,
        dedup=args.dedup,
        videos_file=args.videos,
        with_transcript=args.with_transcript,
        sample=args.sample,
        seed=args.seed,
        split=parse_split(args.split) if args.split else (),
        resampled=args.resampled,
    )


def add_select_options(parser: argparse.ArgumentParser) -> None:
    """`a100m select`'s own flags, besides the filters."""
    parser.add_argument("--out", required=True, help="output folder (outside the lake)")
    parser.add_argument(
        "--as",
        dest="table_format",
        default="parquet",
        metavar="parquet|delta",
        help="write the segments as Parquet (default) or as a Delta table",
    )
    parser.add_argument("--overwrite", action="store_true", help="replace an existing output")
    add_selection_options(parser)


def add_export_options(parser: argparse.ArgumentParser) -> None:
    """`a100m export`'s own flags, besides the filters."""
    parser.add_argument("--format", required=True, metavar="FORMAT", help=", ".join(FORMATS))
    parser.add_argument("--out", required=True, help="output folder (outside the lake)")
    parser.add_argument(
        "--selection", metavar="DIR", help="export this `a100m select` output (else the lake)"
    )
    parser.add_argument(
        "--field",
        metavar="NAME",
        help="the label / sentence field (default: action_brief; summary_brief for dense-captions)",
    )
    parser.add_argument(
        "--fields", metavar="A,B,...", help="columns of jsonl / parquet (default: all)"
    )
    parser.add_argument(
        "--precision",
        type=int,
        default=3,
        metavar="D",
        help="decimals of the times in JSON and text formats (default 3)",
    )
    parser.add_argument(
        "--id-prefix",
        default="",
        metavar="TEXT",
        help="written before every video id in the JSON and text formats, e.g. v_ (default none)",
    )
    parser.add_argument(
        "--fps",
        type=float,
        metavar="F",
        help="activitynet: the fps written for every video (default 30; the corpus has none)",
    )
    parser.add_argument("--overwrite", action="store_true", help="replace an existing output")
    add_selection_options(parser)


def add_resample_options(parser: argparse.ArgumentParser) -> None:
    """`a100m resample`'s flags."""
    parser.add_argument("--out", required=True, help="output folder (outside the lake)")
    parser.add_argument("--k", type=int, required=True, help="number of k-means clusters")
    parser.add_argument("--seed", type=int, default=0, help="seed of Word2Vec and k-means")
    parser.add_argument(
        "--vector-size", type=int, default=32, help="Word2Vec vector size (default 32)"
    )
    parser.add_argument("--overwrite", action="store_true", help="replace an existing output")


def _floats(spec: str, flag: str) -> tuple[float, ...]:
    try:
        values = tuple(float(p) for p in spec.split(",") if p.strip())
    except ValueError:
        raise SelectionError(f"{flag} {spec}: give numbers, e.g. 0.3,0.5,0.7") from None
    if not values or not all(0 < v <= 1 for v in values):
        raise SelectionError(f"{flag} {spec}: give thresholds in (0, 1], e.g. 0.3,0.5,0.7")
    return values


def evaluate_thresholds(spec: str) -> tuple[float, ...]:
    return _floats(spec, "--tiou")


def evaluate_top_k(spec: str) -> tuple[int, ...]:
    try:
        values = tuple(int(p) for p in spec.split(",") if p.strip())
    except ValueError:
        values = ()
    if not values or min(values) < 1:
        raise SelectionError(f"--top-k {spec}: give whole numbers >= 1, e.g. 1,5")
    return values


def add_evaluate_options(parser: argparse.ArgumentParser) -> None:
    """`a100m evaluate`'s flags (docs/readers.md)."""
    parser.add_argument("export", help="an `a100m export` folder (activitynet or moment-detr)")
    parser.add_argument(
        "--predictions",
        required=True,
        metavar="FILE",
        help="ActivityNet results JSON (activitynet) or QVHighlights JSON Lines (moment-detr)",
    )
    parser.add_argument("--split", help="the export's split to score (default: its only one)")
    parser.add_argument("--out", help="write metrics.json and metrics.html into this folder")
    parser.add_argument(
        "--tiou", default="0.3,0.5,0.7", metavar="T,...", help="tIoU thresholds (0.3,0.5,0.7)"
    )
    parser.add_argument("--top-k", default="1,5", metavar="K,...", help="Recall@k (1,5)")
