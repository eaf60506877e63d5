"""report.html: one self-contained page (no network, no scripts) from the stats document.

Charts are drawn with matplotlib's object API (no pyplot, so no global backend is switched) as
SVG, and embedded as base64 `data:` images, so that each chart keeps its own ids and the page
opens offline. Every text taken from the data is HTML-escaped.
"""

from __future__ import annotations

import base64
import io
import math
from typing import Any

from pipelines.core.html import number, page, text
from pipelines.core.treeview import examples_html
from pipelines.stats.spec import BUCKET_LABELS

TOP_VERBS_CHART = 20
SUNBURST_VERBS = 10
SUNBURST_OBJECTS = 4

BUCKETS = tuple(BUCKET_LABELS.items())
WORD_FIELDS = (
    ("action_brief", "brief action"),
    ("summary_brief", "brief summary"),
    ("action_detailed", "detailed action"),
    ("summary_detailed", "detailed summary"),
)


def render_report(doc: dict[str, Any]) -> str:
    """The whole HTML page for one stats run."""
    figures = {row["name"]: row for row in doc["summary"]}
    parts = [
        "<h1>Action100M corpus statistics</h1>",
        f'<p class="meta">run {text(doc["run_id"])} &middot; computed {text(doc["computed_at"])} '
        f"&middot; lake {text(doc['lake'])} &middot; nodes version {text(doc['nodes_version'])}, "
        f"videos version {text(doc['videos_version'])}</p>",
        _headline(figures),
        "<h2>Beside the paper</h2>",
        _paper_table(doc, figures),
        "<h2>Charts</h2>",
        '<div class="charts">',
        *_charts(doc),
        "</div>",
        "<h2>Nodes and durations per level</h2>",
        _levels_table(doc),
        "<h2>Text fields</h2>",
        _fields_table(doc),
        "<h2>Top verbs and their objects</h2>",
        _verbs_table(doc),
        "<h2>Most duplicated brief actions</h2>",
        _rows_table(
            doc["duplicates"][:25],
            [
                ("rank", "#", True),
                ("action", "brief action", False),
                ("members", "nodes", True),
                ("videos", "videos", True),
            ],
        ),
        "<h2>Actors</h2>",
        _rows_table(
            doc["actors"][:25],
            [
                ("rank", "#", True),
                ("actor", "actor", False),
                ("actions", "actions", True),
                ("share", "share", True),
            ],
        ),
        *examples_html(doc.get("examples") or []),
        "<h2>Every figure</h2>",
        _rows_table(
            doc["summary"],
            [
                ("section", "section", False),
                ("name", "figure", False),
                ("value", "ours", True),
                ("paper_value", "paper", True),
                ("unit", "unit", False),
            ],
        ),
        '<p class="note">Durations are end - start in seconds; buckets are [0, 3), [3, 10), '
        "[10, 60) and [60, &infin;) s. Quantiles come from merged KLL sketches: an observed "
        f"value within {100 * (doc.get('quantile_rank_error') or 0):.2f}% in rank of the exact "
        "one (exact below 4,096 values). "
        "Verbs are lemmas of the first word of a brief action that can be a verb; objects the "
        "last word of the noun phrase after it. Duplicate groups compare brief actions "
        "lowercased with white space collapsed. Shares are of all nodes (buckets, coverage), of "
        "annotated nodes (N/A rate) or of real actions (verbs, actors).</p>",
    ]
    return page(f"Action100M corpus statistics - run {doc['run_id']}", "\n".join(parts))


# ---------------------------------------------------------------------------------------------
# Formatting
# ---------------------------------------------------------------------------------------------


def _value(figures: dict[str, dict], name: str) -> Any:
    row = figures.get(name)
    return None if row is None else row["value"]


def _headline(figures: dict[str, dict]) -> str:
    cards = [
        ("videos", "videos", ""),
        ("nodes", "nodes (segments)", ""),
        ("leaves", "leaves", ""),
        ("gpt_nodes", "annotated nodes (gpt)", ""),
        ("actions", "real actions", ""),
        ("na_rate", "N/A rate (of annotated)", "share"),
        ("video_hours", "hours of video", ""),
        ("root_hours", "hours under root nodes", ""),
        ("distinct_verbs", "distinct verbs", ""),
        ("depth_max", "deepest level", ""),
    ]
    items = "".join(
        f'<div class="card"><div class="v">{text(number(_value(figures, name), unit))}</div>'
        f'<div class="k">{text(label)}</div></div>'
        for name, label, unit in cards
    )
    return f'<div class="cards">{items}</div>'


