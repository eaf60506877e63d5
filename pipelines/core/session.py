"""The one function that builds a SparkSession with Delta Lake enabled, from Settings."""

from __future__ import annotations

import os
import sys
from importlib.metadata import version

import pyspark
from pyspark import SparkConf, SparkContext
from pyspark.sql import SparkSession

from pipelines.core.settings import Settings

DELTA_SQL_EXTENSION = "io.delta.sql.DeltaSparkSessionExtension"
DELTA_CATALOG = "org.apache.spark.sql.delta.catalog.DeltaCatalog"


def delta_coordinates() -> str:
    """Maven coordinates of the Delta JARs matching the installed pyspark and delta-spark."""
    spark_major_minor = ".".join(pyspark.__version__.split(".")[:2])
    return f"io.delta:delta-spark_{spark_major_minor}_2.13:{version('delta-spark')}"


def under_spark_submit() -> bool:
    """True when this Python process was launched by spark-submit (it owns the JVM and its conf)."""
    return "PYSPARK_GATEWAY_PORT" in os.environ


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
    }
    if settings.delta_jars:
        conf["spark.jars"] = settings.delta_jars
    elif settings.delta_packages:
        packages = (
            delta_coordinates() if settings.delta_packages == "auto" else settings.delta_packages
        )
        conf["spark.jars.packages"] = packages
    return conf


def build_session(settings: Settings) -> SparkSession:
    """Create (or join) the SparkSession; under spark-submit, its own settings win."""
    wanted = session_conf(settings)
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
    builder = SparkSession.builder
    for key, value in wanted.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel(settings.log_level)
    return spark
