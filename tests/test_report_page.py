"""The report page as a new reader meets it, without Spark (issue 28, item 1): its cards compare
with the previous report, not the run before; its hints paste the report's own lake; its charts
and figures are named as people say them, dated, and drawn from zero; it shows one time, the
report's, with the others folded away. tests/test_report_history.py checks the same on real
reports in Chromium, with chart_axes() below."""

from __future__ import annotations

import base64
import os
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any

from pipelines.core.results import CheckOutcome
from pipelines.report.charts import BELOW_ZERO, time_ticks, trend_svg, value_axis
from pipelines.report.html import render_report_page
from pipelines.report.metrics import COUNT, SHARE, RunPoint, label_of, short_description
from pipelines.report.stage import check_descriptions, lake_shown

SVG = "{http://www.w3.org/2000/svg}"
# The times a page can show: "2026-12-02 02:10:01" (as written for people) and a run id's
# "20261202T021000Z" (a time too, to a reader).
TIME = re.compile(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(?::\d{2})?|\d{8}T\d{6}Z")


@dataclass(frozen=True)
class ChartAxes:
    x_labels: list[str]
    y_labels: list[str]
    zero_on_floor: bool  # the lowest value tick is 0 and sits on the time axis


def _number(label: str) -> float | None:
    """A value tick's label as a number: "0", "0.0", "0.0%", "1,200"; None if it is none."""
    try:
        return float(label.replace(",", "").removesuffix("%"))
    except ValueError:
        return None


def chart_axes(svg: bytes) -> ChartAxes:
    """What a reader sees on a trend chart's axes, read from its SVG (matplotlib's tick groups:
    "xtick_N" and "ytick_N", lowest value first, each a tick mark and its text)."""
    root = ET.fromstring(svg)

    def ticks(kind: str) -> list[tuple[str, float]]:
        found = []
        for g in root.iter(f"{SVG}g"):
            if g.get("id", "").startswith(f"{kind}tick_"):
                label = "".join(t.text or "" for t in g.iter(f"{SVG}text"))
                mark = next(g.iter(f"{SVG}use"))
                found.append((label, float(mark.get("y") or "nan")))  # x ticks: the floor
        return found

    xs, ys = ticks("x"), ticks("y")
    floor = xs[0][1] if xs else float("nan")
    zero = bool(ys) and _number(ys[0][0]) == 0 and abs(ys[0][1] - floor) < 0.01
    return ChartAxes([label for label, _ in xs], [label for label, _ in ys], zero)


def _nights() -> list[RunPoint]:
    """Two nights as cron runs them: `run` lands the night's videos, then `report` reads them."""
    return [
        RunPoint(
            "20261201T021000Z-aaaaaaaa",
            "2026-12-01 02:10:00",
            "report",
            {"rows.videos": 100.0, "na_rate": 0.0339, "check.tree.tiles_parent": 0.0},
        ),
        RunPoint(
            "20261202T020000Z-bbbbbbbb",
            "2026-12-02 02:00:00",
            "run",
            {"rows.videos": 200.0, "na_rate": 0.0341, "check.tree.tiles_parent": 3.0},
        ),
        RunPoint(
            "20261202T021000Z-cccccccc",
            "2026-12-02 02:10:01",
            "report",
            {"rows.videos": 200.0, "na_rate": 0.0341, "check.tree.tiles_parent": 3.0},
        ),
    ]


def _facts(**changes: Any) -> dict[str, Any]:
    facts = {
        "run_id": "20261202T021000Z-cccccccc",
        "created_at": "2026-12-02T02:14:59.250000+00:00",
        "stats_computed_at": "2026-12-02T02:13:30+00:00",
        "previous_run_id": "20261201T021000Z-aaaaaaaa",
        "lake": "/data/our lake",
        "verdict": "FAILED: 1 fail-severity check",
        "verdict_class": "fail",
        "versions": {"videos": 2, "nodes": 2, "transcripts": 2},
        "row_counts": {"videos": 200, "nodes": 2000, "transcripts": 400},
        "figures": {"videos": 200.0, "na_rate": 0.0341, "video_hours": 6.5},
    }
    return facts | changes


def _outcome(check: str, severity: str) -> CheckOutcome:
    suite, _, check_id = check.partition(".")
    return CheckOutcome(
        suite, "node_checks", check_id, "expect_column_values_to_be_null", "chk", severity,
        False, None, 2000, 3, 0.15, ["v1/n2: a gap of 0.5 s"],
    )  # fmt: skip


def _page(facts: dict[str, Any] | None = None, history: list[RunPoint] | None = None, **kw) -> str:
    outcomes = [_outcome("tree.tiles_parent", "critical"), _outcome("annotation.x", "warning")]
    return render_report_page(
        facts or _facts(),
        outcomes,
        [],
        {},
        _nights() if history is None else history,
        checks=check_descriptions(),
        folder="2026-12-02T021001Z-cccccccc",
        **kw,
    )


def _card(page: str, metric: str) -> str:
    """One card's HTML, up to the next card (or the end of the cards)."""
    return re.split(r"<div class='trend-card|<h3>", page.split(f"data-metric='{metric}'>")[1])[0]


def _change(page: str, metric: str) -> str:
    return _card(page, metric).split("<div class='d'>")[1].split("</div>")[0]


def _charts(page: str) -> dict[str, bytes]:
    found = re.findall(r"data-metric='([^']+)'.*?base64,([^\"]+)\"", page)
    return {metric: base64.b64decode(data) for metric, data in found}


def test_the_page_has_a_trend_chart_per_metric_and_says_no_change():
    history = [
        RunPoint(
            f"run{i}",
            f"2026-11-2{i}T02:00:00",
            "report",
            {"rows.videos": 10.0 * (i + 1), "na_rate": 0.034, "check.tree.one_root": 0.0},
        )
        for i in range(3)
    ]
    facts = _facts(
        run_id="run2",
        previous_run_id="run1",
        verdict="PASSED",
        verdict_class="pass",
        figures={"videos": 30.0, "na_rate": 0.034, "video_hours": 0.9038888888888889},
    )
    html = render_report_page(facts, [], [], {}, history, [], {}, {})
    assert html.count('<img class="trend"') == 2  # a quiet check gets no chart, just a line
    assert "1 other check had no unexpected rows in any of the 3 runs" in html
    assert "<div class='d'>no change since the Nov 21 report</div>" in html
    assert "+10 (+50.0%) since the Nov 21 report" in html
    assert "0.90 h" not in html and "0.9 h" in html and "3.40%" in html
    assert "<script" not in html and "http" not in html


# 1. against the previous report ------------------------------------------------------------


def test_cards_compare_with_the_previous_report_not_the_run_before_it():
    page = _page()
    # the night's `run` already had the 100 new videos: against it, "no change"
    assert _change(page, "rows.videos") == "+100 (+100.0%) since the Dec 1 report"
    assert _change(page, "na_rate") == "+0.02 pt since the Dec 1 report"
    assert "no change" not in page.split("<h3>Runs</h3>")[0]
    note = page.split("id='baseline'>")[1].split("</p>")[0]
    assert "since the previous report, of 2026-12-01 02:10:00 UTC" in note
    runs = page.split("<div id='runs'>")[1]
    assert "<td>report</td><td>previous report</td>" in runs.split("20261201T021000Z")[1][:120]
    assert "<td>report</td><td>this report</td>" in runs.split("20261202T021000Z")[1][:120]


def test_the_previous_report_is_found_beyond_the_runs_the_page_keeps():
    nights = _nights()
    # report_history_runs = 2: the page keeps the last two runs; the stage passes the baseline
    page = _page(history=nights[1:], baseline=nights[0])
    assert _change(page, "rows.videos") == "+100 (+100.0%) since the Dec 1 report"
    same_day = [RunPoint("r0", "2026-12-02 01:00:00", "report", {"rows.videos": 150.0})]
    page = _page(history=same_day + nights[1:], facts=_facts(previous_run_id="r0"))
    assert _change(page, "rows.videos") == "+50 (+33.3%) since the 01:00 report"
    assert _change(page, "check.tree.tiles_parent") == "not in the 01:00 report"


def test_a_first_report_says_so_on_every_card():
    page = _page(facts=_facts(previous_run_id=None))
    assert _change(page, "rows.videos") == "first report"
    assert "This is the first report" in page.split("id='baseline'>")[1][:60]
    lost = _page(facts=_facts(previous_run_id="20261120T000000Z-gone0000"))
    assert _change(lost, "rows.videos") == "previous report not in the history"


# 2. the lake's path in the hints ----------------------------------------------------------


def test_hints_paste_the_report_s_own_lake():
    page = _page()
    queries = re.findall(r"<pre class='query'>(.*?)</pre>", page)
    assert len(queries) == 2
    assert all("--lake &#x27;/data/our lake&#x27;" in q for q in queries), queries
    assert "LAKE" not in page
    # the stage shows a relative lake as the absolute path the commands work with anywhere
    assert lake_shown("lake") == os.path.join(os.getcwd(), "lake")
    assert lake_shown("/data/lake/") == "/data/lake"
    assert lake_shown("s3a://bucket/lake") == "s3a://bucket/lake"


# 3. names people read -----------------------------------------------------------------------


def test_charts_and_figures_are_named_as_people_say_them():
    checks = check_descriptions()
    assert (
        label_of("check.tree.tiles_parent", checks) == "rows breaking: children tile their parent"
    )
    assert checks["temporal.end_within_video_duration"] == "end <= metadata.duration"
    assert short_description("time is finite (not NaN or infinite)") == "time is finite"
    assert short_description("(video_uid, node_id) is unique") == "(video_uid, node_id) is unique"
    page = _page()
    headings = re.findall(r"<div class='k' title='([^']+)'>([^<]+)</div>", page)
    assert len(headings) == 3
    for metric, heading in headings:
        assert metric not in heading and "_" not in heading, (metric, heading)
    figures = page.split("<h2>Key statistics</h2>")[1].split("</table>")[0]
    assert "hours of video" in figures and "video_hours" not in figures
    assert "na_rate" not in figures
    # under each chart the runs' dates, not their positions in the table of runs
    for metric, svg in _charts(page).items():
        assert chart_axes(svg).x_labels == ["Dec 1", "Dec 2"], metric


def test_time_ticks_are_dates_or_times_of_day_spread_from_first_to_last():
    days = [f"2026-11-{d:02d} 02:00:00" for d in range(1, 31)]
    ticks = time_ticks(days)
    assert ticks[0] == (0, "Nov 1") and ticks[-1] == (29, "Nov 30") and len(ticks) == 4
    one_day = ["2026-12-02 02:00:00", "2026-12-02 02:10:00", "2026-12-02T03:00:00+00:00"]
    assert time_ticks(one_day) == [(0, "02:00"), (1, "02:10"), (2, "03:00")]
    assert time_ticks(["2026-11-21", "not a time"]) == [(0, "1"), (1, "2")]
    assert time_ticks([]) == []


# 4. value axes from zero ----------------------------------------------------------------------


def test_value_axes_start_at_zero_so_a_flat_metric_looks_flat():
    assert value_axis([0.0339, 0.0341]) == (0.0, 0.0341 * 1.15)
    assert value_axis([0.0, 0.0]) == (0.0, 1.0)
    assert value_axis([-2.0, 3.0]) is None
    times = ["2026-12-01 02:00:00", "2026-12-02 02:00:00", "2026-12-03 02:00:00"]
    flat = chart_axes(trend_svg([0.0339, 0.0341, 0.0340], SHARE, [False] * 3, "na", times))
    assert flat.zero_on_floor and flat.y_labels[0] == "0.0%", flat
    growing = chart_axes(trend_svg([100.0, 200.0, 200.0], COUNT, [False] * 3, "rows", times))
    assert growing.zero_on_floor and growing.y_labels[0] == "0", growing
    for metric, svg in _charts(_page()).items():
        assert chart_axes(svg).zero_on_floor, metric


def test_a_chart_whose_values_go_below_zero_says_why_its_axis_does_not_start_there():
    nights = _nights()
    for point, value in zip(nights, (-1.0, 2.0, 3.0), strict=True):
        point.metrics["words.action_brief"] = value
    page = _page(history=nights)
    assert BELOW_ZERO in _card(page, "words.action_brief")
    assert page.count(BELOW_ZERO) == 1  # the other cards start at zero
    assert not chart_axes(_charts(page)["words.action_brief"]).zero_on_floor


# 5. one time ------------------------------------------------------------------------------------


def test_the_page_shows_one_time_the_report_s_and_folds_the_others_away():
    page = _page()
    head, times = page.split("<main>")[1].split("<details id='times'>")
    times = times.split("</details>")[0]
    # the report's time is its run's, as the table of runs gives it; the browser tab's too
    assert TIME.findall(head) == ["2026-12-02 02:10:01"]
    assert "<title>a100m report 2026-12-02 02:10:01 UTC</title>" in page
    assert "<span id='report-time'>2026-12-02 02:10:01 UTC</span>" in head
    assert "<td>2026-12-02 02:10:01 UTC</td>" in page.split("<div id='runs'>")[1]
    for other in (
        "20261202T021000Z-cccccccc",
        "2026-12-02T021001Z-cccccccc",
        "2026-12-02 02:13:30 UTC",
        "2026-12-02 02:14:59 UTC",
    ):
        assert other in times, other
    # below the fold: only the previous report's time, in the note that names it, and the runs
    body = page.split("</details>", 1)[1].split("<div id='runs'>")[0]
    assert TIME.findall(body) == ["2026-12-01 02:10:00"]
    # no history: the page-written time is the one time
    alone = _page(history=[])
    assert "<span id='report-time'>2026-12-02 02:14:59 UTC</span>" in alone
