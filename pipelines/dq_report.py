"""`a100m report`: the scheduled data-quality report.

Each run validates the lake's current tables (report only: nothing is quarantined here, that is
the `run` pipeline's job), recomputes the statistics, and writes a dated folder under the output
with one HTML page: the verdict, the failing checks with their counts, key statistics, and what
changed since the previous report (row counts per table, checks newly failing or fixed, shifts in
the verb distribution), read back from the `dq_results` and `stats_*` history tables. The output's
index.html lists every report.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from pipelines.lake import read_table
from pipelines.validate import DATA_TABLES, ValidationResult, validate

REPORT_JSON = "report.json"
TOP_VERB_SHIFTS = 10


@dataclass
class ReportResult:
    folder: Path
    index: Path
    validation: ValidationResult
    previous_run_id: str | None
    changes: dict[str, Any]

    def summary(self) -> str:
        verdict = "PASSED" if self.validation.passed else "FAILED"
        lines = [
            f"report {self.folder.name}: {verdict}",
            f"  page:  {self.folder / 'index.html'}",
            f"  index: {self.index}",
        ]
        if self.previous_run_id:
            c = self.changes
            lines.append(f"  since run {self.previous_run_id}:")
            for table, (before, now) in c["row_counts"].items():
                lines.append(
                    f"    {table:<12} {before if before is not None else '-':>10} -> {now:>10}"
                )
            lines.append(f"    checks newly failing: {', '.join(c['newly_failing']) or 'none'}")
            lines.append(f"    checks fixed:         {', '.join(c['fixed']) or 'none'}")
        else:
            lines.append("  first report: nothing to compare with")
        return "\n".join(lines)


def make_report(spark: SparkSession, lake: str, out: str, run_id: str) -> ReportResult:
    from pipelines.stats import compute_stats

    now = datetime.now(UTC)
    root = Path(out)
    folder = root / f"{now:%Y-%m-%dT%H%M%SZ}-{run_id[-8:]}"
    folder.mkdir(parents=True, exist_ok=False)
    previous = _latest_report(root, exclude=folder.name)

    validation = validate(spark, lake, str(folder / "validation"), run_id, quarantine=False)
    stats = compute_stats(spark, lake, str(folder / "stats"), run_id)

    counts = {t: read_table(spark, lake, t, validation.versions[t]).count() for t in DATA_TABLES}
    previous_run = previous["run_id"] if previous else None
    changes = _changes(spark, lake, run_id, previous_run, counts) if previous_run else {}
    facts = {
        "run_id": run_id,
        "created_at": now.isoformat(),
        "lake": lake,
        "passed": validation.passed,
        "failed_checks": len(validation.failed),
        "versions": validation.versions,
        "row_counts": counts,
        "figures": {name: stats.value(name) for name in _KEY_FIGURES},
        "previous_run_id": previous_run,
    }
    (folder / REPORT_JSON).write_text(json.dumps(facts, indent=2, default=str))
    (folder / "index.html").write_text(_report_page(facts, validation, stats, changes))
    index = _write_index(root)
    return ReportResult(folder, index, validation, previous_run, changes)


_KEY_FIGURES = ("videos", "nodes", "leaves", "gpt_nodes", "actions", "na_rate", "video_hours")


def _latest_report(root: Path, exclude: str) -> dict[str, Any] | None:
    reports = sorted(p for p in root.glob(f"*/{REPORT_JSON}") if p.parent.name != exclude)
    return json.loads(reports[-1].read_text()) if reports else None


def _changes(
    spark: SparkSession, lake: str, run_id: str, previous_run: str, counts: dict[str, int]
) -> dict[str, Any]:
    """What changed between two runs, from the history tables."""
    dq = read_table(spark, lake, "dq_results").where(F.col("run_id").isin(run_id, previous_run))
    status = {
        (r.run_id, r.suite, r.check_id): r
        for r in dq.select(
            "run_id", "suite", "check_id", "success", "severity", "table_name", "table_version"
        ).collect()
    }
    now = {(s, c): r for (run, s, c), r in status.items() if run == run_id}
    before = {(s, c): r for (run, s, c), r in status.items() if run == previous_run}
    newly_failing = sorted(
        f"{s}.{c}"
        for (s, c), r in now.items()
        if not r.success and (s, c) in before and before[(s, c)].success
    )
    fixed = sorted(
        f"{s}.{c}"
        for (s, c), r in now.items()
        if r.success and (s, c) in before and not before[(s, c)].success
    )

    previous_versions = {r.table_name: r.table_version for r in before.values()}
    row_counts = {
        t: (
            read_table(spark, lake, t, previous_versions[t]).count()
            if previous_versions.get(t) is not None
            else None,
            counts[t],
        )
        for t in DATA_TABLES
    }

    verbs = read_table(spark, lake, "stats_verbs").where(F.col("run_id").isin(run_id, previous_run))
    shares: dict[str, dict[str, float]] = {run_id: {}, previous_run: {}}
    for r in verbs.select("run_id", "verb", "share").collect():  # top-k rows per run: small
        shares[r.run_id][r.verb] = r.share
    shifts = sorted(
        (
            (verb, shares[previous_run].get(verb, 0.0), shares[run_id].get(verb, 0.0))
            for verb in set(shares[run_id]) | set(shares[previous_run])
        ),
        key=lambda v: -abs(v[2] - v[1]),
    )[:TOP_VERB_SHIFTS]
    return {
        "row_counts": row_counts,
        "newly_failing": newly_failing,
        "fixed": fixed,
        "verb_shifts": shifts,
    }


# ---------------------------------------------------------------------------------------------
# HTML
# ---------------------------------------------------------------------------------------------

_STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:980px;color:#222}
table{border-collapse:collapse;margin:.5rem 0 1.5rem}td,th{border:1px solid #ccc;padding:.25rem .6rem;text-align:left}
.pass{color:#1a7f37}.fail{color:#cf222e}.warn{color:#9a6700}code{background:#f4f4f4;padding:0 .2rem}
"""


