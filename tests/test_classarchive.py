"""The driver JVM's class archive (core/classarchive.py): the first start dumps its classes, a
later one maps them; a dump cut short is deleted, never mapped (a JVM mapping it crashes)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from pipelines.core import classarchive
from pipelines.core.session import delta_coordinates, jar_cache_file
from pipelines.synth import generate
from tests.processes import SPARK_FLAGS

ROOT = Path(__file__).resolve().parents[1]


def _explode(raw: Path, lake: Path, env: dict[str, str]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pipelines", "explode", "--input", str(raw), "--lake", str(lake)]
        + ["--log-file", str(lake.parent / "explode.log"), *SPARK_FLAGS],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]


def _exited(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not Path(f"/proc/{pid}").exists():
            return True
        time.sleep(0.5)
    return False


def _dead_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def test_the_first_start_dumps_its_classes_and_the_next_maps_them(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    env = {**os.environ, "XDG_CACHE_HOME": str(cache), "PYSPARK_PYTHON": sys.executable}
    # the JAR list of the real cache, so that the children do not resolve Delta through Ivy
    packages = delta_coordinates()
    known = jar_cache_file(packages)
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    if known.is_file():
        jar_cache_file(packages).parent.mkdir(parents=True)
        shutil.copy(known, jar_cache_file(packages))
    generate(tmp_path / "raw", videos=2, seed=1)
    folder = classarchive.archive_folder()
    key = classarchive.archive_key()

    _explode(tmp_path / "raw", tmp_path / "lake", env)
    [note] = folder.glob(f"{key}.*.dump.json")
    noted = json.loads(note.read_text())
    assert _exited(noted["jvm_pid"], 120), "the JVM did not exit"
    dump = note.with_suffix("")
    assert dump.stat().st_size > 10 * 2**20  # Spark's, Scala's and Delta's classes

    # a dump cut short (its JVM killed while writing) is deleted, never adopted
    aside = tmp_path / "whole.dump"
    shutil.move(dump, aside)
    cut = folder / f"{key}.{_dead_pid()}.dump"
    cut.write_bytes(aside.read_bytes()[: aside.stat().st_size // 2])
    Path(f"{cut}.json").write_text(json.dumps(noted))
    note.unlink()
    assert classarchive.java_options(None) is not None
    assert not cut.exists() and not Path(f"{cut}.json").exists()
    assert not (folder / f"{key}.jsa").exists()
    for where in (Path.cwd(), folder):  # the crashed throwaway JVM left no report
        assert list(where.glob("hs_err_pid*.log")) == []
    # that start noted a dump of its own to make; put the whole one back in its place
    for leftover in folder.glob(f"{key}.*.dump*"):
        leftover.unlink()
    shutil.move(aside, dump)
    note.write_text(json.dumps(noted))

    # the next start adopts the whole dump, which a JVM maps with that class path
    _explode(tmp_path / "raw", tmp_path / "lake", env)
    archive = folder / f"{key}.jsa"
    assert archive.is_file() and not dump.exists() and not note.exists()
    assert classarchive._maps(archive, noted["class_path"])
    assert list(folder.glob(f"{key}.*.dump*")) == []  # that start wrote no dump of its own
    options, dump_to_make = classarchive.java_options("-Dx=1")
    assert options == f"-Dx=1 -XX:SharedArchiveFile={archive}" and dump_to_make is None
    # the user's own sharing options are left alone
    assert classarchive.java_options("-Xshare:off") is None


def test_a_rewritten_jar_names_another_archive(tmp_path):
    # A reinstalled venv rewrites pyspark's JARs under the same names; the JVM then refuses the
    # old archive ("A jar file is not the one used while building the shared archive file") and
    # starts without one every time, unless the key changes with the JARs.
    jars = tmp_path / "jars"
    jars.mkdir()
    jar = jars / "spark-core.jar"
    jar.write_bytes(b"one")
    first = classarchive.archive_key(jars)
    assert classarchive.archive_key(jars) == first
    os.utime(jar, ns=(jar.stat().st_atime_ns, jar.stat().st_mtime_ns + 10**9))
    rewritten = classarchive.archive_key(jars)
    assert rewritten != first
    jar.write_bytes(b"longer")
    os.utime(jar, ns=(jar.stat().st_atime_ns, jar.stat().st_mtime_ns))
    assert classarchive.archive_key(jars) != rewritten
