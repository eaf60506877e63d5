"""The one function that builds a SparkSession with Delta Lake enabled, from Settings."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import sys
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path
from typing import Any, cast

import pyspark
from pyspark import SparkConf, SparkContext
from pyspark.sql import SparkSession

from pipelines.core import classarchive, native
from pipelines.core.console import under_spark_submit
from pipelines.core.errors import UsageError
from pipelines.core.objectstore import is_s3, s3_coordinates
from pipelines.core.objectstore import session_conf as object_store_conf
from pipelines.core.settings import Settings

log = logging.getLogger(__name__)

DELTA_SQL_EXTENSION = "io.delta.sql.DeltaSparkSessionExtension"
DELTA_CATALOG = "org.apache.spark.sql.delta.catalog.DeltaCatalog"
DRIVER_JAVA_OPTIONS = "spark.driver.extraJavaOptions"


def delta_coordinates() -> str:
    """Maven coordinates of the Delta JARs matching the installed pyspark and delta-spark."""
    spark_major_minor = ".".join(pyspark.__version__.split(".")[:2])
    return f"io.delta:delta-spark_{spark_major_minor}_2.13:{version('delta-spark')}"


def session_conf(settings: Settings) -> dict[str, str]:
    """Every Spark property the project sets, before anything spark-submit already provides."""
    conf = {
        "spark.master": settings.master,
        "spark.app.name": settings.app_name,
        "spark.sql.extensions": DELTA_SQL_EXTENSION,
        "spark.sql.catalog.spark_catalog": DELTA_CATALOG,
        # The check frames partition nodes by video once; joins on (video_uid, x) then reuse
        # that partitioning instead of shuffling the nodes again.
        "spark.sql.requireAllClusterKeysForCoPartition": "false",
        **settings.spark_conf,
        **object_store_conf(settings),
    }
    if settings.delta_jars:
        conf["spark.jars"] = settings.delta_jars
    elif settings.delta_packages:
        packages = (
            delta_coordinates() if settings.delta_packages == "auto" else settings.delta_packages
        )
        if settings.delta_packages == "auto" and is_s3(settings.lake):
            packages += f",{s3_coordinates()}"  # S3A and its AWS SDK bundle
        conf["spark.jars.packages"] = packages
    return conf


def jar_cache_file(packages: str) -> Path:
    """Where the JARs Ivy resolved for these coordinates are listed, once resolved."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    digest = hashlib.sha256(packages.encode()).hexdigest()[:16]
    return Path(base) / "a100m" / "jars" / f"{digest}.txt"


def cached_jars(packages: str) -> str | None:
    """The local JARs resolved for packages before, when every one of them is still there."""
    try:
        lines = jar_cache_file(packages).read_text().splitlines()
    except OSError:
        return None
    if not lines or lines[0] != packages:
        return None
    jars = [line for line in lines[1:] if line and not native.is_ours(line)]
    if not jars or not all(Path(j.removeprefix("file://")).is_file() for j in jars):
        return None
    return ",".join(jars)


def remember_jars(packages: str, spark: SparkSession) -> None:
    """List the JARs Ivy resolved for packages (spark-submit puts them in spark.jars), so the next
    start loads them directly instead of resolving again (3-7 s on 2 cores)."""
    resolved = spark.sparkContext.getConf().get("spark.jars", "")
    jars = [j for j in resolved.split(",") if j and not native.is_ours(j)]
    if not jars:
        return
    target = jar_cache_file(packages)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(f".{os.getpid()}.tmp")
        partial.write_text("\n".join([packages, *jars]) + "\n")
        partial.replace(target)  # atomic: a concurrent start reads the old list or the new one
    except OSError as exc:  # a read-only home: resolve every time, as before
        log.info("could not cache the resolved JAR list at %s: %s", target, exc)


