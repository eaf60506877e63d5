"""The report's pages: one run's page and the index of every report. Pure: data in, HTML out,
no pyspark, no script, no network (charts are inline SVG `data:` images)."""

from __future__ import annotations

from typing import Any

from pipelines.core.html import number, page, table, text
from pipelines.core.results import CheckOutcome, counted
from pipelines.core.tables import DATA_TABLES
from pipelines.report.anomalies import Anomaly
from pipelines.report.charts import trend_img, trend_svg
from pipelines.report.metrics import (
    COUNT,
    HOURS,
    SHARE,
    RunPoint,
    change_text,
    human,
    label_of,
    metric_names,
    series,
    unit_of,
)

DATA_DOCS = "validation/gx/uncommitted/data_docs/local_site/index.html"
STATS_PAGE = "stats/report.html"
FIGURE_UNITS = {"na_rate": SHARE, "video_hours": HOURS}
EXTRA_STYLE = """
.trends { display: grid; grid-template-columns: repeat(auto-fill, minmax(250px, 1fr)); gap: 10px; }
.trend-card { background: #fff; border-radius: 6px; padding: 8px 10px; box-shadow: 0 1px 2px #0002; }
.trend-card.anomalous { outline: 2px solid #cf222e; }
.trend-card .k { color: #52606d; font-size: 12px; } .trend-card .v { font-size: 18px; font-weight: 600; }
.trend-card .d { font-size: 12px; color: #52606d; } .trend-card img.trend { width: 100%; height: auto; }
.verdict { font-size: 22px; padding: 8px 12px; border-radius: 6px; background: #fff; display: inline-block; }
pre.query { background: #eef1f4; padding: 6px 10px; white-space: pre-wrap; font-size: 12px; }
details summary { cursor: pointer; font-weight: 600; margin: 8px 0; }
"""


def verdict_of(failed_checks: int, anomalies: int, fail_anomalies: int) -> tuple[str, str]:
    """(the verdict a person reads, its css class)."""
    if failed_checks or fail_anomalies:
        parts = [counted(failed_checks, "fail-severity check")] if failed_checks else []
        parts += [counted(anomalies, "anomaly", "anomalies")] if anomalies else []
        return "FAILED: " + ", ".join(parts), "fail"
    if anomalies:
        their = "its" if anomalies == 1 else "their"
        return f"ANOMALIES: {counted(anomalies, 'metric')} out of {their} usual range", "warn"
    return "PASSED", "pass"


def _level(o: CheckOutcome) -> str:
    if o.success:
        return "note"
    return "FAILED" if o.level == "fail" else "WARNING"


def _samples_html(check: str, o: CheckOutcome, samples: list[Any]) -> str:
    rows = [
        [s.video, s.node or "-", number(s.start), number(s.end), s.offence] for s in samples
    ] or [["-", "-", "-", "-", e] for e in o.examples[:5]]
    if o.level == "fail":
        query = (
            'a100m sql "SELECT video_uid, node_id, reason_detail FROM quarantine WHERE '
            f"array_contains(reason_codes, '{o.check_id}')\" --lake LAKE"
        )
        where = (
            "Every offending video is listed by this query once a <code>run</code> or "
            "<code>validate</code> has quarantined it (the report itself quarantines nothing):"
        )
    else:
        query = (
            "a100m validate --no-quarantine --lake LAKE   "
            f"# then validation/&lt;run&gt;/{text(o.suite)}.json lists the first examples"
        )
        where = "A warn-level check quarantines nothing; its rows stay in the tables."
    return (
        f"<h3 id='check-{text(check)}'>{text(check)} <span class='{'fail' if o.level == 'fail' else 'warn'}'>"
        f"{_level(o)}</span> &middot; offending rows: {number(o.unexpected_count)}</h3>"
        + table(["video", "node", "start s", "end s", "offence"], rows)
        + f"<p class='note'>{where}</p><pre class='query'>{text(query) if o.level == 'fail' else query}</pre>"
    )


def _findings_html(outcomes: list[CheckOutcome], samples: dict[str, list[Any]]) -> str:
    found = sorted(
        (o for o in outcomes if not o.success),
        key=lambda o: (o.level != "fail", o.suite, o.check_id),
    )
    notes = sorted(
        (o for o in outcomes if o.success and (o.unexpected_count or 0) > 0),
        key=lambda o: (o.suite, o.check_id),
    )
    if not found and not notes:
        return "<p>No check has findings.</p>"
    parts = [
        table(
            ["level", "check", "rows", "observed"],
            [
                [_level(o), f"{o.suite}.{o.check_id}", number(o.unexpected_count), o.observed_value]
                for o in found + notes
            ],
        )
    ]
    for o in found + notes:
        check = f"{o.suite}.{o.check_id}"
        parts.append(_samples_html(check, o, samples.get(check, [])))
    return "".join(parts)


