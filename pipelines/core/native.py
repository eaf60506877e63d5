"""The project's own JVM functions (jvm/src): built from source with the JDK's javac, registered
with Spark, shipped to a cluster with --jars (core/package.py).

Two functions, where Spark's built-ins cost a shuffle or a regex walk:
- a100m_child_counts(node_ids, parent_ids): per node of one video, the nodes naming it as their
  parent (explode's child_count without a group-by joined back, ingest/flatten.py);
- a100m_word_count(text): regexp_count(text, '(?U)\\S+') in one pass without building the
  matches (the word counts of stats, stats/verbs.py).

The JAR is built lazily, once per source: into the cache folder (~/.cache/a100m/functions), keyed
by the hash of the Java sources, javac's version and Spark's, under a lock, then reused. Without a
compiler (no javac, or A100M_JAVAC=none), or where the classes cannot be loaded (spark-submit
without the JAR in --jars), the pipeline uses the built-in forms and says so once; both forms give
the same values (tests/test_jvm.py).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import shutil
import subprocess
import tempfile
import weakref
from pathlib import Path

import pyspark
from pyspark.sql import Column, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

log = logging.getLogger(__name__)

JAR_NAME = "a100m-functions.jar"
JAVAC_ENV = "A100M_JAVAC"  # a javac to use, or "none": build nothing, use the built-in forms
FUNCTIONS = {
    "a100m_child_counts": ("a100m.ChildCounts", T.ArrayType(T.IntegerType(), False)),
    "a100m_word_count": ("a100m.WordCount", T.IntegerType()),
}
# The JARs javac compiles against: Spark's Java UDF interfaces and Scala's Seq.
COMPILE_JARS = ("spark-sql-api_", "scala-library-")

_said: set[str] = set()  # the fallback reasons already logged (once per process each)
_ready: weakref.WeakKeyDictionary[SparkSession, bool] = weakref.WeakKeyDictionary()


def source_folder() -> Path | None:
    """jvm/src of the checkout, or None where the code runs from a zip (a cluster's driver)."""
    folder = Path(__file__).resolve().parents[2] / "jvm" / "src"
    return folder if folder.is_dir() else None


def javac() -> str | None:
    """The compiler to use: A100M_JAVAC, else JAVA_HOME's, else javac on the PATH; None if none
    (or A100M_JAVAC=none)."""
    chosen = os.environ.get(JAVAC_ENV)
    if chosen:
        return None if chosen.lower() == "none" else chosen
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "javac").is_file():
        return str(Path(home) / "bin" / "javac")
    return shutil.which("javac")


def _spark_jars() -> list[Path]:
    folder = Path(pyspark.__file__).resolve().parent / "jars"
    return sorted(j for j in folder.glob("*.jar") if j.name.startswith(COMPILE_JARS))


def _cache_folder() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "a100m" / "functions"


def source_key(sources: Path, compiler: str) -> str:
    """What the JAR is built from: every Java source (path and bytes), the javac, Spark's version."""
    digest = hashlib.sha256()
    for path in sorted(sources.rglob("*.java")):
        digest.update(str(path.relative_to(sources)).encode() + b"\0" + path.read_bytes() + b"\0")
    # javac by its real path and file (running `javac -version` costs a JVM start per session)
    real = Path(shutil.which(compiler) or compiler).resolve()
    stat = real.stat()
    digest.update(f"{real}\0{stat.st_size}\0{stat.st_mtime_ns}\0{pyspark.__version__}".encode())
    return digest.hexdigest()[:16]


def build_jar(out: Path | None = None) -> Path | None:
    """The JAR of jvm/src: from the cache when built before, else compiled now (a few seconds).
    out: copy it there as well (the folder spark-submit's --jars takes it from). None, and the
    reason said once, when it cannot be built."""
    sources, compiler = source_folder(), javac()
    if sources is None or compiler is None:
        _fallback("no Java compiler" if sources else "no jvm/ sources beside the code")
        return None
    try:
        jar = _cached_build(sources, compiler)
    except (OSError, subprocess.CalledProcessError) as exc:
        detail = getattr(exc, "stderr", None) or exc
        _fallback(f"building jvm/ failed: {str(detail).strip()[-2000:]}")
        return None
    if out is not None:
        Path(out).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(jar, Path(out) / JAR_NAME)
        return Path(out) / JAR_NAME
    return jar


