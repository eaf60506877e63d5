"""Five nightly reports over a lake that grows night by night, the third night damaged (more
"N/A" actions, segments four times longer, a broken tree): trends with five points, anomalies
on the damaged night only, stored in dq_results, failed-row samples, a webhook message per
report received by a real HTTP server, the documented exit codes, and the pages opened in
headless Chromium with the network blocked. On the last night a `validate` runs between the
night's explode and its report, as cron's `run` does: the last page's cards still compare with
the previous report, and the browser checks what a new reader tripped over (issue 28, item 1)."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import shutil
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from pipelines.cli import EXIT_DATA, EXIT_OK, main
from pipelines.core.console import LOG_FOLDER
from pipelines.core.lake import read_table
from pipelines.report.metrics import when
from tests.nights import Webhook, damage
from tests.test_report_page import TIME, chart_axes

NIGHTS = 5
DAMAGED = 3  # 1-based
VIDEOS_PER_NIGHT = 8
TREND_METRICS = (
    "rows.videos",
    "rows.nodes",
    "rows.transcripts",
    "na_rate",
    "duplicate_share",
    "words.action_brief",
    "bucket.0_3",
    "bucket.60_plus",
)


@dataclass
class Nights:
    lake: str
    reports: Path
    folders: list[Path]
    facts: list[dict[str, Any]]
    codes: list[int]
    outputs: list[str]
    broken_video: str
    received: list[dict[str, Any]]


def _closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/hooks/nobody-listens"


@pytest.fixture(scope="module")
def nights(spark, tmp_path_factory) -> Nights:
    root = tmp_path_factory.mktemp("nights")
    lake, reports = str(root / "lake"), root / "reports"
    webhook = Webhook()
    codes, outputs, broken = [], [], ""
    try:
        for night in range(1, NIGHTS + 1):
            raw = root / f"raw{night}"
            assert (
                main(
                    [
                        "generate",
                        "--videos",
                        str(VIDEOS_PER_NIGHT),
                        "--seed",
                        str(night),
                        "--out",
                        str(raw),
                    ]
                )
                == EXIT_OK
            )
            (raw / "manifest.json").unlink(missing_ok=True)
            if night == DAMAGED:
                broken = damage(raw, night)
            assert main(["explode", "--input", str(raw), "--lake", lake]) == EXIT_OK
            if night == NIGHTS:
                # a run of the night before its report, as `a100m run` is before cron's report:
                # the new videos are in the history before the report reads them
                # (it judges the night's new videos, which are clean; --no-quarantine keeps the
                # damaged night's broken tree in the tables for the report to find)
                checked = ["validate", "--lake", lake, "--report", str(root / "validation")]
                assert main([*checked, "--no-quarantine"]) == EXIT_OK
            # the last night's webhook is down: the report says so and its verdict stands
            url = webhook.url if night < NIGHTS else _closed_port_url()
            out_file = root / f"report{night}.txt"
            with open(out_file, "w") as sink:
                with contextlib.redirect_stdout(sink):
                    codes.append(
                        main(
                            [
                                "report",
                                "--lake",
                                lake,
                                "--out",
                                str(reports),
                                "--alert-webhook",
                                url,
                            ]
                        )
                    )
            outputs.append(out_file.read_text())
    finally:
        webhook.close()
    # the dated reports, beside logs/ (each command's log file, core/console.py)
    folders = sorted(p for p in reports.iterdir() if p.is_dir() and p.name != LOG_FOLDER)
    facts = [json.loads((f / "report.json").read_text()) for f in folders]
    return Nights(lake, reports, folders, facts, codes, outputs, broken, webhook.received)


def test_five_nights_give_five_point_trends_formatted_for_people(nights):
    assert len(nights.folders) == NIGHTS
    history = nights.facts[-1]["history"]
    assert [p["command"] for p in history] == ["report"] * (NIGHTS - 1) + ["validate", "report"]
    reports = [p for p in history if p["command"] == "report"]
    assert [p["run_id"] for p in reports] == [f["run_id"] for f in nights.facts]
    videos = [p["metrics"]["rows.videos"] for p in reports]
    assert videos == [VIDEOS_PER_NIGHT * n for n in range(1, NIGHTS + 1)]
    assert history[-2]["metrics"]["rows.videos"] == videos[-1]  # the validate saw them first
    for metric in TREND_METRICS:
        assert all(p["metrics"].get(metric) is not None for p in reports), metric
    page = (nights.folders[-1] / "index.html").read_text()
    for metric in TREND_METRICS:
        assert f"data-metric='{metric}'" in page, metric
    assert page.count('<img class="trend"') >= len(TREND_METRICS)
    assert f"History at a glance ({NIGHTS + 1} runs)" in page
    # people's numbers: a count with no ".0", a share as a percentage, no float noise
    assert "<div class='v'>40</div>" in page
    assert "0.0339" not in page and "10.0<" not in page
    assert "+0.00 pt" not in page


def test_anomalies_flag_the_damaged_night_only_and_are_stored(spark, nights):
    flagged = [{a["metric"] for a in f["anomalies"]} for f in nights.facts]
    assert [bool(m) for m in flagged] == [n == DAMAGED for n in range(1, NIGHTS + 1)], flagged
    damaged = flagged[DAMAGED - 1]
    assert "na_rate" in damaged
    assert any(m.startswith("bucket.") for m in damaged), damaged
    stored = read_table(spark, nights.lake, "dq_results").where("scope = 'anomaly'").collect()
    assert {r.run_id for r in stored} == {nights.facts[DAMAGED - 1]["run_id"]}
    assert {r.column for r in stored} == damaged
    assert all(r.severity == "warn" and not r.success for r in stored)
    page = (nights.folders[DAMAGED - 1] / "index.html").read_text()
    assert "trend-card anomalous' data-metric='na_rate'" in page
    assert "ANOMALIES" not in page.split("id='verdict'>")[1][:20]  # a failed check outranks them


def test_exit_codes_follow_the_verdict(nights):
    # the broken tree stays in the lake (a report quarantines nothing): 1 from the damaged night on
    assert nights.codes == [EXIT_OK] * (DAMAGED - 1) + [EXIT_DATA] * (NIGHTS - DAMAGED + 1)
    assert [f["verdict"].split(":")[0] for f in nights.facts] == ["PASSED"] * (DAMAGED - 1) + [
        "FAILED"
    ] * (NIGHTS - DAMAGED + 1)


def test_one_webhook_message_per_report_and_a_dead_webhook_changes_nothing(nights):
    assert len(nights.received) == NIGHTS - 1
    damaged = nights.received[DAMAGED - 1]
    assert damaged["text"].startswith("a100m data-quality report: FAILED")
    assert "tree.tiles_parent" in damaged["text"] and '"N/A" rate' in damaged["text"]
    assert damaged["a100m"]["run_id"] == nights.facts[DAMAGED - 1]["run_id"]
    assert any("tree.tiles_parent" in c for c in damaged["a100m"]["failing_checks"])
    assert damaged["a100m"]["anomalies"]
    page = Path(damaged["a100m"]["report"].removeprefix("file://"))
    assert page == (nights.folders[DAMAGED - 1] / "index.html").resolve()
    assert damaged["blocks"][1]["fields"] and damaged["sections"][0]["facts"]
    assert nights.received[0]["a100m"]["verdict"] == "PASSED"
    assert "alert not delivered to http://127.0.0.1:" in nights.outputs[-1]
    assert "nobody-listens" not in nights.outputs[-1]  # a webhook's path is its secret
    assert nights.codes[-1] == EXIT_DATA


def test_failing_checks_show_offending_rows_and_the_quarantine_query(nights):
    page = (nights.folders[DAMAGED - 1] / "index.html").read_text()
    section = page.split("id='check-tree.tiles_parent'>")[1].split("<h3")[0]
    assert nights.broken_video in section
    assert "array_contains(reason_codes, &#x27;tiles_parent&#x27;)" in section
    assert "<td>-</td><td>-</td>" not in section.split("</table>")[0]  # times were looked up
    assert "Every expectation" in page
    # Data Docs are off by default: the only pages are ours
    assert not list((nights.folders[0] / "validation").rglob("*.html"))


# ---------------------------------------------------------------------------------------------
# The pages in a real browser, offline
# ---------------------------------------------------------------------------------------------

CHROMIUM = (
    os.environ.get("A100M_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
)
BROWSER_REQUIRED = os.environ.get("A100M_REQUIRE_BROWSER") == "1"


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM:
        reason = "no chromium on PATH (apt-get install chromium; .ci/run installs it)"
        if BROWSER_REQUIRED:
            pytest.fail(reason)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield browser
        browser.close()


def _open_offline(browser, path: Path, screenshot: Path) -> tuple[Any, list[str]]:
    """Open the page with the network off; return it and every non-local URL it asked for."""
    context = browser.new_context(offline=True, viewport={"width": 1280, "height": 900})
    asked: list[str] = []
    page = context.new_page()
    page.on(
        "request",
        lambda r: asked.append(r.url) if not r.url.startswith(("file:", "data:")) else None,
    )
    page.route(
        "**/*",
        lambda route: (
            route.abort()
            if not route.request.url.startswith(("file:", "data:"))
            else route.continue_()
        ),
    )
    page.goto(path.resolve().as_uri(), wait_until="load")
    page.screenshot(path=str(screenshot), full_page=True)
    print(f"screenshot: {screenshot}")
    return page, asked


def _broken_images(page) -> int:
    return page.evaluate(
        "Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0)).length"
    )


def test_report_pages_render_complete_offline_in_chromium(nights, browser, tmp_path):
    damaged = nights.folders[DAMAGED - 1]
    page, asked = _open_offline(browser, damaged / "index.html", tmp_path / "report.png")
    assert asked == []
    assert page.locator("#verdict").inner_text().startswith("FAILED")
    assert page.locator("#verdict").is_visible()
    assert page.get_by_text("tree.tiles_parent", exact=False).first.is_visible()
    for metric in TREND_METRICS:
        card = page.locator(f".trend-card[data-metric='{metric}'] img.trend")
        assert card.count() == 1, metric
        box = card.bounding_box()
        assert box and box["width"] > 150 and box["height"] > 40, (metric, box)
    assert _broken_images(page) == 0
    assert page.locator(".trend-card.anomalous").count() >= 2

    index, asked = _open_offline(browser, nights.reports / "index.html", tmp_path / "index.png")
    assert asked == []
    assert index.locator("table tr").count() == NIGHTS + 1
    assert index.get_by_text("PASSED").count() == DAMAGED - 1


def test_statistics_page_renders_complete_offline_in_chromium(nights, browser, tmp_path):
    stats = nights.folders[-1] / "stats" / "report.html"
    page, asked = _open_offline(browser, stats, tmp_path / "stats.png")
    assert asked == []
    assert page.locator("h1").inner_text() == "Action100M corpus statistics"
    charts = page.locator("figure img")
    assert charts.count() >= 5
    assert _broken_images(page) == 0
    assert all(charts.nth(i).bounding_box()["width"] > 200 for i in range(charts.count()))


def _card_text(page, metric: str, part: str) -> str:
    return page.locator(f".trend-card[data-metric='{metric}'] .{part}").first.inner_text()


def test_the_last_page_reads_as_a_new_reader_expects_in_chromium(nights, browser, tmp_path):
    """Issue 28, item 1, on the last night's page: changes since the previous report (not the
    validate run between), the lake's path in the hints, names people read, value axes from
    zero, and one time, the report's, with the others folded away."""
    page, asked = _open_offline(browser, nights.folders[-1] / "index.html", tmp_path / "last.png")
    assert asked == []
    last, previous = nights.facts[-1], nights.facts[-2]
    at = {p["run_id"]: p["at"] for p in last["history"]}

    # 1. against the previous report: the validate before it already counted the new videos
    change = _card_text(page, "rows.videos", "d")
    assert change.startswith(f"+{VIDEOS_PER_NIGHT} (+25.0%) since the "), change
    assert change.endswith(" report") and "no change" not in change
    baseline = page.locator("#baseline").inner_text()
    assert f"since the previous report, of {when(at[previous['run_id']])}" in baseline
    roles = {}  # run id -> what the table of runs says it is to this page
    for row in page.locator("#runs tr").all()[1:]:
        cells = row.locator("td")
        roles[cells.nth(1).inner_text()] = cells.nth(4).inner_text()
    assert roles[previous["run_id"]] == "previous report" and roles[last["run_id"]] == "this report"

    # 2. the hints paste this lake
    queries = page.locator("pre.query")
    assert queries.count() >= 1
    assert all(
        f"--lake {nights.lake}" in queries.nth(i).inner_text() for i in range(queries.count())
    )
    assert "LAKE" not in page.locator("main").inner_text()

    # 3. names people read: a check's card by what it asks, no card by its metric id
    assert (
        _card_text(page, "check.tree.tiles_parent", "k")
        == "rows breaking: children tile their parent"
    )
    cards = page.locator(".trend-card")
    for i in range(cards.count()):
        metric = cards.nth(i).get_attribute("data-metric")
        assert metric not in cards.nth(i).locator(".k").inner_text(), metric
    assert page.get_by_role("cell", name="hours of video").count() == 1

    # 4. every chart's value axis starts at zero; its time axis is the runs' times of day (one
    # day in this test), not their positions in the table
    images = page.locator(".trend-card img.trend")
    assert images.count() >= len(TREND_METRICS)
    for i in range(images.count()):
        src = images.nth(i).get_attribute("src")
        axes = chart_axes(base64.b64decode(src.split("base64,", 1)[1]))
        assert axes.zero_on_floor, (i, axes)
        assert all(re.fullmatch(r"\d{2}:\d{2}", label) for label in axes.x_labels), axes

    # 5. one time on the page for this report, its run's; the others are behind "details"
    shown = when(at[last["run_id"]])
    assert page.locator("#report-time").inner_text() == shown
    visible = page.evaluate(
        "Array.from(document.querySelector('main').children)"
        ".filter(e => e.id !== 'runs').map(e => e.innerText).join('\\n')"
    )
    assert set(TIME.findall(visible)) == {shown[:19], when(at[previous["run_id"]])[:19]}
    assert TIME.findall(visible).count(shown[:19]) == 1
    assert page.title() == f"a100m report {shown}"
    assert not page.locator("#times table").is_visible()
    page.locator("#times summary").click()
    folded = page.locator("#times").inner_text()
    assert last["run_id"] in folded and nights.folders[-1].name in folded
    assert when(last["created_at"]) in folded and when(last["stats_computed_at"]) in folded
