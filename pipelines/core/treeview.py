"""One video's Tree-of-Captions as a page: the model and the offline HTML (no pyspark).

A `VideoTree` is plain Python (built by core/treeread.py from the lake, or by the notebook from
delta-rs rows with `tree_from_records`); `render_html` turns it into one self-contained page: a
lane per level, each node a bar from its start to its end coloured by its level, its brief
action as the label where it fits, the full annotation on hover and click, the transcript on its
own lane, and the nodes that failed a check outlined in red with the rule. The page's script and
style are inline and it loads nothing, so it opens offline. Big trees stay readable: the bars of
every node are drawn, the lanes below a depth start collapsed (a click on the lane's name opens
it) and the time axis zooms (buttons, or Ctrl + wheel).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from pipelines.core.html import STYLESHEET, text
from pipelines.core.raw import NOT_AVAILABLE
from pipelines.core.severity import Severity

# The annotation of a node, in the order the detail panel shows it.
NODE_TEXTS = (
    "action_brief",
    "summary_brief",
    "action_detailed",
    "action_actor",
    "summary_detailed",
    "plm_action",
    "plm_caption",
    "llama3_caption",
)
# Light, distinct hues (no red: red marks a failed check), one per level, cycling past ten.
LEVEL_COLOURS = (
    "#8fb8de",
    "#9ad0a3",
    "#f6c28b",
    "#c5a3d9",
    "#a8d8d8",
    "#e3d27f",
    "#b8b8e8",
    "#d9b38c",
    "#b5cf8a",
    "#e8b4d0",
)
FAILED_COLOUR = "#d00000"
# Above this many nodes, the lanes deeper than COLLAPSE_DEPTH start collapsed.
COLLAPSE_ABOVE = 1500
COLLAPSE_DEPTH = 8


@dataclass(frozen=True)
class Offence:
    """One failed check: the rule, its severity and what it says."""

    rule: str
    severity: Severity
    text: str


@dataclass
class VideoTree:
    """One video: its nodes (dicts with node_id, parent_id, level, start, end and the texts of
    NODE_TEXTS), its transcript lines ((time, text)), and the checks its rows fail."""

    video_uid: str
    nodes: list[dict[str, Any]]
    transcript: list[tuple[float, str]] = field(default_factory=list)
    title: str | None = None
    duration: float | None = None
    source: str = ""  # where the rows came from, for the page's header
    quarantined: bool = False  # drawn from its raw record in quarantine, not from the tables
    node_offences: dict[str, list[Offence]] = field(default_factory=dict)
    video_offences: list[Offence] = field(default_factory=list)

    @property
    def levels(self) -> int:
        return 1 + max((int(n["level"]) for n in self.nodes), default=-1)

    @property
    def span(self) -> tuple[float, float]:
        """The time axis: from 0 (or the earliest start) to the latest end or the duration."""
        starts = [float(n["start"]) for n in self.nodes] or [0.0]
        ends = [float(n["end"]) for n in self.nodes] or [1.0]
        t0 = min(0.0, min(starts))
        t1 = max(max(ends), float(self.duration or 0.0), t0 + 1e-3)
        return t0, t1

    def failed_rules(self) -> dict[str, tuple[Severity, int]]:
        """rule -> (severity, rows failing it), over the nodes and the video."""
        found: dict[str, tuple[Severity, int]] = {}
        offences = [o for os in self.node_offences.values() for o in os] + self.video_offences
        for o in offences:
            severity, count = found.get(o.rule, (o.severity, 0))
            found[o.rule] = (severity, count + 1)
        return dict(sorted(found.items()))


def _clean(value: Any) -> Any:
    """A value as JSON can carry it: NaN and missing as None, numpy scalars as Python ones."""
    if value is None:
        return None
    if hasattr(value, "item"):  # numpy / pandas scalars
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def tree_from_records(
    video_uid: str,
    nodes: list[dict[str, Any]],
    transcript: list[dict[str, Any]] | None = None,
    video: dict[str, Any] | None = None,
    source: str = "",
) -> VideoTree:
    """A VideoTree from flat rows shaped like the lake's tables (nodes, transcripts, videos)."""
    kept = [
        {
            k: _clean(n.get(k))
            for k in ("node_id", "parent_id", "level", "start", "end", *NODE_TEXTS)
        }
        for n in nodes
    ]
    kept.sort(key=lambda n: (n["level"], n["start"], n["end"]))
    lines = sorted(
        (float(t["time"]), str(t.get("text") or ""))
        for t in transcript or []
        if _clean(t.get("time")) is not None and math.isfinite(float(t["time"]))
    )
    video = video or {}
    return VideoTree(
        video_uid=video_uid,
        nodes=kept,
        transcript=lines,
        title=_clean(video.get("title")),
        duration=_clean(video.get("duration")),
        source=source,
    )