def _anomalies_html(anomalies: list[Anomaly]) -> str:
    if not anomalies:
        return "<p>No metric left its usual range.</p>"
    return table(
        ["severity", "metric", "strategy", "value", "accepted", "why"],
        [
            [
                a.severity,
                label_of(a.metric),
                a.strategy,
                human(a.value, unit_of(a.metric)),
                f"{human(a.low, unit_of(a.metric)) if a.low is not None else '...'} to "
                f"{human(a.high, unit_of(a.metric)) if a.high is not None else '...'}",
                a.message,
            ]
            for a in anomalies
        ],
    )


def _history_html(
    history: list[RunPoint], anomalous: dict[str, set[str]], current_anomalies: set[str]
) -> str:
    """A card per metric: current value, change since the previous run, the trend chart."""
    cards, quiet_checks = [], 0
    for metric in metric_names(history):
        values = series(history, metric)
        if metric.startswith("check.") and not any(values):
            quiet_checks += 1
            continue
        unit = unit_of(metric)
        known = [v for v in values if v is not None]
        now = values[-1] if values else None
        before = known[-2] if len(known) >= 2 and now is not None else None
        flags = [metric in anomalous.get(p.run_id, set()) for p in history]
        svg = trend_svg(values, unit, flags, label_of(metric))
        css = "trend-card anomalous" if metric in current_anomalies else "trend-card"
        cards.append(
            f"<div class='{css}' data-metric='{text(metric)}'><div class='k'>{text(label_of(metric))}</div>"
            f"<div class='v'>{text(human(now, unit))}</div>"
            f"<div class='d'>{text(change_text(before, now, unit) if before is not None else 'first run')}"
            f"</div>{trend_img(svg, f'trend of {label_of(metric)} over {len(history)} runs')}</div>"
        )
    runs = table(
        ["#", "run", "at (UTC)", "command", "anomalies"],
        [
            [
                i,
                p.run_id,
                p.at[:19],
                p.command or "-",
                ", ".join(sorted(anomalous.get(p.run_id, ()))) or "none",
            ]
            for i, p in enumerate(history, 1)
        ],
    )
    quiet = (
        f"<p class='note'>{counted(quiet_checks, 'other check')} had no unexpected rows in "
        f"{'the one run' if len(history) == 1 else f'any of the {len(history)} runs'}.</p>"
        if quiet_checks
        else ""
    )
    return f"<div class='trends'>{''.join(cards)}</div>{quiet}<h3>Runs</h3>{runs}"


def _capped(facts: dict[str, Any]) -> str:
    """Says the page shows only the last runs of a longer history, when it does."""
    total, shown = facts.get("history_runs_total"), len(facts.get("history") or [])
    return f", the last {shown} of {total}" if total and total > shown else ""


def _upkeep_html(facts: dict[str, Any]) -> str:
    """Each table's files, size and time since its last optimize, small-file tables flagged."""
    tables = facts.get("lake_tables")
    if not tables:
        return "<p>No table figures in this report.</p>"
    rows = [
        [
            t["table"],
            t["version"],
            number(t["files"]),
            t["size"],
            t["mean_file_size"],
            f"{t['since_optimize']} ago" if t["last_optimize"] else "never",
            f"{number(t['small'])}: too many, run a100m optimize"
            if t["small_files"]
            else number(t["small"]),
        ]
        for t in tables
    ]
    return (
        table(
            ["table", "version", "files", "size", "mean file", "last optimize", "small files"],
            rows,
        )
        + "<p class='note'>Each table at its committed version; the last optimize is the newest "
        "OPTIMIZE in its Delta history. A table has too many small files when "
        f"{facts.get('small_files_min', '')} or more of its files are under "
        f"{text(facts.get('small_file_size', ''))} (docs/lakeops.md); "
        "<code>a100m optimize</code> compacts them.</p>"
    )


def _changes_html(changes: dict[str, Any]) -> str:
    if not changes:
        return "<p>This is the first report: nothing to compare with.</p>"
    counts = [
        [t, number(b), number(n), change_text(b, n, COUNT)]
        for t, (b, n) in changes["row_counts"].items()
    ]
    shifts = [
        [v, number(b, "share"), number(n, "share"), change_text(b, n, SHARE)]
        for v, b, n in changes["verb_shifts"]
        if change_text(b, n, SHARE) not in ("no change", "-")
    ]
    return (
        table(["table", "rows before", "rows now", "change"], counts)
        + f"<p>Checks newly failing: {text(', '.join(changes['newly_failing']) or 'none')}<br>"
        f"Checks fixed: {text(', '.join(changes['fixed']) or 'none')}</p>"
        + (
            table(["verb", "share before", "share now", "shift"], shifts)
            if shifts
            else "<p>Verb shares: no change.</p>"
        )
    )


