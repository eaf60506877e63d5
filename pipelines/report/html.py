"""The report's pages: one run's page and the index of every report. Pure: dicts in, HTML out,
no pyspark."""

from __future__ import annotations

from typing import Any

from pipelines.core.html import number, page, table, text
from pipelines.core.results import CheckOutcome
from pipelines.core.tables import DATA_TABLES

DATA_DOCS = "validation/gx/uncommitted/data_docs/local_site/index.html"
STATS_PAGE = "stats/report.html"
# Figures shown as shares (0..1) rather than counts.
SHARE_FIGURES = {"na_rate"}


def _findings(outcomes: list[CheckOutcome]) -> list[list[Any]]:
    ordered = sorted(outcomes, key=lambda o: (o.success, o.level, o.suite, o.check_id))
    return [
        [
            o.level,
            f"{o.suite}.{o.check_id}",
            "passed" if o.success else "FAILED",
            number(o.unexpected_count),
            (o.examples or [""])[0][:120],
        ]
        for o in ordered
        if not o.success or (o.unexpected_count or 0) > 0
    ]


def _changes_html(changes: dict[str, Any]) -> list[str]:
    if not changes:
        return ["<p>This is the first report: nothing to compare with.</p>"]
    shifts = [(v, b, n) for v, b, n in changes["verb_shifts"] if abs(n - b) >= 0.00005]
    return [
        table(
            ["table", "rows before", "rows now"],
            [[t, number(b), number(n)] for t, (b, n) in changes["row_counts"].items()],
        ),
        f"<p>Checks newly failing: {text(', '.join(changes['newly_failing']) or 'none')}<br>"
        f"Checks fixed: {text(', '.join(changes['fixed']) or 'none')}</p>",
        table(
            ["verb", "share before", "share now", "shift"],
            [
                [v, number(b, "share"), number(n, "share"), f"{100 * (n - b):+.2f} pt"]
                for v, b, n in shifts
            ],
        )
        if shifts
        else "<p>Verb shares: no change.</p>",
    ]


def render_report_page(
    facts: dict[str, Any],
    outcomes: list[CheckOutcome],
    top_verbs: list[dict[str, Any]],
    changes: dict[str, Any],
) -> str:
    """One report's page: verdict, findings, tables, key figures, and what changed."""
    verdict = (
        "PASSED" if facts["passed"] else f"FAILED: {facts['failed_checks']} fail-severity checks"
    )
    css = "pass" if facts["passed"] else "fail"
    checks = _findings(outcomes)
    figures = [
        [name, number(value, "share" if name in SHARE_FIGURES else "")]
        for name, value in facts["figures"].items()
    ]
    verbs = [[r["verb"], number(r["actions"]), number(r["share"], "share")] for r in top_verbs]
    parts = [
        "<h1>Action100M data-quality report</h1>",
        f"<p class='meta'>{text(facts['created_at'])} &middot; run <code>{text(facts['run_id'])}"
        f"</code> &middot; lake <code>{text(facts['lake'])}</code></p>",
        f"<h2 class='{css}'>{text(verdict)}</h2>",
        "<h2>Checks with findings</h2>",
        table(["level", "check", "result", "rows", "example"], checks)
        if checks
        else "<p>None.</p>",
        "<h2>Tables</h2>",
        table(
            ["table", "version", "rows"],
            [[t, facts["versions"][t], number(facts["row_counts"][t])] for t in DATA_TABLES],
        ),
        "<h2>Key statistics</h2>",
        table(["figure", "value"], figures),
        table(["top verb", "actions", "share"], verbs),
        "<h2>Since the previous report</h2>",
        *_changes_html(changes),
        f"<p>Details: <a href='{DATA_DOCS}'>Great Expectations Data Docs</a>"
        f" &middot; <a href='{STATS_PAGE}'>statistics report</a></p>",
    ]
    return page(f"a100m report {facts['run_id']}", "".join(parts))


def render_index(reports: list[tuple[str, dict[str, Any]]]) -> str:
    """The index of every report: (folder name, report.json facts), newest first."""
    rows = []
    for folder, facts in reports:
        verdict = "PASSED" if facts["passed"] else f"FAILED ({facts['failed_checks']})"
        counts = facts["row_counts"]
        rows.append(
            f"<tr><td><a href='{text(folder)}/index.html'>{text(folder)}</a></td>"
            f"<td class='{'pass' if facts['passed'] else 'fail'}'>{text(verdict)}</td>"
            f"<td>{number(counts.get('videos'))}</td><td>{number(counts.get('nodes'))}</td>"
            f"<td><code>{text(facts['run_id'])}</code></td></tr>"
        )
    body = (
        "<h1>Action100M data-quality reports</h1><table><tr><th>report</th><th>verdict</th>"
        "<th>videos</th><th>nodes</th><th>run</th></tr>" + "".join(rows) + "</table>"
    )
    return page("a100m reports", body)
