"""Airflow DAG example: the Action100M pipeline every night, then its data-quality report.

Two spark-submit tasks, in order:

1. ``a100m_run``: ``jobs/run.py`` (explode, validate, stats) over the raw folder, into the lake;
   new shards are appended, files already ingested are skipped, so a nightly re-run is cheap.
2. ``a100m_report``: ``jobs/report.py``, the data-quality report of the lake.

The report also runs when the first task failed (trigger rule ``all_done``): a failed run leaves
the lake as it was (every table rolled back), and the night's report is what shows why. A task
fails when its job exits non-zero (for the report: 1 a fail-severity check failed, 2 a usage
mistake, 3 anomalies only, 70 it could not run, 75 another run held the lake; the table is in
docs/reference.md), which is the alert. Only the run is retried (once, 15 minutes later);
the report is not: a second report would judge the same lake again and alert twice.

Setup, on the Airflow side:

- the Apache Spark provider (``apache-airflow-providers-apache-spark``) and a ``spark_default``
  connection pointing at the cluster's master (``spark://HOST:7077``, ``yarn``, ...);
- a checkout of this repository on the machine that runs spark-submit, with the zip built by
  ``a100m package`` (``dist/a100m-pipelines.zip``, shipped with ``--py-files``);
- Airflow Variables (or environment variables of the same name on the scheduler, as defaults):
  ``A100M_HOME`` (the checkout), ``A100M_RAW`` (the raw Parquet folder), ``A100M_LAKE`` (the lake
  root), ``A100M_REPORT`` (validation Data Docs) and ``A100M_REPORTS`` (the nightly reports).

The Variables are read when a task runs (Jinja templates), not each time the scheduler parses this
file. The Delta coordinates below must equal ``pipelines.session.delta_coordinates()`` (the
``delta-spark`` pin in pyproject.toml); tests/test_dag.py checks it without importing Airflow.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator

try:
    from airflow.sdk import DAG  # Airflow 3
except ImportError:  # Airflow 2
    from airflow import DAG

DELTA_PACKAGES = "io.delta:delta-spark_4.1_2.13:4.4.0"
DELTA_CONF = {
    "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
    "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
}


def setting(name: str, default: str) -> str:
    """The Airflow Variable `name` at run time; else the environment variable `name`, else default."""
    fallback = os.environ.get(name, default)
    return f"{{{{ var.value.get('{name}', '{fallback}') }}}}"


HOME = setting("A100M_HOME", "/srv/a100m")
RAW = setting("A100M_RAW", "/data/raw/action100m")
LAKE = setting("A100M_LAKE", "/data/lake")
REPORT = setting("A100M_REPORT", "/data/report")
REPORTS = setting("A100M_REPORTS", "/data/reports")

with DAG(
    dag_id="a100m_nightly",
    description="Action100M: explode + validate + stats, then the data-quality report",
    schedule="0 2 * * *",
    start_date=datetime(2026, 1, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,  # two runs must never write the lake at the same time
    default_args={"retries": 1, "retry_delay": timedelta(minutes=15)},
    tags=["action100m", "spark", "delta"],
) as dag:
    run = SparkSubmitOperator(
        task_id="a100m_run",
        conn_id="spark_default",
        application=f"{HOME}/jobs/run.py",
        py_files=f"{HOME}/dist/a100m-pipelines.zip",
        packages=DELTA_PACKAGES,
        conf=DELTA_CONF,
        name="a100m-run-{{ ds }}",
        application_args=[
            "--env",
            "cluster",
            "--input",
            RAW,
            "--lake",
            LAKE,
            "--report",
            REPORT,
        ],
        execution_timeout=timedelta(hours=6),
    )

    report = SparkSubmitOperator(
        task_id="a100m_report",
        conn_id="spark_default",
        application=f"{HOME}/jobs/report.py",
        py_files=f"{HOME}/dist/a100m-pipelines.zip",
        packages=DELTA_PACKAGES,
        conf=DELTA_CONF,
        name="a100m-report-{{ ds }}",
        application_args=["--env", "cluster", "--lake", LAKE, "--out", REPORTS],
        trigger_rule="all_done",
        retries=0,  # its exit code is the verdict on the lake: re-running it changes nothing
        execution_timeout=timedelta(hours=1),
    )

    run >> report