def label_of(node: dict[str, Any]) -> str:
    """The bar's label: the brief action, else the PLM action; never the "N/A" marker."""
    for key in ("action_brief", "plm_action"):
        value = (node.get(key) or "").strip()
        if value and value != NOT_AVAILABLE:
            return value
    return ""


def _payload(tree: VideoTree) -> dict[str, Any]:
    t0, t1 = tree.span
    nodes = []
    for n in tree.nodes:
        offences = tree.node_offences.get(str(n["node_id"]), [])
        nodes.append(
            {
                "id": n["node_id"],
                "parent": n["parent_id"],
                "level": int(n["level"]),
                "start": float(n["start"]),
                "end": float(n["end"]),
                "label": label_of(n),
                "texts": {k: n[k] for k in NODE_TEXTS if n.get(k) is not None},
                "offences": [[o.rule, o.severity, o.text] for o in offences],
            }
        )
    levels = tree.levels
    return {
        "video_uid": tree.video_uid,
        "t0": t0,
        "t1": t1,
        "levels": levels,
        "collapse_depth": COLLAPSE_DEPTH if len(nodes) > COLLAPSE_ABOVE else levels,
        "colours": LEVEL_COLOURS,
        "dark_colours": [darker(c) for c in LEVEL_COLOURS],
        "failed_colour": FAILED_COLOUR,
        "nodes": nodes,
        "transcript": [[t, s] for t, s in tree.transcript],
    }


def darker(colour: str, by: float = 0.16) -> str:
    """The colour (#rrggbb) with its channels scaled down: a lane's every other bar."""
    channels = (round(int(colour[i : i + 2], 16) * (1 - by)) for i in (1, 3, 5))
    return "#" + "".join(f"{c:02x}" for c in channels)


