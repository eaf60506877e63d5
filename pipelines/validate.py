"""The validate stage: Great Expectations suites over the lake's current tables, Data Docs, the
`dq_results` history table, and the quarantine of records that break a hard rule.

Order of work: read each table once at one version; compute the check frames (checks.py) and
cache them; run every suite from expectations/ through a Great Expectations checkpoint (results as
JSON and Data Docs in the report folder); then, in one atomic lake write, append one dq_results row
per expectation and move every video that breaks a fail-severity row-level check out of
videos/nodes/transcripts into quarantine (the raw row rebuilt exactly, with its reason codes).
"""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from pipelines.checks import (
    CHECK_PREFIX,
    failing_videos,
    node_check_frame,
    transcript_check_frame,
    video_check_frame,
)
from pipelines.explode import count_reasons, nest, quarantine_records
from pipelines.lake import lake_write, read_table, table_path, table_version
from pipelines.schema import QUARANTINE_SCHEMA
from pipelines.suites import FAIL, SuiteFile, load_suites

log = logging.getLogger(__name__)

# Great Expectations sends usage analytics unless told not to; a run must never wait on the network.
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

DATA_TABLES = ("videos", "nodes", "transcripts")
# Which table's version a frame was computed from (for dq_results).
ASSET_TABLE = {
    "videos": "videos",
    "nodes": "nodes",
    "transcripts": "transcripts",
    "node_checks": "nodes",
    "video_checks": "videos",
    "transcript_checks": "transcripts",
}

DQ_RESULTS_SCHEMA = T.StructType(
    [
        T.StructField("run_id", T.StringType(), False),
        T.StructField("validated_at", T.TimestampType(), False),
        T.StructField("suite", T.StringType(), False),
        T.StructField("asset", T.StringType(), False),
        T.StructField("table_name", T.StringType(), False),
        T.StructField("table_version", T.LongType(), True),
        T.StructField("check_id", T.StringType(), True),
        T.StructField("expectation", T.StringType(), False),
        T.StructField("column", T.StringType(), True),
        T.StructField("severity", T.StringType(), False),
        T.StructField("success", T.BooleanType(), False),
        T.StructField("observed_value", T.StringType(), True),
        T.StructField("element_count", T.LongType(), True),
        T.StructField("unexpected_count", T.LongType(), True),
        T.StructField("unexpected_percent", T.DoubleType(), True),
        T.StructField("examples", T.ArrayType(T.StringType()), True),
    ]
)


@dataclass
class CheckOutcome:
    suite: str
    asset: str
    check_id: str
    expectation: str
    column: str | None
    severity: str
    success: bool
    observed_value: str | None
    element_count: int | None
    unexpected_count: int | None
    unexpected_percent: float | None
    examples: list[str]

    @property
    def level(self) -> str:
        return "fail" if self.severity == FAIL else "warn"


@dataclass
class ValidationResult:
    run_id: str
    versions: dict[str, int | None]
    outcomes: list[CheckOutcome] = field(default_factory=list)
    quarantined_by_reason: dict[str, int] = field(default_factory=dict)
    quarantined_videos: int = 0
    quarantine_total_by_reason: dict[str, int] = field(default_factory=dict)
    data_docs: str | None = None
    results_dir: str | None = None
    seconds: float = 0.0

    @property
    def failed(self) -> list[CheckOutcome]:
        return [o for o in self.outcomes if not o.success and o.severity == FAIL]

    @property
    def passed(self) -> bool:
        return not self.failed

    def summary(self) -> str:
        verdict = "PASSED" if self.passed else f"FAILED ({len(self.failed)} fail-severity checks)"
        lines = [
            f"validate run {self.run_id}: {verdict}; {len(self.outcomes)} expectations on "
            + ", ".join(f"{t} v{v}" for t, v in self.versions.items())
            + f" in {self.seconds:.1f} s"
        ]
        noteworthy = [o for o in self.outcomes if not o.success or (o.unexpected_count or 0) > 0]
        for o in sorted(noteworthy, key=lambda o: (o.success, o.level, o.suite, o.check_id)):
            status = (
                "FAIL"
                if not o.success and o.level == "fail"
                else ("WARN" if not o.success else "note")
            )
            count = "" if o.unexpected_count is None else f"{o.unexpected_count:>8} rows"
            observed = "" if o.unexpected_count is not None else f" observed {o.observed_value}"
            lines.append(f"  {status} [{o.level}] {o.suite}.{o.check_id:<32} {count}{observed}")
            if o.examples:
                lines.append(f"       e.g. {o.examples[0][:110]}")
        if self.quarantined_videos:
            lines.append(f"  quarantined {self.quarantined_videos} videos in this run:")
            for reason, count in sorted(self.quarantined_by_reason.items()):
                lines.append(f"    {count:>8} videos  {reason}")
        if self.quarantine_total_by_reason:
            lines.append("  quarantine table, records per reason (all runs):")
            for reason, count in sorted(self.quarantine_total_by_reason.items()):
                lines.append(f"    {count:>8}  {reason}")
        if self.data_docs:
            lines.append(f"  Data Docs: {self.data_docs}")
        return "\n".join(lines)


