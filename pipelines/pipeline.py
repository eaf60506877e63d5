"""The stages in order, with timings: the only module besides the CLI that knows every stage.

No argparse and no printing here: the CLI parses and prints; a scheduler or a notebook can call
these functions directly.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from pyspark.sql import SparkSession

from pipelines.core.lake import check_writable_folder
from pipelines.core.progress import stage_progress
from pipelines.core.results import ValidationResult
from pipelines.core.runs import lake_run, new_run_id
from pipelines.core.settings import Settings
from pipelines.ingest.stage import ExplodeResult, explode
from pipelines.lakeops.catalog import Registration
from pipelines.quality.validate import validate
from pipelines.report.stage import ReportResult, new_report_folder, write_report
from pipelines.stats.stage import StatsResult, compute_stats


@dataclass
class PipelineResult:
    run_id: str
    explode: ExplodeResult
    validation: ValidationResult
    stats: StatsResult
    timings: list[tuple[str, float]] = field(default_factory=list)
    registration: Registration | None = None  # the catalog's, when the settings name one


def stats_folder(settings: Settings) -> str:
    """Where `a100m stats` writes stats.json and report.html by default."""
    return f"{settings.report.rstrip('/')}/stats"


def run_pipeline(
    spark: SparkSession,
    settings: Settings,
    inputs: list[str],
    limit_shards: int | None = None,
    quarantine: bool = True,
    wait_seconds: float = 0.0,
) -> PipelineResult:
    """explode, then validate (quarantining what breaks a hard rule), then statistics."""
    run_id = new_run_id()
    with lake_run(spark, settings.lake, run_id, "run", wait_seconds):
        return _run_pipeline(spark, settings, inputs, run_id, limit_shards, quarantine)


def _run_pipeline(
    spark: SparkSession,
    settings: Settings,
    inputs: list[str],
    run_id: str,
    limit_shards: int | None,
    quarantine: bool,
) -> PipelineResult:
    check_writable_folder(settings.report)
    timings: list[tuple[str, float]] = []

    def timed(stage: str, action):
        started = time.monotonic()
        with stage_progress(spark, stage):
            result = action()
        timings.append((stage, time.monotonic() - started))
        return result

    exploded = timed(
        "explode",
        lambda: explode(
            spark,
            inputs,
            settings.lake,
            run_id=run_id,
            staging=settings.staging,
            limit_shards=limit_shards,
        ),
    )
    validation = timed(
        "validate",
        lambda: validate(
            spark,
            settings.lake,
            settings.report,
            run_id,
            quarantine=quarantine,
            data_docs=settings.data_docs,
        ),
    )
    stats = timed(
        "stats", lambda: compute_stats(spark, settings.lake, stats_folder(settings), run_id)
    )
    return PipelineResult(run_id, exploded, validation, stats, timings)


def run_report(
    spark: SparkSession, settings: Settings, out: str, wait_seconds: float = 0.0
) -> ReportResult:
    """The scheduled data-quality report: validate (report only), statistics, the history and
    its anomalies, the page and the alert, all under one lease, so the verdict and the
    statistics see the same table versions."""
    run_id = new_run_id()
    lake = settings.lake
    with lake_run(spark, lake, run_id, "report", wait_seconds):
        check_writable_folder(out)
        folder = new_report_folder(out, run_id)
        with stage_progress(spark, "validate"):
            validation = validate(
                spark,
                lake,
                str(folder / "validation"),
                run_id,
                quarantine=False,
                data_docs=settings.data_docs,
            )
        with stage_progress(spark, "stats"):
            stats = compute_stats(spark, lake, str(folder / "stats"), run_id)
        with stage_progress(spark, "report"):
            return write_report(
                spark,
                lake,
                folder,
                run_id,
                validation,
                stats.figures,
                anomaly_rules=settings.anomalies,
                alert_webhook=settings.alert_webhook,
                data_docs=settings.data_docs,
                history_runs=settings.report_history_runs,
            )
