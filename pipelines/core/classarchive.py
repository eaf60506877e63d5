"""A class-data archive for the driver JVM (Java's AppCDS), so that each start loads Spark's,
Scala's and Delta's classes from one mapped file instead of parsing and verifying them again.

The first local start without an archive asks its JVM to dump the classes it loaded when it
exits (-XX:ArchiveClassesAtExit) under a name of its own, and notes beside the dump the JVM's
pid and class path. A later start adopts a dump once that JVM has exited, and only after a
throwaway JVM (`java -Xshare:on ... -version`, about 0.2 s) mapped it with that class path: a
dump cut short (its JVM killed while writing) would crash the JVM that maps it, so it is
deleted instead. Measured on the 2-core machine, a cold `a100m validate` of 10 videos: 31-32 s
without, 25-27 s with.

The archive is named by what it depends on (the java binary, pyspark's version, its JAR folder
and each JAR's size and modification time), so another JDK, pyspark or reinstall never maps a
stale one; a class path that differs at run time makes the
JVM start without it (-Xshare:auto, the default), never fail. Under spark-submit the JVM is
already running: nothing to do.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pyspark

ARCHIVE_OPTION = "-XX:SharedArchiveFile="
DUMP_OPTION = "-XX:ArchiveClassesAtExit="
# A dump without its note this old was made by a start that failed before it could note it.
ORPHAN_SECONDS = 24 * 3600


def archive_folder() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "a100m" / "jvm"


def _java() -> Path | None:
    """The java binary pyspark starts (JAVA_HOME's, else the one on PATH)."""
    java_home = os.environ.get("JAVA_HOME")
    java = Path(java_home) / "bin" / "java" if java_home else shutil.which("java")
    return Path(java).resolve() if java else None


def archive_key(jars: Path | None = None) -> str:
    """What the archive depends on: the java that runs it, pyspark's version and its JARs, each
    by name, size and modification time (the JVM refuses an archive whose JARs were rewritten,
    as reinstalling a venv does, and would then start without one on every run)."""
    java = _java()
    jars = jars if jars is not None else Path(pyspark.__file__).parent / "jars"
    stamps = []
    for jar in sorted(jars.glob("*.jar")):
        try:
            stat = jar.stat()
        except OSError:
            continue
        stamps.append(f"{jar.name}:{stat.st_size}:{stat.st_mtime_ns}")
    parts = [
        str(java),
        str(java.stat().st_mtime_ns) if java and java.exists() else "",
        pyspark.__version__,
        str(jars.resolve()),
        *stamps,
    ]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _maps(archive: Path, class_path: str) -> bool:
    """Whether a JVM maps the archive with this class path (it exits 0 only if it could)."""
    java = _java()
    if java is None:
        return False
    try:
        done = subprocess.run(
            # a crash's report would land in the working folder (hs_err_pid*.log)
            [str(java), "-XX:ErrorFile=/dev/null", "-Xshare:on", ARCHIVE_OPTION + str(archive)]
            + ["-cp", class_path, "-version"],
            capture_output=True,
            cwd=archive.parent,
            timeout=60,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def _adopt_finished_dump(folder: Path, key: str) -> Path | None:
    """The archive; first, a dump whose JVM has exited becomes it if a JVM can map it."""
    archive = folder / f"{key}.jsa"
    for note in sorted(folder.glob(f"{key}.*.dump.json")):
        dump = note.with_suffix("")
        try:
            noted = json.loads(note.read_text())
            if _running(int(noted["jvm_pid"])):
                continue
            usable = dump.is_file() and not archive.is_file() and _maps(dump, noted["class_path"])
            if usable:
                dump.replace(archive)  # atomic: a concurrent start maps the old file or this
            dump.unlink(missing_ok=True)
            note.unlink(missing_ok=True)
        except (OSError, ValueError, KeyError):
            continue
    for orphan in folder.glob(f"{key}.*.dump"):  # its start failed before noting it
        try:
            if time.time() - orphan.stat().st_mtime > ORPHAN_SECONDS:
                orphan.unlink()
        except OSError:
            continue
    return archive if archive.is_file() else None


def java_options(existing: str | None) -> tuple[str, Path | None] | None:
    """The driver's java options with the archive, or the dump that makes it, added (and that
    dump's path, to note_dump once the JVM runs); None when nothing is to be added: the user
    chose their own sharing options, or the cache folder cannot be written."""
    if existing and ("SharedArchiveFile" in existing or "-Xshare" in existing):
        return None
    folder = archive_folder()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    if not os.access(folder, os.W_OK):
        return None
    key = archive_key()
    archive = _adopt_finished_dump(folder, key)
    dump = None if archive else folder / f"{key}.{os.getpid()}.dump"
    option = ARCHIVE_OPTION + str(archive) if archive else DUMP_OPTION + str(dump)
    return (f"{existing} {option}" if existing else option), dump


def note_dump(dump: Path, jvm_pid: int, class_path: str) -> None:
    """Record which JVM writes the dump (at its exit) and the class path it was started with."""
    try:
        Path(f"{dump}.json").write_text(json.dumps({"jvm_pid": jvm_pid, "class_path": class_path}))
    except OSError:
        pass  # without the note the dump is never adopted: a start as without an archive
