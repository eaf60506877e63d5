"""`a100m report`: the scheduled data-quality report.

The pipeline (pipelines/pipeline.py) validates the lake's current tables (report only: nothing
is quarantined here, that is the `run` pipeline's job) and recomputes the statistics into a dated
folder made here; this stage then reads the lake's history (history.py), judges this run's
metrics against it (anomalies.py), stores the anomalies in `dq_results`, and writes the folder's
page: the verdict, the checks with findings and a few of their offending rows, the anomalies,
a trend chart per metric over the last `report_history_runs` runs (a setting), each lake
table's files, size and time since its last optimize (upkeep.py; a warning when a table has too
many small files), key statistics, what changed since the previous report, and every expectation. The output's
index.html lists every report; one alert message per report goes to the webhook, if one is set
(alerts.py).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from pipelines.core.lake import read_table, table_path, write_text_atomic
from pipelines.core.layout import SMALL_FILE_BYTES, format_bytes
from pipelines.core.resources import files_with_suffix, project_folder
from pipelines.core.results import ValidationResult, counted
from pipelines.core.runs import committed_snapshot
from pipelines.core.settings import REPORT_HISTORY_RUNS
from pipelines.core.severity import Severity
from pipelines.core.tables import DATA_TABLES
from pipelines.report.alerts import alert_message, post_alert
from pipelines.report.anomalies import Anomaly, detect
from pipelines.report.history import (
    failed_row_samples,
    read_history,
    store_anomalies,
    stored_anomalies,
)
from pipelines.report.html import render_index, render_report_page, verdict_of
from pipelines.report.metrics import RunPoint, as_dict, baseline_of, short_description
from pipelines.report.upkeep import (
    SMALL_FILES_MIN,
    TableUpkeep,
    lake_upkeep,
    small_file_warning,
)

REPORT_JSON = "report.json"
TOP_VERB_SHIFTS = 10


@dataclass
class ReportResult:
    folder: Path
    index: Path
    validation: ValidationResult
    previous_run_id: str | None
    changes: dict[str, Any]
    verdict: str = ""
    history: list[RunPoint] = field(default_factory=list)
    anomalies: list[Anomaly] = field(default_factory=list)
    upkeep: list[TableUpkeep] = field(default_factory=list)
    upkeep_warnings: list[str] = field(default_factory=list)
    alert_problem: str | None = None  # why the alert was not delivered
    alerted: bool = False

    @property
    def failed(self) -> bool:
        """A fail-severity check failed, or a fail-severity anomaly was found."""
        return bool(self.validation.lake_failed) or any(
            a.severity is Severity.FAIL for a in self.anomalies
        )

    def summary(self) -> str:
        lines = [
            f"report {self.folder.name}: {self.verdict}",
            f"  page:  {self.folder / 'index.html'}",
            f"  index: {self.index}",
            f"  history: {counted(len(self.history), 'run')}; anomalies in this run: "
            f"{len(self.anomalies)}",
        ]
        for a in self.anomalies:
            lines.append(f"    [{a.severity}] {a.check_id}: {a.message}")
        lines.extend(f"  lake upkeep: {line}" for line in self.upkeep_warnings)
        if self.alert_problem:
            lines.append(f"  {self.alert_problem}")
        elif self.alerted:
            lines.append("  alert sent")
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


def new_report_folder(out: str, run_id: str, now: datetime | None = None) -> Path:
    """The dated folder of one report under out (created; never reused)."""
    now = now or datetime.now(UTC)
    folder = Path(out) / f"{now:%Y-%m-%dT%H%M%SZ}-{run_id[-8:]}"
    folder.mkdir(parents=True, exist_ok=False)
    return folder


def write_report(
    spark: SparkSession,
    lake: str,
    folder: Path,
    run_id: str,
    validation: ValidationResult,
    stats_doc: dict[str, Any],
    anomaly_rules: dict[str, Any] | None = None,
    alert_webhook: str | None = None,
    data_docs: bool = False,
    history_runs: int | None = None,
) -> ReportResult:
    """Write the report page of one run into its folder (validation and statistics already in
    it), and the index of every report beside it; store the run's anomalies; send the alert.
    The page and report.json keep the last `history_runs` runs (the `report_history_runs`
    setting); anomaly detection still judges against the whole history."""
    keep = history_runs or REPORT_HISTORY_RUNS
    root = folder.parent
    previous = _latest_report(root, exclude=folder.name)
    counts = {t: read_table(spark, lake, t, validation.versions[t]).count() for t in DATA_TABLES}
    previous_run = previous["run_id"] if previous else None
    changes = _changes(spark, lake, run_id, previous_run, counts) if previous_run else {}
    summary = {row["name"]: row["value"] for row in stats_doc["summary"]}
    full_history = read_history(spark, lake)
    anomalies = detect(full_history, anomaly_rules or {}, run_id)
    history = full_history[-keep:]
    store_anomalies(spark, lake, run_id, anomalies, anomaly_rules or {})
    anomalous_runs = {r: set(m) for r, m in stored_anomalies(spark, lake).items()}
    samples = failed_row_samples(
        spark, lake, validation.versions.get("nodes"), validation.lake_outcomes
    )
    upkeep = lake_upkeep(spark, lake)
    upkeep_warnings = [small_file_warning(t, lake_shown(lake)) for t in upkeep if t.small_files]
    verdict, verdict_class = verdict_of(
        len(validation.lake_failed),
        len(anomalies),
        sum(a.severity is Severity.FAIL for a in anomalies),
    )
    facts = {
        "run_id": run_id,
        "created_at": datetime.now(UTC).isoformat(),
        "stats_computed_at": stats_doc.get("computed_at"),
        "lake": lake_shown(lake),
        # The lake as it stands: merged over the validations since the last full one.
        "passed": not validation.lake_failed,
        "failed_checks": len(validation.lake_failed),
        "validation_mode": validation.mode,
        "validation_scope": validation.scope_reason,
        "versions": validation.versions,
        "row_counts": counts,
        "figures": {name: summary.get(name) for name in KEY_FIGURES},
        "previous_run_id": previous_run,
        "verdict": verdict,
        "verdict_class": verdict_class,
        "data_docs": data_docs,
        "anomalies": [
            {
                "metric": a.metric,
                "strategy": a.strategy,
                "severity": a.severity,
                "value": a.value,
                "low": a.low,
                "high": a.high,
                "message": a.message,
            }
            for a in anomalies
        ],
        "lake_tables": [t.as_fact() for t in upkeep],
        "small_files_min": SMALL_FILES_MIN,
        "small_file_size": format_bytes(SMALL_FILE_BYTES),
        "upkeep_warnings": upkeep_warnings,
        "history_runs_total": len(full_history),
        "history": as_dict(history),
    }
    write_text_atomic(folder / REPORT_JSON, json.dumps(facts, indent=2, default=str))
    page = render_report_page(
        facts,
        validation.lake_outcomes,
        stats_doc["verbs"][:10],
        changes,
        history,
        anomalies,
        anomalous_runs,
        samples,
        # from the whole history: the previous report may be older than the runs the page keeps
        baseline_of(full_history, previous_run),
        check_descriptions(),
        folder.name,
    )
    page_path = write_text_atomic(folder / "index.html", page)
    index = write_text_atomic(root / "index.html", render_index(_all_reports(root)))
    result = ReportResult(
        folder,
        index,
        validation,
        previous_run,
        changes,
        verdict,
        history,
        anomalies,
        upkeep,
        upkeep_warnings,
    )
    if alert_webhook:
        message = alert_message(
            verdict,
            run_id,
            page_path.resolve().as_uri(),
            [
                f"{o.suite}.{o.check_id} ({counted(o.unexpected_count or 0, 'row')})"
                for o in validation.lake_failed
            ],
            [
                f"{o.suite}.{o.check_id} ({counted(o.unexpected_count or 0, 'row')})"
                for o in validation.lake_outcomes
                if not o.success and o.level is not Severity.FAIL
            ],
            [a.message for a in anomalies],
        )
        result.alert_problem = post_alert(alert_webhook, message)
        result.alerted = result.alert_problem is None
    return result


def lake_shown(lake: str) -> str:
    """The lake as the page shows it and its hints paste it: a local lake given as a relative
    path made absolute (the path table_path() gives its tables), so the commands work from any
    folder; a URI as it is."""
    return table_path(lake, "").rstrip("/") or lake


def check_descriptions(folder: Traversable | None = None) -> dict[str, str]:
    """ "suite.check" -> what the check asks (its short description), from the suite files (expectations/*.json), so the
    page names a check's chart by its meaning. Read as JSON here: a stage imports no other
    stage (quality/suites.py), and the descriptions are all the report needs of them."""
    found = {}
    for path in files_with_suffix(folder or project_folder("expectations"), ".json"):
        suite = json.loads(path.read_text())
        for e in suite.get("expectations", []):
            meta = e.get("meta") or {}
            if meta.get("id") and meta.get("description"):
                found[f"{suite['name']}.{meta['id']}"] = short_description(meta["description"])
    return found


KEY_FIGURES = ("videos", "nodes", "leaves", "gpt_nodes", "actions", "na_rate", "video_hours")


def _all_reports(root: Path) -> list[tuple[str, dict[str, Any]]]:
    """(folder name, report.json) of every report under root, newest first."""
    return [
        (path.parent.name, json.loads(path.read_text()))
        for path in sorted(root.glob(f"*/{REPORT_JSON}"), reverse=True)
    ]


def _latest_report(root: Path, exclude: str) -> dict[str, Any] | None:
    reports = sorted(p for p in root.glob(f"*/{REPORT_JSON}") if p.parent.name != exclude)
    return json.loads(reports[-1].read_text()) if reports else None


def _changes(
    spark: SparkSession, lake: str, run_id: str, previous_run: str, counts: dict[str, int]
) -> dict[str, Any]:
    """What changed between two runs, from the history tables at their committed versions."""
    snapshot = committed_snapshot(spark, lake, ("dq_results", "stats_verbs"))
    dq = read_table(spark, lake, "dq_results", snapshot["dq_results"]).where(
        F.col("run_id").isin(run_id, previous_run) & (F.col("scope") == "lake")
    )
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

    verbs = read_table(spark, lake, "stats_verbs", snapshot["stats_verbs"]).where(
        F.col("run_id").isin(run_id, previous_run)
    )
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