def _paper_table(doc: dict[str, Any], figures: dict[str, dict]) -> str:
    rows = []
    for key, label in BUCKETS:
        row = figures.get(f"bucket_{key}_share")
        rows.append((f"segments {label}", row["value"], row["paper_value"], "share"))
    fields = {f["field"]: f for f in doc["fields"]}
    for key, label in WORD_FIELDS:
        row = fields.get(key, {})
        rows.append(
            (f"mean words, {label}", row.get("mean_words"), row.get("paper_mean_words"), "")
        )
    na = figures.get("na_rate")
    rows.append(('"N/A" brief actions', na["value"], na["paper_value"], "share"))
    body = "".join(
        f"<tr><td>{text(label)}</td><td class='n'>{text(number(ours, unit))}</td>"
        f"<td class='n'>{text(number(paper, unit))}</td></tr>"
        for label, ours, paper, unit in rows
    )
    paper = doc["paper"]["top_duplicates"]
    ours = doc["duplicates"][: len(paper)]
    ours += [None] * (len(paper) - len(ours))
    members = {d["action"]: d["members"] for d in doc["duplicates"]}
    dup_rows = "".join(
        f"<tr><td class='n'>{i}</td><td>{text(mine and mine['action'])}</td>"
        f"<td class='n'>{text(mine and mine['members'])}</td><td>{text(theirs)}</td>"
        f"<td class='n'>{text(members.get(theirs))}</td></tr>"
        for i, (mine, theirs) in enumerate(zip(ours, paper, strict=True), 1)
    )
    return (
        '<table class="paper"><tr><th>figure</th><th class="n">ours</th><th class="n">paper</th>'
        f"</tr>{body}</table>"
        '<table class="paper"><tr><th class="n">#</th><th>most duplicated brief actions (ours)</th>'
        '<th class="n">nodes</th><th>the paper\'s</th><th class="n">nodes here</th></tr>'
        f"{dup_rows}</table>"
        f'<p class="note">Paper: {text(doc["paper"]["source"])}.</p>'
    )


def _rows_table(rows: list[dict], columns: list[tuple[str, str, bool]]) -> str:
    if not rows:
        return '<p class="note">none</p>'
    head = "".join(
        f"<th{' class=n' if num else ''}>{text(label)}</th>" for _, label, num in columns
    )
    body = []
    for row in rows:
        cells = []
        for key, _, num in columns:
            value = row.get(key)
            if num:
                unit = "share" if key == "share" or row.get("unit") == "share" else ""
                cells.append(f"<td class='n'>{text(number(value, unit))}</td>")
            else:
                cells.append(f"<td>{text(value)}</td>")
        body.append(f"<tr>{''.join(cells)}</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def _levels_table(doc: dict[str, Any]) -> str:
    levels = {row["level"]: row for row in doc["levels"]}
    rows = []
    for d in doc["durations"]:
        lv = levels.get(d["level"], {}) if d["scope"] == "level" else {}
        rows.append(
            {
                "level": "all" if d["scope"] == "all" else d["level"],
                "nodes": lv.get("nodes", d["nodes"]) if d["scope"] == "level" else d["nodes"],
                "leaves": lv.get("leaves"),
                "gpt_nodes": lv.get("gpt_nodes"),
                "videos": lv.get("videos"),
                **{k: d[k] for k in ("mean", "p10", "p50", "p90", "max")},
                **{f"bucket_{k}": d[f"bucket_{k}"] for k, _ in BUCKETS},
            }
        )
    columns = [
        ("level", "level", False),
        ("nodes", "nodes", True),
        ("leaves", "leaves", True),
        ("gpt_nodes", "annotated", True),
        ("videos", "videos", True),
        ("mean", "mean s", True),
        ("p10", "p10", True),
        ("p50", "p50", True),
        ("p90", "p90", True),
        ("max", "max", True),
    ]
    columns += [(f"bucket_{k}", label, True) for k, label in BUCKETS]
    return _rows_table(rows, columns)


def _fields_table(doc: dict[str, Any]) -> str:
    rows = [
        {**f, "coverage_pct": f["coverage"], "applicable_pct": f["applicable_coverage"]}
        for f in doc["fields"]
    ]
    table = _rows_table(
        rows,
        [
            ("field", "field", False),
            ("non_null", "non-null", True),
            ("nodes", "nodes", True),
            ("applies_to", "expected on", False),
            ("applicable_non_null", "non-null there", True),
            ("applicable_nodes", "nodes there", True),
            ("mean_words", "mean words", True),
            ("paper_mean_words", "paper", True),
        ],
    )
    return table


def _verbs_table(doc: dict[str, Any]) -> str:
    objects: dict[str, list[str]] = {}
    for pair in doc["verb_objects"]:
        objects.setdefault(pair["verb"], []).append(f"{pair['object']} ({pair['actions']})")
    rows = [{**v, "objects": ", ".join(objects.get(v["verb"], [])[:6])} for v in doc["verbs"][:25]]
    return _rows_table(
        rows,
        [
            ("rank", "#", True),
            ("verb", "verb", False),
            ("actions", "actions", True),
            ("share", "share", True),
            ("objects", "top objects", False),
        ],
    )


# ---------------------------------------------------------------------------------------------
# Charts
# ---------------------------------------------------------------------------------------------


def _charts(doc: dict[str, Any]) -> list[str]:
    charts = [
        ("Duration per level: p10-p90 bar, median and mean", _durations_chart),
        ("Nodes per level", _nodes_chart),
        ("Segment durations: ours beside the paper", _buckets_chart),
        (f"Top {TOP_VERBS_CHART} verbs (share of real actions)", _verbs_chart),
        ("Verbs (inside) and their most frequent objects (outside)", _sunburst_chart),
        ("Coverage per text field", _coverage_chart),
    ]
    out = []
    for caption, draw in charts:
        try:
            svg = draw(doc)
        except _NoData:
            out.append(f"<figure><figcaption>{text(caption)}: no data</figcaption></figure>")
            continue
        data = base64.b64encode(svg).decode("ascii")
        out.append(
            f'<figure><img alt="{text(caption)}" src="data:image/svg+xml;base64,{data}">'
            f"<figcaption>{text(caption)}</figcaption></figure>"
        )
    return out


class _NoData(Exception):
    pass


def _new_figure(width: float = 6.4, height: float = 3.6):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def _svg(fig) -> bytes:
    import matplotlib

    buffer = io.BytesIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "a100m"}):
        fig.savefig(buffer, format="svg", metadata={"Date": None})
    return buffer.getvalue()


