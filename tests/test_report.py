"""The scheduled data-quality report: dated folders, a history-aware diff, an index of reports."""

from __future__ import annotations

import json

from pipelines.cli import EXIT_DATA, EXIT_OK, main
from pipelines.core.console import LOG_FOLDER
from pipelines.core.lake import read_table
from tests.rawdata import small_tree_video, write_raw


def test_two_reports_make_a_history_with_an_index(spark, tmp_path, lake, real_sample, capsys):
    reports = tmp_path / "reports"
    assert main(["explode", "--input", str(real_sample), "--lake", lake]) == EXIT_OK
    assert main(["report", "--lake", lake, "--out", str(reports)]) == EXIT_OK
    first_out = capsys.readouterr().out
    assert "first report: nothing to compare with" in first_out

    # The lake grows by one video whose tree is broken: a check newly fails.
    broken = small_tree_video("vidbroken01")
    broken["nodes"][4]["start"] = 3.0  # a2 no longer starts where a1 ends
    write_raw(tmp_path / "more" / "shard-1.parquet", [broken])
    assert main(["explode", "--input", str(tmp_path / "more"), "--lake", lake]) == EXIT_OK
    assert main(["report", "--lake", lake, "--out", str(reports)]) == EXIT_DATA
    second_out = capsys.readouterr().out

    # the dated reports, beside logs/ (each command's log file, core/console.py)
    folders = sorted(p for p in reports.iterdir() if p.is_dir() and p.name != LOG_FOLDER)
    assert len(folders) == 2
    first, second = (json.loads((f / "report.json").read_text()) for f in folders)
    assert second["previous_run_id"] == first["run_id"]
    assert (first["row_counts"]["videos"], second["row_counts"]["videos"]) == (10, 11)
    assert first["passed"] and not second["passed"]
    assert "tree.tiles_parent" in second_out.split("checks newly failing:")[1].splitlines()[0]
    assert "nodes" in second_out and "4480 ->       4485" in second_out

    page = (folders[1] / "index.html").read_text()
    assert "FAILED" in page and "tree.tiles_parent" in page and "Since the previous report" in page
    index = (reports / "index.html").read_text()
    assert all(f"{f.name}/index.html" in index for f in folders)
    # report only: the broken video is still in the lake, not quarantined
    assert read_table(spark, lake, "videos").where("video_uid = 'vidbroken01'").count() == 1