def build_frames(
    spark: SparkSession, lake: str, versions: dict[str, int | None]
) -> dict[str, DataFrame]:
    """The tables at the given versions and the check frames computed from them."""
    videos, nodes, transcripts = (read_table(spark, lake, t, versions[t]) for t in DATA_TABLES)
    return {
        "videos": videos,
        "nodes": nodes,
        "transcripts": transcripts,
        "node_checks": node_check_frame(spark, nodes, videos),
        "video_checks": video_check_frame(nodes, videos),
        "transcript_checks": transcript_check_frame(transcripts),
    }


def _gx_context(report: str):
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    Path(report).mkdir(parents=True, exist_ok=True)
    context = gx.get_context(mode="file", project_root_dir=report)
    # A progress bar per metric batch floods nightly logs; the summary says what was checked.
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    return context


def run_suites(
    frames: dict[str, DataFrame], suites: list[SuiteFile], report: str, run_id: str
) -> tuple[list[CheckOutcome], str | None, str]:
    """Run each suite through a checkpoint that updates Data Docs; write GX's JSON results."""
    import great_expectations as gx
    from great_expectations.checkpoint import UpdateDataDocsAction

    context = _gx_context(report)
    # persist=False: GX would cache each whole table (every node text) before counting; the
    # check frames it reads most are cached by validate(), narrow, and the tables' own checks
    # need a few columns each, which Parquet reads alone.
    source = context.data_sources.add_or_update_spark(name="lake", persist=False)
    results_dir = Path(report) / "validation" / run_id
    results_dir.mkdir(parents=True, exist_ok=True)
    outcomes: list[CheckOutcome] = []
    for suite_file in suites:
        suite_started = time.monotonic()
        if suite_file.asset not in frames:
            raise ValueError(f"suite {suite_file.name}: unknown asset {suite_file.asset!r}")
        asset = _asset(source, suite_file.asset)
        batch = _batch_definition(asset)
        suite = context.suites.add_or_update(suite_file.build())
        definition = context.validation_definitions.add_or_update(
            gx.ValidationDefinition(name=suite_file.name, data=batch, suite=suite)
        )
        checkpoint = context.checkpoints.add_or_update(
            gx.Checkpoint(
                name=f"{suite_file.name}_checkpoint",
                validation_definitions=[definition],
                actions=[UpdateDataDocsAction(name="update_data_docs")],
                result_format={"result_format": "SUMMARY", "partial_unexpected_count": 5},
            )
        )
        result = checkpoint.run(
            batch_parameters={"dataframe": frames[suite_file.asset]}, run_id=_gx_run_id(run_id)
        )
        for validation in result.run_results.values():
            (results_dir / f"{suite_file.name}.json").write_text(
                json.dumps(validation.to_json_dict(), indent=2, default=str)
            )
            outcomes += [_outcome(suite_file, r) for r in validation.results]
        log.info(
            "suite %s on %s: %.1f s",
            suite_file.name,
            suite_file.asset,
            time.monotonic() - suite_started,
        )
    docs = context.get_docs_sites_urls()
    return outcomes, (docs[0]["site_url"] if docs else None), str(results_dir)


def _asset(source, name: str):
    try:
        return source.get_asset(name)
    except LookupError:
        return source.add_dataframe_asset(name=name)


def _batch_definition(asset):
    try:
        return asset.get_batch_definition("whole")
    except (KeyError, LookupError):
        return asset.add_batch_definition_whole_dataframe("whole")


def _gx_run_id(run_id: str):
    from great_expectations.core.run_identifier import RunIdentifier

    return RunIdentifier(run_name=run_id, run_time=datetime.now(UTC))


def _outcome(suite_file: SuiteFile, r: Any) -> CheckOutcome:
    config = r.expectation_config
    result = r.result or {}
    kwargs = config.kwargs
    severity = getattr(config.severity, "value", str(config.severity))
    examples = [str(v) for v in result.get("partial_unexpected_list") or []]
    if r.exception_info and r.exception_info.get("raised_exception"):
        examples = [str(r.exception_info.get("exception_message"))]
    return CheckOutcome(
        suite=suite_file.name,
        asset=suite_file.asset,
        check_id=(config.meta or {}).get("id") or config.type,
        expectation=config.type,
        column=kwargs.get("column"),
        severity=severity,
        success=bool(r.success),
        observed_value=None
        if result.get("observed_value") is None
        else json.dumps(result["observed_value"], default=str),
        element_count=result.get("element_count"),
        unexpected_count=result.get("unexpected_count"),
        unexpected_percent=result.get("unexpected_percent"),
        examples=examples,
    )


