"""The report on a lake's upkeep, and exit code 3 from a real report: a lake after several appends
written in many small files is warned about (naming the table and `a100m optimize`); after
`a100m optimize` it is not, and the page gives the time since the last optimize. Both reports
pass every check but break a tight anomaly rule, so they exit 3. The second report keeps one run
of history in report.json while anomaly detection still judges against the run before it, and
the history is read at the committed snapshot."""

from __future__ import annotations

import contextlib
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from pyspark.sql import functions as F

from pipelines.cli import EXIT_ANOMALIES, EXIT_OK, main
from pipelines.core import deltars
from pipelines.core.console import LOG_FOLDER
from pipelines.core.lake import read_table, table_path
from pipelines.core.layout import file_sizes
from pipelines.core.runs import committed_snapshot
from pipelines.ingest.stage import explode
from pipelines.report.history import read_history
from pipelines.report.upkeep import SMALL_FILES_MIN, last_optimize_through_spark
from pipelines.synth import generate

ROOT = Path(__file__).resolve().parents[1]
# Rows per data file while the first shards are ingested: about 50 files of `nodes` per append,
# as a writer with many tasks (200 shuffle partitions on a cluster) leaves small appends.
SMALL_WRITES = "25"
# A synthetic corpus has about 3% "N/A" actions: over 0.1% is an anomaly in every report; the
# videos grow from 9 to 12 between the two reports (+33%), over the 10% this rule allows.
RULES = {
    "na_rate": {"bounds": {"max": 0.001}},
    "rows.videos": {"rate_of_change": {"max_increase": 0.1}},
}


@dataclass
class Upkept:
    lake: str
    codes: list[int]
    outputs: list[str]
    facts: list[dict[str, Any]]
    pages: list[str]


def _report(args: list[str]) -> tuple[int, str]:
    sink = io.StringIO()
    with contextlib.redirect_stdout(sink):
        code = main(args)
    return code, sink.getvalue()


@pytest.fixture(scope="module")
def upkept(spark, tmp_path_factory) -> Upkept:
    root = tmp_path_factory.mktemp("upkeep")
    manifest = generate(root / "raw", videos=12, seed=11, shards=4)
    shards = [str(root / "raw" / name) for name in sorted(manifest["files"])]
    lake, reports = str(root / "lake"), root / "reports"
    settings = yaml.safe_load((ROOT / "conf" / "local.yaml").read_text())
    settings.update(lake=lake, report=str(reports), anomalies=RULES)
    conf = root / "settings.yaml"
    conf.write_text(yaml.safe_dump(settings))
    report = ["report", "--settings", str(conf)]

    spark.conf.set("spark.sql.files.maxRecordsPerFile", SMALL_WRITES)
    try:
        for shard in shards[:3]:
            explode(spark, [shard], lake)
    finally:
        spark.conf.unset("spark.sql.files.maxRecordsPerFile")
    codes, outputs = [], []
    for args in (report, ["optimize", "--settings", str(conf)]):
        code, out = _report(args)
        codes.append(code)
        outputs.append(out)
    explode(spark, [shards[3]], lake)
    one_run = root / "one-run.yaml"
    one_run.write_text(yaml.safe_dump({**settings, "report_history_runs": 1}))
    code, out = _report(["report", "--settings", str(one_run)])
    codes.append(code)
    outputs.append(out)
    # the dated reports, beside logs/ (each command's log file, core/console.py)
    folders = sorted(p for p in reports.iterdir() if p.is_dir() and p.name != LOG_FOLDER)
    facts = [json.loads((f / "report.json").read_text()) for f in folders]
    pages = [(f / "index.html").read_text() for f in folders]
    return Upkept(lake, codes, outputs, facts, pages)