def _cached_build(sources: Path, compiler: str) -> Path:
    cache = _cache_folder()
    cache.mkdir(parents=True, exist_ok=True)
    jar = cache / f"{source_key(sources, compiler)}.jar"
    if jar.is_file():
        return jar
    with open(jar.with_suffix(".lock"), "a") as lock:  # two first starts at once build once
        fcntl.flock(lock, fcntl.LOCK_EX)
        if jar.is_file():
            return jar
        with tempfile.TemporaryDirectory(dir=cache) as work:
            classes = Path(work) / "classes"
            classpath = os.pathsep.join(str(j) for j in _spark_jars())
            java = sorted(str(p) for p in sources.rglob("*.java"))
            subprocess.run(
                [compiler, "--release", "17", "-nowarn", "-cp", classpath,
                 "-d", str(classes), *java],
                check=True, capture_output=True, text=True,
            )  # fmt: skip
            jar_tool = str(Path(compiler).with_name("jar"))
            if not Path(jar_tool).is_file():
                jar_tool = shutil.which("jar") or "jar"
            partial = Path(work) / JAR_NAME
            subprocess.run(
                [jar_tool, "--create", "--file", str(partial), "-C", str(classes), "."],
                check=True, capture_output=True, text=True,
            )  # fmt: skip
            partial.replace(jar)  # atomic: a reader finds the whole JAR or none
    log.info("built the project's JVM functions into %s", jar)
    return jar


def _fallback(reason: str) -> None:
    if reason not in _said:
        _said.add(reason)
        log.warning(
            "the project's JVM functions are not available (%s): using Spark's built-in forms "
            "(the same values; explode shuffles for child_count, stats' word counts use a regex)",
            reason,
        )


def register(spark: SparkSession) -> bool:
    """Register the functions in this session; False (and why, once) where the classes cannot
    be loaded. The JAR must be on the classpath already (spark.jars, or --jars)."""
    if javac() is None and JAVAC_ENV in os.environ:
        _fallback(f"{JAVAC_ENV}={os.environ[JAVAC_ENV]}")
        _ready[spark] = False
        return False
    try:
        for name, (cls, returns) in FUNCTIONS.items():
            spark.udf.registerJavaFunction(name, cls, returns)
    except Exception as exc:  # the class is not on the classpath: a message from the JVM
        _fallback(f"could not load them: {str(exc).splitlines()[0][:300]}")
        _ready[spark] = False
        return False
    log.info("registered the project's JVM functions: %s", ", ".join(FUNCTIONS))
    _ready[spark] = True
    return True


def available(spark: SparkSession) -> bool:
    """Whether this session has the functions (registered at its start by core/session.py)."""
    found = _ready.get(spark)
    if found is None:
        found = register(spark)
    return found


def child_counts(node_ids: Column, parent_ids: Column) -> Column:
    return F.call_function("a100m_child_counts", node_ids, parent_ids)


def word_count(text: Column) -> Column:
    return F.call_function("a100m_word_count", text)


@contextlib.contextmanager
def forced_off(spark: SparkSession):  # type: ignore[no-untyped-def]
    """Within it, the session uses the built-in forms (the tests compare both)."""
    before = _ready.get(spark)
    _ready[spark] = False
    try:
        yield
    finally:
        if before is None:
            _ready.pop(spark, None)
        else:
            _ready[spark] = before


def is_ours(jar: str) -> bool:
    """Whether a spark.jars entry is a JAR of this module's cache (not one Ivy resolved)."""
    return Path(jar.removeprefix("file://").removeprefix("file:")).parent == _cache_folder()
