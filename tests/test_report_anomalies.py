"""The report's pure parts, without Spark: anomaly strategies, their settings, the exit codes,
the alert message against a real HTTP server, and numbers written for people."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from pipelines.cli import EXIT_ANOMALIES, EXIT_DATA, EXIT_OK, report_exit_code
from pipelines.core.errors import SettingsError
from pipelines.core.results import counted
from pipelines.core.settings import load_settings
from pipelines.report.alerts import alert_message, post_alert
from pipelines.report.anomalies import detect
from pipelines.report.html import verdict_of
from pipelines.report.metrics import COUNT, SHARE, RunPoint, change_text, human
from pipelines.report.upkeep import SMALL_FILES_MIN, TableUpkeep, age_text, small_file_warning
from tests.nights import Webhook


def _history(values: list[float], metric: str = "na_rate") -> list[RunPoint]:
    return [
        RunPoint(f"run{i}", f"2026-11-2{i}", "report", {metric: v}) for i, v in enumerate(values)
    ]


def test_bounds_flag_a_value_outside_them():
    rules = {"na_rate": {"bounds": {"min": 0.0, "max": 0.1}}}
    assert detect(_history([0.03, 0.2]), rules, "run1")[0].strategy == "bounds"
    assert detect(_history([0.03, 0.05]), rules, "run1") == []


def test_rate_of_change_judges_against_the_previous_run_and_ignores_small_moves():
    rules = {"na_rate": {"rate_of_change": {"max_increase": 0.5, "min_change": 0.01}}}
    found = detect(_history([0.03, 0.031, 0.09]), rules, "run2")
    assert [(a.metric, a.strategy, a.severity) for a in found] == [
        ("na_rate", "rate_of_change", "warn")
    ]
    assert "previous run's 3.10%" in found[0].message and "9.00%" in found[0].message
    # +100 % but only 0.4 pt: below min_change
    assert detect(_history([0.004, 0.008]), rules, "run1") == []
    # a decrease is not judged without max_decrease
    assert detect(_history([0.09, 0.03]), rules, "run1") == []


def test_stddev_needs_its_runs_and_flags_outside_the_band():
    rules = {"bucket.*": {"stddev": {"k": 3, "window": 5, "min_runs": 3, "min_change": 0.01}}}
    steady = [0.60, 0.61, 0.59, 0.60]
    assert detect(_history([*steady, 0.45], "bucket.0_3"), rules, "run4")[0].runs_used == 4
    assert detect(_history([*steady, 0.605], "bucket.0_3"), rules, "run4") == []
    assert detect(_history([0.60, 0.45], "bucket.0_3"), rules, "run1") == []  # too few runs


def test_a_metric_without_rules_and_an_unknown_run_are_never_anomalies():
    assert detect(_history([0.03, 0.9]), {"rows.*": {"bounds": {"max": 1}}}, "run1") == []
    assert detect(_history([0.03]), {"na_rate": {"bounds": {"max": 0}}}, "nope") == []


@pytest.mark.parametrize(
    "rules, message",
    [
        ("na_rate: {bounds: {maximum: 1}}", "unknown setting anomalies.na_rate.bounds.maximum"),
        ("na_rate: {zscore: {k: 3}}", "unknown setting anomalies.na_rate.zscore"),
        ("na_rate: {stddev: {k: three}}", "anomalies.na_rate.stddev.k must be"),
        ("na_rate: {severity: page}", "severity 'page' is not one of warn, fail"),
        ("na_rate: [bounds]", "anomalies.na_rate must be a mapping"),
    ],
)
def test_bad_anomaly_rules_are_refused_naming_the_file_and_key(tmp_path: Path, rules, message):
    path = tmp_path / "bad.yaml"
    path.write_text(f"lake: lake\nspark: {{master: 'local[1]'}}\nanomalies:\n  {rules}\n")
    with pytest.raises(SettingsError, match="bad.yaml") as error:
        load_settings(path=path)
    assert message in str(error.value)


def test_the_shipped_settings_carry_rules_and_keep_data_docs_off(monkeypatch):
    settings = load_settings("local")
    assert settings.data_docs is False and settings.alert_webhook is None
    assert "na_rate" in settings.anomalies and "bucket.*" in settings.anomalies
    monkeypatch.setenv("A100M_DATA_DOCS", "true")
    assert load_settings("local").data_docs is True


def test_exit_codes_of_a_report():
    assert report_exit_code(failed=False, anomalies=0) == EXIT_OK == 0
    assert report_exit_code(failed=True, anomalies=2) == EXIT_DATA == 1
    assert report_exit_code(failed=False, anomalies=2) == EXIT_ANOMALIES == 3
    assert verdict_of(0, 2, 0) == ("ANOMALIES: 2 metrics out of their usual range", "warn")
    assert verdict_of(1, 2, 0)[0] == "FAILED: 1 fail-severity check, 2 anomalies"
    assert verdict_of(2, 1, 1)[0] == "FAILED: 2 fail-severity checks, 1 anomaly"
    assert verdict_of(0, 1, 0)[0] == "ANOMALIES: 1 metric out of its usual range"
    assert counted(1, "row") == "1 row" and counted(1200, "row") == "1,200 rows"


def test_the_alert_reaches_a_real_server_in_a_shape_slack_and_teams_accept():
    webhook = Webhook()
    try:
        message = alert_message(
            "FAILED: 1 fail-severity check",
            "20261127T020000Z-0badc0de",
            "file:///reports/x/index.html",
            ["tree.tiles_parent (1 row)"],
            [],
            ['"N/A" rate is 20.00%'],
        )
        assert post_alert(webhook.url, message) is None
    finally:
        webhook.close()
    (got,) = webhook.received
    assert got["text"].splitlines()[0] == (
        "a100m data-quality report: FAILED: 1 fail-severity check (run 20261127T020000Z-0badc0de)"
    )
    assert "Failing checks: tree.tiles_parent (1 row)" in got["text"]
    assert got["blocks"][0]["text"]["type"] == "mrkdwn"
    assert len(got["blocks"][1]["fields"]) <= 10
    assert {"name": "Anomalies", "value": "1"} in got["sections"][0]["facts"]
    assert got["a100m"]["report"] == "file:///reports/x/index.html"


def test_an_alert_nobody_receives_is_one_line_without_the_secret():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    problem = post_alert(f"http://127.0.0.1:{port}/services/T0/B0/s3cr3t", {"text": "x"}, 5)
    assert problem is not None and problem.startswith(
        f"alert not delivered to http://127.0.0.1:{port}/"
    )
    assert "s3cr3t" not in problem


def test_numbers_for_people_and_no_change_when_nothing_changed():
    assert human(10.0, COUNT) == "10" and human(118276.0, COUNT) == "118,276"
    assert human(0.03395311236863379, SHARE) == "3.40%"
    assert change_text(0.0339, 0.0339, SHARE) == "no change"
    assert change_text(0.0339, 0.0459, SHARE) == "+1.20 pt"
    assert change_text(80, 88, COUNT) == "+8 (+10.0%)"
    assert change_text(10, 10, COUNT) == "no change"


def test_the_small_file_rule_and_its_warning_line():
    many = TableUpkeep(
        "nodes", 7, SMALL_FILES_MIN, SMALL_FILES_MIN * 1024, SMALL_FILES_MIN, None, None
    )
    few = TableUpkeep(
        "videos", 3, 3, 3 * 1024, SMALL_FILES_MIN - 1, "2026-11-27T01:00:00+00:00", 50.0
    )
    assert many.small_files and not few.small_files
    assert small_file_warning(many, "/data/lake") == (
        f"table nodes has {SMALL_FILES_MIN} small files (under 16.0 MB; {SMALL_FILES_MIN} files, "
        "50.0 KB in all): run `a100m optimize --lake /data/lake` to compact it"
    )
    assert [age_text(h) for h in (None, 0.001, 0.5, 5.25, 50.0)] == [
        "never",
        "1 min",
        "30 min",
        "5.2 h",
        "2 days",
    ]
    assert few.as_fact()["since_optimize"] == "2 days" and few.as_fact()["size"] == "3.0 KB"