def _durations_chart(doc: dict[str, Any]) -> bytes:
    from matplotlib.ticker import MaxNLocator

    rows = [d for d in doc["durations"] if d["scope"] == "level" and d["level"] is not None]
    rows = [d for d in rows if d["nodes"] and d["p50"] is not None]
    if not rows:
        raise _NoData
    fig = _new_figure()
    ax = fig.add_subplot()
    levels = [d["level"] for d in rows]
    low = [max(d["p10"], 1e-3) for d in rows]
    high = [max(d["p90"], 1e-3) for d in rows]
    ax.bar(
        levels,
        [h - lo for lo, h in zip(low, high, strict=True)],
        bottom=low,
        color="#9fb3c8",
        label="p10-p90",
    )
    ax.plot(levels, [max(d["p50"], 1e-3) for d in rows], "o", color="#243b53", label="median")
    ax.plot(
        levels,
        [max(d["mean"], 1e-3) for d in rows],
        "_",
        color="#d64545",
        markersize=14,
        mew=2,
        label="mean",
    )
    ax.set_yscale("log")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("level")
    ax.set_ylabel("seconds (log)")
    for edge in (3, 10, 60):
        ax.axhline(edge, color="#bcccdc", linewidth=0.8, linestyle=":")
    ax.legend(loc="upper right", fontsize=8)
    return _svg(fig)


def _nodes_chart(doc: dict[str, Any]) -> bytes:
    from matplotlib.ticker import MaxNLocator

    rows = [r for r in doc["levels"] if r["level"] is not None]
    if not rows:
        raise _NoData
    fig = _new_figure()
    ax = fig.add_subplot()
    levels = [r["level"] for r in rows]
    leaves = [r["leaves"] for r in rows]
    internal = [r["nodes"] - r["leaves"] for r in rows]
    ax.bar(levels, internal, color="#486581", label="internal")
    ax.bar(levels, leaves, bottom=internal, color="#9fb3c8", label="leaves")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("level")
    ax.set_ylabel("nodes")
    ax.legend(fontsize=8)
    return _svg(fig)


def _buckets_chart(doc: dict[str, Any]) -> bytes:
    figures = {row["name"]: row for row in doc["summary"]}
    ours = [figures[f"bucket_{k}_share"]["value"] for k, _ in BUCKETS]
    if any(v is None for v in ours):
        raise _NoData
    paper = [figures[f"bucket_{k}_share"]["paper_value"] for k, _ in BUCKETS]
    fig = _new_figure()
    ax = fig.add_subplot()
    x = range(len(BUCKETS))
    ax.bar([i - 0.2 for i in x], [100 * v for v in ours], width=0.4, color="#486581", label="ours")
    ax.bar(
        [i + 0.2 for i in x], [100 * v for v in paper], width=0.4, color="#f0b429", label="paper"
    )
    ax.set_xticks(list(x), [label for _, label in BUCKETS])
    ax.set_ylabel("% of segments")
    ax.legend(fontsize=8)
    return _svg(fig)


