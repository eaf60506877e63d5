"""Small trend charts of the metrics history: one SVG per metric, drawn with matplotlib's object
API (no pyplot, no global backend) and embedded in the page as a `data:` image, so each chart
keeps its own ids and the page needs no script and no network. Pure: no pyspark."""

from __future__ import annotations

import base64
import io

from pipelines.core.html import text
from pipelines.report.metrics import SHARE

LINE, POINT, ANOMALY, CURRENT = "#486581", "#486581", "#cf222e", "#102a43"


def trend_svg(values: list[float | None], unit: str, anomalous: list[bool], title: str) -> bytes:
    """A sparkline: one marker per run (red where an anomaly was flagged), the last one bold."""
    import matplotlib
    from matplotlib.figure import Figure

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
    ax.set_xticks(range(len(values)), [str(i + 1) for i in range(len(values))], fontsize=6)
    ax.tick_params(axis="y", labelsize=6)
    ax.margins(y=0.25)
    if unit == SHARE:
        ax.yaxis.set_major_formatter("{x:.1f}%")
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
