"""The query of a selection: its filters and split, parsed and checked without Spark.

A `Query` refuses, when it is made, what cannot work, in one line naming its field (a usage
mistake, exit 2): fractions that do not sum to 1, a bad level, a minimum above the maximum. The
`parse_*` functions read the text forms the CLI takes (`train=0.8,val=0.2`, `0,1,2`), the
`check_*` functions check the export's and the evaluation's options. Messages name options by
their Python names (core/errors.py, `A100mError.about`); the CLI shows its flags. This module
never imports pyspark, so `a100m --help` stays fast.
"""

from __future__ import annotations

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

    def __post_init__(self) -> None:
        """Refuse a query that cannot work, in one line naming its field."""
        if self.levels:
            check_levels(self.levels)
        if self.split:
            check_split(self.split)
        low, high = self.min_duration, self.max_duration
        if low is not None and high is not None and low > high:
            raise SelectionError.naming(
                "{min_duration=LOW} is above {max_duration=HIGH}: nothing could match",
                LOW=f"{low:g}",
                HIGH=f"{high:g}",
            )
        if self.dedup is not None and self.dedup not in DEDUP_SCOPES:
            raise SelectionError.about("dedup", "give video or corpus", self.dedup)
        if self.sample is not None and self.sample <= 0:
            raise SelectionError.about("sample", "give a number of segments > 0", self.sample)
        if self.actor_regex is not None:
            try:
                re.compile(self.actor_regex)
            except re.error as exc:
                raise SelectionError.about(
                    "actor_regex", "not a regex ({why})", self.actor_regex, why=exc
                ) from None
        if self.resampled is not None and self.sample is None:
            raise SelectionError.naming(
                "{resampled} needs {sample=N}: the number of segments to draw"
            )

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
    result: list[tuple[str, float]] = []
    for part in (p.strip() for p in spec.split(",") if p.strip()):
        name, sep, value = part.partition("=")
        if not sep:
            raise SelectionError.about(
                "split",
                "bad split {part}: write NAME=FRACTION, e.g. train=0.8,val=0.1,test=0.1",
                spec,
                part=repr(part),
            )
        try:
            fraction = float(value)
        except ValueError:
            raise SelectionError.about(
                "split",
                "bad fraction {value} for split {name}",
                spec,
                value=repr(value),
                name=name.strip(),
            ) from None
        result.append((name.strip(), fraction))
    return check_split(tuple(result), spec)


def check_split(
    split: tuple[tuple[str, float], ...], given: object = None
) -> tuple[tuple[str, float], ...]:
    """Named splits whose fractions, each in (0, 1], sum to 1 (given: the text they came from)."""
    shown = split if given is None else given
    if not split:
        raise SelectionError.about("split", "names no split", shown)
    names: set[str] = set()
    for name, fraction in split:
        if not isinstance(name, str) or not _SPLIT_NAME.match(name):
            raise SelectionError.about(
                "split",
                "bad split name {name}: a letter, then letters, digits, _ or -",
                shown,
                name=repr(name),
            )
        if name in names or name == NO_SPLIT:
            raise SelectionError.about(
                "split", "split name {name} repeated or reserved", shown, name=name
            )
        if not math.isfinite(fraction) or not 0 < fraction <= 1:
            raise SelectionError.about(
                "split",
                "split {name}: fraction {fraction} is not in (0, 1]",
                shown,
                name=name,
                fraction=f"{fraction:g}",
            )
        names.add(name)
    total = math.fsum(f for _, f in split)
    if abs(total - 1.0) > 1e-6:
        raise SelectionError.about(
            "split", "split fractions sum to {total}, not 1", shown, total=f"{total:g}"
        )
    return split


def parse_levels(spec: str) -> tuple[int, ...]:
    """`0,1,2` -> (0, 1, 2)."""
    try:
        levels = tuple(sorted({int(p) for p in spec.split(",") if p.strip()}))
    except ValueError:
        raise SelectionError.about("levels", "give whole numbers, e.g. 0,1,2", spec) from None
    return check_levels(levels, spec)


def check_levels(levels: tuple[int, ...], given: object = None) -> tuple[int, ...]:
    if not levels or min(levels) < 0:
        raise SelectionError.about(
            "levels", "give levels >= 0, e.g. 0,1,2", levels if given is None else given
        )
    return levels


def parse_verbs(spec: str | None) -> tuple[str, ...]:
    """`Cut, stir` -> ("cut", "stir"): lemmas, lower case, sorted, once each."""
    return tuple(sorted({v.strip().lower() for v in (spec or "").split(",") if v.strip()}))


def check_id_prefix(prefix: str) -> str:
    """An id prefix: up to 16 letters, digits, `_`, `-` or `.` (e.g. `v_`, as ActivityNet's
    own ids and PDVC's loaders have them)."""
    if not _ID_PREFIX.match(prefix):
        raise SelectionError.about(
            "id_prefix", "give up to 16 letters, digits, '_', '-' or '.', e.g. v_", prefix
        )
    return prefix


def check_fps(fps: float) -> float:
    if not math.isfinite(fps) or fps <= 0:
        raise SelectionError.about("fps", "give a frame rate above 0, e.g. 30", fps)
    return float(fps)


def check_field(name: str, known: tuple[str, ...], option: str) -> str:
    if name not in known:
        raise SelectionError.about(
            option, "unknown field; known fields: {known}", name, known=", ".join(known)
        )
    return name


def parse_thresholds(spec: str) -> tuple[float, ...]:
    """`0.3,0.5,0.7` -> tIoU thresholds, each in (0, 1]."""
    try:
        values = tuple(float(p) for p in spec.split(",") if p.strip())
    except ValueError:
        raise SelectionError.about("thresholds", "give numbers, e.g. 0.3,0.5,0.7", spec) from None
    return check_thresholds(values, spec)


def check_thresholds(values: tuple[float, ...], given: object = None) -> tuple[float, ...]:
    if not values or not all(0 < v <= 1 for v in values):
        raise SelectionError.about(
            "thresholds",
            "give thresholds in (0, 1], e.g. 0.3,0.5,0.7",
            values if given is None else given,
        )
    return values


def parse_top_k(spec: str) -> tuple[int, ...]:
    """`1,5` -> Recall@1 and Recall@5."""
    try:
        values = tuple(int(p) for p in spec.split(",") if p.strip())
    except ValueError:
        values = ()
    return check_top_k(values, spec)


def check_top_k(values: tuple[int, ...], given: object = None) -> tuple[int, ...]:
    if not values or min(values) < 1:
        raise SelectionError.about(
            "top_k", "give whole numbers >= 1, e.g. 1,5", values if given is None else given
        )
    return values