def _tables(facts: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {t["table"]: t for t in facts["lake_tables"]}


def test_a_lake_of_small_appends_is_warned_about_by_name(upkept):
    first = upkept.facts[0]
    nodes = _tables(first)["nodes"]
    assert nodes["small"] >= SMALL_FILES_MIN and nodes["small_files"]
    assert nodes["files"] == nodes["small"] and nodes["bytes"] > 0
    assert nodes["last_optimize"] is None and nodes["since_optimize"] == "never"
    assert not _tables(first)["videos"]["small_files"]  # one file per append
    warning = next(w for w in first["upkeep_warnings"] if w.startswith("table nodes "))
    assert f"run `a100m optimize --lake {upkept.lake}` to compact it" in warning
    assert f"lake upkeep: {warning}" in upkept.outputs[0]
    page = upkept.pages[0]
    assert "Lake upkeep: table nodes has" in page
    section = page.split("id='lake-tables'>")[1].split("<h2")[0]
    assert "<td>nodes</td>" in section and "too many, run a100m optimize" in section


def test_after_optimize_no_table_is_warned_about_and_the_last_optimize_shows(spark, upkept):
    assert upkept.codes[1] == EXIT_OK
    second = upkept.facts[1]
    assert second["upkeep_warnings"] == [] and "lake upkeep:" not in upkept.outputs[2]
    assert "Lake upkeep:" not in upkept.pages[1]
    tables = _tables(second)
    assert not any(t["small_files"] for t in tables.values())
    nodes = tables["nodes"]
    assert nodes["files"] <= 2  # the compacted file and the one append since
    assert nodes["last_optimize"] is not None and 0 <= nodes["hours_since_optimize"] < 1
    assert nodes["since_optimize"].endswith("min")
    assert f"{nodes['since_optimize']} ago" in upkept.pages[1]
    # figures of the committed snapshot, the version the report validated
    assert nodes["version"] == committed_snapshot(spark, upkept.lake, ["nodes"])["nodes"]
    assert nodes["version"] == second["versions"]["nodes"]


def test_a_real_report_whose_checks_pass_but_a_metric_is_anomalous_exits_3(upkept):
    assert [upkept.codes[0], upkept.codes[2]] == [EXIT_ANOMALIES, EXIT_ANOMALIES] == [3, 3]
    first, second = upkept.facts
    assert first["passed"] and second["passed"]
    assert first["verdict"] == "ANOMALIES: 1 metric out of its usual range"
    assert second["verdict"] == "ANOMALIES: 2 metrics out of their usual range"
    assert {a["metric"] for a in first["anomalies"]} == {"na_rate"}
    assert all(a["severity"] == "warn" for a in first["anomalies"] + second["anomalies"])


def test_report_json_keeps_the_last_runs_but_anomalies_see_the_whole_history(upkept):
    second = upkept.facts[1]
    assert [p["run_id"] for p in second["history"]] == [second["run_id"]]
    assert second["history_runs_total"] == 2
    # rate_of_change needs the run before, which report.json no longer holds
    videos = next(a for a in second["anomalies"] if a["metric"] == "rows.videos")
    assert videos["strategy"] == "rate_of_change" and videos["value"] == 12
    assert "History at a glance (1 run, the last 1 of 2)" in upkept.pages[1]
    # the cards still compare with the previous report, though the page no longer charts it
    card = upkept.pages[1].split("data-metric='rows.videos'>")[1].split("<img")[0]
    assert "<div class='d'>+3 (+33.3%) since the " in card, card


def test_delta_rs_reads_the_files_and_last_optimize_that_spark_reads(spark, upkept):
    # the report reads a local lake's upkeep through delta-rs: it must see what Spark sees, at
    # every version of the tables that were small appends, then optimized, then appended again
    # (every table of the lake at its latest version would cost a Spark job each for little more)
    compared = 0
    for table in ("nodes", "videos", "stats_summary"):
        folder = Path(table_path(upkept.lake, table))
        for version in range(deltars.table_version(folder) + 1):
            assert sorted(deltars.data_file_sizes(folder, version)) == sorted(
                file_sizes(spark, upkept.lake, table, version)
            ), (table, version)
            by_spark = last_optimize_through_spark(spark, upkept.lake, table, version)
            by_delta_rs = deltars.last_commit_time(folder, "OPTIMIZE", version)
            assert by_delta_rs == (by_spark if by_spark is None else pytest.approx(by_spark)), (
                table,
                version,
            )
            compared += by_spark is not None
    assert compared > 0  # some versions follow an OPTIMIZE


def test_the_history_is_read_at_the_committed_snapshot(spark, upkept):
    lake = upkept.lake
    before = {p.run_id for p in read_history(spark, lake)}
    assert before == {f["run_id"] for f in upkept.facts}
    # a commit made outside the pipeline (a hand-run write, another tool): not history
    outside = (
        read_table(spark, lake, "stats_summary").limit(1).withColumn("run_id", F.lit("outside-run"))
    )
    outside.write.format("delta").mode("append").save(table_path(lake, "stats_summary"))
    assert read_table(spark, lake, "stats_summary").where("run_id = 'outside-run'").count() == 1
    assert {p.run_id for p in read_history(spark, lake)} == before