@contextlib.contextmanager
def resolving_alone(packages: str) -> Iterator[None]:
    """Hold the lock beside the JAR list while Ivy resolves packages: two first starts at once
    (two test workers, two cron jobs on a fresh machine) write the same Ivy cache files, and one
    of them reads the other's half-written POM and fails. The second waits, then finds the list."""
    lock_path = jar_cache_file(packages).with_suffix(".lock")
    try:
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        lock = open(lock_path, "a")  # noqa: SIM115 - held until the session is up
    except OSError:  # a read-only home: resolve unguarded, as before
        yield
        return
    with lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _launch_gateway(conf: dict[str, str], jvm_output: Path) -> None:
    """Start the JVM with its stdout and stderr (Spark's log4j console, Ivy's report, Python
    workers' stderr) appended to jvm_output instead of the terminal.

    The one py4j use outside core/files.py (tests/test_house.py allows it): SparkContext starts the
    JVM with the terminal as its output (it passes launch_gateway no popen_kwargs), so this
    launches the gateway and stores it where SparkContext._ensure_initialized would have."""
    from pyspark.java_gateway import launch_gateway

    with SparkContext._lock:
        if SparkContext._gateway is not None:
            return
        jvm_output.parent.mkdir(parents=True, exist_ok=True)
        with open(jvm_output, "ab") as sink:
            # pyspark leaves launch_gateway unannotated
            gateway = cast(Any, launch_gateway)(
                SparkConf(loadDefaults=False).setAll(list(conf.items())),
                popen_kwargs={"stdout": sink, "stderr": sink},
            )
        SparkContext._gateway = gateway
        SparkContext._jvm = gateway.jvm


def _ivy_failed(jvm_output: Path | None) -> bool:
    """Whether the JVM's output says Ivy could not resolve a dependency (True when unknown)."""
    if jvm_output is None:
        return True
    try:
        tail = jvm_output.read_bytes()[-20000:].decode("utf-8", "replace").lower()
    except OSError:
        return True
    return "unresolved dependenc" in tail or "download failed" in tail


def build_session(settings: Settings, jvm_output: Path | None = None) -> SparkSession:
    """Create (or join) the SparkSession; under spark-submit, its own settings win.

    Delta's Maven coordinates are resolved through Ivy once; later starts load the JARs found
    then (cached_jars). jvm_output: a file for the JVM's own output (the run's log file)."""
    wanted = session_conf(settings)
    packages = wanted.get("spark.jars.packages")
    resolving = bool(packages and not under_spark_submit() and cached_jars(packages) is None)
    guard = resolving_alone(packages) if resolving and packages else contextlib.nullcontext()
    with guard:
        return _start(settings, wanted, packages, jvm_output)


def _start(
    settings: Settings, wanted: dict[str, str], packages: str | None, jvm_output: Path | None
) -> SparkSession:
    resolving = False
    dump = None  # the class archive this JVM writes at its exit (core/classarchive.py)
    if packages and not under_spark_submit():
        if (jars := cached_jars(packages)) is not None:  # found now, or by the start we waited for
            del wanted["spark.jars.packages"]
            wanted["spark.jars"] = jars
        else:
            resolving = True
    if under_spark_submit():
        # The JVM is already running with spark-submit's conf; JARs and master cannot change now.
        # Join its gateway first: only then does SparkConf() load spark-submit's properties.
        SparkContext._ensure_initialized()
        existing = SparkConf()
        wanted = {
            k: v
            for k, v in wanted.items()
            if not existing.contains(k) and k not in ("spark.jars", "spark.jars.packages")
        }
    else:
        # Python workers (createDataFrame from rows) must run this interpreter and its packages.
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        if (functions := native.build_jar()) is not None:  # jvm/src, built once per source
            wanted["spark.jars"] = ",".join(
                j for j in (wanted.get("spark.jars"), str(functions)) if j
            )
        if settings.class_archive and SparkContext._gateway is None:
            archived = classarchive.java_options(wanted.get(DRIVER_JAVA_OPTIONS))
            if archived is not None:
                wanted[DRIVER_JAVA_OPTIONS], dump = archived
    try:
        if jvm_output is not None and not under_spark_submit():
            _launch_gateway(wanted, jvm_output)
        builder = SparkSession.builder
        for key, value in wanted.items():
            builder = builder.config(key, value)
        spark = builder.getOrCreate()
    except Exception as exc:
        if resolving and "JAVA_GATEWAY_EXITED" in str(exc) and _ivy_failed(jvm_output):
            raise UsageError(
                f"Spark did not start: resolving the Delta JARs {packages} from Maven Central "
                "failed (offline, or a proxy?) and no earlier resolution is cached; set "
                "spark.delta_jars to local JAR paths, or run once with network access"
                + (f" (Ivy's report is in {jvm_output})" if jvm_output else "")
            ) from exc
        raise
    if resolving:
        assert packages  # resolving is only set when packages is given
        remember_jars(packages, spark)
    if dump is not None:
        jvm = cast(Any, spark.sparkContext)._jvm
        classarchive.note_dump(
            dump, int(jvm.ProcessHandle.current().pid()), jvm.System.getProperty("java.class.path")
        )
    spark.sparkContext.setLogLevel(settings.log_level)
    native.register(spark)  # or the built-in forms, said once (under spark-submit: from --jars)
    return spark
