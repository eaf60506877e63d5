"""One video's Tree-of-Captions as a matplotlib figure (the PNG of `a100m show --png`, and the
notebook's picture); no pyspark. The same lanes, colours and marks as the HTML page."""

from __future__ import annotations

from pathlib import Path

# A bare Figure, not pyplot: no backend is chosen here, so a notebook's inline backend (which
# displays a Figure) and a headless `a100m show --png` (which only saves it) both work.
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from pipelines.core.treeview import FAILED_COLOUR, LEVEL_COLOURS, VideoTree, darker, label_of

FONT_SIZE = 7
CHAR_WIDTH = 0.6  # em per character, for deciding whether a label fits its bar


def tree_figure(tree: VideoTree, width: float = 14.0) -> Figure:
    """Lanes top to bottom: level 0 .. deepest, then the transcript; failed nodes outlined red."""
    levels = tree.levels
    lanes = levels + (1 if tree.transcript else 0)
    fig = Figure(figsize=(width, 0.42 * lanes + 1.5))
    ax = fig.subplots()
    t0, t1 = tree.span
    starts = [float(n["start"]) for n in tree.nodes]
    widths = [float(n["end"]) - float(n["start"]) for n in tree.nodes]
    rows = [int(n["level"]) for n in tree.nodes]
    failed = [str(n["node_id"]) in tree.node_offences for n in tree.nodes]
    # Neighbours on a lane alternate between the level's colour and a darker shade, so that
    # bars narrower than a white edge (thousands on a lane) still show where they meet.
    thin = len(tree.nodes) > 2000
    shade: list[str] = []
    seen: dict[int, int] = {}
    for r in rows:  # the nodes are ordered by (level, start)
        k = seen[r] = seen.get(r, -1) + 1
        base = LEVEL_COLOURS[r % len(LEVEL_COLOURS)]
        shade.append(base if k % 2 == 0 else darker(base))
    ax.barh(
        rows,
        widths,
        left=starts,
        height=0.8,
        color=shade,
        edgecolor="none" if thin else "white",
        linewidth=0.4,
    )
    marked = [i for i, f in enumerate(failed) if f]
    if marked:
        ax.barh(
            [rows[i] for i in marked],
            [widths[i] for i in marked],
            left=[starts[i] for i in marked],
            height=0.8,
            color="none",
            edgecolor=FAILED_COLOUR,
            linewidth=1.4,
        )
    if tree.transcript:
        times = [t for t, _ in tree.transcript]
        ends = times[1:] + [t1]
        ax.barh(
            [levels] * len(times),
            [max(e - t, 0.0) for t, e in zip(times, ends, strict=True)],
            left=times,
            height=0.8,
            color="#cbd2d9",
            edgecolor="white",
            linewidth=0.4,
        )
    ax.set_xlim(t0, t1)
    ax.set_ylim(lanes - 0.5, -0.5)  # level 0 at the top
    names = [f"level {level}" for level in range(levels)] + (
        ["transcript"] if tree.transcript else []
    )
    ax.set_yticks(range(lanes), names, fontsize=8)
    ax.set_xlabel("seconds")
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)

    # A label goes on a bar only when the bar is wider than its text.
    points_per_second = ax.get_position().width * width * 72 / (t1 - t0)
    for node, start, seconds, row in zip(tree.nodes, starts, widths, rows, strict=True):
        label = label_of(node)
        if label and (len(label) + 2) * CHAR_WIDTH * FONT_SIZE <= seconds * points_per_second:
            ax.text(start + seconds / 2, row, label, ha="center", va="center", fontsize=FONT_SIZE)
    for time, end, (_, line) in zip(
        [t for t, _ in tree.transcript],
        [t for t, _ in tree.transcript][1:] + [t1],
        tree.transcript,
        strict=True,
    ):
        if line and (len(line) + 2) * CHAR_WIDTH * FONT_SIZE <= (end - time) * points_per_second:
            ax.text(time + (end - time) / 2, levels, line, ha="center", va="center", fontsize=6)

    title = tree.video_uid + (f" - {tree.title[:70]}" if tree.title else "")
    failed_rules = tree.failed_rules()
    ax.set_title(
        f"{title}: {len(tree.nodes):,} nodes, {levels} levels"
        + (f"; failed: {', '.join(failed_rules)}" if failed_rules else ""),
        fontsize=10,
    )
    if marked:
        ax.legend(
            handles=[Patch(facecolor="none", edgecolor=FAILED_COLOUR, label="failed a check")],
            loc="lower right",
            fontsize=8,
        )
    fig.tight_layout()
    return fig


def write_png(tree: VideoTree, path: str | Path, dpi: int = 110) -> Path:
    """The figure as a PNG file at path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig = tree_figure(tree)
    fig.savefig(path, dpi=dpi)
    return path
