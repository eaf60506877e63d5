"""Anomaly detection on the metrics history, Deequ-style: each metric is judged against its own
past by the strategies the settings give it (`anomalies` in conf/*.yaml, checked by
core/settings.py). Pure: no pyspark.

- ``bounds``: the value is below ``min`` or above ``max``;
- ``rate_of_change``: the value moved, relative to the previous run's, up by more than
  ``max_increase`` or down by more than ``max_decrease`` (0.5 = 50 %);
- ``stddev``: the value is outside mean +- ``k`` standard deviations of the last ``window``
  runs before it, once there are ``min_runs`` of them.

A change smaller than ``min_change`` (in the metric's own unit) is never an anomaly, so a share
that goes from 0.1 % to 0.2 % does not page anyone.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from pipelines.core.severity import Severity
from pipelines.report.metrics import RunPoint, human, label_of, unit_of


@dataclass(frozen=True)
class Anomaly:
    run_id: str
    metric: str
    strategy: str
    severity: Severity
    value: float
    low: float | None  # the accepted range
    high: float | None
    runs_used: int  # history points the judgement used
    message: str

    @property
    def check_id(self) -> str:
        return f"{self.metric}.{self.strategy}"


def rules_for(metric: str, rules: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The strategies of a metric: its exact entry, else the first glob that matches it."""
    if metric in rules:
        return rules[metric]
    for pattern, strategies in rules.items():
        if fnmatchcase(metric, pattern):
            return strategies
    return {}


def detect(history: list[RunPoint], rules: dict[str, dict[str, Any]], run_id: str) -> list[Anomaly]:
    """The anomalies of run `run_id`, judged against the runs before it in `history`."""
    positions = [i for i, p in enumerate(history) if p.run_id == run_id]
    if not positions:
        return []
    current = history[positions[0]]
    past = history[: positions[0]]
    found = []
    for metric, value in sorted(current.metrics.items()):
        strategies = rules_for(metric, rules)
        if value is None or not strategies:
            continue
        # the settings refused any other text (core/settings.py), so this cannot raise
        severity = Severity(strategies.get("severity", Severity.WARN))
        before = [p.metrics[metric] for p in past if p.metrics.get(metric) is not None]
        for name, params in strategies.items():
            if name == "severity":
                continue
            judged = STRATEGIES[name](value, before, params)
            if judged is not None:
                low, high, used = judged
                found.append(
                    Anomaly(
                        run_id,
                        metric,
                        name,
                        severity,
                        value,
                        low,
                        high,
                        used,
                        _message(metric, name, value, low, high, before),
                    )
                )
    return found


Judgement = tuple[float | None, float | None, int] | None  # (low, high, runs used) when anomalous


def _bounds(value: float, before: list[float], params: dict[str, Any]) -> Judgement:
    low, high = params.get("min"), params.get("max")
    if (low is not None and value < low) or (high is not None and value > high):
        return low, high, 0
    return None


def _rate_of_change(value: float, before: list[float], params: dict[str, Any]) -> Judgement:
    if not before:
        return None
    previous = before[-1]
    if abs(value - previous) < params.get("min_change", 0):
        return None
    up, down = params.get("max_increase"), params.get("max_decrease")
    scale = abs(previous)
    high = previous + up * scale if up is not None else None
    low = previous - down * scale if down is not None else None
    if (high is not None and value > high) or (low is not None and value < low):
        return low, high, 1
    return None


def _stddev(value: float, before: list[float], params: dict[str, Any]) -> Judgement:
    window = before[-params.get("window", 7) :]
    if len(window) < max(params.get("min_runs", 3), 2):
        return None
    mean, spread = statistics.fmean(window), statistics.pstdev(window)
    if abs(value - mean) < params.get("min_change", 0):
        return None
    k = params.get("k", 3)
    low, high = mean - k * spread, mean + k * spread
    if value < low or value > high:
        return low, high, len(window)
    return None


STRATEGIES = {"bounds": _bounds, "rate_of_change": _rate_of_change, "stddev": _stddev}


def _message(
    metric: str,
    strategy: str,
    value: float,
    low: float | None,
    high: float | None,
    before: list[float],
) -> str:
    unit = unit_of(metric)
    accepted = f"{human(low, unit) if low is not None else '...'} to " + (
        human(high, unit) if high is not None else "..."
    )
    why = {
        "bounds": "outside its bounds",
        "rate_of_change": f"moved too far from the previous run's {human(before[-1], unit)}"
        if before
        else "moved too far",
        "stddev": "outside its usual band",
    }[strategy]
    return f"{label_of(metric)} is {human(value, unit)}, {why} ({accepted})"