def _e(value: Any) -> str:
    return html.escape("-" if value is None else str(value))


def _table(headers: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _report_page(
    facts: dict[str, Any], validation: ValidationResult, stats, changes: dict[str, Any]
) -> str:
    verdict = (
        "PASSED" if facts["passed"] else f"FAILED: {facts['failed_checks']} fail-severity checks"
    )
    css = "pass" if facts["passed"] else "fail"
    checks = [
        [
            o.level,
            f"{o.suite}.{o.check_id}",
            "passed" if o.success else "FAILED",
            o.unexpected_count,
            (o.examples or [""])[0][:120],
        ]
        for o in sorted(
            validation.outcomes, key=lambda o: (o.success, o.level, o.suite, o.check_id)
        )
        if not o.success or (o.unexpected_count or 0) > 0
    ]
    figures = [[name, facts["figures"][name]] for name in _KEY_FIGURES]
    verbs = [
        [r["verb"], r["actions"], f"{100 * r['share']:.2f}%"] for r in stats.figures["verbs"][:10]
    ]
    parts = [
        f"<h1>Action100M data-quality report</h1><p>{_e(facts['created_at'])} &middot; run <code>{_e(facts['run_id'])}</code> "
        f"&middot; lake <code>{_e(facts['lake'])}</code></p>",
        f"<h2 class='{css}'>{_e(verdict)}</h2>",
        "<h2>Checks with findings</h2>",
        _table(["level", "check", "result", "rows", "example"], checks)
        if checks
        else "<p>None.</p>",
        "<h2>Tables</h2>",
        _table(
            ["table", "version", "rows"],
            [[t, facts["versions"][t], facts["row_counts"][t]] for t in DATA_TABLES],
        ),
        "<h2>Key statistics</h2>",
        _table(["figure", "value"], figures),
        _table(["top verb", "actions", "share"], verbs),
        "<h2>Since the previous report</h2>",
    ]
    if changes:
        parts += [
            _table(
                ["table", "rows before", "rows now"],
                [[t, b, n] for t, (b, n) in changes["row_counts"].items()],
            ),
            f"<p>Checks newly failing: {_e(', '.join(changes['newly_failing']) or 'none')}<br>"
            f"Checks fixed: {_e(', '.join(changes['fixed']) or 'none')}</p>",
            _table(
                ["verb", "share before", "share now", "shift"],
                [
                    [v, f"{100 * b:.2f}%", f"{100 * n:.2f}%", f"{100 * (n - b):+.2f} pt"]
                    for v, b, n in changes["verb_shifts"]
                ],
            ),
        ]
    else:
        parts.append("<p>This is the first report: nothing to compare with.</p>")
    parts.append(
        "<p>Details: <a href='validation/gx/uncommitted/data_docs/local_site/index.html'>Great Expectations Data Docs</a>"
        " &middot; <a href='stats/report.html'>statistics report</a></p>"
    )
    return f"<!doctype html><html><head><meta charset='utf-8'><title>a100m report {_e(facts['run_id'])}</title><style>{_STYLE}</style></head><body>{''.join(parts)}</body></html>"


def _write_index(root: Path) -> Path:
    rows = []
    for path in sorted(root.glob(f"*/{REPORT_JSON}"), reverse=True):
        facts = json.loads(path.read_text())
        verdict = "PASSED" if facts["passed"] else f"FAILED ({facts['failed_checks']})"
        counts = facts["row_counts"]
        rows.append(
            f"<tr><td><a href='{html.escape(path.parent.name)}/index.html'>{_e(path.parent.name)}</a></td>"
            f"<td class='{'pass' if facts['passed'] else 'fail'}'>{_e(verdict)}</td>"
            f"<td>{_e(counts.get('videos'))}</td><td>{_e(counts.get('nodes'))}</td><td><code>{_e(facts['run_id'])}</code></td></tr>"
        )
    page = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>a100m reports</title><style>{_STYLE}</style></head><body>"
        "<h1>Action100M data-quality reports</h1><table><tr><th>report</th><th>verdict</th><th>videos</th><th>nodes</th><th>run</th></tr>"
        + "".join(rows)
        + "</table></body></html>"
    )
    index = root / "index.html"
    index.write_text(page)
    return index
