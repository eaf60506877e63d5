"""Errors by type: Delta's and Spark's error conditions recognised on real errors of real tables,
and the exit-code table of docs/reference.md, one real case per code."""

from __future__ import annotations

from pathlib import Path

from delta.tables import DeltaTable

from pipelines.cli import (
    EXIT_BUSY,
    EXIT_DATA,
    EXIT_INTERNAL,
    EXIT_USAGE,
    FLAGS,
    exit_code_for,
    flag_text,
    main,
)
from pipelines.core.errors import (
    LakeBusyError,
    UsageError,
    is_commit_conflict,
    lake_state_problem,
    spark_condition,
)
from pipelines.trainset.options import Query, parse_split
from tests.rawdata import commit_newer_protocol
from tests.test_house import cli_flags


def _raised(action) -> BaseException:
    try:
        action()
    except Exception as exc:
        return exc
    raise AssertionError("no error")


def _newer_protocol_table(spark, path: str) -> None:
    """A Delta table whose last commit asks for a reader feature no Delta Lake knows."""
    spark.range(3).write.format("delta").save(path)
    commit_newer_protocol(Path(path), 1)


def test_a_newer_protocol_is_recognised_by_its_condition(spark, tmp_path):
    table = str(tmp_path / "t")
    _newer_protocol_table(spark, table)
    # Delta's DeltaUnsupportedTableFeatureException reaches Python unconverted (a Py4J error):
    # its condition is read from the JVM exception, not from the message.
    exc = _raised(lambda: spark.read.format("delta").load(table).count())
    assert spark_condition(exc) == ("DELTA_UNSUPPORTED_FEATURES_FOR_READ", "56038")
    assert "newer Delta Lake" in (lake_state_problem(exc) or "")
    assert exit_code_for(exc) == EXIT_DATA and not is_commit_conflict(exc)


def test_a_folder_that_is_not_a_delta_table_is_recognised_by_its_condition(spark, tmp_path):
    plain = str(tmp_path / "plain")
    spark.range(3).write.parquet(plain)
    exc = _raised(lambda: DeltaTable.forPath(spark, plain))
    assert spark_condition(exc)[0] == "DELTA_MISSING_DELTA_TABLE"
    assert "not a Delta table" in (lake_state_problem(exc) or "")
    assert exit_code_for(exc) == EXIT_DATA


def test_other_errors_have_no_condition_and_are_internal(spark, tmp_path):
    # a path that does not exist is Spark's PATH_NOT_FOUND: not a state of the lake
    exc = _raised(lambda: spark.read.format("delta").load(str(tmp_path / "none")).count())
    assert spark_condition(exc)[0] == "PATH_NOT_FOUND" and lake_state_problem(exc) is None
    assert exit_code_for(exc) == EXIT_INTERNAL
    assert spark_condition(ValueError("DELTA_MISSING_DELTA_TABLE")) == (None, None)
    assert exit_code_for(RuntimeError("a bug")) == EXIT_INTERNAL


def test_a_busy_lake_exits_75():
    # the real case, two explodes at once in two processes, is test_crash's
    assert exit_code_for(LakeBusyError("lake L is busy")) == EXIT_BUSY == 75


def test_the_same_usage_mistake_exits_2_in_every_command(spark, tmp_path, capsys):
    lake = str(tmp_path / "lake")
    out = str(tmp_path / "out")
    assert main(["sql", "SELECT 1", "--format", "coco", "--lake", lake]) == EXIT_USAGE
    assert main(["export", "--format", "coco", "--lake", lake, "--out", out]) == EXIT_USAGE
    capsys.readouterr()


def test_a_read_only_command_does_not_claim_a_rollback(spark, tmp_path, capsys):
    lake = str(tmp_path / "lake")
    table = tmp_path / "lake" / "videos"
    _newer_protocol_table(spark, str(table))
    code = main(["sql", "SELECT count(*) FROM videos", "--lake", lake])
    err = capsys.readouterr().err
    assert code == EXIT_DATA, err
    assert "rolled back" not in err


def test_an_option_is_named_as_python_spells_it_and_as_the_command_line_does():
    refused = _raised(lambda: Query(min_duration=5.0, max_duration=2.0))
    assert str(refused) == "min_duration=5 is above max_duration=2: nothing could match"
    assert (
        refused.render(flag_text)
        == "--min-duration 5 is above --max-duration 2: nothing could match"
    )
    bad_split = _raised(lambda: parse_split("train=0.5"))
    assert str(bad_split) == "split='train=0.5': split fractions sum to 0.5, not 1"
    assert bad_split.render(flag_text) == "--split train=0.5: split fractions sum to 0.5, not 1"
    busy = LakeBusyError.naming("lake {lake} is busy ({wait_seconds=SECONDS})", lake="/l/{full}")
    # a value's braces are its own, never an option
    assert str(busy) == "lake /l/{full} is busy (wait_seconds=SECONDS)"
    assert busy.render(flag_text) == "lake /l/{full} is busy (--wait SECONDS)"
    switch = UsageError.about("full", "nothing to re-validate")
    assert (str(switch), switch.render(flag_text)) == (
        "full: nothing to re-validate",
        "--full: nothing to re-validate",
    )
    plain = UsageError("no {options} here")
    assert plain.render(flag_text) == str(plain) == "no {options} here"


def test_every_renamed_option_is_a_flag_of_the_command_line():
    flags = cli_flags()
    assert {flag for flag in FLAGS.values() if flag.startswith("--")} <= flags
