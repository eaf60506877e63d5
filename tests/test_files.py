"""The seam for files and engines (pipelines/core/files.py) on a real local folder through the
real local Spark session, and its one-line refusal of a Spark Connect session (a client built
without a server: nothing is sent until it is used, and the seam refuses before using it)."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pipelines.core import files
from pipelines.core.errors import (
    ClassicSessionRequiredError,
    LakeStateError,
    MissingTableError,
    NoFileSystemError,
    UsageError,
)
from pipelines.core.lake import check_lake_root, delete_path
from pipelines.core.runs import lake_tables


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """root/top.parquet, root/a/b.txt, root/a/deep/c.txt, root/a/_hidden/d.txt"""
    root = tmp_path / "root"
    for rel, text in {
        "top.parquet": "PAR1",
        "a/b.txt": "bee",
        "a/deep/c.txt": "sea and more",
        "a/_hidden/d.txt": "d",
    }.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def test_paths_are_qualified_by_the_local_file_system(spark, tree):
    assert files.is_classic_session(spark)
    assert files.qualify(spark, str(tree)) == f"file:{tree}"
    assert files.scheme(spark, str(tree)) == "file"


def test_status_exists_and_listings_match_the_folder_on_disk(spark, tree):
    assert files.exists(spark, str(tree / "a" / "b.txt"))
    assert not files.exists(spark, str(tree / "nothing"))
    assert files.status(spark, str(tree / "nothing")) is None

    folder = files.status(spark, str(tree / "a"))
    assert folder is not None and folder.is_dir and folder.name == "a"
    leaf = files.status(spark, str(tree / "a" / "deep" / "c.txt"))
    assert leaf is not None and not leaf.is_dir
    assert (leaf.uri, leaf.name, leaf.size_bytes) == (f"file:{tree}/a/deep/c.txt", "c.txt", 12)
    on_disk = os.stat(tree / "a" / "deep" / "c.txt").st_mtime
    assert leaf.modified_at.tzinfo is UTC
    assert abs(leaf.modified_at.timestamp() - on_disk) < 1

    assert sorted((s.name, s.is_dir) for s in files.list_folder(spark, str(tree))) == [
        ("a", True),
        ("top.parquet", False),
    ]
    listed = {s.uri: s.size_bytes for s in files.list_files(spark, str(tree))}
    walked = {
        f"file:{Path(folder) / name}": (Path(folder) / name).stat().st_size
        for folder, _, names in os.walk(tree)
        for name in names
        if not name.startswith(".")  # the local file system's .crc checksums: none written here
    }
    assert listed == walked
    assert files.sizes(spark, sorted(listed)) == [listed[uri] for uri in sorted(listed)]
    assert files.sizes(spark, []) == []


def test_glob_names_what_matches_and_nothing_for_no_match(spark, tree):
    matched = files.glob(spark, f"{tree}/a/*/*.txt")
    assert sorted(s.name for s in matched) == ["c.txt", "d.txt"]
    assert [s.is_dir for s in files.glob(spark, str(tree / "a"))] == [True]
    assert files.glob(spark, str(tree / "no-such-file")) == []
    assert files.glob(spark, f"{tree}/*.json") == []


def test_write_read_rename_make_folders_and_delete(spark, tmp_path):
    note = tmp_path / "new" / "folder" / "note.txt"
    files.write_text(spark, str(note), "première ligne\nsecond line\n")
    assert note.read_text(encoding="utf-8") == "première ligne\nsecond line\n"
    assert files.read_text(spark, str(note)) == "première ligne\nsecond line\n"
    files.write_text(spark, str(note), "replaced")
    assert files.read_text(spark, str(note)) == "replaced"

    moved = tmp_path / "new" / "moved.txt"
    files.rename(spark, str(note), str(moved))
    assert not note.exists() and moved.read_text() == "replaced"

    files.make_folders(spark, str(tmp_path / "x" / "y" / "z"))
    files.make_folders(spark, str(tmp_path / "x" / "y" / "z"))  # already there: nothing
    assert (tmp_path / "x" / "y" / "z").is_dir()

    assert files.delete(spark, str(tmp_path / "new")) is True
    assert not (tmp_path / "new").exists()
    assert files.delete(spark, str(tmp_path / "new")) is False


def test_a_scheme_without_a_file_system_is_one_line(spark):
    with pytest.raises(NoFileSystemError) as refused:
        files.glob(spark, "gs://no-such-bucket/x")
    assert str(refused.value) == (
        "gs://no-such-bucket/x: Spark has no file system for gs://: add its connector JAR and "
        "credentials (conf/cluster.yaml lists them per scheme)"
    )
    assert isinstance(refused.value, UsageError)


def test_the_lake_helpers_go_through_the_seam(spark, tmp_path):
    lake = tmp_path / "lake"
    with pytest.raises(MissingTableError):
        lake_tables(spark, str(lake))
    (lake / "nodes" / "_delta_log").mkdir(parents=True)
    (lake / "_runs" / "_delta_log").mkdir(parents=True)
    (lake / "not_a_table").mkdir()
    (lake / "stray.txt").write_text("")
    assert lake_tables(spark, str(lake)) == ["_runs", "nodes"]

    delete_path(spark, str(lake / "nodes"))
    delete_path(spark, str(lake / "nodes"))  # gone already: nothing
    assert lake_tables(spark, str(lake)) == ["_runs"]

    a_file = tmp_path / "lake.txt"
    a_file.write_text("")
    with pytest.raises(LakeStateError, match="is a file, not a folder"):
        check_lake_root(spark, str(a_file))
    assert files.catalog_entry(spark, "default", "no_such_table_here") is None


@pytest.fixture
def connect_session():
    """A Spark Connect client of a port no server listens on: built without a round trip."""
    from pyspark.sql.connect.session import SparkSession as ConnectSession

    session = ConnectSession(connection="sc://127.0.0.1:1")
    yield session
    session.release_session_on_close = False  # no server to release it on
    session.stop()


def test_a_spark_connect_session_is_refused_in_one_line(connect_session, tmp_path):
    started = datetime.now(UTC)
    assert not files.is_classic_session(connect_session)
    path = str(tmp_path)
    calls = {
        "exists": lambda: files.exists(connect_session, path),
        "list_files": lambda: files.list_files(connect_session, path),
        "glob": lambda: files.glob(connect_session, path),
        "delete": lambda: files.delete(connect_session, path),
        "write_text": lambda: files.write_text(connect_session, f"{path}/x", "x"),
        "catalog_entry": lambda: files.catalog_entry(connect_session, "a100m", "nodes"),
        "start_connect_service": lambda: files.start_connect_service(
            connect_session, "127.0.0.1", 1
        ),
    }
    messages = {}
    for name, call in calls.items():
        with pytest.raises(ClassicSessionRequiredError) as refused:
            call()
        messages[name] = str(refused.value)
        assert "\n" not in messages[name], name
        assert isinstance(refused.value, UsageError)  # exit 2: the caller's kind of session
    assert messages["list_files"] == (
        f"cannot list the files under {path} through a Spark Connect session: it needs the "
        "classic Spark session's Hadoop file system; run it where the Spark driver runs (a "
        "classic SparkSession, as a100m builds), not over sc://"
    )
    assert "session catalog" in messages["catalog_entry"]
    assert "Spark Connect service" in messages["start_connect_service"]
    with pytest.raises(ClassicSessionRequiredError, match="cannot look for"):
        lake_tables(connect_session, path)
    # refused before any round trip to the (absent) server, which would retry for seconds
    assert datetime.now(UTC) - started < timedelta(seconds=5)
