"""The report's pages: one run's page and the index of every report. Pure: data in, HTML out,
no pyspark, no script, no network (charts are inline SVG `data:` images)."""

from __future__ import annotations

import shlex
from typing import Any

from pipelines.core.html import number, page, table, text
from pipelines.core.results import CheckOutcome, counted
from pipelines.core.severity import Severity
from pipelines.core.tables import DATA_TABLES
from pipelines.report.anomalies import Anomaly
from pipelines.report.charts import axis_note, trend_img, trend_svg
from pipelines.report.metrics import (
    COUNT,
    HOURS,
    SHARE,
    RunPoint,
    baseline_of,
    change_text,
    human,
    label_of,
    metric_names,
    moment_of,
    series,
    unit_of,
    when,
)

DATA_DOCS = "validation/gx/uncommitted/data_docs/local_site/index.html"
STATS_PAGE = "stats/report.html"
FIGURE_UNITS = {"na_rate": SHARE, "video_hours": HOURS}
# The key statistics by what people call them (the stats_summary names stay in report.json).
FIGURE_LABELS = {
    "videos": "videos",
    "nodes": "nodes (segments)",
    "leaves": "leaf nodes",
    "gpt_nodes": "nodes with a GPT annotation",
    "actions": "actions",
    "na_rate": '"N/A" rate (of annotated nodes)',
    "video_hours": "hours of video",
}
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
    """(the verdict a person reads, its css class: the severity that decided it, or pass)."""
    if failed_checks or fail_anomalies:
        parts = [counted(failed_checks, "fail-severity check")] if failed_checks else []
        parts += [counted(anomalies, "anomaly", "anomalies")] if anomalies else []
        return "FAILED: " + ", ".join(parts), Severity.FAIL
    if anomalies:
        their = "its" if anomalies == 1 else "their"
        return (
            f"ANOMALIES: {counted(anomalies, 'metric')} out of {their} usual range",
            Severity.WARN,
        )
    return "PASSED", "pass"


def _level(o: CheckOutcome) -> str:
    if o.success:
        return "note"
    return "FAILED" if o.level is Severity.FAIL else "WARNING"


def hint(command: str, lake: str) -> str:
    """A command a person can paste: the report's own lake in place of a placeholder, quoted
    for the shell (a lake path may hold spaces)."""
    return f"{command} --lake {shlex.quote(lake)}"


def _samples_html(check: str, o: CheckOutcome, samples: list[Any], lake: str) -> str:
    rows = [
        [s.video, s.node or "-", number(s.start), number(s.end), s.offence] for s in samples
    ] or [["-", "-", "-", "-", e] for e in o.examples[:5]]
    if o.level is Severity.FAIL:
        query = hint(
            'a100m sql "SELECT video_uid, node_id, reason_detail FROM quarantine WHERE '
            f"array_contains(reason_codes, '{o.check_id}')\"",
            lake,
        )
        where = (
            "Every offending video is listed by this query once a <code>run</code> or "
            "<code>validate</code> has quarantined it (the report itself quarantines nothing):"
        )
    else:
        query = (
            hint("a100m validate --no-quarantine", lake)
            + f"   # then validation/<run>/{o.suite}.json lists the first examples"
        )
        where = "A warn-level check quarantines nothing; its rows stay in the tables."
    return (
        f"<h3 id='check-{text(check)}'>{text(check)} <span class='{o.level}'>"
        f"{_level(o)}</span> &middot; offending rows: {number(o.unexpected_count)}</h3>"
        + table(["video", "node", "start s", "end s", "offence"], rows)
        + f"<p class='note'>{where}</p><pre class='query'>{text(query)}</pre>"
    )