def hard_rules(suites: list[SuiteFile], asset: str) -> list[str]:
    """Names of the fail-severity check columns validated on a check frame."""
    return [
        e["kwargs"]["column"].removeprefix(CHECK_PREFIX)
        for s in suites
        if s.asset == asset
        for e in s.data["expectations"]
        if e.get("severity", FAIL) == FAIL
        and e["kwargs"].get("column", "").startswith(CHECK_PREFIX)
    ]


def videos_to_quarantine(frames: dict[str, DataFrame], suites: list[SuiteFile]) -> DataFrame:
    """video_uid, reason_codes, reason_detail of every video breaking a hard row-level rule."""
    parts = [
        failing_videos(frames[asset], rules)
        for asset in ("node_checks", "video_checks", "transcript_checks")
        if (rules := hard_rules(suites, asset))
    ]
    union = parts[0]
    for part in parts[1:]:
        union = union.unionByName(part)
    return union.groupBy("video_uid").agg(
        F.array_sort(F.array_distinct(F.flatten(F.collect_list("reason_codes")))).alias(
            "reason_codes"
        ),
        F.concat_ws("; ", F.collect_list("reason_detail")).alias("reason_detail"),
    )


def _quarantine_rows(
    frames: dict[str, DataFrame], bad: DataFrame, run_id: str, now: datetime
) -> DataFrame:
    keys = bad.select("video_uid")
    raw = nest(*(frames[t].join(keys, "video_uid", "left_semi") for t in DATA_TABLES))
    provenance = frames["videos"].select("video_uid", "source_file", "source_row")
    records = raw.join(bad, "video_uid").join(provenance, "video_uid")
    return quarantine_records(records, run_id, F.lit(now).cast("timestamp"))


def _dq_rows(spark: SparkSession, result: ValidationResult, now: datetime) -> DataFrame:
    rows = [
        (
            result.run_id,
            now,
            o.suite,
            o.asset,
            ASSET_TABLE[o.asset],
            result.versions.get(ASSET_TABLE[o.asset]),
            o.check_id,
            o.expectation,
            o.column,
            o.level,
            o.success,
            o.observed_value,
            o.element_count,
            o.unexpected_count,
            None if o.unexpected_percent is None else float(o.unexpected_percent),
            o.examples,
        )
        for o in result.outcomes
    ]
    return spark.createDataFrame(rows, DQ_RESULTS_SCHEMA)


def validate(
    spark: SparkSession,
    lake: str,
    report: str,
    run_id: str,
    quarantine: bool = True,
    suites: list[SuiteFile] | None = None,
) -> ValidationResult:
    """Validate the lake's current tables; see the module docstring for what is written."""
    started = time.monotonic()
    versions = {t: table_version(spark, table_path(lake, t)) for t in DATA_TABLES}
    missing = [t for t, v in versions.items() if v is None]
    if missing:
        raise ValueError(f"lake {lake} has no table {', '.join(missing)}: run explode first")
    suites = suites if suites is not None else load_suites()
    result = ValidationResult(run_id, versions)

    frames = build_frames(spark, lake, versions)
    cached = []
    for name in ("node_checks", "video_checks", "transcript_checks"):
        frames[name] = frames[name].cache()
        cached.append(frames[name])
    try:
        result.outcomes, result.data_docs, result.results_dir = run_suites(
            frames, suites, report, run_id
        )
        now = datetime.now(UTC)
        # The suites already counted the offending rows: only look for videos when some did.
        rows_broken = any(
            o.severity == FAIL and o.asset.endswith("_checks") and (o.unexpected_count or 0) > 0
            for o in result.outcomes
        )
        with lake_write(spark, lake, run_id) as write:
            write.append("dq_results", _dq_rows(spark, result, now), DQ_RESULTS_SCHEMA)
            if quarantine and rows_broken:
                bad = videos_to_quarantine(frames, suites).cache()
                cached.append(bad)
                result.quarantined_by_reason = count_reasons(bad)
                result.quarantined_videos = bad.count()
                write.append(
                    "quarantine", _quarantine_rows(frames, bad, run_id, now), QUARANTINE_SCHEMA
                )
                for table in DATA_TABLES:
                    write.delete_videos(table, bad.select("video_uid"))
    finally:
        for frame in cached:
            frame.unpersist()
    result.quarantine_total_by_reason = quarantine_counts(spark, lake)
    result.seconds = time.monotonic() - started
    return result


def quarantine_counts(spark: SparkSession, lake: str) -> dict[str, int]:
    """Records in the quarantine table per reason code, over all runs."""
    if table_version(spark, table_path(lake, "quarantine")) is None:
        return {}
    return count_reasons(read_table(spark, lake, "quarantine"))