def _verbs_chart(doc: dict[str, Any]) -> bytes:
    verbs = doc["verbs"][:TOP_VERBS_CHART]
    if not verbs:
        raise _NoData
    fig = _new_figure(6.4, max(2.0, 0.22 * len(verbs) + 0.8))
    ax = fig.add_subplot()
    names = [v["verb"] for v in reversed(verbs)]
    ax.barh(names, [100 * v["share"] for v in reversed(verbs)], color="#486581")
    for i, v in enumerate(reversed(verbs)):
        ax.text(100 * v["share"], i, f" {v['actions']}", va="center", fontsize=7)
    ax.set_xlabel("% of real actions")
    ax.tick_params(axis="y", labelsize=8)
    return _svg(fig)


def _sunburst_chart(doc: dict[str, Any]) -> bytes:
    """Two rings like the paper's: top verbs inside, each verb's top objects outside."""
    from matplotlib import colormaps

    verbs = doc["verbs"][:SUNBURST_VERBS]
    if not verbs:
        raise _NoData
    objects: dict[str, list[dict]] = {}
    for pair in doc["verb_objects"]:
        objects.setdefault(pair["verb"], []).append(pair)
    cmap = colormaps["tab10"]
    inner_sizes, inner_colors, outer_sizes, outer_colors, outer_labels = [], [], [], [], []
    for i, verb in enumerate(verbs):
        color = cmap(i % 10)
        inner_sizes.append(verb["actions"])
        inner_colors.append(color)
        top = sorted(objects.get(verb["verb"], []), key=lambda p: p["object_rank"])[
            :SUNBURST_OBJECTS
        ]
        for pair in top:
            outer_sizes.append(pair["actions"])
            outer_colors.append((*color[:3], 0.55))
            outer_labels.append(pair["object"])
        rest = verb["actions"] - sum(p["actions"] for p in top)
        if rest > 0:
            outer_sizes.append(rest)
            outer_colors.append((0.93, 0.94, 0.95, 1.0))
            outer_labels.append("")
    fig = _new_figure(6.4, 6.4)
    ax = fig.add_subplot()
    total = sum(outer_sizes)
    wedges, _ = ax.pie(
        outer_sizes,
        radius=1.0,
        colors=outer_colors,
        startangle=90,
        counterclock=False,
        wedgeprops={"width": 0.38, "edgecolor": "white"},
    )
    for wedge, label, size in zip(wedges, outer_labels, outer_sizes, strict=True):
        if label and size / total >= 0.012:
            _wedge_label(ax, wedge, label, 0.81, 7)
    inner, _ = ax.pie(
        inner_sizes,
        radius=0.62,
        colors=inner_colors,
        startangle=90,
        counterclock=False,
        wedgeprops={"width": 0.34, "edgecolor": "white"},
    )
    inner_total = sum(inner_sizes)
    for wedge, verb in zip(inner, verbs, strict=True):
        if verb["actions"] / inner_total >= 0.025:
            _wedge_label(ax, wedge, verb["verb"], 0.45, 8, weight="bold")
    ax.set(aspect="equal")
    return _svg(fig)


def _wedge_label(ax, wedge, text: str, radius: float, size: int, weight: str = "normal") -> None:
    angle = (wedge.theta1 + wedge.theta2) / 2
    x, y = radius * math.cos(math.radians(angle)), radius * math.sin(math.radians(angle))
    rotation = angle if -90 <= ((angle + 180) % 360) - 180 <= 90 else angle + 180
    ax.text(
        x,
        y,
        text,
        ha="center",
        va="center",
        fontsize=size,
        rotation=rotation,
        rotation_mode="anchor",
        weight=weight,
    )


def _coverage_chart(doc: dict[str, Any]) -> bytes:
    fields = doc["fields"]
    if not fields or not fields[0]["nodes"]:
        raise _NoData
    fig = _new_figure(6.4, 3.2)
    ax = fig.add_subplot()
    names = [f["field"] for f in reversed(fields)]
    y = range(len(names))
    ax.barh(
        [i + 0.2 for i in y],
        [100 * (f["coverage"] or 0) for f in reversed(fields)],
        height=0.4,
        color="#486581",
        label="of all nodes",
    )
    ax.barh(
        [i - 0.2 for i in y],
        [100 * (f["applicable_coverage"] or 0) for f in reversed(fields)],
        height=0.4,
        color="#9fb3c8",
        label="of nodes it is expected on",
    )
    ax.set_yticks(list(y), names, fontsize=8)
    ax.set_xlabel("% non-null")
    ax.set_xlim(0, 100)
    ax.legend(fontsize=7, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2, frameon=False)
    return _svg(fig)
