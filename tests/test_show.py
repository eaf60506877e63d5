"""`a100m show`: one video's tree from the lake, as a page a browser opens offline and a PNG.

One lake per module, in two ingest runs: a generated 6,001-node video, a small video whose tree
breaks a fail-severity rule (not validated, so it stays in the tables) and a second copy of it
(quarantined by explode as a duplicate); then the real 10-video sample.
"""

from __future__ import annotations

import copy
import os
import shutil
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from pipelines.core.errors import UsageError
from pipelines.core.lake import read_table
from pipelines.core.treeread import of_videos, quarantined_trees, snapshot
from pipelines.quality.inspect import row_offences
from pipelines.show.stage import pick_video, show
from tests.conftest import REAL_SAMPLE, require_real_sample
from tests.rawdata import big_tree_video, small_tree_video, write_raw

BIG = "bigvideo0001"
BROKEN = "vidbroken01"

CHROMIUM = (
    os.environ.get("A100M_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
)
BROWSER_REQUIRED = os.environ.get("A100M_REQUIRE_BROWSER") == "1"


def broken_video() -> dict:
    """small_tree_video with a2 ending at 5.5 inside a parent that ends at 6: tiles_parent."""
    video = small_tree_video(BROKEN)
    video["nodes"][4]["end"] = 5.5
    return video


@pytest.fixture(scope="module")
def lake(spark, tmp_path_factory) -> SimpleNamespace:
    from pipelines.ingest.stage import explode

    tmp = tmp_path_factory.mktemp("show")
    root = str(tmp / "lake")
    write_raw(tmp / "raw" / "extra-1.parquet", [big_tree_video(BIG), broken_video()])
    write_raw(tmp / "raw" / "extra-2.parquet", [copy.deepcopy(broken_video())])
    explode(spark, [str(tmp / "raw")], root)
    real = REAL_SAMPLE.is_file()
    if real:
        explode(spark, [str(REAL_SAMPLE)], root)
    return SimpleNamespace(path=root, tmp=tmp, real=real)


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


def open_offline(browser, path: Path):
    """The page loaded with the network off; (page, URLs it asked for besides itself, errors)."""
    context = browser.new_context(offline=True, viewport={"width": 1400, "height": 900})
    page = context.new_page()
    asked: list[str] = []
    errors: list[str] = []
    page.on("request", lambda r: None if r.url.startswith("file:") else asked.append(r.url))
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(path.resolve().as_uri(), wait_until="load")
    page.wait_for_selector("body[data-ready='1']", timeout=30_000)
    return page, asked, errors


def node_rows(spark, lake: str, uid: str) -> list:
    return of_videos(read_table(spark, lake, "nodes"), [uid]).collect()


def test_a_6000_node_video_is_a_page_a_browser_draws_whole(spark, lake, browser, tmp_path):
    result = show(spark, lake.path, BIG, tmp_path, png=True, offences=row_offences)
    assert (result.nodes, result.html.name) == (6001, f"{BIG}.html")
    assert result.png is not None and result.png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    started = time.monotonic()
    page, asked, errors = open_offline(browser, result.html)
    loaded = time.monotonic() - started
    page.screenshot(path=str(tmp_path / "big-shot.png"))
    print(f"6,001 nodes: page {result.html.stat().st_size:,} bytes, drawn in {loaded:.2f} s")
    assert (asked, errors) == ([], [])
    assert page.locator("rect.bar").count() == 6001
    assert page.locator("rect.line").count() == 120  # a transcript line every 30 s of 3,600
    # more than 1,500 nodes: the deep levels start collapsed (thin lanes, no labels)
    collapsed = page.locator(".lane-name").filter(has_text="\u25b8").count()
    assert collapsed == result.levels - 8 > 0

    def width(node_id: str) -> float:
        return float(page.locator(f'rect.bar[data-id="{node_id}"]').get_attribute("width"))

    def height(node_id: str) -> float:
        return float(page.locator(f'rect.bar[data-id="{node_id}"]').get_attribute("height"))

    whole = width("n0")
    page.click("#zoom-in")
    page.click("#zoom-in")
    assert width("n0") == pytest.approx(4 * whole)
    thin = height("n5000")
    page.locator(".lane-name", has_text="level 12").click()  # opens the collapsed lane
    assert height("n5000") > 2 * thin

    deep = next(r for r in node_rows(spark, lake.path, BIG) if r["node_id"] == "n5000")
    page.locator('rect.bar[data-id="n5000"]').dispatch_event("click")
    detail = page.locator("#detail").inner_text()
    assert f"level {deep['level']}" in detail
    assert deep["plm_caption"] in detail and deep["llama3_caption"] in detail
    assert loaded < 15


def test_a_real_video_page_shows_every_node_and_what_failed(spark, lake, browser, tmp_path):
    require_real_sample(REAL_SAMPLE)
    # a real video with the release's duration quirk: a node ending after the stated duration
    videos = read_table(spark, lake.path, "videos").where("source_file LIKE '%examples.parquet'")
    nodes = read_table(spark, lake.path, "nodes")
    uid = (
        nodes.join(videos, "video_uid")
        .where(nodes["end"] > videos["duration"])
        .select("video_uid")
        .orderBy("video_uid")
        .first()["video_uid"]
    )
    result = show(spark, lake.path, uid, tmp_path / "real.html", png=True, offences=row_offences)
    rows = node_rows(spark, lake.path, uid)
    root = next(r for r in rows if r["parent_id"] is None)
    duration = read_table(spark, lake.path, "videos").where(f"video_uid = '{uid}'").first()
    past_end = {r["node_id"] for r in rows if r["end"] > duration["duration"]}

    page, asked, errors = open_offline(browser, result.html)
    page.screenshot(path=str(tmp_path / "real-shot.png"), full_page=True)
    print(f"real {uid}: {result.summary()}; screenshot {tmp_path / 'real-shot.png'}")
    assert (asked, errors) == ([], [])
    assert page.locator("rect.bar").count() == len(rows) == result.nodes
    # the warn-severity duration quirk: every node ending past the stated duration is outlined
    failed = set(page.eval_on_selector_all("rect.bar.failed", "els => els.map(e => e.dataset.id)"))
    assert past_end and past_end <= failed
    assert "end_within_video_duration" in page.locator("#checks").inner_text()

    page.locator(f'rect.bar[data-id="{root["node_id"]}"]').click()  # a real click, on the root
    detail = page.locator("#detail").inner_text()
    assert "the root" in detail and root["summary_brief"].strip() in detail
    page.screenshot(path=str(tmp_path / "real-clicked.png"), full_page=True)


def test_a_broken_node_is_marked_with_its_rule(spark, lake, tmp_path):
    result = show(spark, lake.path, BROKEN, tmp_path, offences=row_offences)
    assert result.failed["tiles_parent"][0] == "fail"
    html = result.html.read_text()
    assert '"id":"a2"' in html and "tiles_parent" in html
    # the quality stage's own verdict on the same rows names the same node
    offences = [
        o for o in row_offences(*_frames(spark, lake.path, BROKEN)) if o.rule == "tiles_parent"
    ]
    assert [o.key for o in offences] == ["a2"]


def _frames(spark, lake: str, uid: str):
    from pipelines.core.treeread import read_frames

    videos, nodes, transcripts = read_frames(spark, lake, [uid], snapshot(spark, lake))
    return nodes, videos, transcripts


def test_a_quarantined_copy_is_drawn_from_its_raw_record(spark, lake):
    versions = snapshot(spark, lake.path)
    trees = quarantined_trees(spark, lake.path, [BROKEN], versions["quarantine"])
    tree = trees[BROKEN]
    assert [n["node_id"] for n in tree.nodes] == ["r", "a", "b", "a1", "a2"]
    assert tree.nodes[-1]["end"] == 5.5 and tree.nodes[0]["action_brief"] == "Cook soup"
    assert [o.rule for o in tree.video_offences] == ["duplicate_video"]
    assert [t for t, _ in tree.transcript] == [0.5, 3.25]


def test_only_that_videos_files_are_read(spark, lake):
    """Delta skips by the files' video_uid range: a video of the second ingest run is read
    from that run's files only."""
    require_real_sample(REAL_SAMPLE)
    nodes = read_table(spark, lake.path, "nodes")
    uid = pick_video(
        spark, lake.path, snapshot(spark, lake.path), where="source_file LIKE '%examples.parquet'"
    )
    one, whole = files_read(of_videos(nodes, [uid])), files_read(nodes)
    assert 0 < one < whole, (one, whole)


def files_read(frame) -> int:
    """Files the scans of the frame's plan opened (Spark's numFiles metric), after running it."""
    frame.collect()
    total, stack = 0, [frame._jdf.queryExecution().executedPlan()]
    while stack:
        node = stack.pop()
        if node.getClass().getSimpleName() == "AdaptiveSparkPlanExec":
            stack.append(node.executedPlan())
            continue
        metric = node.metrics().get("numFiles")
        if metric.isDefined():
            total += metric.get().value()
        children = node.children()
        stack.extend(children.apply(i) for i in range(children.size()))
    return total


def test_a_video_is_picked_by_sql_or_at_random(spark, lake):
    versions = snapshot(spark, lake.path)
    assert pick_video(spark, lake.path, versions, where="node_count > 5000") == BIG
    first = pick_video(spark, lake.path, versions, random=True, seed=3)
    assert first == pick_video(spark, lake.path, versions, random=True, seed=3)
    with pytest.raises(UsageError, match="no video of lake .* matches"):
        pick_video(spark, lake.path, versions, where="node_count < 0")
    with pytest.raises(UsageError, match="where='nodecount > 1'"):
        pick_video(spark, lake.path, versions, where="nodecount > 1")
    with pytest.raises(UsageError, match="no video nosuchvideo"):
        show(spark, lake.path, "nosuchvideo", lake.tmp / "none")


def test_the_command_writes_the_page(spark, lake, capsys):
    from pipelines.cli import main

    out = lake.tmp / "cli" / "mine.html"
    args = ["show", "--where", "node_count > 5000", "--lake", lake.path, "--out", str(out)]
    assert main(args) == 0
    assert out.is_file() and f"show {BIG}: 6,001 nodes" in capsys.readouterr().out
    assert main(["show", BIG, "--random", "--lake", lake.path]) == 2


def test_the_statistics_examples_are_the_largest_median_and_smallest_trees(spark, lake, tmp_path):
    from pipelines.stats.examples import pick_examples, write_example_pages

    versions = snapshot(spark, lake.path)
    examples = pick_examples(read_table(spark, lake.path, "videos", versions["videos"]))
    assert [e["why"] for e in examples] == [
        "the most nodes",
        "a median number of nodes",
        "the fewest nodes",
    ]
    assert (examples[0]["video_uid"], examples[0]["nodes"]) == (BIG, 6001)
    assert examples[-1]["nodes"] == 5  # the broken small tree
    written = write_example_pages(spark, lake.path, str(tmp_path), examples, versions)
    assert written == [tmp_path / e["page"] for e in examples]


def test_annotation_text_is_shown_as_text_never_run(browser, tmp_path):
    """A caption that looks like markup (or ends the data's <script>) is shown as it is."""
    from pipelines.core.treeview import render_html, tree_from_records

    nasty = '</script><script>document.title = "hacked"</script><b>bold?</b> & "quotes"'
    tree = tree_from_records(
        "vid_markup",
        [
            {"node_id": "r", "parent_id": None, "level": 0, "start": 0.0, "end": 8.0},
            {
                "node_id": "x",
                "parent_id": "r",
                "level": 1,
                "start": 0.0,
                "end": 8.0,
                "plm_caption": nasty,
                "action_brief": "<i>Stir</i>",
            },
        ],
        [{"time": 1.0, "text": nasty}],
        {"title": "<h1>title</h1>", "duration": 8},
    )
    path = tmp_path / "markup.html"
    path.write_text(render_html(tree))
    page, asked, errors = open_offline(browser, path)
    assert (asked, errors) == ([], [])
    assert page.title() == "vid_markup: <h1>title</h1>"
    assert page.locator("rect.bar").count() == 2 and page.locator("b").count() == 0
    page.locator('rect.bar[data-id="x"]').dispatch_event("click")
    assert nasty in page.locator("#detail").inner_text()
    page.locator("rect.line").dispatch_event("click")
    assert nasty in page.locator("#detail").inner_text()