def _findings_html(outcomes: list[CheckOutcome], samples: dict[str, list[Any]], lake: str) -> str:
    found = sorted(
        (o for o in outcomes if not o.success),
        key=lambda o: (o.level is not Severity.FAIL, o.suite, o.check_id),
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
        parts.append(_samples_html(check, o, samples.get(check, []), lake))
    return "".join(parts)


def _anomalies_html(anomalies: list[Anomaly], checks: dict[str, str]) -> str:
    if not anomalies:
        return "<p>No metric left its usual range.</p>"
    return table(
        ["severity", "metric", "strategy", "value", "accepted", "why"],
        [
            [
                a.severity,
                label_of(a.metric, checks),
                a.strategy,
                human(a.value, unit_of(a.metric)),
                f"{human(a.low, unit_of(a.metric)) if a.low is not None else '...'} to "
                f"{human(a.high, unit_of(a.metric)) if a.high is not None else '...'}",
                a.message,
            ]
            for a in anomalies
        ],
    )


def report_name(at: str, this_at: str) -> str:
    """The previous report as a card names it, short enough for one line: "the 02:01 report"
    when it is of this report's day, else "the Dec 2 report" (the note above the cards gives
    its full time)."""
    then, now = moment_of(at), moment_of(this_at)
    if then is None:
        return "the previous report"
    if now is not None and then.date() == now.date():
        return f"the {then:%H:%M} report"
    return f"the {then:%b} {then.day} report"


def since_text(before: float | None, now: float | None, unit: str, which: str) -> str:
    """A card's change, against the previous report's run (metrics.baseline_of), never the run
    before it: a night's `run` already holds the videos its `report` then reads."""
    if before is None or now is None:
        return f"not in {which}"
    return f"{change_text(before, now, unit)} since {which}"


def _run_role(run: str, this_run: str, baseline: RunPoint | None) -> str:
    if run == this_run:
        return "this report"
    return "previous report" if baseline and run == baseline.run_id else ""


def _runs_table(
    history: list[RunPoint],
    anomalous: dict[str, set[str]],
    baseline: RunPoint | None,
    this_run: str,
    checks: dict[str, str],
) -> str:
    """Every run of the history; the two the page compares are marked."""
    return table(
        ["#", "run", "at", "command", "", "anomalies"],
        [
            [
                i,
                p.run_id,
                when(p.at),
                p.command or "-",
                _run_role(p.run_id, this_run, baseline),
                ", ".join(sorted(label_of(m, checks) for m in anomalous.get(p.run_id, ())))
                or "none",
            ]
            for i, p in enumerate(history, 1)
        ],
    )


def _history_html(
    history: list[RunPoint],
    anomalous: dict[str, set[str]],
    current_anomalies: set[str],
    baseline: RunPoint | None,
    previous_run: str | None,
    this_run: str,
    checks: dict[str, str],
) -> str:
    """A card per metric: current value, change since the previous report, the trend chart."""
    cards, quiet_checks = [], 0
    times = [p.at for p in history]
    which = report_name(baseline.at, times[-1]) if baseline else ""
    missing = "previous report not in the history" if previous_run else "first report"
    for metric in metric_names(history):
        values = series(history, metric)
        if metric.startswith("check.") and not any(values):
            quiet_checks += 1
            continue
        unit, label = unit_of(metric), label_of(metric, checks)
        now = values[-1] if values else None
        flags = [metric in anomalous.get(p.run_id, set()) for p in history]
        svg = trend_svg(values, unit, flags, label, times)
        css = "trend-card anomalous" if metric in current_anomalies else "trend-card"
        note = axis_note(values)
        change = since_text(baseline.metrics.get(metric), now, unit, which) if baseline else missing
        cards.append(
            f"<div class='{css}' data-metric='{text(metric)}'>"
            f"<div class='k' title='{text(metric)}'>{text(label)}</div>"
            f"<div class='v'>{text(human(now, unit))}</div>"
            f"<div class='d'>{text(change)}</div>"
            f"{trend_img(svg, f'trend of {label} over {len(history)} runs')}"
            + (f"<div class='d axis'>{text(note)}</div>" if note else "")
            + "</div>"
        )
    quiet = (
        f"<p class='note'>{counted(quiet_checks, 'other check')} had no unexpected rows in "
        f"{'the one run' if len(history) == 1 else f'any of the {len(history)} runs'}.</p>"
        if quiet_checks
        else ""
    )
    return (
        f"<p class='note' id='baseline'>{text(_baseline_note(baseline, previous_run))}</p>"
        f"<div class='trends'>{''.join(cards)}</div>{quiet}<h3>Runs</h3><div id='runs'>"
        + _runs_table(history, anomalous, baseline, this_run, checks)
        + "</div>"
    )


def _baseline_note(baseline: RunPoint | None, previous_run: str | None) -> str:
    """Which report the cards compare with, and how their charts are drawn."""
    axes = "Each chart's value axis starts at zero unless its card says why not."
    if baseline is None and previous_run:
        return (
            f"The previous report's run ({previous_run}) is not in the lake's history: "
            f"the cards have nothing to compare with. {axes}"
        )
    if baseline is None:
        return f"This is the first report: its cards have nothing to compare with. {axes}"
    return (
        f"Changes are since the previous report, of {when(baseline.at)} (marked in the table "
        f"of runs), not since the last run. {axes}"
    )


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


def report_time(facts: dict[str, Any], history: list[RunPoint]) -> str:
    """The report's one time: when its run began, as the lake's history (and so the table of
    runs, and the next report's "since the previous report") records it; the time the page was
    written when its run has no history."""
    own = next((p.at for p in history if p.run_id == facts["run_id"]), None)
    return when(own or facts["created_at"])


def _times_html(facts: dict[str, Any], folder: str | None) -> str:
    """The report's other times and ids, folded away: the page shows one time, the report's."""
    rows = [
        ["run id", facts["run_id"]],
        ["report folder", folder or "-"],
        ["statistics computed", when(facts.get("stats_computed_at"))],
        ["page written", when(facts["created_at"])],
    ]
    return (
        "<details id='times'><summary>Other times and ids of this report</summary>"
        + table(["of this report", "time or id"], rows)
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
    baseline: RunPoint | None = None,
    checks: dict[str, str] | None = None,
    folder: str | None = None,
) -> str:
    """One report's page: verdict, findings with sample rows, anomalies, the history at a
    glance, the tables, key figures, what changed, and every expectation. `baseline` is the
    previous report's run in the history (metrics.baseline_of; found in `history` when not
    given), `checks` maps "suite.check" to its description, `folder` is the report's folder."""
    history, anomalies, checks = history or [], anomalies or [], checks or {}
    previous_run = facts.get("previous_run_id")
    baseline = baseline or baseline_of(history, previous_run)
    at = report_time(facts, history)
    verdict, css = facts["verdict"], facts["verdict_class"]
    figures = [
        [FIGURE_LABELS.get(name, name), human(value, FIGURE_UNITS.get(name, COUNT))]
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
        f"<p class='meta'><span id='report-time'>{text(at)}</span>"
        f" &middot; lake <code>{text(facts['lake'])}</code></p>",
        _times_html(facts, folder),
        f"<p class='verdict {css}' id='verdict'>{text(verdict)}</p>",
        "".join(
            f"<p class='warn upkeep'>Lake upkeep: {text(line)}</p>"
            for line in facts.get("upkeep_warnings") or []
        ),
        "<h2>Checks with findings</h2>",
        _findings_html(outcomes, samples or {}, facts["lake"]),
        "<h2>Anomalies</h2>",
        _anomalies_html(anomalies, checks),
        f"<h2>History at a glance ({counted(len(history), 'run')}{_capped(facts)})</h2>",
        _history_html(
            history,
            anomalous_runs or {},
            {a.metric for a in anomalies},
            baseline,
            previous_run,
            facts["run_id"],
            checks,
        )
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
    return page(f"a100m report {at}", "".join(parts), EXTRA_STYLE)


def render_index(reports: list[tuple[str, dict[str, Any]]]) -> str:
    """The index of every report: (folder name, report.json facts), newest first."""
    rows = []
    for folder, facts in reports:
        verdict = facts.get("verdict") or (
            "PASSED" if facts["passed"] else f"FAILED ({facts['failed_checks']})"
        )
        css = facts.get("verdict_class") or ("pass" if facts["passed"] else Severity.FAIL)
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