def _json_for_script(value: Any) -> str:
    """JSON that cannot end the <script> element it sits in."""
    return (
        json.dumps(value, ensure_ascii=False, separators=(",", ":"))
        .replace("<", "\\u003c")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def _checks_html(tree: VideoTree) -> str:
    failed = tree.failed_rules()
    if not failed:
        return '<p class="meta pass" id="checks">No check failed on this video\'s rows.</p>'
    items = "".join(
        f'<li><span class="{text(sev)}">[{text(sev)}]</span> '
        f'<a href="#" class="rule" data-rule="{text(rule)}"><code>{text(rule)}</code></a>: '
        f"{count:,} row(s)</li>"
        for rule, (sev, count) in failed.items()
    )
    video_lines = "".join(
        f"<li><code>{text(o.rule)}</code>: {text(o.text)}</li>" for o in tree.video_offences
    )
    return (
        '<div id="checks"><p class="meta">Checks that failed on this video (nodes outlined in '
        f"red; a click on a rule selects its first node):</p><ul>{items}</ul>"
        + (f'<ul class="meta">{video_lines}</ul>' if video_lines else "")
        + "</div>"
    )


STYLE = """
main { max-width: none; }
#toolbar { margin: 8px 0; display: flex; gap: 8px; align-items: center; flex-wrap: wrap; }
#toolbar button { font: inherit; padding: 2px 10px; }
#frame { display: flex; background: #fff; border-radius: 6px; box-shadow: 0 1px 2px #0002; }
#names { flex: none; width: 92px; font-size: 12px; color: #52606d; }
#names div { cursor: pointer; overflow: hidden; white-space: nowrap; padding-left: 6px;
             border-bottom: 1px solid #f0f2f4; box-sizing: border-box; }
#scroller { overflow-x: auto; overflow-y: hidden; flex: 1; }
svg text { font-size: 11px; pointer-events: none; fill: #1f2933; }
svg .axis text { fill: #52606d; font-size: 10px; }
rect.bar, rect.line { stroke: #fff; stroke-width: 0.5; cursor: pointer; }
rect.bar.failed { stroke: #d00000; stroke-width: 2; }
rect.bar.selected, rect.line.selected { stroke: #1f2933; stroke-width: 2.5; }
#tip { position: fixed; pointer-events: none; background: #1f2933; color: #fff; font-size: 12px;
       padding: 4px 8px; border-radius: 4px; max-width: 420px; display: none; z-index: 2; }
#detail { background: #fff; border-radius: 6px; box-shadow: 0 1px 2px #0002; margin-top: 12px;
          padding: 10px 14px; min-height: 60px; }
#detail dt { font-weight: 600; margin-top: 6px; } #detail dd { margin: 0 0 0 12px; }
#legend span { display: inline-block; width: 12px; height: 12px; margin: 0 3px 0 10px;
               vertical-align: -2px; border-radius: 2px; }
"""

SCRIPT = r"""
(function () {
  const D = JSON.parse(document.getElementById("tree-data").textContent);
  const NS = "http://www.w3.org/2000/svg";
  const LANE = 24, THIN = 10, AXIS = 20, TEXT_PX = 6.3;
  const svg = document.getElementById("tree"), names = document.getElementById("names");
  const scroller = document.getElementById("scroller"), tip = document.getElementById("tip");
  const detail = document.getElementById("detail");
  const collapsed = [];
  for (let l = 0; l < D.levels; l++) collapsed.push(l >= D.collapse_depth);
  let zoom = 1, selected = null;
  const lanes = D.levels + 1;  // the last lane is the transcript
  function laneHeight(l) { return l < D.levels && collapsed[l] ? THIN : LANE; }
  function laneTop(l) { let y = AXIS; for (let i = 0; i < l; i++) y += laneHeight(i); return y; }
  function el(name, attrs, parent) {
    const e = document.createElementNS(NS, name);
    for (const k in attrs) e.setAttribute(k, attrs[k]);
    if (parent) parent.appendChild(e);
    return e;
  }
  const axis = el("g", {class: "axis"}, svg), barsG = el("g", {}, svg);
  const labelsG = el("g", {}, svg);
  // Neighbours on a lane alternate two shades, so that bars narrower than their white edge
  // (thousands on a lane) still show where they meet; the nodes come ordered by (level, start).
  const onLane = {};
  const bars = D.nodes.map(function (n, i) {
    const k = onLane[n.level] = (onLane[n.level] === undefined ? 0 : onLane[n.level] + 1);
    const palette = k % 2 ? D.dark_colours : D.colours;
    return el("rect", {class: "bar" + (n.offences.length ? " failed" : ""), "data-id": n.id,
                       "data-i": i, fill: palette[n.level % palette.length]}, barsG);
  });
  const lines = D.transcript.map(function (t, i) {
    return el("rect", {class: "line", "data-i": i, fill: "#cbd2d9"}, barsG);
  });
  function width() { return Math.max(400, scroller.clientWidth) * zoom; }
  function x(t, W) { return (t - D.t0) / (D.t1 - D.t0) * W; }
  function clip(s, px) {
    const n = Math.floor(px / TEXT_PX) - 1;
    return s.length <= n ? s : (n >= 8 ? s.slice(0, n - 1) + "\u2026" : "");
  }
  function layout() {
    const W = width(), H = laneTop(lanes - 1) + LANE + 4;
    svg.setAttribute("width", W); svg.setAttribute("height", H);
    names.style.height = H + "px";
    names.innerHTML = "";
    const head = document.createElement("div");
    head.style.height = AXIS + "px"; head.textContent = "seconds"; names.appendChild(head);
    for (let l = 0; l < lanes; l++) {
      const d = document.createElement("div");
      const h = l < D.levels ? laneHeight(l) : LANE;
      d.style.height = h + "px"; d.style.lineHeight = h + "px";
      d.style.fontSize = h < LANE ? "8px" : "12px";
      if (l < D.levels) {
        d.textContent = (collapsed[l] ? "\u25b8 " : "\u25be ") + "level " + l;
        d.title = collapsed[l] ? "open this level" : "collapse this level";
        d.className = "lane-name"; d.dataset.level = l;
        d.onclick = function () { collapsed[l] = !collapsed[l]; layout(); };
      } else { d.textContent = "transcript"; d.className = "lane-name transcript"; }
      names.appendChild(d);
    }
    axis.innerHTML = "";
    const span = D.t1 - D.t0, target = W / 90;
    const raw = span / target, p = Math.pow(10, Math.floor(Math.log10(raw)));
    const step = p * (raw / p <= 1 ? 1 : raw / p <= 2 ? 2 : raw / p <= 5 ? 5 : 10);
    for (let t = Math.ceil(D.t0 / step) * step; t <= D.t1 + 1e-9; t += step) {
      const px = x(t, W);
      el("line", {x1: px, x2: px, y1: AXIS - 4, y2: H, stroke: "#eef1f4"}, axis);
      const label = el("text", {x: px + 2, y: AXIS - 7}, axis);
      label.textContent = (Math.round(t * 100) / 100) + " s";
    }
    labelsG.innerHTML = "";
    D.nodes.forEach(function (n, i) {
      const h = laneHeight(n.level), y = laneTop(n.level) + 1;
      const x0 = x(n.start, W), w = Math.max(x(n.end, W) - x0, 0.5);
      const r = bars[i];
      r.setAttribute("x", x0); r.setAttribute("y", y);
      r.setAttribute("width", w); r.setAttribute("height", h - 2);
      if (h === LANE && n.label) {
        const s = clip(n.label, w - 4);
        if (s) { const t = el("text", {x: x0 + 3, y: y + 15}, labelsG); t.textContent = s; }
      }
    });
    const ty = laneTop(lanes - 1) + 1;
    D.transcript.forEach(function (line, i) {
      const next = i + 1 < D.transcript.length ? D.transcript[i + 1][0] : D.t1;
      const x0 = x(line[0], W), w = Math.max(x(Math.max(next, line[0]), W) - x0, 1);
      const r = lines[i];
      r.setAttribute("x", x0); r.setAttribute("y", ty);
      r.setAttribute("width", w); r.setAttribute("height", LANE - 2);
      const s = clip(line[1], w - 4);
      if (s) { const t = el("text", {x: x0 + 3, y: ty + 15}, labelsG); t.textContent = s; }
    });
  }
  function fmt(t) { return (Math.round(t * 100) / 100).toFixed(2); }
  function esc(s) {
    return String(s).replace(/[&<>"]/g, function (c) {
      return {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}[c];
    });
  }
  const NAMES = {action_brief: "action (brief)", summary_brief: "summary (brief)",
    action_detailed: "action (detailed)", action_actor: "actor",
    summary_detailed: "summary (detailed)", plm_action: "PLM action",
    plm_caption: "PLM caption", llama3_caption: "Llama 3 caption"};
  function select(r) {
    if (selected) selected.classList.remove("selected");
    selected = r; r.classList.add("selected");
    const i = +r.dataset.i;
    let html;
    if (r.classList.contains("line")) {
      const line = D.transcript[i];
      html = "<h3>transcript at " + fmt(line[0]) + " s</h3><p>" + esc(line[1]) + "</p>";
    } else {
      const n = D.nodes[i];
      html = "<h3>level " + n.level + ", " + fmt(n.start) + " \u2013 " + fmt(n.end) + " s (" +
        fmt(n.end - n.start) + " s)</h3><p class=\"meta\">node " + esc(n.id) +
        (n.parent ? ", parent " + esc(n.parent) : ", the root") + "</p>";
      if (n.offences.length) {
        html += "<ul>" + n.offences.map(function (o) {
          return "<li class=\"" + esc(o[1]) + "\">[" + esc(o[1]) +
            "] <code>" + esc(o[0]) + "</code>: " + esc(o[2]) + "</li>";
        }).join("") + "</ul>";
      }
      html += "<dl>";
      for (const k in NAMES) if (n.texts[k] != null) html += "<dt>" + NAMES[k] + "</dt><dd>" + esc(n.texts[k]) + "</dd>";
      html += "</dl>";
      if (!Object.keys(n.texts).length) html += "<p class=\"meta\">no annotation</p>";
    }
    detail.innerHTML = html;
  }
  function hint(r) {
    const i = +r.dataset.i;
    if (r.classList.contains("line")) return fmt(D.transcript[i][0]) + " s: " + D.transcript[i][1];
    const n = D.nodes[i];
    return "level " + n.level + ", " + fmt(n.start) + "\u2013" + fmt(n.end) + " s" +
      (n.label ? ": " + n.label : "") + (n.offences.length ? " [" + n.offences.map(function (o) { return o[0]; }).join(", ") + "]" : "");
  }
  svg.addEventListener("click", function (e) {
    if (e.target.classList.contains("bar") || e.target.classList.contains("line")) select(e.target);
  });
  svg.addEventListener("mousemove", function (e) {
    const r = e.target;
    if (!(r.classList.contains("bar") || r.classList.contains("line"))) { tip.style.display = "none"; return; }
    tip.textContent = hint(r); tip.style.display = "block";
    tip.style.left = (e.clientX + 12) + "px"; tip.style.top = (e.clientY + 12) + "px";
  });
  svg.addEventListener("mouseleave", function () { tip.style.display = "none"; });
  function setZoom(z, anchor) {
    const old = zoom, a = anchor == null ? scroller.clientWidth / 2 : anchor;
    zoom = Math.min(Math.max(z, 1), 400);
    const at = (scroller.scrollLeft + a) / old;
    layout();
    scroller.scrollLeft = at * zoom - a;
    document.getElementById("zoom").textContent = zoom.toFixed(zoom < 10 ? 1 : 0) + "x";
  }
  document.getElementById("zoom-in").onclick = function () { setZoom(zoom * 2); };
  document.getElementById("zoom-out").onclick = function () { setZoom(zoom / 2); };
  document.getElementById("zoom-reset").onclick = function () { setZoom(1); };
  document.getElementById("open-all").onclick = function () { collapsed.fill(false); layout(); };
  scroller.addEventListener("wheel", function (e) {
    if (!e.ctrlKey) return;
    e.preventDefault();
    const box = scroller.getBoundingClientRect();
    setZoom(zoom * (e.deltaY < 0 ? 1.25 : 0.8), e.clientX - box.left);
  }, {passive: false});
  document.querySelectorAll("a.rule").forEach(function (a) {
    a.onclick = function (e) {
      e.preventDefault();
      const i = D.nodes.findIndex(function (n) { return n.offences.some(function (o) { return o[0] === a.dataset.rule; }); });
      if (i >= 0) {
        collapsed[D.nodes[i].level] = false; layout(); select(bars[i]);
        scroller.scrollLeft = Math.max(0, +bars[i].getAttribute("x") - 40);
      }
    };
  });
  window.addEventListener("resize", layout);
  layout();
  document.body.dataset.ready = "1";
})();
"""


def render_html(tree: VideoTree) -> str:
    """The whole page for one video: self-contained, loads nothing."""
    data = _payload(tree)
    t0, t1 = tree.span
    title = f"{tree.video_uid}" + (f": {tree.title}" if tree.title else "")
    collapsed = data["collapse_depth"] < tree.levels
    facts = (
        f"{len(tree.nodes):,} nodes on {tree.levels} levels, "
        f"{sum(1 for n in tree.nodes if (n.get('action_brief') or NOT_AVAILABLE) != NOT_AVAILABLE):,}"
        " with a GPT action, "
        f"{len(tree.transcript):,} transcript lines, {t1 - t0:,.2f} s"
        + (f" (stated duration {tree.duration:g} s)" if tree.duration is not None else "")
    )
    legend = "".join(
        f'<span style="background:{LEVEL_COLOURS[level % len(LEVEL_COLOURS)]}"></span>level {level}'
        for level in range(min(tree.levels, len(LEVEL_COLOURS)))
    )
    body = (
        f"<h1>{text(title)}</h1>"
        f'<p class="meta">{text(facts)}. {text(tree.source)}</p>'
        + _checks_html(tree)
        + '<div id="toolbar"><button id="zoom-out" title="zoom out">\u2212</button>'
        '<span id="zoom">1.0x</span><button id="zoom-in" title="zoom in">+</button>'
        '<button id="zoom-reset">whole video</button><button id="open-all">open all levels</button>'
        '<span class="meta">Ctrl + wheel zooms; a click on a bar shows its annotation'
        + (f"; levels {data['collapse_depth']} and deeper start collapsed" if collapsed else "")
        + f'</span><span id="legend" class="meta">{legend}'
        f'<span style="background:#fff;border:2px solid {FAILED_COLOUR}"></span>failed a check</span></div>'
        '<div id="frame"><div id="names"></div><div id="scroller"><svg id="tree" '
        'xmlns="http://www.w3.org/2000/svg"></svg></div></div>'
        '<div id="detail"><p class="meta">Click a bar to read its annotation.</p></div>'
        '<div id="tip"></div>'
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{text(title)}</title><style>{STYLESHEET}{STYLE}</style></head>"
        f"<body><main>{body}</main>"
        f'<script type="application/json" id="tree-data">{_json_for_script(data)}</script>'
        f"<script>{SCRIPT}</script></body></html>\n"
    )


def examples_html(examples: list[dict[str, Any]]) -> list[str]:
    """The statistics page's section linking to its example videos' tree pages, if any."""
    if not examples:
        return []
    items = "".join(
        f'<li><a class="example" href="{text(e["page"])}">{text(e["video_uid"])}</a>: '
        f"{e['nodes']:,} nodes, {text(e['why'])}</li>"
        for e in examples
    )
    return [
        "<h2>Example trees</h2>",
        f'<ul id="examples">{items}</ul>',
        '<p class="note">Each page draws one video\'s Tree-of-Captions; any other video: '
        "<code>a100m show VIDEO_UID</code> (or <code>--random</code>, "
        '<code>--where "SQL"</code>), which also marks the checks its rows fail.</p>',
    ]
