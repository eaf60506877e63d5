"""The metrics history the nightly report charts and judges: one point per run of the lake, its
metric names, units and how a value and a change are written for people. Pure: no pyspark.

Metric names (also the keys of the `anomalies` rules in conf/*.yaml):

- ``rows.<table>``: rows in videos, nodes, transcripts as the run validated them;
- ``check.<suite>.<check>``: the lake's unexpected rows of one check;
- ``na_rate``: "N/A" brief actions among annotated nodes; ``duplicate_share``: actions in a
  duplicate group among all actions;
- ``words.<field>``: mean words per text field;
- ``bucket.<0_3|3_10|10_60|60_plus>``: the share of segments in each duration bucket.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pipelines.core.html import number
from pipelines.core.tables import DURATION_BUCKETS

COUNT, SHARE, WORDS, HOURS = "count", "share", "words", "hours"
# Changes smaller than this, in the metric's unit, are "no change" (float noise, not news).
NO_CHANGE = {COUNT: 0.5, SHARE: 0.00005, WORDS: 0.005, HOURS: 0.005}
WORD_FIELDS = ("action_brief", "action_detailed", "summary_brief", "summary_detailed")
BUCKET_LABELS = {
    name: f"{low:g}-{high:g} s" if high is not None else f"{low:g}+ s"
    for name, low, high in DURATION_BUCKETS
}


@dataclass
class RunPoint:
    """One run of the lake's history with the metrics it left (None: not measured by it)."""

    run_id: str
    at: str  # ISO time of the run
    command: str
    metrics: dict[str, float | None] = field(default_factory=dict)


def unit_of(metric: str) -> str:
    if metric in ("na_rate", "duplicate_share") or metric.startswith("bucket."):
        return SHARE
    if metric.startswith("words."):
        return WORDS
    return COUNT


def label_of(metric: str, checks: Mapping[str, str] | None = None) -> str:
    """What a person calls the metric. `checks` maps "suite.check" to the check's description
    (its suite file's meta): a check's card then says what the rows break, not its id."""
    kind, _, rest = metric.partition(".")
    if kind == "rows":
        return f"rows in {rest}"
    if kind == "check":
        described = (checks or {}).get(rest)
        return f"rows breaking: {described}" if described else f"{rest}: unexpected rows"
    if kind == "words":
        return f"mean words, {rest.replace('_', ' ')}"
    if kind == "bucket":
        return f"segments {BUCKET_LABELS.get(rest, rest)}"
    return {"na_rate": '"N/A" rate (of annotated nodes)', "duplicate_share": "duplicate share"}.get(
        metric, metric
    )


def short_description(description: str) -> str:
    """A check's description up to its first aside (": ", "; ", " ("), which holds tolerances
    and counts from the real sample: what fits as a chart's name."""
    cuts = [i for i in (description.find(m) for m in (": ", "; ", " (")) if i > 0]
    return description[: min(cuts)] if cuts else description


def human(value: float | None, unit: str) -> str:
    """A value for people: thousands separators, percentages, hours, words to one decimal."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if unit == SHARE:
        return number(value, "share")
    if unit == HOURS:
        return f"{value:,.1f} h"
    if unit == WORDS:
        return f"{value:,.1f}"
    return number(round(value))


def change_text(before: float | None, now: float | None, unit: str) -> str:
    """The change from before to now, or "no change" when there is none worth saying."""
    if before is None or now is None:
        return "-"
    delta = now - before
    if abs(delta) < NO_CHANGE[unit]:
        return "no change"
    if unit == SHARE:
        return f"{100 * delta:+.2f} pt"
    if unit == COUNT:
        relative = f" ({100 * delta / before:+.1f}%)" if before else ""
        return f"{delta:+,.0f}{relative}"
    return f"{delta:+,.2f}"


def moment_of(at: str | None) -> datetime | None:
    """An ISO time as a naive UTC datetime (the lake's times are UTC), None if it is not one."""
    try:
        moment = datetime.fromisoformat((at or "").replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def when(at: str | None) -> str:
    """An ISO time (a run's, a report's) as people read it, to the second, in UTC; what is not
    an ISO time is shown as it is."""
    moment = moment_of(at)
    if moment is None:
        return at or "-"
    return f"{moment:%Y-%m-%d %H:%M:%S} UTC"


def baseline_of(history: list[RunPoint], run_id: str | None) -> RunPoint | None:
    """The history point of the run of the previous report: what the page's changes are
    measured against. Not the previous run: a night's `run` lands the new videos before the
    `report` reads them, so against the run before it every change would be "no change"."""
    return next((p for p in history if run_id and p.run_id == run_id), None)


def changed(before: float | None, now: float | None, unit: str) -> bool:
    return before is not None and now is not None and abs(now - before) >= NO_CHANGE[unit]


def stats_metrics(summary: dict[str, float | None]) -> dict[str, float | None]:
    """The report's metrics from one run's stats_summary (name -> value)."""
    metrics: dict[str, float | None] = {"na_rate": summary.get("na_rate")}
    actions, in_groups = summary.get("actions"), summary.get("actions_in_duplicate_groups")
    metrics["duplicate_share"] = in_groups / actions if actions and in_groups is not None else None
    for name in WORD_FIELDS:
        metrics[f"words.{name}"] = summary.get(f"words_{name}")
    for name, _, _ in DURATION_BUCKETS:
        metrics[f"bucket.{name}"] = summary.get(f"bucket_{name}_share")
    return metrics


def metric_names(history: list[RunPoint]) -> list[str]:
    """Every metric of the history in page order: rows, stats figures, then checks."""
    names = {name for point in history for name in point.metrics}
    order = {"rows": 0, "na_rate": 1, "duplicate_share": 2, "words": 3, "bucket": 4, "check": 5}
    buckets = [f"bucket.{name}" for name, _, _ in DURATION_BUCKETS]  # shortest first

    def key(name: str) -> tuple[int, int, str]:
        kind = order.get(name.partition(".")[0], 9)
        return kind, buckets.index(name) if name in buckets else 0, name

    return sorted(names, key=key)


def series(history: list[RunPoint], metric: str) -> list[float | None]:
    return [point.metrics.get(metric) for point in history]


def as_dict(value: Any) -> Any:
    """A RunPoint (or a list of them) as JSON-ready data."""
    if isinstance(value, list):
        return [as_dict(v) for v in value]
    return {
        "run_id": value.run_id,
        "at": value.at,
        "command": value.command,
        "metrics": value.metrics,
    }