def _every_expectation(outcomes: list[CheckOutcome]) -> str:
    rows = [
        [
            o.suite,
            o.check_id or "-",
            o.expectation,
            o.column or "-",
            o.level,
            "passed" if o.success else "FAILED",
            number(o.element_count),
            number(o.unexpected_count),
            (o.observed_value or "")[:80],
        ]
        for o in sorted(outcomes, key=lambda o: (o.suite, o.check_id or "", o.expectation))
    ]
    failed = sum(not o.success for o in outcomes)
    return (
        f"<details><summary>Every expectation: {len(outcomes)} checked, {failed} not met"
        "</summary>"
        + table(
            [
                "suite",
                "check",
                "expectation",
                "column",
                "level",
                "result",
                "rows",
                "unexpected",
                "observed",
            ],
            rows,
        )
        + "</details>"
    )


def render_report_page(
    facts: dict[str, Any],
    outcomes: list[CheckOutcome],
    top_verbs: list[dict[str, Any]],
    changes: dict[str, Any],
    history: list[RunPoint] | None = None,
    anomalies: list[Anomaly] | None = None,
    anomalous_runs: dict[str, set[str]] | None = None,
    samples: dict[str, list[Any]] | None = None,
) -> str:
    """One report's page: verdict, findings with sample rows, anomalies, the history at a
    glance, the tables, key figures, what changed, and every expectation."""
    history, anomalies = history or [], anomalies or []
    verdict, css = facts["verdict"], facts["verdict_class"]
    figures = [
        [name, human(value, FIGURE_UNITS.get(name, COUNT))]
        for name, value in facts["figures"].items()
    ]
    verbs = [[r["verb"], number(r["actions"]), number(r["share"], "share")] for r in top_verbs]
    docs = (
        f" &middot; <a href='{DATA_DOCS}'>Great Expectations Data Docs</a> (needs internet)"
        if facts.get("data_docs")
        else ""
    )
    parts = [
        "<h1>Action100M data-quality report</h1>",
        f"<p class='meta'>{text(facts['created_at'][:19])} UTC &middot; run <code>{text(facts['run_id'])}"
        f"</code> &middot; lake <code>{text(facts['lake'])}</code></p>",
        f"<p class='verdict {css}' id='verdict'>{text(verdict)}</p>",
        "".join(
            f"<p class='warn upkeep'>Lake upkeep: {text(line)}</p>"
            for line in facts.get("upkeep_warnings") or []
        ),
        "<h2>Checks with findings</h2>",
        _findings_html(outcomes, samples or {}),
        "<h2>Anomalies</h2>",
        _anomalies_html(anomalies),
        f"<h2>History at a glance ({counted(len(history), 'run')}{_capped(facts)})</h2>",
        _history_html(history, anomalous_runs or {}, {a.metric for a in anomalies})
        if history
        else "<p>No history yet.</p>",
        "<h2>Tables</h2>",
        table(
            ["table", "version", "rows"],
            [[t, facts["versions"][t], number(facts["row_counts"][t])] for t in DATA_TABLES],
        ),
        "<h2 id='lake-tables'>Lake tables on disk</h2>",
        _upkeep_html(facts),
        "<h2>Key statistics</h2>",
        table(["figure", "value"], figures),
        table(["top verb", "actions", "share"], verbs),
        "<h2>Since the previous report</h2>",
        _changes_html(changes),
        "<h2>Every expectation</h2>",
        _every_expectation(outcomes),
        f"<p>Details: <a href='{STATS_PAGE}'>statistics report</a>{docs}</p>",
    ]
    return page(f"a100m report {facts['run_id']}", "".join(parts), EXTRA_STYLE)


def render_index(reports: list[tuple[str, dict[str, Any]]]) -> str:
    """The index of every report: (folder name, report.json facts), newest first."""
    rows = []
    for folder, facts in reports:
        verdict = facts.get("verdict") or (
            "PASSED" if facts["passed"] else f"FAILED ({facts['failed_checks']})"
        )
        css = facts.get("verdict_class") or ("pass" if facts["passed"] else "fail")
        counts = facts["row_counts"]
        rows.append(
            f"<tr><td><a href='{text(folder)}/index.html'>{text(folder)}</a></td>"
            f"<td class='{css}'>{text(verdict)}</td>"
            f"<td class='n'>{number(counts.get('videos'))}</td>"
            f"<td class='n'>{number(counts.get('nodes'))}</td>"
            f"<td class='n'>{number(len(facts.get('anomalies') or []))}</td>"
            f"<td><code>{text(facts['run_id'])}</code></td></tr>"
        )
    body = (
        "<h1>Action100M data-quality reports</h1><table><tr><th>report</th><th>verdict</th>"
        "<th class='n'>videos</th><th class='n'>nodes</th><th class='n'>anomalies</th>"
        "<th>run</th></tr>" + "".join(rows) + "</table>"
    )
    return page("a100m reports", body)
