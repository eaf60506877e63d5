"""Small trend charts of the metrics history: one SVG per metric, drawn with matplotlib's object
API (no pyplot, no global backend) and embedded in the page as a `data:` image, so each chart
keeps its own ids and the page needs no script and no network. Pure: no pyspark."""

from __future__ import annotations

import base64
import io

from pipelines.core.html import text
from pipelines.report.metrics import COUNT, SHARE, moment_of

LINE, POINT, ANOMALY, CURRENT = "#486581", "#486581", "#cf222e", "#102a43"
# Room above the highest point, so its marker is not cut by the frame.
HEADROOM = 1.15
# Dates under a chart 250 px wide: more would overlap.
MOST_TICKS = 4
BELOW_ZERO = "the axis does not start at zero: some values are below it"


def value_axis(ys: list[float]) -> tuple[float, float] | None:
    """The value axis's range: from zero, so a near-flat metric looks flat (a zoomed axis makes
    a 0.01 pt wobble look like a cliff). None when a value is below zero: the chart then fits
    its values, and axis_note() says so on the card."""
    if any(y < 0 for y in ys):
        return None
    top = max(ys, default=0.0)
    return 0.0, top * HEADROOM if top > 0 else 1.0


def axis_note(values: list[float | None]) -> str:
    """What the card says about its axis when it does not start at zero; "" when it does."""
    return BELOW_ZERO if value_axis([v for v in values if v is not None]) is None else ""


def time_ticks(times: list[str], most: int = MOST_TICKS) -> list[tuple[int, str]]:
    """(position, label) under a chart: the runs' dates ("Dec 3"), or their times of day when
    every run is of one day, at most `most` of them spread from the first run to the last, each
    label once. Runs without an ISO time are numbered as the page's table of runs numbers them."""
    if not times:
        return []
    moments = [moment_of(t) for t in times]
    if any(m is None for m in moments):
        labels = [str(i + 1) for i in range(len(times))]
    elif len({m.date() for m in moments if m}) == 1:
        labels = [f"{m:%H:%M}" for m in moments if m]
    else:
        labels = [f"{m:%b} {m.day}" for m in moments if m]
    last = len(times) - 1
    picks = sorted({round(i * last / (most - 1)) for i in range(most)}) if last else [0]
    ticks: list[tuple[int, str]] = []
    for i in picks:
        if labels[i] not in (label for _, label in ticks):
            ticks.append((i, labels[i]))
    return ticks


def trend_svg(
    values: list[float | None],
    unit: str,
    anomalous: list[bool],
    title: str,
    times: list[str] | None = None,
) -> bytes:
    """A sparkline: one marker per run (red where an anomaly was flagged), the last one bold,
    the runs' dates under it and the value axis from zero (value_axis)."""
    import matplotlib
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    scale = 100.0 if unit == SHARE else 1.0
    xs = [i for i, v in enumerate(values) if v is not None]
    ys = [scale * values[i] for i in xs]
    fig = Figure(figsize=(3.2, 0.95), layout="constrained")
    ax = fig.add_subplot()
    ax.plot(xs, ys, "-", color=LINE, linewidth=1.4)
    normal = [(x, y) for x, y in zip(xs, ys, strict=True) if not anomalous[x]]
    flagged = [(x, y) for x, y in zip(xs, ys, strict=True) if anomalous[x]]
    if normal:
        ax.plot(*zip(*normal, strict=True), "o", color=POINT, markersize=3.5)
    if flagged:
        ax.plot(*zip(*flagged, strict=True), "o", color=ANOMALY, markersize=6)
    if xs:
        ax.plot([xs[-1]], [ys[-1]], "o", color=CURRENT, markersize=5, fillstyle="none", mew=1.5)
    ax.set_xlim(-0.4, max(len(values) - 0.6, 0.6))
    ticks = time_ticks(times or [""] * len(values))
    ax.set_xticks([i for i, _ in ticks], [label for _, label in ticks], fontsize=6)
    ax.tick_params(axis="y", labelsize=6)
    limits = value_axis(ys)
    if limits is None:
        ax.margins(y=0.25)
    else:
        ax.set_ylim(*limits)
    ax.yaxis.set_major_locator(MaxNLocator(nbins=3, integer=unit == COUNT))
    if unit == SHARE:
        ax.yaxis.set_major_formatter("{x:.1f}%")
    elif unit == COUNT:
        ax.yaxis.set_major_formatter("{x:,.0f}")  # 120,000, not 1.2 and an offset "1e5"
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.set_gid(title)  # the card above the chart names it; the SVG keeps it for readers
    buffer = io.BytesIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "a100m"}):
        fig.savefig(buffer, format="svg", metadata={"Date": None})
    return buffer.getvalue()


def trend_img(svg: bytes, alt: str) -> str:
    data = base64.b64encode(svg).decode("ascii")
    return f'<img class="trend" alt="{text(alt)}" src="data:image/svg+xml;base64,{data}">'
