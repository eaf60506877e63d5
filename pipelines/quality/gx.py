"""The only module that imports Great Expectations: suites built from their JSON, run through a
file-context checkpoint that writes JSON results and Data Docs, and turned into CheckOutcomes.
"""

from __future__ import annotations

import json
import logging
import os
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pyspark.sql import DataFrame

from pipelines.core.errors import UsageError
from pipelines.core.lake import write_text_atomic
from pipelines.core.results import CheckOutcome
from pipelines.core.severity import Severity
from pipelines.core.timings import phase
from pipelines.quality.suites import SuiteFile

if TYPE_CHECKING:
    from great_expectations.core.expectation_suite import ExpectationSuite

# Great Expectations sends usage analytics unless told not to; a run must never wait on the network.
# Set before its import, which reads it.
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

log = logging.getLogger(__name__)
# Great Expectations logs several INFO lines per expectation and per store write (thousands per
# run): nightly logs would show nothing else. Its warnings and errors still show.
logging.getLogger("great_expectations").setLevel(logging.WARNING)


def build_suite(suite_file: SuiteFile) -> ExpectationSuite:
    """The suite file as a Great Expectations ExpectationSuite."""
    from great_expectations.core.expectation_suite import ExpectationSuite
    from great_expectations.expectations.expectation_configuration import (
        ExpectationConfiguration,
    )

    expectations = [
        ExpectationConfiguration(
            type=e["type"],
            kwargs=e["kwargs"],
            meta=e.get("meta", {}),
            severity=e.get("severity", Severity.FAIL.gx),
        ).to_domain_obj()
        for e in suite_file.data["expectations"]
    ]
    return ExpectationSuite(
        name=suite_file.name, expectations=expectations, meta=suite_file.data.get("meta", {})
    )


_contexts: dict[str | None, Any] = {}


def _gx_context(report: str, data_docs: bool):
    """One Great Expectations context per process: ephemeral (in memory, nothing written)
    unless Data Docs are asked for, which need a file context in the report folder."""
    # Imported here, not with the module: its import costs seconds (about 6 s on 2 cores), and a
    # validation with nothing new to check (a nightly report after the run) never needs it.
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    key = str(Path(report).resolve()) if data_docs else None
    if key in _contexts:
        return _contexts[key]
    if data_docs:
        Path(report).mkdir(parents=True, exist_ok=True)
        context = gx.get_context(mode="file", project_root_dir=report)
    else:
        context = gx.get_context(mode="ephemeral")
    # A progress bar per metric batch floods nightly logs; the summary says what was checked.
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    _contexts[key] = context
    return context


def run_suites(
    frames: dict[str, DataFrame],
    suites: list[SuiteFile],
    report: str,
    run_id: str,
    data_docs: bool = True,
) -> tuple[list[CheckOutcome], str | None, str]:
    """Run each suite through a checkpoint (that updates Data Docs when data_docs); write GX's
    JSON results."""
    import great_expectations as gx

    with phase("gx_context"):
        context = _gx_context(report, data_docs)
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
            raise UsageError(f"suite {suite_file.name}: unknown asset {suite_file.asset!r}")
        asset = _asset(source, suite_file.asset)
        batch = _batch_definition(asset)
        suite = context.suites.add_or_update(build_suite(suite_file))
        definition = context.validation_definitions.add_or_update(
            gx.ValidationDefinition(name=suite_file.name, data=batch, suite=suite)
        )
        checkpoint = context.checkpoints.add_or_update(
            gx.Checkpoint(
                name=f"{suite_file.name}_checkpoint",
                validation_definitions=[definition],
                # no UpdateDataDocsAction: it rebuilds the whole site after every suite (eight
                # times, each time rendering every result so far); the site is built once below
                actions=[],
                result_format={"result_format": "SUMMARY", "partial_unexpected_count": 5},
            )
        )
        result = checkpoint.run(
            batch_parameters={"dataframe": frames[suite_file.asset]}, run_id=_gx_run_id(run_id)
        )
        for validation in result.run_results.values():
            write_text_atomic(
                results_dir / f"{suite_file.name}.json",
                json.dumps(validation.to_json_dict(), indent=2, default=str),
            )
            outcomes += [_outcome(suite_file, r) for r in validation.results]
        log.info(
            "suite %s on %s: %.1f s",
            suite_file.name,
            suite_file.asset,
            time.monotonic() - suite_started,
        )
    if data_docs:
        with phase("data_docs"):
            context.build_data_docs()
    docs = context.get_docs_sites_urls() if data_docs else []
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
